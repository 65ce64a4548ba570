"""Shared machinery of the textbook gated cells (`LSTMCell`, `GRUCell`).

A gated cell with `g` gates computes, at every step, the pre-activations

    a_t = W_x x_t + W_h h_{t-1} (+ b)

for all gates at once: `W_x` is `kernel` with shape `(features, g * units)`,
`W_h` is `recurrent_kernel` with shape `(units, g * units)`. The input part
`W_x x_t` does not depend on the recurrence, so `project_inputs` computes it
for a whole sequence in one matrix product before the time loop (see
`ProjectedRNN(hoist_projection=True)`), and `step` runs the
recurrence on the projected inputs. Used as a plain Keras cell,
`call(x_t, states)` is `step(project_inputs(x_t), states)`.
"""

import keras
from keras import ops

from toolkit import validation as v
from toolkit._keras_compat import DropoutRNNCell


class GatedCell(DropoutRNNCell, keras.layers.Layer):
    """Base class: arguments, weights, dropout masks and layer norm.

    Subclasses set `num_gates` and implement `step` and `state_size`; this
    class is not public.
    """

    num_gates = None
    gateless = False  # True: one pre-activation, no `recurrent_activation`

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation=None,
        use_bias=True,
        layer_norm=False,
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        units = v.check_positive_int("units", units)
        if self.gateless and recurrent_activation is not None:
            raise ValueError(
                f"`{type(self).__name__}` has no gates, so it takes no "
                "`recurrent_activation` (its one nonlinearity is "
                "`activation`). Received: recurrent_activation="
                f"{recurrent_activation!r}"
            )
        if recurrent_activation is None:
            recurrent_activation = "sigmoid"
        activation_fn = v.get_activation("activation", activation)
        recurrent_activation_fn = v.get_activation(
            "recurrent_activation", recurrent_activation
        )
        dropout = v.check_rate("dropout", dropout)
        recurrent_dropout = v.check_rate("recurrent_dropout", recurrent_dropout)
        layer_norm_epsilon = v.check_in_range(
            "layer_norm_epsilon",
            layer_norm_epsilon,
            0.0,
            float("inf"),
            low_closed=False,
        )
        initializers = {
            "kernel_initializer": kernel_initializer,
            "recurrent_initializer": recurrent_initializer,
            "bias_initializer": bias_initializer,
        }
        initializers = {
            k: v.get_initializer(k, x) for k, x in initializers.items()
        }
        regularizers = {
            "kernel_regularizer": kernel_regularizer,
            "recurrent_regularizer": recurrent_regularizer,
            "bias_regularizer": bias_regularizer,
        }
        regularizers = {
            k: v.get_regularizer(k, x) for k, x in regularizers.items()
        }
        constraints = {
            "kernel_constraint": kernel_constraint,
            "recurrent_constraint": recurrent_constraint,
            "bias_constraint": bias_constraint,
        }
        constraints = {
            k: v.get_constraint(k, x) for k, x in constraints.items()
        }
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation_fn
        self.recurrent_activation = recurrent_activation_fn
        self.use_bias = bool(use_bias)
        self.layer_norm = bool(layer_norm)
        self.layer_norm_epsilon = layer_norm_epsilon
        for mapping in (initializers, regularizers, constraints):
            for key, value in mapping.items():
                setattr(self, key, value)
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = units

    # ----------------------------------------------------------------- build
    def _bias_initializer(self):
        """The initializer of `bias`; subclasses may shape it per gate."""
        return self.bias_initializer

    def _bias_shape(self):
        return (self.num_gates * self.units,)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "The last dimension of the inputs to "
                f"`{type(self).__name__}` must be defined. "
                f"Received: input_shape={input_shape}"
            )
        width = self.num_gates * self.units
        self.kernel = self.add_weight(
            shape=(features, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        # With layer norm the bias is the normalisation's shift (beta): a
        # bias added before normalising would be cancelled by the mean.
        if self.use_bias or self.layer_norm:
            self.bias = self.add_weight(
                shape=self._bias_shape(),
                name="bias",
                initializer=self._bias_initializer(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        if self.layer_norm:
            self.gamma = self.add_weight(
                shape=(width,),
                name="layer_norm_gamma",
                initializer="ones",
            )
        else:
            self.gamma = None

    # ------------------------------------------------------------- compute
    def _input_bias(self):
        """The part of `bias` added to the projected inputs (or None)."""
        if self.layer_norm or self.bias is None:
            return None
        return self.bias

    def project_inputs(self, inputs, training=False):
        """`W_x x (+ b)` for one step `(batch, features)` or a sequence
        `(batch, timesteps, features)`, with the input dropout mask applied
        (the same mask at every step)."""
        if training and self.dropout > 0:
            step_input = inputs if len(inputs.shape) == 2 else inputs[:, 0]
            mask = self.get_dropout_mask(step_input)
            if len(inputs.shape) == 3:
                mask = ops.expand_dims(mask, 1)
            inputs = inputs * mask
        if len(inputs.shape) == 3:
            # One 2-D product over all steps: a broadcast batched matmul
            # would be slower, above all in its gradient.
            batch, steps = ops.shape(inputs)[0], ops.shape(inputs)[1]
            flat = ops.reshape(inputs, (-1, inputs.shape[-1]))
            projected = ops.reshape(
                ops.matmul(flat, self.kernel), (batch, steps, -1)
            )
        else:
            projected = ops.matmul(inputs, self.kernel)
        bias = self._input_bias()
        if bias is not None:
            projected = projected + bias
        return projected

    def _dropped_state(self, h, training):
        """`h_{t-1}` with the recurrent dropout mask applied in training."""
        if training and self.recurrent_dropout > 0:
            return h * self.get_recurrent_dropout_mask(h)
        return h

    def _normalize(self, a, gate):
        """Layer norm of gate `gate`'s pre-activation `a` (batch, units),
        scaled by its slice of `gamma` and shifted by its slice of `bias`.
        """
        mean = ops.mean(a, axis=-1, keepdims=True)
        var = ops.var(a, axis=-1, keepdims=True)
        normed = (a - mean) * ops.rsqrt(var + self.layer_norm_epsilon)
        lo, hi = gate * self.units, (gate + 1) * self.units
        return normed * self.gamma[lo:hi] + ops.reshape(self.bias, (-1,))[lo:hi]

    def activate(self, a):
        """`g(a)` for a cell with one pre-activation `a` `(batch, units)`
        (the gateless cells), layer-normed first when `layer_norm`."""
        if self.layer_norm:
            a = self._normalize(a, 0)
        return self.activation(a)

    def _check_states(self, states):
        expected = (
            len(self.state_size)
            if isinstance(self.state_size, (list, tuple))
            else 1
        )
        if len(states) != expected:
            raise ValueError(
                f"`{type(self).__name__}` expects {expected} state tensor(s) "
                f"of shape (batch, {self.units}). "
                f"Received: {len(states)} state tensor(s)"
            )
        for state in states:
            if state.shape[-1] is not None and state.shape[-1] != self.units:
                raise ValueError(
                    f"`{type(self).__name__}` expects states of shape "
                    f"(batch, {self.units}). Received: state of shape "
                    f"{tuple(state.shape)}"
                )

    def step(self, projected, states, training=False):
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        if len(inputs.shape) != 2:
            raise ValueError(
                f"`{type(self).__name__}` is called one step at a time on "
                "inputs of shape (batch, features); wrap it in "
                "`keras.layers.RNN` for sequences. Received: inputs of "
                f"shape {tuple(inputs.shape)}"
            )
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        self._check_states(states)
        return self.step(
            self.project_inputs(inputs, training), states, training
        )

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size
        if not isinstance(sizes, (list, tuple)):
            sizes = [sizes]
        return [
            ops.zeros((batch_size, size), dtype=self.compute_dtype)
            for size in sizes
        ]

    # -------------------------------------------------------------- config
    def get_config(self):
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(
                self.recurrent_activation
            ),
            "use_bias": self.use_bias,
            "layer_norm": self.layer_norm,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        for part in ("kernel", "recurrent", "bias"):
            config[f"{part}_initializer"] = keras.initializers.serialize(
                getattr(self, f"{part}_initializer")
            )
            config[f"{part}_regularizer"] = keras.regularizers.serialize(
                getattr(self, f"{part}_regularizer")
            )
            config[f"{part}_constraint"] = keras.constraints.serialize(
                getattr(self, f"{part}_constraint")
            )
        return {**super().get_config(), **config}
