"""Epoch timing shared by the bench scripts."""

import time


class EpochTimer:
    """Wall time of every epoch, as a Keras callback; reads the loss at
    the end of each epoch, which waits for the device (a no-op on CPU).

    Keras is imported when a timer is made, so that a script can choose
    its backend before that."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                float((logs or {}).get("loss", 0.0))
                self.seconds.append(time.perf_counter() - self._start)

        return _Timer()
