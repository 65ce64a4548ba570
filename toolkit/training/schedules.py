"""Cyclical and one-cycle learning-rate schedules, and momentum cycling.

The schedules are `keras.optimizers.schedules.LearningRateSchedule`s: pass
one as an optimizer's `learning_rate` and it is saved with the model. An
optimizer's momentum (SGD's `momentum`, Adam's `beta_1`) cannot be a
schedule in Keras, so `MomentumScheduler` (a callback) cycles it.
"""

import math

import keras
from keras import ops

from toolkit import validation as v
from toolkit._keras_compat import replace_optimizer_attribute
from toolkit.api_export import register


@register
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate (Smith 2017): triangular waves between two
    bounds.

    With `t` the optimizer step, `s = step_size` (half a cycle):

    ```
    cycle = floor(1 + t / (2 s))
    x     = |t / s - 2 cycle + 1|
    lr(t) = initial + (maximal - initial) * max(0, 1 - x) * scale
    ```

    where `scale` is 1 (`"triangular"`), `1 / 2 ** (cycle - 1)`
    (`"triangular2"`: each cycle's amplitude halves) or `gamma ** t`
    (`"exp_range"`). `maximal_learning_rate` may be smaller than
    `initial_learning_rate`, which cycles inversely (as momentum is cycled
    against the learning rate).

    Args:
        initial_learning_rate: float, the value at the start of each cycle
            (the lower bound).
        maximal_learning_rate: float, the value in the middle of each cycle
            (the upper bound).
        step_size: int, steps in half a cycle. Smith suggests 2 to 10
            epochs' worth of steps.
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`. Default:
            `"triangular"`.
        gamma: float in (0, 1], the decay of `"exp_range"`. Default: 1.
        name: str, the schedule's name. Default: `"CyclicalLearningRate"`.

    Call arguments:
        step: scalar int or float tensor, the optimizer's `iterations`.

    Example:

    ```python
    schedule = CyclicalLearningRate(1e-4, 1e-2, step_size=200,
                                    mode="triangular2")
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    ```

    Reference:
        L. N. Smith, "Cyclical Learning Rates for Training Neural
        Networks", WACV 2017 (arXiv:1506.01186).
    """

    MODES = ("triangular", "triangular2", "exp_range")

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        mode="triangular",
        gamma=1.0,
        name="CyclicalLearningRate",
    ):
        super().__init__()
        self.initial_learning_rate = v.check_non_negative(
            "initial_learning_rate", initial_learning_rate
        )
        self.maximal_learning_rate = v.check_non_negative(
            "maximal_learning_rate", maximal_learning_rate
        )
        self.step_size = v.check_positive_int("step_size", step_size)
        self.mode = v.check_choice("mode", mode, set(self.MODES))
        self.gamma = v.check_in_range(
            "gamma", gamma, 0.0, 1.0, low_closed=False
        )
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        size = float(self.step_size)
        cycle = ops.floor(1.0 + step / (2.0 * size))
        x = ops.abs(step / size - 2.0 * cycle + 1.0)
        wave = ops.maximum(0.0, 1.0 - x)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = ops.power(2.0, -(cycle - 1.0))
        else:
            scale = ops.power(self.gamma, step)
        amplitude = self.maximal_learning_rate - self.initial_learning_rate
        return self.initial_learning_rate + amplitude * wave * scale

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }


@register
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """The one-cycle policy (Smith 2018; Smith & Topin 2019): warm up, then
    anneal far below the start.

    With `T = total_steps`, `W = round(warmup_fraction * T)` warm-up steps,
    `lr_0 = maximal_learning_rate / initial_div` and
    `lr_end = lr_0 / final_div`:

    ```
    t <= W:  lr(t) = interp(lr_0, maximal_learning_rate, t / W)
    t >  W:  lr(t) = interp(maximal_learning_rate, lr_end,
                            (t - W) / (T - W))
    ```

    where `interp(a, b, p)` is `a (1 - p) + b p` (`"linear"`) or
    `b + (a - b) (1 + cos(pi p)) / 2` (`"cos"`). After `T` steps the rate
    stays at `lr_end`. Cycle momentum the other way with `OneCycleMomentum`
    (same `total_steps`, `warmup_fraction`, `anneal`) and
    `MomentumScheduler`; `momentum_schedule()` builds it.

    Args:
        maximal_learning_rate: float > 0, the peak (e.g. from the LR range
            test).
        total_steps: int, steps of the whole cycle (epochs x batches).
        warmup_fraction: float in (0, 1), share of the steps spent warming
            up. Default: 0.3.
        initial_div: float >= 1, the start is `maximal / initial_div`.
            Default: 25.
        final_div: float >= 1, the end is `start / final_div`.
            Default: 1e4.
        anneal: `"cos"` or `"linear"`. Default: `"cos"`.
        name: str. Default: `"OneCycle"`.

    Call arguments:
        step: scalar int or float tensor, the optimizer's `iterations`.

    Example:

    ```python
    steps = epochs * math.ceil(len(x) / batch_size)
    schedule = OneCycle(0.1, total_steps=steps)
    model.compile(keras.optimizers.SGD(schedule, momentum=0.95), loss=...)
    model.fit(x, y, batch_size=batch_size, epochs=epochs,
              callbacks=[MomentumScheduler(schedule.momentum_schedule())])
    ```

    Reference:
        L. N. Smith, "A disciplined approach to neural network
        hyper-parameters: Part 1", arXiv:1803.09820, 2018; L. N. Smith and
        N. Topin, "Super-Convergence", SPIE 2019 (arXiv:1708.07120).
    """

    ANNEALS = ("cos", "linear")

    def __init__(
        self,
        maximal_learning_rate,
        total_steps,
        warmup_fraction=0.3,
        initial_div=25.0,
        final_div=1e4,
        anneal="cos",
        name="OneCycle",
    ):
        super().__init__()
        self.maximal_learning_rate = v.check_positive(
            "maximal_learning_rate", maximal_learning_rate
        )
        self.total_steps = _check_total_steps(total_steps)
        self.warmup_fraction = _check_warmup(warmup_fraction)
        self.initial_div = _check_div("initial_div", initial_div)
        self.final_div = _check_div("final_div", final_div)
        self.anneal = v.check_choice("anneal", anneal, set(self.ANNEALS))
        self.name = name

    def __call__(self, step):
        start = self.maximal_learning_rate / self.initial_div
        return _two_phase(
            step,
            self.total_steps,
            self.warmup_fraction,
            self.anneal,
            start,
            self.maximal_learning_rate,
            start / self.final_div,
        )

    def momentum_schedule(self, maximal_momentum=0.95, minimal_momentum=0.85):
        """The matching `OneCycleMomentum` (same steps, warm-up, anneal)."""
        return OneCycleMomentum(
            self.total_steps,
            warmup_fraction=self.warmup_fraction,
            maximal_momentum=maximal_momentum,
            minimal_momentum=minimal_momentum,
            anneal=self.anneal,
        )

    def get_config(self):
        return {
            "maximal_learning_rate": self.maximal_learning_rate,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "initial_div": self.initial_div,
            "final_div": self.final_div,
            "anneal": self.anneal,
            "name": self.name,
        }


@register
class OneCycleMomentum(keras.optimizers.schedules.LearningRateSchedule):
    """Momentum of the one-cycle policy, the mirror of `OneCycle`.

    Falls from `maximal_momentum` to `minimal_momentum` while the learning
    rate warms up, then rises back while it anneals (Smith 2018, section
    4.3), with the same `interp` as `OneCycle`:

    ```
    t <= W:  m(t) = interp(maximal_momentum, minimal_momentum, t / W)
    t >  W:  m(t) = interp(minimal_momentum, maximal_momentum,
                           (t - W) / (T - W))
    ```

    Give it to `MomentumScheduler`: Keras optimizers take no momentum
    schedule.

    Args:
        total_steps: int, steps of the whole cycle.
        warmup_fraction: float in (0, 1). Default: 0.3.
        maximal_momentum: float in [0, 1). Default: 0.95.
        minimal_momentum: float in [0, maximal_momentum]. Default: 0.85.
        anneal: `"cos"` or `"linear"`. Default: `"cos"`.
        name: str. Default: `"OneCycleMomentum"`.

    Call arguments:
        step: scalar int or float tensor, the optimizer's `iterations`.

    Example:

    ```python
    momentum = OneCycleMomentum(total_steps=1000)
    model.fit(x, y, callbacks=[MomentumScheduler(momentum)])
    ```

    Reference:
        L. N. Smith, "A disciplined approach to neural network
        hyper-parameters: Part 1", arXiv:1803.09820, 2018.
    """

    def __init__(
        self,
        total_steps,
        warmup_fraction=0.3,
        maximal_momentum=0.95,
        minimal_momentum=0.85,
        anneal="cos",
        name="OneCycleMomentum",
    ):
        super().__init__()
        self.total_steps = _check_total_steps(total_steps)
        self.warmup_fraction = _check_warmup(warmup_fraction)
        self.maximal_momentum = v.check_in_range(
            "maximal_momentum",
            maximal_momentum,
            0.0,
            1.0,
            high_closed=False,
        )
        self.minimal_momentum = v.check_in_range(
            "minimal_momentum", minimal_momentum, 0.0, self.maximal_momentum
        )
        self.anneal = v.check_choice("anneal", anneal, set(OneCycle.ANNEALS))
        self.name = name

    def __call__(self, step):
        return _two_phase(
            step,
            self.total_steps,
            self.warmup_fraction,
            self.anneal,
            self.maximal_momentum,
            self.minimal_momentum,
            self.maximal_momentum,
        )

    def get_config(self):
        return {
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "maximal_momentum": self.maximal_momentum,
            "minimal_momentum": self.minimal_momentum,
            "anneal": self.anneal,
            "name": self.name,
        }


class MomentumScheduler(keras.callbacks.Callback):
    """Sets the optimizer's momentum from a schedule before every batch.

    SGD's `momentum` and Adam's (AdamW's, Adamax's, Nadam's) `beta_1` are
    plain Python floats in Keras 3: the compiled training step reads them
    once, when it is traced, so changing the attribute during `fit` does
    nothing. This callback replaces the float by a non-trainable variable
    for the length of `fit` (not tracked by the optimizer, so checkpoints
    are unchanged), retraces the training step so that it reads the
    variable, assigns `schedule(iterations)` to it before each batch, and
    puts a float back at the end (the last value), so the optimizer's
    config stays serializable.

    Args:
        schedule: a callable from the optimizer step to the momentum, e.g.
            `OneCycleMomentum`, or a `CyclicalLearningRate` between 0.95
            and 0.85.
        verbose: int, 1 prints the value at each epoch start. Default: 0.

    Example:

    ```python
    model.compile(keras.optimizers.SGD(OneCycle(0.1, 500), momentum=0.95),
                  loss="mse")
    model.fit(x, y, epochs=5,
              callbacks=[MomentumScheduler(OneCycleMomentum(500))])
    ```
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(
                "Argument `schedule` must be callable (step -> momentum), "
                f"e.g. `OneCycleMomentum`. Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self.values = []

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if isinstance(optimizer, keras.optimizers.SGD):
            self._attribute = "momentum"
        elif isinstance(getattr(optimizer, "beta_1", None), (int, float)):
            self._attribute = "beta_1"
        else:
            raise ValueError(
                "`MomentumScheduler` needs SGD (its `momentum`) or an "
                "optimizer with a float `beta_1` (Adam, AdamW, Adamax, "
                "Nadam, Lion). Received: "
                f"optimizer={type(optimizer).__name__}"
            )
        initial = float(getattr(optimizer, self._attribute))
        if self._attribute == "momentum" and initial == 0.0:
            raise ValueError(
                "SGD builds no momentum slots when `momentum=0`, so its "
                "momentum cannot be cycled: create it with a nonzero "
                "momentum (e.g. the schedule's first value). Received: "
                "momentum=0.0"
            )
        self._variable = _ScheduledValue(
            initial,
            dtype="float32",
            trainable=False,
            name=f"scheduled_{self._attribute}",
        )
        # Untracked: the slot list and the checkpoint layout stay as they are.
        replace_optimizer_attribute(optimizer, self._attribute, self._variable)
        self.model.make_train_function(force=True)

    def on_train_batch_begin(self, batch, logs=None):
        step = self.model.optimizer.iterations
        value = self.schedule(step)
        self._variable.assign(ops.cast(value, "float32"))
        self.values.append(float(self._variable.numpy()))

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            value = float(self._variable.numpy())
            print(f"Epoch {epoch + 1}: {self._attribute} = {value:.4f}")

    def on_train_end(self, logs=None):
        optimizer = self.model.optimizer
        replace_optimizer_attribute(
            optimizer, self._attribute, float(self._variable.numpy())
        )
        self.model.make_train_function(force=True)


class _ScheduledValue(keras.Variable):
    """The variable standing in for a scheduled momentum during `fit`.

    Optimizers read their momentum through `ops.cast(self.momentum, ...)`
    and `1 - self.beta_1`, which read a variable at every step, but SGD
    also tests `self.momentum != 0` in Python inside the step, which a
    symbolic tensor cannot answer. Compared with the number 0 this
    variable answers as a Python bool (nonzero: SGD was built with
    momentum slots, which `MomentumScheduler` checks); every other
    comparison is the variable's own.
    """

    def __eq__(self, other):
        if _is_zero(other):
            return False
        return super().__eq__(other)

    def __ne__(self, other):
        if _is_zero(other):
            return True
        return super().__ne__(other)

    __hash__ = keras.Variable.__hash__


def _is_zero(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value == 0
    )


def _two_phase(step, total_steps, warmup_fraction, anneal, start, peak, end):
    step = ops.minimum(ops.cast(step, "float32"), float(total_steps))
    warmup = max(1.0, round(warmup_fraction * total_steps))
    rest = max(1.0, total_steps - warmup)
    rising = ops.minimum(step / warmup, 1.0)
    falling = ops.clip((step - warmup) / rest, 0.0, 1.0)
    first = _interpolate(start, peak, rising, anneal)
    second = _interpolate(peak, end, falling, anneal)
    return ops.where(step <= warmup, first, second)


def _interpolate(a, b, p, anneal):
    if anneal == "linear":
        return a * (1.0 - p) + b * p
    return b + (a - b) * (1.0 + ops.cos(math.pi * p)) / 2.0


def _check_total_steps(value):
    value = v.check_positive_int("total_steps", value)
    if value < 2:
        raise ValueError(
            "Argument `total_steps` must be at least 2 (a warm-up and an "
            f"annealing step). Received: total_steps={value}"
        )
    return value


def _check_warmup(value):
    return v.check_in_range(
        "warmup_fraction", value, 0.0, 1.0, low_closed=False, high_closed=False
    )


def _check_div(name, value):
    return v.check_in_range(name, value, 1.0, math.inf, high_closed=False)
