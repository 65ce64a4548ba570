"""The one place that imports from `keras.src`.

- `DropoutRNNCell`: Keras does not export its dropout-mask mixin for RNN
  cells. Cells that want Keras's "same mask at every time step" behaviour
  (Gal & Ghahramani 2016), and want `keras.layers.RNN` to prepare and reset
  those masks, must inherit from this exact class: the RNN layer checks
  `isinstance`.
- `rnn`: the backend's time loop behind `keras.layers.RNN` (masking,
  `go_backwards`, unrolling), which Keras does not export as `keras.ops`.

`tests/test_keras_compat.py` fails loudly if Keras moves either name.
"""

from keras.src.backend import rnn
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

__all__ = ["DropoutRNNCell", "rnn"]
