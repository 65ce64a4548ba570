"""`SkipRNN`: skip connections through time as a fast sequence layer."""

from keras import ops

from toolkit._keras_compat import rnn
from toolkit.api_export import register
from toolkit.layers.rnn.projected_rnn import ProjectedRNN
from toolkit.layers.rnn.skip_cell import SkipCell


@register
class SkipRNN(ProjectedRNN):
    """`toolkit.layers.SkipCell` over a sequence, input projection hoisted.

    Computes exactly `keras.layers.RNN(SkipCell(units, ...))`, with
    `W x_t + b` computed for all time steps in one matrix product before
    the recurrence.

    With a single delay `delays=(d,)` (a dilated-RNN layer) the sequence is
    `d` independent chains (steps `j, j + d, j + 2d, ...`); when no mask,
    `go_backwards` or recurrent dropout is in play and the length is known
    and at least `d`, they run as one batch of `batch * d` chains of
    length `ceil(T / d)` (Chang et al.'s implementation), `d` times fewer
    sequential steps for the same result.

    Args:
        units: int, the size of `h_t`.
        **kwargs: every `SkipCell` argument (`delays`, `layer_norm`,
            `dropout`, ...) and every `keras.layers.RNN` argument.

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: optional `[h_{-1}, ..., h_{-D}]`, each
            `(batch, units)`, `D = max(delays)`.
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            state, so delays count unmasked steps.
        training: bool, whether dropout is active.

    Example:

    ```python
    import keras
    from toolkit.layers import SkipRNN

    model = keras.Sequential([
        keras.Input((200, 2)),
        SkipRNN(64, delays=(1, 16)),
        keras.layers.Dense(1),
    ])
    ```
    """

    cell_class = SkipCell

    def _dilated_fast_path(self, sequences, mask, training):
        cell = self.cell
        steps = sequences.shape[1]
        return (
            len(cell.delays) == 1
            and cell.max_delay > 1
            and mask is None
            and not self.go_backwards
            and not (training and cell.recurrent_dropout > 0)
            and steps is not None
            and steps >= cell.max_delay
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not self._dilated_fast_path(sequences, mask, training):
            return super().inner_loop(
                sequences, initial_state, mask, training=training
            )
        cell = self.cell
        d, steps = cell.max_delay, sequences.shape[1]
        projected = cell.project_inputs(sequences, training=training)
        batch, units = ops.shape(projected)[0], cell.units
        chunks = -(-steps // d)
        padded = ops.pad(projected, [[0, 0], [0, chunks * d - steps], [0, 0]])
        # [b, k, j] is step k * d + j; chain j = (b, j) runs over k.
        chains = ops.reshape(
            ops.transpose(
                ops.reshape(padded, (batch, chunks, d, units)), (0, 2, 1, 3)
            ),
            (batch * d, chunks, units),
        )
        # Chain j starts from h_{j - d}, i.e. initial_state[d - 1 - j].
        start = ops.reshape(
            ops.stack(initial_state[::-1], axis=1), (batch * d, units)
        )

        def step(projected_t, states):
            output = cell.recur(projected_t, states[0])
            return output, [output]

        _, outputs, _ = rnn(
            step,
            chains,
            [start],
            unroll=self.unroll,
            input_length=chunks,
            return_all_outputs=True,
        )
        outputs = ops.reshape(
            ops.transpose(
                ops.reshape(outputs, (batch, d, chunks, units)), (0, 2, 1, 3)
            ),
            (batch, chunks * d, units),
        )[:, :steps]
        history = [outputs[:, steps - 1 - k] for k in range(d)]
        return outputs[:, -1], outputs, history
