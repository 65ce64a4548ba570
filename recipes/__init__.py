"""Builder functions for whole tasks, each returning a compiled
`keras.Model` (uncompiled with `compile=False`)."""

from recipes.sequence import build_sequence_regressor, build_sequence_tagger

__all__ = ["build_sequence_regressor", "build_sequence_tagger"]
