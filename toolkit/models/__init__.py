"""Whole models with their own training procedure.

- `ESN`: echo state network (reservoirs and a ridge-regression readout
  fitted in closed form); its layers are in `toolkit.layers.reservoir`.
"""

from toolkit.models.esn import ESN

__all__ = ["ESN"]
