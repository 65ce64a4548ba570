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


def test_presets_build_and_uncompiled():
    for preset in MLP_PRESETS:
        assert build_mlp_classifier(preset=preset).optimizer is not None
    for preset in CNN_PRESETS:
        assert build_cnn_classifier(preset=preset).optimizer is not None
    assert not build_mlp_classifier(compile=False).compiled


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


def test_errors():
    with pytest.raises(ValueError, match="`hidden_units` must be a non-empty"):
        build_mlp_classifier(hidden_units=())
    with pytest.raises(ValueError, match="`dropout` must be a number"):
        build_mlp_classifier(dropout=1.0)
    with pytest.raises(ValueError, match="`preset` must be one of"):
        build_mlp_classifier(preset="huge")
    with pytest.raises(ValueError, match="`input_shape` must be"):
        build_cnn_classifier(input_shape=(64,))
    with pytest.raises(ValueError, match="too many for an image"):
        build_cnn_classifier(filters=(4, 4, 4, 4))
    with pytest.raises(ValueError, match="`activation` must be the name"):
        build_cnn_classifier(activation="wiggle")
