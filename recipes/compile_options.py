"""The compile options every recipe takes, resolved in one place.

A builder (`recipes.build_*`) ends with `compile=True, **compile_options`,
the way keras-hub tasks take `compile(optimizer="auto", loss="auto",
metrics="auto")`: it checks the options with `check_compile_options` before
it builds anything and hands them to `compile_recipe`, which turns each
`"auto"` into the recipe's own default and compiles the model.
"""

import numbers

import keras

from toolkit import validation as v

#: The compile options of every recipe, with their defaults.
COMPILE_OPTIONS = {
    "optimizer": "auto",
    "loss": "auto",
    "metrics": "auto",
    "learning_rate": 1e-3,
    "clipnorm": None,
    "clipvalue": None,
    "global_clipnorm": None,
}

_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def check_compile_options(builder, options):
    """Check a recipe's `**compile_options` and fill in the defaults.

    The options, their defaults and what they do:

    - `optimizer`: `"auto"` (Adam with `learning_rate` and the clipping
      options), a Keras optimizer name (`"sgd"`, `"rmsprop"`, ...; built
      with `learning_rate` and the clipping options) or an optimizer
      instance (used as it is: `learning_rate` is ignored, clipping is an
      error). Default: `"auto"`.
    - `loss`: `"auto"` (the recipe's loss, named in its docstring) or
      anything `keras.Model.compile` takes. Default: `"auto"`.
    - `metrics`: `"auto"` (the recipe's metrics, named in its docstring) or
      anything `keras.Model.compile` takes. Default: `"auto"`.
    - `learning_rate`: float >= 0 or a
      `keras.optimizers.schedules.LearningRateSchedule`, for `"auto"` or a
      named optimizer. Default: 1e-3.
    - `clipnorm`, `clipvalue`, `global_clipnorm`: float > 0 or None,
      Keras's own gradient clipping, passed to the optimizer (at most one
      of them, as Keras requires). Default: None.

    Args:
        builder: str, the builder's name, for the error message.
        options: dict, the keyword arguments the builder did not declare.

    Returns:
        A dict with every key of `COMPILE_OPTIONS`.
    """
    unknown = sorted(set(options) - set(COMPILE_OPTIONS))
    if unknown:
        raise TypeError(
            f"`{builder}` got unknown argument(s) "
            f"{', '.join(f'`{name}`' for name in unknown)}: neither one of "
            f"its arguments nor a compile option. The compile options are "
            f"{sorted(COMPILE_OPTIONS)}. Received: "
            + ", ".join(f"{name}={options[name]!r}" for name in unknown)
        )
    options = {**COMPILE_OPTIONS, **options}
    rate = options["learning_rate"]
    if isinstance(rate, numbers.Real):
        options["learning_rate"] = v.check_non_negative("learning_rate", rate)
    for name in _CLIPPING:
        if options[name] is not None:
            options[name] = v.check_positive(name, options[name])
    return options


def resolve_optimizer(
    optimizer="auto",
    learning_rate=1e-3,
    clipnorm=None,
    clipvalue=None,
    global_clipnorm=None,
):
    """`"auto"` becomes Adam with the given learning rate and clipping;
    a name goes through `keras.optimizers.get` with them; an optimizer
    instance is returned as it is (see `check_compile_options`)."""
    clipping = {
        key: value
        for key, value in (
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        )
        if value is not None
    }
    if optimizer == "auto":
        return keras.optimizers.Adam(learning_rate=learning_rate, **clipping)
    if isinstance(optimizer, str):
        try:
            config = {
                "class_name": optimizer,
                "config": {"learning_rate": learning_rate, **clipping},
            }
            return keras.optimizers.get(config)
        except ValueError as error:
            raise ValueError(
                "Argument `optimizer` must be 'auto', a Keras optimizer name "
                "(e.g. 'adam', 'sgd', 'rmsprop') or an optimizer instance. "
                f"Received: optimizer={optimizer!r}"
            ) from error
    if clipping:
        raise ValueError(
            "Arguments `clipnorm`, `clipvalue` and `global_clipnorm` apply "
            "only when `optimizer` is 'auto' or a name; set them on the "
            f"optimizer instance instead. Received: {clipping}"
        )
    return optimizer


def compile_recipe(
    model, options, loss, metrics, weighted_metrics=None, loss_weights=None
):
    """Compile `model` with checked compile options (see
    `check_compile_options`), replacing each `"auto"` by the recipe's
    default.

    Args:
        model: the `keras.Model` a builder made.
        options: dict, what `check_compile_options` returned.
        loss: what `loss="auto"` means for this recipe.
        metrics: what `metrics="auto"` means for this recipe.
        weighted_metrics: what `metrics="auto"` adds as
            `weighted_metrics`. Default: None.
        loss_weights: the `loss_weights` of a multi-output model (they go
            with the recipe's loss, `"auto"` or not). Default: None.

    Returns:
        `model`, compiled.
    """
    auto_metrics = _is_auto(options["metrics"])
    model.compile(
        optimizer=resolve_optimizer(
            options["optimizer"],
            **{key: options[key] for key in ("learning_rate", *_CLIPPING)},
        ),
        loss=loss if _is_auto(options["loss"]) else options["loss"],
        loss_weights=loss_weights,
        metrics=metrics if auto_metrics else options["metrics"],
        weighted_metrics=weighted_metrics if auto_metrics else None,
    )
    return model


def check_preset(presets, preset):
    """The values of `presets[preset]`, or an error naming the presets."""
    return presets[v.check_choice("preset", preset, set(presets))]


def _is_auto(value):
    return isinstance(value, str) and value == "auto"
