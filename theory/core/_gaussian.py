"""Gaussian tail and the oracle error of a two-class Gaussian mixture."""

from __future__ import annotations

import math

import mpmath

from theory.core._validate import check_int, check_real

__all__ = ["gaussian_tail", "gaussian_tail_mp", "oracle_error", "oracle_error_mp"]


def gaussian_tail(x: float) -> float:
    """Gaussian tail ``Q(x) = P(N(0, 1) > x) = erfc(x / sqrt 2) / 2`` in float64.

    Parameters
    ----------
    x : float
        Finite real argument.

    Returns
    -------
    float
        ``Q(x)``.

    Examples
    --------
    >>> gaussian_tail(0.0)
    0.5
    """
    x = check_real("x", x)
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def gaussian_tail_mp(x: float | mpmath.mpf, *, dps: int = 50) -> mpmath.mpf:
    """``Q(x)`` evaluated by mpmath at ``dps`` decimal digits.

    Parameters
    ----------
    x : float or mpmath.mpf
        Finite real argument.
    dps : int, default 50
        Working precision in decimal digits, ``dps >= 15``.

    Returns
    -------
    mpmath.mpf
        ``Q(x)`` at the requested precision.
    """
    dps = check_int("dps", dps, low=15)
    with mpmath.workdps(dps):
        xv = mpmath.mpf(x)
        if not mpmath.isfinite(xv):
            raise ValueError(f"x must be finite, got {x}")
        return mpmath.erfc(xv / mpmath.sqrt(2)) / 2


def oracle_error(r: float) -> float:
    """Error ``Q(r)`` of the oracle linear classifier on ``x = y mu + z``, ``||mu|| = r``.

    Parameters
    ----------
    r : float
        Signal norm ``||mu||``, ``r >= 0``.

    Returns
    -------
    float
        ``P(y <mu, x> < 0) = Q(r)``.

    Notes
    -----
    gmm_asymptotics.md §1.2 [MATH]: ``y <mu/r, x> = r + <mu/r, z>`` with
    ``<mu/r, z> ~ N(0, 1)``.
    """
    r = check_real("r", r, low=0.0)
    return gaussian_tail(r)


def oracle_error_mp(r: float, *, dps: int = 50) -> mpmath.mpf:
    """High-precision twin of :func:`oracle_error` (mpmath, ``dps`` digits).

    Examples
    --------
    >>> abs(float(oracle_error_mp(1.0)) - oracle_error(1.0)) < 1e-16
    True
    """
    r = check_real("r", r, low=0.0)
    return gaussian_tail_mp(r, dps=dps)
