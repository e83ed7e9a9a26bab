"""Normalisations, parameter maps and the test error of a biased linear classifier (§1).

gmm_asymptotics.md §1.1 (Mignacco normalisation, as in K2mix) [RELATED:2002.11544] and the
maps of §1.3 [MATH].
"""

from __future__ import annotations

from typing import Any

import mpmath

from theory.gmm import _backend as bk

__all__ = [
    "delta_from_snr",
    "gaussian_tail",
    "generalisation_error",
    "lam_mignacco_from_ridge",
    "lam_mignacco_from_standard",
    "lam_ridge_from_mignacco",
    "lam_standard_from_mignacco",
    "psi_from_alpha",
    "snr_from_delta",
]


def _gaussian_tail_iv(x: Any, precision: str, dps: int) -> Any:
    bk._precision_iv(precision, dps)
    return bk.real("x", x)


def gaussian_tail(x: float, *, precision: str = "fast", dps: int = 30) -> Any:
    """Gaussian tail ``Q(x) = P(N(0, 1) > x) = erfc(x/sqrt 2)/2``.

    Parameters
    ----------
    x : float
        Finite real argument.
    precision : {"fast", "high"}, default "fast"
        ``"fast"``: ``math.erfc`` in float64; ``"high"``: ``mpmath.erfc`` at ``dps`` digits.
    dps : int, default 30
        Decimal digits for ``precision="high"`` (>= 30).

    Returns
    -------
    float or mpmath.mpf
        ``Q(x)``.

    Notes
    -----
    gmm_asymptotics.md §1.1 [MATH].  ``erfc`` (not ``1 - erf``) keeps the relative accuracy of
    the upper tail.

    Examples
    --------
    >>> gaussian_tail(0.0)
    0.5
    >>> print(mpmath.nstr(gaussian_tail(1, precision="high"), 12))
    0.158655253931
    """
    x = _gaussian_tail_iv(x, precision, dps)
    with bk.backend(precision, dps) as ops:
        return ops.Q(ops.num(x))


def _generalisation_error_iv(m, q, b, p, precision, dps):
    bk._precision_iv(precision, dps)
    return bk.real("m", m), bk.positive("q", q), bk.real("b", b), bk.open_unit("p", p)


def generalisation_error(
    m: float, q: float, b: float = 0.0, p: float = 0.5, *, precision: str = "fast", dps: int = 30
) -> Any:
    """Test error of ``sign(w.x/sqrt d + b)`` from the order parameters (Mignacco normalisation).

    Parameters
    ----------
    m : float
        Overlap ``m = v.w/d``.
    q : float
        ``q = Delta ||w||^2 / d`` (``Delta`` already inside ``q``, as in K2mix), ``q > 0``.
    b : float, default 0
        Intercept.
    p : float, default 0.5
        ``P(y = +1)``, in ``(0, 1)``.
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``eps_g = p Q((m + b)/sqrt q) + (1 - p) Q((m - b)/sqrt q)``.

    Notes
    -----
    gmm_asymptotics.md §1.1 [RELATED:2002.11544].  Pitfall §8.2: ``q`` already contains
    ``Delta``; dividing by ``sqrt(Delta q)`` again is a bug.

    Examples
    --------
    >>> generalisation_error(1.0, 1.0) == gaussian_tail(1.0)
    True
    """
    m, q, b, p = _generalisation_error_iv(m, q, b, p, precision, dps)
    with bk.backend(precision, dps) as ops:
        m, q, b, p = ops.num(m), ops.num(q), ops.num(b), ops.num(p)
        s = ops.sqrt(q)
        return p * ops.Q((m + b) / s) + (1 - p) * ops.Q((m - b) / s)


def _eps_from_order(ops: Any, m: Any, q: Any, b: Any, p: Any) -> Any:
    """Unvalidated ``eps_g`` for internal callers (inside a backend)."""
    s = ops.sqrt(q)
    return p * ops.Q((m + b) / s) + (1 - p) * ops.Q((m - b) / s)


def delta_from_snr(r: float) -> float:
    """``Delta = 1/r^2``: Mignacco noise variance for a standard-normalisation SNR ``r > 0``.

    Parameters
    ----------
    r : float
        Signal norm ``||mu|| > 0`` of ``x = y mu + z``.

    Returns
    -------
    float
        ``Delta = 1/r^2``.

    Notes
    -----
    gmm_asymptotics.md §1.3 [MATH]: rescaling the data by ``sqrt(d)/r`` maps ``x = y mu + z``
    with ``||mu|| = r`` to ``x = y v/sqrt d + z/r``, and a linear classifier's direction (hence
    its error) is unchanged by rescaling.

    Examples
    --------
    >>> delta_from_snr(2.0)
    0.25
    """
    r = bk.positive("r", r)
    return 1.0 / (r * r)


def snr_from_delta(delta: float) -> float:
    """``r = 1/sqrt(Delta)`` (inverse of :func:`delta_from_snr`).

    Parameters
    ----------
    delta : float
        Noise variance ``Delta > 0`` (Mignacco normalisation).

    Returns
    -------
    float
        ``r = Delta^{-1/2}``.

    Notes
    -----
    gmm_asymptotics.md §1.3 [MATH].

    Examples
    --------
    >>> snr_from_delta(0.25)
    2.0
    """
    delta = bk.positive("delta", delta)
    return 1.0 / mpmath.sqrt(delta) if isinstance(delta, mpmath.mpf) else delta**-0.5


def psi_from_alpha(alpha: float) -> float:
    """``psi = d/n = 1/alpha``.

    Parameters
    ----------
    alpha : float
        ``n/d > 0``.

    Returns
    -------
    float
        ``1/alpha``.

    Notes
    -----
    gmm_asymptotics.md §1.3 [MATH].

    Examples
    --------
    >>> psi_from_alpha(4.0)
    0.25
    """
    alpha = bk.positive("alpha", alpha)
    return 1 / alpha


def lam_mignacco_from_standard(lam_tilde: float, delta: float) -> float:
    """``lambda = lambda_tilde * Delta``: standard penalty ``(d lambda~/2)||w||^2`` to Mignacco.

    Parameters
    ----------
    lam_tilde : float
        Standard-normalisation penalty ``>= 0``.
    delta : float
        ``Delta > 0``.

    Returns
    -------
    float

    Notes
    -----
    gmm_asymptotics.md §1.3 [MATH], with the ``1/2`` in front of both penalties.

    Examples
    --------
    >>> lam_mignacco_from_standard(2.0, 0.5)
    1.0
    """
    lam_tilde = bk.nonnegative("lam_tilde", lam_tilde)
    delta = bk.positive("delta", delta)
    return lam_tilde * delta


def lam_standard_from_mignacco(lam: float, delta: float) -> float:
    """``lambda_tilde = lambda / Delta`` (inverse of :func:`lam_mignacco_from_standard`).

    Parameters
    ----------
    lam : float
        Mignacco penalty ``>= 0``.
    delta : float
        ``Delta > 0``.

    Returns
    -------
    float

    Notes
    -----
    gmm_asymptotics.md §1.3 [MATH].

    Examples
    --------
    >>> lam_standard_from_mignacco(1.0, 0.5)
    2.0
    """
    lam = bk.nonnegative("lam", lam)
    delta = bk.positive("delta", delta)
    return lam / delta


def lam_ridge_from_mignacco(lam: float, alpha: float, delta: float) -> float:
    """``lambda_r = lambda/(alpha Delta)``: penalty of ``w = (X^T X/n + lambda_r I)^-1 X^T y/n``.

    Parameters
    ----------
    lam : float
        Mignacco penalty ``>= 0``.
    alpha : float
        ``n/d > 0``.
    delta : float
        ``Delta > 0``.

    Returns
    -------
    float

    Notes
    -----
    gmm_asymptotics.md §1.3 [MATH] (pitfall §8.3: ``lambda`` in place of ``lambda_r`` is a bug).

    Examples
    --------
    >>> lam_ridge_from_mignacco(1.0, 2.0, 0.5)
    1.0
    """
    lam = bk.nonnegative("lam", lam)
    alpha = bk.positive("alpha", alpha)
    delta = bk.positive("delta", delta)
    return lam / (alpha * delta)


def lam_mignacco_from_ridge(lam_r: float, alpha: float, delta: float) -> float:
    """``lambda = lambda_r alpha Delta`` (inverse of :func:`lam_ridge_from_mignacco`).

    Parameters
    ----------
    lam_r : float
        Ridge-form penalty ``>= 0``.
    alpha : float
        ``n/d > 0``.
    delta : float
        ``Delta > 0``.

    Returns
    -------
    float

    Notes
    -----
    gmm_asymptotics.md §1.3 [MATH].

    Examples
    --------
    >>> lam_mignacco_from_ridge(1.0, 2.0, 0.5)
    1.0
    """
    lam_r = bk.nonnegative("lam_r", lam_r)
    alpha = bk.positive("alpha", alpha)
    delta = bk.positive("delta", delta)
    return lam_r * alpha * delta
