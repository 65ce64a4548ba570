"""The textbook LSTM cell."""

import keras
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.rnn.projected_cell import ProjectedCell


@register
class LSTMCell(ProjectedCell):
    """Long short-term memory cell, as in the notes, for `keras.layers.RNN`.

    With `x_t` the input, `z_{t-1}` the previous output and `c_{t-1}` the
    previous memory cell, one step computes (sigma is
    `recurrent_activation`, tanh is `activation`):

    ```
    i_t = sigma(W_xi x_t + W_zi z_{t-1} + b_i)          input gate
    f_t = sigma(W_xf x_t + W_zf z_{t-1} + b_f)          forget gate
    c_t = f_t * c_{t-1} + i_t * tanh(W_xc x_t + W_zc z_{t-1} + b_c)
    o_t = sigma(W_xo x_t + W_zo z_{t-1} + b_o)          output gate
    z_t = tanh(c_t) * o_t
    ```

    The gates are stacked in the order `[i, f, c, o]` in `kernel`
    `(features, 4 * units)`, `recurrent_kernel` `(units, 4 * units)` and
    `bias` `(4 * units,)`: the layout of `keras.layers.LSTMCell`, so weights
    move between the two unchanged.

    With `peephole=True` (Gers & Schmidhuber 2000) the gates also see the
    memory cell through diagonal weights: `w_ci * c_{t-1}` is added inside
    `i_t`, `w_cf * c_{t-1}` inside `f_t` and `w_co * c_t` inside `o_t`.

    With `layer_norm=True` (Ba et al. 2016) each gate's pre-activation
    `a = W_x x_t + W_z z_{t-1}` (+ peephole term) is normalised over the
    units and becomes `gamma * (a - mean(a)) / sqrt(var(a) + eps) + b`: the
    bias is the normalisation's shift.

    Args:
        units: int, the size of `z_t` and `c_t`.
        activation: activation of the candidate and of the output
            (`tanh` in the notes). Default: `"tanh"`.
        recurrent_activation: activation of the gates. Default: `"sigmoid"`.
        use_bias: bool, whether the gates have biases. Default: `True`.
        unit_forget_bias: bool, initialise the forget-gate bias to 1
            (Jozefowicz et al. 2015). Default: `True`.
        peephole: bool, add peephole connections. Default: `False`.
        layer_norm: bool, layer-normalise the gate pre-activations.
            Default: `False`.
        layer_norm_epsilon: float > 0, added to the variance. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W_x`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the recurrent
            weights `W_z`. Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`, `b`. Default: `"zeros"`.
        peephole_initializer: initializer of the peephole weights. Default:
            `"glorot_uniform"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the recurrent
            weights `W_z`. Default: `None`.
        bias_regularizer: regularizer of `bias`, `b`. Default: `None`.
        peephole_regularizer: regularizer of the peephole weights. Default:
            `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the recurrent
            weights `W_z`. Default: `None`.
        bias_constraint: constraint of `bias`, `b`. Default: `None`.
        peephole_constraint: constraint of the peephole weights. Default:
            `None`.
        dropout: float in [0, 1), dropout on the inputs, with the same mask
            at every time step (Gal & Ghahramani 2016). Default: 0.
        recurrent_dropout: float in [0, 1), dropout on `z_{t-1}` where it
            enters the gates, same mask at every step. Default: 0.
        seed: int >= 0 or None, seed of the dropout masks. Default: `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, features)`, one time step.
        states: list `[z_{t-1}, c_{t-1}]`, each `(batch, units)`.
        training: bool, whether dropout is active.

    Returns:
        `(z_t, [z_t, c_t])`.

    Example:

    ```python
    import keras
    from toolkit.layers import LSTMCell

    x = keras.random.normal((8, 20, 3))
    layer = keras.layers.RNN(LSTMCell(16, peephole=True))
    y = layer(x)  # (8, 16)
    ```

    `toolkit.layers.LSTM(16)` is the same recurrence as a sequence layer,
    which can also take the input projection out of the time loop
    (`hoist_projection=True`).

    Reference:
        Hochreiter & Schmidhuber, "Long short-term memory", 1997;
        Gers, Schraudolph & Schmidhuber, "Learning precise timing with LSTM
        recurrent networks", 2002.
    """

    num_blocks = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        unit_forget_bias=True,
        peephole=False,
        layer_norm=False,
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        peephole_initializer="glorot_uniform",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        peephole_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        peephole_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        units = v.check_positive_int("units", units)
        activation = v.get_activation("activation", activation)
        recurrent_activation = v.get_activation(
            "recurrent_activation", recurrent_activation
        )
        layer_norm_epsilon = v.check_positive(
            "layer_norm_epsilon", layer_norm_epsilon
        )
        kernel_initializer = v.get_initializer(
            "kernel_initializer", kernel_initializer
        )
        recurrent_initializer = v.get_initializer(
            "recurrent_initializer", recurrent_initializer
        )
        bias_initializer = v.get_initializer(
            "bias_initializer", bias_initializer
        )
        kernel_regularizer = v.get_regularizer(
            "kernel_regularizer", kernel_regularizer
        )
        recurrent_regularizer = v.get_regularizer(
            "recurrent_regularizer", recurrent_regularizer
        )
        bias_regularizer = v.get_regularizer(
            "bias_regularizer", bias_regularizer
        )
        kernel_constraint = v.get_constraint(
            "kernel_constraint", kernel_constraint
        )
        recurrent_constraint = v.get_constraint(
            "recurrent_constraint", recurrent_constraint
        )
        bias_constraint = v.get_constraint("bias_constraint", bias_constraint)
        dropout = v.check_rate("dropout", dropout)
        recurrent_dropout = v.check_rate("recurrent_dropout", recurrent_dropout)
        seed = v.check_seed(seed)
        peephole_initializer = v.get_initializer(
            "peephole_initializer", peephole_initializer
        )
        peephole_regularizer = v.get_regularizer(
            "peephole_regularizer", peephole_regularizer
        )
        peephole_constraint = v.get_constraint(
            "peephole_constraint", peephole_constraint
        )
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.layer_norm = bool(layer_norm)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.recurrent_regularizer = recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.recurrent_activation = recurrent_activation
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole = bool(peephole)
        self.peephole_initializer = peephole_initializer
        self.peephole_regularizer = peephole_regularizer
        self.peephole_constraint = peephole_constraint
        self.state_size = [units, units]
        self.output_size = units

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def initializer(shape, dtype=None):
            return ops.concatenate(
                [
                    base((units,), dtype=dtype),
                    ops.ones((units,), dtype=dtype),
                    base((2 * units,), dtype=dtype),
                ]
            )

        return initializer

    def build(self, input_shape):
        super().build(input_shape)
        if self.peephole:
            self.peephole_kernels = [
                self.add_weight(
                    shape=(self.units,),
                    name=f"{gate}_peephole",
                    initializer=self.peephole_initializer,
                    regularizer=self.peephole_regularizer,
                    constraint=self.peephole_constraint,
                )
                for gate in ("input", "forget", "output")
            ]

    def step(self, projected, states, training=False):
        """One step from the projected inputs `W_x x_t (+ b)`."""
        z_tm1, c_tm1 = states
        a = projected + ops.matmul(
            self._dropped_state(z_tm1, training), self.recurrent_kernel
        )
        a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)
        if self.peephole:
            w_ci, w_cf, _ = self.peephole_kernels
            a_i = a_i + w_ci * c_tm1
            a_f = a_f + w_cf * c_tm1
        if self.layer_norm:
            a_i = self._normalize(a_i, 0)
            a_f = self._normalize(a_f, 1)
            a_c = self._normalize(a_c, 2)
        i = self.recurrent_activation(a_i)
        f = self.recurrent_activation(a_f)
        c = f * c_tm1 + i * self.activation(a_c)
        if self.peephole:
            a_o = a_o + self.peephole_kernels[2] * c
        if self.layer_norm:
            a_o = self._normalize(a_o, 3)
        o = self.recurrent_activation(a_o)
        z = self.activation(c) * o
        return z, [z, c]

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(
                self.recurrent_activation
            ),
            "unit_forget_bias": self.unit_forget_bias,
            "peephole": self.peephole,
            "peephole_initializer": keras.initializers.serialize(
                self.peephole_initializer
            ),
            "peephole_regularizer": keras.regularizers.serialize(
                self.peephole_regularizer
            ),
            "peephole_constraint": keras.constraints.serialize(
                self.peephole_constraint
            ),
        }
        return {**super().get_config(), **config}
