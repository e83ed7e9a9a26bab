"""Exact finite-n error of the mean-difference classifier (§3.5).

gmm_asymptotics.md §3.5 [MATH].
"""

from __future__ import annotations

from typing import Any

import mpmath

from theory.gmm import _backend as bk

__all__ = [
    "mean_difference_error_finite",
]


def _mean_difference_error_finite_iv(r, n, D, dps):
    bk._precision_iv("high", dps)
    r = bk.nonnegative("r", r)
    n = bk.positive_int("n", n)
    D = bk.positive_int("D", D)
    return r, n, D


def mean_difference_error_finite(r: float, n: int, D: int, *, dps: int = 30) -> Any:
    """Exact test error of ``w = (1/n) sum_i y_i x_i`` at finite ``n`` and dimension ``D``.

    Parameters
    ----------
    r : float
        Signal norm ``||mu|| >= 0`` of ``x = y mu + z``, ``z ~ N(0, I_D)``.
    n : int
        Number of training samples (>= 1).
    D : int
        Dimension (>= 1).
    dps : int, default 30
        mpmath working precision (>= 30).

    Returns
    -------
    mpmath.mpf
        ``E[ Q( r u / sqrt(u^2 + chi2_{D-1}/n) ) ]`` with ``u = r + g/sqrt n``, ``g ~ N(0, 1)``
        independent of ``chi2_{D-1}``: the error averaged over training sets.

    Notes
    -----
    gmm_asymptotics.md §3.5 [MATH]: ``w = mu + zbar``, ``zbar ~ N(0, I_D/n)``, and the error of
    a fixed direction is ``Q(<w, mu>/||w||) = Q(r cos theta)`` (§1.2), ``theta`` the angle
    between ``w`` and ``mu``.  The spec's 2-D form (``g`` along ``mu``, ``chi2_{D-1}`` across)
    is reduced to 1-D here by integrating the radius in polar coordinates:

        f(theta) ∝ sin^{D-2}(theta) exp(-n r^2 sin^2(theta)/2) J_{D-1}(sqrt(n) r cos theta),
        J_m(a) = int_0^inf x^m exp(-(x - a)^2/2) dx = m! exp(-a^2/4) D_{-m-1}(-a),

    evaluated by the recursion ``J_0 = sqrt(2 pi) Phi(a)``, ``J_1 = exp(-a^2/2) + a J_0``,
    ``J_k = a J_{k-1} + (k-1) J_{k-2}`` (integration by parts; for ``a < 0`` it loses relative
    but not absolute accuracy, and those angles carry weight ``<= exp(-n r^2 cos^2/2)``), and
    ``eps = int Q(r cos theta) f / int f`` over ``[0, pi]`` (``mpmath.quad``).  ``D = 1`` has the
    closed form ``Q(r)(1 - Q(r sqrt n)) + (1 - Q(r)) Q(r sqrt n)``.  As ``D/n -> psi`` the error
    tends to ``Q(r^2/sqrt(r^2 + psi))``.  The tests compare with the 2-D form by SciPy.
    """
    r, n, D = _mean_difference_error_finite_iv(r, n, D, dps)
    with mpmath.workdps(dps + 10):  # guard digits for the J recursion
        r_ = mpmath.mpf(r)
        sn = mpmath.sqrt(n)

        def Q(x):
            return mpmath.erfc(x / mpmath.sqrt(2)) / 2

        if D == 1:
            pneg = Q(r_ * sn)  # P(u < 0)
            return Q(r_) * (1 - pneg) + (1 - Q(r_)) * pneg
        m = D - 1
        root2pi = mpmath.sqrt(2 * mpmath.pi)

        def J(a):
            # J_0 = sqrt(2 pi) Phi(a), J_1 = exp(-a^2/2) + a J_0, J_k = a J_{k-1} + (k-1) J_{k-2}
            j0 = root2pi * mpmath.ncdf(a)
            if m == 0:
                return j0
            j1 = mpmath.exp(-a * a / 2) + a * j0
            for kk in range(2, m + 1):
                j0, j1 = j1, a * j1 + (kk - 1) * j0
            return j1

        cache: dict = {}

        def density(theta):
            if theta in cache:
                return cache[theta]
            st, ct = mpmath.sin(theta), mpmath.cos(theta)
            if st == 0 and D > 2:
                return mpmath.mpf(0)
            sine_pow = st ** (D - 2) if D > 2 else 1
            val = sine_pow * mpmath.exp(-n * r_ * r_ * st * st / 2) * J(sn * r_ * ct)
            cache[theta] = val
            return val

        pi = +mpmath.pi
        pts = [0, pi / 2, pi]
        if r_ > 0:
            w = 1 / (sn * r_)  # angular width of the posterior around theta = 0
            inner = (c * w for c in (1, 4, 16) if c * w < pi / 2)
            pts = sorted({mpmath.mpf(0), *inner, pi / 2, pi})
        norm = mpmath.quad(density, pts)
        eps = mpmath.quad(lambda th: Q(r_ * mpmath.cos(th)) * density(th), pts) / norm
    with mpmath.workdps(dps):
        return +eps
