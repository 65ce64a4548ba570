"""Compiling the ESN's time loops with the backend's compiler.

The layers themselves are written with `keras.ops` only. The ESN's
closed-form `fit`, `predict` and `generate` run those layers over long
series outside `keras.Model.fit`, so they compile the loop themselves: on
TensorFlow with XLA (`tf.function(jit_compile=True)`, which reads the
variables at run time, so a refitted readout is picked up). Other backends
run the same code eagerly: correct, only slower.
"""

import keras


def compile_loop(function):
    """`function` compiled for the current backend (or unchanged)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True, autograph=False)
    return function
