"""The echo state network in sweeps: `recipe: esn` in a configuration
means `toolkit.models.ESN` itself (its trials fit in closed form), and
`space: default` means `esn_search_space`."""

from toolkit.tuning.reservoir_spaces import reservoir_space


def esn_search_space(hp):
    """The ESN's default tuning space: the four hyperparameters
    Lukosevicius's guide (2012) searches first, with
    `toolkit.tuning.reservoir_space`'s defaults: spectral radius in
    [0.1, 1.5], leak rate log-uniform in [0.05, 1], input scaling in
    [0.1, 2], ridge log-uniform in [1e-9, 0.1].

    Args:
        hp: a `keras_tuner.HyperParameters`.

    Returns:
        `{"spectral_radius", "leak_rate", "input_scaling", "ridge"}` values.

    Example:

    ```python
    hp = keras_tuner.HyperParameters()
    esn_search_space(hp)["spectral_radius"]  # 0.9
    ```
    """
    return reservoir_space(hp)
