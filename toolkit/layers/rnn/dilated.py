"""`dilated_stack`: a dilated RNN (Chang et al. 2017) from `SkipRNN`s."""

import numbers

import keras

from toolkit import validation as v
from toolkit.layers.rnn.skip_cell import check_delays
from toolkit.layers.rnn.skip_rnn import SkipRNN


def dilated_stack(
    units, dilations=4, return_sequences=False, name=None, **options
):
    """A stack of single-delay `SkipRNN` layers with growing dilations.

    Layer `l` connects `h^l_t` to `h^l_{t - d_l}` only (no length-one
    connection), and feeds its whole output sequence to layer `l + 1`:

    ```
    h^l_t = g(W^l h^{l-1}_t + U^l h^l_{t - d_l} + b^l),  h^0_t = x_t
    ```

    With dilations `1, 2, 4, ..., 2^{L-1}` the top layer sees `2^L` steps
    back through only `L` recurrent products per level.

    Args:
        units: int, units of every layer.
        dilations: int `L` for `(1, 2, 4, ..., 2^{L-1})`, or a list of
            positive ints, one per layer (repeats allowed). Default: 4.
        return_sequences: bool, whether the top layer returns its whole
            sequence. The lower layers always do. Default: `False`.
        name: str or None, the name of the returned model.
        **options: `SkipCell` and `keras.layers.RNN` arguments given to
            every layer (`activation`, `dropout`, ...); not `delays`.

    Returns:
        A `keras.Sequential` of `SkipRNN(units, delays=(d,))` layers named
        `layer_<l>_dilation_<d>`, usable as one layer inside any model.

    Example:

    ```python
    import keras
    from toolkit.layers import dilated_stack

    model = keras.Sequential([
        keras.Input((400, 2)),
        dilated_stack(32, dilations=5),  # dilations 1, 2, 4, 8, 16
        keras.layers.Dense(1),
    ])
    ```

    Reference:
        Chang et al., "Dilated recurrent neural networks", NIPS 2017.
    """
    units = v.check_positive_int("units", units)
    if isinstance(dilations, numbers.Integral) and not isinstance(
        dilations, bool
    ):
        count = v.check_positive_int("dilations", dilations)
        dilations = tuple(2**i for i in range(count))
    dilations = check_delays(dilations, name="dilations", distinct=False)
    if "delays" in options:
        raise ValueError(
            "`dilated_stack` sets each layer's `delays` from `dilations`; "
            f"do not pass `delays`. Received: delays={options['delays']!r}"
        )
    layers = [
        SkipRNN(
            units,
            delays=(d,),
            return_sequences=return_sequences or i < len(dilations) - 1,
            name=f"layer_{i}_dilation_{d}",
            **options,
        )
        for i, d in enumerate(dilations)
    ]
    return keras.Sequential(layers, name=name)
