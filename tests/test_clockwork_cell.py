"""Tests of `ClockworkCell` and `ClockworkRNN` against a NumPy loop of the
clockwork RNN (Koutnik et al. 2014)."""

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
from toolkit.layers import ClockworkCell, ClockworkRNN

B, T, F = 3, 11, 2
PERIODS = (1, 2, 4)
U = 6  # three modules of two units


def _x(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, T, F)).astype("float32")


def clockwork_reference(
    x, w_x, w_h, b, periods, h0=None, t0=None, mask=None, backwards=False
):
    """Module k (units k*m .. k*m+m-1) updates when t mod T_k == 0, from
    modules at least as slow; the clock counts unmasked steps."""
    n, units = x.shape[0], w_h.shape[0]
    m = units // len(periods)
    allowed = np.zeros((units, units))
    for j, p_from in enumerate(periods):
        for i, p_to in enumerate(periods):
            if p_from >= p_to:
                allowed[j * m : (j + 1) * m, i * m : (i + 1) * m] = 1.0
    h = np.zeros((n, units)) if h0 is None else h0.astype("float64")
    clock = np.zeros(n, int) if t0 is None else t0.astype(int).copy()
    out = np.zeros((n, units))
    outputs = []
    order = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
    for t in order:
        candidate = np.tanh(x[:, t] @ w_x + h @ (w_h * allowed) + b)
        new = h.copy()
        for k, period in enumerate(periods):
            on = (clock % period == 0)[:, None]
            cols = slice(k * m, (k + 1) * m)
            new[:, cols] = np.where(on, candidate[:, cols], h[:, cols])
        keep = np.ones((n, 1), bool) if mask is None else mask[:, t : t + 1]
        h = np.where(keep, new, h)
        out = np.where(keep, new, out)
        clock = clock + keep[:, 0]
        outputs.append(out)
    return np.stack(outputs, 1), h, clock


def _weights(layer):
    w = {v.name: v.numpy().astype("float64") for v in layer.weights}
    return w["kernel"], w["recurrent_kernel"], w["bias"]


def _randomized(layer, shape, seed=1):
    layer.build(shape)
    randomize_weights(layer, scale=0.7, seed=seed)  # also masked entries
    return layer


def test_matches_numpy_loop():
    x = _x()
    cell_layer = _randomized(
        keras.layers.RNN(
            ClockworkCell(U, periods=PERIODS),
            return_sequences=True,
            return_state=True,
        ),
        x.shape,
    )
    expected, h_last, clock = clockwork_reference(
        x, *_weights(cell_layer), PERIODS
    )
    out, h, t = cell_layer(x)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(h, h_last, atol=1e-5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(t)[:, 0], T)
    fast = ClockworkRNN(
        U, periods=PERIODS, return_sequences=True, return_state=True
    )
    fast.build(x.shape)
    fast.set_weights(cell_layer.get_weights())
    for got, want in zip(fast(x), (expected, h_last, clock[:, None])):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_slow_module_is_constant_between_its_ticks():
    out = keras.ops.convert_to_numpy(
        ClockworkRNN(U, periods=PERIODS, return_sequences=True)(_x(1))
    )
    slow = out[:, :, 4:]  # period 4: changes only at t = 4, 8
    changes = np.flatnonzero(np.abs(np.diff(slow, axis=1)).max((0, 2)))
    np.testing.assert_array_equal(changes + 1, [4, 8])


@pytest.mark.parametrize("backwards", [False, True])
def test_masked_case_counts_unmasked_steps(backwards):
    x = _x(2)
    mask = np.ones((B, T), bool)
    mask[0, 6:] = False  # padding at the end
    mask[1, :3] = False  # padding at the start
    mask[2, [2, 5, 6]] = False  # holes
    rng = np.random.default_rng(3)
    h0 = rng.standard_normal((B, U)).astype("float32")
    t0 = np.array([[0.0], [5.0], [2.0]], "float32")
    fast = _randomized(
        ClockworkRNN(
            U,
            periods=PERIODS,
            return_sequences=True,
            return_state=True,
            go_backwards=backwards,
        ),
        x.shape,
    )
    expected, h_last, clock = clockwork_reference(
        x, *_weights(fast), PERIODS, h0, t0[:, 0], mask, backwards
    )
    got = fast(x, initial_state=[h0, t0], mask=mask)
    for g, want in zip(got, (expected, h_last, clock[:, None])):
        np.testing.assert_allclose(g, want, atol=1e-5)
    plain = keras.layers.RNN(
        fast.cell,
        return_sequences=True,
        return_state=True,
        go_backwards=backwards,
    )
    for g, want in zip(
        plain(x, initial_state=[h0, t0], mask=mask),
        (expected, h_last, clock[:, None]),
    ):
        np.testing.assert_allclose(g, want, atol=1e-5)


def test_stateful_continues_the_clock():
    x = _x(4)
    whole = ClockworkRNN(U, periods=PERIODS, return_sequences=True)
    expected = keras.ops.convert_to_numpy(whole(x))
    halves = ClockworkRNN(
        U, periods=PERIODS, return_sequences=True, stateful=True
    )
    halves.build((B, 5, F))
    halves.set_weights(whole.get_weights())
    first = keras.ops.convert_to_numpy(halves(x[:, :5]))
    second = keras.ops.convert_to_numpy(halves(x[:, 5:]))
    np.testing.assert_allclose(
        np.concatenate([first, second], 1), expected, atol=1e-5
    )


def test_removed_connections_are_zero_and_stay_zero():
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            ClockworkRNN(U, periods=PERIODS),
            keras.layers.Dense(1),
        ]
    )
    cell = model.layers[0].cell
    removed = ~cell.connection_mask
    assert removed.sum() == 2 * 2 * 3  # fast -> slow blocks (of 2 x 2)
    np.testing.assert_array_equal(cell.recurrent_kernel.numpy()[removed], 0)
    model.compile("adam", "mse")
    assert_fit_step_changes_weights(model, _x(), np.ones((B, 1), "float32"))
    np.testing.assert_array_equal(cell.recurrent_kernel.numpy()[removed], 0)
    kept = cell.recurrent_kernel.numpy()[cell.connection_mask]
    assert np.count_nonzero(kept) == kept.size


def test_weights_and_state_sizes():
    cell = ClockworkCell(U, periods=PERIODS)
    cell.build((None, F))
    assert {w.name: tuple(w.shape) for w in cell.weights} == {
        "kernel": (F, U),
        "recurrent_kernel": (U, U),
        "bias": (U,),
    }
    assert count_params(cell) == F * U + U * U + U
    assert cell.state_size == [U, 1] and cell.output_size == U
    np.testing.assert_array_equal(cell.unit_periods, [1, 1, 2, 2, 4, 4])


def test_layer_norm_and_dropout_run():
    layer = ClockworkRNN(
        U, periods=PERIODS, layer_norm=True, dropout=0.2, recurrent_dropout=0.2
    )
    x = _x()
    np.testing.assert_allclose(layer(x), layer(x))
    assert not np.allclose(layer(x, training=True), layer(x))
    assert "layer_norm_gamma" in [w.name for w in layer.weights]


def test_config_round_trip():
    cell = ClockworkCell(8, periods=(1, 3, 9, 27), use_bias=False)
    clone = assert_config_round_trip(cell)
    assert clone.periods == (1, 3, 9, 27)
    layer = ClockworkRNN(U, periods=[1, 2, 4], return_sequences=True)
    assert assert_config_round_trip(layer).cell.periods == (1, 2, 4)
    # Configs saved before the layer's signature was explicit still load.
    old = {**layer.get_config(), "hoist_projection": False}
    assert ClockworkRNN.from_config(old).get_config() == layer.get_config()


@pytest.mark.parametrize("wrap", ["rnn", "bidirectional", "clockwork_rnn"])
def test_saves_and_loads(wrap, tmp_path):
    if wrap == "clockwork_rnn":
        layer = ClockworkRNN(U, periods=PERIODS)
    else:
        layer = keras.layers.RNN(ClockworkCell(U, periods=PERIODS))
        if wrap == "bidirectional":
            layer = keras.layers.Bidirectional(layer)
    model = keras.Sequential([keras.Input((T, F)), layer])
    randomize_weights(model, seed=2)
    assert_saves_and_loads(model, _x(), tmp_path)


def test_recipe_uses_the_clockwork_layer():
    model = build_sequence_regressor(
        T, F, cell="clockwork", units=U, cell_options={"periods": PERIODS}
    )
    assert isinstance(model.get_layer("clockwork_0"), ClockworkRNN)
    model.fit(_x(), np.ones((B, 1)), epochs=1, verbose=0)


def test_units_not_divisible_by_modules():
    with pytest.raises(ValueError, match="`units` must be divisible"):
        ClockworkCell(5, periods=(1, 2))


@pytest.mark.parametrize("bad", [(), (1, 1), (0, 2), (2.5,)])
def test_bad_periods(bad):
    with pytest.raises(ValueError, match="`periods` must be a non-empty"):
        ClockworkCell(4, periods=bad)


@pytest.mark.parametrize("count", [1, 2], ids=["one_state", "two_h_states"])
def test_wrong_states(count):
    layer = ClockworkRNN(U, periods=PERIODS)
    with pytest.raises(ValueError, match="expects two state tensors"):
        layer(_x(), initial_state=[np.zeros((B, U), "float32")] * count)
