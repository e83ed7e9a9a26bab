"""Heads fitted on attention outputs ``xbar(q) = X^T S(X q)`` (prompt_attention.md §8).

* mean difference ``P_perp (1/n) sum_i y_i xbar_i`` (one correlation-loss GD step, debiased);
* least squares (minimum-norm, no intercept) and ridge
  ``w = (F^T F / n + lam I)^{-1} F^T y / n`` on the features ``F`` (optionally ``x P_perp``);
* the exact conditional error of a head in Variant B, and a test-set error estimator for any
  variant (through the exact span simulation of §11).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from numerics.core import as_seed_sequence
from numerics.core._validate import check_array, check_int, check_real, check_vector
from numerics.pa._models import _pa_core, _pa_grads_batch
from numerics.pa._sampler import _draw_sequence, _mixture_iv, run_chunks
from numerics.pa._span import span_statistics

__all__ = [
    "attention_outputs",
    "conditional_error_variant_b",
    "least_squares_head",
    "mean_difference_fits",
    "mean_difference_head",
    "noiseless_attention_stats",
    "oracle_error_from_stats",
    "pa_test_error",
    "ridge_head",
]


@njit(cache=True, error_model="numpy")
def _gauss_tail(x):
    """``Q(x) = P(N(0,1) > x) = erfc(x / sqrt 2) / 2``."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


@njit(cache=True, error_model="numpy")
def _two_sided_tail(hi, lo, out):
    """``out[i] = (Q(hi[i]) + Q(lo[i])) / 2``."""
    for i in range(hi.shape[0]):
        out[i] = 0.5 * (_gauss_tail(hi[i]) + _gauss_tail(lo[i]))


def _xbar_iv(X, q, temperature):
    X = check_array("X", X, ndim=3)
    if min(X.shape) < 1:
        raise ValueError(f"X must have n, T, d >= 1, got shape {X.shape}")
    q = check_vector("q", q, dim=X.shape[2])
    tau = check_real("temperature", temperature, low=0.0, low_open=True)
    return X, q, tau


def attention_outputs(X, q, *, temperature=1.0):
    """Attention outputs ``xbar_i = X_i^T S(tau X_i q)`` of a batch.

    Parameters
    ----------
    X : array_like, shape (n, T, d)
    q : array_like, shape (d,)
    temperature : float, optional

    Returns
    -------
    ndarray, shape (n, d)

    Notes
    -----
    prompt_attention.md §2 (``xbar(q)``) [MATH]; ``xbar(0)`` is the token mean.  Every model
    of §4 is linear in its head, so its pooled output is ``grad_w f``: use
    ``lin_grads(X, q, w)[2]`` (``c X^T X q``) or ``sa_grads(X, W, w)[2]`` (``X^T Pi^T r``) as
    features for heads on LIN or SA outputs.
    """
    X, q, tau = _xbar_iv(X, q, temperature)
    n, _, d = X.shape
    f = np.empty(n)
    gq = np.empty((n, d))
    out = np.empty((n, d))
    _pa_grads_batch(X, q, np.zeros(d), tau, f, gq, out)  # grad_w f = X^T s = xbar
    return out


def _features_iv(features, y, u):
    F = check_array("features", features, ndim=2)
    n, d = F.shape
    if n < 1 or d < 1:
        raise ValueError(f"features must have n >= 1 rows and d >= 1 columns, got {F.shape}")
    y = check_vector("y", y, dim=n)
    if u is not None:
        u = check_vector("u", u, dim=d)
        nu = float(np.linalg.norm(u))
        if nu == 0.0:
            raise ValueError("u must be a non-zero vector, got |u| = 0")
        u = u / nu
        F = F - np.outer(F @ u, u)
    return F, y, u


def mean_difference_head(features, y, *, u=None):
    """Mean-difference head ``(1/n) sum_i y_i x_i``, debiased by ``P_perp`` if ``u`` is given.

    Parameters
    ----------
    features : array_like, shape (n, d)
        Attention outputs ``xbar_i``.
    y : array_like, shape (n,)
        Labels.
    u : array_like, shape (d,), optional
        Direction to project out (``q*/|q*|``); normalised here.

    Returns
    -------
    ndarray, shape (d,)

    Notes
    -----
    prompt_attention.md §8.3 [MATH]: one correlation-loss gradient step on the head, debiased.
    """
    F, y, _ = _features_iv(features, y, u)
    return F.T @ y / F.shape[0]


def least_squares_head(features, y, *, u=None):
    """Least-squares head (no intercept, minimum norm): ``argmin |F w - y|^2``.

    Parameters
    ----------
    features : array_like, shape (n, d)
    y : array_like, shape (n,)
    u : array_like, shape (d,), optional
        If given, features are replaced by ``x P_perp`` (the head then lies in ``u^perp``).

    Returns
    -------
    ndarray, shape (d,)

    Notes
    -----
    prompt_attention.md §8.4 [MATH] (limit ``lam -> 0`` of the ridge head).
    """
    F, y, _ = _features_iv(features, y, u)
    w, *_ = np.linalg.lstsq(F, y, rcond=None)
    return w


def ridge_head(features, y, lam, *, u=None):
    """Ridge head ``(F^T F / n + lam I)^{-1} F^T y / n``.

    Parameters
    ----------
    features : array_like, shape (n, d)
    y : array_like, shape (n,)
    lam : float
        Penalty ``> 0`` in the normalisation of the spec.
    u : array_like, shape (d,), optional
        If given, features are replaced by ``x P_perp``.

    Returns
    -------
    ndarray, shape (d,)

    Notes
    -----
    prompt_attention.md §8.4 [MATH]; with features rescaled to unit noise ``sigma'`` the
    penalty maps to ``lam / sigma'^2``.
    """
    F, y, _ = _features_iv(features, y, u)
    lam = check_real("lam", lam, low=0.0, low_open=True)
    n, d = F.shape
    A = F.T @ F / n + lam * np.eye(d)
    return np.linalg.solve(A, F.T @ y / n)


@njit(cache=True, error_model="numpy")
def _tail_moments(a, b, scale, out):
    """``out = [sum Q(scale a/b), sum Q(scale a/b)^2]`` over all entries."""
    s1 = 0.0
    s2 = 0.0
    for i in range(a.shape[0]):
        v = _gauss_tail(scale * a[i] / b[i])
        s1 += v
        s2 += v * v
    out[0] = s1
    out[1] = s2


def _oracle_iv(a, b, w_star_norm, sigma):
    a = check_array("a", a)
    b = check_array("b", b, shape=a.shape)
    if a.size < 2:
        raise ValueError(f"a must hold at least 2 draws, got {a.size}")
    if np.any(a < 0) or np.any(a > 1):
        raise ValueError("a must lie in [0, 1] (a relevant attention mass)")
    if np.any(b <= 0) or np.any(b > 1):
        raise ValueError("b must lie in (0, 1] (the norm of a probability vector)")
    w_star_norm = check_real("w_star_norm", w_star_norm)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    return a.ravel(), b.ravel(), w_star_norm, sigma


def oracle_error_from_stats(a, b, *, w_star_norm, sigma=1.0):
    """Monte Carlo estimate of ``E_{a,b}[Q(a |w*| / (sigma b))]`` from simulated ``(a, b)``.

    Parameters
    ----------
    a, b : array_like, same shape
        Draws of the attention statistics (e.g. one column of :func:`span_statistics`).
    w_star_norm : float
        ``|w*|`` for the oracle head; for any head ``w`` in ``u^perp`` pass the effective
        signal ``<w, w*> / |w|`` (may be negative).
    sigma : float, optional
        Token noise ``> 0``.

    Returns
    -------
    mean : float
        The average of ``Q(a |w*| / (sigma b))``.
    se : float
        Its standard error (sample standard deviation / sqrt(n)).

    Notes
    -----
    prompt_attention.md §8.2 oracle-head error [MATH] (under the structure lemma §8.1, ⊥ and
    ``mu_irr`` in span{u}); ``(a, b)`` follow the law of §7.

    Examples
    --------
    >>> m, se = oracle_error_from_stats([0.2, 0.2], [0.5, 0.5], w_star_norm=0.0)
    >>> m, se
    (0.5, 0.0)
    """
    a, b, r, sigma = _oracle_iv(a, b, w_star_norm, sigma)
    out = np.empty(2)
    _tail_moments(np.ascontiguousarray(a), np.ascontiguousarray(b), r / sigma, out)
    n = a.shape[0]
    mean = out[0] / n
    var = max(out[1] / n - mean * mean, 0.0) * n / (n - 1)
    return float(mean), math.sqrt(var / n)


def _noiseless_iv(T, K, c):
    T = check_int("T", T, low=1)
    K = check_int("K", K, low=1, high=T)
    c = check_real("c", c)
    return T, K, c


def noiseless_attention_stats(T, K, c):
    """Exact ``(a, b)`` when relevant scores exceed irrelevant ones by ``c`` (Variant B).

    Parameters
    ----------
    T : int
        Tokens, ``T >= 1``.
    K : int
        Relevant tokens in ``[1, T]``.
    c : float
        Score gap ``Gamma <q* - mu_irr, u>``.

    Returns
    -------
    a, b : float
        ``a = K e^c / (K e^c + T - K)``, ``b = sqrt(K e^{2c} + T - K) / (K e^c + T - K)``,
        evaluated with the larger exponent factored out.

    Notes
    -----
    prompt_attention.md §7 item 2 [MATH] (with ``zeta = K/T``).

    Examples
    --------
    >>> [round(v, 12) for v in noiseless_attention_stats(10, 3, 0.0)] == [0.3, round(10**-0.5, 12)]
    True
    """
    T, K, c = _noiseless_iv(T, K, c)
    if c >= 0:
        e = math.exp(-c)  # weights: relevant 1, irrelevant e
        den = K + (T - K) * e
        return K / den, math.sqrt(K + (T - K) * e * e) / den
    e = math.exp(c)  # weights: relevant e, irrelevant 1
    den = K * e + (T - K)
    return K * e / den, math.sqrt(K * e * e + (T - K)) / den


def _conderr_iv(w, w_star, u, a, b, sigma, offset):
    w = check_array("w", w)
    W = check_array("w", np.atleast_2d(w), ndim=2)
    d = W.shape[1]
    w_star = check_vector("w_star", w_star, dim=d)
    u = check_vector("u", u, dim=d)
    nu = float(np.linalg.norm(u))
    if nu == 0.0:
        raise ValueError("u must be a non-zero vector, got |u| = 0")
    a = check_real("a", a, low=0.0, high=1.0)
    b = check_real("b", b, low=0.0, high=1.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    offset = check_real("offset", offset)
    return w.ndim == 2, W, w_star, u / nu, a, b, sigma, offset


def conditional_error_variant_b(w, w_star, u, a, b, sigma, *, offset=0.0):
    """Exact error of the rule ``sign(<P_perp w, xbar> + offset)`` in Variant B.

    Parameters
    ----------
    w : array_like, shape (d,) or (m, d)
        Head(s).
    w_star, u : array_like, shape (d,)
        Label direction (``<w*, u> = 0``) and context direction.
    a, b : float
        Deterministic attention statistics (:func:`noiseless_attention_stats`).
    sigma : float
        Token noise.
    offset : float, optional
        Constant added to the score (0 by default).

    Returns
    -------
    float or ndarray, shape (m,)
        With ``m = a <w, w*>`` and ``s = sigma b |P_perp w|``:
        ``(Q((m + offset)/s) + Q((m - offset)/s)) / 2``, which for ``offset = 0`` is
        ``Q(a <w, w*> / (sigma b |P_perp w|))``; balanced labels.

    Notes
    -----
    prompt_attention.md §8.1 structure lemma and §8.3 [MATH]:
    ``P_perp xbar | y ~ N(a y w*, sigma^2 b^2 P_perp)`` (``mu_irr`` in span{u}).
    """
    two, W, w_star, u, a, b, sigma, offset = _conderr_iv(w, w_star, u, a, b, sigma, offset)
    Wp = W - np.outer(W @ u, u)
    m = a * (Wp @ w_star)
    s = sigma * b * np.linalg.norm(Wp, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = np.where(s > 0, (m + offset) / s, np.where(m + offset > 0, np.inf, -np.inf))
        lo = np.where(s > 0, (m - offset) / s, np.where(m - offset > 0, np.inf, -np.inf))
    err = np.empty(hi.shape[0])
    _two_sided_tail(np.ascontiguousarray(hi), np.ascontiguousarray(lo), err)
    return err if two else float(err[0])


def pa_test_error(
    q,
    w,
    n_test,
    T,
    q_star,
    w_star,
    *,
    zeta,
    intercept=0.0,
    sigma=1.0,
    mu_irr=None,
    variant="A",
    relevant_count="fixed",
    label_prior=0.5,
    distractors=None,
    rng=None,
):
    """Test-set error of the PA classifier ``sign(w^T X^T S(X q) - intercept)``.

    Parameters
    ----------
    q, w : array_like, shape (d,)
        Prompt and head.
    n_test : int
        Number of fresh test sequences (simulated exactly in the span of
        ``u, w*, mu_irr, q, w``; no ``d``-dimensional data are held).
    T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
        Data model, as in :func:`sample_contextual_mixture`.
    intercept : float, optional
        Subtracted from the score (``pa.debias = "intercept"``).
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None, optional
        Seed material; per-chunk streams are spawned from its SeedSequence.

    Returns
    -------
    error : float
        Fraction misclassified (a score of exactly 0 counts as ``-1``).
    se : float
        Its binomial standard error ``sqrt(e (1 - e) / n_test)``.

    Notes
    -----
    prompt_attention.md §8 and §11 [MATH for the estimator; the data model is INFERRED].
    """
    q = np.asarray(q, dtype=np.float64)
    intercept = check_real("intercept", intercept)
    st = span_statistics(
        n_test, T, q_star, w_star, zeta=zeta, prompts=q, heads=w, sigma=sigma, mu_irr=mu_irr,
        variant=variant, relevant_count=relevant_count, label_prior=label_prior,
        distractors=distractors, rng=rng,
    )
    pred = np.where(st.heads[:, 0, 0] - intercept > 0, 1.0, -1.0)
    e = float(np.mean(pred != st.y))
    return e, math.sqrt(e * (1.0 - e) / st.y.shape[0])


@njit(cache=True, error_model="numpy", nogil=True)
def _md_fits_chunk(
    gen, start, stop, T, d, n, q, tau, u, w_star,
    m_plus, m_minus, mu, uu, noise_u, sigma, K, zeta, p, dq, dw,
    dot_out, norm_out,
):
    """For fits ``start:stop``: ``w = P_perp (1/n) sum_i y_i xbar_i(q)``; store ``<w, w*>``, ``|w|``."""
    zero = np.zeros(d)
    X = np.empty((T, d))
    rel = np.empty(T, dtype=np.uint8)
    idx = np.empty(T, dtype=np.int64)
    dy = np.empty(dq.shape[0])
    s = np.empty(T)
    v = np.empty(T)
    g = np.empty(T)
    gq = np.empty(d)
    xb = np.empty(d)
    acc = np.empty(d)
    for f in range(start, stop):
        for j in range(d):
            acc[j] = 0.0
        for _ in range(n):
            y = _draw_sequence(
                gen, X, rel, idx, dy, m_plus, m_minus, mu, uu, noise_u, sigma, K, zeta, p, dq, dw
            )
            _pa_core(X, q, zero, tau, s, v, g, gq, xb)
            for j in range(d):
                acc[j] += y * xb[j]
        proj = 0.0
        for j in range(d):
            acc[j] /= n
            proj += acc[j] * u[j]
        dot = 0.0
        nn = 0.0
        for j in range(d):
            wj = acc[j] - proj * u[j]
            dot += wj * w_star[j]
            nn += wj * wj
        dot_out[f] = dot
        norm_out[f] = math.sqrt(nn)


def _md_fits_iv(n_fits, n, prompt, temperature, rng, d, u):
    n_fits = check_int("n_fits", n_fits, low=1)
    n = check_int("n", n, low=1)
    prompt = check_vector("prompt", prompt, dim=d)
    tau = check_real("temperature", temperature, low=0.0, low_open=True)
    if not np.any(u):
        raise ValueError("q_star must be non-zero (the debiasing direction u = q*/|q*|)")
    return n_fits, n, prompt, tau, as_seed_sequence(rng)


def mean_difference_fits(
    n_fits,
    n,
    T,
    q_star,
    w_star,
    *,
    zeta,
    prompt,
    sigma=1.0,
    mu_irr=None,
    variant="A",
    relevant_count="fixed",
    label_prior=0.5,
    distractors=None,
    temperature=1.0,
    rng=None,
):
    """Many independent debiased mean-difference fits, simulated in the full space.

    Parameters
    ----------
    n_fits : int
        Number of independent training sets (``>= 1``).
    n : int
        Training sequences per fit (``>= 1``).
    T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
        Data model, as in :func:`sample_contextual_mixture` (``q_star`` non-zero).
    prompt : array_like, shape (d,)
        Known prompt ``q`` (e.g. ``Gamma u``).
    temperature : float, optional
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None, optional
        Seed material; per-chunk streams are spawned from its SeedSequence.

    Returns
    -------
    dot : ndarray, shape (n_fits,)
        ``<w_hat, w*>`` with ``w_hat = P_perp (1/n) sum_i y_i xbar_i(q)``.
    norm : ndarray, shape (n_fits,)
        ``|w_hat|``.  In Variant B the conditional error of a fit is
        ``Q(a dot / (sigma b norm))`` (:func:`conditional_error_variant_b`); in Variant A it
        is ``E_{a,b} Q(a dot / (sigma b norm))`` (:func:`oracle_error_from_stats` with
        ``w_star_norm = dot / norm``), by the structure lemma.

    Notes
    -----
    prompt_attention.md §8.3 [MATH] (claim C9): the simulation side of the exact finite-n
    form; every token is drawn in ``d`` dimensions (no span reduction), fits in parallel
    chunks of 64 fits, each with its own spawned Generator, on threads.
    """
    mix = _mixture_iv(
        T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
    )
    n_fits, n, prompt, tau, gen = _md_fits_iv(
        n_fits, n, prompt, temperature, rng, mix.d, mix.u
    )
    dot = np.empty(n_fits)
    norm = np.empty(n_fits)
    shared = (mix.T, mix.d, n, prompt, tau, mix.u, mix.w_star, *mix.kernel_args(), dot, norm)
    run_chunks(_md_fits_chunk, gen, n_fits, 64, shared)
    return dot, norm
