"""Plots of a sweep's DataFrame: the metric against each hyperparameter,
and parallel coordinates."""

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


def plot_metric_vs_hyperparameters(
    frame, metric="best_val_loss", path=None, columns=3
):
    """One panel per hyperparameter: the metric of every trial against its
    value (log axis for positive values spanning more than a decade;
    categories along the axis for strings).

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
    for ax, name in zip(axes.flat, names):
        rows = finished[finished[name].notna()]
        values = rows[name]
        numeric = _is_numeric(values)
        if numeric:
            ax.scatter(values.astype(float), rows[metric], s=25)
            positive = values.astype(float)
            if (positive > 0).all() and positive.max() > 10 * positive.min():
                ax.set_xscale("log")
        else:
            labels = sorted(values.astype(str).unique())
            where = {label: i for i, label in enumerate(labels)}
            ax.scatter(
                [where[x] for x in values.astype(str)], rows[metric], s=25
            )
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=30, ha="right")
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
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
    coloured by the metric.

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
    scaled, ticks = [], []
    for name in names:
        position, labels = _scale(finished[name])
        scaled.append(position)
        ticks.append(labels)
    scaled = np.array(scaled)
    figure, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    colour = finished[metric].astype(float).to_numpy()
    span = np.ptp(colour) or 1.0
    cmap = plt.get_cmap("viridis")
    for trial in range(scaled.shape[1]):
        ax.plot(
            range(len(names)),
            scaled[:, trial],
            alpha=0.8,
            color=cmap((colour[trial] - colour.min()) / span),
        )
    for index, labels in enumerate(ticks):
        ax.axvline(index, color="0.6", lw=0.8)
        for level, label in labels:
            ax.text(index + 0.03, level, label, fontsize=7, va="center")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_yticks([])
    ax.set_ylim(-0.2, 1.05)
    ax.set_xlim(-0.2, len(names) - 0.6)
    mappable = plt.cm.ScalarMappable(
        cmap=cmap, norm=plt.Normalize(colour.min(), colour.max())
    )
    figure.colorbar(mappable, ax=ax, label=metric)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure


def _scale(values):
    """Positions in [0, 1] on one axis, and `(position, label)` ticks.
    Missing values (inactive conditional hyperparameters) sit at -0.1."""
    missing = values.isna().to_numpy()
    present = values[~missing]
    position = np.full(len(values), -0.1)
    labels = [(-0.1, "n/a")] if missing.any() else []
    if not len(present):
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
