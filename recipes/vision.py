"""Recipes for small image classifiers (the UCI digits: 8x8, 10 classes):
an MLP and a small CNN, with their keras-tuner search spaces."""

import keras

from recipes.compile_options import (
    check_compile_options,
    check_preset,
    compile_recipe,
)
from toolkit import validation as v
from toolkit.tuning import search_spaces as spaces

#: Named configurations of `build_mlp_classifier`.
MLP_PRESETS = {
    "digits_mlp": {"hidden_units": (128, 64), "dropout": 0.1},
    "digits_mlp_small": {"hidden_units": (32,), "dropout": 0.0},
}

#: Named configurations of `build_cnn_classifier`.
CNN_PRESETS = {
    "digits_cnn": {"filters": (16, 32), "dense_units": 64, "dropout": 0.1},
    "digits_cnn_small": {"filters": (8,), "dense_units": 32, "dropout": 0.0},
}


def build_mlp_classifier(
    input_shape=(64,),
    num_classes=10,
    hidden_units=(128, 64),
    activation="relu",
    dropout=0.0,
    kernel_initializer="glorot_uniform",
    bias_initializer="zeros",
    kernel_regularizer=None,
    preset=None,
    compile=True,
    **compile_options,
):
    """A multi-layer perceptron classifier.

    `Input(input_shape)` -> `Flatten` -> for each width in `hidden_units`:
    `Dense(activation)` -> `Dropout(dropout)` -> `Dense(num_classes,
    softmax)`.

    Args:
        input_shape: tuple, one sample's shape. Default: `(64,)` (the
            flattened digits).
        num_classes: int. Default: 10.
        hidden_units: tuple of ints, the hidden layers' widths.
            Default: `(128, 64)`.
        activation: hidden activation. Default: `"relu"`.
        dropout: float in [0, 1), after each hidden layer. Default: 0.
        kernel_initializer: initializer of every `Dense` layer's kernel
            (name, config or object). Default: `"glorot_uniform"`.
        bias_initializer: initializer of every `Dense` layer's bias
            (name, config or object). Default: `"zeros"`.
        kernel_regularizer: regularizer of every `Dense` layer's kernel
            (name, config, object or None). Default: None.
        preset: None or a key of `MLP_PRESETS`, whose values override the
            arguments: `"digits_mlp"` (`hidden_units=(128, 64)`,
            `dropout=0.1`) and `"digits_mlp_small"` (`hidden_units=(32,)`,
            no dropout). Default: None.
        compile: bool, compile the model. Default: `True`.
        **compile_options: `optimizer`, `loss`, `metrics`,
            `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`
            (see `recipes.check_compile_options`). Here
            `loss="auto"` is sparse categorical cross-entropy and
            `metrics="auto"` is `["accuracy"]`.

    Returns:
        A `keras.Model` mapping images to class probabilities.

    Example:

    ```python
    from recipes import build_mlp_classifier
    from toolkit.data import digits_split

    (x, y), validation = digits_split(0.25, seed=0)
    model = build_mlp_classifier(learning_rate=3e-3)
    model.fit(x, y, validation_data=validation, epochs=10)
    ```
    """
    options = check_compile_options("build_mlp_classifier", compile_options)
    if preset is not None:
        chosen = check_preset(MLP_PRESETS, preset)
        hidden_units = chosen.get("hidden_units", hidden_units)
        dropout = chosen.get("dropout", dropout)
    num_classes = v.check_positive_int("num_classes", num_classes)
    hidden_units = _check_widths("hidden_units", hidden_units)
    dropout = v.check_rate("dropout", dropout)
    layer_options = _dense_options(
        activation, kernel_initializer, bias_initializer, kernel_regularizer
    )
    inputs = keras.Input(tuple(input_shape), name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for index, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, name=f"dense_{index}", **layer_options)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
    outputs = _head(x, num_classes, layer_options)
    model = keras.Model(inputs, outputs, name="mlp_classifier")
    if compile:
        compile_recipe(
            model, options, "sparse_categorical_crossentropy", ["accuracy"]
        )
    return model


def build_cnn_classifier(
    input_shape=(8, 8, 1),
    num_classes=10,
    filters=(16, 32),
    kernel_size=3,
    dense_units=64,
    activation="relu",
    dropout=0.0,
    kernel_initializer="glorot_uniform",
    bias_initializer="zeros",
    kernel_regularizer=None,
    preset=None,
    compile=True,
    **compile_options,
):
    """A small convolutional classifier.

    `Input(input_shape)` -> for each count in `filters`:
    `Conv2D(count, kernel_size, same padding, activation)` ->
    `MaxPooling2D(2)` -> `Flatten` -> `Dropout` -> `Dense(dense_units,
    activation)` -> `Dense(num_classes, softmax)`. Each pooling halves the
    image side, so 8x8 images take at most three convolution blocks.

    Args:
        input_shape: tuple `(height, width, channels)`. Default:
            `(8, 8, 1)`.
        num_classes: int. Default: 10.
        filters: tuple of ints, one convolution block each.
            Default: `(16, 32)`.
        kernel_size: int. Default: 3.
        dense_units: int, the hidden dense layer. Default: 64.
        activation: hidden activation. Default: `"relu"`.
        dropout: float in [0, 1), before the dense layers. Default: 0.
        kernel_initializer: initializer of every convolution and dense
            layer's kernel (name, config or object).
            Default: `"glorot_uniform"`.
        bias_initializer: initializer of every convolution and dense
            layer's bias (name, config or object). Default: `"zeros"`.
        kernel_regularizer: regularizer of every convolution and dense
            layer's kernel (name, config, object or None). Default: None.
        preset: None or a key of `CNN_PRESETS`, whose values override the
            arguments: `"digits_cnn"` (`filters=(16, 32)`,
            `dense_units=64`, `dropout=0.1`) and `"digits_cnn_small"`
            (`filters=(8,)`, `dense_units=32`, no dropout). Default: None.
        compile: bool, compile the model. Default: `True`.
        **compile_options: `optimizer`, `loss`, `metrics`,
            `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`
            (see `recipes.check_compile_options`). Here
            `loss="auto"` is sparse categorical cross-entropy and
            `metrics="auto"` is `["accuracy"]`.

    Returns:
        A `keras.Model` mapping images to class probabilities.

    Example:

    ```python
    from recipes import build_cnn_classifier
    from toolkit.data import digits_split

    (x, y), validation = digits_split(0.25, shape="image", seed=0)
    model = build_cnn_classifier()
    model.fit(x, y, validation_data=validation, epochs=10)
    ```
    """
    options = check_compile_options("build_cnn_classifier", compile_options)
    if preset is not None:
        chosen = check_preset(CNN_PRESETS, preset)
        filters = chosen.get("filters", filters)
        dense_units = chosen.get("dense_units", dense_units)
        dropout = chosen.get("dropout", dropout)
    num_classes = v.check_positive_int("num_classes", num_classes)
    filters = _check_widths("filters", filters)
    kernel_size = v.check_positive_int("kernel_size", kernel_size)
    dense_units = v.check_positive_int("dense_units", dense_units)
    dropout = v.check_rate("dropout", dropout)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            "Argument `input_shape` must be (height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    if min(input_shape[:2]) < 2 ** len(filters):
        raise ValueError(
            f"Argument `filters` has {len(filters)} blocks, each halving "
            f"the image, too many for an image of {input_shape[:2]}. "
            f"Received: filters={filters}"
        )
    layer_options = _dense_options(
        activation, kernel_initializer, bias_initializer, kernel_regularizer
    )
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for index, count in enumerate(filters):
        x = keras.layers.Conv2D(
            count,
            kernel_size,
            padding="same",
            name=f"conv_{index}",
            **layer_options,
        )(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool_{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Dense(dense_units, name="dense", **layer_options)(x)
    outputs = _head(x, num_classes, layer_options)
    model = keras.Model(inputs, outputs, name="cnn_classifier")
    if compile:
        compile_recipe(
            model, options, "sparse_categorical_crossentropy", ["accuracy"]
        )
    return model


def mlp_classifier_search_space(hp):
    """The tuning space of `build_mlp_classifier`: learning rate, dropout,
    regularisation, weight and bias initialisation, and the width.

    Returns:
        A dict of `build_mlp_classifier` arguments.
    """
    values = {}
    values.update(spaces.learning_rate_space(hp, 1e-4, 3e-2, default=1e-3))
    values.update(spaces.dropout_space(hp, max_value=0.5))
    values.update(spaces.regularization_space(hp))
    values.update(spaces.initializer_space(hp))
    values.update(spaces.bias_initializer_space(hp))
    width = hp.Choice("width", [32, 64, 128], default=64)
    values["hidden_units"] = (width, width)
    return values


def cnn_classifier_search_space(hp):
    """The tuning space of `build_cnn_classifier`: learning rate, dropout,
    regularisation, weight and bias initialisation, and the filters.

    Martens's sparse initialisation is left out: a 3x3 kernel on one
    channel has a fan-in of 9, below its 15 non-zeros.

    Returns:
        A dict of `build_cnn_classifier` arguments.
    """
    values = {}
    values.update(spaces.learning_rate_space(hp, 1e-4, 3e-2, default=1e-3))
    values.update(spaces.dropout_space(hp, max_value=0.5))
    values.update(spaces.regularization_space(hp))
    values.update(
        spaces.initializer_space(
            hp, choices=("glorot_uniform", "he_normal", "orthogonal")
        )
    )
    values.update(spaces.bias_initializer_space(hp))
    first = hp.Choice("filters", [8, 16, 32], default=16)
    values["filters"] = (first, 2 * first)
    return values


def _check_widths(name, widths):
    if isinstance(widths, int):
        widths = (widths,)
    widths = tuple(widths)
    if not widths:
        raise ValueError(
            f"Argument `{name}` must be a non-empty tuple of positive "
            f"integers. Received: {name}={widths}"
        )
    return tuple(v.check_positive_int(name, width) for width in widths)


def _dense_options(
    activation, kernel_initializer, bias_initializer, kernel_regularizer
):
    return {
        "activation": v.get_activation("activation", activation),
        "kernel_initializer": v.get_initializer(
            "kernel_initializer", kernel_initializer
        ),
        "bias_initializer": v.get_initializer(
            "bias_initializer", bias_initializer
        ),
        "kernel_regularizer": v.get_regularizer(
            "kernel_regularizer", kernel_regularizer
        ),
    }


def _head(x, num_classes, layer_options):
    options = {**layer_options, "activation": "softmax"}
    return keras.layers.Dense(num_classes, name="head", **options)(x)
