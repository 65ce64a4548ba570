"""Tuning on keras-tuner: search spaces (the reservoir's included),
`RecipeHyperModel` (and `FineTuneHyperModel`, whose trials run
`fine_tune`), the sweep runner (a pandas DataFrame of every trial,
resumable; ESN trials fitted in closed form over several reservoir
draws), its trial records, median stopping, plots and distributed
sweeps."""

from toolkit.tuning.distributed import launch_local, role_environment
from toolkit.tuning.esn_sweep import ESNSweepTuner
from toolkit.tuning.esn_trials import ESNHyperModel, ESNTuner
from toolkit.tuning.fine_tune_hypermodel import (
    FineTuneHyperModel,
    fine_tune_space,
)
from toolkit.tuning.hypermodel import RecipeHyperModel
from toolkit.tuning.median_stopping import MedianStopping
from toolkit.tuning.plots import (
    plot_metric_vs_hyperparameters,
    plot_parallel_coordinates,
)
from toolkit.tuning.records import load_records, trials_frame, write_csv
from toolkit.tuning.reservoir_spaces import (
    bias_scaling_space,
    connectivity_space,
    input_scaling_space,
    leak_rate_space,
    reservoir_space,
    ridge_space,
    spectral_radius_space,
    units_space,
)
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
    "ESNHyperModel",
    "ESNSweepTuner",
    "ESNTuner",
    "FineTuneHyperModel",
    "MedianStopping",
    "RecipeHyperModel",
    "SweepTuner",
    "bias_initializer_space",
    "bias_scaling_space",
    "combine_spaces",
    "connectivity_space",
    "dropout_space",
    "fine_tune_space",
    "initializer_space",
    "input_scaling_space",
    "launch_local",
    "leak_rate_space",
    "learning_rate_space",
    "load_records",
    "plot_metric_vs_hyperparameters",
    "plot_parallel_coordinates",
    "regularization_space",
    "reservoir_space",
    "ridge_space",
    "role_environment",
    "spectral_radius_space",
    "sweep",
    "trials_frame",
    "units_space",
    "write_csv",
]
