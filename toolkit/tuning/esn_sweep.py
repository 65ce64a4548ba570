"""The sweep runner's ESN trials: `ESNSweepTuner` (`SweepTuner`'s records
on `ESNTuner`'s closed-form trials), its mixes with keras-tuner's random
and Bayesian tuners, and the checks of what ESN trials refuse.

`sweep(ESN, ...)` picks its tuner from `ESN_TUNERS`; see
`toolkit.tuning.esn_trials` for what a trial computes.
"""

import keras_tuner

from toolkit.tuning import records
from toolkit.tuning.esn_trials import ESNTuner
from toolkit.tuning.sweep import SweepTuner


class ESNSweepTuner(SweepTuner, ESNTuner):
    """`SweepTuner` on `ESNTuner`: ESN trials (closed-form fits, several
    reservoir draws each) that leave records. The record of a trial keeps
    every draw's metrics (`draws`) and ESN seeds (`draw_seeds`).

    Args:
        hypermodel: a `toolkit.tuning.ESNHyperModel`.
        median_stopping: must be None: the rule needs epochs.
            Default: None.
        **kwargs: `ESNTuner`'s arguments (`draws`, `metrics`,
            `generation`, `draw_seed`) and `SweepTuner`'s
            (`training_seed`, `verbose`, `oracle`, `directory`, ...).
    """

    def __init__(self, hypermodel=None, median_stopping=None, **kwargs):
        if median_stopping is not None:
            raise ValueError(
                "Argument `median_stopping` needs epochs, and an ESN trial "
                "fits in closed form. Received: "
                f"median_stopping={median_stopping!r}"
            )
        super().__init__(hypermodel=hypermodel, **kwargs)

    def on_draws_chosen(self, trial, seeds):
        records.update_record(
            self.record_path(trial.trial_id), draw_seeds=list(seeds)
        )


class ESNRandomSearchSweep(ESNSweepTuner, keras_tuner.RandomSearch):
    """`ESNSweepTuner` on keras-tuner's random search."""


class ESNBayesianOptimizationSweep(
    ESNSweepTuner, keras_tuner.BayesianOptimization
):
    """`ESNSweepTuner` on keras-tuner's Gaussian-process Bayesian
    optimization (needs scikit-learn)."""


class ESNHyperbandSweep(ESNSweepTuner, keras_tuner.Hyperband):
    """`ESNSweepTuner` on keras-tuner's Hyperband: a trial's budget is the
    share of the training series its fit reads (see `ESNTuner`), with
    `max_epochs` shares in all."""


#: The tuners of ESN trials, by `sweep`'s `tuner` name.
ESN_TUNERS = {
    "random": ESNRandomSearchSweep,
    "bayesian": ESNBayesianOptimizationSweep,
    "hyperband": ESNHyperbandSweep,
}


def check_esn_options(early_stopping, median_stopping, callbacks):
    """Refuse what needs epochs: an ESN trial fits in closed form."""
    for name, value in (
        ("early_stopping", early_stopping),
        ("median_stopping", median_stopping),
        ("callbacks", callbacks),
    ):
        if value:
            raise ValueError(
                f"Argument `{name}` needs epochs, and an ESN trial fits in "
                f"closed form. Received: {name}={value!r}"
            )


def check_keras_options(draws, metrics, generation):
    """Refuse the options of ESN trials for a Keras model's trials."""
    for name, value in (
        ("draws", draws),
        ("metrics", metrics),
        ("generation", generation),
    ):
        if value is not None:
            raise ValueError(
                f"Argument `{name}` applies to ESN trials only (`builder` "
                "the `toolkit.models.ESN` class); a recipe's metrics are "
                f"compiled into its model. Received: {name}={value!r}"
            )
