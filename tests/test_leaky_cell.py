"""Tests of `LeakyCell` and `LeakyRNN` against a NumPy loop of
`h_t = alpha h_{t-1} + (1 - alpha) g(W_x x_t + W_h h_{t-1} + b)`."""

import keras
import numpy as np
import pytest

from recipes.sequence import build_sequence_regressor
from tests.helpers import (
    assert_config_round_trip,
    assert_fit_step_changes_weights,
    assert_saves_and_loads,
    count_params,
    randomize_weights,
)
from toolkit.layers import ClockworkCell, LeakyCell, LeakyRNN, SkipCell

B, T, F, U = 3, 7, 4, 5


def _x(seed=0):
    return (
        np.random.default_rng(seed).standard_normal((B, T, F)).astype("float32")
    )


def _layer_norm(a, gamma, beta, eps):
    mean = a.mean(-1, keepdims=True)
    var = a.var(-1, keepdims=True)
    return gamma * (a - mean) / np.sqrt(var + eps) + beta


def leaky_reference(x, w_x, w_h, b, alpha, h0=None, ln=None, mask=None):
    """The notes' leaky unit, step by step. `ln`: (gamma, eps) or None.
    A masked step keeps the state and repeats the previous output (zeros
    before the first output), Keras's convention."""
    h = np.zeros((x.shape[0], w_h.shape[0])) if h0 is None else h0
    out = np.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w_x + h @ w_h
        a = _layer_norm(a, ln[0], b, ln[1]) if ln else a + b
        v = np.tanh(a)
        new = alpha * h + (1.0 - alpha) * v
        keep = (
            np.ones((x.shape[0], 1), bool)
            if mask is None
            else mask[:, t : t + 1]
        )
        h = np.where(keep, new, h)
        out = np.where(keep, new, out)
        outputs.append(out)
    return np.stack(outputs, 1)


def _weights(cell):
    w = {x.name: x.numpy().astype("float64") for x in cell.weights}
    if cell.mode == "learned":
        alpha = 1.0 / (1.0 + np.exp(-w["alpha_logit"]))
    else:
        alpha = w["alpha"]
    return w["kernel"], w["recurrent_kernel"], w.get("bias", 0.0), alpha


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "fixed", "alpha": 0.7},
        {"mode": "fixed", "alpha": [0.0, 0.2, 0.5, 0.9, 0.99]},
        {"mode": "spectrum", "tau_min": 1.0, "tau_max": 50.0},
        {"mode": "learned"},
        {"mode": "learned", "layer_norm": True},
    ],
)
def test_matches_numpy_loop(options):
    x = _x()
    layer = keras.layers.RNN(LeakyCell(U, **options), return_sequences=True)
    layer.build(x.shape)
    alphas = None
    if options["mode"] != "fixed":
        randomize_weights(layer, scale=0.8, seed=1)
        if options["mode"] == "spectrum":  # keep alpha a valid leak
            alphas = np.random.default_rng(2).uniform(0, 1, U)
            layer.cell.alpha_weight.assign(alphas)
    else:
        kept = layer.cell.alpha_weight.numpy()
        randomize_weights(layer, scale=0.8, seed=1)
        layer.cell.alpha_weight.assign(kept)
    w_x, w_h, b, alpha = _weights(layer.cell)
    if options["mode"] == "fixed":
        np.testing.assert_allclose(
            alpha, np.broadcast_to(options["alpha"], (U,)), atol=1e-7
        )
    ln = None
    if options.get("layer_norm"):
        ln = (layer.cell.gamma.numpy(), layer.cell.layer_norm_epsilon)
    expected = leaky_reference(x, w_x, w_h, b, alpha, ln=ln)
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)
    # The sequence layer computes the same with the projection hoisted.
    fast = LeakyRNN(U, return_sequences=True, **options)
    fast.build(x.shape)
    fast.set_weights(layer.get_weights())
    np.testing.assert_allclose(fast(x), expected, atol=1e-5)


def test_alpha_zero_is_an_elman_rnn_and_alpha_near_one_remembers():
    x = _x(1)
    layer = keras.layers.RNN(
        LeakyCell(U, mode="fixed", alpha=0.0), return_sequences=True
    )
    layer.build(x.shape)
    simple = keras.layers.SimpleRNN(U, return_sequences=True)
    simple.build(x.shape)
    simple.set_weights(layer.get_weights()[:3])
    np.testing.assert_allclose(layer(x), simple(x), atol=1e-5)
    # alpha = 0.999: one step moves h by at most 0.001 * |v - h| <= 0.002.
    slow = keras.layers.RNN(
        LeakyCell(U, mode="fixed", alpha=0.999), return_sequences=True
    )
    out = keras.ops.convert_to_numpy(slow(x))
    assert np.abs(np.diff(out, axis=1)).max() <= 0.002 + 1e-7


def test_masking_and_initial_state():
    x = _x(2)
    mask = np.ones((B, T), bool)
    mask[0, 3:] = False
    mask[1, :2] = False
    h0 = np.random.default_rng(3).standard_normal((B, U)).astype("float32")
    layer = LeakyRNN(U, return_sequences=True, seed=0)
    layer.build(x.shape)
    randomize_weights(layer, seed=4)
    alphas = np.linspace(0.1, 0.9, U)
    layer.cell.alpha_weight.assign(alphas)
    w_x, w_h, b, alpha = _weights(layer.cell)
    expected = leaky_reference(x, w_x, w_h, b, alpha, h0=h0, mask=mask)
    got = layer(x, initial_state=[h0], mask=mask)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_spectrum_is_log_uniform_between_tau_min_and_tau_max():
    cell = LeakyCell(2000, mode="spectrum", tau_min=2.0, tau_max=200.0)
    cell.build((None, 1))
    tau = 1.0 / (1.0 - cell.get_alpha().numpy().astype("float64"))
    assert tau.min() >= 2.0 - 1e-3 and tau.max() <= 200.0 * 1.01
    log_tau = np.log(tau)
    # Uniform on [log 2, log 200]: mean and deciles.
    assert log_tau.mean() == pytest.approx(np.log(20.0), abs=0.1)
    deciles = np.quantile(log_tau, np.linspace(0.1, 0.9, 9))
    np.testing.assert_allclose(
        deciles, np.linspace(np.log(2), np.log(200), 11)[1:-1], atol=0.15
    )
    assert not cell.alpha_weight.trainable


def test_spectrum_is_seeded():
    def alphas(seed):
        cell = LeakyCell(8, seed=seed)
        cell.build((None, 2))
        return cell.get_alpha().numpy()

    np.testing.assert_array_equal(alphas(3), alphas(3))
    assert not np.array_equal(alphas(3), alphas(4))


def test_learned_alpha_stays_in_unit_interval_and_trains():
    cell = LeakyCell(U, mode="learned", tau_min=2.0, tau_max=10.0, seed=1)
    model = keras.Sequential(
        [keras.Input((T, F)), keras.layers.RNN(cell), keras.layers.Dense(1)]
    )
    alpha = cell.get_alpha().numpy()
    assert np.all((alpha >= 0.5 - 1e-6) & (alpha <= 0.9 + 1e-6))
    assert cell.alpha_logit.trainable
    model.compile(keras.optimizers.SGD(1e5), "mse")
    x, y = _x(5), np.ones((B, 1), "float32") * 50
    model.fit(x, y, epochs=2, verbose=0)
    alpha = cell.get_alpha().numpy()
    assert np.all((alpha >= 0.0) & (alpha <= 1.0)) and np.all(
        np.isfinite(alpha)
    )


@pytest.mark.parametrize("mode", ["fixed", "spectrum", "learned"])
def test_weights_shapes_and_counts(mode):
    alpha = 0.5 if mode == "fixed" else None
    cell = LeakyCell(U, mode=mode, alpha=alpha)
    cell.build((None, F))
    names = sorted(w.name for w in cell.weights)
    leak = "alpha_logit" if mode == "learned" else "alpha"
    assert names == sorted(["kernel", "recurrent_kernel", "bias", leak])
    assert count_params(cell) == F * U + U * U + U + U
    trainable = 4 if mode == "learned" else 3
    assert len(cell.trainable_weights) == trainable
    out = keras.layers.RNN(cell, return_state=True)(_x())
    assert out[0].shape == (B, U) and out[1].shape == (B, U)


@pytest.mark.parametrize("mode", ["fixed", "learned"])
def test_config_round_trip(mode):
    options = {"alpha": [0.1] * U} if mode == "fixed" else {}
    cell = LeakyCell(
        U,
        mode=mode,
        tau_max=30,
        dropout=0.1,
        kernel_regularizer="l2",
        **options,
    )
    clone = assert_config_round_trip(cell)
    assert clone.mode == mode and clone.tau_max == 30.0
    assert "recurrent_activation" not in cell.get_config()
    layer = LeakyRNN(U, mode=mode, go_backwards=True, **options)
    assert assert_config_round_trip(layer).cell.mode == mode


@pytest.mark.parametrize("wrap", ["rnn", "bidirectional", "leaky_rnn"])
def test_saves_and_loads(wrap, tmp_path):
    if wrap == "leaky_rnn":
        layer = LeakyRNN(U, mode="learned")
    else:
        layer = keras.layers.RNN(LeakyCell(U, mode="spectrum", seed=2))
        if wrap == "bidirectional":
            layer = keras.layers.Bidirectional(layer)
    model = keras.Sequential([keras.Input((T, F)), layer])
    assert_saves_and_loads(model, _x(), tmp_path)


def test_fit_step_with_dropout():
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            LeakyRNN(U, mode="learned", dropout=0.2, recurrent_dropout=0.2),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    assert_fit_step_changes_weights(model, _x(), np.ones((B, 1), "float32"))
    x = _x()
    layer = model.layers[0]
    np.testing.assert_allclose(layer(x), layer(x))  # no dropout at inference
    assert not np.allclose(layer(x, training=True), layer(x))


def test_recipe_uses_the_leaky_layer():
    model = build_sequence_regressor(
        T, F, cell="leaky", units=U, cell_options={"mode": "learned"}
    )
    assert isinstance(model.get_layer("leaky_0"), LeakyRNN)
    model.fit(_x(), np.ones((B, 1)), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "slow"}, "`mode` must be one of"),
        ({"mode": "fixed"}, "`alpha` is required with mode="),
        ({"alpha": 0.5}, "`alpha` is only used with mode="),
        *[
            ({"mode": "fixed", "alpha": bad}, r"`alpha` must be a number in")
            for bad in (
                1.0,
                -0.1,
                1.5,
                [0.5] * (U - 1),
                [[0.5] * U],
                "a",
                True,
                [0.5] * (U - 1) + [1.0],
            )
        ],
        ({"tau_min": 0.5}, "`tau_min` must be a number in"),
        ({"tau_min": 10, "tau_max": 5}, "`tau_max` must be >= `tau_min`"),
        (
            {"mode": "learned", "tau_min": 1.0},
            "`tau_min` must be > 1 with mode",
        ),
        ({"units": 0}, "`units` must be a positive"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LeakyCell(**{"units": U, **kwargs})


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: LeakyCell(4, **kw),
        lambda **kw: SkipCell(4, delays=(1, 2), **kw),
        lambda **kw: ClockworkCell(4, periods=(1, 2), **kw),
        lambda **kw: LeakyRNN(4, **kw),
    ],
)
def test_gateless_cells_refuse_recurrent_activation(make):
    # No gates: a `recurrent_activation` would be silently unused.
    with pytest.raises(ValueError, match="has no gates.*recurrent_activation"):
        make(recurrent_activation="hard_sigmoid")
    assert "recurrent_activation" not in make().get_config()
