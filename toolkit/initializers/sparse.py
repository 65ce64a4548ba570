"""Sparse initialisation (Martens 2010)."""

import keras
import numpy as np
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register
from toolkit.initializers._seeds import make_generator_seed


@register
class Sparse(keras.initializers.Initializer):
    """Each unit gets exactly `nonzero` non-zero incoming weights.

    For a kernel of shape `(fan_in, units)` (or `(..., fan_in_k, units)`,
    flattened to `(prod(shape[:-1]), units)`), every column `j` receives
    `nonzero` weights at rows drawn without replacement, each from
    `N(0, stddev^2)`; every other weight is 0:

    ```
    W[:, j] = 0 except W[r, j] ~ N(0, stddev^2) for r in R_j,
    R_j a random subset of the rows with |R_j| = nonzero
    ```

    Unlike scaled dense schemes (Glorot, He), the size of a unit's input
    does not shrink as the layer widens, which keeps the units diverse at
    initialisation (the notes, "Weights"). Martens used `nonzero=15` and
    unit variance.

    Args:
        nonzero: int, the number of non-zero incoming weights per unit.
            Must not exceed the fan-in. Default: 15.
        stddev: float > 0, standard deviation of the non-zero weights.
            Default: 1.0.
        seed: int or None. As in Keras, one initializer object returns the
            same values at every call; unseeded objects draw their seed once
            from the global seed (`keras.utils.set_random_seed`).
            Default: `None`.

    Call arguments:
        shape: `(fan_in, units)` or any rank >= 2, units last.
        dtype: float dtype. Default: `keras.backend.floatx()`.

    Example:

    ```python
    import keras
    from toolkit.initializers import Sparse

    layer = keras.layers.Dense(256, kernel_initializer=Sparse(15, seed=0))
    ```

    Reference:
        Martens, "Deep learning via Hessian-free optimization", ICML 2010,
        section 5 ("sparse initialization").
    """

    def __init__(self, nonzero=15, stddev=1.0, seed=None):
        nonzero = v.check_positive_int("nonzero", nonzero)
        stddev = v.check_positive("stddev", stddev)
        seed = v.check_seed(seed)
        self.nonzero = nonzero
        self.stddev = stddev
        self.seed = seed
        self._seed = make_generator_seed(seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2:
            raise ValueError(
                "`Sparse` initialises kernels of rank >= 2 (fan-in rows, "
                f"units last). Received: shape={shape}"
            )
        fan_in, units = int(np.prod(shape[:-1])), shape[-1]
        if self.nonzero > fan_in:
            raise ValueError(
                f"`Sparse(nonzero={self.nonzero})` needs a fan-in of at "
                f"least {self.nonzero}. Received: shape={shape} "
                f"(fan-in {fan_in}); lower `nonzero`."
            )
        dtype = keras.backend.standardize_dtype(dtype)
        rng = np.random.default_rng(self._seed)
        matrix = np.zeros((fan_in, units))
        for unit in range(units):
            rows = rng.choice(fan_in, size=self.nonzero, replace=False)
            values = rng.normal(0.0, self.stddev, size=self.nonzero)
            # A draw of exactly 0 would break the promised count.
            values[values == 0.0] = self.stddev
            matrix[rows, unit] = values
        return ops.convert_to_tensor(matrix.reshape(shape), dtype)

    def get_config(self):
        return {
            "nonzero": self.nonzero,
            "stddev": self.stddev,
            "seed": self.seed,
        }
