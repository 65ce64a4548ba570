"""`SkipRNN`: skip connections through time as a fast sequence layer."""

from keras import ops

from toolkit._keras_compat import rnn
from toolkit.api_export import register
from toolkit.layers.rnn.projected_rnn import ProjectedRNN
from toolkit.layers.rnn.skip_cell import SkipCell


@register
class SkipRNN(ProjectedRNN):
    """`toolkit.layers.SkipCell` over a sequence, with two fast paths.

    Computes exactly `keras.layers.RNN(SkipCell(units, ...))`; when no
    mask, `go_backwards` or recurrent dropout is in play and the length
    `T` is known, faster than that loop in one of two ways.

    Blocks (several delays, e.g. `(1, 16)`): the cell's state is its last
    `D = max(delays)` outputs, `D` tensors a step-by-step loop carries
    (and differentiates) one by one. Let `m` be the shortest delay above
    1 and `B <= m` a divisor of `T` (at most 32). In a block of `B`
    consecutive steps every `h_{t-d}` with `d >= m` lies before the block,
    so `sum_{d >= m} U_d h_{t-d}` is one matrix product per block, and
    only the delay-1 connection stays step by step. The loop runs over
    `T / B` blocks carrying one `(batch, D, units)` history tensor, so a
    step costs about what a simple RNN's does, whatever `D`.

    Chains (one delay, `delays=(d,)`, a dilated-RNN layer): the sequence
    is `d` independent chains (steps `j, j + d, j + 2d, ...`); when
    `T >= d` they run as one batch of `batch * d` chains of length
    `ceil(T / d)` (Chang et al.'s implementation), `d` times fewer
    sequential steps for the same result.

    Otherwise (a mask, `go_backwards`, recurrent dropout in training, or no
    divisor of `T` from 4 to `m`) the layer runs the cell step by step.

    Args:
        units: int, the size of `h_t`.
        delays: positive ints, the delays `d`, distinct. Default: `(1, 8)`.
        activation: `g`. Default: `"tanh"`.
        use_bias: bool. Default: `True`.
        layer_norm: bool, layer-normalise the pre-activation, the bias
            becoming the shift. Default: `False`.
        layer_norm_epsilon: float > 0. Default: 1e-5.
        kernel_initializer: initializer of `kernel`, the input weights `W`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: initializer of `recurrent_kernel`, the stacked
            recurrent weights `U_d`. Default: `"orthogonal"`.
        bias_initializer: initializer of `bias`, `b`. Default: `"zeros"`.
        kernel_regularizer: regularizer of `kernel`, the input weights `W`.
            Default: `None`.
        recurrent_regularizer: regularizer of `recurrent_kernel`, the stacked
            recurrent weights `U_d`. Default: `None`.
        bias_regularizer: regularizer of `bias`, `b`. Default: `None`.
        kernel_constraint: constraint of `kernel`, the input weights `W`.
            Default: `None`.
        recurrent_constraint: constraint of `recurrent_kernel`, the stacked
            recurrent weights `U_d`. Default: `None`.
        bias_constraint: constraint of `bias`, `b`. Default: `None`.
        dropout: float in [0, 1), input dropout, same mask at every step.
            Default: 0.
        recurrent_dropout: float in [0, 1), dropout on every `h_{t-d}`
            where it enters `h_t`, one mask for all delays and steps.
            Default: 0.
        seed: int >= 0 or None, seed of the dropout masks. Default: `None`.
        hoist_projection: bool, on the step-by-step path (see above),
            compute the input projection `W x_t (+ b)` for all steps in one
            matrix product before the loop (same result); the fast paths
            always do. Default: `False`.
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

    def __init__(
        self,
        units,
        delays=(1, 8),
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
        cell = SkipCell(
            units,
            delays=delays,
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

    def _fast_path(self, sequences, mask, training):
        """`"blocks"`, `"chains"` or None (the cell step by step)."""
        cell = self.cell
        steps = sequences.shape[1]
        if (
            cell.max_delay == 1
            or mask is not None
            or self.go_backwards
            or (training and cell.recurrent_dropout > 0)
            or steps is None
        ):
            return None
        if len(cell.delays) == 1:
            return "chains" if steps >= cell.max_delay else None
        return "blocks" if self._block_length(steps) else None

    def _block_length(self, steps):
        """The longest block length `B <= min(m, 32)` dividing `steps`
        (`m` the shortest delay above 1), or None if below 4 (shorter
        blocks cost more than they save)."""
        shortest = min(d for d in self.cell.delays if d > 1)
        for length in range(min(shortest, 32, steps), 3, -1):
            if steps % length == 0:
                return length
        return None

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        path = self._fast_path(sequences, mask, training)
        if path == "blocks":
            return self._block_loop(sequences, initial_state, training)
        if path == "chains":
            return self._chain_loop(sequences, initial_state, training)
        return super().inner_loop(
            sequences, initial_state, mask, training=training
        )

    def _block_loop(self, sequences, initial_state, training):
        """The recurrence over blocks of `B` steps (see the class
        docstring); the history row `D - k` holds `h_{t0 - k}`, `t0` the
        block's first step."""
        cell = self.cell
        steps, depth, units = sequences.shape[1], cell.max_delay, cell.units
        length = self._block_length(steps)
        projected = cell.project_inputs(sequences, training=training)
        batch = ops.shape(projected)[0]
        blocks = ops.reshape(projected, (batch, steps // length, length, units))
        skips = [d for d in cell.delays if d > 1]
        one = cell.delay_kernel(1) if 1 in cell.delays else None
        kernels = ops.concatenate([cell.delay_kernel(d) for d in skips], 0)

        def step(block, states):
            # `split`, not slicing: a strided slice's gradient is slow here.
            history = states[0]
            rows = ops.concatenate(
                [
                    ops.split(history, [depth - d, depth - d + length], 1)[1]
                    for d in skips
                ],
                axis=-1,
            )  # [b, i] = (h_{t0+i-d} for d in skips)
            a = block + ops.reshape(
                ops.matmul(ops.reshape(rows, (-1, rows.shape[-1])), kernels),
                (batch, length, units),
            )
            _, h = ops.split(history, [depth - 1], axis=1)
            h = ops.squeeze(h, axis=1)
            outputs = []
            for a_t in ops.unstack(a, axis=1):
                if one is not None:
                    a_t = a_t + ops.matmul(h, one)
                h = cell.activate(a_t)
                outputs.append(h)
            outputs = ops.stack(outputs, axis=1)
            kept = ops.split(history, [length], axis=1)[1]
            return outputs, [ops.concatenate([kept, outputs], axis=1)]

        _, outputs, (history,) = rnn(
            step,
            blocks,
            [ops.stack(initial_state[::-1], axis=1)],
            input_length=steps // length,
            return_all_outputs=True,
        )
        outputs = ops.reshape(outputs, (batch, steps, units))
        states = [history[:, depth - 1 - k] for k in range(depth)]
        return outputs[:, -1], outputs, states

    def _chain_loop(self, sequences, initial_state, training):
        """One delay `d`: `batch * d` chains of `ceil(T / d)` steps."""
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
