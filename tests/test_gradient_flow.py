"""Tests of `toolkit.training.gradient_flow` against closed forms."""

import sys

import keras
import numpy as np
import pandas as pd
import pytest
from scipy.stats import ortho_group

from toolkit.layers import LeakyRNN
from toolkit.training import gradient_flow, plot_gradient_flow

B, T, F, U = 4, 12, 3, 5


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, F)).astype("float32")
    y = rng.standard_normal((B, 1)).astype("float32")
    return x, y


def _model(recurrent, **kwargs):
    model = keras.Sequential(
        [keras.Input((T, F)), recurrent, keras.layers.Dense(1, name="head")],
        **kwargs,
    )
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("go_backwards", [False, True])
def test_linear_rnn_closed_form(go_backwards):
    # h_t = x_t W + h_{t-1} U with U = a Q (Q orthogonal), L = (h_T v - y)^2:
    # dL/dh_t = 2 r U^k v, of norm |2 r| a^k |v| at distance k.
    a = 0.8
    rnn = keras.layers.SimpleRNN(
        U, activation=None, use_bias=False, go_backwards=go_backwards
    )
    model = _model(rnn)
    q = ortho_group.rvs(U, random_state=1).astype("float32")
    rnn.cell.recurrent_kernel.assign(a * q)
    x, y = _data()
    head = model.get_layer("head")
    v = head.kernel.numpy()[:, 0]
    residual = model.predict(x, verbose=0)[:, 0] - y[:, 0]
    frame = gradient_flow(model, x, y)
    k = np.arange(T)
    expected = np.mean(np.abs(2 * residual)) * a**k * np.linalg.norm(v)
    np.testing.assert_array_equal(frame["distance"], k)
    np.testing.assert_allclose(frame["grad_norm"], expected, rtol=1e-4)
    np.testing.assert_allclose(frame["relative"], a**k, rtol=1e-4)
    steps = T - 1 - k if not go_backwards else k
    np.testing.assert_array_equal(frame["step"], steps)


def test_leaky_unit_carries_alpha_to_the_power_distance():
    # With W_h = 0, h_t = alpha h_{t-1} + (1 - alpha) g(W x_t + b), so
    # dh_T / dh_t = alpha^k: the gradient decays as alpha^k, whatever g.
    layer = LeakyRNN(U, mode="fixed", alpha=[0.95, 0.9, 0.5, 0.3, 0.1])
    model = _model(layer, name="leaky")
    layer.cell.recurrent_kernel.assign(np.zeros((U, U)))
    head = model.get_layer("head")
    head.kernel.assign(np.array([[1.0], [0], [0], [0], [0]], "float32"))
    x, y = _data(1)
    frame = gradient_flow(model, x, y, layer="leaky_rnn", loss="mse")
    np.testing.assert_allclose(
        frame["relative"], 0.95 ** np.arange(T), rtol=1e-4
    )
    assert set(frame["model"]) == {"leaky"}
    assert list(frame.columns) == [
        "model",
        "step",
        "distance",
        "grad_norm",
        "relative",
    ]


def test_lstm_memory_cell_carries_the_gradient():
    # Zero kernels and a saturated forget gate: c_t = c_{t-1} + i * g with
    # f = 1, and h_{t-1} feeds nothing. So dL/dh_t = 0 before the last
    # step while dL/dc_t = dL/dc_{T-1} at every step: the measured norm is
    # constant (and not zero) for every distance >= 1.
    lstm = keras.layers.LSTM(U)
    model = _model(lstm)
    lstm.cell.kernel.assign(np.zeros((F, 4 * U)))
    lstm.cell.recurrent_kernel.assign(np.zeros((U, 4 * U)))
    bias = np.zeros(4 * U, "float32")
    bias[U : 2 * U] = 100.0  # forget gate = 1
    bias[2 * U :] = 0.5  # candidate and output gate
    lstm.cell.bias.assign(bias)
    x, y = _data(2)
    frame = gradient_flow(model, x, y)
    norms = frame["grad_norm"].to_numpy()
    assert norms[1] > 1e-3
    np.testing.assert_allclose(norms[1:], norms[1], rtol=1e-5)
    assert norms[0] > norms[1]  # h_{T-1} also reaches the head


def test_per_step_outputs_and_layers_above():
    # The lowest layer of a stack; the loss sees every step.
    inputs = keras.Input((T, F))
    h = keras.layers.Dense(4)(inputs)
    h = keras.layers.SimpleRNN(U, return_sequences=True, name="low")(h)
    h = keras.layers.GRU(U, return_sequences=True)(h)
    out = keras.layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs, out)
    x, _ = _data()
    y = np.random.default_rng(0).integers(0, 2, (B, T))
    frame = gradient_flow(
        model, x, y, loss="sparse_categorical_crossentropy", name="stack"
    )
    assert len(frame) == T
    assert np.all(frame["grad_norm"] > 0)
    assert frame.loc[0, "relative"] == 1.0
    assert set(frame["model"]) == {"stack"}


def test_plot_draws_one_line_per_model(tmp_path):
    x, y = _data()
    frames = [
        gradient_flow(_model(keras.layers.SimpleRNN(U)), x, y, name="simple"),
        gradient_flow(_model(LeakyRNN(U)), x, y, name="leaky"),
    ]
    ax = plot_gradient_flow(pd.concat(frames), column="relative")
    assert [line.get_label() for line in ax.get_lines()] == ["simple", "leaky"]
    assert ax.get_yscale() == "log"
    path = tmp_path / "flow.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def _stateful_model():
    inputs = keras.Input((T, F))
    h, _ = keras.layers.SimpleRNN(U, return_state=True, name="r")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(h))


FLOW_ERRORS = [
    (
        ValueError,
        "no top-level `keras.layers.RNN`",
        lambda x, y: gradient_flow(
            keras.Sequential([keras.Input((T, F)), keras.layers.Dense(1)]),
            x,
            y,
            loss="mse",
        ),
    ),
    (
        ValueError,
        "`layer` must name a layer",
        lambda x, y: gradient_flow(
            _model(keras.layers.SimpleRNN(U)), x, y, layer="nope"
        ),
    ),
    (
        ValueError,
        "`layer` must be a `keras.layers.R",
        lambda x, y: gradient_flow(
            _model(keras.layers.SimpleRNN(U)), x, y, layer="head"
        ),
    ),
    (
        ValueError,
        "`loss` must be 'auto', a Keras",
        lambda x, y: gradient_flow(
            _model(keras.layers.SimpleRNN(U)), x, y, loss="not_a_loss"
        ),
    ),
    (
        ValueError,
        "not compiled with a loss",
        lambda x, y: gradient_flow(
            keras.Sequential([keras.Input((T, F)), keras.layers.SimpleRNN(U)]),
            x,
            y,
        ),
    ),
    (
        ValueError,
        "must be a built `keras.Model`",
        lambda x, y: gradient_flow(keras.layers.Dense(1), x, y),
    ),
    (
        ValueError,
        "must have a single output",
        lambda x, y: gradient_flow(
            _stateful_model(), x, y, layer="r", loss="mse"
        ),
    ),
    (
        ValueError,
        "`frame` must be a DataFrame",
        lambda x, y: plot_gradient_flow(pd.DataFrame({"model": ["a"]})),
    ),
]


@pytest.mark.parametrize(
    "error, match, call",
    FLOW_ERRORS,
    ids=[match for _, match, _ in FLOW_ERRORS],
)
def test_errors(error, match, call):
    x, y = _data()
    with pytest.raises(error, match=match):
        call(x, y)


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install"):
        plot_gradient_flow(pd.DataFrame())


def test_other_backends_are_refused(monkeypatch):
    x, y = _data()
    model = _model(keras.layers.SimpleRNN(U))
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="needs the TensorFlow backend"):
        gradient_flow(model, x, y)
