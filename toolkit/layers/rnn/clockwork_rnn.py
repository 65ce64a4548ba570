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
        **kwargs: every `ClockworkCell` argument (`periods`, `dropout`, ...)
            and every `keras.layers.RNN` argument.

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
        # As 0/1 floats: `h + active * (v - h)` differentiates faster in
        # the loop than `where(active, v, h)` (and equals it: exactly `h`
        # where inactive, `v` to rounding where active).
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
