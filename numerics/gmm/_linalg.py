"""Small dense linear-algebra kernels used by the solvers.

Written as plain loops on purpose: they do not go through BLAS/LAPACK (which numba reaches via
SciPy), so the fits are bit-for-bit reproducible whatever the number of numba or BLAS threads,
and the ``numerics`` layer depends only on numpy and numba.
"""

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _weighted_gram_t(X, s, scale, out):
    """Write ``scale * X.T @ diag(s) @ X`` (d x d, symmetric) into ``out``."""
    n, d = X.shape
    for j in range(d):
        for k in range(d):
            out[j, k] = 0.0
    for i in range(n):
        si = s[i] * scale
        if si == 0.0:
            continue
        for j in range(d):
            a = si * X[i, j]
            if a == 0.0:
                continue
            for k in range(j, d):
                out[j, k] += a * X[i, k]
    for j in range(d):
        for k in range(j):
            out[j, k] = out[k, j]


@njit(cache=True, error_model="numpy")
def _gram(X, scale, out):
    """Write ``scale * X @ X.T`` (n x n, symmetric) into ``out``.

    Four rows ``j`` at a time share the loads of row ``i``; every entry is still one
    sequential sum over ``k`` (so the result does not depend on the blocking).
    """
    n, d = X.shape
    for i in range(n):
        j = i
        while j + 3 < n:
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for k in range(d):
                xi = X[i, k]
                a0 += xi * X[j, k]
                a1 += xi * X[j + 1, k]
                a2 += xi * X[j + 2, k]
                a3 += xi * X[j + 3, k]
            out[i, j] = a0 * scale
            out[i, j + 1] = a1 * scale
            out[i, j + 2] = a2 * scale
            out[i, j + 3] = a3 * scale
            j += 4
        while j < n:
            acc = 0.0
            for k in range(d):
                acc += X[i, k] * X[j, k]
            out[i, j] = acc * scale
            j += 1
    for i in range(n):
        for j in range(i):
            out[i, j] = out[j, i]


@njit(cache=True, error_model="numpy")
def _matvec(X, v, scale, out):
    """Write ``scale * X @ v`` into ``out``."""
    n, d = X.shape
    for i in range(n):
        acc = 0.0
        for k in range(d):
            acc += X[i, k] * v[k]
        out[i] = acc * scale


@njit(cache=True, error_model="numpy")
def _rmatvec(X, u, scale, out):
    """Write ``scale * X.T @ u`` into ``out``."""
    n, d = X.shape
    for k in range(d):
        out[k] = 0.0
    for i in range(n):
        a = u[i] * scale
        if a == 0.0:
            continue
        for k in range(d):
            out[k] += a * X[i, k]


@njit(cache=True, error_model="numpy")
def _cholesky_inplace(A):
    """Overwrite the lower triangle of the SPD matrix ``A`` with its Cholesky factor.

    Returns ``True`` on success and ``False`` when a pivot is not positive (numerically
    singular or indefinite matrix).  The strict upper triangle is left untouched.
    """
    m = A.shape[0]
    for j in range(m):
        acc = A[j, j]
        for k in range(j):
            acc -= A[j, k] * A[j, k]
        if not acc > 0.0:
            return False
        ljj = np.sqrt(acc)
        A[j, j] = ljj
        for i in range(j + 1, m):
            acc = A[i, j]
            for k in range(j):
                acc -= A[i, k] * A[j, k]
            A[i, j] = acc / ljj
    return True


@njit(cache=True, error_model="numpy")
def _cholesky_solve(L, rhs, out):
    """Solve ``L L^T x = rhs`` with the lower-triangular factor ``L``; write ``x`` into ``out``."""
    m = L.shape[0]
    for i in range(m):
        acc = rhs[i]
        for k in range(i):
            acc -= L[i, k] * out[k]
        out[i] = acc / L[i, i]
    for i in range(m - 1, -1, -1):
        acc = out[i]
        for k in range(i + 1, m):
            acc -= L[k, i] * out[k]
        out[i] = acc / L[i, i]
