"""Sequence-layer behaviour shared by the `ProjectedRNN` layers (`LSTM`,
`GRU`, `LeakyRNN`, `SkipRNN`, `ClockworkRNN`) and their cells."""

import inspect
import pydoc
import re

import keras
import numpy as np
import pytest

from tests.helpers import (
    assert_fit_step_changes_weights,
    assert_saves_and_loads,
    randomize_weights,
)
from toolkit.layers import (
    GRU,
    LSTM,
    ClockworkCell,
    ClockworkRNN,
    GRUCell,
    LeakyCell,
    LeakyRNN,
    LSTMCell,
    SkipCell,
    SkipRNN,
)

BATCH, TIME, FEATURES, UNITS = 3, 6, 4, 5
LAYERS = pytest.mark.parametrize("layer_class", [LSTM, GRU])
SEQUENCE_LAYERS = [LSTM, GRU, LeakyRNN, SkipRNN, ClockworkRNN]
#: `keras.layers.RNN`'s own arguments, which every sequence layer takes.
RNN_ARGUMENTS = {
    name: param
    for name, param in inspect.signature(keras.layers.RNN).parameters.items()
    if name not in ("cell", "kwargs")
}
BOTH_PATHS = pytest.mark.parametrize(
    "hoist", [False, True], ids=["per_step", "hoisted"]
)


def inputs():
    return (
        np.random.default_rng(0)
        .standard_normal((BATCH, TIME, FEATURES))
        .astype("float32")
    )


def built(layer_class, **kwargs):
    layer = layer_class(UNITS, **kwargs)
    layer.build((BATCH, TIME, FEATURES))
    randomize_weights(layer)
    return layer


@pytest.mark.parametrize(
    "layer_class, cell_class, options",
    [
        (LSTM, LSTMCell, {"peephole": True, "layer_norm": True}),
        (GRU, GRUCell, {"reset_after": False, "layer_norm": True}),
        (GRU, GRUCell, {}),
        (LeakyRNN, LeakyCell, {"mode": "learned", "layer_norm": True}),
        (LeakyRNN, LeakyCell, {"mode": "fixed", "alpha": 0.5}),
        # SkipRNN's three paths at TIME=6: step by step, blocks, chains.
        (SkipRNN, SkipCell, {"delays": (1, 3)}),
        (SkipRNN, SkipCell, {"delays": (1, 6)}),
        (SkipRNN, SkipCell, {"delays": (2,)}),
    ],
)
@BOTH_PATHS
def test_sequence_layer_equals_cell_in_keras_rnn(
    layer_class, cell_class, options, hoist
):
    x = inputs()
    ours = built(
        layer_class, return_sequences=True, hoist_projection=hoist, **options
    )
    reference = keras.layers.RNN(
        cell_class(UNITS, **options), return_sequences=True
    )
    reference.build(x.shape)
    reference.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-6)


def test_clockwork_rnn_equals_cell_in_keras_rnn():
    # ClockworkRNN always hoists: it has no `hoist_projection` to vary.
    x = inputs()
    options = {"periods": (1, 2, 3)}
    ours = ClockworkRNN(6, return_sequences=True, **options)
    ours.build(x.shape)
    randomize_weights(ours)
    reference = keras.layers.RNN(
        ClockworkCell(6, **options), return_sequences=True
    )
    reference.build(x.shape)
    reference.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-6)


@pytest.mark.parametrize("layer_class", SEQUENCE_LAYERS)
def test_signature_is_the_cells_plus_the_rnn_layers(layer_class):
    params = inspect.signature(layer_class).parameters
    cell_params = inspect.signature(layer_class.cell_class).parameters
    for name, param in cell_params.items():
        assert name in params, name
        assert params[name].default == param.default, name
    assert len(RNN_ARGUMENTS) >= 6  # return_sequences, ..., unroll, ...
    for name, param in RNN_ARGUMENTS.items():
        assert params[name].default == param.default, name
    hoistable = layer_class is not ClockworkRNN
    assert ("hoist_projection" in params) == hoistable
    assert list(params)[-1] == "kwargs"
    assert not any(p.kind is p.VAR_POSITIONAL for p in params.values())
    for name in params:  # every argument is in `Args:`
        assert re.search(rf"\b{name}\b", layer_class.__doc__), name
    shown = pydoc.render_doc(layer_class, renderer=pydoc.plaintext)
    assert f"{layer_class.__name__}(units, " in shown
    assert "return_sequences=False" in shown


@pytest.mark.parametrize(
    "layer_class",
    [LSTMCell, GRUCell, LeakyCell, SkipCell, ClockworkCell, *SEQUENCE_LAYERS],
)
def test_config_covers_every_argument(layer_class):
    params = set(inspect.signature(layer_class).parameters) - {"kwargs"}
    layer = layer_class(8)  # divisible by ClockworkCell's four periods
    assert params <= set(layer.get_config())
    clone = layer_class.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@LAYERS
@BOTH_PATHS
def test_go_backwards_equals_reversed_input(layer_class, hoist):
    x = inputs()
    forward = built(layer_class, hoist_projection=hoist)
    backward = layer_class(UNITS, go_backwards=True, hoist_projection=hoist)
    backward.build(x.shape)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(backward(x), forward(x[:, ::-1]), atol=1e-6)


@LAYERS
@BOTH_PATHS
def test_masked_steps_keep_the_state(layer_class, hoist):
    x = inputs()
    lengths = np.array([TIME, 4, 2])
    mask = np.arange(TIME)[None, :] < lengths[:, None]
    layer = built(layer_class, hoist_projection=hoist)
    masked = layer(x, mask=mask)
    for row, length in enumerate(lengths):
        alone = layer(x[row : row + 1, :length])
        np.testing.assert_allclose(masked[row : row + 1], alone, atol=1e-5)


@LAYERS
def test_mask_from_embedding_reaches_the_layer(layer_class):
    tokens = np.array([[3, 1, 2, 0, 0], [1, 1, 0, 0, 0]])
    embedding = keras.layers.Embedding(4, FEATURES, mask_zero=True)
    layer = layer_class(UNITS)
    padded = layer(embedding(tokens))
    trimmed = layer(embedding(tokens[:1, :3]))
    np.testing.assert_allclose(padded[:1], trimmed, atol=1e-5)


@LAYERS
@BOTH_PATHS
def test_stateful_continues_from_the_last_state(layer_class, hoist):
    x = inputs()
    layer = built(layer_class, stateful=True, hoist_projection=hoist)
    layer(x[:, :3])
    continued = layer(x[:, 3:])
    reference = layer_class(UNITS)
    reference.build(x.shape)
    reference.set_weights(layer.get_weights())
    np.testing.assert_allclose(continued, reference(x), atol=1e-5)
    layer.reset_state()
    np.testing.assert_allclose(layer(x[:, 3:]), reference(x[:, 3:]), atol=1e-5)


@LAYERS
def test_initial_state_is_where_the_recurrence_starts(layer_class):
    x = inputs()
    layer = built(layer_class, return_state=True)
    _, *states = layer(x[:, :2])
    continued, *_ = layer(x[:, 2:], initial_state=states)
    full, *_ = layer(x)
    np.testing.assert_allclose(continued, full, atol=1e-5)
    fresh, *_ = layer(x[:, 2:])
    assert not np.allclose(fresh, full)


@LAYERS
@BOTH_PATHS
def test_dropout_only_in_training_and_fresh_mask_per_call(layer_class, hoist):
    x = inputs()
    layer = built(
        layer_class,
        dropout=0.5,
        recurrent_dropout=0.3,
        seed=1,
        hoist_projection=hoist,
    )
    np.testing.assert_array_equal(layer(x), layer(x))
    first = layer(x, training=True).numpy()
    second = layer(x, training=True).numpy()
    assert not np.allclose(first, second)
    assert not np.allclose(first, layer(x).numpy())


@LAYERS
def test_input_dropout_mask_is_the_same_at_every_step(layer_class):
    cell = layer_class.cell_class(UNITS, dropout=0.5, seed=3)
    cell.build((None, FEATURES))
    constant = np.ones((BATCH, TIME, FEATURES), "float32")
    projected = cell.project_inputs(constant, training=True).numpy()
    for t in range(1, TIME):
        np.testing.assert_array_equal(projected[:, t], projected[:, 0])
    inference = cell.project_inputs(constant, training=False).numpy()
    assert not np.allclose(projected, inference)


@LAYERS
def test_bidirectional_stacked_fit_and_save(layer_class, tmp_path):
    x = inputs()
    y = np.random.default_rng(2).standard_normal((BATCH, 1))
    model = keras.Sequential(
        [
            keras.Input((TIME, FEATURES)),
            keras.layers.Bidirectional(
                layer_class(UNITS, return_sequences=True, hoist_projection=True)
            ),
            layer_class(UNITS, layer_norm=True, dropout=0.1),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    assert_fit_step_changes_weights(model, x, y)
    assert_saves_and_loads(model, x, tmp_path)


@LAYERS
def test_jit_compiled_fit_runs(layer_class):
    x = inputs()
    y = np.zeros((BATCH, UNITS), "float32")
    model = keras.Sequential(
        [keras.Input((TIME, FEATURES)), layer_class(UNITS)]
    )
    model.compile("sgd", "mse", jit_compile=True)
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@LAYERS
def test_output_shapes_with_return_options(layer_class):
    x = inputs()
    assert layer_class(UNITS)(x).shape == (BATCH, UNITS)
    seq, *states = layer_class(UNITS, return_sequences=True, return_state=True)(
        x
    )
    assert seq.shape == (BATCH, TIME, UNITS)
    assert all(s.shape == (BATCH, UNITS) for s in states)


@LAYERS
def test_wrong_input_rank(layer_class):
    with pytest.raises(ValueError, match=r"rank 3 \(batch, timesteps"):
        layer_class(UNITS)(np.zeros((BATCH, FEATURES), "float32"))
    cell = layer_class.cell_class(UNITS)
    states = [np.zeros((BATCH, UNITS), "float32")] * len(
        np.atleast_1d(cell.state_size)
    )
    with pytest.raises(ValueError, match="one step at a time"):
        cell(np.zeros((BATCH, TIME, FEATURES), "float32"), states)
