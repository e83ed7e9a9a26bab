"""Attention statistics ``a`` (relevant mass) and ``b`` (spread), prompt_attention.md §7.

Uniform attention, the noiseless (Variant B) closed forms ``a(c)`` and ``T b(c)^2`` derived
from the softmax definition, the concentration threshold ``c = log((1 - zeta)/zeta)``, the
sign of ``da/dc``, and the large-``T`` heuristic ``SNR(Gamma)`` under score noise with its
maximiser (mpmath root finding).
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy as sp

from theory.core._validate import check_int, check_real
from theory.pa._steps import _common_iv

__all__ = [
    "attention_stats_noiseless",
    "attention_stats_noisy_expectations",
    "attention_stats_uniform",
    "noiseless_attention_closed_form",
    "noiseless_attention_from_definition",
    "relevance_threshold",
    "relevance_threshold_sym",
    "relevant_mass_derivative_sym",
    "snr_heuristic",
    "snr_heuristic_maximiser",
    "verify_relevant_mass_increasing",
]

_ZETA = sp.Symbol("zeta", positive=True)
_C = sp.Symbol("c", real=True)


def attention_stats_uniform(zeta: float, T: int) -> tuple[float, float]:
    """``(a, b)`` at ``Gamma = 0``: ``(zeta, 1/sqrt(T))``, exactly.

    Notes
    -----
    prompt_attention.md §7 item 1 [MATH].  Symbolic counterpart:
    :func:`noiseless_attention_from_definition` at ``c = 0``.
    """
    zeta, _, T = _common_iv(zeta, 1.0, T)
    return zeta, 1.0 / math.sqrt(T)


def noiseless_attention_from_definition(T: int, K: int) -> tuple[sp.Expr, sp.Expr]:
    """``a`` and ``T b^2`` computed from the softmax of the noiseless scores.

    Parameters
    ----------
    T : int
        Sequence length (``<= 64``).
    K : int
        Relevant tokens, ``1 <= K <= T``.

    Returns
    -------
    a, Tb2 : sympy.Expr
        In the real symbol ``c``: scores ``c`` on the ``K`` relevant tokens and ``0``
        elsewhere; ``a = sum_{t in R} s_t``, ``T b^2 = T sum_t s_t^2``.

    Notes
    -----
    Generic definition for prompt_attention.md §7 items 1-2 [MATH].
    """
    T = check_int("T", T, low=1, high=64)
    K = check_int("K", K, low=1, high=T)
    scores = [_C] * K + [sp.Integer(0)] * (T - K)
    den = sum(sp.exp(z) for z in scores)
    s = [sp.exp(z) / den for z in scores]
    return sp.together(sum(s[:K])), sp.together(T * sum(si**2 for si in s))


def noiseless_attention_closed_form() -> tuple[sp.Expr, sp.Expr]:
    """Closed forms ``a(c) = zeta e^c / (zeta e^c + 1 - zeta)`` and ``T b(c)^2``.

    Returns
    -------
    a, Tb2 : sympy.Expr
        In the symbols ``zeta`` (positive) and ``c`` (real);
        ``T b^2 = (zeta e^{2c} + 1 - zeta) / (zeta e^c + 1 - zeta)^2``.

    Notes
    -----
    prompt_attention.md §7 item 2 [MATH], ``c = Gamma <q* - mu_irr, u>``.
    """
    e = sp.exp(_C)
    a = _ZETA * e / (_ZETA * e + 1 - _ZETA)
    tb2 = (_ZETA * e**2 + 1 - _ZETA) / (_ZETA * e + 1 - _ZETA) ** 2
    return a, tb2


def relevant_mass_derivative_sym() -> sp.Expr:
    """``da/dc``, factored: ``zeta (1 - zeta) e^c / (zeta e^c + 1 - zeta)^2``.

    Returns
    -------
    sympy.Expr
        Strictly positive for ``0 < zeta < 1``: ``a(c)`` is strictly increasing.

    Notes
    -----
    prompt_attention.md §7 item 2 [MATH] (monotonicity).
    """
    a, _ = noiseless_attention_closed_form()
    return sp.factor(sp.simplify(sp.diff(a, _C)))


def verify_relevant_mass_increasing() -> bool:
    """Decide symbolically that ``da/dc > 0`` for every real ``c`` and ``0 < zeta < 1``.

    Returns
    -------
    bool
        sympy's verdict on the sign of :func:`relevant_mass_derivative_sym` after the
        substitution ``zeta = 1/(1 + rho)``, ``rho > 0`` (which covers exactly
        ``0 < zeta < 1``).

    Notes
    -----
    prompt_attention.md §7 item 2 [MATH]: ``a(c)`` is strictly increasing.

    Examples
    --------
    >>> verify_relevant_mass_increasing()
    True
    """
    rho = sp.Symbol("rho", positive=True)
    expr = sp.factor(sp.simplify(relevant_mass_derivative_sym().subs(_ZETA, 1 / (1 + rho))))
    return bool(expr.is_positive)


@functools.cache
def relevance_threshold_sym() -> sp.Expr:
    """Solve ``a(c) = 1/2`` symbolically: ``c = log((1 - zeta)/zeta)``.

    Notes
    -----
    prompt_attention.md §7 item 2 [MATH]; with :func:`relevant_mass_derivative_sym`,
    ``a > 1/2`` iff ``c`` exceeds this value.
    """
    a, _ = noiseless_attention_closed_form()
    sols = sp.solve(sp.Eq(a, sp.Rational(1, 2)), _C)
    if len(sols) != 1:  # pragma: no cover - sympy regression guard
        raise RuntimeError(f"expected one solution, got {sols}")
    return sp.simplify(sols[0])


def relevance_threshold(zeta: float) -> float:
    """``log((1 - zeta)/zeta)``: noiseless score gap needed for ``a > 1/2``.

    Parameters
    ----------
    zeta : float
        Sparsity in ``(0, 1)``.

    Notes
    -----
    prompt_attention.md §7 item 2 [MATH].

    Examples
    --------
    >>> round(relevance_threshold(0.2), 6)
    1.386294
    """
    zeta = check_real("zeta", zeta, low=0.0, high=1.0, low_open=True, high_open=True)
    return math.log((1.0 - zeta) / zeta)


def attention_stats_noiseless(zeta: float, c: float, T: int) -> tuple[float, float]:
    """Noiseless ``(a(c), b(c))`` in float64 (overflow-safe for any real ``c``).

    Parameters
    ----------
    zeta : float
        Sparsity in ``(0, 1]`` with ``zeta T >= 1``.
    c : float
        Score gap ``Gamma <q* - mu_irr, u>``.
    T : int
        Sequence length.

    Returns
    -------
    a, b : float

    Notes
    -----
    prompt_attention.md §7 item 2 [MATH]; written with ``e^{-|c|}`` so that nothing
    overflows.  ``c -> inf`` gives ``(1, 1/sqrt(zeta T))``.

    Examples
    --------
    >>> a, b = attention_stats_noiseless(0.2, 0.0, 20)
    >>> round(a, 12), round(b * math.sqrt(20), 12)
    (0.2, 1.0)
    """
    zeta, _, T = _common_iv(zeta, 1.0, T)
    if zeta * T < 1.0 - 1e-12:
        raise ValueError(f"zeta * T must be >= 1 (at least one relevant token), "
                         f"got zeta={zeta}, T={T}")
    c = check_real("c", c)
    if c >= 0:
        e = math.exp(-c)  # divide numerator and denominator by e^c (e^{2c} for Tb2)
        a = zeta / (zeta + (1.0 - zeta) * e)
        tb2 = (zeta + (1.0 - zeta) * e * e) / (zeta + (1.0 - zeta) * e) ** 2
    else:
        # grouped as in the c >= 0 branch, so that both give the same number as c -> 0
        e = math.exp(c)
        a = zeta * e / (zeta * e + (1.0 - zeta))
        tb2 = (zeta * e * e + (1.0 - zeta)) / (zeta * e + (1.0 - zeta)) ** 2
    return a, math.sqrt(tb2 / T)


def _snr_iv(zeta: float, q_norm: float, w_norm: float, sigma: float, T: int
            ) -> tuple[float, float, float, float, int]:
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    q_norm = check_real("q_norm", q_norm, low=0.0)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    return zeta, q_norm, w_norm, sigma, T


def snr_heuristic(gamma: float, *, zeta: float, q_norm: float, w_norm: float, sigma: float,
                  T: int) -> float:
    """Large-``T`` oracle SNR under isotropic score noise.

    Parameters
    ----------
    gamma : float
        Prompt norm ``Gamma >= 0`` (``q = Gamma u``).
    zeta, q_norm, w_norm, sigma, T
        Model parameters.

    Returns
    -------
    float
        ``(sqrt(T) ||w*|| / sigma) zeta e^{c - Gamma^2 sigma^2 / 2}
        / sqrt(zeta e^{2c} + 1 - zeta)``, ``c = Gamma ||q*||``.

    Notes
    -----
    prompt_attention.md §7 item 4 [MATH heuristic, large T; not for T = 20 verdicts].  At
    ``Gamma = 0`` it is ``zeta sqrt(T) ||w*|| / sigma``, the uniform-pooling SNR of §8.2.
    """
    zeta, q_norm, w_norm, sigma, T = _snr_iv(zeta, q_norm, w_norm, sigma, T)
    gamma = check_real("gamma", gamma, low=0.0)
    c = gamma * q_norm
    # log form: c - log sqrt(zeta e^{2c} + 1 - zeta) is evaluated without overflow
    log_den = 0.5 * (2 * c + math.log(zeta + (1 - zeta) * math.exp(-2 * c)))
    log_snr = c - gamma**2 * sigma**2 / 2 - log_den
    return math.sqrt(T) * w_norm / sigma * zeta * math.exp(log_snr)


def snr_heuristic_maximiser(*, zeta: float, q_norm: float, sigma: float,
                            dps: int = 30) -> float:
    """Maximiser in ``Gamma`` of :func:`snr_heuristic` (independent of ``T`` and ``||w*||``).

    Parameters
    ----------
    zeta : float
        Sparsity in ``(0, 1]``.
    q_norm : float
        ``||q*|| >= 0``.
    sigma : float
        Noise level ``> 0``.
    dps : int, default 30
        Working precision of the root search.

    Returns
    -------
    float
        The unique root of ``Gamma sigma^2 = ||q*|| (1 - zeta) / (zeta e^{2 Gamma ||q*||}
        + 1 - zeta)`` (the stationarity condition of ``log SNR``), found by bisection-type
        ``mpmath.findroot`` on ``[0, ||q*|| (1 - zeta) / sigma^2]``; ``0`` when ``zeta = 1``
        or ``||q*|| = 0``.

    Notes
    -----
    prompt_attention.md §7 item 4 [MATH for the heuristic].  The left side increases from
    0 and the right side decreases, so the root is unique and is the global maximiser.

    Examples
    --------
    >>> round(snr_heuristic_maximiser(zeta=0.2, q_norm=3.0, sigma=1.0), 6)
    0.499492
    """
    zeta, sigma, _ = _common_iv(zeta, sigma, 1)
    q_norm = check_real("q_norm", q_norm, low=0.0)
    dps = check_int("dps", dps, low=15)
    if zeta == 1.0 or q_norm == 0.0:
        return 0.0
    with mpmath.workdps(dps):
        z, qn, s2 = mpmath.mpf(zeta), mpmath.mpf(q_norm), mpmath.mpf(sigma) ** 2

        def stationarity(g: mpmath.mpf) -> mpmath.mpf:
            return qn * (1 - z) / (z * mpmath.exp(2 * g * qn) + 1 - z) - g * s2

        hi = qn * (1 - z) / s2
        root = mpmath.findroot(stationarity, (mpmath.mpf(0), hi), solver="anderson")
        return float(root)


def attention_stats_noisy_expectations(gamma: float, *, K: int, T: int, q_norm: float,
                                       sigma: float, w_norm: float | None = None,
                                       nodes: int | None = None) -> dict[str, float]:
    """``E[a]``, ``E[b^2]`` (and the oracle error) under isotropic score noise, small ``T``.

    Parameters
    ----------
    gamma : float
        Prompt norm ``Gamma >= 0`` (``q = Gamma u``).
    K, T : int
        Relevant tokens and sequence length, ``1 <= K <= T <= 5``.
    q_norm, sigma : float
        ``||q*|| >= 0`` and ``sigma > 0``.
    w_norm : float, optional
        If given, also return ``"oracle_error" = E[Q(a ||w*|| / (sigma b))]``.
    nodes : int, optional
        Gauss-Hermite nodes per token (default: ``min(60, floor(2e6^(1/T)))``).

    Returns
    -------
    dict
        ``"mean_a"``, ``"mean_b2"`` and optionally ``"oracle_error"``.

    Notes
    -----
    prompt_attention.md §7 item 3 [MATH] (Variant A, ⊥, ``mu_irr = 0``): the scores are
    ``c 1{t in R} + Gamma sigma g_t`` with ``c = Gamma ||q*||`` and ``g_t`` i.i.d.
    ``N(0, 1)``; the expectation is a ``T``-dimensional Gaussian integral, done here by a
    tensor Gauss-Hermite rule (softmax with max-subtraction).  A reference for the Monte
    Carlo samplers at small ``T``; for ``T = 20`` use Monte Carlo.
    """
    gamma = check_real("gamma", gamma, low=0.0)
    T = check_int("T", T, low=1, high=5)  # the tensor rule has nodes**T points
    K = check_int("K", K, low=1, high=T)
    q_norm = check_real("q_norm", q_norm, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    if nodes is None:
        nodes = min(60, int(2e6 ** (1.0 / T)))
    nodes = check_int("nodes", nodes, low=2, high=400)
    if nodes**T > 5_000_000:
        raise ValueError(f"nodes**T must be <= 5e6, got {nodes}**{T}")
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    grids = np.meshgrid(*([x] * T), indexing="ij")
    weight = np.ones([nodes] * T)
    for t in range(T):
        shape = [1] * T
        shape[t] = nodes
        weight = weight * w.reshape(shape)
    scores = np.stack([g.ravel() for g in grids], axis=1) * (gamma * sigma)
    scores[:, :K] += gamma * q_norm
    scores -= scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    s = e / e.sum(axis=1, keepdims=True)
    a = s[:, :K].sum(axis=1)
    b2 = (s * s).sum(axis=1)
    wt = weight.ravel()
    out = {"mean_a": float(wt @ a), "mean_b2": float(wt @ b2)}
    if w_norm is not None:
        w_norm = check_real("w_norm", w_norm, low=0.0)
        arg = a * w_norm / (sigma * np.sqrt(b2)) / math.sqrt(2.0)
        q = 0.5 * np.fromiter((math.erfc(v) for v in arg), np.float64, arg.size)
        out["oracle_error"] = float(wt @ q)
    return out
