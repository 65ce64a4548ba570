"""Sweep plots stay readable when a trial diverges, and tell statuses
apart."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from toolkit.tuning import plots  # noqa: E402


def _frame():
    return pd.DataFrame(
        {
            "trial_id": ["0", "1", "2", "3", "4", "5"],
            "status": ["completed"] * 3
            + ["stopped_early", "failed", "completed"],
            "best_val_loss": [0.5, 0.6, 0.7, 0.8, 0.65, 1e6],
            "learning_rate": [1e-4, 1e-3, 1e-2, 3e-3, 5e-4, 1.0],
            "cell": ["lstm", "gru", "lstm", "gru", "lstm", "gru"],
        }
    )


def test_metric_limits_span_the_bulk_not_the_diverged_trial():
    low, high = plots.metric_limits([0.5, 0.6, 0.7, 0.8, 0.65, 1e6])
    # Reference: the others span [0.5, 0.8]; 5% padding of 0.3.
    np.testing.assert_allclose([low, high], [0.485, 0.815])
    assert plots.metric_limits([np.nan, np.inf]) == (0.0, 1.0)
    low, high = plots.metric_limits([2.0, 2.0, 2.0])
    assert low < 2.0 < high
    with pytest.raises(ValueError, match="`whisker` must be a number"):
        plots.metric_limits([1.0], whisker=0)


def test_one_diverged_trial_leaves_the_axes_near_the_others():
    figure = plots.plot_metric_vs_hyperparameters(_frame())
    axis = figure.axes[0]
    low, high = axis.get_ylim()
    assert 0.4 < low < 0.5 and 0.8 < high < 1.0, (low, high)
    labels = axis.get_legend_handles_labels()[1]
    assert set(labels) == {
        "completed",
        "completed (off the scale)",
        "stopped early",
        "failed",
    }, labels


def test_parallel_coordinates_clip_the_metric_and_its_colours():
    figure = plots.plot_parallel_coordinates(_frame())
    axis, colorbar = figure.axes
    assert colorbar.get_ylim() == pytest.approx((0.485, 0.815))
    texts = [text.get_text() for text in axis.texts]
    assert ">= 0.815" in texts and "0.485" in texts, texts
    styles = {line.get_label(): line.get_linestyle() for line in axis.lines}
    assert styles["completed"] == "-"
    assert styles["stopped early"] == "--"
    assert styles["failed"] == ":"
    # Every metric position lies on the axis, the diverged trial at 1.
    metric = [line.get_ydata()[-1] for line in axis.lines]
    assert max(metric) == 1.0 and min(metric) >= 0.0
