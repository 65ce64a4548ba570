"""Keras layers: recurrent cells, reservoirs, recursive tree composers and
the ImageNet backbones' input preprocessing."""

from toolkit.layers.image_preprocessing import ImagePreprocessing
from toolkit.layers.recursive import (
    RecursiveComposer,
    RNTNComposer,
    TreeComposer,
    TreeLSTMComposer,
)
from toolkit.layers.reservoir import Reservoir
from toolkit.layers.rnn import (
    GRU,
    LSTM,
    ClockworkCell,
    ClockworkRNN,
    GRUCell,
    LeakyCell,
    LeakyRNN,
    LSTMCell,
    SkipCell,
    SkipRNN,
    dilated_stack,
)

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    # Multiple time scales.
    "ClockworkCell",
    "ClockworkRNN",
    "LeakyCell",
    "LeakyRNN",
    "SkipCell",
    "SkipRNN",
    "dilated_stack",
    # Reservoir computing.
    "Reservoir",
    # Recursive (tree) networks.
    "RNTNComposer",
    "RecursiveComposer",
    "TreeComposer",
    "TreeLSTMComposer",
    # Transfer learning.
    "ImagePreprocessing",
]
