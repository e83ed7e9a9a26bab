"""Compiled softmax and central-difference Jacobians."""

from __future__ import annotations

import numpy as np
from numba import njit

from numerics.core._validate import check_real, check_vector

__all__ = ["central_difference_step", "softmax", "softmax_jacobian_fd"]

_EPS = float(np.finfo(np.float64).eps)


@njit(cache=True, error_model="numpy")
def _softmax_kernel(z, out):
    m = z[0]
    for i in range(1, z.shape[0]):
        if z[i] > m:
            m = z[i]
    total = 0.0
    for i in range(z.shape[0]):
        out[i] = np.exp(z[i] - m)
        total += out[i]
    for i in range(z.shape[0]):
        out[i] /= total


@njit(cache=True, error_model="numpy")
def _softmax_jacobian_fd_kernel(z, h, out):
    T = z.shape[0]
    zp = z.copy()
    sp = np.empty(T)
    sm = np.empty(T)
    for j in range(T):
        zp[j] = z[j] + h
        _softmax_kernel(zp, sp)
        zp[j] = z[j] - h
        _softmax_kernel(zp, sm)
        zp[j] = z[j]
        for i in range(T):
            out[i, j] = (sp[i] - sm[i]) / (2.0 * h)


def central_difference_step(third_derivative_bound: float = 1.0) -> float:
    """Step that minimises the error bound of a central difference in float64.

    The error of ``(f(x+h) - f(x-h)) / 2h`` is at most ``h^2 M3 / 6 + eps M0 / h`` for
    ``|f'''| <= M3`` and ``|f| <= M0 = 1``; the minimiser is ``h = (3 eps / M3)^(1/3)``.

    Parameters
    ----------
    third_derivative_bound : float, default 1.0
        ``M3 > 0``.

    Returns
    -------
    float
    """
    m3 = check_real("third_derivative_bound", third_derivative_bound, low=0.0, low_open=True)
    return float((3.0 * _EPS / m3) ** (1.0 / 3.0))


def _scores_iv(z) -> np.ndarray:
    return check_vector("z", z)


def softmax(z) -> np.ndarray:
    """Numerically stable softmax of a score vector (compiled).

    Parameters
    ----------
    z : array_like, shape (T,)
        Finite scores.

    Returns
    -------
    ndarray, shape (T,)

    Examples
    --------
    >>> softmax([0.0, 0.0]).tolist()
    [0.5, 0.5]
    """
    z = _scores_iv(z)
    out = np.empty_like(z)
    _softmax_kernel(z, out)
    return out


def softmax_jacobian_fd(z, h: float | None = None) -> np.ndarray:
    """Softmax Jacobian by central differences (compiled).

    Parameters
    ----------
    z : array_like, shape (T,)
        Finite scores.
    h : float, optional
        Step; default :func:`central_difference_step` with ``M3 = 1``.

    Returns
    -------
    ndarray, shape (T, T)
        ``out[i, j] ~ dS_i / dz_j``.
    """
    z = _scores_iv(z)
    if h is None:
        h = central_difference_step()
    h = check_real("h", h, low=0.0, low_open=True)
    out = np.empty((z.shape[0], z.shape[0]))
    _softmax_jacobian_fd_kernel(z, h, out)
    return out
