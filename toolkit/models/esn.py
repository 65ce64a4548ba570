"""The echo state network: reservoirs and a ridge-regression readout."""

import keras
import numpy as np
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.reservoir.reservoir import Reservoir
from toolkit.layers.reservoir.ridge import RidgeRegression, check_ridge
from toolkit.models import _esn_loops as loops
from toolkit.models._esn_sequences import (
    as_sequences,
    check_array_layout,
    check_pairs,
    check_washout,
    groups,
    initial_states,
    restore_layout,
    shift,
    states_out,
)


@register
class ESN(keras.Model):
    """Echo state network: fixed reservoir(s) and a linear readout.

    The input drives one `Reservoir` or a stack of them (a deep ESN, each
    reservoir driven by the states of the one below); an ordinary
    `keras.layers.Dense` readout maps the concatenated states of every
    reservoir (and the input, with `input_to_readout=True`) to the output:

    ```
    x^(1)_t = Reservoir_1(u_t, x^(1)_{t-1} [, y_{t-1}])
    x^(l)_t = Reservoir_l(x^(l-1)_t, x^(l)_{t-1})          l = 2..L
    y_t     = [u_t,] x^(1)_t, ..., x^(L)_t  W_out + b_out
    ```

    `fit(x, y, washout=..., ridge=...)` trains the readout in closed form:
    the reservoirs are run over the series in chunks of time (compiled
    with XLA on TensorFlow, states in float32), the first `washout` states
    of every sequence are dropped, and `RidgeRegression` accumulates the
    normal equations in float64, so memory does not grow with the series
    length (unless TensorFlow is pinned to one thread, one chunk's normal
    equations are accumulated in a background thread while the next chunk
    runs). `predict` runs the same compiled loop. `generate` runs the
    network in closed loop, feeding each prediction back as the next input.
    The compiled loop is shared by every ESN of the same structure (a sweep
    over seeds compiles once), and for large sparse reservoirs run on a
    small batch it gathers only the non-zero recurrent weights.
    The model is an ordinary Keras model besides: `model(x)` works,
    `fit(..., method="gradient")` trains by gradient descent through
    `keras.Model.fit` (the readout, and the reservoirs too if their
    `trainable` is set), and it saves to and loads from `.keras`.

    With `feedback=True` the first reservoir also receives the previous
    output `y_{t-1}`: the closed-form fit feeds back the targets (teacher
    forcing), while `predict` and `model(x)` feed back the model's own
    outputs.

    Args:
        units: int, or a list of ints for a deep ESN (one per reservoir).
            Default: 500.
        output_dim: int, the number of outputs. Default: 1.
        spectral_radius: float > 0, the spectral radius of every
            reservoir's recurrent weights (see `toolkit.layers.Reservoir`,
            like the seven arguments after it). Default: 0.9.
        leak_rate: float in (0, 1], every reservoir's leak rate; 1 gives
            the plain (non-leaky) update. Default: 1.0.
        input_scaling: float > 0, the magnitude of every reservoir's input
            weights. Default: 1.0.
        bias_scaling: float >= 0, the half-width of every reservoir's bias
            distribution (0: no bias). Default: 0.0.
        connectivity: float in (0, 1], the fraction of non-zero recurrent
            weights in every reservoir. Default: 0.1.
        input_connectivity: float in (0, 1], the fraction of non-zero input
            (and feedback) weights in every reservoir. Default: 0.1.
        activation: the activation of every reservoir. Default: `"tanh"`.
        feedback: bool, feed the previous output back into the first
            reservoir. Default: `False`.
        feedback_scaling: float > 0, the magnitude of the feedback weights
            (with `feedback=True`). Default: 1.0.
        input_to_readout: bool, let the readout also see the input.
            Default: `False`.
        readout_dtype: dtype of the readout's weights and computation.
            float64 keeps the precision of a ridge solution with large
            weights (small `ridge`). Default: `"float64"`.
        seed: int or None; reservoir `l` is seeded with `seed + l`.
            Default: `None`.
        **kwargs: base model arguments (`name`, ...).

    Call arguments:
        inputs: `(batch, timesteps, features)`.

    Returns:
        `(batch, timesteps, output_dim)`.

    Example:

    ```python
    from toolkit.data import mackey_glass
    from toolkit.models import ESN

    series = mackey_glass(3000, seed=0)
    x, y = series[:-1], series[1:]
    esn = ESN(500, spectral_radius=1.25, leak_rate=0.3, seed=0)
    states = esn.fit(x[:2000], y[:2000], washout=100, ridge=1e-6,
                     return_state=True)
    prediction = esn.predict(x[2000:], initial_state=states)  # (999, 1)
    future = esn.generate(100, warmup=x[2000:2500])  # (100, 1)
    ```

    Reference:
        Jaeger, "The 'echo state' approach to analysing and training
        recurrent neural networks", GMD Report 148, 2001; Gallicchio,
        Micheli & Pedrelli, "Deep reservoir computing: a critical
        experimental analysis", Neurocomputing, 2017; Lukosevicius, "A
        practical guide to applying echo state networks", 2012.
    """

    def __init__(
        self,
        units=500,
        output_dim=1,
        spectral_radius=0.9,
        leak_rate=1.0,
        input_scaling=1.0,
        bias_scaling=0.0,
        connectivity=0.1,
        input_connectivity=0.1,
        activation="tanh",
        feedback=False,
        feedback_scaling=1.0,
        input_to_readout=False,
        readout_dtype="float64",
        seed=None,
        **kwargs,
    ):
        sizes = list(units) if isinstance(units, (list, tuple)) else [units]
        if not sizes:
            raise ValueError(
                "Argument `units` must be an int or a non-empty list of "
                f"ints. Received: units={units!r}"
            )
        sizes = [v.check_positive_int("units", size) for size in sizes]
        output_dim = v.check_positive_int("output_dim", output_dim)
        readout_dtype = v.check_choice(
            "readout_dtype", readout_dtype, {"float32", "float64"}
        )
        seed = v.check_seed(seed)
        super().__init__(**kwargs)
        self.units = units if isinstance(units, int) else sizes
        self.output_dim = output_dim
        self.feedback = bool(feedback)
        self.input_to_readout = bool(input_to_readout)
        self.readout_dtype = readout_dtype
        self.seed = seed
        self.reservoirs = [
            Reservoir(
                size,
                spectral_radius=spectral_radius,
                leak_rate=leak_rate,
                input_scaling=input_scaling,
                bias_scaling=bias_scaling,
                connectivity=connectivity,
                input_connectivity=input_connectivity,
                activation=activation,
                feedback_dim=output_dim if feedback and i == 0 else None,
                feedback_scaling=feedback_scaling,
                seed=None if seed is None else int(seed) + i,
                name=f"reservoir_{i}",
            )
            for i, size in enumerate(sizes)
        ]
        self.readout = keras.layers.Dense(
            output_dim, dtype=readout_dtype, name="readout"
        )

    # Keras model API -------------------------------------------------------

    def build(self, input_shape):
        shape = tuple(input_shape)
        for reservoir in self.reservoirs:
            reservoir.build(shape)
            shape = shape[:-1] + (reservoir.units,)
        self.readout.build(shape[:-1] + (self._feature_size(input_shape),))
        self.built = True

    def call(self, inputs):
        if self.feedback:
            batch = ops.shape(inputs)[0]
            return loops.free_run(
                self, inputs, self._zero_states(batch), self._zero_output(batch)
            )
        return self.readout(self._features(inputs, None, None))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        first = self.reservoirs[0]
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "output_dim": self.output_dim,
                "spectral_radius": first.spectral_radius,
                "leak_rate": first.leak_rate,
                "input_scaling": first.input_scaling,
                "bias_scaling": first.bias_scaling,
                "connectivity": first.connectivity,
                "input_connectivity": first.input_connectivity,
                "activation": keras.activations.serialize(first.activation),
                "feedback": self.feedback,
                "feedback_scaling": first.feedback_scaling,
                "input_to_readout": self.input_to_readout,
                "readout_dtype": self.readout_dtype,
                "seed": self.seed,
            }
        )
        return config

    # Closed-form training, prediction, generation -------------------------

    def fit(
        self,
        x=None,
        y=None,
        washout=0,
        ridge=1e-6,
        method="ridge",
        chunk_size=4096,
        return_state=False,
        **kwargs,
    ):
        """Train the readout.

        Args:
            x: the input series: `(timesteps, features)` for one sequence,
                `(batch, timesteps, features)` for equal-length sequences,
                or a list of `(timesteps_i, features)` arrays.
            y: the targets, with the same layout and `output_dim` features.
            washout: int >= 0, initial steps of every sequence whose states
                are dropped (the transient from the zero state); must be
                shorter than every sequence. Default: 0.
            ridge: float >= 0, the ridge penalty. Default: 1e-6.
            method: `"ridge"` (closed form) or `"gradient"` (delegates to
                `keras.Model.fit` with `**kwargs`; compile the model first;
                the washout steps get sample weight 0). Default: `"ridge"`.
            chunk_size: int, the most time steps run per compiled chunk
                (bounds the memory of the states). Default: 4096.
            return_state: bool, return the reservoirs' states after the
                last step instead of the model (closed form, array inputs
                only), to continue with `predict(..., initial_state=...)`.
                Default: `False`.
            **kwargs: `keras.Model.fit` arguments, with `"gradient"` only.

        Returns:
            The model (`"ridge"`), the final states (`return_state`: a list
            of `(batch, units)` arrays, one per reservoir, `(units,)` for a
            single sequence) or the Keras `History` (`"gradient"`).
        """
        method = v.check_choice("method", method, {"ridge", "gradient"})
        ridge = check_ridge(ridge)
        chunk_size = v.check_positive_int("chunk_size", chunk_size)
        if method == "ridge" and kwargs:
            raise ValueError(
                "Keras `fit` arguments apply only to `method='gradient'`. "
                f"Received: method='ridge' with {sorted(kwargs)}"
            )
        xs, single = as_sequences("x", x)
        ys, _ = as_sequences("y", y)
        check_pairs(xs, ys, self.output_dim)
        if return_state:
            check_array_layout("return_state", x, xs)
        washout = check_washout(washout, min(len(s) for s in xs))
        self._ensure_built(xs[0].shape[-1])
        if method == "gradient":
            return self._gradient_fit(xs, ys, washout, kwargs)
        solver = RidgeRegression(ridge)
        lengths = len({len(s) for s in xs})  # groups(xs) yields one each
        with loops.HostWorker() as worker:
            for number, (indices, batch_x) in enumerate(groups(xs), 1):
                batch_y = np.stack([ys[i] for i in indices])
                teacher = shift(batch_y) if self.feedback else None
                for start, stop, features, carry in loops.run_chunks(
                    self, batch_x, chunk_size, teacher=teacher
                ):
                    low = max(start, washout)
                    last = number == lengths and stop == batch_x.shape[1]
                    if low < stop:
                        worker.run(
                            solver.update,
                            features[:, low - start :],
                            batch_y[:, low:stop],
                            last=last,
                        )
        solver.assign(self.readout)
        if return_state:
            return states_out(carry[0], single)
        return self

    def predict(
        self,
        x,
        warmup=None,
        initial_state=None,
        return_state=False,
        chunk_size=4096,
        verbose=None,
        batch_size=None,
    ):
        """The outputs for `x` (same layouts as `fit`).

        Args:
            x: the input series, laid out as in `fit`.
            warmup: optional series read just before `x` (same layout and
                batch as `x`) whose outputs are dropped: the states then
                start from the end of `warmup` instead of zero, as when the
                test series continues the training series. Default: `None`.
            initial_state: optional states to start from, as returned by
                `fit` or `predict` with `return_state=True` (array inputs
                only). For a feedback model the first output fed back is
                still zero. Default: `None` (zero states).
            return_state: bool, also return the final states.
                Default: `False`.
            chunk_size: int, as in `fit`. Default: 4096.
            verbose: accepted for compatibility with `keras.Model.predict`
                and ignored. Default: `None`.
            batch_size: accepted for compatibility with
                `keras.Model.predict` and ignored (the whole batch runs at
                once). Default: `None`.

        Returns:
            NumPy array(s) with the layout of `x` and `output_dim` features;
            with `return_state`, `(outputs, states)`.
        """
        chunk_size = v.check_positive_int("chunk_size", chunk_size)
        xs, single = as_sequences("x", x)
        self._ensure_built(xs[0].shape[-1])
        if initial_state is not None or return_state:
            check_array_layout("initial_state` and `return_state", x, xs)
        states = initial_states(initial_state, len(xs), self.reservoirs)
        if warmup is not None:
            ws, _ = as_sequences("warmup", warmup)
            if len(ws) != len(xs):
                raise ValueError(
                    "Argument `warmup` must hold one sequence per sequence "
                    f"of `x`. Received: {len(ws)} and {len(xs)}"
                )
            xs = [np.concatenate([w, s]) for w, s in zip(ws, xs)]
        outputs = [None] * len(xs)
        for indices, batch_x in groups(xs):
            pieces = []
            for carry, values in loops.run_chunks(
                self, batch_x, chunk_size, True, initial_state=states
            ):
                pieces.append(values)
            result = np.concatenate(pieces, axis=1)
            for row, index in enumerate(indices):
                skip = 0 if warmup is None else len(ws[index])
                outputs[index] = result[row, skip:]
        outputs = restore_layout(outputs, single, x)
        if return_state:
            return outputs, states_out(carry[0], single)
        return outputs

    def generate(self, steps, warmup, initial_state=None, chunk_size=4096):
        """Run in closed loop: each prediction becomes the next input.

        The network first reads `warmup` (open loop: inputs are the given
        values), then generates `steps` values, feeding each output back as
        the next input; so `output_dim` must equal the number of input
        features (one-step-ahead prediction of the series itself).

        Args:
            steps: int, the number of values to generate.
            warmup: `(timesteps, features)` or `(batch, timesteps,
                features)`, the true series leading up to the generation.
                Its last value is the input of the first generated step,
                whose output is the first value returned.
            initial_state: optional states before `warmup`, as in
                `predict`. Default: `None` (zero states).
            chunk_size: int, as in `fit`. Default: 4096.

        Returns:
            `(steps, output_dim)` or `(batch, steps, output_dim)`.
        """
        steps = v.check_positive_int("steps", steps)
        xs, single = as_sequences("warmup", warmup)
        if len({len(s) for s in xs}) != 1:
            raise ValueError(
                "Argument `warmup` must hold sequences of equal length. "
                f"Received lengths {sorted({len(s) for s in xs})}"
            )
        if xs[0].shape[-1] != self.output_dim:
            raise ValueError(
                "`generate` feeds outputs back as inputs, so `warmup` must "
                f"have `output_dim`={self.output_dim} features. "
                f"Received: {xs[0].shape[-1]}"
            )
        self._ensure_built(self.output_dim)
        batch = np.stack(xs)
        states = initial_states(initial_state, len(xs), self.reservoirs)
        for carry, values in loops.run_chunks(
            self, batch, chunk_size, True, initial_state=states
        ):
            first = values[:, -1:]
        states, y_last = carry
        if steps == 1:
            result = first
        else:
            loop = loops.compiled(self, "generate", len(xs))
            rest = ops.convert_to_numpy(loop(states, y_last, steps - 1))
            result = np.concatenate([first, rest], axis=1)
        return result[0] if single else result

    # Internals ------------------------------------------------------------

    def _feature_size(self, input_shape):
        size = sum(r.units for r in self.reservoirs)
        return size + (input_shape[-1] if self.input_to_readout else 0)

    def _zero_states(self, batch):
        return [ops.zeros((batch, r.units)) for r in self.reservoirs]

    def _zero_output(self, batch):
        return ops.zeros((batch, self.output_dim), dtype=self.readout_dtype)

    def _features(self, inputs, states, teacher):
        """Teacher-forced run of the stack, one reservoir after the other
        (the graph `model(x)` and `keras.Model.fit` use): the readout's
        input `(batch, timesteps, size)`."""
        features = [inputs] if self.input_to_readout else []
        hidden = inputs
        for i, reservoir in enumerate(self.reservoirs):
            drive = reservoir.project(hidden, teacher if i == 0 else None)
            hidden = reservoir.run(drive, None if states is None else states[i])
            features.append(hidden)
        return ops.concatenate(features, axis=-1)

    def _ensure_built(self, features):
        if not self.built:
            self.build((None, None, features))
        expected = self.reservoirs[0].kernel.shape[0]
        if features != expected:
            raise ValueError(
                f"The model was built for {expected} input features. "
                f"Received: {features}"
            )

    def _gradient_fit(self, xs, ys, washout, kwargs):
        if len({len(s) for s in xs}) != 1:
            raise ValueError(
                "`method='gradient'` needs sequences of equal length. "
                f"Received lengths {sorted({len(s) for s in xs})}"
            )
        x, y = np.stack(xs), np.stack(ys)
        weights = np.ones(x.shape[:2], dtype="float32")
        weights[:, :washout] = 0.0
        return super().fit(x, y, sample_weight=weights, **kwargs)
