"""Sweeps beyond one process: keras-tuner's chief / worker mode.

keras-tuner distributes a search with one chief process, which runs the
oracle as a gRPC server and trains nothing, and any number of workers,
which ask it for trials, train them and report back. Every process runs
the same program (e.g. `toolkit sweep CONFIG`); three environment
variables tell each its role:

- `KERASTUNER_TUNER_ID`: `"chief"` for the chief, a unique name (e.g.
  `"tuner0"`) for each worker;
- `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`: where the chief
  listens.

The chief and the workers must share the sweep's `directory` (a shared
file system across machines). On one machine, `launch_local` starts them
all; across machines, start each by hand:

```bash
# on the chief's machine (10.0.0.1)
KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=0.0.0.0 \\
KERASTUNER_ORACLE_PORT=8000 toolkit sweep examples/sweep_digits.yaml
# on each worker machine, i = 0, 1, ...
KERASTUNER_TUNER_ID=tuner$i KERASTUNER_ORACLE_IP=10.0.0.1 \\
KERASTUNER_ORACLE_PORT=8000 toolkit sweep examples/sweep_digits.yaml
```

When the chief has handed out every trial and its workers have asked for
more, keras-tuner shuts the chief's server. A worker that starts (or asks
again) after that would wait an hour for it (keras-tuner's gRPC wait) or
fail with `UNAVAILABLE`. So the chief of a `sweep` leaves `chief_ended.json`
in the project folder when its search returns, and a worker whose chief is
unreachable, or stops answering in the middle of a call, looks for that
file: there, the worker prints one line saying the chief has ended and stops
like a worker told to (its `sweep` returns, exit code 0). A worker whose
chief never came up (a wrong address or port) finds no such file and
fails, as keras-tuner's worker does, after keras-tuner's wait
(`CHIEF_WAIT_S`).
"""

import json
import os
import subprocess
import sys
import time

from toolkit import validation as v

#: The file a sweep's chief leaves in its project folder when it ends.
CHIEF_ENDED = "chief_ended.json"

#: Seconds a worker waits for an unreachable chief before failing
#: (keras-tuner's own gRPC timeout for its workers).
CHIEF_WAIT_S = 60 * 60

#: Seconds a worker cut off in the middle of a call waits for the chief's
#: `CHIEF_ENDED` (written just after the chief's server stops).
ENDED_GRACE_S = 60

ENVIRONMENT = (
    "KERASTUNER_TUNER_ID",
    "KERASTUNER_ORACLE_IP",
    "KERASTUNER_ORACLE_PORT",
)


def role_environment(tuner_id, ip="127.0.0.1", port=8000):
    """The environment variables of one process of a distributed sweep.

    Args:
        tuner_id: str, `"chief"` or a unique worker name such as
            `"tuner0"`.
        ip: str, the chief's address. Default: `"127.0.0.1"`.
        port: int, the chief's port. Default: 8000.

    Returns:
        dict of the three `KERASTUNER_*` variables.
    """
    if not isinstance(tuner_id, str) or not tuner_id:
        raise ValueError(
            "Argument `tuner_id` must be 'chief' or a non-empty worker "
            f"name. Received: tuner_id={tuner_id!r}"
        )
    if (
        isinstance(port, bool)
        or not isinstance(port, int)
        or not (0 < port < 65536)
    ):
        raise ValueError(
            "Argument `port` must be an integer in [1, 65535]. "
            f"Received: port={port!r}"
        )
    return {
        "KERASTUNER_TUNER_ID": tuner_id,
        "KERASTUNER_ORACLE_IP": str(ip),
        "KERASTUNER_ORACLE_PORT": str(port),
    }


def launch_local(
    command,
    workers=2,
    port=8000,
    ip="127.0.0.1",
    env=None,
    cwd=None,
    timeout=None,
):
    """Run `command` as a chief and `workers` workers on this machine and
    wait for all of them.

    Args:
        command: list of str, the program every process runs, e.g.
            `[sys.executable, "-m", "recipes.cli", "sweep", "cfg.yaml"]`.
        workers: int >= 1. Default: 2.
        port: int, the chief's port. Default: 8000.
        ip: str. Default: `"127.0.0.1"`.
        env: dict or None, the base environment (default: this process's).
        cwd: str or None, the working directory.
        timeout: float or None, seconds to wait before killing them all.

    Returns:
        dict from tuner id (`"chief"`, `"tuner0"`, ...) to exit code.

    Example:

    ```python
    launch_local([sys.executable, "-m", "recipes.cli", "sweep",
                  "examples/sweep_digits.yaml"], workers=2, port=8123)
    ```
    """
    workers = v.check_positive_int("workers", workers)
    base = dict(os.environ if env is None else env)
    names = ["chief"] + [f"tuner{i}" for i in range(workers)]
    processes = {}
    try:
        for name in names:
            processes[name] = subprocess.Popen(
                list(command),
                cwd=cwd,
                env={**base, **role_environment(name, ip, port)},
            )
        codes = {}
        for name in names[1:] + names[:1]:
            codes[name] = processes[name].wait(timeout=timeout)
        return codes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def is_worker():
    """Whether this process is a worker of a distributed sweep (the
    `KERASTUNER_*` variables set, the tuner id not the chief's)."""
    return "KERASTUNER_ORACLE_IP" in os.environ and not is_chief()


def is_chief():
    """Whether this process is the chief of a distributed sweep."""
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" in (
        os.environ.get("KERASTUNER_TUNER_ID", "")
    )


def clear_chief_ended(project_dir):
    """Remove a previous run's `CHIEF_ENDED` (a chief starting)."""
    try:
        os.remove(os.path.join(project_dir, CHIEF_ENDED))
    except FileNotFoundError:
        pass


def mark_chief_ended(project_dir, trials, max_trials):
    """Leave `CHIEF_ENDED` in `project_dir`: the chief's search is over
    after `trials` trials (of `max_trials`, None for Hyperband)."""
    path = os.path.join(project_dir, CHIEF_ENDED)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as handle:
        json.dump(
            {
                "trials": trials,
                "max_trials": max_trials,
                "pid": os.getpid(),
                "end": time.time(),
            },
            handle,
        )
    os.replace(temporary, path)


def chief_ended(project_dir, max_trials=None):
    """The `CHIEF_ENDED` record of `project_dir` if its chief has ended a
    search of at least `max_trials` trials (a stale file from a smaller
    sweep does not count), else None."""
    try:
        with open(os.path.join(project_dir, CHIEF_ENDED)) as handle:
            ended = json.load(handle)
    except (OSError, ValueError):
        return None
    if max_trials and ended.get("trials", 0) < max_trials:
        return None
    return ended


class WorkerOracle:
    """A worker's keras-tuner oracle client that stops, rather than hangs
    or fails, when the chief has ended.

    `create_trial` first waits for the chief's address to answer, looking
    for the chief's `CHIEF_ENDED` while it does not; if the call is cut off
    with `UNAVAILABLE` it looks for that file for `ENDED_GRACE_S` seconds.
    Found, it returns a `STOPPED` trial (keras-tuner's own signal for a
    worker to leave its search loop) after printing one line; not found,
    it raises as keras-tuner's client does. Every other call goes to the
    client unchanged.

    Args:
        client: the oracle client keras-tuner gave the worker's tuner.
        project_dir: str, the sweep's project folder (shared with the
            chief).
        tuner_id: str, this worker's name (for its message).
    """

    def __init__(self, client, project_dir, tuner_id):
        import grpc

        self._client = client
        self._project_dir = project_dir
        self._tuner_id = tuner_id
        self._address = "{}:{}".format(
            os.environ["KERASTUNER_ORACLE_IP"],
            os.environ["KERASTUNER_ORACLE_PORT"],
        )
        self._channel = grpc.insecure_channel(self._address)

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_trial(self, tuner_id):
        import grpc

        if self._wait_for_chief():
            return self._stopped()
        try:
            return self._client.create_trial(tuner_id)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            if self._ended(ENDED_GRACE_S):
                return self._stopped()
            raise

    def _ended(self, seconds=0.0):
        deadline = time.monotonic() + seconds
        while True:
            ended = chief_ended(self._project_dir, self._max_trials())
            if ended is not None or time.monotonic() >= deadline:
                return ended
            time.sleep(0.5)

    def _max_trials(self):
        try:
            return self._client.max_trials
        except AttributeError:
            return None

    def _wait_for_chief(self):
        """True if the chief has ended, False once it answers."""
        import grpc

        deadline = time.monotonic() + CHIEF_WAIT_S
        while True:
            try:
                grpc.channel_ready_future(self._channel).result(timeout=1)
                return False
            except grpc.FutureTimeoutError:
                pass
            if self._ended() is not None:
                return True
            if time.monotonic() >= deadline:
                raise ConnectionError(
                    f"No chief answered at {self._address} in "
                    f"{CHIEF_WAIT_S}s and none has ended in "
                    f"{self._project_dir}: is the chief running, with "
                    "this KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT?"
                )

    def _stopped(self):
        import keras_tuner

        ended = chief_ended(self._project_dir) or {}
        print(
            f"worker {self._tuner_id}: the chief at {self._address} has "
            f"ended (the sweep is over, {ended.get('trials', '?')} trials); "
            "stopping.",
            flush=True,
        )
        return keras_tuner.engine.trial.Trial(
            keras_tuner.HyperParameters(),
            status=keras_tuner.engine.trial.TrialStatus.STOPPED,
        )


def main(argv=None):
    """`python -m toolkit.tuning.distributed WORKERS PORT -- COMMAND...`"""
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--")
    workers, port = int(argv[0]), int(argv[1])
    codes = launch_local(argv[split + 1 :], workers=workers, port=port)
    return max(codes.values())


if __name__ == "__main__":
    sys.exit(main())
