"""The sweep runner: a keras-tuner search that leaves a table behind.

keras-tuner searches; this module adds what it lacks. Every trial writes a
record (see `toolkit.tuning.records`): its hyperparameters, every metric
at every epoch, its status, start and end times and, if it raised, the
error. `sweep` returns them as a pandas DataFrame and writes `trials.csv`
next to them after every trial, so a sweep cut short still leaves its
table. Run again with the same `directory` and `project_name`,
keras-tuner reloads its oracle: finished trials are kept, the trial that
was running is run again (its record is overwritten, never duplicated),
and the search goes on to `max_trials`.

Under faults: every file is written whole or not at all (a temporary
file renamed into place); a trial is marked ended only once keras-tuner's
oracle has saved it so, so a kill never reruns a finished trial; a lock
file beside the project folder keeps a second sweep out; a NaN loss fails
its trial (Keras's `TerminateOnNaN`); a file that cannot be written stops
the sweep with a `records.WriteError` naming it.
"""

import pathlib
import time
import traceback
import zlib

import keras
import keras_tuner

from toolkit import validation as v
from toolkit._keras_compat import set_oracle_seed
from toolkit.data.checks import check_data
from toolkit.tuning import distributed, records
from toolkit.tuning.hypermodel import RecipeHyperModel
from toolkit.tuning.median_stopping import MedianStopping


class SweepTuner(keras_tuner.Tuner):
    """A keras-tuner `Tuner` whose trials leave records, may be stopped by
    the median rule and are seeded one by one.

    It works through keras-tuner's hooks: `on_trial_begin` writes the
    trial's record (status `"running"`), `run_trial` adds `MedianStopping`,
    seeds the training and marks the record `"completed"`,
    `"stopped_early"` or `"failed"` (`on_trial_end` sets it, and rewrites
    `trials.csv`, once keras-tuner's oracle has saved the trial as
    ended), and its `EpochRecord` callback appends each epoch's metrics to
    the record. A `run_trial` of one's own further down the classes
    (`ESNTuner`'s) that returns its metrics, a dict or one per execution
    or reservoir draw, has them all in the record (`draws`).

    On its own it takes any oracle, e.g.
    `SweepTuner(hypermodel, oracle=keras_tuner.oracles.RandomSearchOracle(
    "val_loss", max_trials=5))`. `sweep` uses it mixed with keras-tuner's
    tuner of the chosen algorithm (`TUNERS`), which builds that
    algorithm's oracle and keeps its own hooks (Hyperband's epochs per
    round and warm starts from the previous round's weights).

    Args:
        hypermodel: a `keras_tuner.HyperModel`.
        median_stopping: None, True (its defaults) or a dict with
            `min_trials` and `grace_epochs` for `MedianStopping` on the
            oracle's objective. Default: None.
        training_seed: int or None. Before trial `i` is built and trained,
            `keras.utils.set_random_seed(trial_seed(training_seed, i))`.
            Default: None (not seeded).
        verbose: 0 (quiet) or 1 (one line per finished trial). Default: 1.
        **kwargs: the arguments of the keras-tuner tuner (`oracle`,
            `directory`, `project_name`, `overwrite`, ...).
    """

    def __init__(
        self,
        hypermodel=None,
        median_stopping=None,
        training_seed=None,
        verbose=1,
        **kwargs,
    ):
        if median_stopping is True:
            median_stopping = {}
        if median_stopping is not None and not isinstance(
            median_stopping, dict
        ):
            raise ValueError(
                "Argument `median_stopping` must be None, True or a dict "
                "with `min_trials` and `grace_epochs`. Received: "
                f"median_stopping={median_stopping!r}"
            )
        self.median_stopping = median_stopping
        self.training_seed = v.check_seed(training_seed)
        self.verbose = verbose
        super().__init__(hypermodel=hypermodel, **kwargs)
        if not distributed.is_worker():
            self._conclude_ended_trials()
        if distributed.is_worker():
            # A worker stops, not fails, once its chief has ended.
            self.oracle = distributed.WorkerOracle(
                self.oracle, self.project_dir, self.tuner_id
            )

    def search(self, *fit_args, **fit_kwargs):
        chief = distributed.is_chief()
        if chief:
            distributed.clear_chief_ended(self.project_dir)
        super().search(*fit_args, **fit_kwargs)
        if chief:
            # Workers that find the chief gone read this and stop.
            distributed.mark_chief_ended(
                self.project_dir,
                len(self.oracle.trials),
                self.oracle.max_trials,
            )

    def record_path(self, trial_id):
        """The record file of trial `trial_id`."""
        return records.record_path(self.project_dir, trial_id)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        path = pathlib.Path(self.record_path(trial.trial_id))
        path.parent.mkdir(parents=True, exist_ok=True)
        self._started = time.time()
        history = {}
        if path.exists():
            cut_short = records.read_record(str(path))
            if cut_short.get("status") == "running":
                # Kept for BackupAndRestore; `EpochRecord` drops what reruns.
                history = cut_short.get("history", {})
        records.write_record(
            str(path),
            {
                "trial_id": trial.trial_id,
                "tuner_id": self.tuner_id,
                "hyperparameters": _active_values(trial.hyperparameters),
                "status": "running",
                "start": records.timestamp(self._started),
                "history": history,
                "epochs": len(next(iter(history.values()), [])),
            },
        )

    def run_trial(self, trial, *args, **kwargs):
        path = self.record_path(trial.trial_id)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if _has_epochs(self):
            # First, so an epoch is in the record before a BackupAndRestore
            # among `callbacks` saves it.
            callbacks.insert(0, EpochRecord(path))
            callbacks.append(NaNTermination(path))
        if self.median_stopping is not None:
            callbacks.append(self._median_rule(path))
        if self.training_seed is not None:
            # Same weights, dropout masks and batches wherever it runs.
            keras.utils.set_random_seed(
                trial_seed(self.training_seed, trial.trial_id)
            )
        try:
            try:
                result = super().run_trial(
                    trial, *args, callbacks=callbacks, **kwargs
                )
                nan = records.read_record(path).get("nan_at")
                if nan is not None:
                    raise keras_tuner.errors.FailedTrialError(
                        f"The loss became NaN or infinite at epoch "
                        f"{nan['epoch']}, batch {nan['batch']} (Keras's "
                        "TerminateOnNaN stopped the trial)"
                    )
            except records.WriteError:
                raise
            except Exception as error:
                self._finish(path, "failed", error)
                raise
            if records.metric_dicts(result):
                # A `run_trial` of one's own returned its metrics (one dict,
                # or one per execution or reservoir draw): keep them all.
                records.update_record(path, draws=records.metric_dicts(result))
            stopped = records.read_record(path).get("stopped_at_epoch")
            self._finish(path, "stopped_early" if stopped else "completed")
        except records.WriteError as error:
            # Not a failed trial: no sweep can go on without its files.
            raise keras_tuner.errors.FatalError(str(error)) from error
        return result

    def _median_rule(self, path):
        objective = self.oracle.objective
        curves = [
            record["history"].get(objective.name, [])
            for record in records.load_records(self.project_dir)
            if record["status"] in ("completed", "stopped_early")
        ]
        return MedianStopping(
            objective.name,
            objective.direction,
            curves,
            record_path=path,
            **self.median_stopping,
        )

    def _finish(self, path, status, error=None):
        record = records.read_record(path)
        ended = time.time()
        record.update(
            # `status` follows in `on_trial_end`, once keras-tuner's oracle
            # has saved the trial as ended: a kill between the two leaves
            # the trial for `_conclude_ended_trials`, not for a rerun.
            outcome=status,
            end=records.timestamp(ended),
            duration_s=round(ended - self._started, 3),
        )
        if error is not None:
            record["error"] = "".join(
                traceback.format_exception_only(type(error), error)
            ).strip()
            record["traceback"] = traceback.format_exc()
        records.write_record(path, record)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        path = self.record_path(trial.trial_id)
        try:
            record = records.read_record(path)
            outcome = record.pop("outcome", None)
            if outcome is None:
                # It raised before `run_trial` could say how it ended.
                outcome = "completed" if _ended_well(trial) else "failed"
                if outcome == "failed" and trial.message:
                    record["error"] = trial.message.strip().splitlines()[-1]
            record["status"] = outcome
            records.write_record(path, record)
            records.write_csv(self.project_dir)
        except records.WriteError as error:
            raise keras_tuner.errors.FatalError(str(error)) from error
        if self.verbose:
            _announce(record, self.oracle.objective.name)

    def _conclude_ended_trials(self):
        """Give their status to the records of trials the oracle saved as
        ended before the process that ran them was killed."""
        trials = getattr(self.oracle, "trials", {})
        for record in records.load_records(self.project_dir):
            trial = trials.get(record["trial_id"])
            if (
                record["status"] == "running"
                and "outcome" in record
                and trial is not None
                and str(trial.status) in _ENDED
            ):
                record["status"] = record.pop("outcome")
                records.write_record(
                    self.record_path(record["trial_id"]), record
                )


class EpochRecord(keras.callbacks.Callback):
    """Appends each epoch's metrics to a trial's record.

    Epochs from the one just ended on replace those the record had: a
    trial rerun from its start, or resumed by Keras's `BackupAndRestore`
    after its last backup, redoes them.

    Args:
        record_path: str, the trial's record file.
    """

    def __init__(self, record_path):
        super().__init__()
        self.record_path = record_path

    def on_epoch_end(self, epoch, logs=None):
        record = records.read_record(self.record_path)
        history = record.setdefault("history", {})
        for name, value in (logs or {}).items():
            kept = history.get(name, [])[:epoch]
            history[name] = kept + [records.as_number(value)]
        record["epochs"] = len(next(iter(history.values()), []))
        records.write_record(self.record_path, record)


class NaNTermination(keras.callbacks.TerminateOnNaN):
    """Keras's `TerminateOnNaN` that also notes, in the trial's record,
    where the loss stopped being finite (the sweep then marks the trial
    failed with that reason).

    Args:
        record_path: str, the trial's record file.
    """

    def __init__(self, record_path):
        super().__init__()
        self.record_path = record_path

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and records.as_number(loss) is None:
            records.update_record(
                self.record_path,
                nan_at={
                    "epoch": getattr(self, "_epoch", 0) + 1,
                    "batch": batch,
                },
            )
        super().on_batch_end(batch, logs=logs)


class RandomSearchSweep(SweepTuner, keras_tuner.RandomSearch):
    """`SweepTuner` on keras-tuner's random search."""


class BayesianOptimizationSweep(SweepTuner, keras_tuner.BayesianOptimization):
    """`SweepTuner` on keras-tuner's Gaussian-process Bayesian optimization
    (needs scikit-learn)."""


class HyperbandSweep(SweepTuner, keras_tuner.Hyperband):
    """`SweepTuner` on keras-tuner's Hyperband."""


TUNERS = {
    "random": RandomSearchSweep,
    "bayesian": BayesianOptimizationSweep,
    "hyperband": HyperbandSweep,
}


def sweep(
    builder,
    data,
    space=(),
    tuner="random",
    max_trials=10,
    directory="sweeps",
    project_name="sweep",
    objective=None,
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
    draws=None,
    metrics=None,
    generation=None,
):
    """Search hyperparameters with keras-tuner; return every trial as a
    pandas DataFrame (also written to `trials.csv`).

    With `builder` the `toolkit.models.ESN` class (or an
    `ESNHyperModel`), the trials are ESN trials (`ESNTuner`): each fits
    the readout in closed form on `data` and scores on the validation
    part, over `draws` reservoir draws; the objective is the mean over
    draws (default `"val_nrmse"`), and the DataFrame has the mean
    (`best_<metric>`), the std (`<metric>_std`) and every draw
    (`<metric>_draw_<k>`). `batch_size` has no meaning there and is
    ignored, and so is `epochs` except under `tuner="hyperband"`, whose
    budget is then the share of the training series a fit reads
    (`epochs` shares in all); `early_stopping`, `median_stopping` and
    `callbacks`, which need epochs, are refused.

    Args:
        builder: a recipe builder (`hp`-free function returning a compiled
            model), a `keras_tuner.HyperModel`, or `toolkit.models.ESN`
            (or an `ESNHyperModel`) for ESN trials.
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
        objective: str or None, the metric to optimize, e.g.
            `"val_loss"`; direction inferred from the name (`"min"` for
            losses and errors, `"max"` for accuracy-like). Default: None,
            `"val_loss"` (`"val_nrmse"` for ESN trials; there any
            `"val_<name>"` of `metrics`, or `"val_generation_nrmse"`).
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
        draws: int or None, ESN trials only: reservoir draws per trial
            (ESN seeds `seed + d * L` for draw `d` of `L` reservoirs, the
            same in every trial; without `seed`, a random first seed per
            trial, kept in its record). Default: None (3).
        metrics: ESN trials only: validation metrics besides NRMSE, names
            of `toolkit.tuning.esn_trials.METRICS` (`"rmse"`, `"mse"`,
            `"mae"`) or a dict `{name: f(y_true, y_pred)}`, each reported
            as `val_<name>`. Default: None.
        generation: ESN trials only: None or `{"steps": N, "warmup": W}`
            to also report `val_generation_nrmse`, the NRMSE of `N`
            free-run steps after `W` validation inputs. Default: None.

    Returns:
        A pandas DataFrame with one row per trial (see `trials_frame`).

    Raises:
        RuntimeError: another sweep runs in this folder: its lock file
            `<directory>/<project_name>.lock` names its pid (a dead
            process's lock is taken over with a warning). A distributed
            sweep's workers take no lock.
        toolkit.tuning.records.WriteError: a record or `trials.csv` could
            not be written (a full disk, an unwritable folder); the files
            already written are kept.

    A trial whose loss turns NaN or infinite is stopped by Keras's
    `TerminateOnNaN` and recorded `"failed"` with that reason; the sweep
    goes on. Pass `keras.callbacks.BackupAndRestore(folder)` in
    `callbacks` to resume a killed trial from its last finished epoch.

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
    from toolkit.tuning import esn_sweep
    from toolkit.tuning.esn_trials import ESNHyperModel, is_esn

    check_data(data, "data")
    check_data(validation_data, "validation_data")
    esn = is_esn(builder)
    tuner_class = TUNERS[v.check_choice("tuner", tuner, set(TUNERS))]
    if esn:
        esn_sweep.check_esn_options(early_stopping, median_stopping, callbacks)
        tuner_class = esn_sweep.ESN_TUNERS[tuner]
    else:
        esn_sweep.check_keras_options(draws, metrics, generation)
    if tuner == "bayesian":
        _require_scikit_learn()
    max_trials = v.check_positive_int("max_trials", max_trials)
    epochs = v.check_positive_int("epochs", epochs)
    if isinstance(builder, keras_tuner.HyperModel):
        hypermodel = builder
    elif esn:
        hypermodel = ESNHyperModel(space, fixed=fixed, builder=builder)
    else:
        hypermodel = RecipeHyperModel(builder, space, fixed=fixed)
    fit_kwargs = _search_arguments(
        data, batch_size, validation_data, validation_split, epochs
    )
    seed = v.check_seed(seed)
    if objective is None:
        objective = "val_nrmse" if esn else "val_loss"
    esn_options = {}
    if esn:
        for key in ("epochs", "batch_size"):
            fit_kwargs.pop(key, None)
        esn_options = dict(
            draws=3 if draws is None else draws,
            metrics=metrics,
            generation=generation,
            draw_seed=seed,
        )
    keras_objective = keras_tuner.Objective(
        objective, records.metric_direction(objective)
    )
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
        fit_kwargs.pop("epochs", None)
    else:
        options["max_trials"] = max_trials
    options.update(tuner_options or {})
    lock = None
    if not distributed.is_worker():
        # Two sweeps writing one folder would corrupt each other's trials.
        lock = records.lock_path(directory, project_name)
        records.acquire_lock(lock)
    try:
        return _run(
            tuner_class,
            hypermodel,
            median_stopping,
            seed,
            verbose,
            esn_options,
            options,
            callbacks,
            early_stopping,
            objective,
            keras_objective,
            fit_kwargs,
        )
    finally:
        if lock is not None:
            records.release_lock(lock)


def _run(
    tuner_class,
    hypermodel,
    median_stopping,
    seed,
    verbose,
    esn_options,
    options,
    callbacks,
    early_stopping,
    objective,
    keras_objective,
    fit_kwargs,
):
    """Build the tuner and search (`sweep`, once its arguments are
    checked and its lock is taken)."""
    search = tuner_class(
        hypermodel,
        median_stopping=median_stopping,
        training_seed=seed,
        verbose=verbose,
        **esn_options,
        **options,
    )
    oracle = search.oracle
    if seed == 0 and isinstance(oracle, keras_tuner.Oracle):
        # keras-tuner reads 0 as no seed; a resumed oracle keeps its state.
        if not oracle.trials:
            set_oracle_seed(oracle, 0)
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
    except keras_tuner.errors.FatalError as error:
        if isinstance(error.__cause__, records.WriteError):
            # The disk is full or the folder unwritable: say so plainly.
            raise error.__cause__ from None
        raise
    except BaseException:
        try:
            records.write_csv(search.project_dir)
        except records.WriteError:
            pass  # the first error says more
        raise
    return records.write_csv(search.project_dir)


_ENDED = ("COMPLETED", "FAILED", "INVALID")


def _has_epochs(tuner):
    """Whether `tuner`'s trials train by epochs (not ESN trials, which fit
    in closed form and take no Keras callbacks)."""
    from toolkit.tuning.esn_trials import ESNTuner

    return not isinstance(tuner, ESNTuner)


def _ended_well(trial):
    return str(trial.status) == "COMPLETED"


def trial_seed(seed, trial_id):
    """The training seed of trial `trial_id` (keras-tuner's `"00"`,
    `"01"`, ..., or any string) in a sweep seeded with `seed`."""
    if str(trial_id).isdigit():
        return (seed + int(trial_id)) % 2**32
    return (seed + zlib.crc32(str(trial_id).encode())) % 2**32


def _search_arguments(
    data, batch_size, validation_data, validation_split, epochs
):
    """The `fit` arguments every trial gets from `sweep`'s data options."""
    kwargs = {"epochs": epochs}
    if v.is_dataset(data):
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
    draws = (record.get("draws") or {}).get(objective)
    if draws is not None:
        mean, std = records.mean_and_std(draws)
        found = "" if mean is None else f" {objective}={mean:.4g}"
        found += "" if std is None else f" +- {std:.2g}"
        done = f"{len(draws)} draws"
    else:
        best = records.best_value(
            objective, record.get("history", {}).get(objective, [])
        )
        found = "" if best is None else f" best {objective}={best:.4g}"
        done = f"{record.get('epochs', 0)} epochs"
    values = ", ".join(
        f"{k}={_short(value)}"
        for k, value in record["hyperparameters"].items()
        if not k.startswith("tuner/")
    )
    error = (
        f" ({record['error'].splitlines()[-1]})" if record.get("error") else ""
    )
    print(
        f"trial {record['trial_id']} {record['status']} after {done} in "
        f"{record.get('duration_s', 0):.1f}s:{found}{error}  [{values}]",
        flush=True,
    )


def _short(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
