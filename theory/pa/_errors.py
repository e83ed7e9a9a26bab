"""Known prompt, unknown head: test errors of oracle and mean-difference heads (§8).

Oracle head ``Q(a ||w*|| / (sigma b))`` and its two reference values; the exact finite-``n``
error of the debiased mean-difference head as a two-dimensional integral over
``(g_1, chi^2_dof)``, evaluated either by mpmath (nested tanh-sinh quadrature, high
precision: the reference) or by a tensor Gauss rule (Gauss-Hermite in ``g_1``, generalised
Gauss-Laguerre in ``chi^2``: fast); and the proportional limit.
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np

from theory.core import gaussian_tail
from theory.core._validate import check_choice, check_int, check_real
from theory.pa._attention import attention_stats_noiseless
from theory.pa._steps import _common_iv

__all__ = [
    "mean_difference_conditional_error",
    "mean_difference_error",
    "mean_difference_limit_error",
    "mean_difference_limit_error_deterministic",
    "oracle_error_noiseless",
    "oracle_error_perfect",
    "oracle_error_uniform",
    "oracle_pa_error",
]


def oracle_pa_error(a: float, b: float, *, w_norm: float, sigma: float) -> float:
    """Oracle-head error ``Q(a ||w*|| / (sigma b))`` for given attention statistics.

    Parameters
    ----------
    a : float
        Relevant attention mass in ``[0, 1]``.
    b : float
        Attention spread ``||s||_2`` in ``(0, 1]``.
    w_norm, sigma : float
        ``||w*|| >= 0``, ``sigma > 0``.

    Returns
    -------
    float
        Conditional error of ``sign <w*, x_bar>`` given ``(a, b)``.

    Notes
    -----
    prompt_attention.md §8.1-8.2 [MATH] (⊥, ``mu_irr`` in ``span{u}``); average over the
    law of ``(a, b)`` for ``error(Gamma)``.
    """
    a = check_real("a", a, low=0.0, high=1.0)
    b = check_real("b", b, low=0.0, low_open=True, high=1.0)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    return gaussian_tail(a * w_norm / (sigma * b))


def oracle_error_uniform(zeta: float, T: int, *, w_norm: float, sigma: float) -> float:
    """Uniform pooling (``Gamma = 0``): ``Q(zeta sqrt(T) ||w*|| / sigma)``.

    Notes
    -----
    prompt_attention.md §8.2 [MATH]; right end of the ordering chain of §8.5.

    Examples
    --------
    >>> round(oracle_error_uniform(0.25, 16, w_norm=1.0, sigma=1.0), 6)  # Q(1)
    0.158655
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    return gaussian_tail(zeta * math.sqrt(T) * w_norm / sigma)


def oracle_error_perfect(zeta: float, T: int, *, w_norm: float, sigma: float) -> float:
    """Perfect selection / R known: ``Q(sqrt(zeta T) ||w*|| / sigma)``.

    Notes
    -----
    prompt_attention.md §8.2 and §8.5 [MATH]; left end of the ordering chain.
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    return gaussian_tail(math.sqrt(zeta * T) * w_norm / sigma)


def oracle_error_noiseless(gamma: float, *, zeta: float, T: int, q_norm: float,
                           w_norm: float, sigma: float) -> float:
    """Variant B oracle error at prompt ``Gamma u``: deterministic ``(a, b)`` of §7 item 2.

    Notes
    -----
    prompt_attention.md §7 item 2 and §8.2 [MATH], ``c = Gamma ||q*||`` (``mu_irr`` ⟂ u).
    """
    gamma = check_real("gamma", gamma, low=0.0)
    q_norm = check_real("q_norm", q_norm, low=0.0)
    a, b = attention_stats_noiseless(zeta, gamma * q_norm, T)
    return oracle_pa_error(a, b, w_norm=w_norm, sigma=sigma)


# ------------------------------------------------------------------ quadrature rules
#
# The integrand depends on (g_1, chi^2) only through the angle of the vector
# v = (R + g_1, sqrt(chi^2)): with k = dof, v is the norm-and-first-coordinate summary of a
# N(R e_1, I_{k+1}) vector, and t = cos(v, e_1) has the density
#   f(t) = C_k (1 - t^2)^{(k-2)/2} exp(-R^2 (1 - t^2)/2) I_k(R t),
#   I_k(z) = int_0^inf r^k exp(-(r - z)^2 / 2) dr = Gamma(k+1) e^{-z^2/4} D_{-k-1}(-z),
#   C_k = 2 / (sqrt(2 pi) 2^{k/2} Gamma(k/2)),
# so that error = int_{-1}^{1} Q(r_test t) f(t) dt (polar coordinates in the (g_1, chi)
# plane, radius integrated out).  This removes the near-discontinuity of the integrand at
# R + g_1 = 0 for small chi^2 that limits a tensor rule in (g_1, chi^2).


@functools.cache
def _hermite_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """``E[h(g)]``, ``g ~ N(0, 1)``: Golub-Welsch for the probabilists' Hermite weight."""
    k = np.arange(1, n_nodes, dtype=np.float64)
    x, vec = np.linalg.eigh(np.diag(np.sqrt(k), 1) + np.diag(np.sqrt(k), -1))
    w = vec[0, :] ** 2
    return x, w / w.sum()


@functools.cache
def _chi2_rule(n_nodes: int, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ``E[h(X)]``, ``X ~ chi^2_dof``.

    Golub-Welsch for the weight ``t^alpha e^{-t}`` (generalised Laguerre,
    ``alpha = dof/2 - 1``), nodes ``X = 2 t``.
    """
    alpha = dof / 2.0 - 1.0
    i = np.arange(n_nodes, dtype=np.float64)
    diag = 2.0 * i + alpha + 1.0
    off = np.sqrt(i[1:] * (i[1:] + alpha))
    t, vec = np.linalg.eigh(np.diag(diag) + np.diag(off, 1) + np.diag(off, -1))
    w = vec[0, :] ** 2
    return 2.0 * t, w / w.sum()


@functools.cache
def _gegenbauer_rule(n_nodes: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ``int_{-1}^1 h(t) (1 - t^2)^a dt`` up to a constant factor.

    Golub-Welsch; monic recurrence ``beta_n = n (n + 2a) / (4 (n + a + 1/2)(n + a - 1/2))``.
    """
    n = np.arange(1, n_nodes, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = n * (n + 2 * a) / (4.0 * (n + a + 0.5) * (n + a - 0.5))
    if abs(a + 0.5) < 1e-14:  # Chebyshev (first kind): the n = 1 term is the limit 1/2
        beta[0] = 0.5
    off = np.sqrt(beta)
    t, vec = np.linalg.eigh(np.diag(off, 1) + np.diag(off, -1))
    return t, vec[0, :] ** 2


@functools.cache
def _legendre_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n_nodes)


def _log_radial(z: np.ndarray, k: float, n_nodes: int) -> np.ndarray:
    """``log I_k(z)`` for an array ``z``.

    Gauss-Legendre on a window around the peak ``r* = (z + sqrt(z^2 + 4k))/2`` of the
    log-concave integrand ``r^k e^{-(r-z)^2/2}``.
    """
    x, w = _legendre_rule(n_nodes)
    peak = 0.5 * (z + np.sqrt(z * z + 4.0 * k))
    lo = np.maximum(0.0, peak - 14.0)
    hi = peak + 14.0
    half = 0.5 * (hi - lo)
    r = lo[:, None] + half[:, None] * (x[None, :] + 1.0)
    with np.errstate(divide="ignore"):
        logf = k * np.log(r) - 0.5 * (r - z[:, None]) ** 2
    top = np.max(logf, axis=1)
    return top + np.log(half * (np.exp(logf - top[:, None]) @ w))


def _erfc_vec(x: np.ndarray) -> np.ndarray:
    # numpy has no erfc and scipy is not allowed in theory/: math.erfc elementwise
    return np.fromiter((math.erfc(v) for v in x.ravel()), np.float64, x.size).reshape(x.shape)


def _md_gauss(r_test: float, r_train: float, dof: float, nodes: tuple[int, int]) -> float:
    # Split the endpoint factor (1 - t^2)^a, a = (k - 2)/2: its fractional part (or all
    # of it when -1 < a < 0) is the Gegenbauer weight of the rule, the integer part stays
    # in the integrand, so that a large dof does not pull the nodes towards t = 0.
    a = (dof - 2.0) / 2.0
    a_frac = a if a < 0 else a - math.floor(a)
    t, wt = _gegenbauer_rule(nodes[0], a_frac)
    R = r_train
    logf = -0.5 * R * R * (1.0 - t * t) + _log_radial(R * t, dof, nodes[1])
    logf += (a - a_frac) * np.log1p(-t * t)
    dens = wt * np.exp(logf - logf.max())
    q = 0.5 * _erfc_vec(r_test * t / math.sqrt(2.0))
    return float(q @ dens / dens.sum())


def _md_tensor(r_test: float, r_train: float, dof: float, nodes: tuple[int, int]) -> float:
    g, wg = _hermite_rule(nodes[0])
    x, wx = _chi2_rule(nodes[1], dof)
    h = r_train + g[:, None]
    arg = r_test * h / np.sqrt(h * h + x[None, :])
    return float(wg @ (0.5 * _erfc_vec(arg / math.sqrt(2.0))) @ wx)


def _md_mpmath(r_test: float, r_train: float, dof: float, dps: int) -> float:
    with mpmath.workdps(dps):
        rt, R, k = mpmath.mpf(r_test), mpmath.mpf(r_train), mpmath.mpf(dof)
        log_c = (mpmath.log(2) - mpmath.log(2 * mpmath.pi) / 2 - k / 2 * mpmath.log(2)
                 - mpmath.loggamma(k / 2) + mpmath.loggamma(k + 1) - R * R / 2)
        sqrt2 = mpmath.sqrt(2)

        def integrand(t: mpmath.mpf) -> mpmath.mpf:
            one_m = (1 - t) * (1 + t)
            if one_m <= 0:
                return mpmath.mpf(0)
            dens = mpmath.exp(log_c + (k - 2) / 2 * mpmath.log(one_m) + R * R * t * t / 4)
            dens *= mpmath.pcfd(-k - 1, -R * t)
            return mpmath.erfc(rt * t / sqrt2) / 2 * dens

        centre = R / mpmath.sqrt(R * R + k) if R != 0 else mpmath.mpf(0)
        pts = sorted({mpmath.mpf(-1), mpmath.mpf(0), centre, mpmath.mpf(1)})
        return float(mpmath.quad(integrand, pts))


def _md_mpmath2d(r_test: float, r_train: float, dof: float, dps: int) -> float:
    with mpmath.workdps(dps):
        rt, R, k = mpmath.mpf(r_test), mpmath.mpf(r_train), mpmath.mpf(dof)
        log_norm = -k / 2 * mpmath.log(2) - mpmath.loggamma(k / 2)
        inv_sqrt2pi = 1 / mpmath.sqrt(2 * mpmath.pi)
        sqrt2 = mpmath.sqrt(2)

        def outer(x: mpmath.mpf) -> mpmath.mpf:
            if x <= 0:
                return mpmath.mpf(0)

            def f(g: mpmath.mpf) -> mpmath.mpf:
                h = R + g
                return mpmath.erfc(rt * h / mpmath.sqrt(h * h + x) / sqrt2) / 2 * mpmath.exp(
                    -g * g / 2)

            dens = mpmath.exp(log_norm + (k / 2 - 1) * mpmath.log(x) - x / 2)
            return dens * mpmath.quad(f, [-mpmath.inf, -R, mpmath.inf]) * inv_sqrt2pi

        mode = max(k - 2, mpmath.mpf(0))
        pts = sorted({mpmath.mpf(0), mode, mode + 4 * mpmath.sqrt(2 * k)})
        return float(mpmath.quad(outer, [*pts, mpmath.inf]))


_METHODS = ("gauss", "polar", "tensor", "mpmath", "mpmath2d")
# Above this |R| the polar density is squeezed against t = +-1 (width ~ dof / R^2) and the
# tensor rule is the accurate one (R + g_1 = 0 then has probability < 1e-23).
_POLAR_MAX_R = 10.0


def _md_iv(r_test: float, r_train: float, dof: float, method: str, nodes: tuple[int, int],
           dps: int) -> tuple[float, float, float]:
    r_test = check_real("r_test", r_test, low=0.0)
    r_train = check_real("r_train", r_train)
    dof = check_real("dof", dof, low=0.0, low_open=True)
    check_choice("method", method, _METHODS)
    if not isinstance(nodes, tuple) or len(nodes) != 2:
        raise ValueError(f"nodes must be a pair of integers in [8, 2000], got {nodes!r}")
    for i, k in enumerate(nodes):
        check_int(f"nodes[{i}]", k, low=8, high=2000)
    check_int("dps", dps, low=15)
    return r_test, r_train, dof


def mean_difference_conditional_error(r_test: float, r_train: float, dof: float, *,
                                      method: str = "gauss",
                                      nodes: tuple[int, int] = (200, 80),
                                      dps: int = 20) -> float:
    """``E[Q(r_test (R + g_1) / sqrt((R + g_1)^2 + chi^2_dof))]``, ``R = r_train``.

    Parameters
    ----------
    r_test : float
        Test SNR ``a ||w*|| / (sigma b)`` of the test point's attention statistics, ``>= 0``.
    r_train : float
        Training SNR ``R = a_bar ||w*|| / (sigma B)`` of the fitted head (any real).
    dof : float
        Degrees of freedom of the chi-square (``d - 2`` in the spec; its mutation uses
        ``d - 1``), ``> 0``.
    method : {"gauss", "polar", "tensor", "mpmath", "mpmath2d"}, default "gauss"
        ``"polar"``: float64, polar form (Gauss-Gegenbauer in ``t = cos``, Gauss-Legendre
        in the radius); ~1e-13 accurate for ``dof >= 1`` and ``|R| <= 10``.
        ``"tensor"``: float64 tensor rule, Gauss-Hermite in ``g_1`` times generalised
        Gauss-Laguerre in ``chi^2`` (the direct form); accurate to ~1e-15 for ``|R| > 10``
        but only ~1e-8 at small ``R`` and ``dof``, where the integrand is nearly
        discontinuous at ``R + g_1 = 0`` for small ``chi^2``.  ``"gauss"``: ``"polar"`` if
        ``|R| <= 10``, else ``"tensor"``.  ``"mpmath"``: polar form at ``dps`` digits with
        the radius integrated in closed form (parabolic cylinder function), the
        high-precision reference (seconds; minutes when ``dof`` and ``R`` are both large).
        ``"mpmath2d"``: the 2-D integral by nested mpmath quadrature (minutes).
    nodes : (int, int), default (200, 80)
        Node counts (``t`` and radius for ``"gauss"``; ``g_1`` and ``chi^2`` for
        ``"tensor"``).
    dps : int, default 20
        Working precision of the mpmath methods.

    Returns
    -------
    float

    Notes
    -----
    prompt_attention.md §8.3 [MATH]: with ``w_hat = a_bar w* + sigma B g``,
    ``a <w_hat, w*> / (sigma b ||w_hat||) = r_test (R + g_1) / sqrt((R + g_1)^2 +
    chi^2_{d-2})`` after dividing by ``sigma B ||w*||``; ``g_1 ~ N(0, 1)`` and
    ``chi^2`` independent.  Variant A: average this over the training and test laws of
    ``(a, b)``.  Polar form: ``t = cos`` of ``(R + g_1, chi)`` has density
    ``C_k (1 - t^2)^{(k-2)/2} e^{-R^2/2} Gamma(k+1) e^{R^2 t^2/4} D_{-k-1}(-R t)``,
    ``C_k = 2 / (sqrt(2 pi) 2^{k/2} Gamma(k/2))`` ([MATH], derived in this module).
    """
    r_test, r_train, dof = _md_iv(r_test, r_train, dof, method, nodes, dps)
    if method == "polar" or (method == "gauss" and abs(r_train) <= _POLAR_MAX_R):
        return _md_gauss(r_test, r_train, dof, nodes)
    if method in ("tensor", "gauss"):
        return _md_tensor(r_test, r_train, dof, nodes)
    if method == "mpmath":
        return _md_mpmath(r_test, r_train, dof, dps)
    return _md_mpmath2d(r_test, r_train, dof, dps)


def mean_difference_error(r: float, n: int, dof: float, *, method: str = "gauss",
                          nodes: tuple[int, int] = (200, 80), dps: int = 20) -> float:
    """Exact finite-``n`` test error of the debiased mean-difference head, Variant B.

    Parameters
    ----------
    r : float
        ``a ||w*|| / (sigma b)``, ``>= 0`` (deterministic ``(a, b)``).
    n : int
        Training split size ``>= 1``.
    dof : float
        ``d - 2`` (``d - 1`` is the C9 mutation).
    method, nodes, dps
        As in :func:`mean_difference_conditional_error`.

    Returns
    -------
    float
        ``E[Q(r (r + g_1/sqrt(n)) / sqrt((r + g_1/sqrt(n))^2 + chi^2_dof / n))]``.

    Notes
    -----
    prompt_attention.md §8.3 [MATH], equal to
    :func:`mean_difference_conditional_error` with ``r_test = r``, ``r_train = r sqrt(n)``.

    Examples
    --------
    >>> e1 = mean_difference_error(1.0, 5, 4)
    >>> e2 = mean_difference_error(1.0, 5, 4, method="mpmath")
    >>> abs(e1 - e2) < 1e-8, round(e1, 4)
    (True, 0.2423)
    """
    n = check_int("n", n, low=1)
    r = check_real("r", r, low=0.0)
    return mean_difference_conditional_error(r, r * math.sqrt(n), dof, method=method,
                                             nodes=nodes, dps=dps)


def mean_difference_limit_error(a: float, b: float, *, mean_a: float, mean_b2: float,
                                w_norm: float, sigma: float, psi: float) -> float:
    """Proportional-limit error of the mean-difference head at a test point ``(a, b)``.

    Parameters
    ----------
    a, b : float
        Test point's attention statistics.
    mean_a, mean_b2 : float
        ``E[a]`` and ``E[b^2]`` over the training law.
    w_norm, sigma : float
    psi : float
        ``d / n >= 0``.

    Returns
    -------
    float
        ``Q(a E[a] ||w*||^2 / (sigma b sqrt(E[a]^2 ||w*||^2 + sigma^2 E[b^2] psi)))``; the
        error is its average over the test law of ``(a, b)``.

    Notes
    -----
    prompt_attention.md §8.3 [MATH, limit d, n -> inf with d/n -> psi].
    """
    a = check_real("a", a, low=0.0, high=1.0)
    b = check_real("b", b, low=0.0, low_open=True, high=1.0)
    mean_a = check_real("mean_a", mean_a, low=0.0, high=1.0)
    mean_b2 = check_real("mean_b2", mean_b2, low=0.0, low_open=True, high=1.0)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    psi = check_real("psi", psi, low=0.0)
    den = sigma * b * math.sqrt(mean_a**2 * w_norm**2 + sigma**2 * mean_b2 * psi)
    if den == 0.0:
        return 0.5
    return gaussian_tail(a * mean_a * w_norm**2 / den)


def mean_difference_limit_error_deterministic(r: float, psi: float) -> float:
    """Proportional limit for deterministic ``(a, b)``: ``Q(r^2 / sqrt(r^2 + psi))``.

    Notes
    -----
    prompt_attention.md §8.3-8.4 [MATH]: :func:`mean_difference_limit_error` with
    ``E[a] = a``, ``E[b^2] = b^2``, ``r = a ||w*|| / (sigma b)``.  It is also the
    ``n -> inf``, ``dof / n -> psi`` limit of :func:`mean_difference_error`.
    """
    r = check_real("r", r, low=0.0)
    psi = check_real("psi", psi, low=0.0)
    if r == 0.0:
        return 0.5
    return gaussian_tail(r * r / math.sqrt(r * r + psi))
