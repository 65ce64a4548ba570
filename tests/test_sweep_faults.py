"""Proof under faults: a sweep killed anywhere resumes with every trial
exactly once; a second sweep on the same folder is refused; a killed
worker's trial is rerun; a NaN loss fails its trial only; a full disk says
so and keeps what was written; a killed fit resumes through Keras's
`BackupAndRestore`."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pandas as pd
import pytest

from toolkit.tuning import records, role_environment, sweep, trials_frame

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
    # keras-tuner's trial checkpoint, not BackupAndRestore's backup.
    if "checkpoint" in os.path.basename(str(filepath)):
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
    def on_epoch_begin(self, epoch, logs=None):
        with open({log!r} + ".epochs", "a") as handle:
            handle.write(f"{{epoch}}\\n")

    def on_epoch_end(self, epoch, logs=None):
        reach("epoch")


rng = np.random.default_rng(0)
x = rng.random((24, 4)).astype("float32")
y = (x[:, 0] > 0.5).astype("int32")
sweep(build_mlp_classifier, (x[:16], y[:16]), learning_rate_space,
      max_trials=4, epochs=2, batch_size=8, validation_data=(x[16:], y[16:]),
      directory={directory!r}, project_name="p", seed=0, verbose=0,
      fixed={{"input_shape": (4,), "num_classes": 2, "hidden_units": (2,)}},
      callbacks=[keras.callbacks.BackupAndRestore({backup!r}), Epochs()])
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
                backup=str(tmp_path / "backup"),
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
    epochs = tmp_path / "trials.log.epochs"
    # Paused in trial 1's first epoch: a second sweep on its folder is
    # refused, the first unharmed; then it is killed there.
    first = _pause_and_refuse_a_second_sweep(script, tmp_path)
    # Killed while a record is renamed into place, during a checkpoint
    # (half a file left) and while trials.csv is renamed.
    faults = ["record:4", "checkpoint:2", "csv:1"]
    for fault in faults:
        if fault == "record:4":
            # Killed after trial 1's first epoch was backed up: it goes on
            # from its second (BackupAndRestore), not from the start.
            assert epochs.read_text().split() == ["0", "1", "0"]
        before = _finished(project)
        lines = len(log.read_text().split()) if log.exists() else 0
        result = _run_script(script, fault)
        assert result.returncode == -signal.SIGKILL, (fault, result.stderr)
        if fault == "record:4":
            # The killed first sweep's lock was stale: taken over.
            assert f"no longer running (pid {first})" in result.stderr
            # Killed after the oracle saved trial 1 as ended, before its
            # record said so: the next run concludes it, not reruns it.
            cut = records.read_record(records.record_path(project, "1"))
            assert (cut["status"], cut["outcome"]) == ("running", "completed")
        # No finished trial was started again.
        assert not before & set(log.read_text().split()[lines:]), fault
        if fault == "checkpoint:2":
            assert "1" not in log.read_text().split()[lines:]
            assert "1" in _finished(project)
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
    assert epochs.read_text().split()[:4] == ["0", "1", "0", "1"]
    # Every epoch of every trial is in its row, a resumed one's too.
    assert list(table["epochs"]) == [2] * 4
    assert table[["val_loss_epoch_1", "val_loss_epoch_2"]].notna().all(None)
    assert len(table) == len(trials_frame(project))
    assert not os.path.exists(records.lock_path(project.parent, "p"))
    # A temporary file left by a kill is never read as a record.
    assert sorted(p.name for p in (project / "records").glob("*.json")) == [
        f"trial_{i}.json" for i in range(4)
    ]


def _pause_and_refuse_a_second_sweep(script, tmp_path):
    """Start the sweep, pause it in trial 1, check a second sweep on its
    folder is refused and leaves it unharmed, SIGKILL it; its pid."""
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
        csv = tmp_path / "sweeps" / "p" / "trials.csv"
        before = csv.read_text()
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
        assert f"its lock file is {lock}" in str(info.value)
        # The first sweep's files are untouched (overwrite never ran).
        assert csv.read_text() == before
        assert json.loads(open(lock).read())["pid"] == first.pid
    finally:
        first.kill()
        first.wait()
    assert first.returncode == -signal.SIGKILL
    return first.pid


def _tiny(learning_rate=0.01):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


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


def _poisoned(poison=0):
    """A model whose loss is NaN from the first batch when `poison` is 1."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])

    def loss(y_true, y_pred):
        error = keras.ops.mean(keras.ops.square(y_true - y_pred))
        return error + (keras.ops.log(-1.0) if poison == 1 else 0.0)

    model.compile("sgd", loss)
    return model


def _poison_space(hp):
    return {"poison": hp.Int("poison", 0, 2)}


def test_nan_loss_fails_its_trial_with_the_reason_and_sweep_goes_on(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((16, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    frame = sweep(
        _poisoned,
        (x, y),
        _poison_space,
        max_trials=3,
        epochs=3,
        batch_size=8,
        validation_data=(x, y),
        directory=tmp_path,
        project_name="p",
        seed=3,
        verbose=0,
    )
    frame = frame.set_index("poison")
    assert frame.loc[1, "status"] == "failed"
    assert (
        "loss became NaN or infinite at epoch 1, batch 0"
        in (frame.loc[1, "error"])
    )
    assert "TerminateOnNaN" in frame.loc[1, "error"]
    # TerminateOnNaN stopped it in its first epoch.
    assert frame.loc[1, "epochs"] == 1
    assert list(frame.loc[[0, 2], "status"]) == ["completed"] * 2
    assert list(frame.loc[[0, 2], "epochs"]) == [3, 3]
    # The sweep went on after the failed trial.
    assert int(frame.loc[1, "trial_id"]) < 2


def test_full_disk_gives_a_clear_error_and_keeps_written_files(
    tmp_path, monkeypatch
):
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    options = dict(
        space=_poison_space,
        epochs=2,
        batch_size=8,
        validation_data=(x, y),
        directory=tmp_path,
        project_name="p",
        seed=0,
        verbose=0,
        fixed=None,
    )
    sweep(_poisoned, (x, y), max_trials=1, **options)
    project = tmp_path / "p"
    csv_before = (project / "trials.csv").read_text()
    record_before = (project / "records" / "trial_0.json").read_text()
    writes = []
    original = records.json.dump

    def dump(*args, **kwargs):
        writes.append(1)
        if len(writes) >= 2:  # the second trial's first epoch
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(*args, **kwargs)

    monkeypatch.setattr(records.json, "dump", dump)
    with pytest.raises(
        records.WriteError, match=r"Could not write .*trial_1\.json: No space"
    ) as info:
        sweep(_poisoned, (x, y), max_trials=2, **options)
    assert "files already written are kept" in str(info.value)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert (project / "trials.csv").read_text() == csv_before
    assert (project / "records" / "trial_0.json").read_text() == record_before
    assert list(trials_frame(project)["status"][:1]) == ["completed"]
    assert not list(project.rglob("*.tmp"))
    # The lock was released: a sweep with room resumes.
    frame = sweep(_poisoned, (x, y), max_trials=2, **options)
    assert len(frame) == 2


def test_unwritable_table_is_a_write_error(tmp_path, monkeypatch):
    # Tests run as root, which chmod cannot stop: refuse the rename.
    def refuse(source, target):
        raise PermissionError(errno.EACCES, "Permission denied")

    (tmp_path / "records").mkdir()
    records.write_record(records.record_path(tmp_path, "0"), _RECORD)
    monkeypatch.setattr(records.os, "replace", refuse)
    with pytest.raises(records.WriteError, match="trials.csv: Permission"):
        records.write_csv(tmp_path)
    monkeypatch.undo()
    assert records.load_records(tmp_path) == [_RECORD]
    assert not list(tmp_path.rglob("*.tmp"))


_RECORD = {
    "trial_id": "0",
    "status": "completed",
    "hyperparameters": {"a": 1},
    "history": {"loss": [1.0]},
    "epochs": 1,
}


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_killed_worker_restarted_reruns_its_trial_chief_survives(tmp_path):
    # keras-tuner keeps a worker's trial as that worker's until it ends;
    # the chief waits, and a worker restarted under the same id gets it.
    script = _script(tmp_path)
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if k != "FAULT"}
    chief = subprocess.Popen(
        [sys.executable, str(script)],
        env={**base, **role_environment("chief", port=port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        worker = {**base, **role_environment("tuner0", port=port)}
        killed = subprocess.run(
            [sys.executable, str(script)],
            env={**worker, "FAULT": "epoch:1"},
            capture_output=True,
            timeout=180,
        )
        assert killed.returncode == -signal.SIGKILL
        assert chief.poll() is None  # the chief survives
        restarted = subprocess.run(
            [sys.executable, str(script)],
            env=worker,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert restarted.returncode == 0, restarted.stderr[-3000:]
        assert chief.wait(timeout=60) == 0
    finally:
        if chief.poll() is None:
            chief.kill()
            chief.wait()
    project = tmp_path / "sweeps" / "p"
    frame = trials_frame(project)
    assert sorted(frame["trial_id"]) == ["0", "1", "2", "3"]
    assert list(frame["status"]) == ["completed"] * 4
    # Trial 0 ran twice: killed, then rerun by the restarted worker.
    started = (tmp_path / "trials.log").read_text().split()
    assert started == ["0", "0", "1", "2", "3"]


FIT_SCRIPT = """
import os, signal, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, {root!r})
import keras
import numpy as np

sys.path.insert(0, {tests!r})
from test_sweep_faults import fit_with_backup


class Kill(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:  # after BackupAndRestore saved epoch 2
            os.kill(os.getpid(), signal.SIGKILL)


fit_with_backup({backup!r}, [Kill()])
"""


def fit_with_backup(backup_dir, callbacks=(), epochs=5):
    """A tiny deterministic fit with Keras's BackupAndRestore; returns the
    model and the (0-based) epochs it ran."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    y = x @ np.arange(1.0, 5.0, dtype="float32")[:, None]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse")
    ran = []
    seen = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: ran.append(epoch)
    )
    backup = keras.callbacks.BackupAndRestore(backup_dir)
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=8,
        shuffle=False,
        verbose=0,
        callbacks=[backup, seen, *callbacks],
    )
    return model, ran


@pytest.mark.slow
def test_killed_fit_resumes_from_its_epoch_with_backup_and_restore(tmp_path):
    backup = tmp_path / "backup"
    script = tmp_path / "fit.py"
    script.write_text(
        textwrap.dedent(
            FIT_SCRIPT.format(
                root=ROOT, tests=f"{ROOT}/tests", backup=str(backup)
            )
        )
    )
    killed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=180
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert backup.exists()
    resumed, ran = fit_with_backup(str(backup))
    assert ran == [2, 3, 4]  # epochs 3 to 5, not from the start
    assert not backup.exists()  # removed once the fit ended
    # The same weights as a fit never interrupted (momentum restored too).
    whole, ran = fit_with_backup(str(tmp_path / "other"))
    assert ran == [0, 1, 2, 3, 4]
    for got, want in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_lock_that_keeps_vanishing_is_an_error(tmp_path, monkeypatch):
    # Created and removed by others between every try: give up, say so.
    def exists(*args):
        raise FileExistsError(errno.EEXIST, "exists")

    monkeypatch.setattr(records.os, "open", exists)
    with pytest.raises(RuntimeError, match="Could not take the sweep lock"):
        records.acquire_lock(records.lock_path(tmp_path, "p"))
