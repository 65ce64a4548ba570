import keras
import numpy as np
import pytest

from tests.helpers import (
    assert_config_round_trip,
    assert_saves_and_loads,
    count_params,
    randomize_weights,
)
from toolkit.layers import GRU, GRUCell

BATCH, TIME, FEATURES, UNITS = 3, 6, 4, 5


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def layer_norm(a, gamma, beta, eps=1e-5):
    mean = a.mean(-1, keepdims=True)
    var = a.var(-1, keepdims=True)
    return gamma * (a - mean) / np.sqrt(var + eps) + beta


def numpy_gru(x, kernel, recurrent, bias, reset_after, gamma=None):
    """Cho et al.'s GRU one step at a time, gates [u, r, n]."""
    batch, time, _ = x.shape
    u = recurrent.shape[0]

    def part(matrix, k):
        return matrix[..., k * u : (k + 1) * u]

    if gamma is not None:
        b_in, b_rec = bias, np.zeros_like(bias)
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros_like(bias)

    def finish(a, k):
        if gamma is None:
            return a + part(b_in, k)
        return layer_norm(a, part(gamma, k), part(bias, k))

    h = np.zeros((batch, u))
    outputs = []
    for t in range(time):
        xt = x[:, t]
        update = sigmoid(
            finish(
                xt @ part(kernel, 0) + h @ part(recurrent, 0) + part(b_rec, 0),
                0,
            )
        )
        reset = sigmoid(
            finish(
                xt @ part(kernel, 1) + h @ part(recurrent, 1) + part(b_rec, 1),
                1,
            )
        )
        if reset_after:
            inner = reset * (h @ part(recurrent, 2) + part(b_rec, 2))
        else:
            inner = (reset * h) @ part(recurrent, 2)
        candidate = np.tanh(finish(xt @ part(kernel, 2) + inner, 2))
        h = update * h + (1.0 - update) * candidate
        outputs.append(h)
    return np.stack(outputs, 1)


def inputs():
    return (
        np.random.default_rng(0)
        .standard_normal((BATCH, TIME, FEATURES))
        .astype("float32")
    )


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("layer_norm_on", [False, True])
@pytest.mark.parametrize("wrapper", ["cell_in_rnn", "sequence_layer"])
def test_matches_numpy_loop_of_the_equations(
    reset_after, layer_norm_on, wrapper
):
    x = inputs()
    options = {"reset_after": reset_after, "layer_norm": layer_norm_on}
    if wrapper == "cell_in_rnn":
        layer = keras.layers.RNN(
            GRUCell(UNITS, **options), return_sequences=True
        )
    else:
        layer = GRU(UNITS, return_sequences=True, **options)
    layer.build(x.shape)
    randomize_weights(layer)
    cell = layer.cell
    expected = numpy_gru(
        x,
        cell.kernel.numpy(),
        cell.recurrent_kernel.numpy(),
        cell.bias.numpy(),
        reset_after,
        cell.gamma.numpy() if layer_norm_on else None,
    )
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("wrapper", ["cell_in_rnn", "sequence_layer"])
def test_matches_keras_gru_with_mapped_weights(reset_after, wrapper):
    x = inputs()
    reference = keras.layers.GRU(
        UNITS, return_sequences=True, reset_after=reset_after
    )
    reference.build(x.shape)
    randomize_weights(reference)
    if wrapper == "cell_in_rnn":
        ours = keras.layers.RNN(
            GRUCell(UNITS, reset_after=reset_after), return_sequences=True
        )
    else:
        ours = GRU(UNITS, return_sequences=True, reset_after=reset_after)
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_weight_shapes_and_counts(reset_after):
    ours = GRU(UNITS, reset_after=reset_after)
    ours.build((None, TIME, FEATURES))
    reference = keras.layers.GRU(UNITS, reset_after=reset_after)
    reference.build((None, TIME, FEATURES))
    assert [w.shape for w in ours.weights] == [
        w.shape for w in reference.weights
    ]
    bias_rows = 2 if reset_after else 1
    assert count_params(ours) == 3 * UNITS * (FEATURES + UNITS + bias_rows)
    normed = GRU(UNITS, reset_after=reset_after, layer_norm=True)
    normed.build((None, TIME, FEATURES))
    assert normed.cell.bias.shape == (3 * UNITS,)
    assert normed.cell.gamma.shape == (3 * UNITS,)


def test_no_bias():
    layer = GRU(UNITS, use_bias=False, return_sequences=True)
    layer.build((None, TIME, FEATURES))
    assert layer.cell.bias is None
    randomize_weights(layer)
    x = inputs()
    zero_bias = np.zeros((2, 3 * UNITS))
    expected = numpy_gru(
        x,
        layer.cell.kernel.numpy(),
        layer.cell.recurrent_kernel.numpy(),
        zero_bias,
        True,
    )
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


def test_cell_in_keras_rnn_saves_and_loads(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((TIME, FEATURES)),
            keras.layers.RNN(
                GRUCell(UNITS, reset_after=False, layer_norm=True)
            ),
        ]
    )
    assert_saves_and_loads(model, inputs(), tmp_path)


def test_config_round_trip():
    cell = GRUCell(
        UNITS,
        reset_after=False,
        layer_norm=True,
        recurrent_dropout=0.2,
        bias_regularizer="l1",
        seed=2,
    )
    clone = assert_config_round_trip(cell)
    assert not clone.reset_after and clone.layer_norm
    layer = GRU(UNITS, reset_after=False, stateful=True)
    clone = assert_config_round_trip(layer)
    assert clone.stateful and not clone.cell.reset_after


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"units": -3},
            r"`units` must be a positive integer. "
            r"Received: units=-3",
        ),
        ({"units": 4, "dropout": 2}, r"`dropout` must be a number in \[0, 1\)"),
        ({"units": 4, "activation": "softmaxx"}, "`activation`"),
        ({"units": 4, "recurrent_initializer": 3.0}, "`recurrent_initializer`"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GRUCell(**kwargs)


def test_wrong_state_shape():
    with pytest.raises(ValueError, match=r"states of shape \(batch, 5\)"):
        GRU(UNITS)(inputs(), initial_state=[np.zeros((BATCH, 4), "float32")])
