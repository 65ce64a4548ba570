"""Compiling the ESN's time loops with the backend's compiler.

The layers themselves are written with `keras.ops` only. The ESN's
closed-form `fit`, `predict` and `generate` run those layers over long
series outside `keras.Model.fit`, so they compile the loop themselves: on
TensorFlow with XLA (`tf.function(jit_compile=True)`, which reads the
variables at run time, so a refitted readout is picked up). Other backends
run the same code eagerly: correct, only slower.

`HostWorker` lets the NumPy work on one chunk's results (the ridge
readout's normal equations) run while the compiled loop computes the next
chunk, when more than one thread is allowed.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import keras


def compile_loop(function):
    """`function` compiled for the current backend (or unchanged)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True, autograph=False)
    return function


def host_threads_allowed():
    """Whether host-side NumPy work may run beside the compiled loop: not
    on a single core, nor when TensorFlow was pinned to one thread
    (`tf.config.threading.set_intra_op_parallelism_threads(1)`), which
    asks for single-threaded work."""
    if (os.cpu_count() or 1) < 2 or keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads() != 1


class HostWorker:
    """Runs `run(function, *args)` calls one after the other, in a
    background thread when `host_threads_allowed()` (so the caller goes on
    to the next chunk meanwhile), else at once. At most one call is
    pending; leaving the `with` block waits for it and re-raises its
    error.

    A call made with `last=True` has nothing left to overlap with, so it
    runs at once in the caller's thread (after any pending call): handing
    it to the thread would only add a wait, and was measured to double the
    time of a 500-unit ESN's normal equations (TensorFlow's pool threads
    still spin on the cores right after the loop). The thread itself is
    started only by the first call that goes to it."""

    def __init__(self):
        self._allowed = False
        self._pool = None
        self._pending = None

    def __enter__(self):
        self._allowed = host_threads_allowed()
        return self

    def run(self, function, *args, last=False):
        self._wait()
        if last or not self._allowed:
            function(*args)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1)
        self._pending = self._pool.submit(function, *args)

    def _wait(self):
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __exit__(self, *exc_info):
        try:
            if exc_info[0] is None:
                self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        return False
