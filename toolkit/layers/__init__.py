"""Keras layers: recurrent cells, reservoirs and recursive tree composers."""

from toolkit.layers.rnn import GRU, LSTM, GRUCell, LSTMCell

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell"]
