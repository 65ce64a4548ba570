"""The median stopping rule for a sweep's trials (Golovin et al. 2017)."""

import math

import keras
import numpy as np

from toolkit import validation as v
from toolkit.tuning.records import read_record, write_record


class MedianStopping(keras.callbacks.Callback):
    """The median stopping rule (Golovin et al. 2017, Google Vizier).

    At the end of epoch `k`, the trial stops if its best objective so far
    is worse than the median, over the finished trials that reached epoch
    `k`, of their objective's running average up to epoch `k`:

    ```
    stop if  best_{j<=k} o_j  is worse than
             median_i ( mean_{j<=k} o^(i)_j )
    ```

    It needs `min_trials` finished trials and lets every trial run
    `grace_epochs` epochs first. A stopped trial is not a failure: it ends
    as a completed keras-tuner trial with the metrics it reached, and the
    sweep marks it `"stopped_early"`.

    Args:
        objective: str, the metric to watch (e.g. `"val_loss"`).
        direction: `"min"` or `"max"`.
        curves: list of lists, the objective per epoch of the finished
            trials.
        min_trials: int, finished trials needed before stopping anything.
            Default: 3.
        grace_epochs: int, epochs every trial runs. Default: 1.
        record_path: str or None, the trial record to mark when stopping.

    Reference:
        D. Golovin et al., "Google Vizier: A Service for Black-Box
        Optimization", KDD 2017, section 3.2.1.
    """

    def __init__(
        self,
        objective,
        direction,
        curves,
        min_trials=3,
        grace_epochs=1,
        record_path=None,
    ):
        super().__init__()
        self.objective = objective
        self.direction = v.check_choice("direction", direction, {"min", "max"})
        self.curves = [
            [math.nan if value is None else float(value) for value in curve]
            for curve in curves
        ]
        self.min_trials = v.check_positive_int("min_trials", min_trials)
        self.grace_epochs = v.check_positive_int("grace_epochs", grace_epochs)
        self.record_path = record_path
        self.stopped_epoch = None

    def should_stop(self, values):
        """Whether a trial with objective `values` (per epoch) stops now."""
        epoch = len(values)
        if epoch < self.grace_epochs:
            return False
        averages = [
            float(np.nanmean(curve[:epoch]))
            for curve in self.curves
            if len(curve) >= epoch and np.isfinite(curve[:epoch]).any()
        ]
        if len(averages) < self.min_trials:
            return False
        median = float(np.median(averages))
        finite = [value for value in values if math.isfinite(value)]
        if not finite:
            return True
        if self.direction == "min":
            return min(finite) > median
        return max(finite) < median

    def on_train_begin(self, logs=None):
        self._values = []

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.objective)
        if value is None:
            return
        self._values.append(float(value))
        if self.should_stop(self._values):
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
            if self.record_path is not None:
                record = read_record(self.record_path)
                record["stopped_at_epoch"] = epoch + 1
                write_record(self.record_path, record)
