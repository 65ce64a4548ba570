"""Recurrent cells and the sequence layers built on them."""

from toolkit.layers.rnn.gru import GRU
from toolkit.layers.rnn.gru_cell import GRUCell
from toolkit.layers.rnn.lstm import LSTM
from toolkit.layers.rnn.lstm_cell import LSTMCell

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell"]
