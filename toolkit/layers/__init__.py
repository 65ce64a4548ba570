"""Keras layers: recurrent cells, reservoirs and recursive tree composers."""

from toolkit.layers.reservoir import Reservoir
from toolkit.layers.rnn import GRU, LSTM, GRUCell, LSTMCell

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "Reservoir"]
