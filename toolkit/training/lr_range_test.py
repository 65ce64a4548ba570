"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates for
Training Neural Networks", section 3.3).

Train for a few batches while the learning rate grows from `min_lr` to
`max_lr`; the loss first stays flat, then falls, then blows up. A good
learning rate lies where the loss falls fastest, well before it blows up.
"""

import contextlib
import math

import keras
import numpy as np

from toolkit import validation as v
from toolkit.training.lr_suggestions import (
    _warn_if_edge_not_seen,
    suggest_learning_rates,
)


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
        lrs, losses, smoothed_losses: lists, one entry per recorded batch.

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
        self.min_lr = _check_positive_float("min_lr", min_lr)
        self.max_lr = _check_positive_float("max_lr", max_lr)
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
        self.divergence_threshold = _check_positive_float(
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


class LRRangeTestResult:
    """What `lr_range_test` found: the curve, suggestions and a plot.

    Attributes:
        history: `pandas.DataFrame` with columns `lr`, `loss` (the loss of
            each batch) and `smoothed_loss`, one row per batch.
        suggestions: dict from rule name to learning rate:
            - `"minimum_tenth"` (the default): a tenth of the learning
              rate at the smoothed loss's minimum, the edge past which
              the loss blows up;
            - `"steepest"`: where the smoothed loss falls fastest against
              `log(lr)` (Smith 2015);
            - `"valley"`: the middle, in `log(lr)`, of the descent that
              ends at the smoothed loss's minimum.
            See `suggest_learning_rates` for the exact definitions.
        suggestion: the learning rate of the rule `rule` (default
            `"minimum_tenth"`).
        steps: number of batches the test trained on.

    A `UserWarning` says when the curve's minimum is its last point (the
    sweep ended before the loss turned up or went NaN: every suggestion
    is then a lower bound, raise `max_lr`) or its first (the loss only
    rose: lower `min_lr`).
    """

    RULES = ("minimum_tenth", "steepest", "valley")

    def __init__(self, lrs, losses, smoothed_losses, rule="minimum_tenth"):
        import pandas as pd

        self.rule = v.check_choice("rule", rule, set(self.RULES))
        self.history = pd.DataFrame(
            {"lr": lrs, "loss": losses, "smoothed_loss": smoothed_losses}
        )
        self.steps = len(lrs)
        self.suggestions = suggest_learning_rates(lrs, smoothed_losses)
        _warn_if_edge_not_seen(lrs, smoothed_losses)

    @property
    def suggestion(self):
        return self.suggestions[self.rule]

    def __repr__(self):
        found = ", ".join(
            f"{name}={value:.3g}" for name, value in self.suggestions.items()
        )
        return f"<LRRangeTestResult steps={self.steps} {found}>"

    def plot(self, ax=None, path=None, title=None):
        """Smoothed loss (and the raw loss, faint) against the learning rate
        on a log axis, with a marker at each suggestion.

        Args:
            ax: a matplotlib `Axes`, or None for a new figure.
            path: str or None, save the figure there (e.g. a `.png`).
            title: str or None, the axes title.

        Returns:
            The matplotlib `Axes`.
        """
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        data = self.history
        ax.plot(data["lr"], data["loss"], color="0.8", lw=1, label="loss")
        ax.plot(
            data["lr"],
            data["smoothed_loss"],
            color="C0",
            lw=2,
            label="smoothed loss",
        )
        finite = data["smoothed_loss"][np.isfinite(data["smoothed_loss"])]
        markers = {"minimum_tenth": "^", "steepest": "o", "valley": "s"}
        for index, (name, lr) in enumerate(self.suggestions.items()):
            position = int(np.argmin(np.abs(np.log(data["lr"]) - np.log(lr))))
            ax.plot(
                lr,
                data["smoothed_loss"][position],
                markers[name],
                color=f"C{index + 1}",
                ms=8,
                label=f"{name}: {lr:.2g}",
            )
        ax.set_xscale("log")
        if len(finite):
            # Show the descent, not the whole blow-up after it.
            lowest = int(np.argmin(finite.to_numpy()))
            raw = data["loss"].iloc[: lowest + 1]
            low = min(finite.min(), raw[np.isfinite(raw)].min())
            high = finite.iloc[: lowest + 1].max()
            span = max(high - low, 1e-12)
            ax.set_ylim(low - 0.1 * span, high + 0.5 * span)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.set_title(title or "LR range test")
        ax.legend()
        if path is not None:
            ax.figure.savefig(path, dpi=120, bbox_inches="tight")
        return ax


def lr_range_test(
    model,
    x,
    y=None,
    batch_size=None,
    min_lr=1e-7,
    max_lr=10.0,
    steps=100,
    mode="exponential",
    smoothing="auto",
    divergence_threshold=4.0,
    rule="minimum_tenth",
    verbose=0,
):
    """Run the LR range test on a compiled model and put it back as it was.

    Trains `model` for at most `steps` batches while the learning rate
    sweeps from `min_lr` to `max_lr` (see `LRRangeTest` for the equations
    and the stopping rule), then restores every model variable (weights,
    non-trainable statistics, random-seed states), every optimizer variable
    (slots, `iterations`) and the learning rate to their values before the
    test. Slots the optimizer created during the test are zeroed, which is
    the state of a fresh optimizer.

    Args:
        model: a compiled `keras.Model` whose optimizer has a float learning
            rate. A model compiled with `steps_per_execution=N > 1` (whose
            callbacks Keras calls only every N batches) runs the test one
            batch per execution; its setting and compiled train function
            are put back afterwards.
        x: NumPy array(s) (with `y`) or a `tf.data.Dataset` of batches
            (without `y`). A dataset is repeated as needed.
        y: targets for NumPy `x`, else None.
        batch_size: int for NumPy data (default 32); must be None for a
            dataset. NumPy data are cut to whole batches so every recorded
            loss is exact. A batch smaller than the training batch gives
            more steps from the same data, which a test of one epoch
            needs to resolve the curve; on the UCI digits (batch 8 for
            training at 32) the suggestion transferred as found, and
            rescaling it linearly by the batch ratio did worse in four
            of six cases (`bench/lr_finder_digits.py`).
        min_lr, max_lr, steps, mode, smoothing, divergence_threshold: see
            `LRRangeTest`.
        rule: the suggestion returned as `result.suggestion`:
            `"minimum_tenth"`, `"steepest"` or `"valley"` (see
            `suggest_learning_rates`). Default: `"minimum_tenth"`.
        verbose: passed to `fit`. Default: 0.

    Returns:
        An `LRRangeTestResult`.

    Example:

    ```python
    from toolkit.training import lr_range_test

    result = lr_range_test(model, x, y, batch_size=64, steps=50,
                           min_lr=1e-5, max_lr=1.0)
    print(result.suggestions)
    result.plot(path="lr_range_test.png")
    model.optimizer.learning_rate = result.suggestion
    ```

    Reference:
        L. N. Smith, "Cyclical Learning Rates for Training Neural Networks",
        WACV 2017 (arXiv:1506.01186, 2015), section 3.3.
    """
    v.check_choice("rule", rule, set(LRRangeTestResult.RULES))
    if getattr(model, "optimizer", None) is None:
        raise ValueError(
            "Argument `model` must be compiled (it needs an optimizer and a "
            "loss) before the LR range test. Received: an uncompiled model "
            f"{model.name!r}"
        )
    finder = LRRangeTest(
        min_lr=min_lr,
        max_lr=max_lr,
        steps=steps,
        mode=mode,
        smoothing=smoothing,
        divergence_threshold=divergence_threshold,
    )
    _check_learning_rate(model)
    fit_kwargs = _fit_arguments(x, y, batch_size, finder.steps)
    snapshot = _Snapshot(model)
    try:
        with _one_batch_per_execution(model):
            model.fit(callbacks=[finder], verbose=verbose, **fit_kwargs)
    finally:
        snapshot.restore()
    return LRRangeTestResult(
        finder.lrs, finder.losses, finder.smoothed_losses, rule=rule
    )


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
    _check_learning_rate(model)


def _check_learning_rate(model):
    learning_rate = getattr(model.optimizer, "_learning_rate", None)
    if isinstance(
        learning_rate, keras.optimizers.schedules.LearningRateSchedule
    ):
        raise ValueError(
            "The LR range test sets the learning rate itself, so the "
            "optimizer must be created with a float `learning_rate`, not a "
            f"`LearningRateSchedule`. Received: learning_rate={learning_rate!r}"
        )


@contextlib.contextmanager
def _one_batch_per_execution(model):
    """`model` trains one batch per execution inside the block, so the
    callback sees every batch's loss; its `steps_per_execution` and its
    compiled train function (built for that many batches) come back
    afterwards."""
    steps_per_execution = model.steps_per_execution
    if steps_per_execution == 1:  # keep the train function `fit` compiles
        yield
        return
    train_function = model.train_function
    model.steps_per_execution = 1
    model.train_function = None
    try:
        yield
    finally:
        model.steps_per_execution = steps_per_execution
        model.train_function = train_function


def _fit_arguments(x, y, batch_size, steps):
    if _is_dataset(x):
        if y is not None or batch_size is not None:
            raise ValueError(
                "With a `tf.data.Dataset`, pass neither `y` nor "
                "`batch_size` (the dataset yields batches). Received: "
                f"y={type(y).__name__}, batch_size={batch_size!r}"
            )
        return {
            "x": x.repeat(),
            "steps_per_epoch": steps,
            "epochs": 1,
            "shuffle": False,
        }
    batch_size = v.check_positive_int(
        "batch_size", 32 if batch_size is None else batch_size
    )
    n = len(x[0] if isinstance(x, (list, tuple)) else x)
    batches = n // batch_size
    if batches == 0:
        raise ValueError(
            f"Argument `batch_size` must not exceed the number of samples "
            f"({n}). Received: batch_size={batch_size}"
        )
    whole = batches * batch_size

    def cut(value):
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            return type(value)(cut(item) for item in value)
        if isinstance(value, dict):
            return {key: cut(item) for key, item in value.items()}
        return value[:whole]

    return {
        "x": cut(x),
        "y": cut(y),
        "batch_size": batch_size,
        "epochs": math.ceil(steps / batches),
        "shuffle": True,
    }


def _is_dataset(x):
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return isinstance(x, tf.data.Dataset)


class _Snapshot:
    """Every model and optimizer variable's value, to put back later."""

    def __init__(self, model):
        self.model = model
        self.optimizer = model.optimizer
        self.model_values = [
            (variable, np.array(variable.numpy()))
            for variable in model.variables
        ]
        self.optimizer_variables = {
            id(variable) for variable in self.optimizer.variables
        }
        self.optimizer_values = [
            (variable, np.array(variable.numpy()))
            for variable in self.optimizer.variables
        ]
        self.learning_rate = float(self.optimizer.learning_rate.numpy())

    def restore(self):
        for variable, value in self.model_values:
            variable.assign(value)
        for variable in self.optimizer.variables:
            if id(variable) not in self.optimizer_variables:
                variable.assign(np.zeros(variable.shape, variable.dtype))
        for variable, value in self.optimizer_values:
            variable.assign(value)
        self.optimizer.learning_rate = self.learning_rate
        self.model.stop_training = False


def _check_positive_float(name, value):
    return v.check_in_range(
        name, value, 0.0, math.inf, low_closed=False, high_closed=False
    )


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib: `pip install matplotlib` (or "
            "`pip install curriculum-toolkit[plot]`)."
        ) from error
    return plt
