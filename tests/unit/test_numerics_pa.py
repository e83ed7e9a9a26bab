"""Tests of numerics.pa: compiled Monte Carlo for prompt-attention (prompt_attention.md)."""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit
from scipy import stats
from scipy.special import logsumexp

import numerics.core as core
import numerics.pa as pa
from numerics.pa import _bayes, _models, _sampler

SEEDS = st.integers(0, 2**32 - 1)


def _rel_close(a, b, rtol=1e-6, atol=1e-9):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b)) <= rtol * float(np.linalg.norm(b)) + atol


def _orthogonal_pair(rng, d, nq, nw):
    """Random q* and w* with <q*, w*> = 0 and the given norms."""
    A = np.linalg.qr(rng.standard_normal((d, 2)))[0]
    return nq * A[:, 0], nw * A[:, 1]


# ------------------------------------------------------------------ public surface


def test_all_matches_public_names():
    public = {
        n for n, v in vars(pa).items() if not n.startswith("_") and not isinstance(v, type(pa))
    }
    assert pa.__all__ == sorted(pa.__all__)
    assert set(pa.__all__) == public


# ------------------------------------------------------------------ softmax, derivatives (C1)


def test_softmax_sums_to_one_and_is_stable():
    rng = np.random.default_rng(20260101)
    Z = rng.standard_normal((50, 7)) * 30.0
    S = pa.softmax(Z)
    np.testing.assert_allclose(S.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    s = pa.softmax([1000.0, 0.0, -1000.0])  # would overflow without max subtraction
    assert np.all(np.isfinite(s)) and s[0] == 1.0


def test_softmax_jacobian_properties():
    rng = np.random.default_rng(31337)
    s = pa.softmax(rng.standard_normal(6))
    J = pa.softmax_jacobian(s)
    np.testing.assert_allclose(J, J.T, rtol=0, atol=0)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-15)
    ev = np.linalg.eigvalsh(J)
    assert ev.min() > -1e-15 and np.sum(ev > 1e-12) == 5
    # J is the derivative of the softmax (central differences)
    z = rng.standard_normal(6)
    Jfd = pa.central_difference_jacobian(pa.softmax, z)
    assert _rel_close(Jfd, pa.softmax_jacobian(pa.softmax(z)))


@given(seed=SEEDS, d=st.integers(1, 8), T=st.integers(1, 6), hot=st.booleans())
def test_pa_gradients_and_hessians_match_central_differences(seed, d, T, hot):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, d))
    q = rng.standard_normal(d)
    w = rng.standard_normal(d)
    tau = 1.0 / math.sqrt(d) if hot else 1.0
    f, gq, gw = pa.pa_grads(X, q, w, temperature=tau)
    assert f == pytest.approx(pa.pa_forward(X, q, w, temperature=tau), rel=1e-15)
    cdg = pa.central_difference_gradient
    assert _rel_close(cdg(lambda v: pa.pa_forward(X, v, w, temperature=tau), q), gq)
    assert _rel_close(cdg(lambda v: pa.pa_forward(X, q, v, temperature=tau), w), gw)
    hqq, hqw = pa.pa_hessian(X, q, w, temperature=tau)
    np.testing.assert_allclose(hqq, hqq.T, rtol=0, atol=1e-13)
    # Hessians against central differences of the exact gradient
    jq = pa.central_difference_jacobian(lambda v: pa.pa_grads(X, v, w, temperature=tau)[1], q)
    jw = pa.central_difference_jacobian(lambda v: pa.pa_grads(X, q, v, temperature=tau)[1], w)
    assert _rel_close(jq, hqq)
    assert _rel_close(jw, hqw)


def test_pa_hessian_function_only_differences():
    rng = np.random.default_rng(987654321)
    X, q, w = rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal(4)
    H = pa.central_difference_hessian(lambda v: pa.pa_forward(X, v, w), q)
    assert _rel_close(H, pa.pa_hessian(X, q, w)[0], rtol=1e-6, atol=1e-6)


def test_pa_prompt_gradient_at_zero_is_token_covariance():
    rng = np.random.default_rng(4242)
    T, d = 6, 5
    X, w = rng.standard_normal((T, d)), rng.standard_normal(d)
    xb = X.mean(axis=0)
    C = X.T @ X / T - np.outer(xb, xb)
    _, gq, gw = pa.pa_grads(X, np.zeros(d), w)
    np.testing.assert_allclose(gq, C @ w, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gw, xb, rtol=1e-12, atol=1e-14)


def test_batch_equals_loop():
    rng = np.random.default_rng(777)
    X = rng.standard_normal((70, 4, 3))  # >= 64: the batch runs the parallel kernel
    q, w, W = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((3, 3))
    fb, gqb, gwb = pa.pa_grads(X, q, w)
    for fn, args in ((pa.pa_grads, (q, w)), (pa.lin_grads, (q, w)), (pa.sa_grads, (W, w))):
        fb, g1b, g2b = fn(X, *args)
        for i in range(X.shape[0]):
            f, g1, g2 = fn(X[i], *args)
            assert f == fb[i]
            np.testing.assert_array_equal(g1, g1b[i])
            np.testing.assert_array_equal(g2, g2b[i])
    np.testing.assert_array_equal(pa.pa_forward(X, q, w), pa.pa_grads(X, q, w)[0])
    np.testing.assert_array_equal(pa.sa_forward(X, W, w), pa.sa_grads(X, W, w)[0])


@given(seed=SEEDS, d=st.integers(1, 5), T=st.integers(1, 5))
def test_lin_and_sa_gradients_match_central_differences(seed, d, T):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, d))
    q, w = rng.standard_normal(d), rng.standard_normal(d)
    W = 0.5 * rng.standard_normal((d, d))
    for scale in ("1/T", "1"):
        f, gq, gw = pa.lin_grads(X, q, w, scale=scale)
        c = 1.0 / T if scale == "1/T" else 1.0
        assert f == pytest.approx(c * w @ X.T @ X @ q, rel=1e-12, abs=1e-12)
        cdg = pa.central_difference_gradient
        assert _rel_close(cdg(lambda v, sc=scale: pa.lin_forward(X, v, w, scale=sc), q), gq)
        assert _rel_close(cdg(lambda v, sc=scale: pa.lin_forward(X, q, v, scale=sc), w), gw)
    for pooling in ("mean", "first"):
        f, gW, gw = pa.sa_grads(X, W, w, pooling=pooling)
        Z = X @ W @ X.T
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        r = np.full(T, 1.0 / T) if pooling == "mean" else np.eye(1, T)[0]
        assert f == pytest.approx(r @ P @ X @ w, rel=1e-12, abs=1e-12)
        cdg = pa.central_difference_gradient
        fW = cdg(lambda M, po=pooling: pa.sa_forward(X, M, w, pooling=po), W)
        assert _rel_close(fW, gW)
        fw = cdg(lambda v, po=pooling: pa.sa_forward(X, W, v, pooling=po), w)
        assert _rel_close(fw, gw)


def test_sa_gradient_at_zero_is_mean_times_prompt_gradient():
    rng = np.random.default_rng(5150)
    T, d = 5, 7
    X, w = rng.standard_normal((T, d)), rng.standard_normal(d)
    _, gW, _ = pa.sa_grads(X, np.zeros((d, d)), w)
    _, gq, _ = pa.pa_grads(X, np.zeros(d), w)
    np.testing.assert_allclose(gW, np.outer(X.mean(axis=0), gq), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ samplers (§3)


def test_sampler_fixed_count_variant_b_and_prior():
    rng = np.random.default_rng(11)
    qs, ws = _orthogonal_pair(rng, 6, 3.0, 1.0)
    mu = 0.7 * qs / 3.0
    X, y, rel = pa.sample_contextual_mixture(
        3000, 10, qs, ws, zeta=0.3, mu_irr=mu, variant="B", label_prior=0.8, rng=5
    )
    assert X.shape == (3000, 10, 6) and rel.dtype == bool
    assert np.all(rel.sum(axis=1) == 3)
    # Variant B: the u-coordinate is deterministic, |q*| on R and <mu, u> elsewhere
    xu = X @ (qs / 3.0)
    np.testing.assert_allclose(xu[rel], 3.0, atol=1e-12)
    np.testing.assert_allclose(xu[~rel], 0.7, atol=1e-12)
    # label prior 0.8: 4.5 sigma binomial band
    p_hat = np.mean(y == 1)
    assert abs(p_hat - 0.8) < 4.5 * math.sqrt(0.8 * 0.2 / 3000)


def test_sampler_binomial_and_first_moment():
    rng = np.random.default_rng(12)
    qs, ws = _orthogonal_pair(rng, 4, 2.0, 1.0)
    n, T, zeta = 20000, 8, 0.25
    X, y, rel = pa.sample_contextual_mixture(
        n, T, qs, ws, zeta=zeta, relevant_count="binomial", rng=9
    )
    k = rel.sum(axis=1)
    assert abs(k.mean() - zeta * T) < 4.5 * math.sqrt(zeta * (1 - zeta) * T / n)
    # Var(|R|) = T zeta (1 - zeta) (= 1.5); the sample variance has sd ~ 0.02 here
    assert abs(k.var(ddof=1) - T * zeta * (1 - zeta)) < 0.15
    # E[y xbar(0)] = zeta w* (§6.1 item 1); per coordinate 4.5-sigma CI (Bonferroni-safe)
    Y = y[:, None] * X.mean(axis=1)
    se = Y.std(axis=0, ddof=1) / math.sqrt(n)
    assert np.all(np.abs(Y.mean(axis=0) - zeta * ws) < 4.5 * se)


def test_sampler_variant_d_distractors():
    T = 5
    qs, ws = np.array([2.0, 0, 0]), np.array([0, 1.0, 0])
    dq, dw = np.array([[0, 0, 5.0]]), np.array([[0, 0, 1.0]])
    X, y, rel = pa.sample_contextual_mixture(
        4000, T, qs, ws, zeta=0.2, variant="D", distractors=(dq, dw), sigma=0.1, rng=3
    )
    third = X[..., 2][~rel]
    # irrelevant tokens sit at 5 +- 1 on the third axis (noise 0.1)
    assert np.all(np.abs(np.abs(third - 5.0) - 1.0) < 0.6)
    assert 0.4 < np.mean(third > 5.0) < 0.6


def test_uniform_attention_gives_a_zeta_b_inverse_sqrt_T():
    for T, K in ((20, 4), (7, 7), (9, 1)):
        st_ = pa.span_statistics(
            500, T, [3.0, 0, 0, 0], [0, 1.0, 0, 0], zeta=K / T, prompts=np.zeros(4), rng=T
        )
        np.testing.assert_allclose(st_.a, K / T, rtol=1e-14)
        np.testing.assert_allclose(st_.b, 1 / math.sqrt(T), rtol=1e-14)
    rng = np.random.default_rng(8)
    X, _, _ = pa.sample_contextual_mixture(50, 6, [1.0, 2.0], [2.0, -1.0], zeta=0.5, rng=rng)
    np.testing.assert_allclose(pa.attention_outputs(X, np.zeros(2)), X.mean(axis=1), atol=1e-15)


# ------------------------------------------------------------------ span simulator (§11)


def _full_statistics(X, rel, qv, ws, head):
    S = pa.softmax(X @ qv)
    xb = np.einsum("nt,ntd->nd", S, X)
    return (S * rel).sum(axis=1), np.sqrt((S * S).sum(axis=1)), xb @ ws, xb @ head


@pytest.mark.parametrize(
    ("variant", "count", "with_mu"),
    [("A", "fixed", False), ("A", "binomial", True), ("B", "fixed", True), ("D", "fixed", True)],
)
def test_span_simulator_matches_full_sampler_in_law(variant, count, with_mu):
    rng = np.random.default_rng(2718281)
    d, T, zeta, n = 25, 10, 0.3, 20000
    qs, ws = _orthogonal_pair(rng, d, 2.0, 1.0)
    u = qs / 2.0
    qv = 1.5 * u + 0.3 * rng.standard_normal(d)  # leaves span{u, w*}
    head = rng.standard_normal(d)
    mu = 0.5 * rng.standard_normal(d) if with_mu else None
    kw = dict(zeta=zeta, mu_irr=mu, variant=variant, relevant_count=count)
    if variant == "D":
        kw["distractors"] = (rng.standard_normal((2, d)), 0.7 * rng.standard_normal((2, d)))
    X, y, rel = pa.sample_contextual_mixture(n, T, qs, ws, rng=101, **kw)
    full = _full_statistics(X, rel, qv, ws, head)
    sp = pa.span_statistics(n, T, qs, ws, prompts=qv, heads=head, rng=202, **kw)
    span = (sp.a[:, 0], sp.b[:, 0], sp.oracle[:, 0], sp.heads[:, 0, 0])
    for f, s in zip(full, span, strict=True):
        # two-sample KS at a pinned seed; 4 statistics x 4 cases, level 1e-3 each
        assert stats.ks_2samp(f, s).pvalue > 1e-3
    # labels enter the head scores: conditional means agree (4.5-sigma)
    for lab in (-1.0, 1.0):
        a_f, a_s = full[2][y == lab], span[2][sp.y == lab]
        se = math.sqrt(a_f.var() / a_f.size + a_s.var() / a_s.size)
        assert abs(a_f.mean() - a_s.mean()) < 4.5 * se


def test_numpy_reference_agrees_in_law_with_kernel():
    rng = np.random.default_rng(1618)
    d, T, n = 40, 20, 20000
    qs, ws = _orthogonal_pair(rng, d, 3.0, 0.5)
    prompts = np.outer([0.0, 0.5, 3.0], qs / 3.0)
    heads = np.vstack([ws + 0.2 * qs, rng.standard_normal(d)])
    kw = dict(zeta=0.2, prompts=prompts, heads=heads)
    a = pa.span_statistics(n, T, qs, ws, rng=1, **kw)
    b = pa.span_statistics_numpy(n, T, qs, ws, rng=2, batch=3000, **kw)
    np.testing.assert_array_equal(a.basis, b.basis)
    for p in (1, 2):  # p = 0 is deterministic, checked exactly below
        for x, z in ((a.a, b.a), (a.b, b.b), (a.oracle, b.oracle)):
            assert stats.ks_2samp(x[:, p], z[:, p]).pvalue > 1e-3
        for h in range(2):
            assert stats.ks_2samp(a.heads[:, p, h], b.heads[:, p, h]).pvalue > 1e-3
    np.testing.assert_allclose(b.a[:, 0], 0.2, rtol=1e-14)
    np.testing.assert_allclose(b.b[:, 0], 1 / math.sqrt(T), rtol=1e-14)


def test_span_basis_is_orthonormal_and_spans_inputs():
    rng = np.random.default_rng(99)
    V = rng.standard_normal((3, 8))
    V = np.vstack([V, V[0] + 2 * V[2], np.zeros(8)])
    E = pa.span_basis(V)
    assert E.shape == (3, 8)
    np.testing.assert_allclose(E @ E.T, np.eye(3), atol=1e-14)
    np.testing.assert_allclose(V @ E.T @ E, V, atol=1e-12)


# ------------------------------------------------------------------ reproducibility


def _run_all(seed):
    qs, ws = np.array([3.0, 0, 0, 0, 0]), np.array([0, 0.5, 0, 0, 0])
    X, y, rel = pa.sample_contextual_mixture(1100, 7, qs, ws, zeta=2 / 7, rng=seed)
    sp = pa.span_statistics(
        1100, 20, qs, ws, zeta=0.2, prompts=np.outer([0, 1, 3], qs), bayes=True, rng=seed
    )
    fast = pa.span_statistics(1100, 20, qs, ws, zeta=0.2, prompts=np.outer([0, 1, 3], qs), rng=seed)
    r = pa.three_step_algorithm(600, 20, qs, ws, zeta=0.2, debias="intercept", rng=seed)
    gm = pa.gradient_moments(900, 20, qs, ws, zeta=0.2, w=ws, rng=seed)
    dot, nrm = pa.mean_difference_fits(150, 4, 20, qs, ws, zeta=0.2, prompt=qs / 3, rng=seed)
    return [
        X, y, rel, sp.a, sp.b, sp.oracle, sp.bayes, fast.a, fast.oracle, r.w1, r.q1, r.w2,
        np.array(r.intercept), gm.mean, gm.var, dot, nrm,
    ]


def test_bit_for_bit_reproducible_across_thread_counts():
    n0 = core.get_thread_count()
    try:
        core.set_thread_count(1)
        one = _run_all(123456789)
        core.set_thread_count(min(2, numba.config.NUMBA_NUM_THREADS))
        two = _run_all(123456789)
    finally:
        core.set_thread_count(n0)
    for x, z in zip(one, two, strict=True):
        assert x.tobytes() == z.tobytes()
    other = _run_all(987654321)
    assert other[0].tobytes() != one[0].tobytes()


@pytest.mark.parametrize("count", ["fixed", "binomial"])
def test_isotropic_fast_kernel_equals_general_kernel(count):
    # the block kernel of the common case must return the general kernel's numbers
    from numerics.pa import _span

    d, T, n = 6, 10, 700
    qs, ws = np.zeros(d), np.zeros(d)
    qs[0], ws[1] = 3.0, 1.0
    mu = np.full(d, 0.1)
    heads = np.random.default_rng(0).standard_normal((2, d))
    n_, gen, mix, Qf, Hf = _span._span_iv(
        n, T, qs, ws, 0.3, np.outer([0.0, 0.5, 2.0], qs), heads, 1.3, mu, "A", count, 0.4,
        None, False, 5,
    )
    c = _span._coords(mix, Qf, Hf)
    P, h = Qf.shape[0], c["Hc"].shape[0]
    outs = []
    for kernel in ("iso", "general"):
        y, a, b, proj = np.empty(n), np.empty((n, P)), np.empty((n, P)), np.empty((n, P, h))
        g = np.random.Generator(_span.BIT_GENERATOR(11))
        if kernel == "iso":
            _span._span_chunk_iso(
                g, 0, n, T, c["Qc"], c["Hc"], c["m_plus"], c["m_minus"], c["mu"], mix.sigma,
                mix.K, mix.zeta, mix.p, y, a, b, proj,
            )
        else:
            _span._span_chunk(
                g, 0, n, T, c["Qc"], c["Hc"], False, c["mu"], c["mu"], 0.0,
                c["m_plus"], c["m_minus"], c["mu"], c["u"], True, mix.sigma, mix.K, mix.zeta,
                mix.p, c["dq"], c["dw"], y, a, b, proj, np.empty(0),
            )
        outs.append((y, a, b, proj))
    (y1, *stats1), (y2, *stats2) = outs
    assert y1.tobytes() == y2.tobytes()  # same stream, same draws
    for x, z in zip(stats1, stats2, strict=True):  # vectorised exp and FMA: a few ulps
        np.testing.assert_allclose(x, z, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("parallel", [False, True])
def test_kernels_callable_from_another_njit(parallel):
    @njit(parallel=parallel)
    def caller(X, q, w, logpi, K, gen, C, rel, idx, dy, u):
        out = np.empty(X.shape[0])
        gq = np.empty(X.shape[::2])
        gw = np.empty(X.shape[::2])
        _models._pa_grads_batch(X, q, w, 1.0, out, gq, gw)
        le = _bayes._log_esp(logpi, K, np.empty(K + 1))
        T = X.shape[1]
        lo = _bayes._bayes_seq(
            X[0], q + w, q - w, np.zeros(q.size), 1.0, K, 0.5, 0.0,
            np.empty(T), np.empty(T), np.empty(K + 1),
        )
        y = _sampler._draw_sequence(
            gen, C, rel, idx, dy, u + w, u - w, np.zeros(u.size), u, True, 1.0, 2, 0.5, 0.5,
            np.zeros((0, u.size)), np.zeros((0, u.size)),
        )
        return out, le, y, lo

    rng = np.random.default_rng(55)
    X = rng.standard_normal((4, 5, 3))
    q, w = rng.standard_normal(3), rng.standard_normal(3)
    logpi = rng.standard_normal(5)
    C = np.empty((4, 3))
    rel = np.empty(4, dtype=np.uint8)
    out, le, y, lo = caller(
        X, q, w, logpi, 2, np.random.default_rng(7), C, rel, np.empty(4, np.int64), np.empty(0),
        np.array([1.0, 0, 0]),
    )
    np.testing.assert_array_equal(out, pa.pa_forward(X, q, w))
    assert le == pa.log_elementary_symmetric(logpi, 2)
    assert lo == pytest.approx(pa.bayes_log_odds(X[0], q, w, zeta=0.4), rel=1e-14, abs=1e-14)
    assert y in (-1.0, 1.0) and rel.sum() == 2 and np.all(np.isfinite(C))


# ------------------------------------------------------------------ Bayes rule (§8.5)


@given(seed=SEEDS, T=st.integers(1, 9), data=st.data())
def test_log_esp_matches_brute_force(seed, T, data):
    K = data.draw(st.integers(0, T))
    rng = np.random.default_rng(seed)
    lv = rng.standard_normal(T) * 300.0  # direct products would overflow
    brute = logsumexp([sum(lv[list(c)]) for c in itertools.combinations(range(T), K)])
    got = pa.log_elementary_symmetric(lv, K)
    assert abs(got - brute) <= 1e-10 * max(1.0, abs(brute))


def _brute_log_odds(X, qs, ws, sigma, mu, K, zeta, p):
    T = X.shape[0]
    out = []
    for yv in (1.0, -1.0):
        m = qs + yv * ws
        terms = []
        subsets = (
            itertools.combinations(range(T), K)
            if K >= 0
            else itertools.chain.from_iterable(
                itertools.combinations(range(T), k) for k in range(T + 1)
            )
        )
        for R in subsets:
            means = np.tile(mu, (T, 1))
            means[list(R)] = m
            ll = -np.sum((X - means) ** 2) / (2 * sigma**2)
            if K < 0:
                ll += len(R) * math.log(zeta) + (T - len(R)) * math.log1p(-zeta)
            terms.append(ll)
        out.append(logsumexp(terms))
    return out[0] - out[1] + math.log(p / (1 - p))


@pytest.mark.parametrize("count", ["fixed", "binomial"])
def test_bayes_log_odds_matches_enumeration(count):
    rng = np.random.default_rng(1234567)
    d, T = 3, 6
    qs, ws, mu = rng.standard_normal(d), rng.standard_normal(d), 0.5 * rng.standard_normal(d)
    zeta = 2 / 6
    X, _, _ = pa.sample_contextual_mixture(
        5, T, qs, ws, zeta=zeta, mu_irr=mu, sigma=0.8, relevant_count=count, rng=3
    )
    got = pa.bayes_log_odds(
        X, qs, ws, zeta=zeta, sigma=0.8, mu_irr=mu, relevant_count=count, label_prior=0.3
    )
    K = 2 if count == "fixed" else -1
    for i in range(5):
        want = _brute_log_odds(X[i], qs, ws, 0.8, mu, K, zeta, 0.3)
        assert abs(got[i] - want) <= 1e-10 * max(1.0, abs(want))


def test_span_bayes_matches_full_bayes_in_law():
    rng = np.random.default_rng(4040)
    d, T, n = 20, 10, 20000
    qs, ws = _orthogonal_pair(rng, d, 1.0, 0.5)
    X, y, _ = pa.sample_contextual_mixture(n, T, qs, ws, zeta=0.2, rng=1)
    full = pa.bayes_log_odds(X, qs, ws, zeta=0.2)
    sp = pa.span_statistics(n, T, qs, ws, zeta=0.2, prompts=np.zeros(d), bayes=True, rng=2)
    assert stats.ks_2samp(full * y, sp.bayes * sp.y).pvalue > 1e-3


# ------------------------------------------------------------------ §10.1 construction


def test_linear_attention_cannot_separate_t3_construction():
    rng = np.random.default_rng(2023)
    qs, ws = _orthogonal_pair(rng, 5, 1.3, 0.8)
    Xp = np.array([qs + ws, -qs + ws, -2 * ws])
    Xm = np.array([qs - ws, -qs - ws, 2 * ws])
    np.testing.assert_allclose(Xp.sum(axis=0), 0, atol=1e-15)
    for _ in range(200):
        q, w = rng.standard_normal(5), rng.standard_normal(5)
        assert abs(pa.lin_forward(Xp, q, w) - pa.lin_forward(Xm, q, w)) <= 1e-12
    for gam in (0.01, 0.3, 1.0, 5.0):
        c = gam * qs @ qs
        want = (ws @ ws) * (2 * math.cosh(c) - 2) / (2 * math.cosh(c) + 1)
        assert abs(pa.pa_forward(Xp, gam * qs, ws) - want) <= 1e-12
        assert abs(pa.pa_forward(Xm, gam * qs, ws) + want) <= 1e-12


def test_training_pa_separates_construction_lin_at_chance():
    rng = np.random.default_rng(17)
    qs, ws = _orthogonal_pair(rng, 4, 2.0, 1.0)
    Xp = np.array([qs + ws, -qs + ws, -2 * ws])
    Xm = np.array([qs - ws, -qs - ws, 2 * ws])
    noise = 0.05 * rng.standard_normal((40, 3, 4))
    X = np.concatenate([Xp + noise[:20], Xm + noise[:20][:, [1, 0, 2]] * -1.0])
    y = np.r_[np.ones(20), -np.ones(20)]
    lin = pa.train_attention("lin", X, y, steps=50, restarts=3, rng=1)
    # -X_minus equals X_plus up to a token swap, so f_LIN is identical on the pairs
    assert lin.accuracy == 0.5
    res = pa.train_attention("pa", X, y, steps=200, restarts=3, rng=1)
    assert res.accuracy == 1.0
    init = pa.train_attention("pa", X, y, steps=0, restarts=3, rng=1)
    assert np.all(res.risks < init.risks)
    sa = pa.train_attention("sa", X, y, steps=20, restarts=2, rng=1)
    assert sa.params[0].shape == (4, 4) and sa.accuracies.shape == (2,)
    sa0 = pa.train_attention("sa", X, y, steps=0, restarts=2, rng=1)
    assert np.all(sa.risks < sa0.risks)
    assert sa.risk == pytest.approx(
        np.mean(np.log1p(np.exp(-y * pa.sa_forward(X, *sa.params)))), rel=1e-12
    )


# ------------------------------------------------------------------ heads (§8)


def test_heads_solve_their_normal_equations():
    rng = np.random.default_rng(321)
    F, y = rng.standard_normal((30, 6)), np.sign(rng.standard_normal(30))
    u = rng.standard_normal(6)
    uh = u / np.linalg.norm(u)
    Fp = F - np.outer(F @ uh, uh)
    np.testing.assert_allclose(pa.mean_difference_head(F, y, u=u), Fp.T @ y / 30, atol=1e-15)
    w = pa.ridge_head(F, y, 0.7, u=u)
    np.testing.assert_allclose((Fp.T @ Fp / 30 + 0.7 * np.eye(6)) @ w, Fp.T @ y / 30, atol=1e-13)
    assert abs(w @ uh) < 1e-13
    ls = pa.least_squares_head(F, y)
    np.testing.assert_allclose(F.T @ F @ ls, F.T @ y, atol=1e-11)
    np.testing.assert_allclose(pa.ridge_head(F, y, 1e-9), ls, atol=1e-6)


def test_variant_b_attention_is_noiseless_formula():
    qs, ws = np.array([3.0, 0, 0, 0]), np.array([0, 0.5, 0, 0])
    X, _, rel = pa.sample_contextual_mixture(200, 20, qs, ws, zeta=0.2, variant="B", rng=4)
    for gam in (0.0, 0.4, 2.0):
        S = pa.softmax(X @ (gam * qs / 3.0))
        a_sim = (S * rel).sum(axis=1)
        b_sim = np.sqrt((S * S).sum(axis=1))
        a, b = pa.noiseless_attention_stats(20, 4, gam * 3.0)
        np.testing.assert_allclose(a_sim, a, rtol=1e-13)
        np.testing.assert_allclose(b_sim, b, rtol=1e-13)
    a, b = pa.noiseless_attention_stats(20, 4, -800.0)  # extreme gap: no overflow
    assert a == 0.0 and b == pytest.approx(1 / 4)


def test_conditional_error_variant_b_matches_simulation():
    rng = np.random.default_rng(606)
    d, T, n, gam = 6, 20, 40000, 0.5
    qs, ws = _orthogonal_pair(rng, d, 3.0, 0.5)
    u = qs / 3.0
    w_hat = ws + 0.8 * rng.standard_normal(d)
    a, b = pa.noiseless_attention_stats(T, 4, gam * 3.0)
    for off in (0.0, 0.2):
        sp = pa.span_statistics(
            n, T, qs, ws, zeta=0.2, prompts=gam * u, heads=w_hat - (w_hat @ u) * u,
            variant="B", rng=7,
        )
        err_sim = np.mean(np.where(sp.heads[:, 0, 0] + off > 0, 1.0, -1.0) != sp.y)
        err = pa.conditional_error_variant_b(w_hat, ws, u, a, b, 1.0, offset=off)
        assert abs(err_sim - err) < 4.5 * math.sqrt(err * (1 - err) / n)


def test_oracle_error_from_stats_matches_direct_sign_rule():
    # E_{a,b}[Q(a|w*|/(sigma b))] (§8.2) against the 0/1 error of sign<w*, xbar> on the
    # same kind of draws (Variant A, Gamma = 1): two independent routes, 4.5-sigma band.
    qs, ws = np.array([3.0, 0, 0]), np.array([0, 0.5, 0])
    sp = pa.span_statistics(40000, 20, qs, ws, zeta=0.2, prompts=[1.0, 0, 0], rng=12)
    m, se = pa.oracle_error_from_stats(sp.a[:, 0], sp.b[:, 0], w_star_norm=0.5)
    e01 = np.mean(np.where(sp.oracle[:, 0] > 0, 1.0, -1.0) != sp.y)
    assert abs(e01 - m) < 4.5 * math.sqrt(m * (1 - m) / 40000 + se**2)
    assert 0 < se < 0.01


def test_pa_test_error_with_oracle_head_is_uniform_pooling_formula():
    qs, ws = np.array([3.0, 0, 0]), np.array([0, 0.5, 0])
    n = 40000
    e, se = pa.pa_test_error(np.zeros(3), ws, n, 20, qs, ws, zeta=0.2, rng=8)
    want = 0.5 * math.erfc(0.2 * math.sqrt(20) * 0.5 / math.sqrt(2))  # Q(zeta sqrt(T) |w*|)
    assert abs(e - want) < 4.5 * math.sqrt(want * (1 - want) / n)
    assert se == pytest.approx(math.sqrt(e * (1 - e) / n))


# ------------------------------------------------------------------ three-step algorithm (§9)


@pytest.mark.parametrize("loss", ["correlation", "squared", "logistic"])
def test_three_step_matches_direct_computation_on_same_splits(loss):
    rng = np.random.default_rng(77)
    d, T, n = 8, 10, 300
    qs, ws = _orthogonal_pair(rng, d, 2.0, 1.0)
    eta, gam = 0.7, 1.3
    res = pa.three_step_algorithm(
        n, T, qs, ws, zeta=0.2, loss=loss, eta=eta, gamma=gam, debias="intercept", rng=31
    )
    # the algorithm spawns S1, S2, S3 from SeedSequence(31) in this order
    children = np.random.SeedSequence(31).spawn(3)
    splits = [pa.sample_contextual_mixture(n, T, qs, ws, zeta=0.2, rng=c) for c in children]

    def slope(y, f):
        if loss == "correlation":
            return -y
        if loss == "squared":
            return -(y - f)
        return -y / (1 + np.exp(y * f))

    (X1, y1, _), (X2, y2, _), (X3, y3, _) = splits
    w1 = eta * np.mean(-slope(y1, 0.0)[:, None] * X1.mean(axis=1), axis=0)
    f2, gq2, _ = pa.pa_grads(X2, np.zeros(d), w1)
    q1 = gam * np.mean(-slope(y2, f2)[:, None] * gq2, axis=0)
    f3, _, gw3 = pa.pa_grads(X3, q1, w1)
    w2 = eta * np.mean(-slope(y3, f3)[:, None] * gw3, axis=0)
    np.testing.assert_allclose(res.w1, w1, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.q1, q1, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.w2, w2, rtol=1e-10, atol=1e-13)
    assert res.intercept == pytest.approx(np.mean(pa.pa_forward(X3, q1, w2)), rel=1e-10)
    if loss == "correlation":  # §9 closed forms
        Xc = X2 - X2.mean(axis=1, keepdims=True)
        C = np.einsum("ntd,nte->nde", Xc, Xc) / T
        np.testing.assert_allclose(
            res.q1, gam * np.mean(y2[:, None] * (C @ w1), axis=0), rtol=1e-10, atol=1e-13
        )


def test_three_step_debias_and_prompt_norm():
    qs, ws = np.array([3.0, 0, 0, 0]), np.array([0, 0.5, 0, 0])
    r = pa.three_step_algorithm(
        400, 20, qs, ws, zeta=0.2, prompt_norm_after_step2=0.5, debias="project", rng=3
    )
    assert np.linalg.norm(r.q1) == pytest.approx(0.5, rel=1e-14)
    assert abs(r.w_hat @ r.q1) < 1e-14 * np.linalg.norm(r.w2)
    assert r.cos_w_hat == pytest.approx(
        r.w_hat @ ws / (np.linalg.norm(r.w_hat) * np.linalg.norm(ws)), rel=1e-12
    )
    none = pa.three_step_algorithm(400, 20, qs, ws, zeta=0.2, prompt_norm_after_step2=0.5,
                                   debias="none", rng=3)
    np.testing.assert_array_equal(none.w_hat, r.w2)
    assert none.intercept == 0.0


# ------------------------------------------------------------------ bad input


QS, WS = np.array([3.0, 0, 0]), np.array([0, 1.0, 0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=1.5), "zeta"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.0), "zeta"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.25), "zeta\\*T"),
        (lambda: pa.sample_contextual_mixture(5, 0, QS, WS, zeta=1.0), "T must"),
        (lambda: pa.sample_contextual_mixture(0, 10, QS, WS, zeta=0.2), "n must"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.2, sigma=0.0), "sigma"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.2, sigma=-1), "sigma"),
        (lambda: pa.sample_contextual_mixture(5, 10, [], [], zeta=0.2), "d must"),
        (lambda: pa.sample_contextual_mixture(5, 10, [np.nan, 0, 0], WS, zeta=0.2), "q_star"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, [0, np.inf, 0], zeta=0.2), "w_star"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS[:2], zeta=0.2), "w_star"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.2, variant="Z"), "variant"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.2, variant="D"), "distractors"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.2, label_prior=2), "prior"),
        (lambda: pa.sample_contextual_mixture(5, 10, QS, WS, zeta=0.2, rng="x"), "rng"),
        (lambda: pa.span_statistics(5, 10, QS, WS, zeta=0.2, prompts=[0, 0]), "prompts"),
        (
            lambda: pa.span_statistics(
                5, 10, QS, WS, zeta=0.2, prompts=QS, variant="B", bayes=True
            ),
            "bayes",
        ),
        (lambda: pa.pa_forward(np.ones((2, 3)), [0, 0, np.nan], WS), "q"),
        (lambda: pa.pa_forward(np.ones((2, 3)), QS, WS, temperature=0), "temperature"),
        (lambda: pa.pa_forward(np.ones(3), QS, WS), "X"),
        (lambda: pa.lin_forward(np.ones((2, 3)), QS, WS, scale="T"), "scale"),
        (lambda: pa.sa_forward(np.ones((2, 3)), np.eye(2), WS), "W"),
        (lambda: pa.log_elementary_symmetric([0.0, 1.0], 3), "K"),
        (lambda: pa.bayes_log_odds(np.ones((10, 2)), QS, WS, zeta=0.2), "X"),
        (lambda: pa.ridge_head(np.ones((3, 2)), np.ones(3), 0.0), "lam"),
        (lambda: pa.three_step_algorithm(5, 10, QS, WS, zeta=0.2, debias="x"), "debias"),
        (lambda: pa.three_step_algorithm(5, 10, QS, WS, zeta=0.2, eta=-1), "eta"),
        (lambda: pa.three_step_algorithm(5, 10, QS, WS, zeta=0.2, loss="hinge"), "loss"),
        (lambda: pa.train_attention("mlp", np.ones((2, 3, 2)), [1, -1]), "model"),
        (lambda: pa.train_attention("pa", np.ones((2, 3, 2)), [1, 0]), "y"),
        (lambda: pa.noiseless_attention_stats(10, 11, 1.0), "K"),
        (lambda: pa.conditional_error_variant_b(WS, WS, QS, 0.5, 0.0, 1.0), "b"),
    ],
)
def test_bad_input_raises_value_error_naming_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ streaming moments (§6)


def test_gradient_moments_equal_direct_computation_on_same_draws():
    rng = np.random.default_rng(8080)
    d, T, n = 5, 8, 700
    qs, ws = _orthogonal_pair(rng, d, 2.0, 1.0)
    w, q = rng.standard_normal(d), 0.3 * rng.standard_normal(d)
    E = rng.standard_normal((3, d))
    X, y, _ = pa.sample_contextual_mixture(n, T, qs, ws, zeta=0.25, rng=41)  # same chunk streams
    _, gq, gw = pa.pa_grads(X, q, w)
    for wrt, G in (("q", gq), ("w", gw)):
        Y = y[:, None] * G
        m = pa.gradient_moments(n, T, qs, ws, zeta=0.25, w=w, q=q, wrt=wrt, rng=41)
        np.testing.assert_allclose(m.mean, Y.mean(axis=0), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(m.var, Y.var(axis=0, ddof=1), rtol=1e-10, atol=1e-13)
        mE = pa.gradient_moments(
            n, T, qs, ws, zeta=0.25, w=w, q=q, wrt=wrt, directions=E, rng=41
        )
        np.testing.assert_allclose(mE.mean, (Y @ E.T).mean(axis=0), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(mE.var, (Y @ E.T).var(axis=0, ddof=1), rtol=1e-10, atol=1e-13)
        assert m.n == n and m.se.shape == (d,)


def test_gradient_moments_mean_matches_population_identity():
    # E[y C(X)] w = zeta(1-zeta)[(q*-mu)<w*,w> + w*<q*-mu,w>] (§6.1 item 2); 4.5-sigma CIs
    rng = np.random.default_rng(9090)
    d, T, zeta = 6, 10, 0.3
    qs, ws = _orthogonal_pair(rng, d, 2.0, 1.0)
    mu = 0.5 * rng.standard_normal(d)
    w = rng.standard_normal(d)
    m = pa.gradient_moments(60000, T, qs, ws, zeta=zeta, w=w, mu_irr=mu, rng=3)
    want = zeta * (1 - zeta) * ((qs - mu) * (ws @ w) + ws * ((qs - mu) @ w))
    assert np.all(np.abs(m.mean - want) < 4.5 * m.se)
    mw = pa.gradient_moments(60000, T, qs, ws, zeta=zeta, w=w, wrt="w", rng=4)
    assert np.all(np.abs(mw.mean - zeta * ws) < 4.5 * mw.se)  # E[y xbar(0)] = zeta w*


@given(seed=SEEDS, T=st.integers(1, 30), data=st.data(), gam=st.floats(0.0, 3.0))
def test_attention_statistics_property(seed, T, data, gam):
    # a(0) = zeta, b(0) = 1/sqrt(T) (Variant A); Variant B gives the noiseless a(c), b(c)
    K = data.draw(st.integers(1, T))
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 8))
    qs, ws = _orthogonal_pair(rng, d, float(rng.uniform(0.1, 5)), float(rng.uniform(0.1, 5)))
    u = qs / np.linalg.norm(qs)
    sp = pa.span_statistics(
        40, T, qs, ws, zeta=K / T, prompts=np.outer([0.0, gam], u), rng=seed
    )
    np.testing.assert_allclose(sp.a[:, 0], K / T, rtol=1e-13)
    np.testing.assert_allclose(sp.b[:, 0], 1 / math.sqrt(T), rtol=1e-13)
    spb = pa.span_statistics(
        40, T, qs, ws, zeta=K / T, prompts=gam * u, variant="B", rng=seed
    )
    a, b = pa.noiseless_attention_stats(T, K, gam * float(np.linalg.norm(qs)))
    np.testing.assert_allclose(spb.a[:, 0], a, rtol=1e-12)
    np.testing.assert_allclose(spb.b[:, 0], b, rtol=1e-12)


def test_mean_difference_fits_equal_direct_fits_on_same_draws():
    rng = np.random.default_rng(1357)
    d, T, n, n_fits = 6, 10, 20, 10  # n * n_fits <= 256: one chunk stream on both routes
    qs, ws = _orthogonal_pair(rng, d, 3.0, 0.5)
    u = qs / 3.0
    prompt = 0.8 * u + 0.1 * rng.standard_normal(d)
    dot, norm = pa.mean_difference_fits(n_fits, n, T, qs, ws, zeta=0.2, prompt=prompt, rng=77)
    X, y, _ = pa.sample_contextual_mixture(n * n_fits, T, qs, ws, zeta=0.2, rng=77)
    xb = pa.attention_outputs(X, prompt)
    for f in range(n_fits):
        sl = slice(f * n, (f + 1) * n)
        w_hat = pa.mean_difference_head(xb[sl], y[sl], u=u)
        assert dot[f] == pytest.approx(w_hat @ ws, rel=1e-12, abs=1e-14)
        assert norm[f] == pytest.approx(np.linalg.norm(w_hat), rel=1e-12)


def test_mean_difference_fits_variant_b_law():
    # §8.3 in Variant B: <w_hat, w*> = a|w*|^2 + sigma (b/sqrt n) |w*| g1
    T, n, m = 20, 5, 20000
    qs, ws = np.array([3.0, 0, 0, 0, 0, 0]), np.array([0, 0.5, 0, 0, 0, 0])
    a, b = pa.noiseless_attention_stats(T, 4, 3.0 * 3.0)
    dot, _ = pa.mean_difference_fits(
        m, n, T, qs, ws, zeta=0.2, prompt=[3.0, 0, 0, 0, 0, 0], variant="B", rng=5
    )
    sd = b / math.sqrt(n) * 0.5
    assert abs(dot.mean() - a * 0.25) < 4.5 * sd / math.sqrt(m)
    assert abs(dot.var(ddof=1) / sd**2 - 1) < 4.5 * math.sqrt(2 / (m - 1))
