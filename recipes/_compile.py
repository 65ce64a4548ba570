"""Resolving a recipe's `"auto"` compile arguments, shared by every recipe."""

import keras

from toolkit import validation as v


def resolve_optimizer(
    optimizer,
    learning_rate=1e-3,
    clipnorm=None,
    clipvalue=None,
    global_clipnorm=None,
):
    """`"auto"` becomes Adam with the given learning rate and clipping;
    anything else goes through `keras.optimizers.get`.

    Clipping is Keras's own (`clipnorm`, `clipvalue`, `global_clipnorm`):
    it is only passed on, and only with `"auto"` or an optimizer name.
    """
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


def compile_model(
    model,
    optimizer,
    loss,
    metrics,
    default_loss,
    default_metrics,
    **optimizer_kwargs,
):
    """Compile `model`, replacing each `"auto"` by the recipe's default."""
    model.compile(
        optimizer=resolve_optimizer(optimizer, **optimizer_kwargs),
        loss=default_loss if loss == "auto" else loss,
        metrics=default_metrics if metrics == "auto" else metrics,
    )
    return model


def check_preset(presets, preset):
    return presets[v.check_choice("preset", preset, set(presets))]
