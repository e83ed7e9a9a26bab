"""Property tests of theory/pa (hypothesis; seeds drawn so that failures shrink)."""

import functools
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import theory.pa as pa

seeds = st.integers(0, 2**32 - 1)
Z_9999 = stats.norm.ppf(1 - 1e-4 / 2)


@given(seed=seeds, T=st.integers(1, 10), data=st.data())
def test_log_e_k_recursion_equals_enumeration(seed, T, data):
    K = data.draw(st.integers(0, T))
    rng = np.random.default_rng(seed)
    log_pi = rng.normal(scale=rng.uniform(0.1, 20.0), size=T)
    fast = pa.log_elementary_symmetric(log_pi, K)
    # brute force over K-subsets with itertools, in float64 with max-subtraction
    sums = np.array([log_pi[list(c)].sum() for c in itertools.combinations(range(T), K)])
    top = sums.max()
    brute = top + math.log(np.exp(sums - top).sum())
    assert abs(fast - brute) <= 1e-10 * max(1.0, abs(brute))  # relative 1e-10 on e_K
    assert abs(pa.log_elementary_symmetric(log_pi, K, dps=30) - fast) <= 1e-10 * max(
        1.0, abs(brute))


@given(c1=st.floats(-30, 30), c2=st.floats(-30, 30), T=st.integers(2, 30), data=st.data())
def test_relevant_mass_increasing_and_threshold(c1, c2, T, data):
    zeta = data.draw(st.integers(1, T - 1)) / T
    a1, b1 = pa.attention_stats_noiseless(zeta, c1, T)
    a2, _ = pa.attention_stats_noiseless(zeta, c2, T)
    if c1 < c2:
        assert a1 <= a2
    thr = pa.relevance_threshold(zeta)
    if abs(c1 - thr) > 1e-9:
        assert (a1 > 0.5) == (c1 > thr)
    # b lies between the perfect-selection and the single-token value
    assert min(1 / math.sqrt(T), 1 / math.sqrt(zeta * T)) - 1e-15 <= b1 <= 1.0 + 1e-15


@given(zeta=st.sampled_from([0.25, 0.5, 0.75, 1.0]), T=st.sampled_from([4, 8, 20, 40]))
def test_uniform_attention_is_noiseless_at_zero(zeta, T):
    a, b = pa.attention_stats_noiseless(zeta, 0.0, T)
    assert (a, b) == pytest.approx(pa.attention_stats_uniform(zeta, T), rel=1e-15)


@given(zeta=st.floats(0.02, 1.0), wn=st.floats(0.1, 5.0), sg=st.floats(0.1, 5.0),
       d=st.integers(5, 400), T=st.integers(2, 40), c=st.floats(0.05, 0.99))
def test_head_step_n_star_inverts_cos(zeta, wn, sg, d, T, c):
    n = pa.head_step_n_star(c, zeta=zeta, w_norm=wn, sigma=sg, d=d, T=T)
    got = pa.head_step_cos(zeta, w_norm=wn, q_norm=1.0, sigma=sg, d=d, T=T, n=n, balanced=True)
    assert got == pytest.approx(c, rel=1e-12)


@given(zeta=st.floats(0.05, 0.95), wn=st.floats(0.1, 5.0), sg=st.floats(0.1, 5.0),
       T=st.integers(2, 30))
def test_nu_second_moment_equals_noncentral_chi2(zeta, wn, sg, T):
    # T nu / sigma^2 ~ noncentral chi2(T - 1, A^2 / sigma^2): an independent route (scipy)
    A2 = T * zeta * (1 - zeta) * wn**2
    mean, var = stats.ncx2.stats(T - 1, A2 / sg**2, moments="mv")
    ref = (float(var) + float(mean) ** 2) * sg**4 / T**2
    assert pa.nu_second_moment(zeta, w_norm=wn, sigma=sg, T=T) == pytest.approx(ref, rel=1e-10)


@functools.cache
def _pa_fns(T, d):
    m = pa.pa_model(T, d)
    return (pa.lambdify_model(m), pa.lambdify_model(m, pa.model_closed_form(m, "grad_q")),
            pa.lambdify_model(m, pa.model_closed_form(m, "grad_w")),
            pa.lambdify_model(m, pa.model_closed_form(m, "hess_qq")))


@given(seed=seeds, T=st.integers(2, 4), d=st.integers(1, 3))
def test_pa_closed_forms_against_finite_differences(seed, T, d):
    f, gq, gw, hqq = _pa_fns(T, d)
    rng = np.random.default_rng(seed)
    X, q, w = rng.normal(size=(T, d)), rng.normal(size=d), rng.normal(size=d)
    h = 1e-5
    E = np.eye(d)
    fd_q = np.array([(f(X, q=q + h * e, w=w) - f(X, q=q - h * e, w=w)) / (2 * h) for e in E])
    fd_w = np.array([(f(X, q=q, w=w + h * e) - f(X, q=q, w=w - h * e)) / (2 * h) for e in E])
    fd_h = np.array([(gq(X, q=q + h * e, w=w) - gq(X, q=q - h * e, w=w)).ravel() / (2 * h)
                     for e in E])
    for fd, cf in ((fd_q, gq(X, q=q, w=w).ravel()), (fd_w, gw(X, q=q, w=w).ravel()),
                   (fd_h, hqq(X, q=q, w=w))):
        assert np.max(np.abs(fd - cf)) <= 1e-6 * max(1.0, np.max(np.abs(cf)))


@settings(max_examples=10)
@given(seed=seeds, T=st.integers(3, 8), d=st.integers(2, 4))
def test_prompt_gradient_mean_monte_carlo(seed, T, d):
    """C2-type check: E[y C_hat(X)] w from simulation, CI per coordinate, Bonferroni."""
    rng = np.random.default_rng(seed)
    K = int(rng.integers(1, T + 1))
    q, w, mu, h = rng.normal(size=(4, d))
    sigma, N = float(rng.uniform(0.3, 2.0)), 20_000
    y = rng.choice([-1.0, 1.0], size=N)
    rel = np.argsort(rng.random((N, T)), axis=1) < K
    X = sigma * rng.standard_normal((N, T, d)) + np.where(
        rel[..., None], q + y[:, None, None] * w, mu)
    Xc = X - X.mean(axis=1, keepdims=True)
    G = y[:, None] * np.einsum("ntj,nt->nj", Xc, Xc @ h) / T
    pred = pa.prompt_gradient_mean(K / T, q, w, h, mu)
    z = stats.norm.ppf(1 - 1e-4 / (2 * d))
    se = G.std(axis=0, ddof=1) / math.sqrt(N)
    assert np.all(np.abs(G.mean(axis=0) - pred) <= z * se)


@settings(max_examples=8)
@given(r=st.floats(0.0, 2.5), n=st.integers(1, 30), dof=st.integers(1, 12))
def test_mean_difference_polar_matches_mpmath(r, n, dof):
    fast = pa.mean_difference_error(r, n, dof)
    ref = pa.mean_difference_error(r, n, dof, method="mpmath", dps=20)
    assert abs(fast - ref) <= 1e-8


@given(r=st.floats(0.0, 2.0), R=st.floats(10.5, 40.0), dof=st.integers(1, 300))
def test_mean_difference_rules_agree_for_large_R(r, R, dof):
    tensor = pa.mean_difference_conditional_error(r, R, dof, method="tensor")
    polar = pa.mean_difference_conditional_error(r, R, dof, method="polar", nodes=(600, 80))
    assert abs(tensor - polar) <= 1e-7


@given(seed=seeds, d=st.integers(2, 6))
def test_construction_lin_is_label_blind(seed, d):
    rng = np.random.default_rng(seed)
    q, w = rng.normal(size=(2, d)) * rng.uniform(0.1, 5.0, size=(2, 1))
    w -= (w @ q) / (q @ q) * q
    Xp, Xm = pa.construction_tokens(1, q, w), pa.construction_tokens(-1, q, w)
    np.testing.assert_allclose(Xp.T @ Xp, Xm.T @ Xm, rtol=1e-12, atol=1e-12)
    gamma = rng.uniform(0.01, 5.0)
    c = gamma * (q @ q)
    fp = pa.construction_f_pa(1, c, w_norm=float(np.linalg.norm(w)))
    assert fp == pytest.approx(-pa.construction_f_pa(-1, c, w_norm=float(np.linalg.norm(w))))
    assert fp > 0
