"""Square loss on +-1 labels: ridge, least squares, minimum-norm interpolator, mean difference."""

import math

import numpy as np
from numba import njit

from ._linalg import _cholesky_inplace, _cholesky_solve, _gram, _rmatvec, _weighted_gram_t
from ._validation import _as_data, _check_lam


@njit(cache=True, error_model="numpy")
def _fit_square(X, y, lam, intercept, scale, w):
    """Minimise ``1/2 sum_i (y_i - scale <w, x_i> - b)^2 + lam/2 ||w||^2``; write ``w``.

    Returns ``(b, status)``; ``status`` is 0 on success and 1 when the linear system is
    numerically singular (only possible for ``lam = 0``).  ``b = 0`` when ``intercept`` is
    false.

    Route: ``n <= d`` uses the ``n x n`` kernel system ``(K + lam I) a + b 1 = y``,
    ``1.a = 0`` (``K = scale^2 X X^T``, ``w = scale X^T a``), which for ``lam = 0`` is the
    minimum-norm interpolator; ``n > d`` uses the (``d`` or ``d + 1``)-dimensional normal
    equations.  Both are solved by Cholesky.
    """
    n, d = X.shape
    if n <= d:
        K = np.empty((n, n))
        _gram(X, scale * scale, K)
        for i in range(n):
            K[i, i] += lam
        if not _cholesky_inplace(K):
            return 0.0, 1
        a = np.empty(n)
        _cholesky_solve(K, y, a)
        b = 0.0
        if intercept:
            ones = np.ones(n)
            a1 = np.empty(n)
            _cholesky_solve(K, ones, a1)
            s0 = 0.0
            s1 = 0.0
            for i in range(n):
                s0 += a[i]
                s1 += a1[i]
            b = s0 / s1
            for i in range(n):
                a[i] -= b * a1[i]
        _rmatvec(X, a, scale, w)
        return b, 0
    m = d + 1 if intercept else d
    A = np.empty((m, m))
    G = np.empty((d, d))
    ones = np.ones(n)
    _weighted_gram_t(X, ones, scale * scale, G)
    for j in range(d):
        for k in range(d):
            A[j, k] = G[j, k]
        A[j, j] += lam
    rhs = np.empty(m)
    xty = np.empty(d)
    _rmatvec(X, y, scale, xty)
    for j in range(d):
        rhs[j] = xty[j]
    if intercept:
        xt1 = np.empty(d)
        _rmatvec(X, ones, scale, xt1)
        sy = 0.0
        for i in range(n):
            sy += y[i]
        for j in range(d):
            A[j, d] = xt1[j]
            A[d, j] = xt1[j]
        A[d, d] = n
        rhs[d] = sy
    if not _cholesky_inplace(A):
        return 0.0, 1
    sol = np.empty(m)
    _cholesky_solve(A, rhs, sol)
    for j in range(d):
        w[j] = sol[j]
    return (sol[d] if intercept else 0.0), 0


@njit(cache=True, error_model="numpy")
def _fit_mean_difference(X, y, w):
    """Write ``w = (1/n) sum_i y_i x_i``."""
    _rmatvec(X, y, 1.0 / X.shape[0], w)


def _fit_square_checked(X, y, lam, intercept, scale):
    w = np.empty(X.shape[1])
    b, status = _fit_square(X, y, lam, bool(intercept), scale, w)
    if status != 0:
        raise ValueError(
            "the square-loss normal equations are numerically singular with lam = 0 "
            "(rank-deficient X, e.g. repeated rows); use lam > 0"
        )
    return w, float(b)


def _fit_ridge_iv(X, y, lam, name):
    X, y = _as_data(X, y)
    lam = _check_lam(lam, name)
    return X, y, lam


def fit_ridge(X, y, lam, *, intercept=False):
    """Square-loss ERM on +-1 labels in the Mignacco scaling.

    Solves ``min_{w,b} sum_i 1/2 (1 - y_i (w.x_i / sqrt(d) + b))^2 + lam/2 ||w||^2``
    (intercept unpenalised, ``b = 0`` unless ``intercept``).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data.
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    lam : float
        Penalty ``lam >= 0``.  ``lam = 0`` gives least squares for ``n > d`` and the
        minimum-norm interpolator (smallest ``||w||`` with all residuals 0) for ``n <= d``.
    intercept : bool, keyword-only
        Fit an unpenalised bias.

    Returns
    -------
    w : ndarray, shape (d,)
        Weights (score ``w.x / sqrt(d) + b``).
    b : float
        Bias.

    Notes
    -----
    Spec ``gmm_asymptotics.md`` §3 (square loss ``l(t) = (1 - t)^2 / 2``, which equals
    ``(y - score)^2 / 2`` for ``y = +-1``) and §1.1 scaling [RELATED:2002.11544]; the
    interpolation limits of §3.3 [MATH].  Normal equations by Cholesky; for ``n <= d`` the
    equivalent ``n x n`` system in ``X X^T`` is solved instead.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> w, b = fit_ridge(X, [1.0, -1.0, 1.0], 0.5)
    >>> np.round(w, 6).tolist(), b
    ([1.06066, -0.353553], 0.0)
    """
    X, y, lam = _fit_ridge_iv(X, y, lam, "lam")
    return _fit_square_checked(X, y, lam, intercept, 1.0 / math.sqrt(X.shape[1]))


def fit_ridge_standard(X, y, lam_r):
    """Ridge form of the standard normalisation, ``w = (X^T X / n + lam_r I)^{-1} X^T y / n``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data.
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    lam_r : float
        Ridge penalty ``lam_r >= 0``; ``lam_r = 0`` gives least squares (``n > d``) or the
        minimum-norm interpolator ``X^T (X X^T)^{-1} y`` (``n <= d``).

    Returns
    -------
    w : ndarray, shape (d,)
        Weights (score ``<w, x>``).
    b : float
        Always 0.0 (no intercept).

    Notes
    -----
    Spec §1.2 and §3.4 (random-matrix form; ``lam_r = lam / (alpha Delta)`` by §1.3) [MATH].
    """
    X, y, lam_r = _fit_ridge_iv(X, y, lam_r, "lam_r")
    return _fit_square_checked(X, y, lam_r * X.shape[0], False, 1.0)


def fit_mean_difference(X, y):
    """Mean-difference head ``w = (1/n) sum_i y_i x_i`` (no bias).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data.
    y : array_like, shape (n,)
        Labels in {-1, +1}.

    Returns
    -------
    w : ndarray, shape (d,)
        Weights (score ``<w, x>``).
    b : float
        Always 0.0.

    Notes
    -----
    Spec §3.5 (exact finite-``n`` error) and the ``lam -> inf`` limit of §3.3 [MATH].

    Examples
    --------
    >>> fit_mean_difference([[1.0, 2.0], [3.0, -1.0]], [1.0, -1.0])[0].tolist()
    [-1.0, 1.5]
    """
    X, y = _as_data(X, y)
    w = np.empty(X.shape[1])
    _fit_mean_difference(X, y, w)
    return w, 0.0
