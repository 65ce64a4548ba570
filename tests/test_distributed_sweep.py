"""A chief and two workers, separate processes on 127.0.0.1, finish a
small sweep with every trial run exactly once; a worker whose chief has
ended stops cleanly, one whose chief never came up fails."""

import os
import socket
import subprocess
import sys
import textwrap

import grpc
import keras_tuner
import numpy as np
import pytest

from toolkit.tuning import (
    distributed,
    launch_local,
    learning_rate_space,
    role_environment,
    sweep,
    trials_frame,
)

ROOT = __file__.rsplit("/tests/", 1)[0]

SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
from recipes import build_mlp_classifier
from toolkit.tuning import learning_rate_space, sweep


class Log(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        with open({log!r}, "a") as handle:
            handle.write(os.environ["KERASTUNER_TUNER_ID"] + "\\n")


rng = np.random.default_rng(0)
x = rng.random((48, 64)).astype("float32")
y = x[:, :10].argmax(axis=1)
sweep(build_mlp_classifier, (x[:32], y[:32]), learning_rate_space,
      max_trials=3, epochs=1, batch_size=16,
      validation_data=(x[32:], y[32:]), directory={directory!r},
      project_name="p", fixed={{"hidden_units": (4,)}}, seed=0,
      callbacks=[Log()], verbose=0)
"""


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_chief_and_two_workers_run_each_trial_once(tmp_path):
    log = tmp_path / "trainings.log"
    script = tmp_path / "sweep_script.py"
    script.write_text(
        textwrap.dedent(
            SCRIPT.format(
                root=ROOT,
                log=str(log),
                directory=str(tmp_path / "sweeps"),
            )
        )
    )
    codes = launch_local(
        [sys.executable, str(script)], workers=2, port=_free_port(), timeout=300
    )
    assert codes == {"chief": 0, "tuner0": 0, "tuner1": 0}
    frame = trials_frame(tmp_path / "sweeps" / "p")
    assert sorted(frame["trial_id"]) == ["0", "1", "2"]
    assert list(frame["status"]) == ["completed"] * 3
    assert set(frame["tuner_id"]) <= {"tuner0", "tuner1"}
    # Exactly one training per trial, none on the chief.
    trainings = log.read_text().split()
    assert len(trainings) == 3
    assert "chief" not in trainings
    assert (tmp_path / "sweeps" / "p" / "trials.csv").exists()


def test_role_environment():
    assert role_environment("tuner3", "10.0.0.1", 9000) == {
        "KERASTUNER_TUNER_ID": "tuner3",
        "KERASTUNER_ORACLE_IP": "10.0.0.1",
        "KERASTUNER_ORACLE_PORT": "9000",
    }


@pytest.mark.parametrize(
    "match, call",
    [
        ("`tuner_id` must be 'chief'", lambda: role_environment("")),
        (
            "`port` must be an integer",
            lambda: role_environment("chief", port=70000),
        ),
        (
            "`workers` must be a positive",
            lambda: launch_local(["true"], workers=0),
        ),
    ],
    ids=["tuner_id", "port", "workers"],
)
def test_errors(match, call):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.slow
def test_worker_started_after_the_chief_ended_stops_cleanly(tmp_path):
    # keras-tuner's chief shuts its server once every trial is handed out
    # and its workers have left; a late worker must stop, not wait or fail.
    log = tmp_path / "trainings.log"
    script = tmp_path / "sweep_script.py"
    script.write_text(
        textwrap.dedent(
            SCRIPT.format(
                root=ROOT, log=str(log), directory=str(tmp_path / "sweeps")
            )
        )
    )
    port = _free_port()
    codes = launch_local(
        [sys.executable, str(script)], workers=1, port=port, timeout=300
    )
    assert codes == {"chief": 0, "tuner0": 0}
    project = tmp_path / "sweeps" / "p"
    assert (project / distributed.CHIEF_ENDED).exists()
    late = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, **role_environment("tuner9", port=port)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert late.returncode == 0, late.stderr[-2000:]
    assert "the chief at 127.0.0.1:" in late.stdout
    assert "has ended" in late.stdout
    frame = trials_frame(project)
    assert sorted(frame["trial_id"]) == ["0", "1", "2"]
    assert set(frame["tuner_id"]) == {"tuner0"}
    assert log.read_text().split() == ["tuner0"] * 3


def test_worker_without_a_chief_fails_after_the_wait(tmp_path, monkeypatch):
    from recipes import build_mlp_classifier

    monkeypatch.setattr(distributed, "CHIEF_WAIT_S", 2)
    for name, value in role_environment("tuner0", port=_free_port()).items():
        monkeypatch.setenv(name, value)
    x = np.zeros((8, 4), "float32")
    y = np.zeros(8, "int64")
    with pytest.raises(ConnectionError, match="No chief answered at"):
        sweep(
            build_mlp_classifier,
            (x, y),
            learning_rate_space,
            max_trials=1,
            epochs=1,
            validation_data=(x, y),
            directory=str(tmp_path),
            fixed={"input_shape": (4,), "hidden_units": (2,), "num_classes": 2},
            verbose=0,
        )
    assert not (tmp_path / "sweep" / distributed.CHIEF_ENDED).exists()


class _Unavailable(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE


class _ClosingClient:
    """An oracle client whose chief closes the stream in the middle of a
    call, as keras-tuner's chief does when it shuts its server."""

    max_trials = 3

    def create_trial(self, tuner_id):
        raise _Unavailable("Stream removed")


@pytest.fixture
def listening_port():
    from concurrent import futures

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(None)


@pytest.mark.parametrize("ended", [True, False], ids=["ended", "crashed"])
def test_worker_cut_off_mid_call(tmp_path, monkeypatch, listening_port, ended):
    monkeypatch.setattr(distributed, "ENDED_GRACE_S", 0.5)
    for name, value in role_environment("tuner0", port=listening_port).items():
        monkeypatch.setenv(name, value)
    assert distributed.is_worker() and not distributed.is_chief()
    oracle = distributed.WorkerOracle(_ClosingClient(), str(tmp_path), "w0")
    if not ended:
        # No chief_ended.json: the chief died, the worker fails as
        # keras-tuner's does.
        with pytest.raises(grpc.RpcError):
            oracle.create_trial("w0")
        return
    distributed.mark_chief_ended(str(tmp_path), 3, 3)
    trial = oracle.create_trial("w0")
    assert trial.status == keras_tuner.engine.trial.TrialStatus.STOPPED
    assert oracle.max_trials == 3


def test_stale_chief_ended_of_a_smaller_sweep_is_ignored(tmp_path):
    distributed.mark_chief_ended(str(tmp_path), 3, 3)
    assert distributed.chief_ended(str(tmp_path), 3)["trials"] == 3
    assert distributed.chief_ended(str(tmp_path), None)["trials"] == 3
    assert distributed.chief_ended(str(tmp_path), 5) is None
    distributed.clear_chief_ended(str(tmp_path))
    distributed.clear_chief_ended(str(tmp_path))
    assert distributed.chief_ended(str(tmp_path)) is None
