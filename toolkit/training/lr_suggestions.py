"""Learning rates suggested by an LR range test's curve (see
`toolkit.training.lr_range_test`)."""

import warnings

import numpy as np


def suggest_learning_rates(lrs, smoothed_losses):
    """The suggestions of `LRRangeTestResult` from a recorded curve.

    Only the points up to the smoothed loss's minimum are used (the descent;
    what follows is the blow-up). With `x = log(lr)`:

    - `"minimum_tenth"` (the default of `lr_range_test`): a tenth of the
      learning rate at the minimum, `lr* / 10`. The minimum is located
      between recorded points by the vertex of the parabola through the
      lowest point and its two neighbours,

      ```
      x* = x_m - h (s_{m+1} - s_{m-1}) / (2 (s_{m+1} - 2 s_m + s_{m-1}))
      ```

      for equal spacing `h` in `x` (the exponential sweep), clipped to
      `[x_{m-1}, x_{m+1}]`; at either end of the curve, or on a linear
      sweep, `x* = x_m`;
    - `"steepest"`: the point of most negative slope `ds/dx`, by central
      differences `(s_{i+1} - s_{i-1}) / (x_{i+1} - x_{i-1})` at interior
      points only (a one-sided difference at the minimum is biased), after
      skipping the first tenth of the curve (the average has seen few
      batches there);
    - `"valley"`: the middle, in `log(lr)`, of the descent: from the last
      point before the minimum at which the loss is still within a tenth
      of the drop `top - min` of the highest loss before the minimum
      (`top`), to the minimum. The threshold ignores the noisy flat
      start, where a longest-decreasing-run rule gets lost.

    Why the default is `minimum_tenth`: the minimum is where the loss
    stops falling and starts to blow up, the one feature every range-test
    curve has, even one whose descent is lost in the noise (a CNN that
    hardly learns in one epoch before it diverges); a tenth of it
    (fastai's `minimum` rule) keeps a margin below the largest rate that
    still trains, which Smith (2015) advises for a constant rate.
    `steepest` and `valley` read the
    descent, which on a short, noisy curve wanders by a decade or more
    from seed to seed and lands in the blow-up when there is no clear
    descent (`bench/lr_finder_digits_seeds.py`). The margin of 10 is
    where the best constant rate lies for SGD with momentum 0.9 on the
    UCI digits (1.02-1.06x the best grid loss in
    `bench/lr_finder_digits.py`), too cautious where it lies near the
    edge (plain SGD, MLP: 1.63x) and not cautious enough where it lies
    far below (Adam, MLP: 1.42x); read the plot there.

    Args:
        lrs: sequence of learning rates (increasing).
        smoothed_losses: sequence of smoothed losses, same length.

    Returns:
        dict with keys `"minimum_tenth"`, `"steepest"`, `"valley"`.
    """
    lrs = np.asarray(lrs, dtype="float64")
    losses = np.asarray(smoothed_losses, dtype="float64")
    finite = np.isfinite(losses)
    lrs, losses = lrs[finite], losses[finite]
    if len(lrs) < 3:
        raise ValueError(
            "The LR range test recorded fewer than 3 finite losses, too "
            "few to suggest a learning rate: lower `min_lr` or raise "
            f"`steps`. Received: {len(lrs)} finite losses"
        )
    lowest = int(np.argmin(losses))
    # The descent, plus one point past the minimum for a central difference.
    end = min(max(lowest + 2, 3), len(losses))
    x = np.log(lrs[:end])
    slopes = (losses[2:end] - losses[: end - 2]) / (x[2:] - x[:-2])
    skip = min(end // 10, len(slopes) - 1)
    steepest = float(lrs[1 + skip + int(np.argmin(slopes[skip:]))])
    top = losses[: lowest + 1].max()
    still_high = losses[: lowest + 1] >= top - 0.1 * (top - losses[lowest])
    first = int(np.flatnonzero(still_high)[-1])
    middle = 0.5 * (np.log(lrs[first]) + np.log(lrs[lowest]))
    return {
        "minimum_tenth": float(np.exp(_vertex(np.log(lrs), losses)) / 10.0),
        "steepest": steepest,
        "valley": float(np.exp(middle)),
    }


def _vertex(x, s):
    """`x` of the parabola's vertex through the lowest point of `s` and its
    neighbours, clipped to them; `x` of the lowest point at an end or
    when the spacing is not even."""
    m = int(np.argmin(s))
    if m == 0 or m == len(s) - 1:
        return x[m]
    h_left, h_right = x[m] - x[m - 1], x[m + 1] - x[m]
    curvature = s[m + 1] - 2.0 * s[m] + s[m - 1]
    if not np.isclose(h_left, h_right, rtol=1e-6) or curvature <= 0:
        return x[m]
    shift = -h_right * (s[m + 1] - s[m - 1]) / (2.0 * curvature)
    return x[m] + float(np.clip(shift, -h_left, h_right))


def _warn_if_edge_not_seen(lrs, smoothed_losses):
    losses = np.asarray(smoothed_losses, dtype="float64")
    finite = np.flatnonzero(np.isfinite(losses))
    lowest = finite[int(np.argmin(losses[finite]))]
    if lowest == len(losses) - 1:
        warnings.warn(
            "The LR range test's loss was still at its lowest when the "
            f"sweep ended (lr={lrs[lowest]:.3g}): the edge where it blows "
            "up was not reached, so the suggestions are lower bounds. "
            "Raise `max_lr` or `steps`.",
            stacklevel=3,
        )
    elif lowest == finite[0]:
        warnings.warn(
            "The LR range test's loss only rose from the first step "
            f"(lr={lrs[lowest]:.3g}): lower `min_lr`.",
            stacklevel=3,
        )
