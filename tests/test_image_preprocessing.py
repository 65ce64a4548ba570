import keras
import numpy as np
import pytest

from toolkit.layers import ImagePreprocessing


def _images(shape=(2, 5, 4, 3), seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, shape).astype("float32")


# Each backbone family's own preprocess_input, the reference for its mode.
APPLICATION_PREPROCESSING = {
    "caffe": [
        keras.applications.resnet.preprocess_input,
        keras.applications.vgg16.preprocess_input,
    ],
    "tf": [
        keras.applications.mobilenet_v2.preprocess_input,
        keras.applications.resnet_v2.preprocess_input,
        keras.applications.xception.preprocess_input,
    ],
    "torch": [keras.applications.densenet.preprocess_input],
    None: [
        keras.applications.efficientnet.preprocess_input,
        keras.applications.convnext.preprocess_input,
    ],
}


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch", None])
def test_matches_the_applications_preprocess_input(mode):
    images = _images()
    got = np.asarray(ImagePreprocessing(mode)(images))
    for preprocess in APPLICATION_PREPROCESSING[mode]:
        expected = preprocess(images.copy())
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_caffe_mode_written_out():
    images = _images((1, 2, 3, 3), seed=1)
    got = np.asarray(ImagePreprocessing("caffe")(images))
    # BGR order, ImageNet's mean pixel subtracted, no scaling.
    mean_bgr = np.array([103.939, 116.779, 123.68])
    np.testing.assert_allclose(got, images[..., ::-1] - mean_bgr, atol=1e-4)
    assert got.max() > 1.0


def test_integer_images_are_cast():
    images = np.random.default_rng(2).integers(0, 256, (2, 3, 3, 3))
    got = ImagePreprocessing("tf")(images.astype("uint8"))
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(got), images / 127.5 - 1, atol=1e-6)


def test_inside_a_model_saves_and_loads(tmp_path):
    inputs = keras.Input((5, 4, 3))
    model = keras.Model(inputs, ImagePreprocessing("torch")(inputs))
    images = _images()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[-1], ImagePreprocessing)
    assert loaded.layers[-1].mode == "torch"
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0)
    )


def test_config_round_trip():
    layer = ImagePreprocessing(None, name="preprocessing")
    config = layer.get_config()
    assert config["mode"] is None
    clone = ImagePreprocessing.from_config(config)
    assert clone.mode is None and clone.name == "preprocessing"


def test_unknown_mode():
    with pytest.raises(
        ValueError, match="`mode` must be one of .*Received: mode='bgr'"
    ):
        ImagePreprocessing("bgr")


def test_wrong_channel_count():
    with pytest.raises(ValueError, match="3 channels"):
        ImagePreprocessing("caffe")(np.zeros((1, 2, 2, 1), "float32"))
