"""Exact low-dimensional simulation of attention statistics (prompt_attention.md §7, §11).

With isotropic noise the coordinates of the tokens along a fixed orthonormal set
``e_1..e_k`` are ``<m_t, e_j> + sigma N(0, 1)`` i.i.d. across ``t, j``.  Every statistic that
depends on ``X`` only through those coordinates -- the scores ``<x_t, q>`` for ``q`` in the
span, hence ``s``, ``a = sum_{t in R} s_t``, ``b = |s|_2``; the projections ``<w, xbar(q)>``
for heads ``w`` in the span; the Bayes log odds of §8.5 -- is therefore simulated exactly in
law with ``k T`` normals per sequence instead of ``d T``.

The basis is built by Gram-Schmidt from ``u = q*/|q*|``, ``w*``, ``mu_irr``, the Variant-D
distractors, the prompts and the heads (dependent vectors dropped), so ``k <= 3 + 2J + P + h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from numerics.core import as_generator
from numerics.core._fastexp import exp_nonpositive
from numerics.core._validate import check_array, check_int
from numerics.pa._bayes import _bayes_seq, _logprior
from numerics.pa._sampler import (
    CHUNK,
    _draw_label_and_set,
    _draw_sequence,
    _mixture_iv,
    _sample_iv,
    run_chunks,
)

__all__ = ["SpanStatistics", "span_basis", "span_statistics", "span_statistics_numpy"]

#: Bit generator of the per-chunk streams.  SFC64 rather than NumPy's default PCG64: in
#: compiled code it draws a normal about 1.3x faster (bench_pa), and it is one of NumPy's
#: own generators (it passes PractRand and BigCrush; NumPy's documentation of SFC64).
BIT_GENERATOR = np.random.SFC64


@njit(cache=True, error_model="numpy")
def _span_one(C, rel, Qc, Hc, s, xbar, i, a_out, b_out, proj_out):
    """Statistics of one sequence ``C`` (T x k) for every prompt row of ``Qc`` (P x k).

    Writes row ``i`` of ``a_out``, ``b_out`` (n x P) and ``proj_out`` (n x P x h).
    """
    T, k = C.shape
    P = Qc.shape[0]
    h = Hc.shape[0]
    for p in range(P):
        m = -np.inf
        for t in range(T):
            z = 0.0
            for j in range(k):
                z += C[t, j] * Qc[p, j]
            s[t] = z
            m = z if z > m else m
        tot = 0.0
        for t in range(T):
            e = math.exp(s[t] - m)
            s[t] = e
            tot += e
        inv = 1.0 / tot
        a = 0.0
        b2 = 0.0
        for j in range(k):
            xbar[j] = 0.0
        for t in range(T):
            st = s[t] * inv
            if rel[t] == 1:
                a += st
            b2 += st * st
            for j in range(k):
                xbar[j] += st * C[t, j]
        a_out[i, p] = a
        b_out[i, p] = math.sqrt(b2)
        for r in range(h):
            acc = 0.0
            for j in range(k):
                acc += Hc[r, j] * xbar[j]
            proj_out[i, p, r] = acc


@njit(cache=True, error_model="numpy", nogil=True)
def _span_chunk(
    gen, start, stop, T, Qc, Hc, want_bayes, dp, dm, logprior,
    m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw,
    y_out, a_out, b_out, proj_out, bayes_out,
):
    """Simulate sequences ``start:stop`` of length ``T`` in span coordinates from ``gen``.

    Scratch arrays are allocated once per chunk, never inside the per-sequence loop.
    """
    k = Qc.shape[1]
    C = np.empty((T, k))
    rel = np.empty(T, dtype=np.uint8)
    idx = np.empty(T, dtype=np.int64)
    dy = np.empty(dq.shape[0])
    s = np.empty(T)
    xbar = np.empty(k)
    lp = np.empty(T)
    lm = np.empty(T)
    E = np.empty(max(K, 0) + 1)
    for i in range(start, stop):
        y = _draw_sequence(
            gen, C, rel, idx, dy, m_plus, m_minus, mu, u, noise_u, sigma, K, zeta, p, dq, dw
        )
        y_out[i] = y
        _span_one(C, rel, Qc, Hc, s, xbar, i, a_out, b_out, proj_out)
        if want_bayes:
            bayes_out[i] = _bayes_seq(C, dp, dm, mu, sigma, K, zeta, logprior, lp, lm, E)


#: sequences per block of the isotropic kernel (its statistics are vectorised across a block)
BLOCK = 64


@njit(cache=True, error_model="numpy", nogil=True, fastmath={"contract"})
def _span_chunk_iso(
    gen, start, stop, T, Qc, Hc, m_plus, m_minus, mu, sigma, K, zeta, p,
    y_out, a_out, b_out, proj_out,
):
    """:func:`_span_chunk` specialised to isotropic noise, no distractors and no Bayes rule.

    The hot path of every prompt-attention simulation.  Sequences are drawn one by one in
    the order of :func:`numerics.pa._sampler._draw_sequence` (so the law and the stream are
    the general kernel's), into a block of ``BLOCK`` sequences stored sequence-last; the
    softmax statistics are then computed for the whole block with the sequence index
    innermost, which vectorises (with :func:`numerics.core._fastexp.exp_nonpositive` for the
    exponentials).  The numbers equal the general kernel's to a few ulps (tested).
    """
    k = Qc.shape[1]
    P = Qc.shape[0]
    h = Hc.shape[0]
    B = BLOCK
    C = np.empty((T, k, B))
    R = np.empty((T, B))
    S = np.empty((T, B))
    bits = np.empty(B, dtype=np.int64)
    mx = np.empty(B)
    tot = np.empty(B)
    A = np.empty(B)
    B2 = np.empty(B)
    xbar = np.empty((k, B))
    rel = np.zeros(T, dtype=np.uint8)
    idx = np.empty(T, dtype=np.int64)
    for lo in range(start, stop, B):
        nb = min(B, stop - lo)
        for c in range(nb):
            y = _draw_label_and_set(gen, rel, idx, p, K, zeta)
            y_out[lo + c] = y
            m_rel = m_plus if y > 0 else m_minus
            for t in range(T):
                m = m_rel if rel[t] == 1 else mu
                R[t, c] = rel[t]
                for j in range(k):
                    C[t, j, c] = m[j] + sigma * gen.standard_normal()
        for q in range(P):
            for c in range(nb):
                mx[c] = -np.inf
            for t in range(T):
                for c in range(nb):
                    S[t, c] = 0.0
                for j in range(k):
                    qj = Qc[q, j]
                    for c in range(nb):
                        S[t, c] += C[t, j, c] * qj
                for c in range(nb):
                    mx[c] = S[t, c] if S[t, c] > mx[c] else mx[c]
            for t in range(T):
                row = S[t]
                for c in range(nb):
                    row[c] -= mx[c]
                exp_nonpositive(row, row, bits, nb)
            for c in range(nb):
                tot[c] = 0.0
                A[c] = 0.0
                B2[c] = 0.0
            for j in range(k):
                for c in range(nb):
                    xbar[j, c] = 0.0
            for t in range(T):
                for c in range(nb):
                    e = S[t, c]
                    tot[c] += e
                    A[c] += e * R[t, c]
                    B2[c] += e * e
                for j in range(k):
                    for c in range(nb):
                        xbar[j, c] += S[t, c] * C[t, j, c]
            for c in range(nb):
                inv = 1.0 / tot[c]
                a_out[lo + c, q] = A[c] * inv
                b_out[lo + c, q] = math.sqrt(B2[c]) * inv
                for r in range(h):
                    acc = 0.0
                    for j in range(k):
                        acc += Hc[r, j] * xbar[j, c]
                    proj_out[lo + c, q, r] = acc * inv


def span_basis(vectors, *, tol=1e-10):
    """Orthonormal basis of the span of ``vectors`` by Gram-Schmidt (twice), in order.

    Parameters
    ----------
    vectors : array_like, shape (m, d)
        Rows to orthonormalise; a row whose residual norm is below ``tol * max(1, |row|)`` is
        dropped (it lies in the span of the earlier rows).
    tol : float, optional
        Relative tolerance for dropping dependent rows.

    Returns
    -------
    ndarray, shape (k, d)
        Orthonormal rows, ``k <= m``; the first row is the first non-zero input normalised.

    Notes
    -----
    Basis of the exact low-dimensional simulation of prompt_attention.md §11 [MATH].

    Examples
    --------
    >>> span_basis([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [3.0, 3.0, 0.0]]).round(6).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    V = check_array("vectors", vectors, ndim=2)
    rows = []
    for v in V:
        r = v.copy()
        for _ in range(2):
            for e in rows:
                r -= (e @ r) * e
        nr = float(np.linalg.norm(r))
        if nr > tol * max(1.0, float(np.linalg.norm(v))):
            rows.append(r / nr)
    if not rows:
        return np.zeros((0, V.shape[1]))
    return np.array(rows)


@dataclass(frozen=True)
class SpanStatistics:
    """Per-sequence attention statistics from :func:`span_statistics`.

    Attributes
    ----------
    y : ndarray, shape (n,)
        Labels.
    a, b : ndarray, shape (n, P)
        Relevant mass ``sum_{t in R} s_t`` and ``|s|_2`` for each prompt.
    oracle : ndarray, shape (n, P)
        Oracle score ``<w*, xbar(q_p)>``.
    heads : ndarray, shape (n, P, h)
        ``<w_r, xbar(q_p)>`` for each head ``w_r``.
    bayes : ndarray, shape (n,) or None
        Bayes posterior log odds (§8.5) if requested.
    basis : ndarray, shape (k, d)
        Orthonormal basis the simulation ran in.
    """

    y: np.ndarray
    a: np.ndarray
    b: np.ndarray
    oracle: np.ndarray
    heads: np.ndarray
    bayes: np.ndarray | None
    basis: np.ndarray


def _rows_iv(name, value, d):
    """``value`` as a finite ``(m, d)`` array; a single vector of length ``d`` is one row."""
    return check_array(name, np.atleast_2d(check_array(name, value)), shape=(None, d))


def _span_iv(
    n, T, q_star, w_star, zeta, prompts, heads, sigma, mu_irr, variant, relevant_count,
    label_prior, distractors, bayes, rng,
):
    n, gen = _sample_iv(n, rng)
    mix = _mixture_iv(
        T, q_star, w_star, zeta, sigma, mu_irr, variant, relevant_count, label_prior, distractors
    )
    d = mix.d
    Qf = _rows_iv("prompts", prompts, d)
    if Qf.shape[0] < 1:
        raise ValueError("prompts must hold at least one prompt vector, got 0")
    Hf = np.zeros((0, d)) if heads is None else _rows_iv("heads", heads, d)
    if not isinstance(bayes, bool):
        raise ValueError(f"bayes must be True or False, got {bayes!r}")
    if bayes and variant != "A":
        raise ValueError(
            f"bayes=True needs isotropic noise without distractors (variant 'A'), "
            f"got variant {variant!r}"
        )
    return n, gen, mix, Qf, Hf


def _coords(mix, Qf, Hf):
    """Basis and span coordinates of every vector the kernels need."""
    vecs = [mix.u, mix.w_star, mix.mu, *mix.dq, *mix.dw, *Qf, *Hf]
    E = span_basis(np.array(vecs))
    if E.shape[0] == 0:  # everything is zero: any unit vector will do
        E = np.zeros((1, mix.d))
        E[0, 0] = 1.0
    c = {
        "E": E,
        "m_plus": E @ (mix.q_star + mix.w_star),
        "m_minus": E @ (mix.q_star - mix.w_star),
        "mu": E @ mix.mu,
        "u": E @ mix.u,
        "dq": np.ascontiguousarray(mix.dq @ E.T),
        "dw": np.ascontiguousarray(mix.dw @ E.T),
        "Qc": np.ascontiguousarray(Qf @ E.T),
        "Hc": np.ascontiguousarray(np.vstack([mix.w_star[None, :], Hf]) @ E.T),
    }
    return c


def span_statistics(
    n,
    T,
    q_star,
    w_star,
    *,
    zeta,
    prompts,
    heads=None,
    sigma=1.0,
    mu_irr=None,
    variant="A",
    relevant_count="fixed",
    label_prior=0.5,
    distractors=None,
    bayes=False,
    rng=None,
):
    """Simulate ``a``, ``b``, head scores and Bayes log odds with ``k T`` normals per sequence.

    Parameters
    ----------
    n, T : int
        Number of sequences and tokens per sequence (``>= 1``).
    q_star, w_star : array_like, shape (d,)
        Data-model vectors (see :func:`sample_contextual_mixture`).
    zeta : float
        Sparsity in (0, 1].
    prompts : array_like, shape (P, d) or (d,)
        Prompts ``q_p`` (e.g. ``np.outer(gammas, u)`` for ``q = Gamma u``).
    heads : array_like, shape (h, d) or (d,), optional
        Heads ``w_r``; the oracle ``w*`` is always reported separately.
    sigma, mu_irr, variant, relevant_count, label_prior, distractors
        As in :func:`sample_contextual_mixture`.
    bayes : bool, optional
        Also return the Bayes log odds of §8.5 (variant "A" only).
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None, optional
        Seed material; per-chunk streams are spawned from its SeedSequence.

    Returns
    -------
    SpanStatistics
        Every sequence's statistics; same law as the full ``d``-dimensional simulation.

    Notes
    -----
    prompt_attention.md §11 "Sampling in a low-dimensional span" [MATH]; statistics of §7
    [MATH], oracle rule §8.2 [MATH], Bayes rule §8.5 [MATH]; the data model itself is the
    [INFERRED] reconstruction of §3.  Chunks of ``CHUNK`` sequences run on threads, each
    with its own spawned Generator, so the output is the same for any thread count.

    Examples
    --------
    >>> st = span_statistics(4, 10, [3.0, 0, 0], [0, 1.0, 0], zeta=0.3, prompts=[0, 0, 0], rng=0)
    >>> np.allclose(st.a, 0.3), np.allclose(st.b, 10**-0.5)
    (True, True)
    """
    n, gen, mix, Qf, Hf = _span_iv(
        n, T, q_star, w_star, zeta, prompts, heads, sigma, mu_irr, variant, relevant_count,
        label_prior, distractors, bayes, rng,
    )
    c = _coords(mix, Qf, Hf)
    P = Qf.shape[0]
    h = c["Hc"].shape[0]
    y = np.empty(n)
    a = np.empty((n, P))
    b = np.empty((n, P))
    proj = np.empty((n, P, h))
    bo = np.empty(n if bayes else 0)
    if mix.noise_u and mix.dq.shape[0] == 0 and not bayes:  # the common case
        kernel, args = _span_chunk_iso, (
            mix.T, c["Qc"], c["Hc"], c["m_plus"], c["m_minus"], c["mu"], mix.sigma, mix.K,
            mix.zeta, mix.p, y, a, b, proj,
        )
    else:
        kernel, args = _span_chunk, (
            mix.T, c["Qc"], c["Hc"], bayes,
            c["m_plus"] - c["mu"], c["m_minus"] - c["mu"], _logprior(mix.p),
            c["m_plus"], c["m_minus"], c["mu"], c["u"], mix.noise_u, mix.sigma, mix.K, mix.zeta,
            mix.p, c["dq"], c["dw"],
            y, a, b, proj, bo,
        )
    run_chunks(kernel, gen, n, CHUNK, args, BIT_GENERATOR)
    return SpanStatistics(
        y=y,
        a=a,
        b=b,
        oracle=np.ascontiguousarray(proj[:, :, 0]),
        heads=np.ascontiguousarray(proj[:, :, 1:]),
        bayes=bo if bayes else None,
        basis=c["E"],
    )


def span_statistics_numpy(
    n,
    T,
    q_star,
    w_star,
    *,
    zeta,
    prompts,
    heads=None,
    sigma=1.0,
    mu_irr=None,
    variant="A",
    relevant_count="fixed",
    label_prior=0.5,
    batch=8192,
    rng=None,
):
    """Vectorised NumPy reference for :func:`span_statistics` (same law, different stream).

    Parameters
    ----------
    n, T, q_star, w_star, zeta, prompts, heads, sigma, mu_irr, relevant_count, label_prior
        As in :func:`span_statistics`.
    variant : {"A", "B"}, optional
        Variant D is not supported by the reference.
    batch : int, optional
        Sequences per vectorised batch (memory ``~ batch * T * k`` floats).
    rng : int, numpy.random.Generator or None, optional
        Drawn from with ``Generator.standard_normal`` etc.

    Returns
    -------
    SpanStatistics
        With ``bayes = None``.

    Notes
    -----
    prompt_attention.md §11 [MATH]; used to benchmark and cross-check the compiled kernel.
    """
    if variant == "D":
        raise ValueError("variant must be 'A' or 'B' for span_statistics_numpy, got 'D'")
    n, _, mix, Qf, Hf = _span_iv(
        n, T, q_star, w_star, zeta, prompts, heads, sigma, mu_irr, variant, relevant_count,
        label_prior, None, False, None,
    )
    gen = as_generator(rng)
    batch = check_int("batch", batch, low=1)
    c = _coords(mix, Qf, Hf)
    k = c["E"].shape[0]
    P = Qf.shape[0]
    h = c["Hc"].shape[0]
    T, K = mix.T, mix.K
    y = np.empty(n)
    a = np.empty((n, P))
    b = np.empty((n, P))
    proj = np.empty((n, P, h))
    for lo in range(0, n, batch):
        m = min(batch, n - lo)
        yy = np.where(gen.random(m) < mix.p, 1.0, -1.0)
        if K >= 0:
            order = np.argsort(gen.random((m, T)), axis=1)
            rel = np.zeros((m, T), dtype=bool)
            np.put_along_axis(rel, order[:, :K], True, axis=1)
        else:
            rel = gen.random((m, T)) < mix.zeta
        Z = gen.standard_normal((m, T, k))
        if not mix.noise_u:
            Z -= (Z @ c["u"])[:, :, None] * c["u"]
        m_rel = np.where(yy[:, None] > 0, c["m_plus"], c["m_minus"])  # (m, k)
        means = np.where(rel[:, :, None], m_rel[:, None, :], c["mu"])
        C = means + mix.sigma * Z  # (m, T, k)
        S = np.einsum("mtk,pk->mpt", C, c["Qc"])
        S = np.exp(S - S.max(axis=2, keepdims=True))
        S /= S.sum(axis=2, keepdims=True)
        y[lo : lo + m] = yy
        a[lo : lo + m] = np.einsum("mpt,mt->mp", S, rel.astype(np.float64))
        b[lo : lo + m] = np.sqrt(np.einsum("mpt,mpt->mp", S, S))
        xbar = np.einsum("mpt,mtk->mpk", S, C)
        proj[lo : lo + m] = xbar @ c["Hc"].T
    return SpanStatistics(
        y=y,
        a=a,
        b=b,
        oracle=np.ascontiguousarray(proj[:, :, 0]),
        heads=np.ascontiguousarray(proj[:, :, 1:]),
        bayes=None,
        basis=c["E"],
    )
