"""Initializers the notes ask for.

- `SpectralRadius`: rescale any base initializer's square matrix to a given
  spectral radius (the echo-state recipe for trainable recurrent weights),
  with `spectral_radius(matrix)`, a bounded-effort estimate for dense and
  SciPy-sparse matrices.
- `Sparse`: Martens's sparse initialisation, a fixed number of non-zero
  incoming weights per unit.
- `Chrono`: Tallec & Ollivier's chrono initialisation of LSTM/GRU gate
  biases.
"""

from toolkit.initializers.chrono import Chrono
from toolkit.initializers.sparse import Sparse
from toolkit.initializers.spectral import SpectralRadius, spectral_radius

__all__ = ["Chrono", "Sparse", "SpectralRadius", "spectral_radius"]
