"""`LeakyRNN`: leaky units as a sequence layer."""

from toolkit.api_export import register
from toolkit.layers.rnn.leaky_cell import LeakyCell
from toolkit.layers.rnn.projected_rnn import ProjectedRNN


@register
class LeakyRNN(ProjectedRNN):
    """`toolkit.layers.LeakyCell` over a sequence.

    Computes exactly `keras.layers.RNN(LeakyCell(units, ...))`, with the
    cell's arguments given flat. By default the cell runs step by step
    under Keras's loop; with `hoist_projection=True` the input projection
    `W_x x_t + b` is one matrix product over all time steps before the
    recurrence (same result; see `ProjectedRNN` for when it pays).

    Args:
        units: int, the number of leaky units.
        mode: `"fixed"`, `"spectrum"` or `"learned"`. Default: `"spectrum"`.
        alpha: with `mode="fixed"` only: a float in [0, 1) or a list of
            `units` floats in [0, 1). Default: `None`.
        tau_min: float >= 1 (> 1 with `"learned"`), the shortest time
            constant of the spectrum. Default: 2.0.
        tau_max: float >= `tau_min`, the longest. Default: 100.0.
        activation: `g`. Default: `"tanh"`.
        use_bias: bool. Default: `True`.
        layer_norm: bool, layer-normalise the pre-activation of `v_t`, the
            bias becoming the shift. Default: `False`.
        layer_norm_epsilon: float > 0. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W_x`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the recurrent
            weights `W_h`. Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`, `b`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the recurrent
            weights `W_h`. Default: `None`.
        bias_regularizer: regularizer of `bias`, `b`. Default: `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the recurrent
            weights `W_h`. Default: `None`.
        bias_constraint: constraint of `bias`, `b`. Default: `None`.
        dropout: float in [0, 1), input dropout, same mask at every step.
            Default: 0.
        recurrent_dropout: float in [0, 1), dropout on `h_{t-1}` where it
            enters `v_t` (not on the self-connection). Default: 0.
        seed: int >= 0 or None, seeds the spectrum and the dropout masks.
            Default: `None`.
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
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state.
        training: bool, whether dropout is active.

    Example:

    ```python
    import keras
    from toolkit.layers import LeakyRNN

    model = keras.Sequential([
        keras.Input((200, 2)),
        LeakyRNN(64, mode="spectrum", tau_min=2, tau_max=200),
        keras.layers.Dense(1),
    ])
    ```
    """

    cell_class = LeakyCell

    def __init__(
        self,
        units,
        mode="spectrum",
        alpha=None,
        tau_min=2.0,
        tau_max=100.0,
        activation="tanh",
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
        hoist_projection=False,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell = LeakyCell(
            units,
            mode=mode,
            alpha=alpha,
            tau_min=tau_min,
            tau_max=tau_max,
            activation=activation,
            use_bias=use_bias,
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
