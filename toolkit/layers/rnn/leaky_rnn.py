"""`LeakyRNN`: leaky units as a fast sequence layer."""

from toolkit.api_export import register
from toolkit.layers.rnn.leaky_cell import LeakyCell
from toolkit.layers.rnn.projected_rnn import ProjectedRNN


@register
class LeakyRNN(ProjectedRNN):
    """`toolkit.layers.LeakyCell` over a sequence, input projection hoisted.

    Computes exactly `keras.layers.RNN(LeakyCell(units, ...))`, with
    `W_x x_t + b` computed for all time steps in one matrix product before
    the recurrence.

    Args:
        units: int, the number of leaky units.
        **kwargs: every `LeakyCell` argument (`mode`, `alpha`, `tau_min`,
            `tau_max`, `layer_norm`, `dropout`, ...) and every
            `keras.layers.RNN` argument (`return_sequences`,
            `return_state`, `go_backwards`, `stateful`, `unroll`,
            `zero_output_for_mask`).

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
