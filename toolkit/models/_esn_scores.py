"""Scores of an ESN: `nrmse` and `generation_nrmse`."""

import numpy as np

from toolkit import validation as v


def nrmse(y_true, y_pred):
    """The normalised root-mean-square error, per output, averaged over
    the outputs:

    ```
    NRMSE = mean_k sqrt(mean_t (p_tk - y_tk)^2) / std_k(y)
    ```

    with every leading axis (batch, time) pooled into `t`. 0 is a perfect
    fit and 1 is no better than predicting the mean; the ESN's ridge
    selection, its sweep trials and `generation_nrmse` all score with it.

    Args:
        y_true: array `(..., outputs)` (a 1-D array is one output).
        y_pred: array of the same shape.

    Returns:
        A Python float.

    Raises:
        ValueError: if the shapes differ, or an output of `y_true` is
            constant (its NRMSE is undefined).

    Example:

    ```python
    import numpy as np
    from toolkit.models import nrmse

    y = np.sin(np.linspace(0, 6, 50))[:, None]
    nrmse(y, np.zeros_like(y))  # about 1: no better than the mean
    ```
    """
    y = _outputs(y_true, "y_true")
    p = _outputs(y_pred, "y_pred")
    if p.shape != y.shape:
        raise ValueError(
            "Arguments `y_true` and `y_pred` must have the same shape. "
            f"Received: {np.shape(y_true)} and {np.shape(y_pred)}"
        )
    return _normalised(y, p, np.std(y, axis=0))


def _outputs(values, name):
    values = np.asarray(values, dtype="float64")
    if values.ndim == 0 or values.size == 0:
        raise ValueError(
            f"Argument `{name}` must be a non-empty array. Received: an "
            f"array of shape {values.shape}"
        )
    if values.ndim == 1:
        values = values[:, None]
    return values.reshape(-1, values.shape[-1])


def _normalised(y, p, scale):
    """`mean_k rmse_k / scale_k` of `(n, outputs)` arrays."""
    constant = np.flatnonzero(~(scale > 0))
    if constant.size:
        raise ValueError(
            "The NRMSE is undefined for a constant target: output(s) "
            f"{constant.tolist()} of the target have standard deviation 0."
        )
    rmse = np.sqrt(np.mean((p - y) ** 2, axis=0))
    return float(np.mean(rmse / scale))


def generation_nrmse(esn, warmup, truth, steps=None):
    """The NRMSE of an ESN's closed-loop run against the true continuation.

    The ESN reads `warmup` (open loop), then generates `steps` values
    (`esn.generate(steps, warmup=warmup)`, each output fed back as the next
    input); the first generated value is the prediction of the step after
    `warmup`'s last, so `truth` starts there. With `g` the generated and
    `y` the true values over the first `steps` steps:

    ```
    NRMSE = mean_k sqrt(mean_t (g_tk - y_tk)^2) / std_k(truth)
    ```

    averaged over the output features `k`, the standard deviation taken
    over all of `truth` (so a longer `truth` gives a steadier scale; pass
    exactly `steps` values to normalise by the compared window). A search
    can then optimise for free-running generation, not only one-step
    prediction.

    Args:
        esn: a fitted `toolkit.models.ESN` whose outputs are its inputs
            (`output_dim` equal to the input features).
        warmup: `(timesteps, features)` or `(batch, timesteps, features)`,
            the true series leading up to the generation.
        truth: `(n, features)` or `(batch, n, features)`, the true values
            that follow `warmup`.
        steps: int or None, the number of free-run steps scored, at most
            `n`. Default: `None` (all of `truth`).

    Returns:
        A Python float.

    Example:

    ```python
    from toolkit.data import mackey_glass
    from toolkit.models import ESN, generation_nrmse

    series = mackey_glass(1200, seed=0)
    esn = ESN(100, spectral_radius=1.25, leak_rate=0.3, seed=0)
    esn.fit(series[:999], series[1:1000], washout=100)
    score = generation_nrmse(esn, series[700:1000], series[1000:], steps=84)
    ```

    Reference:
        Jaeger & Haas, "Harnessing nonlinearity: predicting chaotic
        systems and saving energy in wireless communication", Science,
        2004 (the 84-step NRMSE on Mackey-Glass).
    """
    truth = np.asarray(truth, dtype="float64")
    if truth.ndim == 1:
        truth = truth[:, None]
    if truth.ndim not in (2, 3) or truth.shape[-2] == 0:
        raise ValueError(
            "Argument `truth` must be (steps, features) or (batch, steps, "
            f"features) with at least one step. Received: an array of "
            f"shape {truth.shape}"
        )
    available = truth.shape[-2]
    steps = available if steps is None else v.check_positive_int("steps", steps)
    if steps > available:
        raise ValueError(
            f"Argument `steps` must be at most the length of `truth` "
            f"({available}). Received: steps={steps}"
        )
    generated = np.asarray(esn.generate(steps, warmup=warmup))
    window = truth[..., :steps, :]
    if generated.shape != window.shape:
        raise ValueError(
            "Arguments `warmup` and `truth` must have the same layout "
            f"(batch, features): the generated values have shape "
            f"{generated.shape}, the truth compared {window.shape}"
        )
    width = truth.shape[-1]
    return _normalised(
        window.reshape(-1, width),
        generated.reshape(-1, width),
        np.std(truth.reshape(-1, width), axis=0),
    )
