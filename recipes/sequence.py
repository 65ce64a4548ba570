"""Recipes for sequence tasks: regression and per-step classification."""

import keras

from recipes.compile_options import (
    check_compile_options,
    check_preset,
    compile_recipe,
)
from toolkit import layers
from toolkit import validation as v

#: Recurrent layers a recipe can use, by name. Each entry maps
#: `(units, return_sequences, name, **options)` to a Keras layer.
RECURRENT_LAYERS = {
    "lstm": layers.LSTM,
    "gru": layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
    "keras_lstm": keras.layers.LSTM,
    "keras_gru": keras.layers.GRU,
    "leaky": layers.LeakyRNN,
    "skip": layers.SkipRNN,
    "clockwork": layers.ClockworkRNN,
    "dilated": layers.dilated_stack,
}

#: Named configurations of `build_sequence_regressor`.
PRESETS = {
    "adding_lstm": {"cell": "lstm", "units": 128},
    "adding_gru": {"cell": "gru", "units": 128},
    "adding_simple_rnn": {"cell": "simple_rnn", "units": 128},
}


def recurrent_layer(cell, units, return_sequences=False, name=None, **options):
    """Make the recurrent layer named `cell` (a key of `RECURRENT_LAYERS`)."""
    factory = RECURRENT_LAYERS[
        v.check_choice("cell", cell, set(RECURRENT_LAYERS))
    ]
    return factory(
        units, return_sequences=return_sequences, name=name, **options
    )


def _recurrent_stack(
    x,
    cell,
    units,
    num_layers,
    bidirectional,
    last_returns_sequences,
    cell_options,
):
    num_layers = v.check_positive_int("num_layers", num_layers)
    for index in range(num_layers):
        sequences = last_returns_sequences or index < num_layers - 1
        layer = recurrent_layer(
            cell,
            units,
            return_sequences=sequences,
            name=f"{cell}_{index}",
            **cell_options,
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(
                layer, name=f"bidirectional_{index}"
            )
        x = layer(x)
    return x


def build_sequence_regressor(
    timesteps,
    features,
    outputs=1,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    cell_options=None,
    preset=None,
    compile=True,
    **compile_options,
):
    """A recurrent network mapping a sequence to a vector (e.g. adding).

    `Input(timesteps, features)` -> `num_layers` recurrent layers (the last
    returns its final output) -> `Dense(outputs)`.

    Args:
        timesteps: int or None, sequence length (None for variable).
        features: int, features per step.
        outputs: int, size of the regression target. Default: 1.
        cell: a key of `RECURRENT_LAYERS`: `"lstm"`, `"gru"`, `"leaky"`,
            `"skip"`, `"clockwork"`, `"dilated"` (this toolkit's),
            `"simple_rnn"`, `"keras_lstm"`, `"keras_gru"` (Keras's).
            Default: `"lstm"`.
        units: int, units per recurrent layer. Default: 64.
        num_layers: int, stacked recurrent layers. Default: 1.
        bidirectional: bool, wrap each in `keras.layers.Bidirectional`.
            Default: `False`.
        cell_options: dict of extra arguments of the recurrent layer
            (`dropout`, `peephole`, `layer_norm`, ...). Default: None.
        preset: None or a key of `PRESETS`, whose values override the
            arguments: `"adding_lstm"`, `"adding_gru"` and
            `"adding_simple_rnn"` (the adding problem's networks: that
            cell, 128 units). Default: None.
        compile: bool, compile the model. Default: `True`.
        **compile_options: `optimizer`, `loss`, `metrics`,
            `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`
            (see `recipes.check_compile_options`). Here
            `loss="auto"` is mean squared error and `metrics="auto"` is
            `["mae"]`.

    Returns:
        A `keras.Model`, compiled unless `compile=False`.

    Example:

    ```python
    from recipes import build_sequence_regressor
    from toolkit.data import adding_problem

    x, y = adding_problem(2048, timesteps=50, seed=0)
    model = build_sequence_regressor(50, 2, cell="gru", units=32,
                                     clipnorm=1.0)
    model.fit(x, y, epochs=2, batch_size=64)
    ```
    """
    options = check_compile_options("build_sequence_regressor", compile_options)
    if preset is not None:
        chosen = check_preset(PRESETS, preset)
        cell = chosen.get("cell", cell)
        units = chosen.get("units", units)
    timesteps = _check_timesteps(timesteps)
    features = v.check_positive_int("features", features)
    units = v.check_positive_int("units", units)
    outputs = v.check_positive_int("outputs", outputs)
    inputs = keras.Input((timesteps, features), name="sequence")
    x = _recurrent_stack(
        inputs,
        cell,
        units,
        num_layers,
        bidirectional,
        False,
        dict(cell_options or {}),
    )
    prediction = keras.layers.Dense(outputs, name="head")(x)
    model = keras.Model(inputs, prediction, name=f"{cell}_regressor")
    if compile:
        compile_recipe(model, options, "mse", ["mae"])
    return model


def build_sequence_tagger(
    timesteps,
    vocabulary_size,
    num_classes,
    embedding_dim=None,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    cell_options=None,
    compile=True,
    **compile_options,
):
    """A recurrent network labelling every step of a token sequence
    (e.g. the copy-memory task).

    `Input(timesteps,)` int ids -> `Embedding` (or one-hot when
    `embedding_dim` is None) -> recurrent layers returning sequences ->
    `Dense(num_classes, softmax)` at every step.

    Args:
        timesteps: int or None, sequence length.
        vocabulary_size: int, number of input token ids.
        num_classes: int, number of output classes per step.
        embedding_dim: int or None (one-hot inputs). Default: None.
        cell: a key of `RECURRENT_LAYERS`, as in `build_sequence_regressor`.
            Default: `"lstm"`.
        units: int, units per recurrent layer. Default: 64.
        num_layers: int, stacked recurrent layers. Default: 1.
        bidirectional: bool, wrap each in `keras.layers.Bidirectional`.
            Default: `False`.
        cell_options: dict of extra arguments of the recurrent layer, as in
            `build_sequence_regressor`. Default: None.
        compile: bool, compile the model. Default: `True`.
        **compile_options: `optimizer`, `loss`, `metrics`,
            `learning_rate`, `clipnorm`, `clipvalue`, `global_clipnorm`
            (see `recipes.check_compile_options`). Here
            `loss="auto"` is sparse categorical cross-entropy and
            `metrics="auto"` is `["accuracy"]`.

    Returns:
        A `keras.Model`, compiled unless `compile=False`.

    Example:

    ```python
    from recipes import build_sequence_tagger
    from toolkit.data import copy_memory

    x, y = copy_memory(256, timesteps=20, seed=0)
    model = build_sequence_tagger(40, vocabulary_size=10, num_classes=9)
    model.fit(x, y, epochs=1)
    ```
    """
    options = check_compile_options("build_sequence_tagger", compile_options)
    timesteps = _check_timesteps(timesteps)
    vocabulary_size = v.check_positive_int("vocabulary_size", vocabulary_size)
    num_classes = v.check_positive_int("num_classes", num_classes)
    inputs = keras.Input((timesteps,), dtype="int32", name="tokens")
    if embedding_dim is None:
        x = keras.layers.CategoryEncoding(
            vocabulary_size, output_mode="one_hot", name="one_hot"
        )(keras.layers.Reshape((-1, 1), name="per_step")(inputs))
    else:
        embedding_dim = v.check_positive_int("embedding_dim", embedding_dim)
        x = keras.layers.Embedding(
            vocabulary_size, embedding_dim, name="embedding"
        )(inputs)
    x = _recurrent_stack(
        x,
        cell,
        units,
        num_layers,
        bidirectional,
        True,
        dict(cell_options or {}),
    )
    probabilities = keras.layers.Dense(
        num_classes, activation="softmax", name="head"
    )(x)
    model = keras.Model(inputs, probabilities, name=f"{cell}_tagger")
    if compile:
        compile_recipe(
            model, options, "sparse_categorical_crossentropy", ["accuracy"]
        )
    return model


def _check_timesteps(timesteps):
    # None is Keras's variable length; `toolkit.validation` has no such rule.
    if timesteps is None:
        return None
    return v.check_positive_int("timesteps", timesteps)
