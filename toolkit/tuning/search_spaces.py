"""Composable keras-tuner search spaces for the notes' hyperparameters.

Each function declares its hyperparameters on a keras-tuner `hp`, with
defaults, and returns a dict of keyword arguments for a recipe builder,
e.g. `learning_rate_space(hp)` returns `{"learning_rate": 0.001}`. A dict
key with a dot, such as `"cell_options.recurrent_initializer"`, reaches a
nested dict argument of the builder (see `RecipeHyperModel`). Combine them
with `combine_spaces` or by listing them in a `RecipeHyperModel`.

The values are those of the notes' hyper-parameter chapter: the learning
rate on a log scale, the dropout rate, weight regularisation (none, L1 or
lasso, L2 or ridge, elastic net), weight initialisation (Glorot, He,
orthogonal, Martens's sparse, spectral-radius scaled) and the bias
initialisation of ReLU units (0, 0.01, 0.1).
"""

import keras

from toolkit import validation as v

REGULARIZERS = ("none", "l1", "l2", "elastic_net")
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "orthogonal",
    "sparse",
    "spectral_radius",
)


def learning_rate_space(
    hp, min_value=1e-4, max_value=1e-1, default=1e-3, name="learning_rate"
):
    """The learning rate, sampled on a log scale.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        min_value: float, the smallest value. Default: 1e-4.
        max_value: float > `min_value`, the largest value. Default: 0.1.
        default: float, the value of the first trial. Default: 1e-3.
        name: str, the hyperparameter and keyword name.
            Default: `"learning_rate"`.

    Returns:
        `{name: float}`.

    Example:

    ```python
    hp = keras_tuner.HyperParameters()
    learning_rate_space(hp)  # {"learning_rate": 0.001}
    ```
    """
    _check_range(min_value, max_value, default)
    return {
        name: hp.Float(
            name, min_value, max_value, sampling="log", default=default
        )
    }


def dropout_space(hp, max_value=0.5, step=0.1, default=0.0, name="dropout"):
    """The dropout rate (Srivastava et al. 2014), from 0 to `max_value`.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        max_value: float in (0, 1). Default: 0.5.
        step: float, the grid step. Default: 0.1.
        default: float. Default: 0.0.
        name: str. Default: `"dropout"`.

    Returns:
        `{name: float}`.
    """
    max_value = v.check_in_range(
        "max_value", max_value, 0.0, 1.0, low_closed=False, high_closed=False
    )
    v.check_in_range("default", default, 0.0, max_value)
    return {name: hp.Float(name, 0.0, max_value, step=step, default=default)}


def regularization_space(
    hp,
    kinds=REGULARIZERS,
    min_strength=1e-6,
    max_strength=1e-2,
    default="none",
    name="kernel_regularizer",
):
    """Weight regularisation: none, L1 (lasso), L2 (ridge) or elastic net
    (both), with log-scaled strengths.

    The penalty added to the loss is `l1 * sum|w| + l2 * sum w**2`. The
    strengths `<name>_l1` and `<name>_l2` are conditional hyperparameters:
    they exist only for the kinds that use them.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        kinds: subset of `("none", "l1", "l2", "elastic_net")`.
        min_strength: float, the smallest strength. Default: 1e-6.
        max_strength: float > `min_strength`, the largest strength.
            Default: 1e-2.
        default: the kind of the first trial. Default: `"none"`.
        name: str, the hyperparameter and keyword name.
            Default: `"kernel_regularizer"`.

    Returns:
        `{name: None | keras.regularizers.Regularizer}`.
    """
    kinds = v.check_subset("kinds", kinds, REGULARIZERS)
    v.check_choice("default", default, set(kinds))
    _check_range(min_strength, max_strength, None)
    kind = hp.Choice(name, list(kinds), default=default)
    strengths = {}
    for part, users in (
        ("l1", ["l1", "elastic_net"]),
        ("l2", ["l2", "elastic_net"]),
    ):
        active = [k for k in kinds if k in users]
        if not active:
            continue
        with hp.conditional_scope(name, active):
            strengths[part] = hp.Float(
                f"{name}_{part}",
                min_strength,
                max_strength,
                sampling="log",
                default=min(max(1e-4, min_strength), max_strength),
            )
    if kind == "none":
        return {name: None}
    if kind == "l1":
        return {name: keras.regularizers.L1(strengths["l1"])}
    if kind == "l2":
        return {name: keras.regularizers.L2(strengths["l2"])}
    return {
        name: keras.regularizers.L1L2(l1=strengths["l1"], l2=strengths["l2"])
    }


def initializer_space(
    hp,
    choices=("glorot_uniform", "he_normal", "orthogonal", "sparse"),
    default="glorot_uniform",
    sparse_nonzero=15,
    radius_range=(0.5, 1.5),
    seed=None,
    name="kernel_initializer",
):
    """Weight initialisation.

    - `"glorot_*"`: variance `2 / (fan_in + fan_out)` (Glorot & Bengio
      2010); `"he_*"`: variance `2 / fan_in`, for ReLU (He et al. 2015);
      `"orthogonal"` (Saxe et al. 2014);
    - `"sparse"`: `toolkit.initializers.Sparse`, `sparse_nonzero` non-zero
      incoming weights per unit (Martens 2010); the fan-in must be at
      least `sparse_nonzero`;
    - `"spectral_radius"`: `toolkit.initializers.SpectralRadius`, a Glorot
      matrix rescaled to spectral radius `<name>_radius` (tuned in
      `radius_range`); square matrices only, so meant for
      `"recurrent_initializer"`-like arguments.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        choices: subset of `INITIALIZERS`.
        default: the first trial's choice. Default: `"glorot_uniform"`.
        sparse_nonzero: int, non-zeros per unit of `"sparse"`. Default: 15.
        radius_range: `(low, high)` of the spectral radius. Default:
            `(0.5, 1.5)`.
        seed: int or None, the initializers' seed. Default: None.
        name: str, the hyperparameter and keyword name.
            Default: `"kernel_initializer"`.

    Returns:
        `{name: keras.initializers.Initializer}`.

    Example:

    ```python
    space = lambda hp: initializer_space(
        hp, choices=("orthogonal", "spectral_radius"),
        name="cell_options.recurrent_initializer")
    ```
    """
    from toolkit import initializers

    choices = v.check_subset("choices", choices, INITIALIZERS)
    v.check_choice("default", default, set(choices))
    sparse_nonzero = v.check_positive_int("sparse_nonzero", sparse_nonzero)
    low, high = _check_range(*radius_range, None, name="radius_range")
    kind = hp.Choice(name, list(choices), default=default)
    radius = None
    if "spectral_radius" in choices:
        with hp.conditional_scope(name, ["spectral_radius"]):
            radius = hp.Float(
                f"{name}_radius", low, high, default=min(max(1.0, low), high)
            )
    if kind == "sparse":
        return {name: initializers.Sparse(nonzero=sparse_nonzero, seed=seed)}
    if kind == "spectral_radius":
        return {name: initializers.SpectralRadius(radius=radius, seed=seed)}
    initializer = keras.initializers.get(kind)
    if seed is not None:
        initializer = type(initializer).from_config(
            {**initializer.get_config(), "seed": seed}
        )
    return {name: initializer}


def bias_initializer_space(
    hp, values=(0.0, 0.01, 0.1), default=0.0, name="bias_initializer"
):
    """A constant bias; a small positive bias keeps ReLU units active at the
    start (Goodfellow et al. 2016, section 8.4).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        values: the constants to choose from. Default: `(0.0, 0.01, 0.1)`.
        default: the first trial's value. Default: 0.0.
        name: str. Default: `"bias_initializer"`.

    Returns:
        `{name: keras.initializers.Constant}`.
    """
    values = [float(value) for value in values]
    v.check_choice("default", float(default), set(values))
    value = hp.Choice(name, values, default=float(default))
    return {name: keras.initializers.Constant(value)}


def combine_spaces(*spaces):
    """One search-space function calling each of `spaces` in turn.

    Args:
        *spaces: functions `hp -> dict`.

    Returns:
        A function `hp -> dict` merging their results (later wins).

    Example:

    ```python
    space = combine_spaces(learning_rate_space, dropout_space)
    ```
    """
    for space in spaces:
        if not callable(space):
            raise TypeError(
                "Every search space must be a function `hp -> dict`. "
                f"Received: {space!r}"
            )

    def combined(hp):
        values = {}
        for space in spaces:
            values.update(call_space(space, hp))
        return values

    return combined


def call_space(space, hp):
    """Call `space(hp)` and check that it returned a dict."""
    values = space(hp)
    if not isinstance(values, dict):
        raise TypeError(
            f"A search space must return a dict of builder arguments. "
            f"Received: {getattr(space, '__name__', space)!r} returned "
            f"{type(values).__name__}"
        )
    return values


def _check_range(low, high, default, name="min_value"):
    """Numbers `low < high`, and `default` between them unless None."""
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"Argument `{name}` must be numbers low < high. "
                f"Received: ({low!r}, {high!r})"
            )
    if not low < high:
        raise ValueError(
            f"Argument `{name}` must be numbers low < high. "
            f"Received: ({low!r}, {high!r})"
        )
    if default is not None and not low <= default <= high:
        raise ValueError(
            f"Argument `default` must lie in [{low}, {high}]. "
            f"Received: default={default!r}"
        )
    return float(low), float(high)
