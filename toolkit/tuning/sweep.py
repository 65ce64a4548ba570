"""The sweep runner: a keras-tuner search that leaves a table behind.

keras-tuner searches; this module adds what it lacks. Every trial writes a
record (`<directory>/<project_name>/records/trial_<id>.json`): its
hyperparameters, every metric at every epoch, its status, start and end
times and, if it raised, the error. `sweep` returns them as a pandas
DataFrame and writes `trials.csv` next to them after every trial, so a
sweep cut short still leaves its table. Run again with the same
`directory` and `project_name`, keras-tuner reloads its oracle: finished
trials are kept, the trial that was running is run again (its record is
overwritten, never duplicated), and the search goes on to `max_trials`.
"""

import datetime
import json
import math
import numbers
import os
import pathlib
import time
import traceback
import zlib

import keras
import keras_tuner
import numpy as np

from toolkit import validation as v
from toolkit.tuning.hypermodel import RecipeHyperModel

TUNERS = {
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
}

#: Values of the `status` column.
STATUSES = ("completed", "stopped_early", "failed", "running")

RECORDS = "records"
CSV_NAME = "trials.csv"


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
                record = _read(self.record_path)
                record["stopped_at_epoch"] = epoch + 1
                _write(self.record_path, record)


class _EpochRecorder(keras.callbacks.Callback):
    """Appends every epoch's logs to the trial's record file."""

    def __init__(self, record_path):
        super().__init__()
        self.record_path = record_path

    def on_epoch_end(self, epoch, logs=None):
        record = _read(self.record_path)
        history = record.setdefault("history", {})
        for name, value in (logs or {}).items():
            history.setdefault(name, []).append(_number(value))
        record["epochs"] = len(next(iter(history.values()), []))
        _write(self.record_path, record)


def _recording_tuner(base, settings):
    """A subclass of the keras-tuner class `base` whose trials are recorded
    (and median-stopped, and announced on the terminal)."""

    class RecordingTuner(base):
        def run_trial(self, trial, *args, **kwargs):
            records = pathlib.Path(self.project_dir) / RECORDS
            records.mkdir(parents=True, exist_ok=True)
            path = str(records / f"trial_{trial.trial_id}.json")
            started = time.time()
            _write(
                path,
                {
                    "trial_id": trial.trial_id,
                    "tuner_id": self.tuner_id,
                    "hyperparameters": _active_values(trial.hyperparameters),
                    "status": "running",
                    "start": _timestamp(started),
                    "history": {},
                    "epochs": 0,
                },
            )
            callbacks = list(kwargs.pop("callbacks", None) or [])
            callbacks.append(_EpochRecorder(path))
            median = settings["median_stopping"]
            if median:
                curves = [
                    record["history"].get(settings["objective"], [])
                    for record in load_records(self.project_dir)
                    if record["status"] in ("completed", "stopped_early")
                ]
                callbacks.append(
                    MedianStopping(
                        settings["objective"],
                        settings["direction"],
                        curves,
                        record_path=path,
                        **median,
                    )
                )
            if settings["seed"] is not None:
                # The model's initial weights, dropout masks and batch
                # order: the same for a trial however often and wherever
                # (resumed, distributed worker) it runs.
                keras.utils.set_random_seed(
                    trial_seed(settings["seed"], trial.trial_id)
                )
            try:
                result = super().run_trial(
                    trial, *args, callbacks=callbacks, **kwargs
                )
            except Exception as error:
                self._finish(path, started, "failed", error)
                raise
            record = _read(path)
            status = (
                "stopped_early"
                if record.get("stopped_at_epoch")
                else "completed"
            )
            self._finish(path, started, status)
            return result

        def _finish(self, path, started, status, error=None):
            record = _read(path)
            ended = time.time()
            record.update(
                status=status,
                end=_timestamp(ended),
                duration_s=round(ended - started, 3),
            )
            if error is not None:
                record["error"] = "".join(
                    traceback.format_exception_only(type(error), error)
                ).strip()
                record["traceback"] = traceback.format_exc()
            _write(path, record)
            write_csv(self.project_dir)
            if settings["verbose"]:
                _announce(record, settings["objective"])

    RecordingTuner.__name__ = f"Recording{base.__name__}"
    return RecordingTuner


def sweep(
    builder,
    data,
    space=(),
    tuner="random",
    max_trials=10,
    directory="sweeps",
    project_name="sweep",
    objective="val_loss",
    epochs=10,
    batch_size=32,
    validation_data=None,
    validation_split=None,
    fixed=None,
    early_stopping=None,
    median_stopping=None,
    callbacks=None,
    seed=None,
    max_consecutive_failed_trials=5,
    overwrite=False,
    verbose=1,
    tuner_options=None,
):
    """Search hyperparameters with keras-tuner; return every trial as a
    pandas DataFrame (also written to `trials.csv`).

    Args:
        builder: a recipe builder (`hp`-free function returning a compiled
            model) or a `keras_tuner.HyperModel`.
        data: `(x, y)` NumPy arrays or a `tf.data.Dataset` of batches.
        space: a search-space function `hp -> dict` or a list of them (see
            `toolkit.tuning.search_spaces`), ignored for a HyperModel.
        tuner: `"random"`, `"bayesian"` or `"hyperband"`. Default:
            `"random"`. `"bayesian"` (keras-tuner's Gaussian process)
            needs scikit-learn: `pip install "curriculum-toolkit[bayesian]"`.
        max_trials: int, the number of trials (random, bayesian; Hyperband
            sets its own from `epochs`). Default: 10.
        directory: str, where keras-tuner and the records live.
            Default: `"sweeps"`.
        project_name: str, sub-folder of `directory`. Default: `"sweep"`.
        objective: str, the metric to optimize, e.g. `"val_loss"`;
            direction inferred by keras-tuner (`"max"` for accuracy-like).
        epochs: int, epochs per trial (Hyperband's `max_epochs`).
        batch_size: int, for NumPy data. Default: 32.
        validation_data: `(x_val, y_val)` or a dataset, or None.
        validation_split: float or None, for NumPy data without
            `validation_data`.
        fixed: dict of builder arguments that are not tuned.
        early_stopping: int or None, the patience of Keras's
            `EarlyStopping` on `objective` (best weights restored).
        median_stopping: None, True (defaults) or a dict with `min_trials`
            and `grace_epochs` for `MedianStopping`.
        callbacks: more Keras callbacks for every trial.
        seed: int or None. The tuner's seed, and the training's: before
            trial `i` is built and trained, `keras.utils.set_random_seed`
            is called with `seed + i`, so a trial's initial weights,
            dropout and batch order are reproduced too (one thread or a
            deterministic backend for identical losses). Default: None.
        max_consecutive_failed_trials: int, keras-tuner stops the search
            after this many failed trials in a row. Default: 5.
        overwrite: bool, start afresh instead of resuming. Default: False.
        verbose: 0 (quiet) or 1 (one line per trial). Default: 1.
        tuner_options: dict of more keras-tuner tuner arguments.

    Returns:
        A pandas DataFrame with one row per trial (see `trials_frame`).

    Example:

    ```python
    from recipes import build_mlp_classifier
    from toolkit.data import digits_split
    from toolkit.tuning import learning_rate_space, dropout_space, sweep

    (x, y), validation = digits_split(0.25, seed=0)
    frame = sweep(build_mlp_classifier, (x, y),
                  [learning_rate_space, dropout_space],
                  validation_data=validation, max_trials=8, epochs=5,
                  directory="sweeps", project_name="digits_mlp")
    print(frame.sort_values("best_val_loss").head())
    ```
    """
    tuner_class = TUNERS[v.check_choice("tuner", tuner, set(TUNERS))]
    if tuner == "bayesian":
        _require_scikit_learn()
    max_trials = v.check_positive_int("max_trials", max_trials)
    epochs = v.check_positive_int("epochs", epochs)
    if isinstance(builder, keras_tuner.HyperModel):
        hypermodel = builder
    else:
        hypermodel = RecipeHyperModel(builder, space, fixed=fixed)
    fit_kwargs = _fit_arguments(
        data, batch_size, validation_data, validation_split, epochs
    )
    if median_stopping is True:
        median_stopping = {}
    if median_stopping is not None and not isinstance(median_stopping, dict):
        raise ValueError(
            "Argument `median_stopping` must be None, True or a dict with "
            "`min_trials` and `grace_epochs`. Received: "
            f"median_stopping={median_stopping!r}"
        )
    keras_objective = keras_tuner.Objective(objective, _direction(objective))
    settings = {
        "objective": objective,
        "direction": keras_objective.direction,
        "median_stopping": median_stopping,
        "verbose": verbose,
        "seed": _check_seed(seed),
    }
    options = dict(
        objective=keras_objective,
        directory=directory,
        project_name=project_name,
        seed=seed,
        overwrite=overwrite,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
    )
    if tuner == "hyperband":
        options["max_epochs"] = epochs
        fit_kwargs.pop("epochs")
    else:
        options["max_trials"] = max_trials
    options.update(tuner_options or {})
    search = _recording_tuner(tuner_class, settings)(hypermodel, **options)
    oracle = search.oracle
    if seed == 0 and isinstance(oracle, keras_tuner.Oracle):
        # keras-tuner reads a seed of 0 as none (`seed or randint(...)`), so
        # a fresh sweep gives its oracle 0 itself; a resumed one keeps the
        # state it saved, and a distributed worker's oracle is the chief's.
        if not oracle.trials:
            oracle.seed = oracle._seed_state = 0
    trial_callbacks = list(callbacks or [])
    if early_stopping is not None:
        trial_callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=objective,
                mode=keras_objective.direction,
                patience=v.check_positive_int("early_stopping", early_stopping),
                restore_best_weights=True,
            )
        )
    try:
        search.search(callbacks=trial_callbacks, verbose=0, **fit_kwargs)
    finally:
        frame = write_csv(search.project_dir)
    return frame


def _check_seed(seed):
    if seed is not None and (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or seed < 0
    ):
        raise ValueError(
            "Argument `seed` must be None or an int >= 0. "
            f"Received: seed={seed!r}"
        )
    return None if seed is None else int(seed)


def trial_seed(seed, trial_id):
    """The training seed of trial `trial_id` (keras-tuner's `"00"`,
    `"01"`, ..., or any string) in a sweep seeded with `seed`."""
    if str(trial_id).isdigit():
        return (seed + int(trial_id)) % 2**32
    return (seed + zlib.crc32(str(trial_id).encode())) % 2**32


def load_records(project_dir):
    """Every trial record under `project_dir`, sorted by trial id."""
    folder = pathlib.Path(project_dir) / RECORDS
    if not folder.is_dir():
        return []
    return [_read(path) for path in sorted(folder.glob("trial_*.json"))]


def trials_frame(project_dir):
    """The DataFrame of a sweep's records (what `sweep` returns).

    Columns: `trial_id`, `status` (`"completed"`, `"stopped_early"`,
    `"failed"` or `"running"` for a trial cut short and not yet resumed),
    `start`, `end` (ISO times, UTC), `duration_s`, `epochs`, `tuner_id`,
    one column per hyperparameter, `<metric>_epoch_<k>` for every metric
    and epoch (1-based), `best_<metric>` (minimum of losses and errors,
    maximum of other metrics), and `error` for failed trials.

    Args:
        project_dir: str, `<directory>/<project_name>` of the sweep.

    Returns:
        A pandas DataFrame, one row per trial.
    """
    import pandas as pd

    rows = []
    for record in load_records(project_dir):
        row = {
            "trial_id": record["trial_id"],
            "status": record["status"],
            "start": record.get("start"),
            "end": record.get("end"),
            "duration_s": record.get("duration_s"),
            "epochs": record.get("epochs", 0),
            "tuner_id": record.get("tuner_id"),
        }
        row.update(record["hyperparameters"])
        for name, values in record.get("history", {}).items():
            for epoch, value in enumerate(values, start=1):
                row[f"{name}_epoch_{epoch}"] = value
            finite = [x for x in values if x is not None and math.isfinite(x)]
            if finite:
                best = min if _direction(name) == "min" else max
                row[f"best_{name}"] = best(finite)
        row["error"] = record.get("error")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        best = sorted(c for c in frame.columns if c.startswith("best_"))
        epochs = sorted(
            (c for c in frame.columns if "_epoch_" in c),
            key=lambda c: (
                c.rsplit("_epoch_", 1)[0],
                int(c.rsplit("_epoch_", 1)[1]),
            ),
        )
        first = [
            "trial_id",
            "status",
            "start",
            "end",
            "duration_s",
            "epochs",
            "tuner_id",
        ]
        rest = [
            c
            for c in frame.columns
            if c not in first + best + epochs + ["error"]
        ]
        frame = frame[first + rest + best + epochs + ["error"]]
    return frame


def write_csv(project_dir):
    """Write `trials_frame(project_dir)` to `<project_dir>/trials.csv`."""
    frame = trials_frame(project_dir)
    path = pathlib.Path(project_dir) / CSV_NAME
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    frame.to_csv(temporary, index=False)
    os.replace(temporary, path)
    frame.attrs["csv"] = str(path)
    return frame


def _fit_arguments(data, batch_size, validation_data, validation_split, epochs):
    kwargs = {"epochs": epochs}
    if _is_dataset(data):
        kwargs["x"] = data
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        kwargs["x"], kwargs["y"] = data
        kwargs["batch_size"] = v.check_positive_int("batch_size", batch_size)
    else:
        raise ValueError(
            "Argument `data` must be `(x, y)` or a `tf.data.Dataset`. "
            f"Received: data of type {type(data).__name__}"
        )
    if validation_data is not None:
        kwargs["validation_data"] = validation_data
    elif validation_split is not None:
        if "y" not in kwargs:
            raise ValueError(
                "Argument `validation_split` needs NumPy `(x, y)` data; "
                "pass `validation_data` with a dataset. Received: "
                f"validation_split={validation_split!r}"
            )
        kwargs["validation_split"] = v.check_in_range(
            "validation_split",
            validation_split,
            0.0,
            1.0,
            low_closed=False,
            high_closed=False,
        )
    return kwargs


def _require_scikit_learn():
    try:
        import sklearn  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "keras-tuner's Bayesian optimization needs scikit-learn: "
            '`pip install "curriculum-toolkit[bayesian]"` (or `pip '
            "install scikit-learn`)."
        ) from error


def _direction(metric):
    name = metric.lower()
    if any(word in name for word in ("loss", "error", "mse", "mae")):
        return "min"
    return "max"


def _is_dataset(value):
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return isinstance(value, tf.data.Dataset)


def _active_values(hyperparameters):
    return {
        hp.name: hyperparameters.values[hp.name]
        for hp in hyperparameters.space
        if hyperparameters.is_active(hp) and hp.name in hyperparameters.values
    } | {
        name: value
        for name, value in hyperparameters.values.items()
        if name.startswith("tuner/")
    }


def _announce(record, objective):
    best = record.get("history", {}).get(objective, [])
    finite = [x for x in best if x is not None and math.isfinite(x)]
    found = ""
    if finite:
        pick = min if _direction(objective) == "min" else max
        found = f" best {objective}={pick(finite):.4g}"
    values = ", ".join(
        f"{k}={_short(value)}"
        for k, value in record["hyperparameters"].items()
        if not k.startswith("tuner/")
    )
    error = (
        f" ({record['error'].splitlines()[-1]})" if record.get("error") else ""
    )
    print(
        f"trial {record['trial_id']} {record['status']} after "
        f"{record.get('epochs', 0)} epochs in "
        f"{record.get('duration_s', 0):.1f}s:{found}{error}  [{values}]",
        flush=True,
    )


def _short(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _number(value):
    value = float(np.asarray(value))
    return value if math.isfinite(value) else None


def _timestamp(seconds):
    return datetime.datetime.fromtimestamp(
        seconds, tz=datetime.timezone.utc
    ).isoformat(timespec="seconds")


def _read(path):
    with open(path) as handle:
        return json.load(handle)


def _write(path, record):
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as handle:
        json.dump(record, handle, indent=1)
    os.replace(temporary, path)
