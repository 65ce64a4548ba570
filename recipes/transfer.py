"""Transfer learning: an ImageNet-trained `keras.applications` backbone
with its own preprocessing inside, under a new classification head.

`build_image_classifier` makes the model every fine-tuning step of the
toolkit works on: raw 0-255 images in, the backbone (named `"backbone"`)
called in inference mode, a new head after it. `image_backbone` gives the
two pieces on their own. Weights come from Keras's own download and cache
(`weights="imagenet"`), from a local file, or not at all (`None`); with no
network the ImageNet route fails at once and says where to put the file.
"""

import os

import keras

from recipes.compile_options import (
    check_compile_options,
    check_preset,
    compile_recipe,
)
from toolkit import validation as v
from toolkit.layers import ImagePreprocessing
from toolkit.tuning import search_spaces as spaces

_APPS = keras.applications

#: Backbone name -> (`keras.applications` constructor, the
#: `ImagePreprocessing` mode its ImageNet weights were trained with).
BACKBONES = {
    "resnet50": (_APPS.ResNet50, "caffe"),
    "resnet101": (_APPS.ResNet101, "caffe"),
    "resnet152": (_APPS.ResNet152, "caffe"),
    "resnet50v2": (_APPS.ResNet50V2, "tf"),
    "resnet101v2": (_APPS.ResNet101V2, "tf"),
    "resnet152v2": (_APPS.ResNet152V2, "tf"),
    "mobilenet_v2": (_APPS.MobileNetV2, "tf"),
    "efficientnetb0": (_APPS.EfficientNetB0, None),
    "efficientnetb1": (_APPS.EfficientNetB1, None),
    "efficientnetb2": (_APPS.EfficientNetB2, None),
    "efficientnetb3": (_APPS.EfficientNetB3, None),
    "densenet121": (_APPS.DenseNet121, "torch"),
    "densenet169": (_APPS.DenseNet169, "torch"),
    "densenet201": (_APPS.DenseNet201, "torch"),
    "vgg16": (_APPS.VGG16, "caffe"),
    "vgg19": (_APPS.VGG19, "caffe"),
    "xception": (_APPS.Xception, "tf"),
    "inception_v3": (_APPS.InceptionV3, "tf"),
    "convnext_tiny": (_APPS.ConvNeXtTiny, None),
}

#: The smallest image side each backbone accepts (Keras's `min_size`).
MIN_SIZES = {"xception": 71, "inception_v3": 75}
_DEFAULT_MIN_SIZE = 32

_STORE = "https://storage.googleapis.com/tensorflow/keras-applications/"

#: Where `keras.applications` downloads each family's no-top weights.
_ORIGINS = {
    "resnet": _STORE + "resnet/",
    "mobilenet_v2": _STORE + "mobilenet_v2/",
    "efficientnet": "https://storage.googleapis.com/keras-applications/",
    "densenet": _STORE + "densenet/",
    "vgg16": _STORE + "vgg16/",
    "vgg19": _STORE + "vgg19/",
    "xception": _STORE + "xception/",
    "inception_v3": _STORE + "inception_v3/",
    "convnext": _STORE + "convnext/",
}

#: The random layers of the augmentation block and what `True` gives:
#: flip mode, then rotation, zoom and contrast factors.
DEFAULT_AUGMENTATION = {
    "flip": "horizontal",
    "rotation": 0.1,
    "zoom": 0.1,
    "contrast": 0.1,
}
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")

#: Named configurations of `build_image_classifier`.
PRESETS = {
    "resnet50_imagenet": {
        "backbone": "resnet50",
        "input_shape": (224, 224, 3),
        "weights": "imagenet",
        "pooling": "avg",
        "dropout": 0.2,
        "augmentation": True,
    },
    "mobilenet_v2_imagenet": {
        "backbone": "mobilenet_v2",
        "input_shape": (224, 224, 3),
        "weights": "imagenet",
        "pooling": "avg",
        "dropout": 0.2,
        "augmentation": True,
    },
    "resnet50_small": {
        "backbone": "resnet50",
        "input_shape": (32, 32, 3),
        "weights": None,
        "pooling": "avg",
        "dropout": 0.0,
        "augmentation": None,
    },
}


def imagenet_weights_file(backbone, input_shape=(224, 224, 3)):
    """The file name and download address of a backbone's ImageNet
    weights without the top, as `keras.applications` asks for them.

    Args:
        backbone: str, a key of `BACKBONES`.
        input_shape: tuple, the image shape (MobileNetV2 has one file per
            square size of 96, 128, 160, 192 and 224, else 224's).
            Default: `(224, 224, 3)`.

    Returns:
        `(file_name, url)`.
    """
    backbone = _check_backbone(backbone)
    notop = "_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if backbone.startswith("resnet"):
        return backbone + notop, _ORIGINS["resnet"] + backbone + notop
    if backbone == "mobilenet_v2":
        rows, cols = tuple(input_shape)[:2]
        size = rows if rows == cols and rows in (96, 128, 160, 192) else 224
        name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}"
        name += "_no_top.h5"
        return name, _ORIGINS["mobilenet_v2"] + name
    for family in ("efficientnet", "convnext"):
        if backbone.startswith(family):
            name = backbone + "_notop.h5"
            return name, _ORIGINS[family] + name
    family = "densenet" if backbone.startswith("densenet") else backbone
    return backbone + notop, _ORIGINS[family] + backbone + notop


def keras_cache_dir():
    """The folder where Keras keeps downloaded weights: `models/` under
    `$KERAS_HOME`, else under `~/.keras` (`/tmp/.keras` when the home
    folder is read-only), as `keras.utils.get_file` resolves it."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        home = os.path.join(base, ".keras")
    home = os.path.expanduser(home)
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return os.path.join(home, "models")


def image_backbone(
    backbone="resnet50",
    input_shape=(224, 224, 3),
    weights="imagenet",
    pooling="avg",
):
    """A `keras.applications` backbone without its top, and the
    preprocessing its weights expect.

    Args:
        backbone: str, a key of `BACKBONES` (`"resnet50"`, `"resnet101"`,
            `"resnet50v2"`, `"mobilenet_v2"`, `"efficientnetb0"`,
            `"densenet121"`, `"vgg16"`, ...). Default: `"resnet50"`.
        input_shape: tuple `(height, width, 3)`, each side at least the
            backbone's minimum (32; 71 for Xception, 75 for InceptionV3).
            Default: `(224, 224, 3)`.
        weights: `"imagenet"` (Keras's own download into
            `~/.keras/models`, or the file already there), the path of a
            weights file (`.weights.h5`, or the `.h5` files Keras
            downloads), or None (random initialisation).
            Default: `"imagenet"`.
        pooling: `"avg"`, `"max"` or None (the last feature map).
            Default: `"avg"`.

    Returns:
        `(backbone_model, preprocessing_layer)`: the functional backbone,
        named `"backbone"`, and an `ImagePreprocessing` layer named
        `"preprocessing"` in the backbone's mode.

    Raises:
        OSError: `weights="imagenet"`, the file is not in Keras's cache and
            cannot be downloaded; the message names the file, the folder
            to put it in and the `weights=path` alternative.

    Example:

    ```python
    from recipes.transfer import image_backbone

    backbone, preprocessing = image_backbone(
        input_shape=(32, 32, 3), weights=None
    )
    backbone.output_shape  # (None, 2048)
    ```
    """
    backbone = _check_backbone(backbone)
    input_shape = _check_input_shape(backbone, input_shape)
    weights = _check_weights(weights)
    pooling = _check_pooling(pooling, allow_none=True)
    constructor, mode = BACKBONES[backbone]
    if weights == "imagenet":
        _fetch_imagenet_weights(backbone, input_shape)
    try:
        model = constructor(
            include_top=False,
            weights=weights,
            input_shape=input_shape,
            pooling=pooling,
        )
    except Exception as error:
        # The file table may lag behind Keras: its own download failed.
        if weights == "imagenet" and "URL fetch failure" in str(error):
            raise _offline_error(backbone, input_shape, error) from error
        raise
    # Renamed after building: EfficientNet and ConvNeXt name their weights
    # file after the model.
    model.name = "backbone"
    return model, ImagePreprocessing(mode, name="preprocessing")


def build_image_classifier(
    num_classes,
    input_shape=(224, 224, 3),
    backbone="resnet50",
    weights="imagenet",
    pooling="avg",
    dropout=0.0,
    augmentation=None,
    seed=None,
    preset=None,
    compile=True,
    **compile_options,
):
    """An image classifier on a pretrained backbone, fed raw 0-255 images.

    `Input "image"` -> [`Sequential "augmentation"` of `RandomFlip`,
    `RandomRotation`, `RandomZoom`, `RandomContrast`, only when asked] ->
    `ImagePreprocessing "preprocessing"` (the backbone's own mode) ->
    `"backbone"` called with `training=False` -> [`Flatten "flatten"`
    when `pooling=None`] -> [`Dropout "dropout"`] ->
    `Dense(num_classes, softmax) "predictions"`.

    Everything after the layer named `"backbone"` is the head. The
    backbone is called in inference mode, so its BatchNorm layers
    normalise with their moving statistics and never update them, even
    once unfrozen (`toolkit.training.fine_tune` relies on it). The
    augmentation layers act only in training.

    Args:
        num_classes: int >= 2.
        input_shape: tuple `(height, width, 3)`. Default: `(224, 224, 3)`.
        backbone: str, a key of `BACKBONES`. Default: `"resnet50"`.
        weights: `"imagenet"`, a weights file path or None (see
            `image_backbone`). Default: `"imagenet"`.
        pooling: `"avg"`, `"max"` or None (the feature map flattened).
            Default: `"avg"`.
        dropout: float in [0, 1), before the last layer. Default: 0.
        augmentation: None or False (no augmentation), True
            (`DEFAULT_AUGMENTATION`: horizontal flips, rotations and zooms
            of up to 10%, contrast 0.1) or a dict with some of the keys
            `"flip"` (`"horizontal"`, `"vertical"` or
            `"horizontal_and_vertical"`), `"rotation"` (a fraction of a
            full turn), `"zoom"` and `"contrast"` (factors in (0, 1)): only
            the layers named are made. Default: None.
        seed: None or int >= 0, the augmentation's seed. Default: None.
        preset: None or a key of `PRESETS`, whose values override the
            arguments: `"resnet50_imagenet"` and `"mobilenet_v2_imagenet"`
            (224x224, ImageNet weights, average pooling, dropout 0.2, the
            default augmentation) and `"resnet50_small"` (32x32, no
            weights, no dropout or augmentation: for tests). Default: None.
        compile: bool, compile the model. Default: `True`.
        **compile_options: `optimizer`, `loss`, `metrics`,
            `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`
            (see `recipes.check_compile_options`). Here `loss="auto"` is
            sparse categorical cross-entropy and `metrics="auto"` is
            `["accuracy"]`.

    Returns:
        A `keras.Model` mapping images `(batch, height, width, 3)` in
        [0, 255] to class probabilities `(batch, num_classes)`.

    Example:

    ```python
    import numpy as np
    from recipes import build_image_classifier

    model = build_image_classifier(
        3, input_shape=(32, 32, 3), weights=None, dropout=0.2
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (8, 32, 32, 3))
    model.fit(images, rng.integers(0, 3, 8), epochs=1, verbose=0)
    ```
    """
    options = check_compile_options("build_image_classifier", compile_options)
    if preset is not None:
        chosen = check_preset(PRESETS, preset)
        backbone = chosen.get("backbone", backbone)
        input_shape = chosen.get("input_shape", input_shape)
        weights = chosen.get("weights", weights)
        pooling = chosen.get("pooling", pooling)
        dropout = chosen.get("dropout", dropout)
        augmentation = chosen.get("augmentation", augmentation)
    num_classes = v.check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError(
            "Argument `num_classes` must be an integer >= 2. "
            f"Received: num_classes={num_classes}"
        )
    backbone = _check_backbone(backbone)
    input_shape = _check_input_shape(backbone, input_shape)
    weights = _check_weights(weights)
    pooling = _check_pooling(pooling, allow_none=True)
    dropout = v.check_rate("dropout", dropout)
    augmentation = _check_augmentation(augmentation)
    seed = v.check_seed(seed)
    backbone_model, preprocessing = image_backbone(
        backbone, input_shape, weights, pooling
    )
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if augmentation:
        x = _augmentation_block(augmentation, seed)(x)
    x = preprocessing(x)
    x = backbone_model(x, training=False)
    if pooling is None:
        x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", name="predictions"
    )(x)
    model = keras.Model(inputs, outputs, name="image_classifier")
    if compile:
        compile_recipe(
            model, options, "sparse_categorical_crossentropy", ["accuracy"]
        )
    return model


def image_classifier_search_space(hp):
    """The tuning space of `build_image_classifier`'s head: dropout,
    learning rate and pooling.

    Returns:
        A dict of `build_image_classifier` arguments.
    """
    values = {}
    values.update(spaces.learning_rate_space(hp, 1e-5, 1e-2, default=1e-3))
    values.update(spaces.dropout_space(hp, max_value=0.5))
    values["pooling"] = hp.Choice("pooling", ["avg", "max"], default="avg")
    return values


def _check_backbone(backbone):
    return v.check_choice("backbone", backbone, set(BACKBONES))


def _check_input_shape(backbone, input_shape):
    message = (
        "Argument `input_shape` must be (height, width, 3) with positive "
        f"integer sides. Received: input_shape={input_shape!r}"
    )
    try:
        shape = tuple(input_shape)
    except TypeError as error:
        raise ValueError(message) from error
    if len(shape) != 3 or shape[2] != 3:
        raise ValueError(message)
    for side in shape:
        v.check_positive_int("input_shape", side)
    smallest = MIN_SIZES.get(backbone, _DEFAULT_MIN_SIZE)
    if min(shape[:2]) < smallest:
        raise ValueError(
            f"Argument `input_shape` is too small for `{backbone}`, which "
            f"takes images of at least {smallest}x{smallest}. Received: "
            f"input_shape={shape}"
        )
    return tuple(int(side) for side in shape)


def _check_weights(weights):
    if weights is None or (isinstance(weights, str) and weights == "imagenet"):
        return weights
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return os.fspath(weights)
    raise ValueError(
        "Argument `weights` must be 'imagenet', None or the path of an "
        f"existing weights file. Received: weights={weights!r}"
    )


def _check_pooling(pooling, allow_none):
    if pooling is None and allow_none:
        return None
    if not isinstance(pooling, str) or pooling not in ("avg", "max"):
        raise ValueError(
            "Argument `pooling` must be one of 'avg', 'max' or None. "
            f"Received: pooling={pooling!r}"
        )
    return pooling


def _check_augmentation(augmentation):
    if augmentation is None or augmentation is False:
        return None
    if augmentation is True:
        return dict(DEFAULT_AUGMENTATION)
    allowed = sorted(DEFAULT_AUGMENTATION)
    if not isinstance(augmentation, dict) or not augmentation:
        raise ValueError(
            "Argument `augmentation` must be None, True or a non-empty dict "
            f"with keys among {allowed}. Received: "
            f"augmentation={augmentation!r}"
        )
    unknown = sorted(set(augmentation) - set(allowed))
    if unknown:
        raise ValueError(
            f"Argument `augmentation` has unknown keys {unknown}; the keys "
            f"are {allowed}. Received: augmentation={augmentation!r}"
        )
    checked = {}
    if "flip" in augmentation:
        checked["flip"] = v.check_choice(
            "augmentation['flip']", augmentation["flip"], set(_FLIP_MODES)
        )
    for key in ("rotation", "zoom", "contrast"):
        if key in augmentation:
            checked[key] = v.check_in_range(
                f"augmentation['{key}']",
                augmentation[key],
                0.0,
                1.0,
                low_closed=False,
                high_closed=False,
            )
    return checked


def _augmentation_block(augmentation, seed):
    layers = []
    if "flip" in augmentation:
        layers.append(
            keras.layers.RandomFlip(
                augmentation["flip"], seed=seed, name="random_flip"
            )
        )
    if "rotation" in augmentation:
        layers.append(
            keras.layers.RandomRotation(
                augmentation["rotation"], seed=seed, name="random_rotation"
            )
        )
    if "zoom" in augmentation:
        layers.append(
            keras.layers.RandomZoom(
                augmentation["zoom"], seed=seed, name="random_zoom"
            )
        )
    if "contrast" in augmentation:
        layers.append(
            keras.layers.RandomContrast(
                augmentation["contrast"],
                value_range=(0, 255),
                seed=seed,
                name="random_contrast",
            )
        )
    return keras.Sequential(layers, name="augmentation")


def _fetch_imagenet_weights(backbone, input_shape):
    """Put the ImageNet file into Keras's cache before the (long) build,
    or fail at once; a file already cached is left to Keras."""
    file_name, origin = imagenet_weights_file(backbone, input_shape)
    cache = keras_cache_dir()
    if os.path.isfile(os.path.join(cache, file_name)):
        return
    try:
        keras.utils.get_file(
            file_name,
            origin,
            cache_subdir="models",
            cache_dir=os.path.dirname(cache),
        )
    except Exception as error:
        raise _offline_error(backbone, input_shape, error) from error


def _offline_error(backbone, input_shape, error):
    file_name, origin = imagenet_weights_file(backbone, input_shape)
    path = os.path.join(keras_cache_dir(), file_name)
    return OSError(
        f"Could not download the ImageNet weights of `{backbone}` ({error}). "
        f"Keras looks for them in {path} (the `models` folder under "
        "$KERAS_HOME when it is set, else ~/.keras). Download "
        f"{origin} on a machine with network access and copy it there, or "
        f"pass its path: weights='/path/to/{file_name}'. Received: "
        "weights='imagenet'"
    )
