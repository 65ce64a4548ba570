"""Training tools: gradient flow through time (and, on other branches,
learning-rate tools and schedules)."""

from toolkit.training.gradient_flow import gradient_flow, plot_gradient_flow

__all__ = ["gradient_flow", "plot_gradient_flow"]
