"""Sweeping the fine-tuning: a HyperModel whose trials run `fine_tune`.

A trial builds the model with the builder's arguments (dropout among
them) and trains it with `toolkit.training.fine_tune`, its phase-2
learning rate and unfreeze point drawn from the trial's hyperparameters.
`sweep(FineTuneHyperModel(...), data, ...)` runs it like any recipe.
"""

import keras

from toolkit import validation as v
from toolkit.training.fine_tune import fine_tune
from toolkit.tuning.hypermodel import RecipeHyperModel

#: The key of a search space's or `fixed`'s dict that holds `fine_tune`
#: arguments: `"fine_tune.unfreeze"`, `"fine_tune.phase_2_learning_rate"`.
KEY = "fine_tune"

#: `fine_tune` arguments a trial may set (besides the pair parts below).
OPTIONS = (
    "backbone",
    "epochs",
    "learning_rate",
    "unfreeze",
    "layer_rates",
    "optimizer",
    "cache_features",
    "shuffle",
    "find_options",
    "seed",
)

#: One phase's part of a pair argument: `name -> (argument, index)`.
PAIR_PARTS = {
    "phase_1_learning_rate": ("learning_rate", 0),
    "phase_2_learning_rate": ("learning_rate", 1),
    "phase_1_epochs": ("epochs", 0),
    "phase_2_epochs": ("epochs", 1),
}


def fine_tune_space(
    hp,
    learning_rate=(1e-5, 1e-3),
    unfreeze=("conv5_", "conv4_"),
    dropout=(0.0, 0.5),
):
    """The phase-2 learning rate (log scale), the unfreeze point and the
    head's dropout.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        learning_rate: `(min, max)` of the phase-2 rate, or None to leave
            it out. Default: `(1e-5, 1e-3)`.
        unfreeze: the unfreeze points to choose from (prefixes or block
            counts, one kind), or None. Default: `("conv5_", "conv4_")`.
        dropout: `(min, max)` of the builder's `dropout`, or None.
            Default: `(0.0, 0.5)`.

    Returns:
        `{"fine_tune.phase_2_learning_rate": ..., "fine_tune.unfreeze":
        ..., "dropout": ...}`.
    """
    values = {}
    if learning_rate is not None:
        low, high = learning_rate
        values[f"{KEY}.phase_2_learning_rate"] = hp.Float(
            "phase_2_learning_rate", low, high, sampling="log"
        )
    if unfreeze is not None:
        values[f"{KEY}.unfreeze"] = hp.Choice("unfreeze", list(unfreeze))
    if dropout is not None:
        low, high = dropout
        values["dropout"] = hp.Float("dropout", low, high, step=0.1)
    return values


class FineTuneHyperModel(RecipeHyperModel):
    """A `RecipeHyperModel` whose `fit` runs `fine_tune`.

    `build(hp)` calls `builder` with every argument but the `fine_tune`
    ones (the keys `"fine_tune.<name>"` of `fixed` and of the spaces'
    dicts, see `fine_tune_space`). `fit(hp, model, x, y, epochs=...,
    batch_size=..., validation_data=..., callbacks=...)`, what keras-tuner
    calls with `search`'s arguments, runs `fine_tune(model, ...)` with
    `fine_tune_options`, then the trial's `fine_tune` values, on top. The
    trial's `epochs` are split between the phases (phase 1 gets the
    larger half) unless the options give `epochs`. It returns a Keras
    `History` of both phases' epochs, so keras-tuner scores the trial at
    its best epoch, as for a plain `fit`.

    Args:
        builder: a function returning a compiled model with a backbone,
            e.g. `recipes.build_image_classifier`.
        spaces: a function `hp -> dict` or a list of them. Default: none.
        fixed: dict of builder arguments (and `"fine_tune.<name>"` keys)
            that are not tuned.
        fine_tune_options: dict of `fine_tune` arguments for every trial,
            e.g. `{"epochs": (3, 2), "learning_rate": (1e-3, 1e-4)}`.
        name: str. Default: the builder's name.

    Example:

    ```python
    hypermodel = FineTuneHyperModel(
        build_image_classifier, fine_tune_space,
        fixed={"num_classes": 5, "weights": "backbone.weights.h5"},
        fine_tune_options={"epochs": (3, 3)},
    )
    frame = sweep(hypermodel, (x, y), validation_data=(x_val, y_val),
                  max_trials=8, objective="val_accuracy")
    ```
    """

    def __init__(
        self, builder, spaces=(), fixed=None, fine_tune_options=None, name=None
    ):
        super().__init__(builder, spaces, fixed=fixed, name=name)
        self.fine_tune_options = _check_options(
            "fine_tune_options", fine_tune_options or {}
        )

    def build(self, hp):
        arguments = self.arguments(hp)
        arguments.pop(KEY, None)
        return self.builder(**arguments)

    def fine_tune_arguments(self, hp, epochs=None):
        """The `fine_tune` arguments of a trial with `hp`."""
        drawn = _check_options(
            "fine_tune", self.arguments(hp).get(KEY, {}), parts=True
        )
        options = {**self.fine_tune_options}
        for key, value in drawn.items():
            if key in PAIR_PARTS:
                argument, index = PAIR_PARTS[key]
                pair = list(options.get(argument, _DEFAULT_PAIRS[argument]))
                pair[index] = value
                options[argument] = tuple(pair)
            else:
                options[key] = value
        if "epochs" not in self.fine_tune_options and epochs is not None:
            epochs = v.check_positive_int("epochs", epochs)
            first = (epochs + 1) // 2
            pair = list(options.get("epochs", (first, epochs - first)))
            if "phase_1_epochs" not in drawn:
                pair[0] = first
            if "phase_2_epochs" not in drawn:
                pair[1] = epochs - first
            options["epochs"] = tuple(pair)
        return options

    def fit(self, hp, model, x=None, y=None, **kwargs):
        if kwargs.pop("validation_split", None) is not None:
            raise ValueError(
                "A fine-tuning sweep needs `validation_data`, not "
                "`validation_split`. Received: validation_split"
            )
        options = self.fine_tune_arguments(hp, kwargs.pop("epochs", None))
        train = x if y is None else (x, y)
        frame = fine_tune(
            model,
            train,
            kwargs.pop("validation_data", None),
            batch_size=None if y is None else kwargs.pop("batch_size", None),
            callbacks=kwargs.pop("callbacks", None),
            verbose=kwargs.pop("verbose", 0),
            **options,
        )
        history = keras.callbacks.History()
        history.epoch = [int(epoch) - 1 for epoch in frame["epoch"]]
        history.history = {
            name: frame[name].tolist()
            for name in frame.columns
            if name not in ("phase", "epoch", "phase_epoch")
        }
        return history


_DEFAULT_PAIRS = {"learning_rate": (1e-3, 1e-4), "epochs": (5, 5)}


def _check_options(name, options, parts=False):
    allowed = set(OPTIONS) | (set(PAIR_PARTS) if parts else set())
    if not isinstance(options, dict) or set(options) - allowed:
        raise ValueError(
            f"Argument `{name}` must be a dict of `fine_tune` arguments, "
            f"keys among {sorted(allowed)}. Received: {name}={options!r}"
        )
    return dict(options)
