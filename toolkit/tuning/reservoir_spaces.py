"""Search spaces for an echo state network's hyperparameters.

The same conventions as `toolkit.tuning.search_spaces`: each function
declares one hyperparameter on a keras-tuner `hp`, with a default, and
returns `{name: value}`, a keyword argument of `toolkit.models.ESN` (or of
its `fit`, for `ridge`). `reservoir_space` declares several at once. The
ranges are those Lukosevicius's practical guide (2012) recommends
searching: the spectral radius around 1, the leak rate and the ridge on a
log scale.
"""

from toolkit import validation as v
from toolkit.tuning.search_spaces import _check_range

SAMPLINGS = ("linear", "log")


def spectral_radius_space(
    hp,
    min_value=0.1,
    max_value=1.5,
    default=0.9,
    sampling="linear",
    name="spectral_radius",
):
    """The spectral radius of the recurrent weights (the reservoir's
    memory: near 1 for long memory, below for fast dynamics).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        min_value: float > 0, the smallest value. Default: 0.1.
        max_value: float > `min_value`, the largest value. Default: 1.5.
        default: float, the first trial's value. Default: 0.9.
        sampling: `"linear"` or `"log"`. Default: `"linear"`.
        name: str, the hyperparameter and keyword name.
            Default: `"spectral_radius"`.

    Returns:
        `{name: float}`.

    Example:

    ```python
    hp = keras_tuner.HyperParameters()
    spectral_radius_space(hp, sampling="log")  # {"spectral_radius": 0.9}
    ```
    """
    return _float(hp, name, min_value, max_value, default, sampling)


def leak_rate_space(
    hp,
    min_value=0.05,
    max_value=1.0,
    default=1.0,
    sampling="log",
    name="leak_rate",
):
    """The leak rate `a` of the units, in (0, 1] (the reservoir's time
    scale: small for slow inputs).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        min_value: float > 0, the smallest value. Default: 0.05.
        max_value: float <= 1, the largest value. Default: 1.0.
        default: float, the first trial's value. Default: 1.0.
        sampling: `"linear"` or `"log"`. Default: `"log"`.
        name: str. Default: `"leak_rate"`.

    Returns:
        `{name: float}`.
    """
    v.check_in_range("max_value", max_value, 0.0, 1.0, low_closed=False)
    return _float(hp, name, min_value, max_value, default, sampling)


def input_scaling_space(
    hp,
    min_value=0.1,
    max_value=2.0,
    default=1.0,
    sampling="linear",
    name="input_scaling",
):
    """The magnitude of the input weights (how nonlinear the reservoir's
    response is).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        min_value: float > 0, the smallest value. Default: 0.1.
        max_value: float > `min_value`, the largest value. Default: 2.0.
        default: float, the first trial's value. Default: 1.0.
        sampling: `"linear"` or `"log"`. Default: `"linear"`.
        name: str. Default: `"input_scaling"`.

    Returns:
        `{name: float}`.
    """
    return _float(hp, name, min_value, max_value, default, sampling)


def bias_scaling_space(
    hp,
    min_value=0.0,
    max_value=1.0,
    default=0.0,
    sampling="linear",
    name="bias_scaling",
):
    """The half-width of the reservoir's bias distribution (0: no bias).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        min_value: float >= 0 (> 0 on a log scale). Default: 0.0.
        max_value: float > `min_value`. Default: 1.0.
        default: float, the first trial's value. Default: 0.0.
        sampling: `"linear"` or `"log"`. Default: `"linear"`.
        name: str. Default: `"bias_scaling"`.

    Returns:
        `{name: float}`.
    """
    v.check_non_negative("min_value", min_value)
    return _float(hp, name, min_value, max_value, default, sampling, 0.0)


def ridge_space(hp, min_value=1e-9, max_value=1e-1, default=1e-6, name="ridge"):
    """The readout's ridge penalty, sampled on a log scale (an argument of
    `ESN.fit`: the sweep passes it there).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        min_value: float > 0, the smallest value. Default: 1e-9.
        max_value: float > `min_value`, the largest value. Default: 0.1.
        default: float, the first trial's value. Default: 1e-6.
        name: str. Default: `"ridge"`.

    Returns:
        `{name: float}`.
    """
    return _float(hp, name, min_value, max_value, default, "log")


def units_space(hp, values=(100, 200, 500), default=None, name="units"):
    """The number of reservoir units, one of `values`.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        values: positive ints. Default: `(100, 200, 500)`.
        default: one of `values`, or None for the first. Default: None.
        name: str. Default: `"units"`.

    Returns:
        `{name: int}`.
    """
    if isinstance(values, (int, str)) or not values:
        raise ValueError(
            "Argument `values` must be a non-empty list of positive ints. "
            f"Received: values={values!r}"
        )
    values = [v.check_positive_int("values", value) for value in values]
    default = values[0] if default is None else default
    v.check_choice("default", default, set(values))
    return {name: hp.Choice(name, values, default=default)}


def connectivity_space(
    hp,
    min_value=0.01,
    max_value=0.5,
    default=0.1,
    sampling="log",
    name="connectivity",
):
    """The fraction of non-zero recurrent weights, in (0, 1].

    Args:
        hp: a `keras_tuner.HyperParameters`.
        min_value: float > 0, the smallest value. Default: 0.01.
        max_value: float <= 1, the largest value. Default: 0.5.
        default: float, the first trial's value. Default: 0.1.
        sampling: `"linear"` or `"log"`. Default: `"log"`.
        name: str. Default: `"connectivity"`.

    Returns:
        `{name: float}`.
    """
    v.check_in_range("max_value", max_value, 0.0, 1.0, low_closed=False)
    return _float(hp, name, min_value, max_value, default, sampling)


#: The spaces `reservoir_space` combines, in order.
RESERVOIR_SPACES = {
    "spectral_radius": spectral_radius_space,
    "leak_rate": leak_rate_space,
    "input_scaling": input_scaling_space,
    "ridge": ridge_space,
    "units": units_space,
    "connectivity": connectivity_space,
    "bias_scaling": bias_scaling_space,
}


def reservoir_space(
    hp,
    spectral_radius=True,
    leak_rate=True,
    input_scaling=True,
    ridge=True,
    units=False,
    connectivity=False,
    bias_scaling=False,
):
    """Several reservoir hyperparameters at once: by default the four
    Lukosevicius's guide searches first (spectral radius, leak rate, input
    scaling, ridge); units, connectivity and bias scaling on request.

    Each argument is `True` (that space with its defaults), `False` (left
    out: the ESN's own default applies) or a dict of that space's
    arguments, e.g. `leak_rate={"min_value": 0.1}`.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        spectral_radius: bool or dict, see `spectral_radius_space`.
            Default: True.
        leak_rate: bool or dict, see `leak_rate_space`. Default: True.
        input_scaling: bool or dict, see `input_scaling_space`.
            Default: True.
        ridge: bool or dict, see `ridge_space`. Default: True.
        units: bool or dict, see `units_space`. Default: False.
        connectivity: bool or dict, see `connectivity_space`.
            Default: False.
        bias_scaling: bool or dict, see `bias_scaling_space`.
            Default: False.

    Returns:
        dict of the chosen hyperparameters' values.

    Example:

    ```python
    hp = keras_tuner.HyperParameters()
    reservoir_space(hp, units={"values": [50, 100]})
    # {"spectral_radius": 0.9, "leak_rate": 1.0, "input_scaling": 1.0,
    #  "ridge": 1e-06, "units": 50}
    ```
    """
    chosen = {
        "spectral_radius": spectral_radius,
        "leak_rate": leak_rate,
        "input_scaling": input_scaling,
        "ridge": ridge,
        "units": units,
        "connectivity": connectivity,
        "bias_scaling": bias_scaling,
    }
    values = {}
    for key, option in chosen.items():
        if option is False or option is None:
            continue
        if option is True:
            option = {}
        if not isinstance(option, dict):
            raise ValueError(
                f"Argument `{key}` must be True, False or a dict of the "
                f"arguments of `{RESERVOIR_SPACES[key].__name__}`. "
                f"Received: {key}={option!r}"
            )
        values.update(RESERVOIR_SPACES[key](hp, **option))
    return values


def _float(hp, name, low, high, default, sampling, floor=None):
    """`hp.Float` after the checks every float space makes: numbers
    `low < high` (`floor <= low`, else `0 < low`), `default` between them,
    and a log scale only above zero."""
    sampling = v.check_choice("sampling", sampling, set(SAMPLINGS))
    low, high = _check_range(low, high, default)
    if floor is None and not low > 0:
        raise ValueError(
            f"Argument `min_value` of `{name}` must be > 0. "
            f"Received: min_value={low!r}"
        )
    if sampling == "log" and not low > 0:
        raise ValueError(
            "A log scale needs `min_value` > 0. Received: "
            f"min_value={low!r}, sampling='log'"
        )
    return {
        name: hp.Float(
            name, low, high, sampling=sampling, default=float(default)
        )
    }
