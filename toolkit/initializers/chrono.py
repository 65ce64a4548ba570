"""Chrono initialisation of LSTM and GRU gate biases (Tallec & Ollivier)."""

import math

import keras
import numpy as np
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.initializers._seeds import make_generator_seed


@register
class Chrono(keras.initializers.Initializer):
    """Gate biases that spread the cell's memory over `[1, max_timescale]`.

    A leaky unit with forget gate `f` remembers for about `1 / (1 - f)`
    steps. Chrono initialisation draws each unit's characteristic time
    uniformly and sets the gate biases so that the gates open to it:

    ```
    LSTM ([i, f, c, o] layout):  b_f = log(U(1, max_timescale - 1))
                                 b_i = -b_f,  b_c = b_o = 0
    GRU  ([u, r, n] layout, h_t = u h_{t-1} + (1 - u) n_t):
                                 b_u = log(U(1, max_timescale - 1))
                                 b_r = b_n = 0
    ```

    The GRU's update gate `u_t` keeps the old state in the Keras (and this
    toolkit's) convention, so its bias takes the forget-gate value. With
    `reset_after=True` the GRU bias has shape `(2, 3 * units)`: the input
    row gets the values above, the recurrent row zeros.

    Give it to a cell as `bias_initializer`. With an LSTM also pass
    `unit_forget_bias=False`: otherwise the cell calls the initializer gate
    by gate and overwrites the forget bias with 1.

    Args:
        max_timescale: float >= 2, the longest dependency expected, `T_max`
            (e.g. the sequence length).
        cell: `"lstm"` or `"gru"`, the gate layout. Default: `"lstm"`.
        seed: int or None. As in Keras, one initializer object returns the
            same values at every call. Default: `None`.

    Call arguments:
        shape: `(4 * units,)` for `"lstm"`; `(3 * units,)` or
            `(2, 3 * units)` for `"gru"`.
        dtype: float dtype. Default: `keras.backend.floatx()`.

    Example:

    ```python
    import keras
    from toolkit.initializers import Chrono

    layer = keras.layers.LSTM(
        64, unit_forget_bias=False,
        bias_initializer=Chrono(max_timescale=400, seed=0))
    ```

    Reference:
        Tallec & Ollivier, "Can recurrent neural networks warp time?",
        ICLR 2018.
    """

    def __init__(self, max_timescale, cell="lstm", seed=None):
        max_timescale = v.check_in_range(
            "max_timescale", max_timescale, 2.0, math.inf, high_closed=False
        )
        cell = v.check_choice("cell", cell, {"lstm", "gru"})
        seed = v.check_seed(seed)
        self.max_timescale = max_timescale
        self.cell = cell
        self.seed = seed
        self._seed = make_generator_seed(seed)

    def _units(self, shape):
        gates = 4 if self.cell == "lstm" else 3
        allowed = [1] if self.cell == "lstm" else [1, 2]
        valid = (
            len(shape) in allowed
            and shape[-1] % gates == 0
            and (len(shape) == 1 or shape[0] == 2)
        )
        if not valid:
            expected = (
                "(4 * units,)"
                if self.cell == "lstm"
                else "(3 * units,) or (2, 3 * units)"
            )
            raise ValueError(
                f"`Chrono(cell={self.cell!r})` initialises a bias of shape "
                f"{expected} (with an LSTM also pass unit_forget_bias=False)."
                f" Received: shape={shape}"
            )
        return shape[-1] // gates

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        units = self._units(shape)
        dtype = keras.backend.standardize_dtype(dtype)
        rng = np.random.default_rng(self._seed)
        memory = np.log(rng.uniform(1.0, self.max_timescale - 1.0, size=units))
        zeros = np.zeros(units)
        if self.cell == "lstm":
            bias = np.concatenate([-memory, memory, zeros, zeros])
        else:
            bias = np.concatenate([memory, zeros, zeros])
            if len(shape) == 2:
                bias = np.stack([bias, np.zeros_like(bias)])
        return ops.convert_to_tensor(bias, dtype)

    def get_config(self):
        return {
            "max_timescale": self.max_timescale,
            "cell": self.cell,
            "seed": self.seed,
        }
