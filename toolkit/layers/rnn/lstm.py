"""`LSTM`: the textbook LSTM cell as a sequence layer."""

from toolkit.api_export import register
from toolkit.layers.rnn.lstm_cell import LSTMCell
from toolkit.layers.rnn.projected_rnn import ProjectedRNN


@register
class LSTM(ProjectedRNN):
    """`toolkit.layers.LSTMCell` over a sequence.

    Computes exactly `keras.layers.RNN(LSTMCell(units, ...))`, with the
    cell's arguments given flat, like `keras.layers.LSTM`. With
    `hoist_projection=True` the input part of every gate, `W_x x_t + b`, is
    one matrix product over all time steps before the recurrence (same
    result; see `ProjectedRNN` for when it pays).

    Args:
        units: int, the size of the output and of the memory cell.
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
        initial_state: optional list `[z_0, c_0]`, each `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state (an upstream `keras.layers.Masking` or
            `Embedding(mask_zero=True)` supplies it).
        training: bool, whether dropout is active.

    Example:

    ```python
    import keras
    from toolkit.layers import LSTM

    model = keras.Sequential([
        keras.Input((100, 2)),
        LSTM(64, return_sequences=True, layer_norm=True),
        LSTM(64, peephole=True),
        keras.layers.Dense(1),
    ])
    ```
    """

    cell_class = LSTMCell

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
        hoist_projection=False,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell = LSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            unit_forget_bias=unit_forget_bias,
            peephole=peephole,
            layer_norm=layer_norm,
            layer_norm_epsilon=layer_norm_epsilon,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            peephole_initializer=peephole_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            peephole_regularizer=peephole_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            peephole_constraint=peephole_constraint,
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
