"""Seeds of the NumPy-based initializers, following Keras's convention."""

import random

from toolkit import validation as v


def make_generator_seed(seed):
    """The seed an initializer draws with, fixed at construction.

    As in Keras, an unseeded initializer draws its seed once from Python's
    generator (which `keras.utils.set_random_seed` seeds), so one
    initializer object returns the same values at every call.
    """
    seed = v.check_seed(seed)
    if seed is None:
        return random.randint(1, int(1e9))
    return seed


__all__ = ["make_generator_seed"]
