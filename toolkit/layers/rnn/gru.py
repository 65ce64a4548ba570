"""`GRU`: the textbook GRU cell as a sequence layer."""

from toolkit.api_export import register
from toolkit.layers.rnn.gru_cell import GRUCell
from toolkit.layers.rnn.projected_rnn import ProjectedRNN


@register
class GRU(ProjectedRNN):
    """`toolkit.layers.GRUCell` over a sequence.

    Computes exactly `keras.layers.RNN(GRUCell(units, ...))`, with the
    cell's arguments given flat, like `keras.layers.GRU`. With
    `hoist_projection=True` the input part of every gate is computed for
    all time steps in one matrix product before the recurrence.

    Args:
        units: int, the size of the state.
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
        hoist_projection: bool, compute the input projection `W_x x_t (+ b)`
            for all steps in one matrix product before the loop (same
            result; see `ProjectedRNN` for when it pays). Default: `False`.
        return_sequences: bool, return the whole output sequence
            `(batch, timesteps, units)` rather than the last output.
            Default: `False`.
        return_state: bool, also return the last states. Default: `False`.
        go_backwards: bool, run over the sequence backwards (and return
            the outputs in that order). Default: `False`.
        stateful: bool, each sample's last states are its initial states
            in the next batch. Default: `False`.
        unroll: bool, unroll the time loop (faster on short sequences, more
            memory). Default: `False`.
        zero_output_for_mask: bool, output zeros at masked steps instead
            of the previous output (with `return_sequences`).
            Default: `False`.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...).

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: optional `[h_0]` of shape `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`.
        training: bool, whether dropout is active.

    Example:

    ```python
    import keras
    from toolkit.layers import GRU

    layer = keras.layers.Bidirectional(GRU(32, return_sequences=True))
    y = layer(keras.random.normal((4, 10, 3)))  # (4, 10, 64)
    ```
    """

    cell_class = GRUCell

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
        hoist_projection=False,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            reset_after=reset_after,
            layer_norm=layer_norm,
            layer_norm_epsilon=layer_norm_epsilon,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="cell",
        )
        super().__init__(
            cell,
            hoist_projection=hoist_projection,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
