"""Checking and laying out the series an ESN reads (NumPy side)."""

import numpy as np
from keras import ops

from toolkit import validation as v


def as_sequences(name, value):
    """A list of float32 `(timesteps, features)` arrays, checked finite, and
    whether `value` was a single 2D sequence."""
    if value is None:
        raise ValueError(f"Argument `{name}` is required. Received: None")
    if isinstance(value, (list, tuple)) and value and np.ndim(value[0]) == 2:
        sequences, single = [np.asarray(s) for s in value], False
    else:
        array = np.asarray(value)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim == 2:
            sequences, single = [array], True
        elif array.ndim == 3:
            sequences, single = list(array), False
        else:
            raise ValueError(
                f"Argument `{name}` must be (timesteps, features), (batch, "
                "timesteps, features) or a list of (timesteps, features) "
                f"arrays. Received: an array of shape {array.shape}"
            )
    features = {s.shape[-1] for s in sequences}
    if len(features) != 1 or any(s.ndim != 2 or not len(s) for s in sequences):
        raise ValueError(
            f"Every sequence of `{name}` must be a non-empty (timesteps, "
            "features) array with the same number of features. Received "
            f"shapes {[s.shape for s in sequences]}"
        )
    checked = []
    for i, sequence in enumerate(sequences):
        if not np.issubdtype(sequence.dtype, np.number):
            raise ValueError(
                f"Argument `{name}` must be numeric. Received dtype "
                f"{sequence.dtype}"
            )
        if not np.all(np.isfinite(sequence)):
            bad = int(np.argmax(~np.isfinite(sequence).all(axis=-1)))
            raise ValueError(
                f"Argument `{name}` contains NaN or infinite values "
                f"(sequence {i}, first at step {bad}); clean or impute the "
                "series before fitting."
            )
        # Checked after the cast too: float64 values beyond the float32
        # range would become infinite in the reservoir.
        with np.errstate(over="ignore"):
            single_precision = sequence.astype("float32")
        if not np.all(np.isfinite(single_precision)):
            bad = int(np.argmax(~np.isfinite(single_precision).all(axis=-1)))
            raise ValueError(
                f"Argument `{name}` holds values beyond the float32 range "
                f"(|x| > {np.finfo('float32').max:.4g}) that the reservoir "
                f"computes in (sequence {i}, first at step {bad}); rescale "
                "the series before fitting."
            )
        checked.append(single_precision)
    return checked, single


def check_array_layout(name, value, sequences):
    """States are per row of an array: refuse lists of sequences."""
    if isinstance(value, (list, tuple)):
        raise ValueError(
            f"`{name}` need `x` as one array (timesteps, features) or "
            f"(batch, timesteps, features). Received: a list of "
            f"{len(sequences)} sequences"
        )


def check_pairs(xs, ys, output_dim):
    """Inputs and targets pair up: as many sequences, of equal lengths, the
    targets with `output_dim` features."""
    if len(xs) != len(ys):
        raise ValueError(
            "Arguments `x` and `y` must hold the same number of "
            f"sequences. Received: {len(xs)} and {len(ys)}"
        )
    for i, (a, b) in enumerate(zip(xs, ys)):
        if len(a) != len(b):
            raise ValueError(
                f"Sequence {i} of `x` has {len(a)} steps but its target "
                f"has {len(b)}: they must have the same length."
            )
        if b.shape[-1] != output_dim:
            raise ValueError(
                f"Argument `y` must have `output_dim`={output_dim} "
                f"features. Received: {b.shape[-1]}"
            )


def initial_states(initial_state, batch, reservoirs):
    """`initial_state` checked against the reservoirs' sizes and as float32
    tensors `(batch, units)`, or None."""
    if initial_state is None:
        return None
    states = list(initial_state)
    shapes = [np.shape(state) for state in states]
    expected = [(r.units,) for r in reservoirs]
    if batch != 1 or (shapes and len(shapes[0]) != 1):
        expected = [(batch, r.units) for r in reservoirs]
    if shapes != expected:
        raise ValueError(
            "Argument `initial_state` must be a list of one state per "
            f"reservoir, of shapes {expected}. Received shapes {shapes}"
        )
    return [
        ops.convert_to_tensor(np.reshape(s, (batch, -1)), "float32")
        for s in states
    ]


def states_out(states, single):
    arrays = [ops.convert_to_numpy(state) for state in states]
    return [a[0] for a in arrays] if single else arrays


def check_washout(washout, shortest):
    washout = v.check_non_negative_int("washout", washout)
    if washout >= shortest:
        raise ValueError(
            "Argument `washout` must be an integer >= 0 and shorter than "
            f"every sequence (shortest: {shortest} steps). "
            f"Received: washout={washout!r}"
        )
    return washout


def groups(xs):
    """Sequences grouped by length: `(indices, (batch, timesteps, f))`."""
    by_length = {}
    for i, s in enumerate(xs):
        by_length.setdefault(len(s), []).append(i)
    for indices in by_length.values():
        yield indices, np.stack([xs[i] for i in indices])


def shift(y):
    """`y_{t-1}` aligned with step `t` (zeros at `t = 0`)."""
    shifted = np.zeros_like(y, dtype="float32")
    shifted[:, 1:] = y[:, :-1]
    return shifted


def padded(array, length):
    missing = length - array.shape[1]
    if not missing:
        return array
    return np.pad(array, ((0, 0), (0, missing), (0, 0)))


def restore_layout(outputs, single, original):
    if single:
        return outputs[0]
    if isinstance(original, (list, tuple)):
        return outputs
    return np.stack(outputs)
