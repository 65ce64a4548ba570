import keras
import numpy as np
import pytest

from recipes import build_sequence_regressor, build_sequence_tagger
from recipes.sequence import PRESETS, RECURRENT_LAYERS
from tests.helpers import assert_saves_and_loads
from toolkit.data import adding_problem, copy_memory


@pytest.mark.parametrize("cell", sorted(RECURRENT_LAYERS))
def test_regressor_builds_fits_saves(cell, tmp_path):
    x, y = adding_problem(16, 8, seed=0)
    model = build_sequence_regressor(8, 2, cell=cell, units=4, num_layers=2)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.output_shape == (None, 1)
    assert_saves_and_loads(model, x, tmp_path)


def test_tagger_builds_fits_saves(tmp_path):
    x, y = copy_memory(8, 5, n_symbols=3, copy_length=2, seed=0)
    for embedding_dim in (None, 4):
        model = build_sequence_tagger(
            9, 5, 4, embedding_dim=embedding_dim, units=4, bidirectional=True
        )
        model.fit(x, y, epochs=1, verbose=0)
        assert model.output_shape == (None, 9, 4)
    assert_saves_and_loads(model, x, tmp_path)


def test_compile_defaults_and_clipping_reach_keras():
    model = build_sequence_regressor(
        5, 2, units=3, clipnorm=0.5, learning_rate=0.01
    )
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.clipnorm == 0.5
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    sgd = build_sequence_regressor(
        5, 2, units=3, optimizer="sgd", clipvalue=1.0, loss="mae", metrics=[]
    )
    assert isinstance(sgd.optimizer, keras.optimizers.SGD)
    assert sgd.optimizer.clipvalue == 1.0
    uncompiled = build_sequence_regressor(5, 2, units=3, compile=False)
    assert not uncompiled.compiled


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_build_with_their_values(preset):
    values = PRESETS[preset]
    # A preset key this test does not check must be added to it.
    assert set(values) <= {"cell", "units"}
    # The preset overrides the arguments it sets.
    model = build_sequence_regressor(
        10, 2, cell="keras_gru", units=3, preset=preset, compile=False
    )
    assert model.name == f"{values['cell']}_regressor"
    recurrent = [
        layer for layer in model.layers if isinstance(layer, keras.layers.RNN)
    ]
    assert [type(layer) for layer in recurrent] == [
        RECURRENT_LAYERS[values["cell"]]
    ]
    assert recurrent[0].cell.units == values["units"]


def test_docstring_names_every_preset():
    for preset in PRESETS:
        assert f'`"{preset}"`' in build_sequence_regressor.__doc__


def test_cell_options_are_passed_on():
    model = build_sequence_regressor(
        5, 2, units=3, cell_options={"peephole": True}, compile=False
    )
    assert model.get_layer("lstm_0").cell.peephole


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell": "transformer"}, r"`cell` must be one of .*'lstm'"),
        ({"preset": "nope"}, r"`preset` must be one of"),
        ({"units": 0}, "`units`"),
        ({"timesteps": 0}, "`timesteps` must be a positive integer"),
        ({"features": 2.5}, "`features` must be a positive integer"),
        ({"num_layers": 0}, "`num_layers`"),
        ({"optimizer": "adamw2"}, r"`optimizer` must be 'auto'"),
        (
            {"optimizer": keras.optimizers.SGD(), "clipnorm": 1.0},
            "set them on the optimizer instance",
        ),
    ],
)
def test_invalid_arguments(kwargs, match):
    arguments = {"timesteps": 5, "features": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_sequence_regressor(**arguments)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"timesteps": -1}, "`timesteps` must be a positive integer"),
        ({"vocabulary_size": 0}, "`vocabulary_size`"),
        ({"num_classes": 0}, "`num_classes`"),
        ({"embedding_dim": 0}, "`embedding_dim`"),
        ({"num_layers": 0}, "`num_layers`"),
    ],
)
def test_tagger_invalid_arguments(kwargs, match):
    arguments = {"timesteps": 5, "vocabulary_size": 4, "num_classes": 3}
    with pytest.raises(ValueError, match=match):
        build_sequence_tagger(**{**arguments, **kwargs})


def test_variable_length_sequences():
    model = build_sequence_regressor(None, 2, units=3, compile=False)
    assert model.input_shape == (None, None, 2)
