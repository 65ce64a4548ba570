import keras

from toolkit import layers
from toolkit.api_export import register


def test_public_layers_are_registered_under_toolkit():
    for cls in (layers.LSTMCell, layers.GRUCell, layers.LSTM, layers.GRU):
        name = keras.saving.get_registered_name(cls)
        assert name == f"toolkit>{cls.__name__}"
        assert keras.saving.get_registered_object(name) is cls


def test_register_returns_the_class_and_registers_it():
    @register
    class Probe(keras.layers.Layer):
        pass

    assert keras.saving.get_registered_object("toolkit>Probe") is Probe
