import keras
import keras_tuner
import numpy as np
import pytest

from recipes import (
    build_cnn_classifier,
    build_mlp_classifier,
    cnn_classifier_search_space,
    mlp_classifier_search_space,
)
from recipes.vision import CNN_PRESETS, MLP_PRESETS
from tests.helpers import (
    assert_fit_step_changes_weights,
    assert_saves_and_loads,
)


def _images(n=16, flat=True, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 64) if flat else (n, 8, 8, 1)).astype("float32")
    return x, rng.integers(0, 10, n)


def test_mlp_shapes_and_weight_count():
    model = build_mlp_classifier(hidden_units=(32, 16), dropout=0.2)
    assert model.output_shape == (None, 10)
    # Dense layers: (64+1)*32 + (32+1)*16 + (16+1)*10.
    assert model.count_params() == 65 * 32 + 33 * 16 + 17 * 10
    x, _ = _images()
    probabilities = model.predict(x, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert model.loss == "sparse_categorical_crossentropy"


def test_cnn_shapes_and_weight_count():
    model = build_cnn_classifier(filters=(4, 8), dense_units=12)
    assert model.output_shape == (None, 10)
    # conv 3x3x1x4+4, conv 3x3x4x8+8, 8x8 -> 4x4 -> 2x2: dense 2*2*8 -> 12.
    expected = (9 * 4 + 4) + (9 * 4 * 8 + 8) + (32 * 12 + 12) + (12 * 10 + 10)
    assert model.count_params() == expected


def test_fit_and_save_load(tmp_path):
    x, y = _images(flat=False)
    model = build_cnn_classifier(preset="digits_cnn_small")
    assert_fit_step_changes_weights(model, x, y)
    assert_saves_and_loads(model, x, tmp_path)
    x, y = _images()
    mlp = build_mlp_classifier(
        preset="digits_mlp_small", clipnorm=1.0, kernel_regularizer="l2"
    )
    assert mlp.optimizer.clipnorm == 1.0
    assert_fit_step_changes_weights(mlp, x, y)
    assert_saves_and_loads(mlp, x, tmp_path)


def _layers(model, cls):
    return [layer for layer in model.layers if type(layer) is cls]


def _dropout_rates(model):
    return [layer.rate for layer in _layers(model, keras.layers.Dropout)]


@pytest.mark.parametrize("preset", sorted(MLP_PRESETS))
def test_mlp_presets_build_with_their_values(preset):
    values = MLP_PRESETS[preset]
    # A preset key this test does not check must be added to it.
    assert set(values) <= {"hidden_units", "dropout"}
    # The preset overrides the arguments it sets.
    model = build_mlp_classifier(
        hidden_units=(3, 3, 3), dropout=0.4, preset=preset
    )
    assert model.optimizer is not None
    widths = [layer.units for layer in _layers(model, keras.layers.Dense)]
    assert widths == [*values["hidden_units"], 10]
    dropout = values["dropout"]
    expected = [dropout] * len(values["hidden_units"]) if dropout else []
    assert _dropout_rates(model) == expected


@pytest.mark.parametrize("preset", sorted(CNN_PRESETS))
def test_cnn_presets_build_with_their_values(preset):
    values = CNN_PRESETS[preset]
    # A preset key this test does not check must be added to it.
    assert set(values) <= {"filters", "dense_units", "dropout"}
    model = build_cnn_classifier(
        filters=(3,), dense_units=3, dropout=0.4, preset=preset
    )
    assert model.optimizer is not None
    convolutions = _layers(model, keras.layers.Conv2D)
    assert [layer.filters for layer in convolutions] == list(values["filters"])
    assert model.get_layer("dense").units == values["dense_units"]
    dropout = values["dropout"]
    assert _dropout_rates(model) == ([dropout] if dropout else [])


def test_uncompiled():
    assert not build_mlp_classifier(compile=False).compiled


def test_docstrings_name_every_preset():
    for preset in MLP_PRESETS:
        assert f'`"{preset}"`' in build_mlp_classifier.__doc__
    for preset in CNN_PRESETS:
        assert f'`"{preset}"`' in build_cnn_classifier.__doc__


@pytest.mark.parametrize(
    "builder, space, flat",
    [
        (build_mlp_classifier, mlp_classifier_search_space, True),
        (build_cnn_classifier, cnn_classifier_search_space, False),
    ],
)
def test_search_space_defaults_build(builder, space, flat):
    hp = keras_tuner.HyperParameters()
    arguments = space(hp)
    assert arguments["learning_rate"] == 1e-3
    assert arguments["dropout"] == 0.0
    assert arguments["kernel_regularizer"] is None
    model = builder(**arguments)
    x, y = _images(flat=flat)
    model.fit(x, y, epochs=1, verbose=0)
    assert float(
        keras.ops.convert_to_numpy(model.optimizer.learning_rate)
    ) == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "builder, kwargs, match",
    [
        (
            build_mlp_classifier,
            {"hidden_units": ()},
            "`hidden_units` must be a non-empty",
        ),
        (build_mlp_classifier, {"dropout": 1.0}, "`dropout` must be a number"),
        (build_mlp_classifier, {"preset": "huge"}, "`preset` must be one of"),
        (
            build_cnn_classifier,
            {"input_shape": (64,)},
            "`input_shape` must be",
        ),
        (
            build_cnn_classifier,
            {"filters": (4, 4, 4, 4)},
            "too many for an image",
        ),
        (
            build_cnn_classifier,
            {"activation": "wiggle"},
            "`activation` must be the name",
        ),
    ],
)
def test_errors(builder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        builder(**kwargs)
