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
"""

import os
import subprocess
import sys

from toolkit import validation as v

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


def main(argv=None):
    """`python -m toolkit.tuning.distributed WORKERS PORT -- COMMAND...`"""
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--")
    workers, port = int(argv[0]), int(argv[1])
    codes = launch_local(argv[split + 1 :], workers=workers, port=port)
    return max(codes.values())


if __name__ == "__main__":
    sys.exit(main())
