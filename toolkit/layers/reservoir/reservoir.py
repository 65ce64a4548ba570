"""The echo-state reservoir: a fixed random leaky recurrent layer."""

import keras
import numpy as np
import scipy.sparse
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.initializers._seeds import make_generator_seed
from toolkit.initializers.spectral import spectral_radius


@register
class Reservoir(keras.layers.Layer):
    """Echo-state reservoir: fixed random recurrent weights, leaky units.

    With `u_t` the input, `x_{t-1}` the previous state and (optionally)
    `y_{t-1}` the previous output fed back, one step computes (row vectors,
    `f` is `activation`, `a` is `leak_rate`):

    ```
    x~_t = f(u_t W_in + x_{t-1} W + y_{t-1} W_fb + b)
    x_t  = (1 - a) x_{t-1} + a x~_t
    ```

    from `x_0 = 0` unless an initial state is given. The weights are drawn
    once, at build time, from NumPy's generator seeded with `seed`:

    - `W` `(units, units)`: a fraction `connectivity` of non-zero entries
      drawn from N(0, 1), then rescaled so that its spectral radius (largest
      absolute eigenvalue) is exactly `spectral_radius`. The radius is
      computed on the sparse matrix by ARPACK with a bounded number of
      restarts (`toolkit.initializers.spectral_radius`), never with a dense
      eigendecomposition above 100 units.
    - `W_in` `(features, units)`: a fraction `input_connectivity` of
      entries (exactly that count, as in `W`, at least one per input
      feature) equal to `+-input_scaling`, the rest zero.
    - `b` `(units,)`: uniform in `[-bias_scaling, bias_scaling]`.
    - `W_fb` `(feedback_dim, units)`: like `W_in`, scaled by
      `feedback_scaling` (only with `feedback_dim`).

    The weights are not trained: the layer is created with
    `trainable=False` (pass `trainable=True`, or set `layer.trainable`, to
    train them by gradient descent anyway). In `call` the input projection
    `u_t W_in + b` is computed for all steps at once, outside the time loop;
    only `x_{t-1} W` stays inside. The states are the layer's output, so
    reservoirs stack (a deep ESN) and feed any readout.

    Args:
        units: int, the number of reservoir units.
        spectral_radius: float > 0, the spectral radius of `W`.
            Default: 0.9.
        leak_rate: float in (0, 1], `a` above; 1 gives the plain
            (non-leaky) ESN update. Default: 1.0.
        input_scaling: float > 0, the magnitude of the input weights.
            Default: 1.0.
        bias_scaling: float >= 0, the half-width of the bias distribution
            (0: no bias). Default: 0.0.
        connectivity: float in (0, 1], the fraction of non-zero recurrent
            weights. Default: 0.1.
        input_connectivity: float in (0, 1], the fraction of non-zero input
            (and feedback) weights. Default: 0.1.
        activation: the activation `f`. Default: `"tanh"`.
        feedback_dim: int or None, the size of the fed-back output `y`;
            `None` disables feedback. Default: `None`.
        feedback_scaling: float > 0, the magnitude of the feedback weights.
            Default: 1.0.
        seed: int or None, the seed of the weights. Default: `None`.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        inputs: `(batch, timesteps, features)`.
        initial_state: optional `(batch, units)`, the state `x_0`.
        feedback: `(batch, timesteps, feedback_dim)`, the outputs
            `y_{t-1}` to feed back at each step (teacher forcing); required
            when `feedback_dim` is set, refused otherwise.

    Returns:
        The states `(batch, timesteps, units)`.

    Example:

    ```python
    import keras
    from toolkit.layers import Reservoir

    x = keras.random.normal((4, 50, 3))
    states = Reservoir(200, spectral_radius=1.1, leak_rate=0.3, seed=0)(x)
    # states: (4, 50, 200); fit a linear readout on them.
    ```

    Reference:
        Jaeger, "The 'echo state' approach to analysing and training
        recurrent neural networks", GMD Report 148, 2001; Jaeger et al.,
        "Optimization and applications of echo state networks with
        leaky-integrator neurons", Neural Networks, 2007; Lukosevicius,
        "A practical guide to applying echo state networks", 2012.
    """

    def __init__(
        self,
        units,
        spectral_radius=0.9,
        leak_rate=1.0,
        input_scaling=1.0,
        bias_scaling=0.0,
        connectivity=0.1,
        input_connectivity=0.1,
        activation="tanh",
        feedback_dim=None,
        feedback_scaling=1.0,
        seed=None,
        **kwargs,
    ):
        units = v.check_positive_int("units", units)
        spectral_radius = v.check_positive("spectral_radius", spectral_radius)
        leak_rate = v.check_in_range(
            "leak_rate", leak_rate, 0.0, 1.0, low_closed=False
        )
        input_scaling = v.check_positive("input_scaling", input_scaling)
        bias_scaling = v.check_non_negative("bias_scaling", bias_scaling)
        connectivity = v.check_in_range(
            "connectivity", connectivity, 0.0, 1.0, low_closed=False
        )
        input_connectivity = v.check_in_range(
            "input_connectivity", input_connectivity, 0.0, 1.0,
            low_closed=False,
        )  # fmt: skip
        activation_fn = v.get_activation("activation", activation)
        if feedback_dim is not None:
            feedback_dim = v.check_positive_int("feedback_dim", feedback_dim)
        feedback_scaling = v.check_positive(
            "feedback_scaling", feedback_scaling
        )
        seed = v.check_seed(seed)
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.units = units
        self.spectral_radius = spectral_radius
        self.leak_rate = leak_rate
        self.input_scaling = input_scaling
        self.bias_scaling = bias_scaling
        self.connectivity = connectivity
        self.input_connectivity = input_connectivity
        self.activation = activation_fn
        self.feedback_dim = feedback_dim
        self.feedback_scaling = feedback_scaling
        self.seed = seed
        self._generator_seed = make_generator_seed(seed)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "`Reservoir` needs a known number of input features. "
                f"Received: input_shape={input_shape}"
            )
        rng = np.random.default_rng(self._generator_seed)
        matrices = {
            "recurrent_kernel": self._recurrent_matrix(rng),
            "kernel": _sparse_signs(
                rng, (features, self.units), self.input_connectivity
            )
            * self.input_scaling,
            "bias": rng.uniform(-1.0, 1.0, self.units) * self.bias_scaling,
        }
        if self.feedback_dim is not None:
            matrices["feedback_kernel"] = (
                _sparse_signs(
                    rng,
                    (self.feedback_dim, self.units),
                    self.input_connectivity,
                )
                * self.feedback_scaling
            )
        for name, value in matrices.items():
            weight = self.add_weight(
                name=name, shape=value.shape, initializer="zeros"
            )
            weight.assign(value.astype(weight.dtype))
            setattr(self, name, weight)

    def _recurrent_matrix(self, rng):
        """Sparse N(0, 1) matrix rescaled to the requested spectral radius."""
        n = self.units
        nnz = _nonzero_count(n * n, self.connectivity)
        flat = rng.choice(n * n, size=nnz, replace=False)
        matrix = scipy.sparse.csr_matrix(
            (rng.standard_normal(nnz), (flat // n, flat % n)), shape=(n, n)
        )
        # tol=1e-4: accurate enough for a radius, and faster than 1e-6.
        radius = spectral_radius(
            matrix,
            exact_size=100,
            maxiter=1000,
            tol=1e-4,
            seed=self._generator_seed,
        )
        if not radius > 1e-12:
            raise ValueError(
                f"The random recurrent matrix of {n} units with "
                f"connectivity={self.connectivity} has spectral radius 0 "
                "(too few non-zero weights to form a cycle), so it cannot "
                "be rescaled. Increase `connectivity` or `units`."
            )
        return (matrix * (self.spectral_radius / radius)).toarray()

    def project(self, inputs, feedback=None):
        """The part of the drive computed outside the time loop.

        Args:
            inputs: `(..., features)`.
            feedback: `(..., feedback_dim)` or None.

        Returns:
            `u W_in + b (+ y W_fb)`, shape `(..., units)`.
        """
        drive = ops.matmul(inputs, self.kernel) + self.bias
        if feedback is not None:
            drive = drive + ops.matmul(feedback, self.feedback_kernel)
        return drive

    def step(self, drive, state, sparse=None):
        """One update from a projected drive `(batch, units)` and the state
        `x_{t-1}` `(batch, units)`; returns `x_t`.

        `sparse`: optional `(indices, values)`, the column layout of the
        recurrent matrix from `sparse_columns`; the product `x_{t-1} W` is
        then gathered from the non-zeros only (same result)."""
        if sparse is None:
            recurrent = ops.matmul(state, self.recurrent_kernel)
        else:
            indices, values = sparse
            gathered = ops.take(state, indices, axis=1)  # (batch, units, k)
            # The k products are summed by a product with a vector of ones,
            # not `ops.sum`: XLA's CPU backend then runs a vectorised
            # matrix-vector product instead of a scalar tree reduction.
            ones = ops.ones((ops.shape(values)[-1],), dtype=values.dtype)
            recurrent = ops.tensordot(gathered * values, ones, axes=1)
        pre = drive + recurrent
        return state + self.leak_rate * (self.activation(pre) - state)

    def run(self, drive, initial_state=None):
        """The states `(batch, timesteps, units)` for a projected drive
        `(batch, timesteps, units)`."""
        if initial_state is None:
            initial_state = ops.zeros(
                (ops.shape(drive)[0], self.units), dtype=drive.dtype
            )

        def body(state, drive_t):
            new = self.step(drive_t, state)
            return new, new

        _, states = ops.scan(
            body, initial_state, ops.transpose(drive, (1, 0, 2))
        )
        return ops.transpose(states, (1, 0, 2))

    def call(self, inputs, initial_state=None, feedback=None):
        if (feedback is None) != (self.feedback_dim is None):
            raise ValueError(
                "The `feedback` call argument must be given exactly when "
                f"`feedback_dim` is set. Received: feedback_dim="
                f"{self.feedback_dim}, feedback="
                f"{'None' if feedback is None else 'a tensor'}"
            )
        drive = self.project(inputs, feedback)
        return self.run(drive, initial_state)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "spectral_radius": self.spectral_radius,
                "leak_rate": self.leak_rate,
                "input_scaling": self.input_scaling,
                "bias_scaling": self.bias_scaling,
                "connectivity": self.connectivity,
                "input_connectivity": self.input_connectivity,
                "activation": keras.activations.serialize(self.activation),
                "feedback_dim": self.feedback_dim,
                "feedback_scaling": self.feedback_scaling,
                "seed": self.seed,
            }
        )
        return config


def _nonzero_count(size, density):
    """The exact number of non-zeros `W` and `W_in` get out of `size`
    entries: `round(density * size)`, at least one (`density` is in
    (0, 1])."""
    return max(1, int(round(density * size)))


def _sparse_signs(rng, shape, density):
    """A matrix with `round(density * size)` entries (at least one) equal to
    +-1, at positions drawn uniformly without replacement, the rest zero;
    then at least one non-zero per row, so every input reaches the
    reservoir."""
    size = shape[0] * shape[1]
    nnz = _nonzero_count(size, density)
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
