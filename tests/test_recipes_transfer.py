"""The transfer-learning recipes, on ResNet-50 at 32x32 with random weights
(no network: the ImageNet route is tested by making the download fail)."""

import os
import urllib.error
import urllib.request

import h5py
import keras
import keras_tuner
import numpy as np
import pytest

from recipes import (
    build_image_classifier,
    image_backbone,
    image_classifier_search_space,
    transfer,
)
from recipes.transfer import BACKBONES, PRESETS, imagenet_weights_file
from toolkit.layers import ImagePreprocessing

SHAPE = (32, 32, 3)


def _images(n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (n,) + SHAPE).astype("float32")
    return x, rng.integers(0, 3, n)


@pytest.fixture(scope="module")
def classifier():
    # Trainable, so that a fit step could move the BatchNorm statistics.
    return build_image_classifier(
        3, input_shape=SHAPE, weights=None, freeze_backbone=False
    )


@pytest.fixture(scope="module")
def augmented():
    return build_image_classifier(
        4,
        input_shape=SHAPE,
        backbone="vgg16",
        weights=None,
        pooling="max",
        dropout=0.3,
        augmentation=True,
        seed=0,
    )


def _moving_statistics(model):
    return [
        np.array(weight)
        for layer in model.get_layer("backbone").layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for weight in (layer.moving_mean, layer.moving_variance)
    ]


def test_layers_named_as_agreed(classifier):
    names = [layer.name for layer in classifier.layers]
    assert names == ["image", "preprocessing", "backbone", "predictions"]
    assert classifier.name == "image_classifier"
    preprocessing = classifier.get_layer("preprocessing")
    assert isinstance(preprocessing, ImagePreprocessing)
    assert preprocessing.mode == "caffe"
    backbone = classifier.get_layer("backbone")
    assert isinstance(backbone, keras.Model)
    assert backbone.output_shape == (None, 2048)
    assert backbone.get_layer("conv5_block3_out") is not None
    assert classifier.output_shape == (None, 3)
    head = classifier.get_layer("predictions")
    assert head.kernel.shape == (2048, 3)
    assert head.activation is keras.activations.softmax
    assert classifier.loss == "sparse_categorical_crossentropy"


def test_augmented_layers_named_as_agreed(augmented):
    names = [layer.name for layer in augmented.layers]
    assert names == [
        "image",
        "augmentation",
        "preprocessing",
        "backbone",
        "dropout",
        "predictions",
    ]
    block = [layer.name for layer in augmented.get_layer("augmentation").layers]
    assert block == [
        "random_flip",
        "random_rotation",
        "random_zoom",
        "random_contrast",
    ]
    assert augmented.get_layer("preprocessing").mode == "caffe"
    assert augmented.get_layer("dropout").rate == 0.3
    assert augmented.get_layer("backbone").output_shape == (None, 512)


def test_batchnorm_layers_are_frozen(classifier):
    backbone = classifier.get_layer("backbone")
    assert backbone.trainable
    norms = [
        layer
        for layer in backbone.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(norms) == 53  # ResNet-50: one after each convolution
    assert not any(layer.trainable for layer in norms)
    assert backbone.get_layer("conv1_conv").trainable


def test_backbone_runs_in_inference_mode(classifier):
    x, _ = _images()
    before = _moving_statistics(classifier)
    trained = np.asarray(classifier(x, training=True))
    inferred = np.asarray(classifier(x, training=False))
    # BatchNorm in training mode would normalise by the batch's statistics.
    np.testing.assert_allclose(trained, inferred, rtol=1e-5, atol=1e-6)
    for got, expected in zip(_moving_statistics(classifier), before):
        np.testing.assert_array_equal(got, expected)


# Keras's own notice: the compiled optimizer was never built.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_saves_and_loads(classifier, tmp_path):
    x, _ = _images(seed=1)
    expected = np.asarray(classifier(x, training=False))
    path = tmp_path / "classifier.keras"
    classifier.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in classifier.layers
    ]
    np.testing.assert_allclose(
        np.asarray(loaded(x, training=False)), expected, atol=1e-6
    )


def test_fit_leaves_batchnorm_statistics_alone(classifier):
    x, y = _images()
    classifier.run_eagerly = True  # one step: tracing costs more than it
    before = _moving_statistics(classifier)
    kernel = np.array(
        classifier.get_layer("backbone").get_layer("conv1_conv").kernel
    )
    history = classifier.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert "accuracy" in history.history
    after = classifier.get_layer("backbone").get_layer("conv1_conv").kernel
    assert not np.allclose(np.array(after), kernel)
    for got, expected in zip(_moving_statistics(classifier), before):
        np.testing.assert_array_equal(got, expected)


def test_preprocessing_inside_matches_preprocess_input(classifier):
    x, _ = _images()
    backbone = classifier.get_layer("backbone")
    head = classifier.get_layer("predictions")
    outside = keras.applications.resnet.preprocess_input(x.copy())
    expected = np.asarray(head(backbone(outside, training=False)))
    got = np.asarray(classifier(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_augmentation_only_in_training(augmented):
    x, _ = _images()
    inferred = np.asarray(augmented(x, training=False))
    backbone = augmented.get_layer("backbone")
    features = backbone(augmented.get_layer("preprocessing")(x))
    expected = np.asarray(augmented.get_layer("predictions")(features))
    np.testing.assert_allclose(inferred, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(augmented(x, training=False)), inferred, atol=1e-6
    )
    augmented_images = augmented.get_layer("augmentation")(x, training=True)
    assert not np.allclose(np.asarray(augmented_images), x)
    assert not np.allclose(np.asarray(augmented(x, training=True)), inferred)


def test_backbone_pooling_and_uncompiled():
    backbone, preprocessing = image_backbone(
        "vgg16", input_shape=SHAPE, weights=None, pooling=None
    )
    assert backbone.name == "backbone"
    assert backbone.output_shape == (None, 1, 1, 512)
    assert preprocessing.name == "preprocessing"
    assert preprocessing.mode == "caffe"
    model = build_image_classifier(
        2, SHAPE, backbone="vgg16", weights=None, pooling=None, compile=False
    )
    assert model.get_layer("flatten").output.shape == (None, 512)
    assert not model.compiled


def _write_keras_applications_h5(model, path):
    """The layout of the `.h5` files `keras.applications` downloads: one
    group per layer, its weights trainable first, as Keras 2 wrote them."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            weights = layer.trainable_weights + layer.non_trainable_weights
            names = [f"{layer.name}/{w.name}:0".encode() for w in weights]
            group.attrs["weight_names"] = names
            for name, weight in zip(names, weights):
                group.create_dataset(name, data=np.array(weight))


@pytest.mark.parametrize("suffix", [".weights.h5", "_notop.h5"])
def test_weights_from_a_file(suffix, tmp_path):
    source, _ = image_backbone("resnet50", SHAPE, weights=None)
    # A witness no random initialisation gives: loaded from the file or not.
    source.get_layer("conv1_bn").moving_mean.assign(np.full(64, 0.5))
    path = tmp_path / f"resnet50{suffix}"
    if suffix == ".weights.h5":
        source.save_weights(path)
    else:
        _write_keras_applications_h5(source, path)
    keras.utils.set_random_seed(99)
    if suffix == ".weights.h5":
        loaded, _ = image_backbone("resnet50", SHAPE, weights=str(path))
    else:
        model = build_image_classifier(3, SHAPE, weights=path, compile=False)
        loaded = model.get_layer("backbone")
    np.testing.assert_array_equal(
        np.array(loaded.get_layer("conv1_bn").moving_mean), np.full(64, 0.5)
    )
    x, _ = _images()
    np.testing.assert_array_equal(
        np.asarray(loaded(x, training=False)),
        np.asarray(source(x, training=False)),
    )


# The ImageNet route, with no network.


def _cache(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path / "models"


def _never_build(monkeypatch, name="resnet50"):
    def build(**kwargs):
        raise AssertionError("the backbone was built before failing")

    monkeypatch.setitem(BACKBONES, name, (build, BACKBONES[name][1]))


def test_offline_fails_before_building(monkeypatch, tmp_path):
    cache = _cache(monkeypatch, tmp_path)
    _never_build(monkeypatch)

    def get_file(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- offline")

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    file_name = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(OSError, match=file_name) as raised:
        build_image_classifier(3, SHAPE, weights="imagenet")
    message = str(raised.value)
    assert os.path.join(str(cache), file_name) in message
    assert "resnet/" + file_name in message  # the address to download
    assert f"weights='/path/to/{file_name}'" in message
    assert "Received: weights='imagenet'" in message


def _block_network(monkeypatch):
    asked = []

    def urlopen(url, *args, **kwargs):
        asked.append(getattr(url, "full_url", url))
        raise urllib.error.URLError("network blocked by the test")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return asked


def test_offline_through_keras_get_file(monkeypatch, tmp_path):
    cache = _cache(monkeypatch, tmp_path)
    _never_build(monkeypatch, "mobilenet_v2")
    asked = _block_network(monkeypatch)
    file_name, origin = imagenet_weights_file("mobilenet_v2", SHAPE)
    assert file_name.endswith("_1.0_224_no_top.h5")
    with pytest.raises(OSError, match="network blocked") as raised:
        image_backbone("mobilenet_v2", SHAPE, weights="imagenet")
    assert asked == [origin]
    assert str(cache / file_name) in str(raised.value)
    assert not (cache / file_name).exists()


@pytest.mark.parametrize(
    "name",
    [
        "resnet50",
        "resnet50v2",
        "mobilenet_v2",
        "efficientnetb0",
        "densenet121",
        "vgg16",
    ],
)
def test_keras_asks_for_the_file_named_in_the_message(name, monkeypatch):
    """Keras's own download, network blocked, requests the address the
    toolkit's message names."""
    file_name, origin = imagenet_weights_file(name, SHAPE)
    if os.path.exists(os.path.join(transfer.keras_cache_dir(), file_name)):
        pytest.skip("the weights are in Keras's cache here")
    asked = _block_network(monkeypatch)
    constructor = BACKBONES[name][0]
    with pytest.raises(Exception, match="URL fetch failure"):
        constructor(include_top=False, weights="imagenet", input_shape=SHAPE)
    assert asked == [origin]


def test_cached_file_goes_through_keras(monkeypatch, tmp_path):
    cache = _cache(monkeypatch, tmp_path)
    cache.mkdir()
    file_name, _ = imagenet_weights_file("resnet50")
    (cache / file_name).write_bytes(b"")
    calls = []

    def get_file(*args, **kwargs):
        raise AssertionError("downloaded although the file is cached")

    def build(**kwargs):
        calls.append(kwargs)
        inputs = keras.Input(kwargs["input_shape"])
        x = keras.layers.GlobalAveragePooling2D()(inputs)
        return keras.Model(inputs, x, name="resnet50")

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    monkeypatch.setitem(BACKBONES, "resnet50", (build, "caffe"))
    backbone, _ = image_backbone("resnet50", SHAPE)
    assert calls == [
        {
            "include_top": False,
            "weights": "imagenet",
            "input_shape": SHAPE,
            "pooling": "avg",
        }
    ]
    assert backbone.name == "backbone"


def test_keras_download_failure_is_explained(monkeypatch, tmp_path):
    # The file in the cache under the toolkit's name, Keras asking another.
    cache = _cache(monkeypatch, tmp_path)
    cache.mkdir()
    file_name, _ = imagenet_weights_file("vgg16")
    (cache / file_name).write_bytes(b"")

    def build(**kwargs):
        raise Exception("URL fetch failure on https://x/y.h5: None -- no")

    monkeypatch.setitem(BACKBONES, "vgg16", (build, "caffe"))
    with pytest.raises(OSError, match="https://x/y.h5") as raised:
        image_backbone("vgg16", SHAPE)
    assert f"weights='/path/to/{file_name}'" in str(raised.value)


# Presets and the search space.


def test_small_preset_builds_frozen():
    model = build_image_classifier(5, preset="resnet50_small")
    assert model.input_shape == (None, 32, 32, 3)
    assert not model.get_layer("backbone").trainable
    head = model.get_layer("predictions")
    assert model.trainable_weights == [head.kernel, head.bias]
    assert [layer.name for layer in model.layers] == [
        "image",
        "preprocessing",
        "backbone",
        "predictions",
    ]


def test_imagenet_presets_values():
    expected = {
        "input_shape": (224, 224, 3),
        "weights": "imagenet",
        "pooling": "avg",
        "dropout": 0.2,
        "augmentation": True,
    }
    for name, backbone in (
        ("resnet50_imagenet", "resnet50"),
        ("mobilenet_v2_imagenet", "mobilenet_v2"),
    ):
        assert PRESETS[name] == {"backbone": backbone, **expected}
        assert transfer._check_input_shape(backbone, (224, 224, 3))


def test_search_space():
    hp = keras_tuner.HyperParameters()
    values = image_classifier_search_space(hp)
    assert values == {"learning_rate": 1e-3, "dropout": 0.0, "pooling": "avg"}
    assert set(hp.values) == {"learning_rate", "dropout", "pooling"}


# Every error.


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"backbone": "resnet51"}, r"`backbone` must be one of .*'resnet50'"),
        ({"input_shape": (16, 16, 3)}, r"too small for `resnet50`.*32x32"),
        (
            {"backbone": "xception", "input_shape": (64, 64, 3)},
            r"too small for `xception`.*71x71",
        ),
        ({"input_shape": (32, 32)}, r"`input_shape` must be \(height"),
        ({"input_shape": (32, 32, 1)}, r"`input_shape` must be \(height"),
        ({"input_shape": 32}, r"input_shape=32"),
        ({"input_shape": (32.5, 32, 3)}, r"`input_shape` must be a positive"),
        ({"weights": "missing.h5"}, r"`weights` must be 'imagenet', None or"),
        ({"weights": 3}, r"Received: weights=3"),
        ({"pooling": "mean"}, r"`pooling` must be one of 'avg', 'max' or"),
        ({"num_classes": 1}, r"`num_classes` must be an integer >= 2"),
        ({"num_classes": 2.0}, r"`num_classes` must be a positive integer"),
        ({"dropout": 1.0}, r"`dropout` must be a number in \[0, 1\)"),
        ({"augmentation": "yes"}, r"`augmentation` must be None, True or"),
        ({"augmentation": {}}, r"`augmentation` must be None, True or"),
        ({"augmentation": {"crop": 0.1}}, r"unknown keys \['crop'\]"),
        ({"augmentation": {"flip": "diagonal"}}, r"augmentation\['flip'\]"),
        ({"augmentation": {"zoom": 1.5}}, r"augmentation\['zoom'\]"),
        ({"seed": -1}, r"`seed` must be None or an int >= 0"),
        ({"freeze_backbone": 1}, r"`freeze_backbone` must be True or False"),
        ({"preset": "resnet50_huge"}, r"`preset` must be one of"),
        ({"optimiser": "adam"}, r"unknown argument\(s\) `optimiser`"),
    ],
)
def test_errors(kwargs, match):
    kwargs = {"num_classes": 3, "input_shape": SHAPE, "weights": None, **kwargs}
    error = TypeError if "optimiser" in kwargs else ValueError
    with pytest.raises(error, match=match):
        build_image_classifier(**kwargs)


def test_backbone_errors():
    with pytest.raises(ValueError, match="Received: backbone='resnet'"):
        image_backbone("resnet", SHAPE, weights=None)
    with pytest.raises(ValueError, match="Received: pooling='flatten'"):
        image_backbone("resnet50", SHAPE, weights=None, pooling="flatten")
