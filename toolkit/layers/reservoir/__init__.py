"""Reservoir computing: the echo-state `Reservoir` layer and the closed-form
`RidgeRegression` readout solver. The `ESN` model built from them is
`toolkit.models.ESN`."""

from toolkit.layers.reservoir.reservoir import Reservoir
from toolkit.layers.reservoir.ridge import RidgeRegression

__all__ = ["Reservoir", "RidgeRegression"]
