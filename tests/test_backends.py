"""The layers' reference checks on JAX (`tests/backend_checks.py`), in a
subprocess: Keras fixes its backend at import, once per process."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "backend_checks.py"


def test_reference_checks_pass_on_jax():
    pytest.importorskip("jax")
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": str(ROOT),
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = result.stdout + result.stderr[-4000:]
    assert "backend: jax" in result.stdout, report
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout, report
    assert "ok   composer_fit" in result.stdout
    assert "ok   flow_regularized_rnn" in result.stdout
