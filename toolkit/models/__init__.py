"""Whole models with their own training procedure.

- `ESN`: echo state network (reservoirs and a ridge-regression readout
  fitted in closed form); its layers are in `toolkit.layers.reservoir`.
- `nrmse`: the normalised root-mean-square error every ESN score uses.
- `generation_nrmse`: the NRMSE of an ESN's closed-loop generation against
  the true continuation, over its first steps.
"""

from toolkit.models._esn_scores import generation_nrmse, nrmse
from toolkit.models.esn import ESN

__all__ = ["ESN", "generation_nrmse", "nrmse"]
