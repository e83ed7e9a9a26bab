"""Bayes classifier with the relevant set unknown (prompt_attention.md §8.5, [MATH]).

The likelihood of a sequence sums over the unknown relevant set ``R``; for a uniform
``K``-subset the sum is the elementary symmetric polynomial ``e_K`` of the per-token
likelihood ratios ``pi_t``.  Here: ``e_K`` symbolically (sympy, small ``T``), by its
definition as a sum over ``K``-subsets (mpmath reference), and by the ``O(T K)`` recursion
in log space (pure Python floats, or mpmath at a chosen precision); and the Bayes
log-likelihood ratio.  The compiled twin of the recursion lives in ``numerics``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.polys.specialpolys import symmetric_poly

from theory.core._validate import check_array, check_choice, check_int, check_real, check_vector

__all__ = [
    "bayes_log_likelihood_ratio",
    "elementary_symmetric_sym",
    "log_elementary_symmetric",
    "log_elementary_symmetric_bruteforce",
]


def elementary_symmetric_sym(T: int, K: int) -> tuple[tuple[sp.Symbol, ...], sp.Expr, sp.Expr]:
    """``e_K(pi_1, ..., pi_T)`` as a sum over ``K``-subsets and by ``symmetric_poly``.

    Parameters
    ----------
    T : int
        Number of variables (``<= 12``).
    K : int
        Degree, ``0 <= K <= T``.

    Returns
    -------
    symbols : tuple of sympy.Symbol
        Positive symbols ``pi_0 .. pi_{T-1}``.
    by_subsets : sympy.Expr
        ``sum_{|R| = K} prod_{t in R} pi_t`` (the definition).
    by_sympy : sympy.Expr
        ``sympy.polys.specialpolys.symmetric_poly(K, *symbols)`` (``1`` for ``K = 0``).

    Notes
    -----
    prompt_attention.md §8.5 and §11 [MATH].
    """
    T = check_int("T", T, low=1, high=12)
    K = check_int("K", K, low=0, high=T)
    pis = sp.symbols(f"pi0:{T}", positive=True)
    by_subsets = sp.Add(*(sp.Mul(*c) for c in itertools.combinations(pis, K)))
    by_sympy = sp.Integer(1) if K == 0 else symmetric_poly(K, *pis)
    return pis, by_subsets, by_sympy


def _log_pi_iv(log_pi: Any, K: Any) -> tuple[list[float], int]:
    vals = [float(v) for v in np.asarray(log_pi, dtype=np.float64).ravel()]
    if not vals:
        raise ValueError("log_pi must contain at least one value")
    if any(math.isnan(v) or v == math.inf for v in vals):
        raise ValueError("log_pi must not contain NaN or +inf")
    return vals, check_int("K", K, low=0, high=len(vals))


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a >= b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def log_elementary_symmetric(log_pi: Any, K: int, *, dps: int | None = None) -> float:
    """``log e_K(pi_1, ..., pi_T)`` by the ``O(T K)`` recursion in log space.

    Parameters
    ----------
    log_pi : array_like, shape (T,)
        ``log pi_t`` (``-inf`` allowed, i.e. ``pi_t = 0``).
    K : int
        Degree ``0 <= K <= T``.
    dps : int, optional
        If given (``>= 15``), run the recursion in mpmath at ``dps`` digits (the result is
        still returned as a float).

    Returns
    -------
    float
        ``log e_K``; ``-inf`` if ``e_K = 0``.

    Notes
    -----
    prompt_attention.md §8.5 [MATH]: ``E_k^{(t)} = E_k^{(t-1)} + pi_t E_{k-1}^{(t-1)}``,
    ``E_0 = 1``, each update a log-add-exp (max subtracted), ``k`` descending so that one
    array suffices.

    Examples
    --------
    >>> round(math.exp(log_elementary_symmetric([0.0, math.log(2), math.log(3)], 2)), 10)
    11.0
    """
    vals, K = _log_pi_iv(log_pi, K)
    if dps is not None:
        dps = check_int("dps", dps, low=15)
        with mpmath.workdps(dps):
            E = [mpmath.mpf(0)] + [mpmath.mpf("-inf")] * K
            for t, lp in enumerate(vals):
                lpm = mpmath.mpf(lp)
                for k in range(min(t + 1, K), 0, -1):
                    a, b = E[k], lpm + E[k - 1]
                    if a == -mpmath.inf:
                        E[k] = b
                    elif b != -mpmath.inf:
                        hi, lo = (a, b) if a >= b else (b, a)
                        E[k] = hi + mpmath.log1p(mpmath.exp(lo - hi))
            return float(E[K])
    Ef = [0.0] + [-math.inf] * K
    for t, lp in enumerate(vals):
        for k in range(min(t + 1, K), 0, -1):
            Ef[k] = _logaddexp(Ef[k], lp + Ef[k - 1])
    return Ef[K]


def log_elementary_symmetric_bruteforce(log_pi: Any, K: int, *, dps: int = 30) -> float:
    """``log e_K`` from its definition: a sum over all ``K``-subsets, in mpmath.

    Parameters
    ----------
    log_pi : array_like, shape (T,)
        ``log pi_t``; ``T <= 20``.
    K : int
        Degree ``0 <= K <= T``.
    dps : int, default 30
        Working precision.

    Returns
    -------
    float

    Notes
    -----
    Generic definition for :func:`log_elementary_symmetric` (prompt_attention.md §8.5
    [MATH]); cost ``C(T, K)``.
    """
    vals, K = _log_pi_iv(log_pi, K)
    if len(vals) > 20:
        raise ValueError(f"log_pi must have at most 20 entries, got {len(vals)}")
    dps = check_int("dps", dps, low=15)
    with mpmath.workdps(dps):
        total = mpmath.fsum(mpmath.exp(mpmath.fsum(mpmath.mpf(vals[i]) for i in c))
                            for c in itertools.combinations(range(len(vals)), K))
        return float(mpmath.log(total)) if total > 0 else -math.inf


def bayes_log_likelihood_ratio(X: Any, q_star: Any, w_star: Any, *, sigma: float,
                               zeta: float, mu_irr: Any = None,
                               relevant_count: str = "fixed",
                               label_prior: float = 0.5) -> float:
    """Posterior log-odds ``log P(y=+1 | X) - log P(y=-1 | X)`` with ``R`` unknown.

    Parameters
    ----------
    X : array_like, shape (T, d)
        One sequence.
    q_star, w_star : array_like, shape (d,)
    sigma : float
        Noise level ``> 0``.
    zeta : float
        Sparsity in ``(0, 1]``; ``K = zeta T`` must be an integer for ``"fixed"``.
    mu_irr : array_like, shape (d,), optional
        Irrelevant mean (default 0).
    relevant_count : {"fixed", "binomial"}, default "fixed"
    label_prior : float, default 0.5
        ``P(y = +1)`` (switch ``pa.label_prior`` [INFERRED]).

    Returns
    -------
    float
        The Bayes rule is its sign.

    Notes
    -----
    prompt_attention.md §8.5 [MATH], isotropic noise (Variant A):
    ``log p(X|y) = -K ||m_y - mu||^2 / (2 sigma^2) + log e_K(pi^y) + const`` with
    ``m_y = q* + y w*`` and ``log pi_t^y = <x_t - mu, m_y - mu> / sigma^2``; for
    ``"binomial"``, ``sum_t log(1 - zeta + zeta rho_t^y)`` with
    ``log rho_t^y = log pi_t^y - ||m_y - mu||^2 / (2 sigma^2)``.
    """
    Xa = check_array("X", X, ndim=2)
    T, d = Xa.shape
    q = check_vector("q_star", q_star, dim=d)
    w = check_vector("w_star", w_star, dim=d)
    mu = np.zeros(d) if mu_irr is None else check_vector("mu_irr", mu_irr, dim=d)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    zeta = check_real("zeta", zeta, low=0.0, low_open=True, high=1.0)
    p = check_real("label_prior", label_prior, low=0.0, high=1.0, low_open=True, high_open=True)
    check_choice("relevant_count", relevant_count, ("fixed", "binomial"))
    K = round(zeta * T)
    if relevant_count == "fixed" and abs(zeta * T - K) > 1e-9 * max(1.0, zeta * T):
        raise ValueError(f"zeta * T must be an integer for relevant_count='fixed', "
                         f"got zeta={zeta}, T={T}")
    centred = Xa - mu
    logp = []
    for y in (1.0, -1.0):
        m = q + y * w - mu
        log_pi = centred @ m / sigma**2
        half_norm = float(m @ m) / (2.0 * sigma**2)
        if relevant_count == "fixed":
            logp.append(-K * half_norm + log_elementary_symmetric(log_pi, K))
        else:
            log_rho = log_pi - half_norm
            lz = math.log(zeta)
            l1 = math.log1p(-zeta) if zeta < 1.0 else -math.inf
            logp.append(sum(_logaddexp(l1, lz + float(v)) for v in log_rho))
    return logp[0] - logp[1] + math.log(p) - math.log1p(-p)
