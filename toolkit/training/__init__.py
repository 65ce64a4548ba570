"""Training tools: gradient flow through time, the LR range test, cyclical
and one-cycle schedules, momentum cycling, the gradient-flow
regularizer, and multitask losses (missing labels masked, task weights
learned)."""

from toolkit.training.gradient_flow import gradient_flow, plot_gradient_flow
from toolkit.training.gradient_regularizer import FlowRegularizedRNN
from toolkit.training.lr_range_callback import LRRangeTest, auto_smoothing
from toolkit.training.lr_range_test import LRRangeTestResult, lr_range_test
from toolkit.training.lr_suggestions import suggest_learning_rates
from toolkit.training.multitask import (
    MaskedLoss,
    MaskedMetric,
    UncertaintyWeightedModel,
)
from toolkit.training.schedules import (
    CyclicalLearningRate,
    MomentumScheduler,
    OneCycle,
    OneCycleMomentum,
)

__all__ = [
    "CyclicalLearningRate",
    "FlowRegularizedRNN",
    "LRRangeTest",
    "LRRangeTestResult",
    "MaskedLoss",
    "MaskedMetric",
    "MomentumScheduler",
    "OneCycle",
    "OneCycleMomentum",
    "UncertaintyWeightedModel",
    "auto_smoothing",
    "gradient_flow",
    "lr_range_test",
    "plot_gradient_flow",
    "suggest_learning_rates",
]
