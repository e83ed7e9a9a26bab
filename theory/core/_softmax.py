"""Softmax and its Jacobian, derived symbolically.

The softmax Jacobian ``dS(z)/dz = diag(s) - s s^T`` is the basic identity behind every
attention gradient in this toolkit (prompt_attention.md §5 item 1, [MATH]).  Here it is
*derived* by differentiating the definition with sympy and compared with the closed form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import sympy as sp

from theory.core._validate import check_int, check_vector

__all__ = [
    "softmax_jacobian_closed_form",
    "softmax_jacobian_derived",
    "softmax_jacobian_function",
    "softmax_symbols",
    "verify_softmax_jacobian",
]


def _length_iv(T: int) -> int:
    return check_int("T", T, low=1)


def softmax_symbols(T: int) -> tuple[sp.Symbol, ...]:
    """Return the real score symbols ``z_0, ..., z_{T-1}``.

    Parameters
    ----------
    T : int
        Number of scores (tokens), ``T >= 1``.

    Returns
    -------
    tuple of sympy.Symbol
        Real symbols.
    """
    T = _length_iv(T)
    return sp.symbols(f"z0:{T}", real=True)


def _softmax_expr(z: tuple[sp.Symbol, ...]) -> list[sp.Expr]:
    denom = sum(sp.exp(zi) for zi in z)
    return [sp.exp(zi) / denom for zi in z]


@functools.cache
def softmax_jacobian_derived(T: int) -> sp.Matrix:
    """Differentiate the definition ``S_i(z) = exp(z_i) / sum_l exp(z_l)`` with sympy.

    Parameters
    ----------
    T : int
        Number of scores, ``T >= 1``.

    Returns
    -------
    sympy.Matrix
        The ``T x T`` matrix ``dS_i / dz_j`` obtained by ``sympy.diff`` (not simplified
        towards the closed form).

    Notes
    -----
    Generic definition of prompt_attention.md §5 item 1 [MATH]; the closed form is
    :func:`softmax_jacobian_closed_form`.
    """
    T = _length_iv(T)
    z = softmax_symbols(T)
    s = _softmax_expr(z)
    return sp.Matrix(T, T, lambda i, j: sp.diff(s[i], z[j]))


@functools.cache
def softmax_jacobian_closed_form(T: int) -> sp.Matrix:
    """Closed form ``J(s) = diag(s) - s s^T`` written in the scores ``z``.

    Parameters
    ----------
    T : int
        Number of scores, ``T >= 1``.

    Returns
    -------
    sympy.Matrix
        ``T x T`` symbolic matrix.

    Notes
    -----
    prompt_attention.md §5 item 1 and sigmoid_moe.md §6.1 [MATH].
    """
    T = _length_iv(T)
    z = softmax_symbols(T)
    s = sp.Matrix(_softmax_expr(z))
    return sp.diag(*s) - s * s.T


def verify_softmax_jacobian(T: int, *, closed_form: sp.Matrix | None = None) -> bool:
    """Return True iff the derived Jacobian minus the closed form simplifies to zero.

    Parameters
    ----------
    T : int
        Number of scores, ``T >= 1``.
    closed_form : sympy.Matrix, optional
        The formula to check (default: :func:`softmax_jacobian_closed_form`).  A mutation
        test passes a deliberately wrong matrix here.

    Returns
    -------
    bool
        Whether every entry of the difference is symbolically zero.

    Examples
    --------
    >>> verify_softmax_jacobian(3)
    True
    """
    derived = softmax_jacobian_derived(T)
    target = softmax_jacobian_closed_form(T) if closed_form is None else closed_form
    if target.shape != derived.shape:
        raise ValueError(f"closed_form must have shape {derived.shape}, got {target.shape}")
    diff = (derived - target).applyfunc(lambda e: sp.simplify(sp.powsimp(sp.together(e))))
    return all(entry == 0 for entry in diff)


@functools.cache
def softmax_jacobian_function(T: int) -> Callable[[np.ndarray], np.ndarray]:
    """Lambdify the *derived* Jacobian for fast numeric evaluation.

    Parameters
    ----------
    T : int
        Number of scores, ``T >= 1``.

    Returns
    -------
    callable
        ``f(z) -> ndarray (T, T)`` for a float array ``z`` of length ``T``.

    Notes
    -----
    The derived expression is evaluated with scores shifted by ``max(z)`` (the softmax is
    translation invariant), so that large scores do not overflow.
    """
    T = _length_iv(T)
    z = softmax_symbols(T)
    fn = sp.lambdify([z], softmax_jacobian_derived(T), modules="numpy")

    def evaluate(zv: np.ndarray) -> np.ndarray:
        zv = check_vector("z", zv, dim=T)
        return np.asarray(fn(zv - zv.max()), dtype=np.float64)

    return evaluate
