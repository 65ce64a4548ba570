import keras
import numpy as np
import pytest

from tests.helpers import assert_saves_and_loads
from toolkit.training import FlowRegularizedRNN


def _model(units=6, strength=1.0, gain=1.0, seed=0):
    cell = keras.layers.SimpleRNNCell(
        units,
        recurrent_initializer=keras.initializers.Orthogonal(
            gain=gain, seed=seed
        ),
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1),
    )
    head = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2)
    )
    model = FlowRegularizedRNN(cell, head=head, strength=strength)
    return model


def _data(n=16, steps=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, steps, 2)).astype("float32")
    y = x[:, :1, 0].copy()  # the target is the very first input
    return x, y


def _numpy_bptt(model, x, y):
    """The notes' equations for a tanh RNN, written out: the states, the
    gradients dE/dh_k at every step, and Pascanu's penalty."""
    kernel, recurrent, bias = [
        w.numpy().astype("float64") for w in model.cell.weights
    ]
    dense, dense_bias = [
        w.numpy().astype("float64") for w in model.head.weights
    ]
    batch, steps, _ = x.shape
    h = [np.zeros((batch, recurrent.shape[0]))]
    for t in range(steps):
        h.append(np.tanh(x[:, t] @ kernel + bias + h[-1] @ recurrent))
    y_pred = h[-1] @ dense + dense_bias
    loss = np.mean((y_pred - y) ** 2)
    g = [None] * (steps + 1)
    g[steps] = 2 * (y_pred - y) / y.size @ dense.T
    for k in range(steps - 1, -1, -1):
        g[k] = (g[k + 1] * (1 - h[k + 1] ** 2)) @ recurrent.T
    penalty = 0.0
    for k in range(steps):
        passed = (g[k + 1] * (1 - h[k + 1] ** 2)) @ recurrent.T
        ratio = np.linalg.norm(passed, axis=1) / np.linalg.norm(
            g[k + 1], axis=1
        )
        penalty += np.mean((ratio - 1) ** 2)
    return loss, penalty, g


def test_penalty_matches_the_equation():
    x, y = _data()
    model = _model(gain=0.9)
    model(x)
    expected_loss, expected_penalty, _ = _numpy_bptt(model, x, y)
    model.compile("sgd", "mse")
    loss, penalty, _ = model.loss_and_penalty(x, y)
    assert float(loss) == pytest.approx(expected_loss, rel=1e-4)
    assert float(penalty) == pytest.approx(expected_penalty, rel=1e-4)


def test_zero_strength_trains_like_plain_keras():
    x, y = _data()
    model = _model(strength=0.0)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model(x)
    plain = keras.Sequential(
        [
            keras.Input((12, 2)),
            keras.layers.RNN(keras.layers.SimpleRNNCell(6)),
            keras.layers.Dense(1),
        ]
    )
    plain.set_weights(model.get_weights())
    plain.compile(keras.optimizers.SGD(0.1), "mse")
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    plain.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for got, expected in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert set(history.history) == {"loss", "flow_penalty"}


def test_regularizer_raises_the_gradient_reaching_early_steps():
    # A long sequence (T=25) and a small recurrent gain: the gradient
    # reaching step 1 vanishes. Same start, same data, same optimizer;
    # only the penalty differs.
    x, y = _data(n=32, steps=25)

    def early_to_late(strength):
        keras.utils.set_random_seed(7)
        model = _model(units=8, strength=strength, gain=0.6, seed=3)
        model.compile(keras.optimizers.Adam(0.01), "mse")
        model.fit(x, y, batch_size=32, epochs=8, verbose=0)
        _, _, g = _numpy_bptt(model, x, y)
        return (
            np.linalg.norm(g[1], axis=1).mean()
            / np.linalg.norm(g[25], axis=1).mean()
        )

    plain, regularized = early_to_late(0.0), early_to_late(1.0)
    assert regularized > 10 * plain, (plain, regularized)


def test_config_and_save_load(tmp_path):
    x, y = _data()
    model = _model(strength=0.5)
    model.compile(
        keras.optimizers.Adam(0.01, clipnorm=1.0), "mse", metrics=["mae"]
    )
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["flow_penalty"][0])
    assert "mae" in history.history
    config = model.get_config()
    clone = FlowRegularizedRNN.from_config(config)
    assert clone.get_config() == config
    assert config["strength"] == 0.5
    loaded = assert_saves_and_loads(model, x, tmp_path)
    assert isinstance(loaded, FlowRegularizedRNN)
    assert loaded.strength == 0.5


def _unknown_steps():
    model = _model()
    model.compile("sgd", "mse")
    return model.loss_and_penalty(
        keras.KerasTensor((None, None, 2)), np.zeros((1, 1))
    )


REGULARIZER_ERRORS = {
    "`cell` must be a Keras RNN cell": lambda: FlowRegularizedRNN(
        keras.layers.Dense(3)
    ),
    "`head` must be a Keras layer": lambda: FlowRegularizedRNN(
        keras.layers.SimpleRNNCell(3), head="dense"
    ),
    "`strength` must be a number": lambda: FlowRegularizedRNN(
        keras.layers.SimpleRNNCell(3), strength=-1.0
    ),
    "`epsilon` must be a number": lambda: FlowRegularizedRNN(
        keras.layers.SimpleRNNCell(3), epsilon=0.0
    ),
    "number of time steps must be": _unknown_steps,
}


@pytest.mark.parametrize("match", list(REGULARIZER_ERRORS))
def test_errors(match):
    with pytest.raises(ValueError, match=match):
        REGULARIZER_ERRORS[match]()


def test_mixed_bfloat16_trains_and_keeps_the_penalty_of_the_equation():
    x, y = _data(n=8, steps=6)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _model(gain=0.9)
        model(x)
        model.compile(keras.optimizers.SGD(0.01), "mse")
        _, penalty, _ = model.loss_and_penalty(x, y)
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.cell.compute_dtype == "bfloat16"
    # bfloat16 keeps 8 bits of mantissa: the reference within a few %
    _, expected_penalty, _ = _numpy_bptt(model, x, y)
    assert float(penalty) == pytest.approx(expected_penalty, rel=0.1, abs=1e-3)
    assert np.all(np.isfinite(history["loss"] + history["flow_penalty"]))
    assert history["loss"][1] != history["loss"][0]


def test_other_backends_are_refused_at_construction(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="needs the TensorFlow backend.*'jax'"):
        FlowRegularizedRNN(keras.layers.SimpleRNNCell(2))
