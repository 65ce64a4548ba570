"""Keras layers: recurrent cells, reservoirs and recursive tree composers."""

from toolkit.layers.recursive import (
    RecursiveComposer,
    RNTNComposer,
    TreeComposer,
    TreeLSTMComposer,
)
from toolkit.layers.rnn import GRU, LSTM, GRUCell, LSTMCell

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNTNComposer",
    "RecursiveComposer",
    "TreeComposer",
    "TreeLSTMComposer",
]
