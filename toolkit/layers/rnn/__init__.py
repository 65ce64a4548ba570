"""Recurrent cells and the sequence layers built on them."""

from toolkit.layers.rnn.clockwork_cell import ClockworkCell
from toolkit.layers.rnn.clockwork_rnn import ClockworkRNN
from toolkit.layers.rnn.dilated import dilated_stack
from toolkit.layers.rnn.gru import GRU
from toolkit.layers.rnn.gru_cell import GRUCell
from toolkit.layers.rnn.leaky_cell import LeakyCell
from toolkit.layers.rnn.leaky_rnn import LeakyRNN
from toolkit.layers.rnn.lstm import LSTM
from toolkit.layers.rnn.lstm_cell import LSTMCell
from toolkit.layers.rnn.skip_cell import SkipCell
from toolkit.layers.rnn.skip_rnn import SkipRNN

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
]
