"""Square loss (ridge regression on +-1 labels): closed forms, limits, random-matrix form (§3).

gmm_asymptotics.md §3.2-§3.4 [MATH].  Every function has ``precision="fast"`` (float64,
numerically stable branches) and ``precision="high"`` (mpmath at ``dps`` digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from theory.gmm import _backend as bk

__all__ = [
    "SquareClosedForm",
    "interpolation_peak_deviation",
    "least_squares_error",
    "least_squares_error_standard",
    "mean_difference_error",
    "mean_difference_error_limit",
    "min_norm_error",
    "min_norm_error_standard",
    "mp_stieltjes",
    "mp_stieltjes_derivative",
    "ridge_error_standard",
    "square_closed_form",
]


@dataclass(frozen=True)
class SquareClosedForm:
    """Order parameters of ridge regression at ``p = 1/2`` without bias (§3.2).

    Attributes
    ----------
    V, m, q : float or mpmath.mpf
        Susceptibility, overlap ``v.w/d`` and ``Delta ||w||^2/d``.
    V_hat, m_hat, q_hat : float or mpmath.mpf
        Conjugate (hat) parameters of §3.1 at that point.
    eps_g : float or mpmath.mpf
        ``Q(m/sqrt q)``.
    """

    V: Any
    m: Any
    q: Any
    V_hat: Any
    m_hat: Any
    q_hat: Any
    eps_g: Any


def _square_closed_form_iv(alpha, delta, lam, precision, dps):
    bk._precision_iv(precision, dps)
    alpha = bk.positive("alpha", alpha)
    delta = bk.positive("delta", delta)
    lam = bk.nonnegative("lam", lam)
    if lam == 0 and not alpha > 1:
        raise ValueError(
            f"lam = 0 needs alpha in (1, inf) (least squares); got alpha={alpha!r}: "
            "use min_norm_error for the lam -> 0+ limit at alpha < 1"
        )
    return alpha, delta, lam


def _square_V(ops: Any, alpha: Any, delta: Any, lam: Any) -> Any:
    """Positive root of ``lam V^2 + (lam + Delta(alpha-1)) V - Delta = 0`` without cancellation."""
    B = lam + delta * (alpha - 1)
    if lam == 0:
        return delta / B  # B > 0 here (alpha > 1 is enforced)
    disc = ops.sqrt(B * B + 4 * lam * delta)
    if B > 0:
        return 2 * delta / (B + disc)
    return (disc - B) / (2 * lam)


def square_closed_form(
    alpha: float, delta: float, lam: float, *, precision: str = "fast", dps: int = 30
) -> SquareClosedForm:
    """Closed-form fixed point of ridge regression, balanced classes, no bias (§3.2).

    Parameters
    ----------
    alpha : float
        Sample ratio ``n/d > 0``.
    delta : float
        Noise variance ``Delta > 0`` (Mignacco normalisation, ``Delta = 1/r^2``).
    lam : float
        Penalty ``lambda >= 0`` of ``(lambda/2)||w||^2``; ``lambda = 0`` only for ``alpha > 1``.
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30
        Digits for ``precision="high"``.

    Returns
    -------
    SquareClosedForm

    Notes
    -----
    gmm_asymptotics.md §3.2 [MATH].  ``V`` is the positive root of
    ``lam V^2 + (lam + Delta(alpha-1)) V - Delta = 0`` (the branch without cancellation is
    chosen).  With ``(1 + V) A = Delta (1 + V)/V`` (a consequence of that quadratic) the spec's
    ``q = Delta (1-m)^2 alpha (alpha+Delta) / (((1+V)A)^2 - Delta^2 alpha)`` becomes
    ``q = (1-m)^2 alpha (alpha+Delta) V^2 / (Delta ((1+V)^2 - alpha V^2))``, which has no
    cancellation at ``alpha = 1``; the equivalence is checked symbolically in the tests.

    Examples
    --------
    >>> sc = square_closed_form(2.0, 1.0, 0.0)
    >>> round(sc.V, 12), round(sc.m, 12)
    (1.0, 0.5)
    """
    alpha, delta, lam = _square_closed_form_iv(alpha, delta, lam, precision, dps)
    with bk.backend(precision, dps) as ops:
        alpha, delta, lam = ops.num(alpha), ops.num(delta), ops.num(lam)
        V = _square_V(ops, alpha, delta, lam)
        c = alpha * V / (delta * (1 + V))  # = alpha/((1+V) A)
        m = c / (1 + c)
        one_m = 1 / (1 + c)
        q = one_m**2 * alpha * (alpha + delta) * V**2 / (delta * ((1 + V) ** 2 - alpha * V**2))
        V_hat = alpha / (1 + V)
        m_hat = alpha * (1 - m) / (1 + V)
        q_hat = alpha * ((1 - m) ** 2 + q) / (1 + V) ** 2
        eps = ops.Q(m / ops.sqrt(q))
        return SquareClosedForm(V=V, m=m, q=q, V_hat=V_hat, m_hat=m_hat, q_hat=q_hat, eps_g=eps)


# ---------------------------------------------------------------------------------------------
# §3.3 limits (Mignacco normalisation)
# ---------------------------------------------------------------------------------------------


def _limit_iv(alpha, delta, precision, dps, *, alpha_range: str):
    bk._precision_iv(precision, dps)
    alpha = bk.positive("alpha", alpha)
    delta = bk.positive("delta", delta)
    if alpha_range == "gt1" and not alpha > 1:
        raise ValueError(f"alpha must lie in (1, inf), got {alpha!r}")
    if alpha_range == "lt1" and not alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return alpha, delta


def least_squares_error(
    alpha: float, delta: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """Least-squares error (``lambda -> 0+``, ``alpha > 1``), Mignacco normalisation.

    Parameters
    ----------
    alpha : float
        ``n/d > 0``, in (1, inf).
    delta : float
        ``Delta > 0`` (Mignacco normalisation).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``Q( sqrt((alpha - 1)/(Delta (alpha + Delta))) )``.

    Notes
    -----
    gmm_asymptotics.md §3.3 [MATH]: ``V -> 1/(alpha-1)``, ``m -> 1/(1+Delta)``.

    Examples
    --------
    >>> round(least_squares_error(2.0, 1.0), 12) == round(square_closed_form(2.0, 1.0, 0).eps_g, 12)
    True
    """
    alpha, delta = _limit_iv(alpha, delta, precision, dps, alpha_range="gt1")
    with bk.backend(precision, dps) as ops:
        alpha, delta = ops.num(alpha), ops.num(delta)
        return ops.Q(ops.sqrt((alpha - 1) / (delta * (alpha + delta))))


def min_norm_error(alpha: float, delta: float, *, precision: str = "fast", dps: int = 30) -> Any:
    """Minimum-norm interpolator error (``lambda -> 0+``, ``alpha < 1``), Mignacco normalisation.

    Parameters
    ----------
    alpha : float
        ``n/d > 0``, in (0, 1).
    delta : float
        ``Delta > 0`` (Mignacco normalisation).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``Q( sqrt(alpha (1 - alpha)/(Delta (alpha + Delta))) )``.

    Notes
    -----
    gmm_asymptotics.md §3.3 [MATH]: ``V ~ Delta(1-alpha)/lambda``, ``m -> alpha/(alpha+Delta)``.
    """
    alpha, delta = _limit_iv(alpha, delta, precision, dps, alpha_range="lt1")
    with bk.backend(precision, dps) as ops:
        alpha, delta = ops.num(alpha), ops.num(delta)
        return ops.Q(ops.sqrt(alpha * (1 - alpha) / (delta * (alpha + delta))))


def mean_difference_error(
    alpha: float, delta: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """``lambda -> inf`` limit of ridge (the mean-difference classifier), Mignacco normalisation.

    Parameters
    ----------
    alpha : float
        ``n/d > 0``.
    delta : float
        ``Delta > 0`` (Mignacco normalisation).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``Q( sqrt(alpha/(Delta (alpha + Delta))) )``.

    Notes
    -----
    gmm_asymptotics.md §3.3 [MATH].
    """
    alpha, delta = _limit_iv(alpha, delta, precision, dps, alpha_range="any")
    with bk.backend(precision, dps) as ops:
        alpha, delta = ops.num(alpha), ops.num(delta)
        return ops.Q(ops.sqrt(alpha / (delta * (alpha + delta))))


def interpolation_peak_deviation(
    delta: float, lam: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """Leading term of ``1/2 - eps_g`` at ``alpha = 1`` as ``lambda -> 0+``.

    Parameters
    ----------
    delta : float
        ``Delta > 0``.
    lam : float
        ``lambda > 0`` (the expansion holds as ``lambda -> 0+``).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``phi(0) sqrt(2/((1 + Delta) Delta^{3/2})) lambda^{1/4}``.

    Notes
    -----
    gmm_asymptotics.md §3.3 [MATH] (the slow ``lambda^{1/4}`` approach to 1/2).
    """
    bk._precision_iv(precision, dps)
    delta = bk.positive("delta", delta)
    lam = bk.positive("lam", lam)
    with bk.backend(precision, dps) as ops:
        delta, lam = ops.num(delta), ops.num(lam)
        return ops.phi(ops.num(0)) * ops.sqrt(2 / ((1 + delta) * delta**1.5)) * lam**0.25


# ---------------------------------------------------------------------------------------------
# §3.4 Marchenko-Pastur form (standard normalisation)
# ---------------------------------------------------------------------------------------------


def _mp_iv(psi, lam, precision, dps):
    bk._precision_iv(precision, dps)
    psi = bk.positive("psi", psi)
    lam = bk.nonnegative("lam", lam)
    if lam == 0 and not psi < 1:
        raise ValueError(
            f"lam = 0 needs psi in (0, 1) (m(0) diverges for psi >= 1), got psi={psi!r}"
        )
    return psi, lam


def _mp_m(ops: Any, psi: Any, lam: Any) -> Any:
    B = 1 - psi + lam
    if lam == 0:
        return 1 / B
    disc = ops.sqrt(B * B + 4 * psi * lam)
    if B > 0:
        return 2 / (B + disc)
    return (disc - B) / (2 * psi * lam)


def _mp_mprime(ops: Any, psi: Any, lam: Any, m: Any) -> Any:
    return (psi * m * m + m) / (1 - psi + lam + 2 * psi * lam * m)


def mp_stieltjes(psi: float, lam: float, *, precision: str = "fast", dps: int = 30) -> Any:
    """Marchenko-Pastur Stieltjes transform ``m(-lambda)`` at aspect ratio ``psi = d/n``.

    Parameters
    ----------
    psi : float
        ``d/n > 0``.
    lam : float
        ``lambda >= 0`` (``lambda = 0`` only for ``psi < 1``).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        The positive root of ``psi lam m^2 + (1 - psi + lam) m - 1 = 0``, i.e.
        ``lim (1/d) tr (X^T X/n + lam I)^{-1}`` for ``X`` with i.i.d. N(0, 1) entries.

    Notes
    -----
    gmm_asymptotics.md §3.4 [MATH]; the root is computed on the branch without cancellation.

    Examples
    --------
    >>> round(mp_stieltjes(0.5, 0.0), 12)
    2.0
    """
    psi, lam = _mp_iv(psi, lam, precision, dps)
    with bk.backend(precision, dps) as ops:
        return _mp_m(ops, ops.num(psi), ops.num(lam))


def mp_stieltjes_derivative(
    psi: float, lam: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """``m'(lambda) = -d m(-lambda)/d lambda`` in closed form.

    Parameters
    ----------
    psi : float
        ``d/n > 0``.
    lam : float
        ``lambda >= 0`` (``0`` only for ``psi < 1``).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``(psi m^2 + m) / (1 - psi + lam + 2 psi lam m)``, the denominator being
        ``sqrt((1 - psi + lam)^2 + 4 psi lam) > 0``.

    Notes
    -----
    gmm_asymptotics.md §3.4 [MATH]: differentiate the quadratic of :func:`mp_stieltjes` in
    ``lam``.  At ``lam = 0``, ``psi < 1`` it equals ``1/(1 - psi)^3``.

    Examples
    --------
    >>> round(mp_stieltjes_derivative(0.5, 0.0), 12)
    8.0
    """
    psi, lam = _mp_iv(psi, lam, precision, dps)
    with bk.backend(precision, dps) as ops:
        psi, lam = ops.num(psi), ops.num(lam)
        return _mp_mprime(ops, psi, lam, _mp_m(ops, psi, lam))


def ridge_error_standard(
    r: float, psi: float, lam: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """Asymptotic error of the ridge head ``w = (X^T X/n + lam I)^{-1} X^T y/n``.

    Parameters
    ----------
    r : float
        Signal norm ``||mu|| > 0`` of ``x = y mu + z`` (standard normalisation).
    psi : float
        ``d/n > 0``.
    lam : float
        Ridge penalty ``lambda_r >= 0`` in the ridge form (``0`` only for ``psi < 1``).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``Q( m r^2 / sqrt(m' (r^2 + psi)) )`` with ``m = m(-lam)``, ``m'`` from
        :func:`mp_stieltjes_derivative`.

    Notes
    -----
    gmm_asymptotics.md §3.4 [MATH]; equals §3.2 under ``psi = 1/alpha``, ``r^2 = 1/Delta``,
    ``lam = lambda/(alpha Delta)`` (§1.3).  Shared with prompt_attention.md §8.4 (known-prompt
    ridge heads).

    Examples
    --------
    >>> e1 = ridge_error_standard(1.0, 0.5, 0.0)
    >>> abs(e1 - least_squares_error_standard(1.0, 0.5)) < 1e-14
    True
    """
    bk._precision_iv(precision, dps)
    r = bk.positive("r", r)
    psi, lam = _mp_iv(psi, lam, precision, dps)
    with bk.backend(precision, dps) as ops:
        r, psi, lam = ops.num(r), ops.num(psi), ops.num(lam)
        m = _mp_m(ops, psi, lam)
        mp_ = _mp_mprime(ops, psi, lam, m)
        return ops.Q(m * r * r / ops.sqrt(mp_ * (r * r + psi)))


def least_squares_error_standard(
    r: float, psi: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """Least-squares head error, standard normalisation, ``psi = d/n < 1``.

    Parameters
    ----------
    r : float
        Signal norm ``||mu||`` (standard normalisation).
    psi : float
        ``d/n``, in (0, 1).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``Q( r^2 sqrt((1 - psi)/(psi + r^2)) )``.

    Notes
    -----
    gmm_asymptotics.md §3.3 [MATH] mapped by §1.3 (``alpha = 1/psi``, ``Delta = 1/r^2``).
    """
    bk._precision_iv(precision, dps)
    r = bk.nonnegative("r", r)
    psi = bk.positive("psi", psi)
    if not psi < 1:
        raise ValueError(f"psi must lie in (0, 1) for least squares, got {psi!r}")
    with bk.backend(precision, dps) as ops:
        r, psi = ops.num(r), ops.num(psi)
        return ops.Q(r * r * ops.sqrt((1 - psi) / (psi + r * r)))


def min_norm_error_standard(r: float, psi: float, *, precision: str = "fast", dps: int = 30) -> Any:
    """Minimum-norm interpolator error, standard normalisation, ``psi = d/n > 1``.

    Parameters
    ----------
    r : float
        Signal norm ``||mu||`` (standard normalisation).
    psi : float
        ``d/n``, in (1, inf).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``Q( r^2 sqrt((psi - 1)/(psi (psi + r^2))) )``.

    Notes
    -----
    gmm_asymptotics.md §3.3 [MATH] mapped by §1.3 (``alpha = 1/psi``, ``Delta = 1/r^2``).
    """
    bk._precision_iv(precision, dps)
    r = bk.nonnegative("r", r)
    psi = bk.positive("psi", psi)
    if not psi > 1:
        raise ValueError(f"psi must lie in (1, inf) for the min-norm interpolator, got {psi!r}")
    with bk.backend(precision, dps) as ops:
        r, psi = ops.num(r), ops.num(psi)
        return ops.Q(r * r * ops.sqrt((psi - 1) / (psi * (psi + r * r))))


def mean_difference_error_limit(
    r: float, psi: float, *, precision: str = "fast", dps: int = 30
) -> Any:
    """Asymptotic error of the mean-difference head ``w = (1/n) sum y_i x_i``.

    Parameters
    ----------
    r : float
        Signal norm ``||mu||`` (standard normalisation).
    psi : float
        ``d/n``, >= 0.
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    float or mpmath.mpf
        ``Q( r^2 / sqrt(r^2 + psi) )``.

    Notes
    -----
    gmm_asymptotics.md §3.3 and §3.5 [MATH] (the ``lambda -> inf`` limit of ridge; the
    ``D/n -> psi`` limit of the exact finite-n error).

    Examples
    --------
    >>> from theory.gmm import gaussian_tail
    >>> mean_difference_error_limit(1.0, 0.0) == gaussian_tail(1.0)
    True
    """
    bk._precision_iv(precision, dps)
    r = bk.nonnegative("r", r)
    psi = bk.nonnegative("psi", psi)
    if r == 0 and psi == 0:
        raise ValueError("r and psi must not both be 0 (the ratio r^2/sqrt(r^2 + psi) is 0/0)")
    with bk.backend(precision, dps) as ops:
        r, psi = ops.num(r), ops.num(psi)
        return ops.Q(r * r / ops.sqrt(r * r + psi))
