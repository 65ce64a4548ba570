"""Proof under faults: a sweep killed anywhere resumes with every trial
exactly once; a second sweep on the same folder is refused; a killed
worker's trial is rerun; a NaN loss fails its trial only; a full disk says
so and keeps what was written; a killed fit resumes through Keras's
`BackupAndRestore`."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pandas as pd
import pytest

from toolkit.tuning import records, sweep, trials_frame

ROOT = __file__.rsplit("/tests/", 1)[0]

# One sweep; FAULT="<point>:<n>" SIGKILLs the process at the n-th time it
# reaches <point> (or, for "pause", writes PAUSED and sleeps there).
SCRIPT = """
import os, signal, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
from recipes import build_mlp_classifier
from toolkit.tuning import learning_rate_space, records, sweep
from toolkit.tuning.sweep import SweepTuner

point, _, count = os.environ.get("FAULT", ":0").partition(":")
count = int(count or 0)
seen = {{}}


def reach(name):
    seen[name] = seen.get(name, 0) + 1
    if name != point and not (point == "pause" and name == "epoch"):
        return
    if seen[name] != count:
        return
    if point == "pause":
        open({paused!r}, "w").close()
        time.sleep(600)
    os.kill(os.getpid(), signal.SIGKILL)


original_replace = os.replace


def replace(source, target):
    # Killed with the new file whole in its temporary name, not renamed.
    name = os.path.basename(str(target))
    reach("csv" if name == "trials.csv" else "record")
    original_replace(source, target)


records.os.replace = replace
original_save = keras.Model.save_weights


def save_weights(self, filepath, *args, **kwargs):
    if seen.get("checkpoint", 0) + 1 == count and point == "checkpoint":
        with open(filepath, "wb") as handle:
            handle.write(b"half a checkpoint")
    reach("checkpoint")
    return original_save(self, filepath, *args, **kwargs)


keras.Model.save_weights = save_weights
original_begin = SweepTuner.on_trial_begin


def on_trial_begin(self, trial):
    with open({log!r}, "a") as handle:
        handle.write(trial.trial_id + "\\n")
    original_begin(self, trial)


SweepTuner.on_trial_begin = on_trial_begin


class Epochs(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        reach("epoch")


rng = np.random.default_rng(0)
x = rng.random((24, 4)).astype("float32")
y = (x[:, 0] > 0.5).astype("int32")
sweep(build_mlp_classifier, (x[:16], y[:16]), learning_rate_space,
      max_trials=4, epochs=2, batch_size=8, validation_data=(x[16:], y[16:]),
      directory={directory!r}, project_name="p", seed=0, verbose=0,
      fixed={{"input_shape": (4,), "num_classes": 2, "hidden_units": (2,)}},
      callbacks=[Epochs()])
"""


def _script(tmp_path):
    path = tmp_path / "fault_sweep.py"
    path.write_text(
        textwrap.dedent(
            SCRIPT.format(
                root=ROOT,
                directory=str(tmp_path / "sweeps"),
                log=str(tmp_path / "trials.log"),
                paused=str(tmp_path / "PAUSED"),
            )
        )
    )
    return path


def _run_script(script, fault, **options):
    env = {**os.environ, "FAULT": fault}
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        **options,
    )


def _finished(project):
    return {
        record["trial_id"]
        for record in records.load_records(project)
        if record["status"] == "completed"
    }


@pytest.mark.slow
def test_killed_anywhere_then_resumed_every_trial_exactly_once(tmp_path):
    script = _script(tmp_path)
    project = tmp_path / "sweeps" / "p"
    log = tmp_path / "trials.log"
    # During an epoch, while a record is renamed into place, during a
    # checkpoint (half a file left) and while trials.csv is renamed.
    faults = ["epoch:3", "record:4", "checkpoint:2", "csv:1"]
    for fault in faults:
        before = _finished(project)
        lines = len(log.read_text().split()) if log.exists() else 0
        result = _run_script(script, fault)
        assert result.returncode == -signal.SIGKILL, (fault, result.stderr)
        # No finished trial was started again.
        assert not before & set(log.read_text().split()[lines:]), fault
        csv = project / "trials.csv"
        if csv.exists():
            table = pd.read_csv(csv)
            assert table["trial_id"].is_unique
            assert set(table["status"]) <= set(records.STATUSES)
    before = _finished(project)
    lines = len(log.read_text().split())
    result = _run_script(script, "")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not before & set(log.read_text().split()[lines:])
    table = pd.read_csv(project / "trials.csv", dtype={"trial_id": str})
    assert sorted(table["trial_id"]) == ["0", "1", "2", "3"]
    assert list(table["status"]) == ["completed"] * 4
    assert table["best_val_loss"].notna().all()
    assert len(table) == len(trials_frame(project))
    # A temporary file left by a kill is never read as a record.
    assert sorted(p.name for p in (project / "records").glob("*.json")) == [
        f"trial_{i}.json" for i in range(4)
    ]


@pytest.mark.slow
def test_second_sweep_on_the_folder_is_refused_and_stale_lock_taken(tmp_path):
    script = _script(tmp_path)
    lock = records.lock_path(tmp_path / "sweeps", "p")
    first = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "FAULT": "pause:3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while not (tmp_path / "PAUSED").exists():
            assert first.poll() is None, "the first sweep ended early"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        frame_before = (tmp_path / "sweeps" / "p" / "trials.csv").read_text()
        x = np.zeros((8, 4), "float32")
        with pytest.raises(RuntimeError, match=rf"pid {first.pid} on") as info:
            sweep(
                _tiny,
                (x, np.zeros(8, "int32")),
                directory=tmp_path / "sweeps",
                project_name="p",
                overwrite=True,
                verbose=0,
            )
        assert lock in str(info.value)
        # The first sweep's files are untouched (overwrite never ran).
        csv = tmp_path / "sweeps" / "p" / "trials.csv"
        assert csv.read_text() == frame_before
        assert json.loads(open(lock).read())["pid"] == first.pid
    finally:
        first.kill()
        first.wait()
    assert first.returncode == -signal.SIGKILL
    # The lock of the killed sweep is stale: the resumed sweep takes it.
    with pytest.warns(
        UserWarning, match=rf"no longer running \(pid {first.pid}"
    ):
        result = _run_in_process_resume(script, tmp_path)
    assert sorted(result["trial_id"]) == ["0", "1", "2", "3"]
    assert not os.path.exists(lock)


def _tiny(learning_rate=0.01):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def _run_in_process_resume(script, tmp_path):
    from recipes import build_mlp_classifier
    from toolkit.tuning import learning_rate_space

    rng = np.random.default_rng(0)
    x = rng.random((24, 4)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int32")
    return sweep(
        build_mlp_classifier,
        (x[:16], y[:16]),
        learning_rate_space,
        max_trials=4,
        epochs=2,
        batch_size=8,
        validation_data=(x[16:], y[16:]),
        directory=str(tmp_path / "sweeps"),
        project_name="p",
        seed=0,
        verbose=0,
        fixed={"input_shape": (4,), "num_classes": 2, "hidden_units": (2,)},
    )


def test_lock_errors_and_release(tmp_path):
    lock = records.lock_path(tmp_path, "p")
    records.acquire_lock(lock)
    records.acquire_lock(lock)  # this process holds it already
    records.release_lock(lock)
    assert not os.path.exists(lock)
    with open(lock, "w") as handle:
        json.dump({"pid": 1, "host": "elsewhere"}, handle)
    with pytest.raises(RuntimeError, match="pid 1 on elsewhere"):
        records.acquire_lock(lock)
    with open(lock, "w") as handle:
        handle.write("{")  # half-written by a killed sweep
    with pytest.warns(UserWarning, match="no longer running"):
        records.acquire_lock(lock)
    assert json.loads(open(lock).read())["pid"] == os.getpid()
