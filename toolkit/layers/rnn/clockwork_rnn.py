"""`ClockworkRNN`: the clockwork RNN as a fast sequence layer."""

from keras import ops

from toolkit._keras_compat import rnn
from toolkit.api_export import register
from toolkit.layers.rnn.clockwork_cell import ClockworkCell
from toolkit.layers.rnn.projected_rnn import ProjectedRNN


@register
class ClockworkRNN(ProjectedRNN):
    """`toolkit.layers.ClockworkCell` over a sequence, with the work that
    does not depend on the recurrence taken out of the time loop.

    Computes `keras.layers.RNN(ClockworkCell(units, ...))` (the same
    values, to rounding), but before the loop it computes, for all steps
    at once, the input projection `W_x x_t + b`, the clock value of every
    step (the initial clock plus the number of unmasked steps before it,
    so masking and `go_backwards` keep their meaning) and from it which
    modules update, and the masked recurrent kernel. The loop then runs
    only the update, as `h_t = h_{t-1} + a_t (v_t - h_{t-1})` with `a_t`
    the 0/1 update flags (its gradient is cheaper than a `where`'s).

    Args:
        units: int, divisible by `len(periods)`.
        periods: positive ints, one per module, distinct. Koutnik et al.
            use `1, 2, 4, ...`. Default: `(1, 2, 4, 8)`.
        activation: `g`. Default: `"tanh"`.
        use_bias: bool. Default: `True`.
        layer_norm: bool, layer-normalise `a_t` over all units, the bias
            becoming the shift. Default: `False`.
        layer_norm_epsilon: float > 0. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W_x`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the recurrent
            weights `W_h` (masked by `M`). Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`, `b`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the recurrent
            weights `W_h` (masked by `M`). Default: `None`.
        bias_regularizer: regularizer of `bias`, `b`. Default: `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W_x`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the recurrent
            weights `W_h` (masked by `M`). Default: `None`.
        bias_constraint: constraint of `bias`, `b`. Default: `None`.
        dropout: float in [0, 1), input dropout, same mask at every step.
            Default: 0.
        recurrent_dropout: float in [0, 1), dropout on `h_{t-1}` where it
            enters `a_t`, same mask at every step. Default: 0.
        seed: int >= 0 or None, seed of the dropout masks. Default: `None`.
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
        initial_state: optional `[h_0, t_0]`, shapes `(batch, units)` and
            `(batch, 1)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            state and the clock.
        training: bool, whether dropout is active.

    Example:

    ```python
    import keras
    from toolkit.layers import ClockworkRNN

    model = keras.Sequential([
        keras.Input((200, 2)),
        ClockworkRNN(64, periods=(1, 2, 4, 8, 16, 32, 64, 128)),
        keras.layers.Dense(1),
    ])
    ```
    """

    cell_class = ClockworkCell

    def __init__(
        self,
        units,
        periods=(1, 2, 4, 8),
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
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        # Older configs carry `hoist_projection`; this layer always hoists.
        kwargs.pop("hoist_projection", None)
        cell = ClockworkCell(
            units,
            periods=periods,
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
            hoist_projection=True,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        projected = cell.project_inputs(sequences, training=training)
        h_0, time_0 = initial_state
        # Clock value at every step, in the order the loop visits them.
        if mask is None:
            ticks = ops.ones_like(sequences[:, :, :1])
        else:
            ticks = ops.cast(ops.expand_dims(mask, -1), time_0.dtype)
        if self.go_backwards:
            ticks = ops.flip(ticks, axis=1)
        before = ops.cumsum(ticks, axis=1) - ticks
        times = ops.expand_dims(time_0, 1) + before
        if self.go_backwards:
            times = ops.flip(times, axis=1)
        # 0/1 floats: `h + a * (v - h)` has a cheaper gradient than `where`.
        active = ops.cast(cell.schedule(times), projected.dtype)
        kernel = cell.masked_recurrent_kernel()

        def step(inputs, states):
            projected_t, active_t = inputs
            h_tm1 = states[0]
            v = cell.candidate(projected_t, h_tm1, kernel, training)
            h = h_tm1 + active_t * (v - h_tm1)
            return h, [h]

        last, outputs, (h_last,) = rnn(
            step,
            (projected, active),
            [h_0],  # the clock is computed outside the loop
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )
        time_last = time_0 + ops.sum(ticks, axis=1)
        return last, outputs, [h_last, time_last]

    def get_config(self):
        config = super().get_config()
        del config["hoist_projection"]  # always hoisted
        return config
