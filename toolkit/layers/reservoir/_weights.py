"""The reservoir's fixed matrices: the default draws, and the matrices or
initializers a user brings instead (`Reservoir`'s `*_initializer`
arguments)."""

import collections

import keras
import numpy as np
import scipy.sparse
from keras import ops

from toolkit import validation as v
from toolkit.initializers.spectral import spectral_radius

#: The config value recording that a matrix was given as an array: the
#: values travel with the saved variables, not with the config.
GIVEN = "given"

#: `Reservoir` argument -> (the matrix it sets, the hyperparameter that
#: scales the layer's own draw of that matrix).
INITIALIZER_ARGUMENTS = {
    "recurrent_initializer": ("recurrent_kernel", "spectral_radius"),
    "kernel_initializer": ("kernel", "input_scaling"),
    "bias_initializer": ("bias", "bias_scaling"),
    "feedback_initializer": ("feedback_kernel", "feedback_scaling"),
}


def matrix_option(name, value):
    """None, `GIVEN`, a float64 NumPy array, or a Keras initializer."""
    if value is None or (isinstance(value, str) and value == GIVEN):
        return value
    if isinstance(value, (str, dict, keras.initializers.Initializer)) or (
        callable(value) and not hasattr(value, "__array__")
    ):
        return v.get_initializer(name, value)
    try:
        array = np.asarray(ops.convert_to_numpy(value), dtype="float64")
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Argument `{name}` must be None, an array or a Keras "
            f"initializer. Received: {name}={value!r}"
        ) from error
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"Argument `{name}` must hold finite values. Received: an "
            "array with NaN or infinite entries"
        )
    if np.any(np.abs(array) > np.finfo("float32").max):
        raise ValueError(
            f"Argument `{name}` must hold values within the float32 range "
            f"(|w| <= {np.finfo('float32').max:.4g}), the dtype of the "
            "weights. Received: an array with larger entries"
        )
    return array


def check_shape(name, value, shape):
    """An array `value` must have `shape`."""
    if isinstance(value, np.ndarray) and value.shape != tuple(shape):
        raise ValueError(
            f"Argument `{name}` must be an array of shape {tuple(shape)}. "
            f"Received: an array of shape {value.shape}"
        )


def serialize_option(value):
    """The config entry of a matrix option."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return GIVEN
    return keras.initializers.serialize(value)


def reseeded(initializer, seed, index):
    """`initializer` rebuilt with a seed derived from the layer's `seed`
    and the matrix's `index` (when it takes a seed and `seed` is an int),
    so that the reservoir's seed fixes every matrix."""
    config = initializer.get_config()
    if seed is None or "seed" not in config:
        return initializer
    derived = int(np.random.default_rng([seed, index]).integers(2**31 - 1))
    return type(initializer).from_config({**config, "seed": derived})


def nonzero_count(size, density):
    """The exact number of non-zeros `W` and `W_in` get out of `size`
    entries: `round(density * size)`, at least one (`density` is in
    (0, 1])."""
    return max(1, int(round(density * size)))


def sparse_signs(rng, shape, density):
    """A matrix with `round(density * size)` entries (at least one) equal to
    +-1, at positions drawn uniformly without replacement, the rest zero;
    then at least one non-zero per row, so every input reaches the
    reservoir."""
    size = shape[0] * shape[1]
    nnz = nonzero_count(size, density)
    signs = rng.choice([-1.0, 1.0], size=nnz)  # first: fixes seeds' draws
    matrix = np.zeros(size)
    matrix[rng.choice(size, size=nnz, replace=False)] = signs
    matrix = matrix.reshape(shape)
    empty = ~matrix.any(axis=1)
    matrix[empty, rng.integers(0, shape[1], size=int(empty.sum()))] = (
        rng.choice([-1.0, 1.0], size=int(empty.sum()))
    )
    return matrix


def sparse_columns(matrix, multiple=32):
    """The non-zeros of each column of `matrix`, padded to a common count.

    For `(rows, cols)` `matrix`, returns `indices` int32 and `values`
    float32, both `(cols, k)`, such that `(x @ matrix)[j] = sum_k
    values[j, k] * x[indices[j, k]]`. `k` is the largest number of
    non-zeros in a column, rounded up to a multiple of `multiple` (so
    that reservoirs of one size share compiled loops); padding slots hold
    index 0 and value 0.
    """
    columns = scipy.sparse.csc_matrix(matrix)
    counts = np.diff(columns.indptr)
    k = max(1, int(counts.max()))
    k = min(-(-k // multiple) * multiple, matrix.shape[0])
    n = matrix.shape[1]
    owner = np.repeat(np.arange(n), counts)
    slot = np.arange(columns.nnz) - np.repeat(columns.indptr[:-1], counts)
    indices = np.zeros((n, k), dtype="int32")
    values = np.zeros((n, k), dtype="float32")
    indices[owner, slot] = columns.indices
    values[owner, slot] = columns.data
    return indices, values


def per_reservoir(name, value, count, deep):
    """One matrix option per reservoir: a deep ESN's list, else `value` for
    every reservoir."""
    if deep and isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(
                f"Argument `{name}` must be one value for every reservoir "
                f"or a list of one per reservoir ({count}). Received a list "
                f"of {len(value)}"
            )
        return list(value)
    return [value] * count


def radius_of(matrix, seed):
    """The spectral radius of a drawn recurrent matrix (ARPACK above 100
    units; tol=1e-4: accurate enough for a radius, and faster than 1e-6)."""
    return spectral_radius(
        matrix, exact_size=100, maxiter=1000, tol=1e-4, seed=seed
    )


class DrawCache:
    """A small least-recently-used cache of random draws."""

    def __init__(self, size):
        self.size = size
        self._items = collections.OrderedDict()

    def get(self, key):
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key, item):
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self):
        self._items.clear()
