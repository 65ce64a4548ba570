"""Tests of `SkipCell`, `SkipRNN` and `dilated_stack` against a NumPy loop
of `h_t = g(W x_t + sum_d U_d h_{t-d} + b)`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from recipes.sequence import build_sequence_regressor
from tests.helpers import (
    assert_config_round_trip,
    assert_fit_step_changes_weights,
    assert_saves_and_loads,
    count_params,
    randomize_weights,
)
from toolkit.layers import SkipCell, SkipRNN, dilated_stack

B, T, F, U = 3, 9, 2, 4


def _x(seed=0, features=F):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, T, features)).astype("float32")


def skip_reference(x, w, u_stacked, b, delays, history=None, mask=None):
    """Step by step. `history[k]` is `h_{-1-k}` (zeros by default). A
    masked step keeps the state and repeats the previous output."""
    units = w.shape[1]
    depth = max(delays)
    past = [np.zeros((x.shape[0], units)) for _ in range(depth)]
    if history is not None:
        past = [np.asarray(h, "float64") for h in history]
    u_d = {
        d: u_stacked[i * units : (i + 1) * units] for i, d in enumerate(delays)
    }
    out = np.zeros((x.shape[0], units))
    outputs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w + b
        for d in delays:
            a = a + past[d - 1] @ u_d[d]
        h = np.tanh(a)
        keep = True if mask is None else mask[:, t : t + 1]
        past = [
            np.where(keep, new, old) for new, old in zip([h] + past[:-1], past)
        ]
        out = np.where(keep, h, out)
        outputs.append(out)
    return np.stack(outputs, 1)


def _weights(layer):
    w = {v.name: v.numpy().astype("float64") for v in layer.weights}
    return w["kernel"], w["recurrent_kernel"], w["bias"]


@pytest.mark.parametrize("delays", [(1, 3), (2,), (4, 1, 2)])
def test_matches_numpy_loop(delays):
    x = _x()
    layer = keras.layers.RNN(SkipCell(U, delays=delays), return_sequences=True)
    layer.build(x.shape)
    randomize_weights(layer, scale=0.7, seed=1)
    expected = skip_reference(x, *_weights(layer), delays)
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)
    fast = SkipRNN(U, delays=delays, return_sequences=True)
    fast.build(x.shape)
    fast.set_weights(layer.get_weights())
    np.testing.assert_allclose(fast(x), expected, atol=1e-5)


def test_only_delay_d_means_independent_interleaved_chains():
    # delays=(3,): steps 0, 3, 6 form one chain, untouched by the others.
    x = _x(1)
    layer = SkipRNN(U, delays=(3,), return_sequences=True)
    full = keras.ops.convert_to_numpy(layer(x))
    chain = SkipRNN(U, delays=(1,), return_sequences=True)
    chain.build(x[:, ::3].shape)
    chain.set_weights(layer.get_weights())
    alone = keras.ops.convert_to_numpy(chain(x[:, ::3]))
    np.testing.assert_allclose(full[:, ::3], alone, atol=1e-6)


@pytest.mark.parametrize("delay, steps", [(3, T), (4, T), (T, T)])
def test_single_delay_fast_path(delay, steps):
    # SkipRNN runs one delay as batch * d chains of ceil(T / d) steps.
    x = _x(6)[:, :steps]
    rng = np.random.default_rng(7)
    history = [
        rng.standard_normal((B, U)).astype("float32") for _ in range(delay)
    ]
    layer = SkipRNN(
        U, delays=(delay,), return_sequences=True, return_state=True
    )
    layer.build(x.shape)
    assert layer._fast_path(x, None, False) == "chains"
    randomize_weights(layer, seed=8)
    expected = skip_reference(x, *_weights(layer), (delay,), history)
    got, *states = layer(x, initial_state=history)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    for k, state in enumerate(states):  # [h_{T-1}, ..., h_{T-d}]
        np.testing.assert_allclose(state, expected[:, -1 - k], atol=1e-5)
    # Cases it leaves to the loop: a mask, go_backwards, too short.
    mask = np.ones((B, steps), bool)
    assert layer._fast_path(x, mask, False) is None
    assert layer._fast_path(x[:, : delay - 1], None, False) is None


@pytest.mark.parametrize(
    "delays, steps, length",
    [((1, 4), 8, 4), ((1, 5, 12), 15, 5), ((4, 9), 12, 4), ((1, 6), 18, 6)],
)
def test_block_fast_path(delays, steps, length):
    # Several delays: blocks of B steps, the long delays' products per block;
    # outputs, returned history and gradients equal the step-by-step cell's.
    x = np.random.default_rng(9).standard_normal((B, steps, F)) * 0.5
    x = x.astype("float32")
    depth = max(delays)
    rng = np.random.default_rng(10)
    history = [
        rng.standard_normal((B, U)).astype("float32") for _ in range(depth)
    ]
    layer = SkipRNN(U, delays=delays, return_sequences=True, return_state=True)
    layer.build(x.shape)
    assert layer._fast_path(x, None, False) == "blocks"
    assert layer._block_length(steps) == length
    randomize_weights(layer, seed=11)
    expected = skip_reference(x, *_weights(layer), delays, history)
    got, *states = layer(x, initial_state=history)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert len(states) == depth
    for k, state in enumerate(states):  # [h_{T-1}, ..., h_{T-D}]
        np.testing.assert_allclose(state, expected[:, -1 - k], atol=1e-5)
    plain = keras.layers.RNN(layer.cell, return_sequences=True)
    with tf.GradientTape(persistent=True) as tape:
        fast_loss = keras.ops.sum(layer(x)[0] ** 2)
        plain_loss = keras.ops.sum(plain(x) ** 2)
    for fast_grad, plain_grad in zip(
        tape.gradient(fast_loss, layer.trainable_weights),
        tape.gradient(plain_loss, layer.trainable_weights),
    ):
        np.testing.assert_allclose(fast_grad, plain_grad, rtol=1e-4, atol=1e-5)
    # Left to the step-by-step loop: a mask, no divisor of T from 4 to m.
    assert layer._fast_path(x, np.ones((B, steps), bool), False) is None
    short = SkipRNN(U, delays=(1, 3))
    assert short._fast_path(x[:, :9], None, False) is None


def test_masking_initial_state_and_returned_history():
    delays = (1, 3)
    x = _x(2)
    mask = np.ones((B, T), bool)
    mask[0, 4:] = False
    mask[1, :2] = False
    mask[2, 5] = False
    rng = np.random.default_rng(3)
    history = [rng.standard_normal((B, U)).astype("float32") for _ in range(3)]
    layer = SkipRNN(U, delays=delays, return_sequences=True, return_state=True)
    layer.build(x.shape)
    randomize_weights(layer, seed=4)
    got, *states = layer(x, initial_state=history, mask=mask)
    expected = skip_reference(x, *_weights(layer), delays, history, mask)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # The returned state is the last three states, newest first: row 2
    # never masked after step 5 ends with h_8, h_7, h_6.
    assert len(states) == 3
    np.testing.assert_allclose(states[0][2], expected[2, -1], atol=1e-5)
    np.testing.assert_allclose(states[1][2], expected[2, -2], atol=1e-5)
    np.testing.assert_allclose(states[2][2], expected[2, -3], atol=1e-5)
    plain = keras.layers.RNN(layer.cell, return_sequences=True)
    np.testing.assert_allclose(
        plain(x, initial_state=history, mask=mask), expected, atol=1e-5
    )


def test_dilated_stack_matches_numpy():
    x = _x(5)
    stack = dilated_stack(U, dilations=(1, 2), return_sequences=True)
    out = stack(x)
    assert [layer.name for layer in stack.layers] == [
        "layer_0_dilation_1",
        "layer_1_dilation_2",
    ]
    assert [layer.cell.delays for layer in stack.layers] == [(1,), (2,)]
    for layer in stack.layers:
        randomize_weights(layer, scale=0.7, seed=len(layer.name))
    first = skip_reference(x, *_weights(stack.layers[0]), (1,))
    expected = skip_reference(first, *_weights(stack.layers[1]), (2,))
    np.testing.assert_allclose(stack(x), expected, atol=1e-5)
    assert out.shape == (B, T, U)
    top = dilated_stack(U, dilations=3)
    assert [layer.cell.delays[0] for layer in top.layers] == [1, 2, 4]
    assert [layer.return_sequences for layer in top.layers] == [
        True,
        True,
        False,
    ]
    assert top(x).shape == (B, U)


def test_weights_and_state_sizes():
    cell = SkipCell(U, delays=(1, 8))
    cell.build((None, F))
    assert {w.name: tuple(w.shape) for w in cell.weights} == {
        "kernel": (F, U),
        "recurrent_kernel": (2 * U, U),
        "bias": (U,),
    }
    assert count_params(cell) == F * U + 2 * U * U + U
    assert cell.state_size == [U] * 8 and cell.output_size == U
    ln = SkipCell(U, delays=(2,), layer_norm=True, use_bias=False)
    ln.build((None, F))
    assert sorted(w.name for w in ln.weights) == [
        "bias",
        "kernel",
        "layer_norm_gamma",
        "recurrent_kernel",
    ]
    out = keras.layers.RNN(ln)(_x())
    assert out.shape == (B, U)


def test_config_round_trip():
    cell = SkipCell(U, delays=(1, 5), activation="relu", dropout=0.1)
    clone = assert_config_round_trip(cell)
    assert clone.delays == (1, 5)
    assert "recurrent_activation" not in cell.get_config()
    layer = SkipRNN(U, delays=[2, 4], return_sequences=True)
    assert assert_config_round_trip(layer).cell.delays == (2, 4)


@pytest.mark.parametrize(
    "wrap", ["rnn", "bidirectional", "skip_rnn", "dilated"]
)
def test_saves_and_loads(wrap, tmp_path):
    if wrap == "skip_rnn":
        layer = SkipRNN(U, delays=(1, 3), layer_norm=True)
    elif wrap == "dilated":
        layer = dilated_stack(U, dilations=2, name="stack")
    else:
        layer = keras.layers.RNN(SkipCell(U, delays=(1, 4)))
        if wrap == "bidirectional":
            layer = keras.layers.Bidirectional(layer)
    inputs = keras.Input((T, F))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    for weight in model.weights:
        weight.assign(
            np.random.default_rng(0)
            .standard_normal(weight.shape)
            .astype("float32")
            * 0.5
        )
    assert_saves_and_loads(model, _x(), tmp_path)


def test_fit_step():
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            SkipRNN(
                U,
                delays=(1, 3),
                return_sequences=True,
                dropout=0.1,
                recurrent_dropout=0.1,
            ),
            dilated_stack(U, dilations=2),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    assert_fit_step_changes_weights(model, _x(), np.ones((B, 1), "float32"))


def test_recipes_use_skip_and_dilated():
    model = build_sequence_regressor(
        T, F, cell="skip", units=U, cell_options={"delays": (1, 4)}
    )
    assert model.get_layer("skip_0").cell.delays == (1, 4)
    stacked = build_sequence_regressor(
        T, F, cell="dilated", units=U, cell_options={"dilations": 3}
    )
    assert len(stacked.get_layer("dilated_0").layers) == 3
    stacked.fit(_x(), np.ones((B, 1)), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "bad", [0, (), (1, 1), (1, -2), (1.5,), "ab", (True,), None]
)
def test_bad_delays(bad):
    with pytest.raises(ValueError, match="`delays` must be a non-empty"):
        SkipCell(U, delays=bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dilations": (1, 0)}, "`dilations` must be a non-empty"),
        ({"dilations": 0}, "`dilations` must be a positive"),
        ({"delays": (1,)}, "do not pass `delays`"),
    ],
)
def test_dilated_stack_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dilated_stack(U, **kwargs)


def test_wrong_number_of_states():
    layer = SkipRNN(U, delays=(1, 3))
    with pytest.raises(ValueError, match="expects max\\(delays\\)=3 state"):
        layer(_x(), initial_state=[np.zeros((B, U), "float32")] * 2)


def test_undefined_feature_dimension():
    with pytest.raises(ValueError, match="must be defined"):
        SkipCell(U).build((None, None))
