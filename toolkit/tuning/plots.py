"""Plots of a sweep's DataFrame: the metric against each hyperparameter,
and parallel coordinates.

Both stay readable when a trial diverges: the metric axis (and the colour
scale) spans the bulk of the trials, `metric_limits`, and a value beyond
it is drawn at the edge, marked as off the scale. Trials are marked by
status: completed, stopped early (the median rule) and failed apart.
"""

import numpy as np

from toolkit import validation as v
from toolkit.tuning.records import FIRST_COLUMNS, is_draw_column


def hyperparameter_columns(frame):
    """The hyperparameter columns of a `sweep` DataFrame."""
    fixed = set(FIRST_COLUMNS) | {"error"}
    return [
        column
        for column in frame.columns
        if column not in fixed
        and not column.startswith("best_")
        and "_epoch_" not in column
        and not column.startswith("tuner/")
        and not is_draw_column(frame, column)
    ]


#: How each status is drawn: (marker, line style, label).
STATUS_STYLES = {
    "completed": ("o", "-", "completed"),
    "stopped_early": ("v", "--", "stopped early"),
    "failed": ("x", ":", "failed"),
    "running": (".", ":", "running"),
}


def metric_limits(values, whisker=3.0):
    """The span of a metric's axis: its finite values clipped to the
    quartiles widened by `whisker` times the interquartile range (Tukey's
    fences), padded by 5%, so one diverged trial (a loss of 1e6 among
    losses near 1) does not squash the others.

    Args:
        values: the metric of every trial (NaN and inf are left out).
        whisker: float > 0, the fences' width in interquartile ranges.
            Default: 3.

    Returns:
        `(low, high)`, low < high; `(0, 1)` without finite values.
    """
    whisker = v.check_positive("whisker", whisker)
    numbers = np.asarray(values, dtype=float)
    numbers = numbers[np.isfinite(numbers)]
    if not len(numbers):
        return 0.0, 1.0
    q1, q3 = np.percentile(numbers, [25, 75])
    spread = q3 - q1
    low = max(numbers.min(), q1 - whisker * spread)
    high = min(numbers.max(), q3 + whisker * spread)
    inside = numbers[(numbers >= low) & (numbers <= high)]
    low, high = inside.min(), inside.max()
    pad = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
    return float(low - pad), float(high + pad)


def plot_metric_vs_hyperparameters(
    frame, metric="best_val_loss", path=None, columns=3
):
    """One panel per hyperparameter: the metric of every trial against its
    value (log axis for positive values spanning more than a decade;
    categories along the axis for strings). The metric axis spans
    `metric_limits`; values beyond it sit on its edge, hollow. Markers
    tell completed, stopped-early and failed trials apart.

    Args:
        frame: the DataFrame `sweep` returned (or `trials_frame`).
        metric: str, a column of `frame`. Default: `"best_val_loss"`.
        path: str or None, save the figure there.
        columns: int, panels per row. Default: 3.

    Returns:
        The matplotlib `Figure`.

    Example:

    ```python
    plot_metric_vs_hyperparameters(frame, "best_val_accuracy",
                                   path="sweep.png")
    ```
    """
    plt = v.require_pyplot()
    _check_metric(frame, metric)
    names = hyperparameter_columns(frame)
    rows = max(1, int(np.ceil(len(names) / columns)))
    width = min(columns, max(1, len(names)))
    figure, axes = plt.subplots(
        rows, width, figsize=(4 * width, 3 * rows), squeeze=False
    )
    finished = frame[frame[metric].notna()]
    limits = metric_limits(finished[metric])
    for ax, name in zip(axes.flat, names):
        rows = finished[finished[name].notna()]
        values = rows[name]
        numeric = _is_numeric(values)
        if numeric:
            where = values.astype(float).to_numpy()
            positive = values.astype(float)
            if (positive > 0).all() and positive.max() > 10 * positive.min():
                ax.set_xscale("log")
        else:
            labels = sorted(values.astype(str).unique())
            index = {label: i for i, label in enumerate(labels)}
            where = np.array([index[x] for x in values.astype(str)])
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=30, ha="right")
        _scatter_by_status(ax, where, rows, metric, limits)
        ax.set_ylim(*limits)
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
    if names:
        axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure


def plot_parallel_coordinates(frame, metric="best_val_loss", path=None):
    """Parallel coordinates: one vertical axis per hyperparameter (scaled
    to [0, 1]; log scale for positive ranges wider than a decade;
    categories evenly spaced) and the metric last, one line per trial
    coloured by the metric. The metric axis and the colour scale span
    `metric_limits` (a diverged trial sits at the top, its tick marked
    `>=`); the line style tells completed, stopped-early and failed
    trials apart.

    Args:
        frame: the DataFrame `sweep` returned.
        metric: str, a column of `frame`. Default: `"best_val_loss"`.
        path: str or None, save the figure there.

    Returns:
        The matplotlib `Figure`.
    """
    plt = v.require_pyplot()
    _check_metric(frame, metric)
    finished = frame[frame[metric].notna()]
    names = hyperparameter_columns(frame) + [metric]
    limits = metric_limits(finished[metric])
    scaled, ticks = [], []
    for name in names:
        clip = limits if name == metric else None
        position, labels = _scale(finished[name], limits=clip)
        scaled.append(position)
        ticks.append(labels)
    scaled = np.array(scaled)
    figure, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    colour = finished[metric].astype(float).to_numpy()
    norm = plt.Normalize(*limits, clip=True)
    cmap = plt.get_cmap("viridis")
    statuses = _statuses(finished)
    shown = set()
    for trial in range(scaled.shape[1]):
        _, style, label = STATUS_STYLES.get(
            statuses[trial], STATUS_STYLES["running"]
        )
        ax.plot(
            range(len(names)),
            scaled[:, trial],
            alpha=0.8,
            linestyle=style,
            color=cmap(norm(colour[trial])),
            label=None if label in shown else label,
        )
        shown.add(label)
    ax.legend(fontsize=7, loc="upper left")
    for index, labels in enumerate(ticks):
        ax.axvline(index, color="0.6", lw=0.8)
        for level, label in labels:
            ax.text(index + 0.03, level, label, fontsize=7, va="center")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_yticks([])
    ax.set_ylim(-0.2, 1.05)
    ax.set_xlim(-0.2, len(names) - 0.6)
    mappable = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
    figure.colorbar(mappable, ax=ax, label=metric)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure


def _scatter_by_status(ax, where, rows, metric, limits):
    """The trials' metric against `where`, one marker per status; values
    beyond `limits` on the edge, hollow."""
    metric_values = rows[metric].astype(float).to_numpy()
    shown = np.clip(metric_values, *limits)
    off = shown != metric_values
    statuses = np.array(_statuses(rows))
    for status, (marker, _, label) in STATUS_STYLES.items():
        for outside in (False, True):
            chosen = (statuses == status) & (off == outside)
            if not chosen.any():
                continue
            colour = f"C{list(STATUS_STYLES).index(status)}"
            paint = dict(color=colour)
            if outside and marker != "x":
                paint = dict(facecolors="none", edgecolors=colour)
            ax.scatter(
                where[chosen],
                shown[chosen],
                s=25,
                marker=marker,
                label=f"{label} (off the scale)" if outside else label,
                **paint,
            )


def _statuses(frame):
    if "status" not in frame:
        return ["completed"] * len(frame)
    return [str(status) for status in frame["status"]]


def _scale(values, limits=None):
    """Positions in [0, 1] on one axis, and `(position, label)` ticks.
    Missing values (inactive conditional hyperparameters) sit at -0.1.
    With `limits` (a metric's), the axis spans them and values beyond
    sit on its ends."""
    missing = values.isna().to_numpy()
    present = values[~missing]
    position = np.full(len(values), -0.1)
    labels = [(-0.1, "n/a")] if missing.any() else []
    if not len(present):
        return position, labels
    if _is_numeric(present) and limits is not None:
        numbers = present.astype(float).to_numpy()
        low, high = limits
        position[~missing] = np.clip((numbers - low) / (high - low), 0, 1)
        top = ">= " if numbers.max() > high else ""
        bottom = "<= " if numbers.min() < low else ""
        labels += [(0.0, f"{bottom}{low:.3g}"), (1.0, f"{top}{high:.3g}")]
        return position, labels
    if _is_numeric(present):
        numbers = present.astype(float).to_numpy()
        log = (numbers > 0).all() and numbers.max() > 10 * numbers.min()
        shown = np.log10(numbers) if log else numbers
        low, high = shown.min(), shown.max()
        span = (high - low) or 1.0
        position[~missing] = (shown - low) / span
        labels += [(0.0, f"{numbers.min():.3g}"), (1.0, f"{numbers.max():.3g}")]
        return position, labels
    text = present.astype(str)
    levels = sorted(text.unique())
    spacing = max(1, len(levels) - 1)
    where = {level: i / spacing for i, level in enumerate(levels)}
    position[~missing] = text.map(where).to_numpy(float)
    return position, labels + [(where[level], level) for level in levels]


def _is_numeric(values):
    try:
        values.astype(float)
    except (TypeError, ValueError):
        return False
    return not values.map(lambda x: isinstance(x, (str, bool))).any()


def _check_metric(frame, metric):
    if metric not in frame.columns:
        raise ValueError(
            f"Argument `metric` must be a column of the sweep's DataFrame, "
            f"such as {[c for c in frame.columns if c.startswith('best_')]}. "
            f"Received: metric={metric!r}"
        )
