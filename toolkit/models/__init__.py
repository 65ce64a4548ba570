"""Whole models with their own training procedure.

- `ESN`: echo state network (reservoirs and a ridge-regression readout
  fitted in closed form); see `toolkit.layers.reservoir`.
"""

from toolkit.layers.reservoir.esn import ESN

__all__ = ["ESN"]
