"""Tuning on keras-tuner: search spaces, `RecipeHyperModel`, the sweep
runner (a pandas DataFrame of every trial, resumable), its trial records,
median stopping, plots and distributed sweeps."""

from toolkit.tuning.distributed import launch_local, role_environment
from toolkit.tuning.hypermodel import RecipeHyperModel
from toolkit.tuning.median_stopping import MedianStopping
from toolkit.tuning.plots import (
    plot_metric_vs_hyperparameters,
    plot_parallel_coordinates,
)
from toolkit.tuning.records import load_records, trials_frame, write_csv
from toolkit.tuning.search_spaces import (
    bias_initializer_space,
    combine_spaces,
    dropout_space,
    initializer_space,
    learning_rate_space,
    regularization_space,
)
from toolkit.tuning.sweep import SweepTuner, sweep

__all__ = [
    "MedianStopping",
    "RecipeHyperModel",
    "SweepTuner",
    "bias_initializer_space",
    "combine_spaces",
    "dropout_space",
    "initializer_space",
    "launch_local",
    "learning_rate_space",
    "load_records",
    "plot_metric_vs_hyperparameters",
    "plot_parallel_coordinates",
    "regularization_space",
    "role_environment",
    "sweep",
    "trials_frame",
    "write_csv",
]
