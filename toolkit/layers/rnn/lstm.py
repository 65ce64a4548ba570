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
        hoist_projection: bool, compute `W_x x_t + b` for all steps before
            the loop. Default: `False`.
        **kwargs: every `LSTMCell` argument (`peephole`, `layer_norm`,
            `dropout`, `recurrent_dropout`, initializers, ...) and every
            `keras.layers.RNN` argument (`return_sequences`,
            `return_state`, `go_backwards`, `stateful`, `unroll`,
            `zero_output_for_mask`) and base layer argument.

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
