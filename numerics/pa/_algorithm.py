"""The three-step sample-split gradient algorithm (prompt_attention.md §9).

From ``(q0, w0) = (0, 0)`` and three disjoint splits of size ``n`` (descent steps):

1. ``w1 = -eta  grad_w L_S1(0, 0)``;
2. ``q1 = -gamma grad_q L_S2(0, w1)`` (or rescaled to ``|q1| = prompt_norm_after_step2``);
3. ``w2 = -eta  grad_w L_S3(q1, w1)`` (a fresh gradient, not ``w1`` plus a step);
4. debiasing: "project" ``w_hat = (I - qh qh^T) w2`` with ``qh = q1/|q1|`` (default),
   "intercept" (subtract the mean training output on S3) or "none".

No split is held in memory: each split is drawn chunk by chunk (one spawned Generator per
chunk, chunks on threads) and only the per-chunk gradient sums are kept; S3 is regenerated
from the same SeedSequence for the intercept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from numerics.core import as_seed_sequence
from numerics.core._validate import check_array, check_choice, check_int, check_real, check_vector
from numerics.pa._models import _pa_core
from numerics.pa._sampler import CHUNK, _draw_sequence, _mixture_iv, run_chunks
from numerics.pa._validate import _DEBIAS, _LOSSES

__all__ = ["GradientMoments", "ThreeStepResult", "gradient_moments", "three_step_algorithm"]


@njit(cache=True, error_model="numpy")
def _loss_slope(code, y, f):
    """``d loss / d f`` for correlation (0), squared (1) and logistic (2) losses."""
    if code == 0:
        return -y
    if code == 1:
        return -(y - f)
    z = y * f  # -y / (1 + e^{z}) computed without overflow
    if z > 0:
        e = math.exp(-z)
        return -y * e / (1.0 + e)
    return -y / (1.0 + math.exp(z))


@njit(cache=True, error_model="numpy", nogil=True)
def _split_chunk(
    gen, start, stop, T, d, q, w, tau, loss_code, mode,
    m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw,
):
    """Stream sequences ``start:stop`` of a split from ``gen`` and return a sum.

    The sum is of

    * mode 0: ``-loss'(y, f) grad_w f`` (length d);
    * mode 1: ``-loss'(y, f) grad_q f`` (length d);
    * mode 2: ``f`` (first entry only),

    all at ``(q, w)``.
    """
    X = np.empty((T, d))
    rel = np.empty(T, dtype=np.uint8)
    idx = np.empty(T, dtype=np.int64)
    dy = np.empty(dq.shape[0])
    s = np.empty(T)
    v = np.empty(T)
    g = np.empty(T)
    gq = np.empty(d)
    gw = np.empty(d)
    out = np.zeros(d)
    for _ in range(start, stop):
        y = _draw_sequence(
            gen, X, rel, idx, dy, m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw
        )
        f = _pa_core(X, q, w, tau, s, v, g, gq, gw)
        if mode == 2:
            out[0] += f
            continue
        sl = -_loss_slope(loss_code, y, f)
        if mode == 0:
            for j in range(d):
                out[j] += sl * gw[j]
        else:
            for j in range(d):
                out[j] += sl * gq[j]
    return out


@dataclass(frozen=True)
class ThreeStepResult:
    """Output of :func:`three_step_algorithm`.

    Attributes
    ----------
    w1, q1, w2 : ndarray, shape (d,)
        Head after step 1, prompt after step 2, head after step 3.
    w_hat : ndarray, shape (d,)
        Debiased head (``w2`` itself for "intercept" and "none").
    intercept : float
        Mean training output on S3 for "intercept", else 0.
    cos_w1, cos_w2, cos_w_hat : float
        Cosines with ``w*``.
    cos_q1 : float
        Cosine of ``q1`` with ``q*`` (nan if either is 0).
    loss, debias : str
        Switches in force (``pa.loss``, ``pa.debias``; [INFERRED] reconstruction).
    """

    w1: np.ndarray
    q1: np.ndarray
    w2: np.ndarray
    w_hat: np.ndarray
    intercept: float
    cos_w1: float
    cos_w2: float
    cos_w_hat: float
    cos_q1: float
    loss: str
    debias: str


def _cos(a, b):
    na = float(np.linalg.norm(a))
    nb = float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return float("nan")
    return float(a @ b) / (na * nb)


def _three_step_iv(n, eta, gamma, prompt_norm_after_step2, loss, debias, temperature, rng):
    n = check_int("n", n, low=1)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    gamma = check_real("gamma", gamma, low=0.0, low_open=True)
    if prompt_norm_after_step2 is not None:
        prompt_norm_after_step2 = check_real("prompt_norm_after_step2", prompt_norm_after_step2, low=0.0)
    check_choice("loss", loss, _LOSSES)
    check_choice("debias", debias, _DEBIAS)
    tau = check_real("temperature", temperature, low=0.0, low_open=True)
    return n, eta, gamma, prompt_norm_after_step2, tau, as_seed_sequence(rng)


def three_step_algorithm(
    n,
    T,
    q_star,
    w_star,
    *,
    zeta,
    sigma=1.0,
    mu_irr=None,
    variant="A",
    relevant_count="fixed",
    label_prior=0.5,
    distractors=None,
    loss="correlation",
    eta=1.0,
    gamma=1.0,
    prompt_norm_after_step2=None,
    debias="project",
    temperature=1.0,
    rng=None,
):
    """Run the three-step sample-split gradient algorithm on fresh simulated splits.

    Parameters
    ----------
    n : int
        Size of each of the three splits S1, S2, S3 (``>= 1``).
    T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
        Data model, as in :func:`sample_contextual_mixture`.
    loss : {"correlation", "squared", "logistic"}, optional
        ``pa.loss`` [INFERRED]; all three agree up to scale at ``f = 0``.
    eta, gamma : float, optional
        Step sizes ``> 0`` of the head and prompt steps (``pa.step_sizes``).
    prompt_norm_after_step2 : float, optional
        If given, ``q1`` is rescaled to this norm (``>= 0``) instead of using ``gamma``.
    debias : {"project", "intercept", "none"}, optional
        ``pa.debias`` [INFERRED]; default "project".
    temperature : float, optional
        Score multiplier of the PA model.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None, optional
        Seed material; per-chunk streams are spawned from its SeedSequence.

    Returns
    -------
    ThreeStepResult

    Notes
    -----
    prompt_attention.md §9: algorithm [QUOTED]; loss, step sizes and debiasing [INFERRED]
    (every result is a reconstruction).  Under the correlation loss
    ``w1 = eta mean_S1 y xbar(0)``, ``q1 = gamma mean_S2 y C(X) w1`` and
    ``w2 = eta mean_S3 y X^T S(X q1)`` [MATH].
    """
    n, eta, gamma, pn, tau, gen = _three_step_iv(
        n, eta, gamma, prompt_norm_after_step2, loss, debias, temperature, rng
    )
    mix = _mixture_iv(
        T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
    )
    d, T = mix.d, mix.T
    code = _LOSSES[loss]
    splits = gen.spawn(3)  # S1, S2, S3; each split spawns its chunk streams afresh
    args = mix.kernel_args()

    def grad(split, q, w, mode):
        # a copy of the split's SeedSequence, so that S3 can be regenerated identically
        ss = np.random.SeedSequence(splits[split].entropy, spawn_key=splits[split].spawn_key)
        parts = run_chunks(_split_chunk, ss, n, CHUNK, (T, d, q, w, tau, code, mode, *args))
        return np.sum(np.array(parts), axis=0) / n

    zero = np.zeros(d)
    w1 = eta * grad(0, zero, zero, 0)
    g2 = grad(1, zero, w1, 1)
    if pn is None:
        q1 = gamma * g2
    else:
        ng = float(np.linalg.norm(g2))
        q1 = g2 * (pn / ng) if ng > 0 else np.zeros(d)
    w2 = eta * grad(2, q1, w1, 0)
    intercept = 0.0
    w_hat = w2.copy()
    if debias == "project":
        nq = float(np.linalg.norm(q1))
        if nq > 0:
            qh = q1 / nq
            w_hat = w2 - (qh @ w2) * qh
    elif debias == "intercept":
        intercept = float(grad(2, q1, w2, 2)[0])
    return ThreeStepResult(
        w1=w1,
        q1=q1,
        w2=w2,
        w_hat=w_hat,
        intercept=intercept,
        cos_w1=_cos(w1, mix.w_star),
        cos_w2=_cos(w2, mix.w_star),
        cos_w_hat=_cos(w_hat, mix.w_star),
        cos_q1=_cos(q1, mix.q_star),
        loss=loss,
        debias=debias,
    )


@njit(cache=True, error_model="numpy", nogil=True)
def _moments_chunk(
    gen, start, stop, T, d, q, w, tau, which, E, use_E,
    m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw,
):
    """Welford mean and M2 of ``Y_i = y_i grad f(X_i; q, w)`` over sequences ``start:stop``.

    ``which = 0``: ``grad_w f = X^T s``; ``which = 1``: ``grad_q f``.  With ``use_E`` the
    statistics are of ``E Y`` (``E`` is m x d), otherwise of ``Y`` itself (m = d).
    """
    m = E.shape[0] if use_E else d
    X = np.empty((T, d))
    rel = np.empty(T, dtype=np.uint8)
    idx = np.empty(T, dtype=np.int64)
    dy = np.empty(dq.shape[0])
    s = np.empty(T)
    v = np.empty(T)
    g = np.empty(T)
    gq = np.empty(d)
    gw = np.empty(d)
    z = np.empty(m)
    mean = np.zeros(m)
    m2 = np.zeros(m)
    cnt = 0
    for _ in range(start, stop):
        y = _draw_sequence(
            gen, X, rel, idx, dy, m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw
        )
        _pa_core(X, q, w, tau, s, v, g, gq, gw)
        vec = gw if which == 0 else gq
        if use_E:
            for r in range(m):
                acc = 0.0
                for j in range(d):
                    acc += E[r, j] * vec[j]
                z[r] = y * acc
        else:
            for j in range(d):
                z[j] = y * vec[j]
        cnt += 1
        for r in range(m):
            delta = z[r] - mean[r]
            mean[r] += delta / cnt
            m2[r] += delta * (z[r] - mean[r])
    return mean, m2, cnt


@dataclass(frozen=True)
class GradientMoments:
    """Output of :func:`gradient_moments`.

    Attributes
    ----------
    mean : ndarray, shape (m,)
        Sample mean of the per-sequence vectors.
    var : ndarray, shape (m,)
        Unbiased per-coordinate sample variance.
    n : int
        Number of sequences.
    """

    mean: np.ndarray
    var: np.ndarray
    n: int

    @property
    def se(self) -> np.ndarray:
        """Standard error of each entry of ``mean``."""
        return np.sqrt(self.var / self.n)


def _moments_iv(n, q, w, wrt, directions, temperature, rng, d):
    n = check_int("n", n, low=2)
    q = np.zeros(d) if q is None else check_vector("q", q, dim=d)
    w = check_vector("w", w, dim=d)
    check_choice("wrt", wrt, ("q", "w"))
    E = None if directions is None else check_array("directions", directions, shape=(None, d))
    if E is not None and E.shape[0] < 1:
        raise ValueError("directions must hold at least one row, got 0")
    tau = check_real("temperature", temperature, low=0.0, low_open=True)
    return n, q, w, E, tau, as_seed_sequence(rng)


def gradient_moments(
    n,
    T,
    q_star,
    w_star,
    *,
    zeta,
    w,
    q=None,
    wrt="q",
    directions=None,
    sigma=1.0,
    mu_irr=None,
    variant="A",
    relevant_count="fixed",
    label_prior=0.5,
    distractors=None,
    temperature=1.0,
    rng=None,
):
    """Streaming mean and variance of ``Y = y grad f_PA(X; q, w)`` over fresh sequences.

    Parameters
    ----------
    n : int
        Number of sequences (``>= 2``); none is held in memory.
    T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
        Data model, as in :func:`sample_contextual_mixture`.
    w : array_like, shape (d,)
        Head.
    q : array_like, shape (d,), optional
        Prompt (default 0).
    wrt : {"q", "w"}, optional
        ``Y = y grad_q f`` (at ``q = 0``: ``y C(X) w``) or ``Y = y grad_w f`` (at ``q = 0``:
        ``y xbar(0)``).
    directions : array_like, shape (m, d), optional
        If given, moments of ``directions @ Y`` instead of the ``d`` coordinates.
    temperature : float, optional
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None, optional
        Seed material; per-chunk streams are spawned from its SeedSequence.

    Returns
    -------
    GradientMoments
        Mean, unbiased variance (per chunk Welford, chunks merged in a fixed order) and ``n``.

    Notes
    -----
    Monte Carlo side of prompt_attention.md §6.1-§6.3 [MATH]: ``E[y xbar(0)] = zeta w*``,
    ``E[y C(X)] w``, ``Var(e^T g)`` and ``tr Cov(Y)`` (the sum of ``var``).  The correlation
    loss makes ``-grad L`` the mean of ``Y`` (§9).
    """
    mix = _mixture_iv(
        T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
    )
    n, q, w, E, tau, gen = _moments_iv(n, q, w, wrt, directions, temperature, rng, mix.d)
    d = mix.d
    E_k = np.zeros((1, d)) if E is None else E
    parts = run_chunks(
        _moments_chunk, gen, n, CHUNK,
        (mix.T, d, q, w, tau, 0 if wrt == "w" else 1, E_k, E is not None, *mix.kernel_args()),
    )
    # Chan et al.'s pairwise merge, in chunk order (deterministic).
    mean, m2, cnt = parts[0][0].copy(), parts[0][1].copy(), int(parts[0][2])
    for cm, cm2, nb in parts[1:]:
        nb = int(nb)
        delta = cm - mean
        tot = cnt + nb
        mean += delta * (nb / tot)
        m2 += cm2 + delta * delta * (cnt * nb / tot)
        cnt = tot
    return GradientMoments(mean=mean, var=m2 / (cnt - 1), n=cnt)
