"""A quiet start for the `toolkit` command line.

TensorFlow's C++ side prints its start-up lines (oneDNN, the CPU features,
and on a machine without a GPU the CUDA probe's `failed call to cuInit`,
which reads like a real error) through absl before `TF_CPP_MIN_LOG_LEVEL`
is read. `recipes/__init__.py` imports this module first, so that when the
process is the `toolkit` command (the console script, or `python -m
recipes.cli`) without `--verbose`, TensorFlow is imported with stderr sent
to the null device. Importing `recipes` from Python changes nothing.
"""

import os
import sys


def is_command_line(argv=None):
    """Whether this process runs the `toolkit` command: `argv` (default:
    the interpreter's own, `sys.orig_argv`) runs `python -m recipes.cli`
    or a script named `toolkit`."""
    if argv is None:
        argv = list(getattr(sys, "orig_argv", sys.argv))
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1] == "recipes.cli"
    scripts = [os.path.basename(arg) for arg in argv[:2]]
    return any(name in ("toolkit", "toolkit.exe") for name in scripts)


def import_tensorflow_quietly():
    """Import TensorFlow and probe its devices with stderr (fd 2) sent to
    the null device, then put stderr back. Does nothing for another Keras
    backend or when TensorFlow is already imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        try:
            import tensorflow as tf

            # The CUDA probe (cuInit) runs at the first device query.
            tf.config.list_physical_devices()
        except ImportError:
            # Reported, with its message, by the code that needs it.
            pass
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _start():
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if is_command_line(argv) and "--verbose" not in argv:
        import_tensorflow_quietly()


_start()
