"""`SkipRNN`: skip connections through time as a fast sequence layer."""

from toolkit.api_export import register
from toolkit.layers.rnn.projected_rnn import ProjectedRNN
from toolkit.layers.rnn.skip_cell import SkipCell


@register
class SkipRNN(ProjectedRNN):
    """`toolkit.layers.SkipCell` over a sequence, input projection hoisted.

    Computes exactly `keras.layers.RNN(SkipCell(units, ...))`, with
    `W x_t + b` computed for all time steps in one matrix product before
    the recurrence.

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
