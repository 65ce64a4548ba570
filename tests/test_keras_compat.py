"""Fails loudly if Keras moves the private names the toolkit adapts."""

import keras

from toolkit import _keras_compat


def test_dropout_mixin_is_the_one_keras_rnn_checks():
    from keras.src.layers.rnn import rnn as keras_rnn

    assert keras_rnn.DropoutRNNCell is _keras_compat.DropoutRNNCell
    assert hasattr(_keras_compat.DropoutRNNCell, "get_dropout_mask")
    assert hasattr(_keras_compat.DropoutRNNCell, "reset_dropout_mask")


def test_backend_rnn_runs_a_step_function():
    x = keras.ops.ones((2, 3, 1))

    def step(inputs, states):
        total = states[0] + inputs
        return total, [total]

    last, outputs, states = _keras_compat.rnn(
        step, x, [keras.ops.zeros((2, 1))]
    )
    assert keras.ops.convert_to_numpy(last).tolist() == [[3.0], [3.0]]
    assert outputs.shape == (2, 3, 1)
