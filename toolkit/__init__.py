"""Keras 3 building blocks for the sequence-modelling curriculum.

Sub-packages:

- `toolkit.layers`: recurrent cells, reservoirs, recursive tree composers.
- `toolkit.initializers`: initializers the notes ask for.
- `toolkit.training`: learning-rate tools, schedules, gradient tools.
- `toolkit.tuning`: keras-tuner search spaces, hypermodels and sweeps.
- `toolkit.data`: seeded task generators and the shipped data sets.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

from toolkit import data, initializers, layers, models  # noqa: E402

__all__ = ["data", "initializers", "layers", "models", "__version__"]
