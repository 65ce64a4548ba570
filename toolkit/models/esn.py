"""The echo state network: reservoirs and a ridge-regression readout."""

import keras
import numpy as np
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.reservoir import _weights
from toolkit.layers.reservoir.reservoir import Reservoir
from toolkit.models import _esn_fit as fitting
from toolkit.models import _esn_loops as loops
from toolkit.models._esn_inference import ESNInference
from toolkit.models._esn_sequences import (
    as_sequences,
    check_array_layout,
    check_pairs,
    check_washout,
    states_out,
)


@register
class ESN(ESNInference, keras.Model):
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

    For a hyperparameter search, `redraw(seed, spectral_radius=...,
    leak_rate=...)` draws new reservoir weights into the same variables
    (same model, same compiled loop) and leaves the readout unfitted. For
    stable closed-loop generation, `fit` takes `state_noise` and
    `input_noise` (Gaussian noise during the teacher-forced run only) and
    a list of `ridge` values scored on `validation_data` or
    `validation_split` (`ridge_` the chosen one, `ridge_scores_` the
    validation NRMSE of each). `predict` and `generate` refuse a model
    that was never fitted (nor loaded from a file).

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
        recurrent_initializer: None (the reservoirs' own draw), an array or
            a Keras initializer for every reservoir's `W` (see
            `toolkit.layers.Reservoir`); for a deep ESN also a list of one
            per reservoir. Default: `None`.
        kernel_initializer: likewise for the input weights `W_in` (of a
            deep ESN's upper reservoirs: the weights from the reservoir
            below). Default: `None`.
        bias_initializer: likewise for the biases. Default: `None`.
        feedback_initializer: None, an array `(output_dim, units)` or a
            Keras initializer for the first reservoir's feedback weights
            (with `feedback=True`). Default: `None`.
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
        recurrent_initializer=None,
        kernel_initializer=None,
        bias_initializer=None,
        feedback_initializer=None,
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
        if feedback_initializer is not None and not feedback:
            raise ValueError(
                "Argument `feedback_initializer` needs `feedback=True`. "
                f"Received: feedback={feedback!r}"
            )
        deep = not isinstance(units, int)
        brought = {
            name: _weights.per_reservoir(name, value, len(sizes), deep)
            for name, value in (
                ("recurrent_initializer", recurrent_initializer),
                ("kernel_initializer", kernel_initializer),
                ("bias_initializer", bias_initializer),
            )
        }
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
                feedback_initializer=feedback_initializer if i == 0 else None,
                name=f"reservoir_{i}",
                **{name: values[i] for name, values in brought.items()},
            )
            for i, size in enumerate(sizes)
        ]
        self.readout = keras.layers.Dense(
            output_dim, dtype=readout_dtype, name="readout"
        )
        self._fitted = False
        self.ridge_ = None
        self.ridge_scores_ = None

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
        for name in _weights.INITIALIZER_ARGUMENTS:
            values = [
                _weights.serialize_option(getattr(r, name, None))
                for r in self.reservoirs
            ]
            same = all(value == values[0] for value in values)
            single = same or name == "feedback_initializer"
            deep = not isinstance(self.units, int)
            config[name] = values if deep and not single else values[0]
        return config

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._fitted = True  # a loaded model predicts with its readout

    def set_weights(self, weights):
        super().set_weights(weights)
        self._fitted = True

    def redraw(self, seed=None, **hyperparameters):
        """New reservoir weights, drawn into the same variables.

        The same model and the same compiled loop serve the next trial of a
        search: after `redraw(seed=s, spectral_radius=r, ...)` the ESN
        computes exactly what `ESN(..., spectral_radius=r, ..., seed=s)`
        would (reservoir `l` seeded with `s + l`), and its config says so.
        The readout is reset and unfitted: `predict` and `generate` refuse
        it until the next `fit`.

        Args:
            seed: int or None, the new seed (None: fresh random draws).
                Default: `None`.
            **hyperparameters: new values for any of `spectral_radius`,
                `leak_rate`, `input_scaling`, `bias_scaling`,
                `feedback_scaling` (every reservoir). Structural arguments
                (`units`, `connectivity`, `input_connectivity`,
                `activation`, ...) are refused: build a new ESN for them.

        Returns:
            The ESN.
        """
        seed = v.check_seed(seed)
        for reservoir in self.reservoirs:  # check all before changing any
            reservoir.check_redraw(hyperparameters, "ESN")
        for i, reservoir in enumerate(self.reservoirs):
            reservoir.redraw(
                None if seed is None else seed + i, **hyperparameters
            )
        self.seed = seed
        if self.readout.built:
            for weight in self.readout.weights:
                weight.assign(np.zeros(weight.shape, weight.dtype))
        self._fitted = False
        self.ridge_ = self.ridge_scores_ = None
        return self

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
        state_noise=0.0,
        input_noise=0.0,
        noise_seed=None,
        validation_data=None,
        validation_split=None,
        **kwargs,
    ):
        """Train the readout.

        With noise, the teacher-forced run that collects the states is

        ```
        u'_t = u_t + s_u xi_t                      (input_noise = s_u)
        x_t  = (1 - a) x_{t-1} + a f(u'_t W_in + x_{t-1} W + b) + s_x e_t
        ```

        (`s_x` = `state_noise`, `xi_t`, `e_t` standard normal; every
        reservoir of a deep ESN gets its own `e_t`, and the noisy states
        are what the readout and the next reservoir read; a fed-back
        teacher is not noised). The noise is drawn in NumPy from
        `np.random.SeedSequence(noise_seed).spawn(2)` (inputs, then
        states): for a batch of equal-length sequences, step `t`'s noise
        is row `t` of `standard_normal((timesteps, batch, width))`.
        `predict` and `generate` never add noise.

        Args:
            x: the input series: `(timesteps, features)` for one sequence,
                `(batch, timesteps, features)` for equal-length sequences,
                or a list of `(timesteps_i, features)` arrays.
            y: the targets, with the same layout and `output_dim` features.
            washout: int >= 0, initial steps of every sequence whose states
                are dropped (the transient from the zero state); must be
                shorter than every sequence. Default: 0.
            ridge: float >= 0, the ridge penalty, or a list of them: the
                normal equations are accumulated once, solved for each,
                and the one with the lowest validation NRMSE is kept
                (needs `validation_data` or `validation_split`).
                Default: 1e-6.
            method: `"ridge"` (closed form) or `"gradient"` (delegates to
                `keras.Model.fit` with `**kwargs`; compile the model first;
                the washout steps get sample weight 0). Default: `"ridge"`.
            chunk_size: int, the most time steps run per compiled chunk
                (bounds the memory of the states). Default: 4096.
            return_state: bool, return the reservoirs' states after the
                last step instead of the model (closed form, array inputs
                only), to continue with `predict(..., initial_state=...)`.
                Default: `False`.
            state_noise: float >= 0, the std of the state noise.
                Default: 0.0.
            input_noise: float >= 0, the std of the input noise.
                Default: 0.0.
            noise_seed: int or None, the seed of the noise. Default: `None`.
            validation_data: optional `(x, y)`, laid out like `x` and `y`,
                run from the zero state (its first `washout` steps
                dropped, teacher-forced, noiseless) to score each ridge by
                NRMSE (per output, averaged). Default: `None`.
            validation_split: optional float in (0, 1): the last fraction
                of every sequence is held out for scoring instead of
                fitted (its states continue from the training part, with
                no noise). Default: `None`.
            **kwargs: `keras.Model.fit` arguments, with `"gradient"` only
                (`validation_data` and `validation_split` are passed on).

        After a closed-form fit, `ridge_` is the penalty used and
        `ridge_scores_` the validation NRMSE of each ridge tried (a dict,
        None without validation).

        Returns:
            The model (`"ridge"`), the final states (`return_state`: a list
            of `(batch, units)` arrays, one per reservoir, `(units,)` for a
            single sequence, after the whole series including a
            `validation_split` tail) or the Keras `History`
            (`"gradient"`).
        """
        method = v.check_choice("method", method, {"ridge", "gradient"})
        chunk_size = v.check_positive_int("chunk_size", chunk_size)
        ridges, noise_options, validation = fitting.check_options(
            method, ridge, (state_noise, input_noise, noise_seed),
            validation_data, validation_split, kwargs,
        )  # fmt: skip
        state_noise, input_noise, noise_seed = noise_options
        xs, single = as_sequences("x", x)
        ys, _ = as_sequences("y", y)
        check_pairs(xs, ys, self.output_dim)
        if return_state:
            check_array_layout("return_state", x, xs)
        washout = check_washout(washout, min(len(s) for s in xs))
        ends = {len(s): len(s) for s in xs}
        if validation and validation[0] == "split":
            points = fitting.split_points(list(ends), validation[1], washout)
            ends = dict(zip(ends, points))
        held = None
        if validation and validation[0] == "data":
            held = fitting.validation_sequences(self, validation, xs, washout)
        self._ensure_built(xs[0].shape[-1])
        if method == "gradient":
            history = self._gradient_fit(xs, ys, washout, kwargs)
            self._fitted = True
            return history
        noise = None
        if state_noise or input_noise:
            units = sum(r.units for r in self.reservoirs)
            noise = fitting.FitNoise(
                state_noise, input_noise, noise_seed, xs[0].shape[-1], units
            )
        carry, self.ridge_, self.ridge_scores_ = fitting.ridge_fit(
            self, xs, ys, washout, ridges, chunk_size, noise, ends, held
        )
        self._fitted = True
        if return_state:
            return states_out(carry[0], single)
        return self

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
