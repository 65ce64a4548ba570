"""The UCI handwritten digits the project ships (`datasets/digits.csv.gz`).

The file is found by `toolkit.data.shipped.shipped_path`, in a source
checkout or an installed wheel.
"""

import gzip

import numpy as np

from toolkit import validation as v
from toolkit.data.shipped import shipped_path

DIGITS_FILE = "digits.csv.gz"
DIGITS_SAMPLES = 1797


def load_digits(shape="flat", scale=True):
    """The 1,797 UCI handwritten digits (8x8 images, 10 classes).

    The test set of "Optical Recognition of Handwritten Digits" (Alpaydin &
    Kaynak 1998, UCI Machine Learning Repository, CC BY 4.0): each image is
    8x8 counts of "on" pixels in 4x4 blocks of a 32x32 bitmap, so every
    pixel is an integer in 0..16.

    Args:
        shape: `"flat"` for `(1797, 64)` or `"image"` for `(1797, 8, 8, 1)`
            (channels last, for convolutions). Default: `"flat"`.
        scale: bool, divide the pixels by 16 so they lie in [0, 1].
            Default: `True`.

    Returns:
        `(x, y)`: `x` float32 of the chosen shape, `y` int32 `(1797,)` with
        the digit 0..9.

    Example:

    ```python
    from toolkit.data import load_digits

    x, y = load_digits(shape="image")  # (1797, 8, 8, 1), (1797,)
    ```
    """
    v.check_choice("shape", shape, {"flat", "image"})
    with shipped_path(DIGITS_FILE).open("rb") as raw:
        with gzip.open(raw, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.int32)
    x = table[:, :64].astype("float32")
    y = table[:, 64].astype("int32")
    if scale:
        x /= 16.0
    if shape == "image":
        x = x.reshape(-1, 8, 8, 1)
    return x, y


def digits_split(validation_fraction=0.25, shape="flat", scale=True, seed=0):
    """The digits shuffled with `seed` and split into training and
    validation sets, each class split in the same proportion.

    Args:
        validation_fraction: float in (0, 1), share of each class held out.
            Default: 0.25.
        shape: `"flat"` or `"image"`, as in `load_digits`.
            Default: `"flat"`.
        scale: bool, as in `load_digits`. Default: `True`.
        seed: int or None, seed of the shuffle. Default: 0.

    Returns:
        `((x_train, y_train), (x_val, y_val))`.

    Example:

    ```python
    from toolkit.data import digits_split

    (x, y), (x_val, y_val) = digits_split(0.2, seed=0)
    ```
    """
    fraction = v.check_in_range(
        "validation_fraction",
        validation_fraction,
        0.0,
        1.0,
        low_closed=False,
        high_closed=False,
    )
    seed = v.check_seed(seed)
    x, y = load_digits(shape=shape, scale=scale)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        held = int(round(fraction * len(members)))
        val.append(members[:held])
        train.append(members[held:])
    train = rng.permutation(np.concatenate(train))
    val = rng.permutation(np.concatenate(val))
    return (x[train], y[train]), (x[val], y[val])
