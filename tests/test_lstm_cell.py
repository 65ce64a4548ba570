import keras
import numpy as np
import pytest

from tests.helpers import (
    assert_config_round_trip,
    assert_saves_and_loads,
    count_params,
    randomize_weights,
)
from toolkit.layers import LSTM, LSTMCell

BATCH, TIME, FEATURES, UNITS = 3, 6, 4, 5


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def layer_norm(a, gamma, beta, eps=1e-5):
    mean = a.mean(-1, keepdims=True)
    var = a.var(-1, keepdims=True)
    return gamma * (a - mean) / np.sqrt(var + eps) + beta


def numpy_lstm(x, kernel, recurrent, bias, peepholes=None, gamma=None):
    """The notes' update rules, one step at a time, gates [i, f, c, o]."""
    batch, time, _ = x.shape
    u = recurrent.shape[0]
    w = {g: kernel[:, k * u : (k + 1) * u] for k, g in enumerate("ifco")}
    r = {g: recurrent[:, k * u : (k + 1) * u] for k, g in enumerate("ifco")}
    b = {g: bias[k * u : (k + 1) * u] for k, g in enumerate("ifco")}
    gm = (
        {g: gamma[k * u : (k + 1) * u] for k, g in enumerate("ifco")}
        if gamma is not None
        else None
    )
    z = np.zeros((batch, u))
    c = np.zeros((batch, u))
    outputs = []
    for t in range(time):
        pre = {g: x[:, t] @ w[g] + z @ r[g] for g in "ifco"}
        if peepholes is not None:
            pre["i"] = pre["i"] + peepholes[0] * c
            pre["f"] = pre["f"] + peepholes[1] * c

        def act(g):
            if gm is None:
                return pre[g] + b[g]
            return layer_norm(pre[g], gm[g], b[g])

        i_t = sigmoid(act("i"))
        f_t = sigmoid(act("f"))
        c = f_t * c + i_t * np.tanh(act("c"))
        if peepholes is not None:
            pre["o"] = pre["o"] + peepholes[2] * c
        o_t = sigmoid(act("o"))
        z = np.tanh(c) * o_t
        outputs.append(z)
    return np.stack(outputs, 1), z, c


def inputs():
    return (
        np.random.default_rng(0)
        .standard_normal((BATCH, TIME, FEATURES))
        .astype("float32")
    )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"peephole": True},
        {"layer_norm": True},
        {"peephole": True, "layer_norm": True},
    ],
    ids=["plain", "peephole", "layer_norm", "peephole_layer_norm"],
)
@pytest.mark.parametrize("wrapper", ["cell_in_rnn", "sequence_layer"])
def test_matches_numpy_loop_of_the_equations(options, wrapper):
    x = inputs()
    if wrapper == "cell_in_rnn":
        layer = keras.layers.RNN(
            LSTMCell(UNITS, **options),
            return_sequences=True,
            return_state=True,
        )
    else:
        layer = LSTM(UNITS, return_sequences=True, return_state=True, **options)
    layer.build(x.shape)
    randomize_weights(layer)
    cell = layer.cell
    peepholes = (
        [p.numpy() for p in cell.peephole_kernels]
        if options.get("peephole")
        else None
    )
    gamma = cell.gamma.numpy() if options.get("layer_norm") else None
    expected_seq, expected_z, expected_c = numpy_lstm(
        x,
        cell.kernel.numpy(),
        cell.recurrent_kernel.numpy(),
        cell.bias.numpy(),
        peepholes,
        gamma,
    )
    seq, z, c = layer(x)
    np.testing.assert_allclose(seq, expected_seq, atol=1e-5)
    np.testing.assert_allclose(z, expected_z, atol=1e-5)
    np.testing.assert_allclose(c, expected_c, atol=1e-5)


@pytest.mark.parametrize("wrapper", ["cell_in_rnn", "sequence_layer"])
def test_matches_keras_lstm_with_mapped_weights(wrapper):
    x = inputs()
    reference = keras.layers.LSTM(UNITS, return_sequences=True)
    reference.build(x.shape)
    randomize_weights(reference)
    if wrapper == "cell_in_rnn":
        ours = keras.layers.RNN(LSTMCell(UNITS), return_sequences=True)
    else:
        ours = LSTM(UNITS, return_sequences=True)
    ours.build(x.shape)
    kernel, recurrent, bias = reference.get_weights()
    ours.set_weights([kernel, recurrent, bias])
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-5)


def test_weight_shapes_and_counts():
    plain = LSTM(UNITS)
    plain.build((None, TIME, FEATURES))
    assert plain.cell.kernel.shape == (FEATURES, 4 * UNITS)
    assert plain.cell.recurrent_kernel.shape == (UNITS, 4 * UNITS)
    assert plain.cell.bias.shape == (4 * UNITS,)
    assert count_params(plain) == 4 * UNITS * (FEATURES + UNITS + 1)
    keras_count = keras.layers.LSTM(UNITS)
    keras_count.build((None, TIME, FEATURES))
    assert count_params(plain) == count_params(keras_count)
    full = LSTM(UNITS, peephole=True, layer_norm=True)
    full.build((None, TIME, FEATURES))
    assert count_params(full) == count_params(plain) + 3 * UNITS + 4 * UNITS
    assert sorted(w.name for w in full.cell.weights) == sorted(
        [
            "kernel",
            "recurrent_kernel",
            "bias",
            "layer_norm_gamma",
            "input_peephole",
            "forget_peephole",
            "output_peephole",
        ]
    )


def test_unit_forget_bias_initialises_forget_gate_to_one():
    layer = LSTM(UNITS, bias_initializer="zeros")
    layer.build((None, TIME, FEATURES))
    bias = layer.cell.bias.numpy()
    np.testing.assert_array_equal(bias[UNITS : 2 * UNITS], 1.0)
    np.testing.assert_array_equal(bias[:UNITS], 0.0)
    np.testing.assert_array_equal(bias[2 * UNITS :], 0.0)
    off = LSTM(UNITS, unit_forget_bias=False)
    off.build((None, TIME, FEATURES))
    np.testing.assert_array_equal(off.cell.bias.numpy(), 0.0)


def test_output_shapes_with_return_options():
    x = inputs()
    assert LSTM(UNITS)(x).shape == (BATCH, UNITS)
    seq, z, c = LSTM(UNITS, return_sequences=True, return_state=True)(x)
    assert seq.shape == (BATCH, TIME, UNITS)
    assert z.shape == c.shape == (BATCH, UNITS)
    assert LSTM(UNITS).compute_output_shape(x.shape) == (BATCH, UNITS)


def test_cell_in_keras_rnn_saves_and_loads(tmp_path):
    x = inputs()
    model = keras.Sequential(
        [
            keras.Input((TIME, FEATURES)),
            keras.layers.RNN(LSTMCell(UNITS, peephole=True, layer_norm=True)),
        ]
    )
    assert_saves_and_loads(model, x, tmp_path)


def test_config_round_trip():
    cell = LSTMCell(
        UNITS,
        peephole=True,
        layer_norm=True,
        dropout=0.2,
        kernel_regularizer="l2",
        recurrent_constraint="non_neg",
        peephole_initializer="zeros",
        activation="relu",
        seed=4,
    )
    clone = assert_config_round_trip(cell)
    assert clone.peephole and clone.layer_norm
    layer = LSTM(UNITS, go_backwards=True, return_sequences=True, peephole=True)
    clone = assert_config_round_trip(layer)
    assert clone.go_backwards and clone.cell.peephole


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"units": 0}, "Argument `units` must be a positive integer"),
        ({"units": 2.5}, r"Received: units=2\.5"),
        (
            {"units": 4, "dropout": 1.0},
            r"`dropout` must be a number in \[0, 1\). Received: dropout=1\.0",
        ),
        (
            {"units": 4, "recurrent_dropout": -0.1},
            "`recurrent_dropout` must be a number in",
        ),
        (
            {"units": 4, "activation": "tanhh"},
            r"`activation` must be the name of a Keras activation.*'tanhh'",
        ),
        (
            {"units": 4, "recurrent_activation": "nope"},
            "`recurrent_activation`",
        ),
        ({"units": 4, "kernel_initializer": "nope"}, "`kernel_initializer`"),
        (
            {"units": 4, "peephole_initializer": "nope"},
            "`peephole_initializer`",
        ),
        ({"units": 4, "bias_regularizer": "nope"}, "`bias_regularizer`"),
        ({"units": 4, "peephole_constraint": "nope"}, "`peephole_constraint`"),
        ({"units": 4, "layer_norm_epsilon": 0.0}, "`layer_norm_epsilon`"),
        ({"units": 4, "seed": -1}, r"`seed` must be None or an int >= 0"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTMCell(**kwargs)


def test_wrong_state_shapes():
    x = inputs()
    layer = LSTM(UNITS)
    with pytest.raises(ValueError, match=r"expects 2 state tensor\(s\)"):
        layer(x, initial_state=[np.zeros((BATCH, UNITS), "float32")])
    with pytest.raises(ValueError, match=r"states of shape \(batch, 5\)"):
        layer(x, initial_state=[np.zeros((BATCH, 3), "float32")] * 2)


def test_undefined_feature_dimension():
    with pytest.raises(ValueError, match="last dimension"):
        LSTMCell(UNITS).build((None, None))
