"""A chief and two workers, separate processes on 127.0.0.1, finish a
small sweep with every trial run exactly once."""

import socket
import sys
import textwrap

import pytest

from toolkit.tuning import launch_local, role_environment, trials_frame

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
