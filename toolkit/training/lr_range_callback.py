"""The LR range test's callback (Smith 2015, "Cyclical Learning Rates for
Training Neural Networks", section 3.3): sweeps the learning rate over a
few batches and records each batch's loss. `lr_range_test` runs it and puts
the model back as it was.
"""

import math

import keras

from toolkit import validation as v
from toolkit._keras_compat import stored_learning_rate


class LRRangeTest(keras.callbacks.Callback):
    """Sweeps the learning rate over `steps` batches and records the loss.

    At batch `i` (0-based) of `steps` the learning rate is

    ```
    exponential: lr_i = min_lr * (max_lr / min_lr) ** (i / (steps - 1))
    linear:      lr_i = min_lr + (max_lr - min_lr) * i / (steps - 1)
    ```

    and the loss of that one batch is recorded. Keras 3 reports, at the end
    of batch `b` of an epoch, the running mean `m_b` of the batch losses so
    far (weighted by batch size), so the batch's own loss is recovered as
    `l_b = b * m_b - (b - 1) * m_{b-1}`, which is exact when the batches of
    an epoch have equal size (the last batch of a `tf.data` epoch may be
    smaller: batch with `drop_remainder=True` to avoid it; `lr_range_test`
    does it for NumPy data).

    The smoothed loss is an exponential moving average with bias correction
    (the same correction as Adam's):

    ```
    a_i = smoothing * a_{i-1} + (1 - smoothing) * l_i,    a_{-1} = 0
    s_i = a_i / (1 - smoothing ** (i + 1))
    ```

    An average with factor `beta` lags the loss by `beta / (1 - beta)`
    batches. With `smoothing="auto"` the factor follows the length of the
    sweep, `beta = 1 - 2 / (w + 1)` with the window `w = max(1, steps /
    10)` (a span-`w` average: lag `(w - 1) / 2`, at most 5% of the sweep),
    so a short sweep is not smoothed over more learning rates than it
    visits, and a long one is still averaged over many batches. A fixed
    factor such as 0.98 (a lag of 49 batches) suits only sweeps of many
    hundred batches.

    Training stops when `s_i > divergence_threshold * min_{j<=i} s_j`, when
    the loss is not finite, or after `steps` batches.

    The callback changes the learning rate and trains the model: use
    `lr_range_test`, which puts the weights, the optimizer state and the
    learning rate back afterwards.

    Args:
        min_lr: float > 0, first learning rate. Default: 1e-7.
        max_lr: float > `min_lr`, last learning rate. Default: 10.
        steps: int >= 2, number of batches of the sweep. Default: 100.
        mode: `"exponential"` or `"linear"`. Default: `"exponential"`.
        smoothing: `"auto"` or a float in [0, 1), the moving-average
            factor (0.0 disables smoothing). Default: `"auto"`, which
            gives `1 - 2 / (w + 1)` with `w = max(1, steps / 10)`
            (0.82 for 100 steps).
        divergence_threshold: float > 1, stop when the smoothed loss passes
            this multiple of its minimum. Default: 4.

    Attributes:
        lrs: list, the learning rate of each recorded batch.
        losses: list, the loss of each recorded batch.
        smoothed_losses: list, the smoothed loss of each recorded batch.

    Example:

    ```python
    finder = LRRangeTest(min_lr=1e-6, max_lr=1.0, steps=50)
    model.fit(x, y, batch_size=32, epochs=1, callbacks=[finder])
    ```
    """

    def __init__(
        self,
        min_lr=1e-7,
        max_lr=10.0,
        steps=100,
        mode="exponential",
        smoothing="auto",
        divergence_threshold=4.0,
    ):
        super().__init__()
        self.min_lr = v.check_positive("min_lr", min_lr)
        self.max_lr = v.check_positive("max_lr", max_lr)
        if self.max_lr <= self.min_lr:
            raise ValueError(
                "Argument `max_lr` must be larger than `min_lr`. Received: "
                f"min_lr={min_lr!r}, max_lr={max_lr!r}"
            )
        self.steps = v.check_positive_int("steps", steps)
        if self.steps < 2:
            raise ValueError(
                f"Argument `steps` must be at least 2. Received: steps={steps}"
            )
        self.mode = v.check_choice("mode", mode, {"exponential", "linear"})
        if isinstance(smoothing, str) and smoothing == "auto":
            smoothing = auto_smoothing(self.steps)
        elif isinstance(smoothing, str):
            raise ValueError(
                'Argument `smoothing` must be "auto" or a number in '
                f"[0, 1). Received: smoothing={smoothing!r}"
            )
        self.smoothing = v.check_in_range(
            "smoothing", smoothing, 0.0, 1.0, high_closed=False
        )
        self.divergence_threshold = v.check_positive(
            "divergence_threshold", divergence_threshold
        )
        if self.divergence_threshold <= 1.0:
            raise ValueError(
                "Argument `divergence_threshold` must be larger than 1. "
                f"Received: divergence_threshold={divergence_threshold!r}"
            )

    def learning_rate_at(self, step):
        """The learning rate of batch `step` (0-based) of the sweep."""
        fraction = step / (self.steps - 1)
        if self.mode == "exponential":
            return self.min_lr * (self.max_lr / self.min_lr) ** fraction
        return self.min_lr + (self.max_lr - self.min_lr) * fraction

    def on_train_begin(self, logs=None):
        _check_model(self.model)
        self.lrs, self.losses, self.smoothed_losses = [], [], []
        self._average = 0.0
        self._best = math.inf

    def on_epoch_begin(self, epoch, logs=None):
        self._batch_in_epoch = 0
        self._previous_mean = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._lr = self.learning_rate_at(len(self.lrs))
        self.model.optimizer.learning_rate = self._lr

    def on_train_batch_end(self, batch, logs=None):
        mean = float((logs or {})["loss"])
        self._batch_in_epoch += 1
        b = self._batch_in_epoch
        loss = b * mean - (b - 1) * self._previous_mean
        self._previous_mean = mean
        step = len(self.lrs)
        if not math.isfinite(loss):
            smoothed = math.nan
        else:
            self._average = (
                self.smoothing * self._average + (1 - self.smoothing) * loss
            )
            smoothed = self._average / (1 - self.smoothing ** (step + 1))
        self.lrs.append(self._lr)
        self.losses.append(loss)
        self.smoothed_losses.append(smoothed)
        if not math.isfinite(smoothed):
            self.model.stop_training = True
            return
        self._best = min(self._best, smoothed)
        diverged = smoothed > self.divergence_threshold * self._best
        if diverged or len(self.lrs) >= self.steps:
            self.model.stop_training = True


def auto_smoothing(steps, fraction=0.1):
    """The moving-average factor `smoothing="auto"` uses for `steps`.

    `beta = 1 - 2 / (w + 1)` with the window `w = max(1, fraction *
    steps)`: the average of span `w`, whose lag `beta / (1 - beta) =
    (w - 1) / 2` batches is at most half of `fraction` of the sweep.

    Args:
        steps: int >= 1, the number of batches of the sweep.
        fraction: float in (0, 1], the window as a fraction of the sweep.
            Default: 0.1.

    Returns:
        float in [0, 1).
    """
    steps = v.check_positive_int("steps", steps)
    fraction = v.check_in_range(
        "fraction", fraction, 0.0, 1.0, low_closed=False
    )
    window = max(1.0, fraction * steps)
    return 1.0 - 2.0 / (window + 1.0)


def _check_model(model):
    steps_per_execution = getattr(model, "steps_per_execution", 1)
    if steps_per_execution != 1:
        raise ValueError(
            "The LR range test needs a callback after every batch, but the "
            f"model is compiled with `steps_per_execution="
            f"{steps_per_execution}`, so Keras calls callbacks only every "
            "that many batches. Use `lr_range_test`, which runs the test "
            "one batch per execution and puts the setting back, or compile "
            "with `steps_per_execution=1`. Received: "
            f"steps_per_execution={steps_per_execution}"
        )
    check_learning_rate(model)


def check_learning_rate(model):
    """Raise unless the optimizer of `model` has a float learning rate,
    which the test can set batch by batch (a schedule would overrule it)."""
    learning_rate = stored_learning_rate(model.optimizer)
    if isinstance(
        learning_rate, keras.optimizers.schedules.LearningRateSchedule
    ):
        raise ValueError(
            "The LR range test sets the learning rate itself, so the "
            "optimizer must be created with a float `learning_rate`, not a "
            f"`LearningRateSchedule`. Received: learning_rate={learning_rate!r}"
        )
