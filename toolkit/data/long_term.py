"""Seeded, vectorised generators of long-term-dependency tasks."""

import numpy as np

from toolkit import validation as v


def adding_problem(n, timesteps, seed=None):
    """The adding problem (Hochreiter & Schmidhuber 1997).

    Each sequence has two channels: values drawn uniformly from [0, 1), and
    a marker that is 1 at exactly two steps (one in the first half, one in
    the second) and 0 elsewhere. The target is the sum of the two marked
    values. Predicting the constant 1 gives a mean squared error of
    `Var(U + U') = 1/6`, about 0.167: the baseline a model must beat.

    Args:
        n: int, number of sequences.
        timesteps: int >= 2, the sequence length `T`.
        seed: int or None, seed of NumPy's generator.

    Returns:
        `(x, y)`: `x` float32 `(n, timesteps, 2)`, `y` float32 `(n, 1)`.

    Example:

    ```python
    from toolkit.data import adding_problem

    x, y = adding_problem(1000, timesteps=100, seed=0)
    ```
    """
    n = v.check_positive_int("n", n)
    timesteps = v.check_positive_int("timesteps", timesteps)
    if timesteps < 2:
        raise ValueError(
            "Argument `timesteps` must be at least 2 (one marker in each "
            f"half). Received: timesteps={timesteps}"
        )
    seed = v.check_seed(seed)
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, timesteps))
    half = timesteps // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, timesteps, size=n)
    markers = np.zeros((n, timesteps))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values[rows, first] + values[rows, second]).astype("float32")
    return x, y[:, None]


def copy_memory(n, timesteps, n_symbols=8, copy_length=10, seed=None):
    """The copy-memory task (Arjovsky, Shah & Bengio 2016).

    The input shows `copy_length` symbols drawn from `1..n_symbols`, then
    `timesteps - 1` blanks (0), then the recall cue (`n_symbols + 1`), then
    `copy_length` blanks. The target is blank everywhere except the last
    `copy_length` steps, which must repeat the first symbols. A model that
    outputs blanks and then guesses symbols at random has a cross-entropy of
    `copy_length * log(n_symbols) / (timesteps + 2 * copy_length)`.

    Args:
        n: int, number of sequences.
        timesteps: int, the number of blanks `T` between the symbols and
            the end of the cue.
        n_symbols: int, alphabet size. Default: 8.
        copy_length: int, how many symbols to remember. Default: 10.
        seed: int or None.

    Returns:
        `(x, y)`: int32 arrays of shape `(n, timesteps + 2 * copy_length)`
        with values in `0..n_symbols + 1` (`x`) and `0..n_symbols` (`y`).

    Example:

    ```python
    from toolkit.data import copy_memory

    x, y = copy_memory(512, timesteps=50, seed=0)  # shapes (512, 70)
    ```
    """
    n = v.check_positive_int("n", n)
    timesteps = v.check_positive_int("timesteps", timesteps)
    n_symbols = v.check_positive_int("n_symbols", n_symbols)
    copy_length = v.check_positive_int("copy_length", copy_length)
    seed = v.check_seed(seed)
    rng = np.random.default_rng(seed)
    length = timesteps + 2 * copy_length
    symbols = rng.integers(1, n_symbols + 1, size=(n, copy_length))
    x = np.zeros((n, length), dtype="int32")
    y = np.zeros((n, length), dtype="int32")
    x[:, :copy_length] = symbols
    x[:, timesteps + copy_length - 1] = n_symbols + 1
    y[:, -copy_length:] = symbols
    return x, y
