"""The textbook GRU cell."""

import keras
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.layers.rnn.projected_cell import ProjectedCell


@register
class GRUCell(ProjectedCell):
    """Gated recurrent unit (Cho et al. 2014) for `keras.layers.RNN`.

    A single update gate `u_t` decides how much of the past state to keep
    (it plays the forget and the input gate at once), and a reset gate
    `r_t` decides which parts of the past state feed the candidate state.
    With sigma the `recurrent_activation` and tanh the `activation`:

    ```
    u_t = sigma(W_xu x_t + W_hu h_{t-1} + b_u)          update gate
    r_t = sigma(W_xr x_t + W_hr h_{t-1} + b_r)          reset gate
    reset_after=False (Cho et al.):
        n_t = tanh(W_xn x_t + W_hn (r_t * h_{t-1}) + b_n)
    reset_after=True (the cuDNN convention):
        n_t = tanh(W_xn x_t + b_n + r_t * (W_hn h_{t-1} + b'_n))
    h_t = u_t * h_{t-1} + (1 - u_t) * n_t
    ```

    The gates are stacked `[u, r, n]` in `kernel` `(features, 3 * units)`
    and `recurrent_kernel` `(units, 3 * units)`; `bias` is `(3 * units,)`,
    or `(2, 3 * units)` with `reset_after=True` (input biases in row 0,
    recurrent biases `b'` in row 1): the layout of `keras.layers.GRUCell`.

    With `layer_norm=True` each gate's pre-activation (for `n_t`, the whole
    argument of tanh without biases) is normalised over the units, scaled by
    `gamma` and shifted by the bias, which then has shape `(3 * units,)`.

    Args:
        units: int, the size of `h_t`.
        activation: activation of the candidate. Default: `"tanh"`.
        recurrent_activation: activation of the gates. Default: `"sigmoid"`.
        use_bias: bool. Default: `True`.
        reset_after: bool, apply the reset gate after the recurrent matrix
            product (`True`, Keras's and cuDNN's default) or before it
            (`False`, the original form). Default: `True`.
        layer_norm: bool, layer-normalise the gate pre-activations.
            Default: `False`.
        layer_norm_epsilon: float > 0. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W_x*`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the recurrent
            weights `W_h*`. Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W_x*`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the recurrent
            weights `W_h*`. Default: `None`.
        bias_regularizer: regularizer of `bias`. Default: `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W_x*`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the recurrent
            weights `W_h*`. Default: `None`.
        bias_constraint: constraint of `bias`. Default: `None`.
        dropout: float in [0, 1), input dropout, same mask at every step.
            Default: 0.
        recurrent_dropout: float in [0, 1), dropout on `h_{t-1}` where it
            enters the gates and the candidate, same mask at every step.
            Default: 0.
        seed: int >= 0 or None, seed of the dropout masks. Default: `None`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch, features)`, one time step.
        states: list `[h_{t-1}]` of shape `(batch, units)`.
        training: bool, whether dropout is active.

    Returns:
        `(h_t, [h_t])`.

    Example:

    ```python
    import keras
    from toolkit.layers import GRUCell

    x = keras.random.normal((8, 20, 3))
    y = keras.layers.RNN(GRUCell(16, reset_after=False))(x)  # (8, 16)
    ```

    Reference:
        Cho et al., "Learning phrase representations using RNN
        encoder-decoder for statistical machine translation", 2014.
    """

    num_blocks = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        reset_after=True,
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
        self.reset_after = bool(reset_after)
        self.state_size = units
        self.output_size = units

    def _bias_shape(self):
        if self.reset_after and not self.layer_norm:
            return (2, 3 * self.units)
        return (3 * self.units,)

    def _input_bias(self):
        if self.layer_norm or self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def step(self, projected, states, training=False):
        """One step from the projected inputs `W_x x_t (+ b)`."""
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        h_in = self._dropped_state(h_tm1, training)
        x_u, x_r, x_n = ops.split(projected, 3, axis=-1)
        units = self.units
        if self.reset_after:
            rec = ops.matmul(h_in, self.recurrent_kernel)
            if self.use_bias and not self.layer_norm:
                rec = rec + self.bias[1]
            rec_u, rec_r, rec_n = ops.split(rec, 3, axis=-1)
        else:
            rec = ops.matmul(h_in, self.recurrent_kernel[:, : 2 * units])
            rec_u, rec_r = ops.split(rec, 2, axis=-1)
        a_u, a_r = x_u + rec_u, x_r + rec_r
        if self.layer_norm:
            a_u, a_r = self._normalize(a_u, 0), self._normalize(a_r, 1)
        u = self.recurrent_activation(a_u)
        r = self.recurrent_activation(a_r)
        if self.reset_after:
            a_n = x_n + r * rec_n
        else:
            a_n = x_n + ops.matmul(
                r * h_in, self.recurrent_kernel[:, 2 * units :]
            )
        if self.layer_norm:
            a_n = self._normalize(a_n, 2)
        n = self.activation(a_n)
        h = u * h_tm1 + (1.0 - u) * n
        return h, [h]

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(
                self.recurrent_activation
            ),
            "reset_after": self.reset_after,
        }
        return {**super().get_config(), **config}
