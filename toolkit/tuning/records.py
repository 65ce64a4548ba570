"""A sweep's trial records: one JSON file per trial, the DataFrame of all
of them, and its CSV.

Every trial of `sweep` writes `<project_dir>/records/trial_<id>.json`: its
hyperparameters, every metric at every epoch, its status, start and end
times and, if it raised, the error. The files are written whole and
renamed into place, so a reader never sees half a record, and processes
sharing the folder (a distributed sweep's workers) never clash.
"""

import datetime
import json
import math
import os
import pathlib
import re

import numpy as np

#: Values of the `status` column.
STATUSES = ("completed", "stopped_early", "failed", "running")

RECORDS = "records"
CSV_NAME = "trials.csv"

#: The first columns of `trials_frame`, before the hyperparameters.
FIRST_COLUMNS = [
    "trial_id",
    "status",
    "start",
    "end",
    "duration_s",
    "epochs",
    "tuner_id",
]


def record_path(project_dir, trial_id):
    """The record file of trial `trial_id` under `project_dir`."""
    return str(pathlib.Path(project_dir) / RECORDS / f"trial_{trial_id}.json")


def read_record(path):
    """The record stored at `path`, a dict."""
    with open(path) as handle:
        return json.load(handle)


def write_record(path, record):
    """Store `record` at `path`, whole or not at all."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as handle:
        json.dump(record, handle, indent=1)
    os.replace(temporary, path)


def update_record(path, **fields):
    """Set `fields` in the record stored at `path`."""
    record = read_record(path)
    record.update(fields)
    write_record(path, record)
    return record


def load_records(project_dir):
    """Every trial record under `project_dir`, sorted by trial id."""
    folder = pathlib.Path(project_dir) / RECORDS
    if not folder.is_dir():
        return []
    return [read_record(path) for path in sorted(folder.glob("trial_*.json"))]


def metric_direction(metric):
    """`"min"` for a loss or an error (by its name), else `"max"`."""
    name = metric.lower()
    if any(word in name for word in ("loss", "error", "mse", "mae")):
        return "min"
    return "max"


def best_value(metric, values):
    """The best finite value of `metric` in `values`, or None."""
    finite = [x for x in values if x is not None and math.isfinite(x)]
    if not finite:
        return None
    return (min if metric_direction(metric) == "min" else max)(finite)


def metric_dicts(result):
    """`{metric: [value per execution]}` of a `run_trial` result made of
    metric dicts (a dict or a list of them), else None."""
    if isinstance(result, dict):
        result = [result]
    if not (
        isinstance(result, list)
        and result
        and all(isinstance(item, dict) for item in result)
    ):
        return None
    names = list(dict.fromkeys(name for item in result for name in item))
    return {name: [as_number(item[name]) for item in result] for name in names}


def mean_and_std(values):
    """The mean and the (population) std of `values`, None for either if
    a value is missing (not finite) or there are none."""
    if not values or any(x is None for x in values):
        return None, None
    return float(np.mean(values)), float(np.std(values))


def trials_frame(project_dir):
    """The DataFrame of a sweep's records (what `sweep` returns).

    Columns: `trial_id`, `status` (`"completed"`, `"stopped_early"`,
    `"failed"` or `"running"` for a trial cut short and not yet resumed),
    `start`, `end` (ISO times, UTC), `duration_s`, `epochs`, `tuner_id`,
    one column per hyperparameter, `<metric>_epoch_<k>` for every metric
    and epoch (1-based), `best_<metric>` (minimum of losses and errors,
    maximum of other metrics), and `error` for failed trials.

    A trial whose `run_trial` returned its metrics, one dict per reservoir
    draw (ESN trials) or per execution, has for each metric `best_<metric>`
    the mean over draws (the value keras-tuner's oracle optimised),
    `<metric>_std` their std and `<metric>_draw_<k>` (1-based) each draw.

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
            best = best_value(name, values)
            if best is not None:
                row[f"best_{name}"] = best
        for name, values in (record.get("draws") or {}).items():
            mean, std = mean_and_std(values)
            row[f"best_{name}"] = mean
            row[f"{name}_std"] = std
            for draw, value in enumerate(values, start=1):
                row[f"{name}_draw_{draw}"] = value
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
        draws = [c for c in frame.columns if is_draw_column(frame, c)]
        rest = [
            c
            for c in frame.columns
            if c not in FIRST_COLUMNS + best + draws + epochs + ["error"]
        ]
        frame = frame[FIRST_COLUMNS + rest + best + draws + epochs + ["error"]]
    return frame


def is_draw_column(frame, column):
    """Whether `column` of a `trials_frame` is `<metric>_std` or
    `<metric>_draw_<k>` of a metric with a `best_<metric>` column."""
    match = re.fullmatch(r"(.+)_(std|draw_\d+)", str(column))
    return bool(match) and f"best_{match.group(1)}" in frame.columns


def write_csv(project_dir):
    """Write `trials_frame(project_dir)` to `<project_dir>/trials.csv`."""
    frame = trials_frame(project_dir)
    path = pathlib.Path(project_dir) / CSV_NAME
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    frame.to_csv(temporary, index=False)
    os.replace(temporary, path)
    frame.attrs["csv"] = str(path)
    return frame


def as_number(value):
    """A metric value as a float, or None if it is not finite (JSON has no
    NaN)."""
    value = float(np.asarray(value))
    return value if math.isfinite(value) else None


def timestamp(seconds):
    """`seconds` since the epoch as an ISO time in UTC."""
    return datetime.datetime.fromtimestamp(
        seconds, tz=datetime.timezone.utc
    ).isoformat(timespec="seconds")
