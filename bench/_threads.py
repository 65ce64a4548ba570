"""Pinning TensorFlow's thread pools, shared by the bench scripts.

On a shared machine, every TensorFlow process spinning up one thread per
core makes all of them slow and their timings noisy. Benchmarks that compare
implementations pin both sides to the same `--threads` (default 1) and say
so in their output.
"""

import os


def pin_blas(threads):
    """Set the BLAS libraries' threads (OpenMP, OpenBLAS, MKL): call it
    before NumPy is first imported, which is when they read them."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def pin_threads(threads):
    """Set TensorFlow's intra- and inter-op pools before it starts."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
