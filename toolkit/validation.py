"""Argument checks shared by every package of the toolkit and its recipes.

Each check raises a `ValueError` whose message names the argument in
backticks, says what is allowed and echoes what was received, e.g.
``Argument `leak_rate` must be a number in (0, 1]. Received:
leak_rate=1.5``, and returns the value in its canonical type. Every module
checks its arguments through these functions, so that one rule (what a seed
may be, what a rate may be) holds everywhere.

Example:

```python
from toolkit import validation

units = validation.check_positive_int("units", 32)
rate = validation.check_rate("dropout", 0.1)
seed = validation.check_seed(None)
```
"""

import math
import numbers

import keras


def check_positive_int(name, value):
    """Return `value` as an `int` if it is a positive integer, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"Argument `{name}` must be a positive integer. "
            f"Received: {name}={value!r}"
        )
    if value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_non_negative_int(name, value):
    """Return `value` as an `int` if it is an integer >= 0, else raise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < 0
    ):
        raise ValueError(
            f"Argument `{name}` must be a non-negative integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_seed(value, name="seed"):
    """Return `value` as `None` or an `int` >= 0, else raise.

    The one rule for every seed in the toolkit: NumPy's generators and
    keras-tuner's oracles reject negative seeds, so the toolkit does too.
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < 0
    ):
        raise ValueError(
            f"Argument `{name}` must be None or an int >= 0. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_in_range(name, value, low, high, low_closed=True, high_closed=True):
    """Return `value` as a float if it lies in the interval, else raise.

    The interval is written in the message the usual way, e.g. `[0, 1)`.
    An infinite bound is always open: no argument may be infinite or NaN,
    whatever `low_closed` and `high_closed` say.
    """
    low_closed = low_closed and math.isfinite(low)
    high_closed = high_closed and math.isfinite(high)
    interval = (
        ("[" if low_closed else "(")
        + f"{low:g}, {high:g}"
        + ("]" if high_closed else ")")
    )
    message = (
        f"Argument `{name}` must be a number in {interval}. "
        f"Received: {name}={value!r}"
    )
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
    ):
        raise ValueError(message)
    above = value >= low if low_closed else value > low
    below = value <= high if high_closed else value < high
    if not (above and below):
        raise ValueError(message)
    return float(value)


def check_rate(name, value):
    """A dropout-style rate: a number in [0, 1)."""
    return check_in_range(name, value, 0.0, 1.0, high_closed=False)


def check_positive(name, value):
    """A number in (0, inf), returned as a float."""
    return check_in_range(
        name, value, 0.0, math.inf, low_closed=False, high_closed=False
    )


def check_non_negative(name, value):
    """A number in [0, inf), returned as a float."""
    return check_in_range(name, value, 0.0, math.inf, high_closed=False)


def check_choice(name, value, allowed):
    """Return `value` if it is one of `allowed`, else raise."""
    try:
        known = value in allowed
    except TypeError:
        # An unhashable value (a list, a dict) is none of a set's members.
        known = False
    if not known:
        raise ValueError(
            f"Argument `{name}` must be one of {sorted(allowed)!r}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_subset(name, values, allowed):
    """Return `values` as a tuple if it is a non-empty subset of `allowed`."""
    values = (values,) if isinstance(values, str) else tuple(values)
    unknown = [value for value in values if value not in allowed]
    if not values or unknown:
        raise ValueError(
            f"Argument `{name}` must be a non-empty subset of "
            f"{list(allowed)}. Received: {name}={list(values)}"
        )
    return values


def is_dataset(value):
    """Whether `value` is a `tf.data.Dataset` (False without TensorFlow)."""
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return isinstance(value, tf.data.Dataset)


def require_pyplot():
    """`matplotlib.pyplot`, or an `ImportError` that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib: `pip install matplotlib` (or "
            '`pip install "curriculum-toolkit[plot]"`).'
        ) from error
    return plt


def get_activation(name, value):
    """`keras.activations.get` with an error that names the argument."""
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Argument `{name}` must be the name of a Keras activation "
            "(e.g. 'tanh', 'sigmoid', 'relu') or a callable. "
            f"Received: {name}={value!r}"
        ) from error


def get_initializer(name, value):
    """`keras.initializers.get` with an error that names the argument."""
    try:
        return keras.initializers.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Argument `{name}` must be a Keras initializer, its name "
            "(e.g. 'glorot_uniform', 'orthogonal', 'zeros') or its config. "
            f"Received: {name}={value!r}"
        ) from error


def get_regularizer(name, value):
    """`keras.regularizers.get` with an error that names the argument."""
    try:
        return keras.regularizers.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Argument `{name}` must be None, a Keras regularizer, its name "
            f"(e.g. 'l2') or its config. Received: {name}={value!r}"
        ) from error


def get_constraint(name, value):
    """`keras.constraints.get` with an error that names the argument."""
    try:
        return keras.constraints.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Argument `{name}` must be None, a Keras constraint, its name "
            f"(e.g. 'non_neg') or its config. Received: {name}={value!r}"
        ) from error
