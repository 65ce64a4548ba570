"""`ProjectedCell`: the base of the cells whose input enters through one
linear projection.

Every cell in `toolkit.layers.rnn` (`LSTMCell`, `GRUCell`, `LeakyCell`,
`SkipCell`, `ClockworkCell`) computes, at every step, pre-activations

    a_t = W_x x_t + (terms in the past states) (+ b)

where `W_x` is `kernel`, of shape `(features, num_blocks * units)`: one
block of `units` columns per gate and candidate of a gated cell (4 for the
LSTM, 3 for the GRU), one block for a gateless cell. The input projection
`W_x x_t (+ b)` does not depend on the recurrence, so `project_inputs`
computes it for one step or for a whole sequence in one matrix product
(which `ProjectedRNN` can do before the time loop), and `step` runs the
recurrent part on the projected inputs. Used as a plain Keras cell,
`call(x_t, states)` is `step(project_inputs(x_t), states)`.

The base class holds what the cells share besides that split: the weights
`kernel`, `recurrent_kernel` `(units, num_blocks * units)` (a cell may
build its own), `bias` and layer norm's `gamma`; Keras's dropout masks;
layer norm; the state checks; the config of the arguments every cell has.
Each cell's `__init__` validates and keeps all of its arguments itself, in
the style of `keras.layers.LSTMCell`. Not public, not registered.
"""

import keras
from keras import ops

from toolkit._keras_compat import DropoutRNNCell


def refuse_recurrent_activation(owner, kwargs):
    """Pop `recurrent_activation` from `kwargs`; raise unless it is None.

    A gated cell takes it as an argument, so one left in `kwargs` is given
    to a gateless cell, whose one nonlinearity is `activation`.
    """
    value = kwargs.pop("recurrent_activation", None)
    if value is not None:
        raise ValueError(
            f"`{owner}` has no gates, so it takes no `recurrent_activation` "
            "(its one nonlinearity is `activation`). Received: "
            f"recurrent_activation={value!r}"
        )


class ProjectedCell(DropoutRNNCell, keras.layers.Layer):
    """Base class: an input projection `project_inputs`, then `step`.

    Subclasses set `num_blocks`, keep their arguments as attributes in
    `__init__` (at least those `get_config` below reads), set `state_size`
    and `output_size`, and implement `step`.
    """

    #: Blocks of `units` columns in `kernel`: the gates and the candidate.
    num_blocks = None

    def __init__(self, **kwargs):
        refuse_recurrent_activation(type(self).__name__, kwargs)
        super().__init__(**kwargs)

    # ----------------------------------------------------------------- build
    def _bias_initializer(self):
        """The initializer of `bias`; subclasses may shape it per gate."""
        return self.bias_initializer

    def _bias_shape(self):
        return (self.num_blocks * self.units,)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "The last dimension of the inputs to "
                f"`{type(self).__name__}` must be defined. "
                f"Received: input_shape={input_shape}"
            )
        width = self.num_blocks * self.units
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
            # One 2-D product: a broadcast batched matmul's gradient is slower.
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
        (a gateless cell), layer-normed first when `layer_norm`."""
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
        """The arguments every cell has; each cell adds its own."""
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
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
