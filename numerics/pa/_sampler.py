"""Samplers of the contextual mixture (prompt_attention.md §3).

One sequence ``X`` (``T x d``) with label ``y``:

* a relevant token (position in ``R``) is ``q* + y w* + sigma z``;
* an irrelevant token is ``mu_irr + sigma z`` (Variant D adds a distractor context
  ``q_j + y_j w_j`` with its own label ``y_j``);
* ``R`` is a uniform ``K``-subset (``K = zeta T``, ``relevant_count="fixed"``) or each position
  is relevant with probability ``zeta`` (``"binomial"``);
* ``P(y = +1) = label_prior``.

Sampling is done in chunks of ``CHUNK`` sequences; chunk ``c`` draws from its own PCG64
Generator, spawned from the caller's ``rng`` through one SeedSequence (Numba compiles NumPy's
ziggurat sampler for it, about five times faster than the legacy ``np.random`` functions in
Numba).  Chunks run on threads (kernels release the GIL, ``numerics.core.map_chunks``), so
the result is bit-for-bit the same whatever the number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from numerics.core import as_seed_sequence, map_chunks
from numerics.core._validate import check_array, check_choice, check_int, check_real, check_vector
from numerics.pa._validate import _COUNTS, _VARIANTS, check_zeta_T, chunk_bounds

__all__ = ["sample_contextual_mixture"]

#: sequences per chunk stream (fixed: the numbers must not depend on the thread count)
CHUNK = 4096


@njit(cache=True, error_model="numpy", inline="always")
def _draw_label_and_set(gen, rel, idx, p, K, zeta):
    """Draw the label (returned) and the relevant set into ``rel`` (``T``, uint8).

    ``K >= 0``: a uniform ``K``-subset by a partial Fisher-Yates shuffle of ``idx``
    (scratch, int64); ``K < 0``: each position independently with probability ``zeta``.
    """
    T = rel.shape[0]
    y = 1.0 if gen.random() < p else -1.0
    for t in range(T):
        rel[t] = 0
    if K >= 0:
        for t in range(T):
            idx[t] = t
        for j in range(K):
            r = j + int(gen.random() * (T - j))
            if r > T - 1:
                r = T - 1
            tmp = idx[j]
            idx[j] = idx[r]
            idx[r] = tmp
            rel[idx[j]] = 1
    else:
        for t in range(T):
            if gen.random() < zeta:
                rel[t] = 1
    return y


@njit(cache=True, error_model="numpy")
def _draw_sequence(gen, X, rel, idx, dy, m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw):
    """Draw one sequence into ``X`` (``T x k``) and ``rel`` (``T``, uint8); return ``y``.

    Works in any orthonormal coordinate system: in the full space ``k = d``; in a span
    (§11) the means are the projected means and ``u`` is the first basis vector.
    ``noise_u = False`` removes the noise component along ``u`` (Variant B).  ``K < 0``
    selects binomial relevance with probability ``zeta``.  ``dq``/``dw`` (``J x k``) are
    Variant-D distractor contexts (``J = 0`` for none); ``idx`` (``T``, int64) and ``dy``
    (``J``) are scratch.  Order of draws: label, relevant set, distractor labels, then per
    token (distractor index, ``k`` normals), all from the chunk's Generator ``gen``.
    """
    T, k = X.shape
    J = dq.shape[0]
    y = _draw_label_and_set(gen, rel, idx, p, K, zeta)
    for j in range(J):
        dy[j] = 1.0 if gen.random() < 0.5 else -1.0
    m_rel = m_plus if y > 0 else m_minus
    if noise_u and J == 0:  # the common case, one pass per token
        for t in range(T):
            m = m_rel if rel[t] == 1 else mu
            for j in range(k):
                X[t, j] = m[j] + sigma * gen.standard_normal()
        return y
    for t in range(T):
        jd = -1
        if rel[t] == 0 and J > 0:
            jd = int(gen.random() * J)
            if jd > J - 1:
                jd = J - 1
        for j in range(k):
            X[t, j] = gen.standard_normal()
        if not noise_u:
            zu = 0.0
            for j in range(k):
                zu += X[t, j] * u[j]
            for j in range(k):
                X[t, j] -= zu * u[j]
        m = m_rel if rel[t] == 1 else mu
        for j in range(k):
            X[t, j] = m[j] + sigma * X[t, j]
        if jd >= 0:
            for j in range(k):
                X[t, j] += dq[jd, j] + dy[jd] * dw[jd, j]
    return y


@njit(cache=True, error_model="numpy", nogil=True)
def _sample_chunk(
    gen, start, stop, X_out, y_out, rel_out,
    m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw,
):
    """Fill rows ``start:stop`` of ``X_out`` (n, T, k), ``y_out`` and ``rel_out`` from ``gen``."""
    T = X_out.shape[1]
    idx = np.empty(T, dtype=np.int64)
    dy = np.empty(dq.shape[0])
    for i in range(start, stop):
        y_out[i] = _draw_sequence(
            gen, X_out[i], rel_out[i], idx, dy, m_plus, m_minus, mu, u, noise_u, sigma, K, zeta,
            p, dq, dw,
        )


def run_chunks(kernel, seqs, n, chunk, shared, bit_generator=np.random.PCG64):
    """Run ``kernel(gen_c, start_c, stop_c, *shared)`` over the chunks of ``n`` items.

    ``seqs`` is a SeedSequence; chunk ``c`` draws from a Generator over ``bit_generator``
    seeded by its ``c``-th spawned child, so results depend on the seed, ``chunk`` and the
    bit generator only, never on the thread count.  Returns the kernel results in chunk order.
    """
    starts, stops = chunk_bounds(n, chunk)
    gens = [np.random.Generator(bit_generator(s)) for s in seqs.spawn(len(starts))]
    return map_chunks(kernel, gens, starts, stops, shared=tuple(shared))


@dataclass(frozen=True)
class _Mixture:
    """Validated parameters of the contextual mixture (full-space vectors)."""

    T: int
    d: int
    zeta: float
    K: int  # -1 for binomial relevance
    sigma: float
    p: float
    variant: str
    q_star: np.ndarray
    w_star: np.ndarray
    mu: np.ndarray
    u: np.ndarray  # zero vector if q_star = 0
    dq: np.ndarray  # (J, d)
    dw: np.ndarray  # (J, d)

    @property
    def noise_u(self) -> bool:
        return self.variant != "B"

    def kernel_args(self):
        """Arguments of :func:`_draw_sequence` after the scratch arrays (full space)."""
        return (
            self.q_star + self.w_star,
            self.q_star - self.w_star,
            self.mu,
            self.u,
            self.noise_u,
            self.sigma,
            self.K,
            self.zeta,
            self.p,
            self.dq,
            self.dw,
        )


def _mixture_iv(
    T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
) -> _Mixture:
    """Validate the data-model parameters shared by every sampler and simulator."""
    check_choice("variant", variant, _VARIANTS)
    check_choice("relevant_count", relevant_count, _COUNTS)
    zeta, T, K = check_zeta_T(zeta, T, relevant_count)
    q_star = check_vector("q_star", q_star, min_len=0)
    d = check_int("d", q_star.shape[0], low=1)
    w_star = check_vector("w_star", w_star, dim=d)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    p = check_real("label_prior", label_prior, low=0.0, high=1.0)
    mu = np.zeros(d) if mu_irr is None else check_vector("mu_irr", mu_irr, dim=d)
    nq = float(np.linalg.norm(q_star))
    if variant == "B" and nq == 0.0:
        raise ValueError("q_star must be non-zero for variant 'B' (u = q*/|q*|), got |q_star| = 0")
    u = q_star / nq if nq > 0 else np.zeros(d)
    if variant == "D":
        if distractors is None:
            raise ValueError("distractors must be a pair (Q, W) of (J, d) arrays for variant 'D'")
        try:
            dq_raw, dw_raw = distractors
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"distractors must be a pair (Q, W) of (J, d) arrays, got {distractors!r}"
            ) from exc
        dq = check_array("distractors[0]", dq_raw, shape=(None, d))
        dw = check_array("distractors[1]", dw_raw, shape=(dq.shape[0], d))
        if dq.shape[0] < 1:
            raise ValueError(f"distractors must hold J >= 1 contexts, got J = {dq.shape[0]}")
    else:
        if distractors is not None:
            raise ValueError(f"distractors are only used with variant 'D', got variant {variant!r}")
        dq = np.zeros((0, d))
        dw = np.zeros((0, d))
    return _Mixture(T, d, zeta, K, sigma, p, variant, q_star, w_star, mu, u, dq, dw)


def _sample_iv(n, rng):
    n = check_int("n", n, low=1)
    return n, as_seed_sequence(rng)


def sample_contextual_mixture(
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
    rng=None,
):
    """Draw ``n`` labelled sequences of the contextual mixture.

    Parameters
    ----------
    n : int
        Number of sequences, ``n >= 1``.
    T : int
        Tokens per sequence, ``T >= 1``.
    q_star, w_star : array_like, shape (d,)
        Context vector and label direction (``<q*, w*> = 0`` is the default assumption of the
        spec but is not enforced).
    zeta : float
        Sparsity in (0, 1]; with ``relevant_count="fixed"`` ``zeta*T`` must be an integer.
    sigma : float, optional
        Noise level ``> 0``.
    mu_irr : array_like, shape (d,), optional
        Mean of irrelevant tokens (``pa.irrelevant_mean``, default 0).
    variant : {"A", "B", "D"}, optional
        "A": isotropic noise (default); "B": noise without a component along
        ``u = q*/|q*|``; "D": irrelevant tokens carry a distractor context.
    relevant_count : {"fixed", "binomial"}, optional
        ``|R| = zeta T`` exactly, or each position relevant with probability ``zeta``.
    label_prior : float, optional
        ``P(y = +1)`` in [0, 1] (``pa.label_prior``, default 1/2).
    distractors : tuple of two arrays (J, d), optional
        Variant D only: contexts ``(q_j)`` and label directions ``(w_j)``; each irrelevant
        token picks ``j`` uniformly and equals ``mu_irr + q_j + y_j w_j + sigma z`` with
        ``y_j = +-1`` drawn once per sequence.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None, optional
        Seed material; chunk streams are spawned from its SeedSequence.

    Returns
    -------
    X : ndarray, shape (n, T, d)
    y : ndarray, shape (n,)
        Labels in {-1, +1} (float64).
    relevant : ndarray of bool, shape (n, T)
        Indicator of ``R``.

    Notes
    -----
    prompt_attention.md §3.1 (Variant A, [INFERRED] reconstruction of the paper's §2.2) and
    §3.2 (switches B and D, [INFERRED]; ``relevant_count`` and ``label_prior`` [INFERRED]).
    Reproducible bit for bit for a given integer ``rng`` whatever the number of threads.

    Examples
    --------
    >>> X, y, rel = sample_contextual_mixture(3, 5, [3.0, 0, 0], [0, 1.0, 0], zeta=0.4, rng=1)
    >>> X.shape, rel.sum(axis=1).tolist()
    ((3, 5, 3), [2, 2, 2])
    """
    n, gen = _sample_iv(n, rng)
    mix = _mixture_iv(
        T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
    )
    X = np.empty((n, mix.T, mix.d))
    y = np.empty(n)
    rel = np.empty((n, mix.T), dtype=np.uint8)
    run_chunks(_sample_chunk, gen, n, CHUNK, (X, y, rel, *mix.kernel_args()))
    return X, y, rel.astype(bool)
