"""Closed-form ridge regression, accumulated chunk by chunk in float64."""

import numbers

import numpy as np
import scipy.linalg
from scipy.linalg import blas

from toolkit import validation as v


class RidgeRegression:
    """Ridge regression from running sums, for an ESN's linear readout.

    Fits `y = x W + b` minimising `||X W + 1 b - Y||^2 + ridge ||W||^2`
    (the bias is not penalised). Only the sufficient statistics are kept,
    in float64, whatever the chunks' dtype:

    ```
    S_xx = sum x^T x,  S_xy = sum x^T y,  s_x = sum x,  s_y = sum y,  n
    C_xx = S_xx - s_x^T s_x / n,          C_xy = S_xy - s_x^T s_y / n
    W = (C_xx + ridge I)^{-1} C_xy,       b = (s_y - s_x W) / n
    ```

    so memory is `O(features^2)` however many rows are fed through
    `update`, and rows from many sequences (or a batch of them) simply add
    up. `assign(dense)` writes the solution into an ordinary
    `keras.layers.Dense`, which then computes the readout.

    Args:
        ridge: float >= 0, the penalty on `W` (Tikhonov regularisation).
            Default: 1e-6.
        chunk_rows: int, rows converted to float64 at a time in `update`,
            bounding the temporary memory. Default: 4096.

    Example:

    ```python
    import keras
    import numpy as np
    from toolkit.layers.reservoir import RidgeRegression

    solver = RidgeRegression(ridge=1e-6)
    for x, y in [(np.random.rand(100, 8), np.random.rand(100, 2))] * 3:
        solver.update(x, y)
    readout = keras.layers.Dense(2)
    readout.build((None, 8))
    solver.assign(readout)
    ```

    Reference:
        Tikhonov & Arsenin, "Solutions of ill-posed problems", 1977;
        Lukosevicius, "A practical guide to applying echo state networks",
        2012 (section 4.1).
    """

    def __init__(self, ridge=1e-6, chunk_rows=4096):
        self.ridge = check_ridge(ridge)
        self.chunk_rows = v.check_positive_int("chunk_rows", chunk_rows)
        self.reset()

    def reset(self):
        """Forget every row seen so far."""
        self.count = 0
        self._sxx = self._sxy = self._sx = self._sy = None
        self._buffer = None

    def update(self, features, targets):
        """Add rows: `features` `(..., n_features)`, `targets`
        `(..., n_targets)` with the same leading shape."""
        features = np.asarray(features)
        targets = np.asarray(targets)
        if features.shape[:-1] != targets.shape[:-1]:
            raise ValueError(
                "`features` and `targets` must have the same leading shape. "
                f"Received: features.shape={features.shape}, "
                f"targets.shape={targets.shape}"
            )
        features = features.reshape(-1, features.shape[-1])
        targets = targets.reshape(-1, targets.shape[-1])
        if self._sxx is None:
            d, k = features.shape[1], targets.shape[1]
            # Fortran order: BLAS updates them in place.
            self._sxx = np.zeros((d, d), order="F")
            self._sxy = np.zeros((d, k), order="F")
            self._sx = np.zeros(d)
            self._sy = np.zeros(k)
        elif features.shape[1] != self._sxx.shape[0] or (
            targets.shape[1] != self._sxy.shape[1]
        ):
            raise ValueError(
                "Every `update` must have the same numbers of features and "
                f"targets: {self._sxx.shape[0]} and {self._sxy.shape[1]} so "
                f"far. Received: {features.shape[1]} and {targets.shape[1]}"
            )
        for start in range(0, len(features), self.chunk_rows):
            chunk = features[start : start + self.chunk_rows]
            # One float64 buffer for every chunk: a fresh one page-faults.
            if self._buffer is None or len(self._buffer) < len(chunk):
                self._buffer = np.empty((len(chunk), features.shape[1]))
            x = self._buffer[: len(chunk)]
            np.copyto(x, chunk)
            y = targets[start : start + self.chunk_rows].astype("float64")
            # SciPy's BLAS, as the solve: NumPy's own threads would fight it.
            # Upper triangle only (`dsyrk`): all that the Cholesky reads.
            self._sxx = blas.dsyrk(
                1.0, x.T, beta=1.0, c=self._sxx, overwrite_c=True
            )
            self._sxy = blas.dgemm(
                1.0, x.T, y, beta=1.0, c=self._sxy, overwrite_c=True
            )
            self._sx += x.sum(axis=0)
            self._sy += y.sum(axis=0)
        self.count += len(features)

    def solve(self, ridge=None):
        """Returns `(W, b)`, float64 arrays `(n_features, n_targets)` and
        `(n_targets,)`, for the penalty `ridge` (default: `self.ridge`);
        the sums are kept, so one accumulation serves many penalties."""
        ridge = self.ridge if ridge is None else check_ridge(ridge)
        if not self.count:
            raise ValueError(
                "`RidgeRegression.solve` needs at least one row; call "
                "`update` first."
            )
        mean_x = self._sx / self.count
        mean_y = self._sy / self.count
        # Upper triangle of C_xx (S_xx holds only that one, see `update`).
        # s_x^T s_x / n is symmetric: its transpose is in Fortran order like
        # S_xx, so C_xx is too and reaches LAPACK without a copy.
        cxx = self._sxx - np.outer(self._sx, mean_x).T
        cxy = self._sxy - np.outer(self._sx, mean_y)
        cxx[np.diag_indices_from(cxx)] += ridge
        try:  # Cholesky: C_xx + ridge I is symmetric positive definite
            factor = scipy.linalg.cho_factor(cxx, lower=False)
            kernel = scipy.linalg.cho_solve(factor, cxy, check_finite=False)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            full = np.triu(cxx) + np.triu(cxx, 1).T
            kernel = scipy.linalg.lstsq(full, cxy)[0]
        bias = mean_y - mean_x @ kernel
        return kernel, bias

    def assign(self, dense, ridge=None):
        """Solve (for `ridge`, default `self.ridge`) and write `W`, `b` into
        a built `keras.layers.Dense`."""
        kernel, bias = self.solve(ridge)
        if tuple(dense.kernel.shape) != kernel.shape or dense.bias is None:
            raise ValueError(
                "`dense` must be a built Dense layer with a bias and a "
                f"kernel of shape {kernel.shape}. Received: kernel of shape "
                f"{tuple(dense.kernel.shape)}, use_bias={dense.use_bias}"
            )
        dense.kernel.assign(kernel.astype(dense.kernel.dtype))
        dense.bias.assign(bias.astype(dense.bias.dtype))
        return kernel, bias


def check_ridge(ridge):
    """Return `ridge` as a float if it is a finite number >= 0."""
    if (
        isinstance(ridge, bool)
        or not isinstance(ridge, numbers.Real)
        or not np.isfinite(ridge)
        or ridge < 0
    ):
        raise ValueError(
            "Argument `ridge` must be a finite number >= 0. "
            f"Received: ridge={ridge!r}"
        )
    return float(ridge)
