"""The ESN's time loops, compiled with the backend's compiler, and their
cache.

The layers themselves are written with `keras.ops` only. The ESN's
closed-form `fit`, `predict` and `generate` run those layers over long
series outside `keras.Model.fit`, so they compile the loop themselves: on
TensorFlow with XLA (`tf.function(jit_compile=True)`). Other backends run
the same code eagerly: correct, only slower.

A loop is compiled as a function of the weights' values (read through a
`keras.StatelessScope`) and cached by the model's structure, so every ESN
of the same structure (a sweep over seeds, spectral radii, leak rates or
scalings, or `ESN.redraw`) shares one compilation: the leak rate is a
variable of each reservoir, like its matrices.

`HostWorker` lets the NumPy work on one chunk's results (the ridge
readout's normal equations) run while the compiled loop computes the next
chunk, when more than one thread is allowed.
"""

import functools
import json
import os
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
from keras import ops

from toolkit.layers.reservoir._weights import INITIALIZER_ARGUMENTS
from toolkit.layers.reservoir.reservoir import REDRAWABLE, sparse_columns
from toolkit.models._esn_sequences import padded

MAX_SHARED_LOOPS = 16
SPARSE_MIN_BYTES = 8 << 20  # dense float32 matrices from about 1450 units
_SHARED_LOOPS = {}


def compile_loop(function):
    """`function` compiled for the current backend (or unchanged)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True, autograph=False)
    return function


# The loop bodies -----------------------------------------------------------


def step(model, u, drive, states, y_prev, free, sparse=None, noise=None):
    """One step of the whole stack, from the first reservoir's projected
    drive; returns the new states and the readout's input. `sparse`: per
    reservoir, None or its `(indices, values)` column layout. `noise`:
    None or, per reservoir, the state noise `(batch, units)` added to its
    new state (which the readout and the next reservoir then read)."""
    sparse = sparse or [None] * len(model.reservoirs)
    first = model.reservoirs[0]
    if free:
        feedback = ops.cast(y_prev, drive.dtype)
        drive = drive + ops.matmul(feedback, first.feedback_kernel)
    new_states = []
    for i, (reservoir, state, layout) in enumerate(
        zip(model.reservoirs, states, sparse)
    ):
        if i:
            drive = reservoir.project(new_states[-1])
        hidden = reservoir.step(drive, state, layout)
        if noise is not None:
            hidden = hidden + noise[i]
        new_states.append(hidden)
    features = ([u] if model.input_to_readout else []) + new_states
    return new_states, ops.concatenate(features, axis=-1)


def free_run(model, inputs, states, y_prev):
    """`model(x)` of a feedback model: outputs fed back at each step."""
    drive = model.reservoirs[0].project(inputs)

    def body(carry, xs):
        new_states, features = step(
            model, xs[0], xs[1], carry[0], carry[1], True
        )
        new = (new_states, model.readout(features))
        return new, new  # `ops.scan` needs outputs shaped like carry

    _, (_, ys) = ops.scan(
        body,
        (list(states), y_prev),
        (
            ops.transpose(inputs, (1, 0, 2)),
            ops.transpose(drive, (1, 0, 2)),
        ),
    )
    return ops.transpose(ys, (1, 0, 2))


def chunk_loop(
    model, x, n_valid, states, y_prev, teacher, free, input_noise=None,
    state_noise=None, sparse=None,
):  # fmt: skip
    """The loop over one chunk `x` `(batch, length, features)` of which the
    first `n_valid` steps are real (the rest is padding, so that one
    compilation serves every chunk of that length).

    `input_noise` `(batch, length, features)` is added to `x`;
    `state_noise` `(batch, length, sum of units)` to the new states (both
    teacher-forced fits only; None: no noise, the same graph as without).

    Returns the readout's inputs `(batch, length, size)`, the outputs
    `(batch, length, output_dim)`, the states and the output at step
    `n_valid - 1`."""
    batch, length, width = x.shape
    first = model.reservoirs[0]
    if input_noise is not None:
        x = x + input_noise
    if state_noise is not None:
        state_noise = ops.transpose(state_noise, (1, 0, 2))
        total = sum(r.units for r in model.reservoirs)
        starts = np.cumsum([0] + [r.units for r in model.reservoirs])
    drive = ops.transpose(first.project(x, teacher), (1, 0, 2))
    inputs = ops.transpose(x, (1, 0, 2))
    size = model._feature_size(x.shape)
    features = ops.zeros((length, batch, size))
    outputs = ops.zeros(
        (length, batch, model.output_dim), dtype=model.readout_dtype
    )

    def body(t, states, y_prev, features, outputs):
        u = ops.slice(inputs, (t, 0, 0), (1, batch, width))[0]
        d = ops.slice(drive, (t, 0, 0), (1, batch, first.units))[0]
        noise = None
        if state_noise is not None:
            n_t = ops.slice(state_noise, (t, 0, 0), (1, batch, total))[0]
            noise = [
                ops.slice(n_t, (0, int(a)), (batch, r.units))
                for a, r in zip(starts, model.reservoirs)
            ]
        states, feats = step(model, u, d, states, y_prev, free, sparse, noise)
        features = ops.slice_update(features, (t, 0, 0), feats[None])
        if free:
            y_prev = model.readout(feats)
            outputs = ops.slice_update(outputs, (t, 0, 0), y_prev[None])
        return t + 1, states, y_prev, features, outputs

    _, states, y_prev, features, outputs = ops.while_loop(
        lambda t, *_: t < n_valid,
        body,
        (ops.zeros((), "int32"), list(states), y_prev, features, outputs),
    )
    features = ops.transpose(features, (1, 0, 2))
    if free:
        outputs = ops.transpose(outputs, (1, 0, 2))
    else:
        outputs = model.readout(features)
        y_prev = ops.take(outputs, n_valid - 1, axis=1)
    return features, outputs, states, y_prev


def generate_loop(model, states, y_last, steps, sparse=None):
    """`steps` outputs in closed loop, each fed back as the next input."""
    first = model.reservoirs[0]

    def body(carry, _):
        u = ops.cast(carry[1], "float32")
        drive = first.project(u)
        new_states, features = step(
            model, u, drive, carry[0], carry[1], model.feedback, sparse
        )
        new = (new_states, model.readout(features))
        return new, new

    _, (_, ys) = ops.scan(body, (list(states), y_last), length=steps)
    return ops.transpose(ys, (1, 0, 2))


_LOOPS = {"chunk": chunk_loop, "generate": generate_loop}


# The cache -----------------------------------------------------------------


def compiled(model, name, batch):
    """The compiled loop `name` (`"chunk"` or `"generate"`) bound to
    `model`'s weights, for a batch of `batch` sequences.

    The compilation is shared by every ESN of the same structure: a second
    model (another seed, say) reuses the first one's. For a small batch, a
    sparse recurrent matrix enters the loop in its column layout
    (`sparse_columns`): the same product with a fraction of the work and
    memory traffic. The cache keeps the `MAX_SHARED_LOOPS` most recently
    used loops."""
    config = structure(model)
    features = model.reservoirs[0].kernel.shape[0]
    key = (name, features, json.dumps(config, sort_keys=True, default=str))
    function = _SHARED_LOOPS.pop(key, None)
    if function is None:
        template, body = model, _LOOPS[name]

        def loop(values, sparse, *args):
            mapping = list(zip(template.weights, values))
            with keras.StatelessScope(state_mapping=mapping):
                return body(template, *args, sparse=sparse)

        function = compile_loop(loop)
    _SHARED_LOOPS[key] = function  # most recently used last
    while len(_SHARED_LOOPS) > MAX_SHARED_LOOPS:
        _SHARED_LOOPS.pop(next(iter(_SHARED_LOOPS)))
    values = [weight.value for weight in model.weights]
    sparse = [sparse_layout(r, batch) for r in model.reservoirs]
    return functools.partial(function, values, sparse)


def structure(model):
    """The part of `model`'s config a compiled loop depends on: not the
    seed, the name, the leak rate, the scalings or the brought matrices,
    which only change the variables' values."""
    config = model.get_config()
    for name in ("seed", "name") + REDRAWABLE + tuple(INITIALIZER_ARGUMENTS):
        config.pop(name, None)
    return config


def sparse_layout(reservoir, batch):
    """The column layout of a reservoir's matrix when it pays, else None.

    The gathered product reads `batch * units * k` scattered entries (`k`
    the most non-zeros in a column) where the dense one streams `units^2`
    weights, much faster per entry: it pays once the dense matrix outgrows
    the cache (`SPARSE_MIN_BYTES`) and `4 batch k <= units`."""
    if 4 * reservoir.units**2 < SPARSE_MIN_BYTES:
        return None
    matrix = ops.convert_to_numpy(reservoir.recurrent_kernel)
    k = int(np.count_nonzero(matrix, axis=0).max())
    if 4 * batch * k > reservoir.units:
        return None
    indices, values = sparse_columns(matrix)
    return ops.convert_to_tensor(indices), ops.convert_to_tensor(values)


def run_chunks(
    model, batch_x, chunk_size, outputs=False, teacher=None,
    initial_state=None, noise=None,
):  # fmt: skip
    """Runs the compiled loop over the time axis, chunk by chunk, carrying
    the states. Yields `(start, stop, features, carry)`, or `(carry,
    outputs)` when `outputs`, for the real steps of each chunk. `noise`:
    None or a function `(start, stop, length)` returning the chunk's
    padded `(input_noise, state_noise)`, each None or an array.

    Every chunk has the same padded length: a power of two, at most
    `chunk_size`, smaller when the batch's states would exceed 64 MiB per
    chunk, and no longer than the series needs (at least 64). So a handful
    of compilations serve every series length."""
    batch, total = batch_x.shape[:2]
    row_bytes = 4 * batch * (model._feature_size(batch_x.shape) + 1)
    length = min(chunk_size, max(64, (64 << 20) // row_bytes))
    length = 1 << (length.bit_length() - 1)
    length = min(length, 1 << max(6, (total - 1).bit_length()))
    loop = compiled(model, "chunk", batch)
    free = model.feedback and outputs
    states = initial_state or model._zero_states(batch)
    y_prev = model._zero_output(batch)
    for start in range(0, total, length):
        stop = min(start + length, total)
        n_valid = ops.convert_to_tensor(stop - start, "int32")
        x = padded(batch_x[:, start:stop], length)
        t = None
        if teacher is not None and not free:
            t = padded(teacher[:, start:stop], length)
        extra = () if noise is None else noise(start, stop, length)
        features, values, states, y_prev = loop(
            x, n_valid, states, y_prev, t, free, *extra
        )
        if outputs:
            values = ops.convert_to_numpy(values)[:, : stop - start]
            yield (states, y_prev), values
        else:
            features = ops.convert_to_numpy(features)[:, : stop - start]
            yield start, stop, features, (states, y_prev)


# Host-side work beside the loop ----------------------------------------------


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
    it to the thread would only add a wait while TensorFlow's pool threads
    still spin on the cores. The thread itself is started only by the
    first call that goes to it."""

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
