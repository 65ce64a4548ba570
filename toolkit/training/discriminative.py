"""Discriminative learning rates: one optimizer, a learning rate per group
of layers (Howard & Ruder 2018, "Universal Language Model Fine-tuning for
Text Classification", section 3.2; fastai's `slice(lr_low, lr_high)`).

The trap: Adam (and RMSprop, Adagrad, every optimizer that divides by a
running norm of the gradient) is invariant to the scale of the gradient,
`m / sqrt(v)` is unchanged when `g` is multiplied by `c`, so a per-group
rate cannot be made by scaling gradients. This optimizer scales the step
instead: each group has its own copy of the inner optimizer (its own
slots) and takes that optimizer's step at `learning_rate * multiplier`.
"""

import keras

from toolkit import validation as v
from toolkit._keras_compat import optimizer_variable_index
from toolkit.api_export import register

#: Base-optimizer options the wrapper applies itself (to the gradients
#: before the per-group steps), taken from the inner optimizer.
_SHARED_OPTIONS = ("clipnorm", "clipvalue", "global_clipnorm")


@register
class DiscriminativeOptimizer(keras.optimizers.Optimizer):
    """An optimizer that steps each group of variables at its own
    learning rate.

    A variable of layer `name` belongs to the group of the longest key of
    `multipliers` that `name` starts with, else to the default group of
    multiplier `default`. Group `k` is updated by its own copy of
    `optimizer` (own slots, own step count) at the learning rate

        lr_k = learning_rate * multipliers[k]

    so with Adam each group takes exactly Adam's step at `lr_k`. The
    learning rate may be a float or a schedule; callbacks that change
    `optimizer.learning_rate` change every group's rate in proportion.

    Args:
        optimizer: a Keras optimizer (or its name or config) to apply per
            group, e.g. `keras.optimizers.Adam()`. Its learning rate is
            the base rate unless `learning_rate` is given; its clipping
            options apply to the gradients of every group.
        multipliers: dict from layer-name prefix to a float > 0, e.g.
            `{"conv4_": 0.1, "conv5_": 0.3, "predictions": 1.0}`.
        default: float > 0, the multiplier of variables no prefix matches.
            Default: 1.0.
        learning_rate: float, schedule or None, the base rate. Default:
            None (the inner optimizer's).
        name: str. Default: `"discriminative"`.

    Weight decay, EMA and gradient accumulation of the inner optimizer
    are not applied (they live outside its `update_step`); a per-group
    weight decay is a group's own optimizer's business.

    Example:

    ```python
    import keras
    from toolkit.training import DiscriminativeOptimizer

    optimizer = DiscriminativeOptimizer(
        keras.optimizers.Adam(1e-3), {"dense_1": 0.1})
    ```

    Reference:
        J. Howard and S. Ruder, "Universal Language Model Fine-tuning for
        Text Classification", ACL 2018 (arXiv:1801.06146), section 3.2.
    """

    def __init__(
        self,
        optimizer,
        multipliers,
        default=1.0,
        learning_rate=None,
        name="discriminative",
        **kwargs,
    ):
        optimizer = _get_optimizer(optimizer)
        if not isinstance(multipliers, dict) or not multipliers:
            raise ValueError(
                "Argument `multipliers` must be a non-empty dict from "
                "layer-name prefix to a multiplier > 0. Received: "
                f"multipliers={multipliers!r}"
            )
        multipliers = {
            str(key): v.check_positive(f"multipliers[{key!r}]", value)
            for key, value in multipliers.items()
        }
        default = v.check_positive("default", default)
        inner = optimizer.get_config()
        if learning_rate is None:
            learning_rate = inner["learning_rate"]
            if isinstance(learning_rate, dict):
                learning_rate = keras.optimizers.schedules.deserialize(
                    learning_rate
                )
        for option in _SHARED_OPTIONS:
            kwargs.setdefault(option, inner.get(option))
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.inner_config = keras.optimizers.serialize(optimizer)
        self.multipliers = multipliers
        self.default = default

    def multiplier(self, variable):
        """The multiplier of `variable`, by the name of its layer."""
        parts = variable.path.split("/")
        layer = parts[-2] if len(parts) > 1 else parts[0]
        best = None
        for prefix in self.multipliers:
            if layer.startswith(prefix) and (
                best is None or len(prefix) > len(best)
            ):
                best = prefix
        return self.default if best is None else self.multipliers[best]

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        groups = {}
        for variable in variables:
            groups.setdefault(self.multiplier(variable), []).append(variable)
        self.groups = []
        inners = {}
        for index, (multiplier, members) in enumerate(sorted(groups.items())):
            inner = keras.optimizers.deserialize(self.inner_config)
            inner.name = f"{self.name}_group_{index}"
            inner.build(members)
            self.groups.append(inner)
            inners[multiplier] = inner
        # Indexed like the optimizer's own variable list.
        self._per_variable = [
            (inners[self.multiplier(variable)], self.multiplier(variable))
            for variable in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        inner, multiplier = self._per_variable[
            optimizer_variable_index(self, variable)
        ]
        inner.update_step(gradient, variable, learning_rate * multiplier)

    def apply(self, grads, trainable_variables=None):
        super().apply(grads, trainable_variables)
        # Every group took its step: its own count drives Adam's bias
        # correction.
        for inner in self.groups:
            inner.iterations.assign_add(1)

    def get_config(self):
        config = super().get_config()
        config.update(
            optimizer=self.inner_config,
            multipliers=dict(self.multipliers),
            default=self.default,
        )
        return config


def _get_optimizer(optimizer):
    try:
        optimizer = keras.optimizers.get(optimizer)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "Argument `optimizer` must be a Keras optimizer, its name or its "
            f"config. Received: optimizer={optimizer!r}"
        ) from error
    if isinstance(optimizer, DiscriminativeOptimizer):
        raise ValueError(
            "Argument `optimizer` must be a plain Keras optimizer, not a "
            "`DiscriminativeOptimizer`. Received: optimizer="
            f"{optimizer.name!r}"
        )
    return optimizer
