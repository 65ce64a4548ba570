"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates for
Training Neural Networks", section 3.3).

Train for a few batches while the learning rate grows from `min_lr` to
`max_lr`; the loss first stays flat, then falls, then blows up. A good
learning rate lies where the loss falls fastest, well before it blows up.
"""

import contextlib
import math

import numpy as np

from toolkit import validation as v
from toolkit._keras_compat import set_steps_per_execution
from toolkit.data.checks import check_data
from toolkit.training.lr_range_callback import LRRangeTest, check_learning_rate
from toolkit.training.lr_suggestions import (
    _warn_if_edge_not_seen,
    suggest_learning_rates,
)


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
        plt = v.require_pyplot()
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
            needs to resolve the curve; use the suggestion as found, not
            rescaled by the batch ratio (`bench/lr_finder_digits.py`).
        min_lr: float > 0, first learning rate (see `LRRangeTest`).
            Default: 1e-7.
        max_lr: float > `min_lr`, last learning rate. Default: 10.
        steps: int >= 2, number of batches of the sweep. Default: 100.
        mode: `"exponential"` or `"linear"`. Default: `"exponential"`.
        smoothing: `"auto"` or a float in [0, 1), the moving-average
            factor of the loss (see `LRRangeTest`). Default: `"auto"`.
        divergence_threshold: float > 1, stop when the smoothed loss passes
            this multiple of its minimum. Default: 4.
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
    check_learning_rate(model)
    check_data(x if y is None else (x, y), "x")
    fit_kwargs = _range_test_fit_arguments(x, y, batch_size, finder.steps)
    snapshot = _Snapshot(model)
    try:
        with _one_batch_per_execution(model):
            model.fit(callbacks=[finder], verbose=verbose, **fit_kwargs)
    finally:
        snapshot.restore()
    return LRRangeTestResult(
        finder.lrs, finder.losses, finder.smoothed_losses, rule=rule
    )


@contextlib.contextmanager
def _one_batch_per_execution(model):
    """`model` trains one batch per execution inside the block, so the
    callback sees every batch's loss; its `steps_per_execution` and its
    compiled train function (built for that many batches) come back
    afterwards."""
    if model.steps_per_execution == 1:  # keep the function `fit` compiles
        yield
        return
    previous = set_steps_per_execution(model, 1)
    try:
        yield
    finally:
        set_steps_per_execution(model, *previous)


def _range_test_fit_arguments(x, y, batch_size, steps):
    if v.is_dataset(x):
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
