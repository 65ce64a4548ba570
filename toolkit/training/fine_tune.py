"""Two-phase fine-tuning of a model built on a pretrained backbone.

Phase 1 trains the new head on a frozen backbone run in inference mode;
phase 2 unfreezes the top of the backbone (BatchNorm layers excepted) and
trains on at a lower learning rate, optionally a rate per layer group
(`DiscriminativeOptimizer`). See `docs/guides/fine-tuning.md`.
"""

import keras
import numpy as np

from toolkit import validation as v
from toolkit._keras_compat import reset_initial_epoch
from toolkit.training import backbone_parts as parts
from toolkit.training.discriminative import DiscriminativeOptimizer
from toolkit.training.fine_tune_history import (
    HistoryRecorder,
    SeeModel,
    split_backup,
)
from toolkit.training.lr_range_test import lr_range_test

#: `lr_range_test` arguments for `learning_rate="find"`.
FIND_DEFAULTS = {"min_lr": 1e-6, "max_lr": 1.0, "steps": 50}


def fine_tune(
    model,
    train,
    validation=None,
    *,
    backbone="backbone",
    epochs=(5, 5),
    learning_rate=(1e-3, 1e-4),
    unfreeze="conv5_",
    layer_rates=None,
    optimizer="adam",
    batch_size=None,
    callbacks=None,
    cache_features="auto",
    shuffle=True,
    find_options=None,
    seed=None,
    verbose=1,
):
    """Fine-tune `model` in two phases and return both phases' history.

    1. The backbone is frozen (`trainable=False`, so its BatchNorm layers
       run in inference mode) and the head (every layer after the
       backbone) trains at `learning_rate[0]`. Without random
       augmentation (no layer named `"augmentation"`), the backbone's
       features are computed once and the head trains on them alone;
       with it, the backbone runs at every step.
    2. The backbone is unfrozen from `unfreeze` on, BatchNorm layers kept
       frozen and in inference mode (their moving statistics are those
       of the pretraining data: updating them on a small new set is what
       breaks fine-tuned ResNets, keras-team/keras#9214), and the model is
       recompiled at `learning_rate[1]`, with a rate per layer group when
       `layer_rates` is given.

    The model keeps the loss, metrics and loss weights of its own
    `compile`; each phase gets a fresh `optimizer`. Afterwards the model
    is left compiled as in phase 2, with its top unfrozen.

    Args:
        model: a compiled functional `keras.Model` with a nested model
            layer named `backbone`, single- or multi-output.
        train: `(x, y)` NumPy arrays (or dicts/lists of them) or a
            `tf.data.Dataset` of `(x, y)` batches.
        validation: the same kinds, or None. Default: None.
        backbone: str, the name of the backbone layer. Default:
            `"backbone"`.
        epochs: `(phase_1, phase_2)` ints >= 0, not both 0. Default:
            `(5, 5)`.
        learning_rate: `(phase_1, phase_2)`, each a float > 0 or `"find"`
            (the toolkit's `lr_range_test` on that phase's model and
            data, its `suggestion` used). Default: `(1e-3, 1e-4)`.
        unfreeze: a layer-name prefix inside the backbone (`"conv5_"`:
            the first layer whose name starts with it and every later
            one) or an int `N`, the last `N` blocks (`conv5_block1` ...;
            ResNet-50 has 16, so 3 is the `conv5_` stage; see
            `backbone_parts.blocks`). Default: `"conv5_"`.
        layer_rates: None or dict from a backbone layer-name prefix, or
            `"head"` (every layer outside the backbone), to a multiplier of
            the phase-2 rate, e.g. `{"conv4_": 0.1, "conv5_": 0.3,
            "head": 1.0}` (the longest matching prefix wins; unmatched
            layers take the `"head"` multiplier, default 1). Default: None.
        optimizer: a Keras optimizer, its name or config, copied fresh for
            each phase. Default: `"adam"`.
        batch_size: int for NumPy data (default 32); None for a dataset.
        callbacks: list of Keras callbacks for both phases' `fit`. Phase
            2's epochs continue phase 1's numbering. In a cached phase 1
            they see the whole model (its head is the trained part). A
            `BackupAndRestore` keeps one backup per phase under its
            directory, so a run cut short resumes in the phase it was in.
        cache_features: `"auto"` (cache unless the model has a layer named
            `"augmentation"`), True or False. Default: `"auto"`.
        shuffle: bool, shuffle NumPy data every epoch. Default: True.
        find_options: dict of `lr_range_test` arguments for `"find"`.
            Default: `FIND_DEFAULTS`.
        seed: int or None, `keras.utils.set_random_seed` before each
            phase. Default: None.
        verbose: 0, 1 or 2, passed to `fit`; 1 or 2 also print what each
            phase does. Default: 1.

    Returns:
        A pandas DataFrame, one row per epoch run, with columns `phase`
        (1 or 2), `epoch` (1, 2, ... over both phases), `phase_epoch`
        (within its phase), `learning_rate`, then `fit`'s logs (`loss`,
        metrics, `val_*`). `frame.attrs["lr_range_tests"]` holds the
        `LRRangeTestResult` of each phase that used `"find"`.

    Example:

    ```python
    frame = fine_tune(model, (x, y), (x_val, y_val), epochs=(3, 2),
                      learning_rate=(1e-3, 1e-4), unfreeze="conv5_")
    plot_fine_tuning(frame, path="fine_tuning.png")
    ```
    """
    import pandas as pd

    if not isinstance(model, keras.Model):
        raise TypeError(
            f"Argument `model` must be a keras.Model. Received: model={model!r}"
        )
    if getattr(model, "optimizer", None) is None or not model.compiled:
        raise ValueError(
            "Argument `model` must be compiled (fine_tune keeps its loss "
            f"and metrics). Received: an uncompiled model {model.name!r}"
        )
    base = parts.find_backbone(model, backbone)
    epochs = _check_pair("epochs", epochs, v.check_non_negative_int)
    if sum(epochs) == 0:
        raise ValueError(
            "Argument `epochs` must have at least one phase with epochs > "
            f"0. Received: epochs={epochs!r}"
        )
    learning_rate = _check_pair("learning_rate", learning_rate, _check_rate)
    start = parts.unfreeze_index(base, unfreeze)
    rates = parts.check_layer_rates(base, layer_rates)
    _fresh_optimizer(optimizer, 1e-3)  # fails early on a bad optimizer
    v.check_choice("cache_features", cache_features, ["auto", True, False])
    seed = v.check_seed(seed)
    v.check_choice("verbose", verbose, [0, 1, 2])
    data = _Data(train, validation, batch_size, bool(shuffle))
    callbacks, backup = split_backup(callbacks)
    compile_arguments = _compile_arguments(model)
    find_options = {**FIND_DEFAULTS, **(find_options or {})}
    recorder = HistoryRecorder(backup)
    found = {}

    restored = backup is not None and backup.phase_done(1)
    if restored:
        model.load_weights(backup.phase_weights(1))
        _say(verbose, "Phase 1: restored from its backup, skipped.")
    elif epochs[0]:
        parts.freeze(base)
        trained, data_1, seen = _phase_1_setup(
            model, base, data, cache_features, verbose
        )
        _run_phase(
            1, trained, data_1, epochs[0], 0, learning_rate[0], None,
            optimizer, compile_arguments, callbacks, backup, recorder,
            seen, find_options, found, seed, verbose,
        )  # fmt: skip
        if backup is not None:
            model.save_weights(backup.phase_weights(1))
    if epochs[1]:
        parts.unfreeze_from(base, start)
        _say(
            verbose,
            f"Phase 2: {base.name} trains from layer "
            f"{base.layers[start].name!r} on, BatchNorm layers frozen.",
        )
        _run_phase(
            2, model, data, epochs[1], epochs[0], learning_rate[1], rates,
            optimizer, compile_arguments, callbacks, backup, recorder,
            None, find_options, found, seed, verbose,
        )  # fmt: skip
    if backup is not None:
        backup.finish()
    frame = pd.DataFrame(recorder.rows)
    frame.attrs["lr_range_tests"] = found
    return frame


def _phase_1_setup(model, base, data, cache_features, verbose):
    """`(model to fit, its data, the model callbacks should see)`."""
    augmented = parts.has_layer(model, "augmentation")
    cache = cache_features is True or (
        cache_features == "auto" and not augmented
    )
    if cache:
        features, head = parts.feature_and_head_models(model, base)
        if head is None:
            if cache_features is True:
                raise ValueError(
                    "Argument `cache_features=True` needs a head that "
                    "reads only the backbone's output. Received: a model "
                    "whose head has other inputs"
                )
            cache = False
    if not cache:
        why = (
            "random augmentation is active"
            if augmented
            else "caching was turned off or the head has other inputs"
        )
        _say(verbose, f"Phase 1: {why}: the frozen backbone runs every step.")
        return model, data, None
    cached = data.features(features)
    _say(
        verbose,
        f"Phase 1: frozen {base.name} features computed once "
        f"({cached.size} samples); the head trains on them alone.",
    )
    return head, cached, model


def _run_phase(
    phase, trained, data, epochs, offset, learning_rate, rates, optimizer,
    compile_arguments, callbacks, backup, recorder, seen, find_options,
    found, seed, verbose,
):  # fmt: skip
    if seed is not None:
        keras.utils.set_random_seed(seed + phase - 1)
    _compile(trained, optimizer, 1e-3, rates, compile_arguments)
    if learning_rate == "find":
        result = lr_range_test(
            trained, *data.range_test_arguments(), **find_options
        )
        found[phase] = result
        learning_rate = float(result.suggestion)
        _say(verbose, f"Phase {phase}: LR range test found {learning_rate:.3g}")
    trained.optimizer.learning_rate = learning_rate
    phase_callbacks = [
        SeeModel(callback, seen) if seen is not None else callback
        for callback in callbacks
    ]
    if backup is not None:
        phase_callbacks.insert(0, backup.for_phase(phase))
    recorder.start(phase, offset)
    for model in (trained, seen):
        if model is not None:
            model.stop_training = False
    try:
        trained.fit(
            epochs=offset + epochs,
            initial_epoch=offset,
            callbacks=[*phase_callbacks, recorder],
            verbose=verbose,
            **data.fit_arguments(),
        )
    finally:
        reset_initial_epoch(trained)


def _compile(model, optimizer, learning_rate, rates, arguments):
    fresh = _fresh_optimizer(optimizer, learning_rate)
    if rates is not None:
        multipliers, default = rates
        fresh = DiscriminativeOptimizer(fresh, multipliers, default=default)
    model.compile(optimizer=fresh, **arguments)


def _fresh_optimizer(optimizer, learning_rate):
    try:
        if isinstance(optimizer, keras.optimizers.Optimizer):
            optimizer = keras.optimizers.serialize(optimizer)
        fresh = keras.optimizers.get(optimizer)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "Argument `optimizer` must be a Keras optimizer, its name or "
            f"its config. Received: optimizer={optimizer!r}"
        ) from error
    fresh.learning_rate = learning_rate
    return fresh


def _compile_arguments(model):
    """The model's own `compile` arguments but the optimizer, as fresh
    objects (its compile config, deserialized)."""
    config = keras.saving.deserialize_keras_object(model.get_compile_config())
    config.pop("optimizer", None)
    return config


def _check_pair(name, value, check):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(
            f"Argument `{name}` must be a pair (phase_1, phase_2). "
            f"Received: {name}={value!r}"
        )
    return tuple(check(f"{name}[{i}]", item) for i, item in enumerate(value))


def _check_rate(name, value):
    if value == "find":
        return value
    if isinstance(value, str):
        raise ValueError(
            f"Argument `{name}` must be a float > 0 or 'find'. "
            f"Received: {name}={value!r}"
        )
    return v.check_positive(name, value)


def _say(verbose, message):
    if verbose:
        print(message)


class _Data:
    """The training and validation data in the form `fit` takes."""

    def __init__(self, train, validation, batch_size, shuffle):
        self.dataset = v.is_dataset(train)
        for name, value in (("train", train), ("validation", validation)):
            if name == "validation" and value is None:
                continue
            if v.is_dataset(value) != self.dataset or (
                not self.dataset
                and not (isinstance(value, (tuple, list)) and len(value) == 2)
            ):
                raise TypeError(
                    f"Argument `{name}` must be an `(x, y)` pair of arrays "
                    "or a `tf.data.Dataset` of `(x, y)` batches, both of "
                    f"one kind. Received: {name}={type(value).__name__}"
                )
        if self.dataset:
            if batch_size is not None:
                raise ValueError(
                    "With a `tf.data.Dataset`, pass no `batch_size` (the "
                    f"dataset yields batches). Received: batch_size="
                    f"{batch_size!r}"
                )
        else:
            batch_size = v.check_positive_int(
                "batch_size", 32 if batch_size is None else batch_size
            )
        self.train, self.validation = train, validation
        self.batch_size, self.shuffle = batch_size, shuffle
        self.size = None

    def fit_arguments(self):
        if self.dataset:
            return {"x": self.train, "validation_data": self.validation}
        x, y = self.train
        return {
            "x": x,
            "y": y,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "validation_data": _as_tuple(self.validation),
        }

    def range_test_arguments(self):
        if self.dataset:
            return (self.train,)
        x, y = self.train
        return x, y, self.batch_size

    def features(self, extractor):
        """The same data with `x` replaced by the extractor's output."""
        if self.dataset:
            train, batch = _dataset_features(extractor, self.train)
            validation = None
            if self.validation is not None:
                validation, _ = _dataset_features(extractor, self.validation)
            cached = _Data(
                (train[0], train[1]),
                validation,
                batch,
                False,
            )
        else:
            x, y = self.train
            validation = None
            if self.validation is not None:
                x_val, y_val = self.validation
                validation = (self._predict(extractor, x_val), y_val)
            cached = _Data(
                (self._predict(extractor, x), y),
                validation,
                self.batch_size,
                self.shuffle,
            )
        cached.size = len(cached.train[0])
        return cached

    def _predict(self, extractor, x):
        return extractor.predict(x, batch_size=self.batch_size, verbose=0)


def _dataset_features(extractor, dataset):
    """`((features, y), batch size)` of a dataset of `(x, y)` batches,
    read once in its order."""
    features, targets, batch = [], [], None
    for x, y in dataset:
        values = keras.ops.convert_to_numpy(extractor(x, training=False))
        features.append(values)
        targets.append(keras.tree.map_structure(np.asarray, y))
        batch = batch or len(values)
    y = keras.tree.map_structure(lambda *items: np.concatenate(items), *targets)
    return (np.concatenate(features), y), batch


def _as_tuple(validation):
    return None if validation is None else tuple(validation)
