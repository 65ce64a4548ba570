"""A sweep's trial records: one JSON file per trial, the DataFrame of all
of them, and its CSV.

Every trial of `sweep` writes `<project_dir>/records/trial_<id>.json`: its
hyperparameters, every metric at every epoch, its status, start and end
times and, if it raised, the error. The files are written whole and
renamed into place, so a reader never sees half a record, and processes
sharing the folder (a distributed sweep's workers) never clash; a file
that cannot be written raises `WriteError` naming it. `acquire_lock` and
`release_lock` keep a second sweep out of a folder in use.
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


class WriteError(OSError):
    """A sweep file could not be written (a full disk, a read-only or
    unwritable folder). The files already written are left as they were."""


def write_whole(path, write):
    """Write a file with `write(temporary_path)` and rename it onto `path`
    (same folder), so `path` is the old file or the new one, never half
    of one; an `OSError` is raised again as a `WriteError` naming `path`."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise WriteError(
            error.errno,
            f"Could not write {path}: {error.strerror or error}. The "
            "files already written are kept; free space or fix the "
            "folder's permissions and run the sweep again to resume",
        ) from error


def write_record(path, record):
    """Store `record` at `path`, whole or not at all."""

    def write(temporary):
        with open(temporary, "w") as handle:
            json.dump(record, handle, indent=1)

    write_whole(path, write)


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
    write_whole(
        str(path), lambda temporary: frame.to_csv(temporary, index=False)
    )
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


LOCK_SUFFIX = ".lock"


def lock_path(directory, project_name):
    """The lock file of the sweep `<directory>/<project_name>`: beside
    the project folder, so `overwrite` (which deletes that folder) keeps
    it."""
    return str(pathlib.Path(directory) / f"{project_name}{LOCK_SUFFIX}")


def acquire_lock(path):
    """Take the sweep lock at `path` for this process.

    Raises `RuntimeError` naming the lock file and the process holding it
    if a live process on this machine (or any process on another machine,
    which cannot be checked) holds it. A lock whose process has died is
    taken over with a warning.
    """
    import socket
    import warnings

    host = socket.gethostname()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    mine = json.dumps({"pid": os.getpid(), "host": host})
    for _ in range(3):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            holder = _lock_holder(path)
            if holder is None:
                continue  # released between the two calls
            if holder.get("pid") == os.getpid() and holder.get("host") == host:
                return
            held = holder and (
                holder.get("host") != host or _alive(holder.get("pid"))
            )
            if held:
                raise RuntimeError(
                    f"Another sweep (pid {holder.get('pid')} on "
                    f"{holder.get('host')}) is running in this sweep's "
                    f"folder: its lock file is {path}. Wait for it to end, "
                    "give this one another `project_name` or directory, "
                    "or, if no such process runs, delete the lock file. "
                    "(A distributed sweep's workers take no lock: set "
                    "KERASTUNER_TUNER_ID to run one.)"
                ) from None
            warnings.warn(
                f"Taking over the lock file {path} of a sweep that is no "
                f"longer running (pid {holder.get('pid')}).",
                stacklevel=3,
            )
            os.remove(path)
            continue
        with os.fdopen(handle, "w") as lock:
            lock.write(mine)
        return
    raise RuntimeError(f"Could not take the sweep lock file {path}.")


def release_lock(path):
    """Remove the lock at `path` if this process holds it."""
    holder = _lock_holder(path)
    if holder is not None and holder.get("pid") == os.getpid():
        os.remove(path)


def _lock_holder(path):
    try:
        with open(path) as handle:
            return json.loads(handle.read() or "{}")
    except FileNotFoundError:
        return None
    except ValueError:
        return {}  # half-written by a process killed while taking it


def _alive(pid):
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
