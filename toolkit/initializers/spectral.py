"""The spectral radius: `spectral_radius`, a bounded-effort estimate, and
`SpectralRadius`, an initializer rescaling a matrix to a given radius."""

import keras
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from keras import ops

from toolkit import validation as v
from toolkit.api_export import register


def _as_square_matrix(matrix):
    """`matrix` as a NumPy array or a SciPy sparse matrix, checked square."""
    if not scipy.sparse.issparse(matrix):
        matrix = np.asarray(ops.convert_to_numpy(matrix))
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            "Argument `matrix` must be a square 2D matrix. Received: matrix "
            f"of shape {tuple(matrix.shape)}"
        )
    return matrix


def spectral_radius(matrix, exact_size=512, maxiter=300, tol=1e-6, seed=0):
    """The largest absolute eigenvalue of a square matrix.

    ```
    rho(W) = max_i |lambda_i(W)|
    ```

    Up to `exact_size` rows the eigenvalues are computed exactly
    (`numpy.linalg.eigvals`, the matrix densified if sparse). Above, ARPACK
    (`scipy.sparse.linalg.eigs`, `which="LM"`) computes the 6 eigenvalues
    of largest modulus with a 40-vector Krylov space in at most `maxiter`
    Arnoldi restarts, which needs only matrix-vector products and so stays
    cheap for large sparse reservoirs. Six, not one: a random matrix's
    eigenvalues fill a disc (the circular law), so many share nearly the
    largest modulus, and ARPACK asked for one can stop short of it. If
    ARPACK stops before converging, the best eigenvalue it found is used;
    if it found none, a `RuntimeError` asks for a larger `maxiter` or
    `tol`.

    Args:
        matrix: a square matrix: NumPy array, tensor or SciPy sparse matrix.
        exact_size: int, the largest size computed exactly. Default: 512.
        maxiter: int, the bound on ARPACK restarts. Default: 300.
        tol: float >= 0, ARPACK's relative accuracy (0 means machine
            precision). Default: 1e-6.
        seed: int or None, seed of ARPACK's starting vector, so that the
            estimate is reproducible. Default: 0.

    Returns:
        A Python float.

    Example:

    ```python
    import numpy as np
    from toolkit.initializers import spectral_radius

    spectral_radius(np.diag([0.5, -2.0]))  # 2.0
    ```
    """
    matrix = _as_square_matrix(matrix)
    exact_size = v.check_positive_int("exact_size", exact_size)
    maxiter = v.check_positive_int("maxiter", maxiter)
    tol = v.check_non_negative("tol", tol)
    seed = v.check_seed(seed)
    size = matrix.shape[0]
    if size <= exact_size or size < 3:
        dense = matrix.toarray() if scipy.sparse.issparse(matrix) else matrix
        return float(np.max(np.abs(np.linalg.eigvals(dense))))
    start = np.random.default_rng(seed).standard_normal(size)
    try:
        values = scipy.sparse.linalg.eigs(
            matrix.astype("float64"),
            k=min(6, size - 2),
            ncv=min(size, 40),
            which="LM",
            maxiter=maxiter,
            tol=tol,
            v0=start,
            return_eigenvectors=False,
        )
    except scipy.sparse.linalg.ArpackNoConvergence as error:
        values = error.eigenvalues
        if len(values) == 0:
            raise RuntimeError(
                "ARPACK found no eigenvalue of the "
                f"{size}x{size} matrix within maxiter={maxiter} restarts at "
                f"tol={tol}; pass a larger `maxiter` or `tol`."
            ) from error
    return float(np.max(np.abs(values)))


@register
class SpectralRadius(keras.initializers.Initializer):
    """Rescales a base initializer's square matrix to a spectral radius.

    The echo-state recipe the notes recommend for initialising trainable
    recurrent weights: draw `W_0` from `base`, then return

    ```
    W = radius * W_0 / rho(W_0),    rho(W) = max_i |lambda_i(W)|
    ```

    so that the linearised recurrence `h_t = W h_{t-1}` neither shrinks nor
    grows a perturbation faster than `radius` per step. `rho` comes from
    `spectral_radius` (exact below 512 units, ARPACK above).

    Args:
        radius: float > 0, the spectral radius of the result. Default: 1.0.
        base: a Keras initializer (instance, name or config) drawing the
            matrix to rescale, e.g. `"glorot_uniform"`, `"random_normal"`
            or `toolkit.initializers.Sparse(10)` for a sparse reservoir.
            Default: `"glorot_uniform"`.
        seed: int or None. When an int, `base` is rebuilt with this seed
            (if it takes one) so the result is reproducible. As in Keras,
            one initializer object returns the same matrix at every call.
            Default: `None`.

    Call arguments:
        shape: `(units, units)`, a square matrix.
        dtype: float dtype. Default: `keras.backend.floatx()`.

    Example:

    ```python
    import keras
    from toolkit.initializers import SpectralRadius

    cell = keras.layers.SimpleRNNCell(
        64, recurrent_initializer=SpectralRadius(0.95, "random_normal",
                                                 seed=1))
    ```

    Reference:
        Jaeger, "The echo state approach to analysing and training recurrent
        neural networks", 2001; Sutskever et al., "On the importance of
        initialization and momentum in deep learning", 2013; Goodfellow,
        Bengio & Courville, "Deep Learning", section 10.8.
    """

    def __init__(self, radius=1.0, base="glorot_uniform", seed=None):
        radius = v.check_positive("radius", radius)
        base = v.get_initializer("base", base)
        seed = v.check_seed(seed)
        self.radius = radius
        self.base = base
        self.seed = seed
        if seed is not None and "seed" in base.get_config():
            config = {**base.get_config(), "seed": seed}
            self._base = type(base).from_config(config)
        else:
            self._base = base

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(
                "`SpectralRadius` initialises square matrices only. "
                f"Received: shape={shape}"
            )
        dtype = keras.backend.standardize_dtype(dtype)
        matrix = np.asarray(
            ops.convert_to_numpy(self._base(shape, dtype="float32")),
            dtype="float64",
        )
        rho = spectral_radius(matrix)
        if not rho > 1e-12:
            raise ValueError(
                "`SpectralRadius` cannot rescale a matrix whose spectral "
                f"radius is zero (base={type(self.base).__name__}, e.g. "
                "zeros or a nilpotent matrix). Choose another `base`."
            )
        return ops.convert_to_tensor(matrix * (self.radius / rho), dtype)

    def get_config(self):
        return {
            "radius": self.radius,
            "base": keras.initializers.serialize(self.base),
            "seed": self.seed,
        }
