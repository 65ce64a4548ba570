"""Tests of toolkit.models._esn_loops's host worker (the loops themselves
are tested through the ESN in tests/test_esn.py)."""

import threading

import pytest

from toolkit.models import _esn_loops as loops_module


def test_host_worker_runs_the_last_call_in_the_callers_thread(monkeypatch):
    # A call with nothing left to overlap runs here, after the pending one.
    monkeypatch.setattr(loops_module, "host_threads_allowed", lambda: True)
    calls = []

    def record(name):
        calls.append((name, threading.get_ident()))

    with loops_module.HostWorker() as worker:
        worker.run(record, "first")
        worker.run(record, "last", last=True)
        assert [name for name, _ in calls] == ["first", "last"]
    assert calls[0][1] != threading.get_ident()
    assert calls[1][1] == threading.get_ident()

    calls.clear()
    with loops_module.HostWorker() as worker:
        worker.run(record, "only", last=True)
        assert worker._pool is None  # no thread was started for it
    assert calls == [("only", threading.get_ident())]


def test_host_worker_reraises_a_background_error(monkeypatch):
    monkeypatch.setattr(loops_module, "host_threads_allowed", lambda: True)

    def fail(value):
        raise ValueError(f"bad chunk {value}")

    with pytest.raises(ValueError, match="bad chunk 2"):
        with loops_module.HostWorker() as worker:
            worker.run(lambda value: None, 1)
            worker.run(fail, 2)
