"""The echo-state reservoir: a fixed random leaky recurrent layer."""

import keras
import numpy as np
import scipy.sparse
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.initializers._seeds import make_generator_seed
from toolkit.layers.reservoir import _weights as w
from toolkit.layers.reservoir._weights import sparse_columns

__all__ = ["Reservoir", "sparse_columns"]

#: The hyperparameters `redraw` may change (the others fix the structure).
REDRAWABLE = (
    "spectral_radius",
    "leak_rate",
    "input_scaling",
    "bias_scaling",
    "feedback_scaling",
)

#: Unscaled recurrent draws, their radii and the generator's state after
#: them, by (seed, units, connectivity).
_RECURRENT_DRAWS = w.DrawCache(size=32)


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

    Any of the four matrices can be brought instead of drawn
    (`recurrent_initializer` for `W`, `kernel_initializer` for `W_in`,
    `bias_initializer` for `b`, `feedback_initializer` for `W_fb`), as in
    ReservoirPy's `W`, `Win` and `bias`: an array of the right shape is
    used as is, a Keras initializer (a name, a config, an instance, the
    toolkit's `SpectralRadius` or `Sparse`) is called with the matrix's
    shape and its result used as is. The scaling hyperparameters
    (`spectral_radius`, `input_scaling`, `bias_scaling`,
    `feedback_scaling`) apply only to the matrices the layer draws itself:
    to give a brought `W` a radius, use `SpectralRadius(radius, base)`.
    With an int `seed`, an initializer that takes a seed is rebuilt with
    one derived from `seed`, so the layer's seed fixes every matrix. In the
    config an initializer is serialized; an array is recorded as
    `"given"`, its values saved with the layer's variables (a `.keras`
    file restores them exactly; a layer rebuilt from the config alone
    starts that matrix at zeros, for `set_weights` to fill).

    `redraw(seed=..., spectral_radius=..., ...)` draws new weights into the
    same variables (for a hyperparameter search that keeps one model and
    one compiled loop); the leak rate is a (non-trainable) variable too, so
    changing it recompiles nothing.

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
        recurrent_initializer: None (the draw above), an array
            `(units, units)` or a Keras initializer, for `W`.
            Default: `None`.
        kernel_initializer: None, an array `(features, units)` or a Keras
            initializer, for `W_in`. Default: `None`.
        bias_initializer: None, an array `(units,)` or a Keras initializer,
            for `b`. Default: `None`.
        feedback_initializer: None, an array `(feedback_dim, units)` or a
            Keras initializer, for `W_fb` (with `feedback_dim` only).
            Default: `None`.
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
        recurrent_initializer=None,
        kernel_initializer=None,
        bias_initializer=None,
        feedback_initializer=None,
        **kwargs,
    ):
        units = v.check_positive_int("units", units)
        scalings = _check_scalings(
            spectral_radius=spectral_radius,
            leak_rate=leak_rate,
            input_scaling=input_scaling,
            bias_scaling=bias_scaling,
            feedback_scaling=feedback_scaling,
        )
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
        seed = v.check_seed(seed)
        options = {
            "recurrent_initializer": recurrent_initializer,
            "kernel_initializer": kernel_initializer,
            "bias_initializer": bias_initializer,
            "feedback_initializer": feedback_initializer,
        }
        options = {k: w.matrix_option(k, o) for k, o in options.items()}
        w.check_shape(
            "recurrent_initializer",
            options["recurrent_initializer"],
            (units, units),
        )
        w.check_shape("bias_initializer", options["bias_initializer"], (units,))
        if feedback_dim is None and options["feedback_initializer"] is not None:
            raise ValueError(
                "Argument `feedback_initializer` needs `feedback_dim` (the "
                "layer has no feedback weights without it). Received: "
                "feedback_dim=None"
            )
        if feedback_dim is not None:
            w.check_shape(
                "feedback_initializer",
                options["feedback_initializer"],
                (feedback_dim, units),
            )
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.units = units
        for name, value in scalings.items():
            setattr(self, name, value)
        self.connectivity = connectivity
        self.input_connectivity = input_connectivity
        self.activation = activation_fn
        self.feedback_dim = feedback_dim
        self.seed = seed
        self._generator_seed = make_generator_seed(seed)
        for name, value in options.items():
            setattr(self, name, value)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "`Reservoir` needs a known number of input features. "
                f"Received: input_shape={input_shape}"
            )
        w.check_shape(
            "kernel_initializer",
            self.kernel_initializer,
            (features, self.units),
        )
        for name, value in self._matrices(features).items():
            weight = self.add_weight(
                name=name, shape=value.shape, initializer="zeros"
            )
            weight.assign(value.astype(weight.dtype))
            setattr(self, name, weight)
        # A variable, not a Python constant, so that the compiled loops
        # read it as an input and `redraw` changes it without recompiling.
        # Created last: saved layers without it still load (see
        # `load_own_variables`).
        self.leak = self.add_weight(
            name="leak_rate",
            shape=(),
            initializer=keras.initializers.Constant(self.leak_rate),
            trainable=False,
        )

    def _matrices(self, features):
        """The values of `W`, `W_in`, `b` (and `W_fb`), as float64 arrays:
        the given arrays, the initializers' draws, or the layer's own
        draws from one generator, in that order (a given matrix skips its
        draw)."""
        rng = np.random.default_rng(self._generator_seed)
        shapes = {
            "recurrent_kernel": (self.units, self.units),
            "kernel": (features, self.units),
            "bias": (self.units,),
        }
        if self.feedback_dim is not None:
            shapes["feedback_kernel"] = (self.feedback_dim, self.units)
        given = {
            matrix: getattr(self, argument)
            for argument, (matrix, _) in w.INITIALIZER_ARGUMENTS.items()
        }
        matrices = {}
        for index, (name, shape) in enumerate(shapes.items()):
            option = given[name]
            if option is None:
                matrices[name] = self._draw(name, rng, shape)
            elif isinstance(option, np.ndarray):
                matrices[name] = option
            elif isinstance(option, str):  # GIVEN: filled by a load
                matrices[name] = np.zeros(shape)
            else:
                initializer = w.reseeded(option, self.seed, index)
                matrices[name] = np.asarray(
                    ops.convert_to_numpy(initializer(shape, dtype="float32")),
                    dtype="float64",
                ).reshape(shape)
        return matrices

    def _draw(self, name, rng, shape):
        """The layer's own draw of one matrix."""
        if name == "recurrent_kernel":
            return self._recurrent_matrix(rng)
        if name == "bias":
            return rng.uniform(-1.0, 1.0, self.units) * self.bias_scaling
        scaling = (
            self.input_scaling if name == "kernel" else self.feedback_scaling
        )
        return w.sparse_signs(rng, shape, self.input_connectivity) * scaling

    def _recurrent_matrix(self, rng):
        """Sparse N(0, 1) matrix rescaled to the requested spectral radius.

        The unscaled draw and its radius are cached by seed and structure,
        so that a search's redraws with the same seeds (the same draws in
        every trial) skip the draw and the radius computation.
        """
        key = (self._generator_seed, self.units, self.connectivity)
        cached = _RECURRENT_DRAWS.get(key)
        if cached is None:
            matrix = self._unscaled_recurrent_matrix(rng)
            cached = (matrix, w.radius_of(matrix, self._generator_seed))
            if not cached[1] > 1e-12:
                raise ValueError(
                    f"The random recurrent matrix of {self.units} units with "
                    f"connectivity={self.connectivity} has spectral radius 0 "
                    "(too few non-zero weights to form a cycle), so it cannot "
                    "be rescaled. Increase `connectivity` or `units`."
                )
            _RECURRENT_DRAWS.put(key, cached + (rng.bit_generator.state,))
        else:
            rng.bit_generator.state = cached[2]  # as if drawn: same next draws
        matrix, radius = cached[:2]
        return (matrix * (self.spectral_radius / radius)).toarray()

    def _unscaled_recurrent_matrix(self, rng):
        n = self.units
        nnz = w.nonzero_count(n * n, self.connectivity)
        flat = rng.choice(n * n, size=nnz, replace=False)
        return scipy.sparse.csr_matrix(
            (rng.standard_normal(nnz), (flat // n, flat % n)), shape=(n, n)
        )

    def redraw(self, seed=None, **hyperparameters):
        """New weights, drawn into the same variables.

        Args:
            seed: int or None, the new seed (None: a fresh random one).
                Default: `None`.
            **hyperparameters: new values for any of `spectral_radius`,
                `leak_rate`, `input_scaling`, `bias_scaling`,
                `feedback_scaling`; the others keep theirs. A scaling of a
                matrix that was brought (`*_initializer`) is refused.

        The layer then equals a new `Reservoir` built with these values and
        `seed` (arrays brought stay as they are). Structural arguments
        (`units`, the connectivities, `activation`, `feedback_dim`) cannot
        change: the variables' shapes and the compiled loops depend on
        them.

        Returns:
            The layer.
        """
        seed = v.check_seed(seed)
        scalings = self.check_redraw(hyperparameters)
        for name, value in scalings.items():
            setattr(self, name, value)
        self.seed = seed
        self._generator_seed = make_generator_seed(seed)
        if self.built:
            features = self.kernel.shape[0]
            for name, value in self._matrices(features).items():
                weight = getattr(self, name)
                weight.assign(value.astype(weight.dtype))
            self.leak.assign(self.leak_rate)
        return self

    def check_redraw(self, hyperparameters, owner="Reservoir"):
        """The hyperparameters after `redraw(**hyperparameters)`, checked,
        without changing anything."""
        _check_redrawable(hyperparameters, owner)
        for argument, (_, scaling) in w.INITIALIZER_ARGUMENTS.items():
            if scaling in hyperparameters and getattr(self, argument) is not (
                None
            ):
                raise ValueError(
                    f"`redraw` cannot set `{scaling}`: it scales the "
                    f"layer's own draw, but `{argument}` was given to "
                    f"{self.name}. Received: "
                    f"{scaling}={hyperparameters[scaling]!r}"
                )
        current = {name: getattr(self, name) for name in REDRAWABLE}
        return _check_scalings(**{**current, **hyperparameters})

    def load_own_variables(self, store):
        # Layers saved before the leak rate became a variable have one
        # variable fewer: load theirs and keep the leak rate of the config.
        if len(store.keys()) == len(self.weights) - 1:
            for i, weight in enumerate(self.weights[:-1]):
                weight.assign(store[str(i)])
            return
        super().load_own_variables(store)

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
        return state + self.leak * (self.activation(pre) - state)

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
        for argument in w.INITIALIZER_ARGUMENTS:
            config[argument] = w.serialize_option(getattr(self, argument))
        return config


def _check_scalings(
    spectral_radius, leak_rate, input_scaling, bias_scaling, feedback_scaling
):
    """The five redrawable hyperparameters, checked, as a dict."""
    return {
        "spectral_radius": v.check_positive("spectral_radius", spectral_radius),
        "leak_rate": v.check_in_range(
            "leak_rate", leak_rate, 0.0, 1.0, low_closed=False
        ),
        "input_scaling": v.check_positive("input_scaling", input_scaling),
        "bias_scaling": v.check_non_negative("bias_scaling", bias_scaling),
        "feedback_scaling": v.check_positive(
            "feedback_scaling", feedback_scaling
        ),
    }


def _check_redrawable(hyperparameters, owner):
    """Only the five redrawable names; structure refused by name."""
    refused = sorted(set(hyperparameters) - set(REDRAWABLE))
    if refused:
        raise ValueError(
            f"`{owner}.redraw` cannot change {refused}: the structure "
            "(units, connectivity, input_connectivity, activation, ...) is "
            "fixed by the variables and the compiled loop; build a new "
            f"model for it. `redraw` changes {list(REDRAWABLE)}. Received: "
            + ", ".join(f"{k}={hyperparameters[k]!r}" for k in refused)
        )
