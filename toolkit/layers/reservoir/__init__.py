"""Reservoir computing: the echo-state `Reservoir` layer, the closed-form
`RidgeRegression` readout solver and the `ESN` model."""

from toolkit.layers.reservoir.esn import ESN
from toolkit.layers.reservoir.reservoir import Reservoir
from toolkit.layers.reservoir.ridge import RidgeRegression

__all__ = ["ESN", "Reservoir", "RidgeRegression"]
