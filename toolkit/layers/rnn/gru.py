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
        hoist_projection: bool, compute the input projection for all steps
            before the loop. Default: `False`.
        **kwargs: every `GRUCell` argument (`reset_after`, `layer_norm`,
            `dropout`, ...) and every `keras.layers.RNN` argument.

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
