"""Bayes classifier with the relevant set unknown (prompt_attention.md §8.5).

With ``m_y = q* + y w*`` and ``log pi_t^y = <x_t - mu, m_y - mu> / sigma^2``:

* fixed ``|R| = K``:  ``log p(X | y) = c - K |m_y - mu|^2 / (2 sigma^2) + log e_K(pi^y)``;
* binomial relevance: ``log p(X | y) = c + sum_t log(1 - zeta + zeta rho_t^y)`` with
  ``log rho_t^y = log pi_t^y - |m_y - mu|^2 / (2 sigma^2)``,

where ``e_K`` is the elementary symmetric polynomial of degree ``K`` and ``c`` does not depend
on ``y``.  ``log e_K`` is computed by ``E_k <- E_k + pi_t E_{k-1}`` in log space (O(T K)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from numerics.core._validate import check_array, check_int, check_vector
from numerics.pa._sampler import _mixture_iv

__all__ = ["bayes_log_odds", "log_elementary_symmetric"]


@njit(cache=True, error_model="numpy")
def _logaddexp(a, b):
    """``log(exp(a) + exp(b))``, exact at ``-inf``."""
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


@njit(cache=True, error_model="numpy")
def _log_esp(logpi, K, E):
    """``log e_K(exp(logpi))`` using the scratch ``E`` (length >= K + 1)."""
    T = logpi.shape[0]
    E[0] = 0.0
    for k in range(1, K + 1):
        E[k] = -np.inf
    for t in range(T):
        top = t + 1 if t + 1 < K else K
        for k in range(top, 0, -1):
            E[k] = _logaddexp(E[k], logpi[t] + E[k - 1])
    return E[K]


@njit(cache=True, error_model="numpy")
def _bayes_seq(C, dp, dm, mu, sigma, K, zeta, logprior, lp, lm, E):
    """Log posterior odds ``log P(y=+1|X) - log P(y=-1|X)`` of one sequence ``C`` (T x k).

    ``dp = m_+ - mu`` and ``dm = m_- - mu`` in the same coordinates as ``C`` and ``mu``;
    ``K < 0`` selects binomial relevance; ``lp``, ``lm`` (T) and ``E`` (K+1) are scratch.
    """
    T, k = C.shape
    s2 = sigma * sigma
    np2 = 0.0
    nm2 = 0.0
    for j in range(k):
        np2 += dp[j] * dp[j]
        nm2 += dm[j] * dm[j]
    for t in range(T):
        ap = 0.0
        am = 0.0
        for j in range(k):
            c = C[t, j] - mu[j]
            ap += c * dp[j]
            am += c * dm[j]
        lp[t] = ap / s2
        lm[t] = am / s2
    if K >= 0:
        return (
            logprior
            - K * (np2 - nm2) / (2.0 * s2)
            + _log_esp(lp, K, E)
            - _log_esp(lm, K, E)
        )
    l0 = math.log1p(-zeta) if zeta < 1.0 else -np.inf
    lz = math.log(zeta)
    out = logprior
    for t in range(T):
        out += _logaddexp(l0, lz + lp[t] - np2 / (2.0 * s2))
        out -= _logaddexp(l0, lz + lm[t] - nm2 / (2.0 * s2))
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def _bayes_batch(X, dp, dm, mu, sigma, K, zeta, logprior, out):
    """Log posterior odds for every sequence of ``X`` (n, T, k)."""
    n, T, _ = X.shape
    for i in prange(n):
        lp = np.empty(T)
        lm = np.empty(T)
        E = np.empty(max(K, 0) + 1)
        out[i] = _bayes_seq(X[i], dp, dm, mu, sigma, K, zeta, logprior, lp, lm, E)


def _log_esp_iv(log_values, K):
    lv = check_vector("log_values", log_values)
    K = check_int("K", K, low=0, high=lv.shape[0])
    return lv, K


def log_elementary_symmetric(log_values, K):
    """Logarithm of the elementary symmetric polynomial ``e_K`` of ``exp(log_values)``.

    Parameters
    ----------
    log_values : array_like, shape (T,)
        ``log pi_t`` (finite).
    K : int
        Degree in ``[0, T]``.

    Returns
    -------
    float
        ``log sum_{|S| = K} prod_{t in S} pi_t``, by the recursion
        ``E_k^(t) = E_k^(t-1) + pi_t E_{k-1}^(t-1)`` evaluated with log-add-exp (O(T K),
        no overflow).

    Notes
    -----
    prompt_attention.md §8.5 [MATH].

    Examples
    --------
    >>> round(float(np.exp(log_elementary_symmetric(np.log([1.0, 2.0, 3.0]), 2))), 10)
    11.0
    """
    lv, K = _log_esp_iv(log_values, K)
    return float(_log_esp(lv, K, np.empty(K + 1)))


def _bayes_iv(X, q_star, w_star, zeta, sigma, mu_irr, relevant_count, label_prior):
    X = check_array("X", X)
    if X.ndim not in (2, 3):
        raise ValueError(f"X must have shape (T, d) or (n, T, d), got shape {X.shape}")
    T = X.shape[-2]
    mix = _mixture_iv(
        T, q_star, w_star, zeta, sigma, mu_irr, "A", relevant_count, label_prior, None
    )
    if X.shape[-1] != mix.d:
        raise ValueError(f"X must have d = {mix.d} columns (len(q_star)), got shape {X.shape}")
    return X, mix


def _logprior(p):
    if p == 0.0:
        return -np.inf
    if p == 1.0:
        return np.inf
    return math.log(p) - math.log1p(-p)


def bayes_log_odds(
    X, q_star, w_star, *, zeta, sigma=1.0, mu_irr=None, relevant_count="fixed", label_prior=0.5
):
    """Posterior log odds ``log P(y=+1 | X) / P(y=-1 | X)`` with ``R`` unknown.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    q_star, w_star : array_like, shape (d,)
    zeta : float
        Sparsity in (0, 1] (``zeta*T`` an integer when ``relevant_count="fixed"``).
    sigma : float, optional
        Noise level ``> 0``.
    mu_irr : array_like, shape (d,), optional
        Irrelevant mean (default 0).
    relevant_count : {"fixed", "binomial"}, optional
    label_prior : float, optional
        ``P(y = +1)``.

    Returns
    -------
    float or ndarray, shape (n,)
        The Bayes rule is ``sign`` of this value (for isotropic noise, Variant A).

    Notes
    -----
    prompt_attention.md §8.5 [MATH]: O(T K) log-space recursion for fixed ``K``, O(T) product
    for binomial relevance; batch evaluation in parallel over sequences.
    """
    X, mix = _bayes_iv(X, q_star, w_star, zeta, sigma, mu_irr, relevant_count, label_prior)
    Xb = X[None] if X.ndim == 2 else X
    out = np.empty(Xb.shape[0])
    dp = mix.q_star + mix.w_star - mix.mu
    dm = mix.q_star - mix.w_star - mix.mu
    _bayes_batch(Xb, dp, dm, mix.mu, mix.sigma, mix.K, mix.zeta, _logprior(mix.p), out)
    return float(out[0]) if X.ndim == 2 else out
