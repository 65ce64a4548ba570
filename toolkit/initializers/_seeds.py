"""Seeds of the NumPy-based initializers, following Keras's convention."""

import random


def check_seed(seed):
    """Return `seed` if it is None or an int, else raise."""
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int)
    ):
        raise ValueError(
            f"Argument `seed` must be None or an int. Received: seed={seed!r}"
        )
    return seed


def make_generator_seed(seed):
    """The seed an initializer draws with, fixed at construction.

    As in Keras, an unseeded initializer draws its seed once from Python's
    generator (which `keras.utils.set_random_seed` seeds), so one
    initializer object returns the same values at every call.
    """
    seed = check_seed(seed)
    if seed is None:
        return random.randint(1, int(1e9))
    return seed
