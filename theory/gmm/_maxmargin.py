"""Max-margin classifier on the balanced mixture via Gordon's comparison (CGMT) (§6).

Standard normalisation ``x = y mu + z``, ``||mu|| = r``, no bias, ``p = 1/2``.
gmm_asymptotics.md §6 [MATH]; agreement in every detail with Deng, Kammoun, Thrampoulidis
(arXiv 1911.05822) is [INFERRED].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from theory.core._validate import check_choice
from theory.gmm import _backend as bk
from theory.gmm._roots import _brentq, _expand_bracket

__all__ = [
    "MaxMarginSolution",
    "maxmargin_kappa",
    "maxmargin_solution",
    "positive_part_moment",
    "separability_threshold",
]

_LAGUERRE_SWITCH = 5.0  # for t < -5 the float64 closed forms lose digits to cancellation


@functools.lru_cache(maxsize=1)
def _laguerre() -> tuple[np.ndarray, np.ndarray]:
    u, w = np.polynomial.laguerre.laggauss(20)
    u.setflags(write=False)
    w.setflags(write=False)
    return u, w


def _pp_moment(ops: Any, t: Any, k: int) -> Any:
    """E[(t - Z)_+^k] for k in {1, 2}, cancellation-free in float64."""
    if ops.name == "fast" and t < -_LAGUERRE_SWITCH:
        # E[(Z - x)_+^k] = phi(x)/x^(k+1) int_0^inf u^k e^-u e^{-u^2/(2x^2)} du, x = -t
        x = -t
        u, w = _laguerre()
        integral = float(w @ (u**k * np.exp(-(u * u) / (2.0 * x * x))))
        return ops.phi(x) / x ** (k + 1) * integral
    Phi, phi = ops.Phi(t), ops.phi(t)
    if k == 1:
        return t * Phi + phi
    return (1 + t * t) * Phi + t * phi


def _positive_part_moment_iv(t, k, precision, dps):
    bk._precision_iv(precision, dps)
    check_choice("k", k, (1, 2))
    return bk.real("t", t)


def positive_part_moment(t: float, k: int = 2, *, precision: str = "fast", dps: int = 30) -> Any:
    """``E[(t - Z)_+^k]`` for ``Z ~ N(0, 1)``, ``k`` in {1, 2}.

    Parameters
    ----------
    t : float
        Real shift.
    k : {1, 2}, default 2
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``k = 2``: ``(1 + t^2) Phi(t) + t phi(t)``; ``k = 1``: ``t Phi(t) + phi(t)``.

    Notes
    -----
    gmm_asymptotics.md §6 item 3 [MATH].  In float64 for ``t < -5`` the closed form cancels;
    there ``E[(Z - x)_+^k] = phi(x) x^{-k-1} int_0^inf u^k e^{-u - u^2/(2x^2)} du`` (``x = -t``)
    is evaluated by 20-node Gauss-Laguerre (more nodes do not help: numpy's
    weights carry ~1e-13 relative error at 80 nodes) quadrature instead.  ``d/dt E[(t-Z)_+^2] =
    2 E[(t-Z)_+]``.

    Examples
    --------
    >>> positive_part_moment(0.0)
    0.5
    """
    t = _positive_part_moment_iv(t, k, precision, dps)
    with bk.backend(precision, dps) as ops:
        return _pp_moment(ops, ops.num(t), k)


def _tol(ops: Any) -> tuple[Any, Any]:
    if ops.name == "fast":
        return 1e-15, 4.5e-16
    eps = mpmath.eps
    return eps * 4, eps * 4


def _t_of_c(ops: Any, c: Any) -> Any:
    """The t with E[(t - Z)_+^2] = c (> 0), by Brent on log E[...] - log c."""
    logc = ops.log(c)

    def f(t):
        return ops.log(_pp_moment(ops, t, 2)) - logc

    xtol, rtol = _tol(ops)
    if c >= 0.5:
        lo, hi = ops.num(0), ops.sqrt(2 * c) + 1
        return _brentq(f, lo, hi, f(lo), f(hi), xtol=xtol, rtol=rtol)
    a, b_, fa, fb = _expand_bracket(f, ops.num(0), ops.num(1), -1, 1e6)
    return _brentq(f, a, b_, fa, fb, xtol=xtol, rtol=rtol)


def _kappa(ops: Any, rho: Any, r: Any, alpha: Any) -> tuple[Any, Any]:
    t = _t_of_c(ops, (1 - rho * rho) / alpha)
    return rho * r + t, t


def _rmax_iv(r, alpha, precision, dps):
    bk._precision_iv(precision, dps)
    return bk.nonnegative("r", r), bk.positive("alpha", alpha)


def maxmargin_kappa(
    rho: float, r: float, alpha: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """Largest achievable margin ``kappa(rho)`` at signal correlation ``rho`` (CGMT).

    Parameters
    ----------
    rho : float
        Correlation ``<w, mu>/r`` of the unit-norm classifier, in ``[0, 1)``.
    r : float
        Signal norm ``||mu|| >= 0``.
    alpha : float
        ``n/d > 0``.
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``kappa`` solving ``alpha E[(kappa - rho r - Z)_+^2] = 1 - rho^2``.

    Notes
    -----
    gmm_asymptotics.md §6 item 3 [MATH]; the left side increases in ``kappa`` so the root is
    bracketed.
    """
    r, alpha = _rmax_iv(r, alpha, precision, dps)
    rho = bk.real("rho", rho)
    if not 0 <= rho < 1:
        raise ValueError(f"rho must lie in [0, 1), got {rho!r}")
    with bk.backend(precision, dps) as ops:
        return _kappa(ops, ops.num(rho), ops.num(r), ops.num(alpha))[0]


def _alpha_star(ops: Any, r: Any) -> tuple[Any, Any]:
    """(alpha*(r), argmax rho) for r >= 0."""
    if r == 0:
        return 1 / _pp_moment(ops, ops.num(0), 2), ops.num(0)

    def dlog(rho):
        t = -rho * r
        return -2 * rho / (1 - rho * rho) + 2 * r * _pp_moment(ops, t, 1) / _pp_moment(ops, t, 2)

    xtol, rtol = _tol(ops)
    lo, hi = ops.num(0), 1 - ops.num(2) ** -40
    rho = _brentq(dlog, lo, hi, dlog(lo), dlog(hi), xtol=xtol, rtol=rtol)
    return (1 - rho * rho) / _pp_moment(ops, -rho * r, 2), rho


def separability_threshold(r: float, *, precision: str = "fast", dps: int = 30) -> Any:
    """Linear separability threshold ``alpha*(r)`` of the balanced mixture (no bias).

    Parameters
    ----------
    r : float
        Signal norm ``||mu|| >= 0``.
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``max_{rho in [0, 1]} (1 - rho^2)/E[(-rho r - Z)_+^2]``; the data are separable
        (asymptotically) iff ``alpha <= alpha*(r)``.

    Notes
    -----
    gmm_asymptotics.md §6 item 5 [MATH].  The maximiser solves
    ``-2 rho/(1 - rho^2) + 2 r E[(t-Z)_+]/E[(t-Z)_+^2] = 0`` at ``t = -rho r`` (bracketed on
    ``(0, 1)``).  ``alpha*(0) = 2`` (Cover).

    Examples
    --------
    >>> separability_threshold(0.0)
    2.0
    """
    bk._precision_iv(precision, dps)
    r = bk.nonnegative("r", r)
    with bk.backend(precision, dps) as ops:
        return _alpha_star(ops, ops.num(r))[0]


@dataclass(frozen=True)
class MaxMarginSolution:
    """CGMT solution of the max-margin problem.

    Attributes
    ----------
    rho : correlation ``<w, mu>/(r ||w||)`` of the max-margin direction
    kappa : the margin ``kappa(rho*)`` (of a unit-norm ``w``; ``>= 0`` below the threshold)
    eps_g : test error ``Q(rho* r)``
    alpha_star : separability threshold ``alpha*(r)``
    """

    rho: Any
    kappa: Any
    eps_g: Any
    alpha_star: Any


def maxmargin_solution(
    r: float, alpha: float, *, precision: str = "fast", dps: int = 30
) -> MaxMarginSolution:
    """Asymptotic max-margin (hard-margin SVM, no bias) solution and test error.

    Parameters
    ----------
    r : float
        Signal norm ``||mu|| >= 0`` (standard normalisation).
    alpha : float
        ``n/d`` in ``(0, alpha*(r)]``.
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    MaxMarginSolution

    Raises
    ------
    ValueError
        If ``alpha > alpha*(r)``: the data are not separable and the max-margin classifier does
        not exist (the hinge loss with ``lam -> 0+`` is the continuation).

    Notes
    -----
    gmm_asymptotics.md §6 [MATH].  ``rho* = argmax kappa(rho)`` is found from the stationarity
    condition ``d kappa/d rho = r - rho/(alpha E[(t - Z)_+]) = 0`` (``t = kappa - rho r``),
    bracketed on ``(0, 1)``, which is accurate to working precision (a golden-section search on
    ``kappa`` only reaches sqrt(eps) in ``rho``); ``eps_g = Q(rho* r)``.

    Examples
    --------
    >>> sol = maxmargin_solution(0.0, 1.0)
    >>> sol.eps_g, sol.rho
    (0.5, 0.0)
    """
    r, alpha = _rmax_iv(r, alpha, precision, dps)
    with bk.backend(precision, dps) as ops:
        r_, a_ = ops.num(r), ops.num(alpha)
        a_star, _ = _alpha_star(ops, r_)
        if a_ > a_star:
            raise ValueError(
                f"alpha must lie in (0, alpha*(r)] = (0, {float(a_star):.12g}] for r={float(r)!r},"
                f" got {alpha!r}: the data are not linearly separable"
            )
        if r_ == 0:
            rho = ops.num(0)
        else:

            def slope(rho):
                t = _kappa(ops, rho, r_, a_)[1]
                return r_ - rho / (a_ * _pp_moment(ops, t, 1))

            xtol, rtol = _tol(ops)
            lo, hi = ops.num(0), 1 - ops.num(2) ** -40
            rho = _brentq(slope, lo, hi, slope(lo), slope(hi), xtol=xtol, rtol=rtol)
        kappa = _kappa(ops, rho, r_, a_)[0]
        return MaxMarginSolution(rho=rho, kappa=kappa, eps_g=ops.Q(rho * r_), alpha_star=a_star)


