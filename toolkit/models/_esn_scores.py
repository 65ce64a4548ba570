"""Scores of a fitted ESN: `generation_nrmse`."""

import numpy as np

from toolkit import validation as v


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
    scale = np.std(truth.reshape(-1, truth.shape[-1]), axis=0)
    rmse = np.sqrt(
        np.mean(
            ((generated - window) ** 2).reshape(-1, truth.shape[-1]), axis=0
        )
    )
    return float(np.mean(rmse / np.maximum(scale, 1e-12)))
