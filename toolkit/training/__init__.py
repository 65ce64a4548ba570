"""Training tools: gradient flow through time, the LR range test, cyclical
and one-cycle schedules, momentum cycling and the gradient-flow
regularizer, two-phase fine-tuning of a pretrained backbone and
discriminative (per-layer-group) learning rates."""

from toolkit.training.discriminative import DiscriminativeOptimizer
from toolkit.training.fine_tune import fine_tune
from toolkit.training.fine_tune_history import plot_fine_tuning
from toolkit.training.gradient_flow import gradient_flow, plot_gradient_flow
from toolkit.training.gradient_regularizer import FlowRegularizedRNN
from toolkit.training.lr_range_callback import LRRangeTest, auto_smoothing
from toolkit.training.lr_range_test import LRRangeTestResult, lr_range_test
from toolkit.training.lr_suggestions import suggest_learning_rates
from toolkit.training.schedules import (
    CyclicalLearningRate,
    MomentumScheduler,
    OneCycle,
    OneCycleMomentum,
)

__all__ = [
    "CyclicalLearningRate",
    "DiscriminativeOptimizer",
    "FlowRegularizedRNN",
    "LRRangeTest",
    "LRRangeTestResult",
    "MomentumScheduler",
    "OneCycle",
    "OneCycleMomentum",
    "auto_smoothing",
    "fine_tune",
    "gradient_flow",
    "lr_range_test",
    "plot_fine_tuning",
    "plot_gradient_flow",
    "suggest_learning_rates",
]
