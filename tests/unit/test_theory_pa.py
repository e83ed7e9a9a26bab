"""Unit tests of theory/pa: closed forms against definitions, derivations, references."""

import ast
import inspect
import itertools
import math
import pathlib

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import stats

import theory.pa as pa
from theory.pa import _attention

Z_999 = stats.norm.ppf(1 - 0.001 / 2)  # two-sided 99.9% normal quantile


# ------------------------------------------------------------------ package surface


def test_all_matches_public_names_and_is_sorted():
    public = {n for n in dir(pa) if not n.startswith("_")}
    public -= {m.name for m in pathlib.Path(pa.__file__).parent.glob("*.py")} | {
        p.stem.lstrip("_") for p in pathlib.Path(pa.__file__).parent.glob("_*.py")}
    assert pa.__all__ == sorted(pa.__all__)
    assert set(pa.__all__) == {n for n in public if not inspect.ismodule(getattr(pa, n))}


def test_layer_imports():
    allowed = {"sympy", "mpmath", "numpy", "theory", "__future__"}
    import sys
    for path in pathlib.Path(pa.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            for r in roots:
                assert r in allowed or r in sys.stdlib_module_names, (path.name, r)


# ----------------------------------------------------------------------------- options


def test_options_defaults_and_properties():
    o = pa.PAOptions()
    assert (o.d, o.T, o.K, o.variant, o.loss) == (100, 20, 4, "A", "correlation")
    assert o.orthogonal_context and o.temperature_value == 1.0 and o.lin_scale_value == 1 / 20
    assert pa.PAOptions(d=16, temperature="1/sqrt(d)").temperature_value == 0.25
    assert pa.PAOptions(zeta=0.3, T=7, relevant_count="binomial").K is None
    q, w, mu = pa.PAOptions(d=3, q_norm=2.0, w_norm=1.5, qw_cos=0.6, mu_irr=(1.0,)).frame()
    assert math.isclose(np.dot(q, w), 2.0 * 1.5 * 0.6)
    assert math.isclose(np.linalg.norm(w), 1.5) and mu == (1.0, 0.0, 0.0)
    switches = pa.PAOptions().reconstruction_switches()
    assert set(switches) == {opt.name for opt in pa.INFERRED_OPTIONS}
    text = pa.format_inferred_options()
    for opt in pa.INFERRED_OPTIONS:
        assert f"pa.{opt.name} = {opt.default}" in text


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"zeta": 1.5}, "zeta"), ({"zeta": 0.0}, "zeta"), ({"zeta": 0.17, "T": 20}, "zeta"),
    ({"T": 0}, "T"), ({"d": 0}, "d"), ({"d": 2.5}, "d"), ({"sigma": 0.0}, "sigma"),
    ({"sigma": float("nan")}, "sigma"), ({"q_norm": -1.0}, "q_norm"),
    ({"w_norm": float("inf")}, "w_norm"), ({"qw_cos": 1.2}, "qw_cos"),
    ({"variant": "E"}, "variant"), ({"relevant_count": "poisson"}, "relevant_count"),
    ({"temperature": "2"}, "temperature"), ({"lin_scale": "T"}, "lin_scale"),
    ({"sa_pooling": "max"}, "sa_pooling"), ({"loss": "hinge"}, "loss"),
    ({"debias": "x"}, "debias"), ({"label_prior": 1.0}, "label_prior"),
    ({"prompt_self_attention": 1}, "prompt_self_attention"),
    ({"d": 2, "mu_irr": (1.0, 2.0, 3.0)}, "mu_irr"), ({"mu_irr": [0.0]}, "mu_irr"),
])
def test_options_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        pa.PAOptions(**kwargs)


# ------------------------------------------------------------------------------ models

PA_NAMES = ["grad_q", "grad_w", "hess_qq", "hess_qw", "hess_ww", "grad_q_at_zero"]


@pytest.mark.parametrize("name", PA_NAMES)
def test_pa_closed_forms_symbolic(name):
    # T = 3 except for the Hessian (T = 2 keeps it quick; T = 3, d = 3 is checked
    # numerically against the sympy derivative below)
    assert pa.verify_closed_form(pa.pa_model(2 if name == "hess_qq" else 3, 2), name)


@pytest.mark.parametrize("name", ["grad_q", "hess_qq", "hess_qw", "grad_q_at_zero"])
def test_pa_closed_forms_with_temperature(name):
    assert pa.verify_closed_form(pa.pa_model(2, 2, temperature="1/sqrt(d)"), name)


@pytest.mark.parametrize("name", PA_NAMES)
def test_lin_closed_forms_symbolic(name):
    assert pa.verify_closed_form(pa.lin_model(3, 2), name)


@pytest.mark.parametrize("pooling", ["mean", "first"])
@pytest.mark.parametrize("name", ["grad_W", "grad_w", "grad_W_at_zero"])
def test_sa_closed_forms_symbolic(pooling, name):
    assert pa.verify_closed_form(pa.sa_model(2, 2, sa_pooling=pooling), name)


def test_verify_closed_form_detects_wrong_formulas():
    m = pa.pa_model(2, 2)
    s = sp.Matrix([sp.exp(z - m.shifts[0]) for z in m.X * m.param("q")])
    s = s / sum(s)
    wrong_hess = m.X.T * (sp.diag(*s) - s * s.T) * m.X  # J in place of H
    assert not pa.verify_closed_form(m, "hess_qq", closed_form=wrong_hess)
    assert not pa.verify_closed_form(m, "grad_q", closed_form=2 * pa.model_closed_form(m, "grad_q"))
    sa = pa.sa_model(2, 2)
    assert not pa.verify_closed_form(sa, "grad_W",
                                     closed_form=pa.model_closed_form(sa, "grad_W").T)


def test_model_name_validation():
    with pytest.raises(ValueError, match="name"):
        pa.model_closed_form(pa.sa_model(2, 1), "hess_WW")
    with pytest.raises(ValueError, match="T"):
        pa.pa_model(0, 2)
    with pytest.raises(ValueError, match="temperature"):
        pa.pa_model(2, 2, temperature="2")
    with pytest.raises(ValueError, match="X"):
        pa.lambdify_model(pa.pa_model(2, 2))(np.zeros((3, 2)), q=np.zeros(2), w=np.zeros(2))


@pytest.fixture(scope="module")
def pa32():
    m = pa.pa_model(3, 3)
    fns = {n: (pa.lambdify_model(m, pa.model_derivative(m, n)),
               pa.lambdify_model(m, pa.model_closed_form(m, n)))
           for n in ["grad_q", "grad_w", "hess_qq", "hess_qw"]}
    return m, pa.lambdify_model(m), fns


def test_pa_numeric_derivative_agreement(pa32):
    m, f, fns = pa32
    rng = np.random.default_rng(20260101)
    for _ in range(5):
        X, q, w = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
        for derived, closed in fns.values():
            np.testing.assert_allclose(derived(X, q=q, w=w), closed(X, q=q, w=w),
                                       rtol=1e-12, atol=1e-13)
        # central differences (an independent route), relative 1e-6
        h = 1e-6
        fd = np.array([(f(X, q=q + h * e, w=w) - f(X, q=q - h * e, w=w)) / (2 * h)
                       for e in np.eye(3)])
        closed = fns["grad_q"][1](X, q=q, w=w).ravel()
        assert np.max(np.abs(fd - closed)) <= 1e-6 * max(1.0, np.max(np.abs(closed)))


def test_pa_softmax_is_stable_for_large_scores(pa32):
    m, f, fns = pa32
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    q = np.array([2000.0, 0.0, -5.0])
    w = np.array([1.0, 2.0, 3.0])
    assert f(X, q=q, w=w) == pytest.approx(1.0, abs=1e-12)  # all mass on token 0
    assert np.all(np.isfinite(fns["hess_qq"][1](X, q=q, w=w)))


def test_pa_mpmath_gradient_30_digits():
    m = pa.pa_model(2, 2)
    X = [["0.3", "-1.1"], ["0.7", "0.2"]]
    q, w = ["0.5", "-0.25"], ["1.5", "0.75"]
    X = [[mpmath.mpf(v) for v in row] for row in X]
    q, w = [mpmath.mpf(v) for v in q], [mpmath.mpf(v) for v in w]
    numeric = pa.derivative_mp(m, "q", X, q=q, w=w, dps=30)
    closed = pa.lambdify_model(m, pa.model_closed_form(m, "grad_q"), backend="mpmath",
                               dps=40)(X, q=q, w=w)
    assert max(abs(numeric[i] - closed[i]) for i in range(2)) < mpmath.mpf(10) ** -20


# ----------------------------------------------------------------------------- moments


@pytest.mark.parametrize(("T", "d", "K", "rc"), [(3, 2, 1, "fixed"), (4, 2, 2, "fixed"),
                                                  (3, 2, None, "binomial")])
def test_population_moments_symbolic(T, d, K, rc):
    assert all(pa.verify_population_moments(T, d, K=K, relevant_count=rc).values())


def test_population_moments_mutation_detected():
    derived, closed, sy = pa.derive_population_moments(3, 2, K=1)
    zeta = sp.Rational(1, 3)
    a, w = sy["q_star"] - sy["mu_irr"], sy["w_star"]
    wrong = zeta * (a * w.T + w * a.T)  # drops the factor (1 - zeta)
    assert any(sp.expand(e) != 0 for e in derived.y_chat - wrong)


def test_population_moments_numeric_matches_derivation():
    T, d = 3, 2
    derived, _, sy = pa.derive_population_moments(T, d, relevant_count="binomial")
    rng = np.random.default_rng(77)
    q, w, mu = rng.normal(size=(3, d))
    zeta, sigma = 0.35, 0.8
    subs = {sy["sigma"]: sigma, sy["zeta"]: zeta}
    for name, v in (("q_star", q), ("w_star", w), ("mu_irr", mu)):
        subs.update(dict(zip(sy[name], v, strict=True)))
    num = pa.population_moments(zeta, q, w, mu, sigma=sigma, T=T, relevant_count="binomial")
    for name, value in zip(pa.PopulationMoments._fields, num, strict=True):
        ref = np.array(getattr(derived, name).subs(subs), dtype=float).reshape(value.shape)
        np.testing.assert_allclose(value, ref, rtol=1e-12, atol=1e-12)


def test_population_moments_validation():
    with pytest.raises(ValueError, match="zeta"):
        pa.population_moments(1.2, [1.0], [0.0], sigma=1.0, T=3)
    with pytest.raises(ValueError, match="w_star"):
        pa.population_moments(0.2, [1.0, 0.0], [0.0], sigma=1.0, T=3)
    with pytest.raises(ValueError, match="K"):
        pa.derive_population_moments(3, 2, K=4)


# ------------------------------------------------------------------------------ steps


@pytest.mark.parametrize(("derive", "formula"), [
    (pa.derive_nu_second_moment, pa.nu_second_moment), (pa.derive_nu_variance, pa.nu_variance)])
@pytest.mark.parametrize(("T", "K"), [(2, 1), (3, 1), (4, 2), (5, 2)])
def test_nu_moments_exact(T, K, derive, formula):
    expr = derive(T, K)
    wn, sg = sp.symbols("w_norm sigma", positive=True)
    for wv, sv in ((0.7, 1.3), (2.0, 0.4)):
        assert float(expr.subs({wn: wv, sg: sv})) == pytest.approx(
            formula(K / T, w_norm=wv, sigma=sv, T=T), rel=1e-12)


@pytest.mark.parametrize(("T", "K", "d"), [(2, 1, 2), (3, 1, 3), (3, 2, 3)])
def test_trace_cov_exact(T, K, d):
    expr = pa.derive_trace_cov(T, K, d)
    qn, wn, sg = sp.symbols("q_norm w_norm sigma", positive=True)
    vals = {qn: 1.7, wn: 0.8, sg: 1.1}
    exact = float(expr.subs(vals))
    formula = pa.prompt_gradient_trace_cov(K / T, q_norm=1.7, w_norm=0.8, sigma=1.1, d=d, T=T)
    assert exact == pytest.approx(formula, rel=1e-12)
    # the C4 mutation (d * V1 in place of the trace) is visibly different
    V1 = pa.prompt_gradient_noise_variance(K / T, [1.7, 0], [0, 0.8], [0, 0.8], sigma=1.1, T=T)
    assert abs(d * V1 - exact) > 1e-3 * exact


@pytest.mark.parametrize(("T", "K", "d"), [(2, 1, 2), (3, 1, 3), (3, 2, 3)])
def test_balanced_trace_cov_exact_and_the_same_for_both_labels(T, K, d):
    expr = pa.derive_trace_cov(T, K, d, labels="balanced")
    qn, wn, sg = sp.symbols("q_norm w_norm sigma", positive=True)
    vals = {qn: 1.7, wn: 0.8, sg: 1.1}
    exact = float(expr.subs(vals))
    kw = dict(q_norm=1.7, w_norm=0.8, sigma=1.1, d=d, T=T)
    assert exact == pytest.approx(pa.prompt_gradient_trace_cov(K / T, labels="balanced", **kw),
                                  rel=1e-12)
    # the balanced trace differs from the spec's by |w*|^2 E[nu]^2 exactly
    assert exact != pytest.approx(pa.prompt_gradient_trace_cov(K / T, **kw), rel=1e-3)
    w_frac = K / T * (1 - K / T) * T * 0.8**2
    gap = 0.8**2 * ((w_frac + 1.1**2 * (T - 1)) / T) ** 2
    assert pa.prompt_gradient_trace_cov(K / T, **kw) - exact == pytest.approx(gap, rel=1e-10)


def test_labels_option_rejects_unknown_laws():
    with pytest.raises(ValueError, match="labels must be one of"):
        pa.prompt_gradient_trace_cov(0.2, q_norm=1.0, w_norm=1.0, sigma=1.0, d=3, T=5,
                                     labels="iid")
    with pytest.raises(ValueError, match="labels"):
        pa.prompt_step_n_star(0.9, zeta=0.2, q_norm=1.0, w_norm=1.0, sigma=1.0, d=3, T=5,
                              labels=None)


def _simulate_tokens(rng, N, T, K, d, q_norm, w_norm, sigma):
    """Variant A tokens in the frame e_1 = u, e_2 = w*-hat, random K-subset R."""
    y = rng.choice([-1.0, 1.0], size=N)
    rel = np.argsort(rng.random((N, T)), axis=1) < K
    X = sigma * rng.standard_normal((N, T, d))
    X[:, :, 0] += q_norm * rel
    X[:, :, 1] += w_norm * y[:, None] * rel
    return X, y


def test_nu_and_trace_cov_monte_carlo():
    rng = np.random.default_rng(918273645)
    N, T, K, d, qn, wn, sg = 100_000, 6, 2, 4, 1.5, 0.9, 1.0
    X, y = _simulate_tokens(rng, N, T, K, d, qn, wn, sg)
    Xc = X - X.mean(axis=1, keepdims=True)
    v = Xc[:, :, 1] * wn  # centred <x_t, w*>
    Y = y[:, None] * np.einsum("ntj,nt->nj", Xc, v) / T  # y C_hat w*
    # E[nu^2]
    nu = (Xc[:, :, 1] ** 2).mean(axis=1)
    est, se = np.mean(nu**2), np.std(nu**2, ddof=1) / math.sqrt(N)
    assert abs(est - pa.nu_second_moment(K / T, w_norm=wn, sigma=sg, T=T)) < Z_999 * se
    # tr Cov(Y) with the exact mean S u
    S = pa.prompt_gradient_signal(K / T, q_norm=qn, w_norm=wn)
    D = np.sum((Y - np.array([S, 0, 0, 0])) ** 2, axis=1)
    est, se = D.mean(), D.std(ddof=1) / math.sqrt(N)
    tr = pa.prompt_gradient_trace_cov(K / T, q_norm=qn, w_norm=wn, sigma=sg, d=d, T=T)
    assert abs(est - tr) < Z_999 * se
    # variance off the span (coordinate 3): V_1 of §6.3 item 2
    V1 = pa.prompt_gradient_noise_variance(K / T, [qn, 0, 0, 0], [0, wn, 0, 0], [0, wn, 0, 0],
                                           sigma=sg, T=T)
    c = Y[:, 3] ** 2
    assert abs(c.mean() - V1) < Z_999 * c.std(ddof=1) / math.sqrt(N)


def test_head_step_moments_monte_carlo():
    rng = np.random.default_rng(5550123)
    reps, n, T, K, d = 20_000, 4, 5, 2, 3
    q, w, mu = np.array([1.2, 0.0, 0.0]), np.array([0.0, 0.7, 0.0]), np.array([0.3, 0.0, -0.5])
    sigma = 0.9
    y = rng.choice([-1.0, 1.0], size=(reps, n))
    rel = np.argsort(rng.random((reps, n, T)), axis=2) < K
    X = sigma * rng.standard_normal((reps, n, T, d)) + np.where(
        rel[..., None], q + y[..., None, None] * w, mu)
    step = np.mean(y[..., None] * X.mean(axis=2), axis=1)
    mean, var = pa.head_step_moments(K / T, q, w, mu, sigma=sigma, T=T, n=n)
    for j in range(d):
        se = math.sqrt(var[j] / reps)
        assert abs(step[:, j].mean() - mean[j]) < Z_999 * se
        s2 = step[:, j].var(ddof=1)
        assert abs(s2 - var[j]) < Z_999 * var[j] * math.sqrt(2 / (reps - 1)) * 1.5


def test_prompt_gradient_mean_equals_moment():
    rng = np.random.default_rng(3)
    q, w, mu, h = rng.normal(size=(4, 5))
    m = pa.population_moments(0.3, q, w, mu, sigma=1.0, T=10)
    np.testing.assert_allclose(pa.prompt_gradient_mean(0.3, q, w, h, mu), m.y_chat @ h,
                               rtol=1e-12, atol=1e-14)
    mb = pa.population_moments(0.3, q, w, mu, sigma=1.0, T=10, relevant_count="binomial")
    np.testing.assert_allclose(
        pa.prompt_gradient_mean(0.3, q, w, h, mu, T=10, relevant_count="binomial"),
        mb.y_chat @ h, rtol=1e-12, atol=1e-14)


def test_step_validation():
    with pytest.raises(ValueError, match="c"):
        pa.head_step_n_star(1.0, zeta=0.2, w_norm=1.0, sigma=1.0, d=10, T=5)
    with pytest.raises(ValueError, match="sigma"):
        pa.nu_second_moment(0.2, w_norm=1.0, sigma=-1.0, T=5)
    with pytest.raises(ValueError, match="T"):
        pa.prompt_gradient_mean(0.2, [1.0], [1.0], [1.0], relevant_count="binomial")


# -------------------------------------------------------------------------- attention


@pytest.mark.parametrize(("T", "K"), [(1, 1), (5, 1), (5, 2), (7, 7), (30, 6)])
def test_noiseless_attention_definition_equals_closed_form(T, K):
    a_def, tb_def = pa.noiseless_attention_from_definition(T, K)
    a, tb = pa.noiseless_attention_closed_form()
    sub = {_attention._ZETA: sp.Rational(K, T)}
    assert sp.simplify(a_def - a.subs(sub)) == 0
    assert sp.simplify(tb_def - tb.subs(sub)) == 0
    c = _attention._C
    assert a_def.subs(c, 0) == sp.Rational(K, T) and tb_def.subs(c, 0) == 1  # a=zeta, b=1/sqrt T


def test_threshold_and_monotonicity_symbolic():
    zeta = _attention._ZETA
    assert sp.simplify(pa.relevance_threshold_sym() - sp.log((1 - zeta) / zeta)) == 0
    assert pa.verify_relevant_mass_increasing()
    a, _ = pa.noiseless_attention_closed_form()
    assert sp.simplify(a.subs(_attention._C, pa.relevance_threshold_sym()) - sp.Rational(1, 2)) == 0


def test_attention_stats_numeric():
    zeta, T = 0.2, 20
    assert pa.attention_stats_uniform(zeta, T) == (0.2, 1 / math.sqrt(20))
    a, tb = pa.noiseless_attention_closed_form()
    for c in (-3.0, 0.0, 0.7, 5.0):
        an, bn = pa.attention_stats_noiseless(zeta, c, T)
        sub = {_attention._ZETA: zeta, _attention._C: c}
        assert an == pytest.approx(float(a.subs(sub)), rel=1e-13)
        assert T * bn**2 == pytest.approx(float(tb.subs(sub)), rel=1e-13)
    a_inf, b_inf = pa.attention_stats_noiseless(zeta, 1e4, T)
    assert a_inf == 1.0 and b_inf == pytest.approx(1 / math.sqrt(zeta * T), rel=1e-15)


def test_snr_heuristic_and_maximiser():
    kw = dict(zeta=0.2, q_norm=3.0, w_norm=0.5, sigma=1.0, T=20)
    assert pa.snr_heuristic(0.0, **kw) == pytest.approx(0.2 * math.sqrt(20) * 0.5, rel=1e-14)
    g = pa.snr_heuristic_maximiser(zeta=0.2, q_norm=3.0, sigma=1.0)
    # sympy derivative of log SNR vanishes at the maximiser; it is a maximum
    G = sp.Symbol("G", positive=True)
    logsnr = 3 * G - G**2 / 2 - sp.log(sp.Rational(1, 5) * sp.exp(6 * G) + sp.Rational(4, 5)) / 2
    assert abs(float(sp.diff(logsnr, G).subs(G, g))) < 1e-12
    assert pa.snr_heuristic(g, **kw) > max(pa.snr_heuristic(g + 0.01, **kw),
                                          pa.snr_heuristic(g - 0.01, **kw), 
                                          pa.snr_heuristic(0.0, **kw))
    assert pa.snr_heuristic_maximiser(zeta=1.0, q_norm=3.0, sigma=1.0) == 0.0
    assert pa.snr_heuristic(1e3, **kw) == 0.0  # no overflow, underflows to 0


# ----------------------------------------------------------------------------- errors


def test_oracle_errors_consistent():
    zeta, T, wn, sg = 0.2, 20, 0.5, 1.0
    u = pa.oracle_error_uniform(zeta, T, w_norm=wn, sigma=sg)
    assert u == pytest.approx(pa.oracle_pa_error(zeta, 1 / math.sqrt(T), w_norm=wn, sigma=sg))
    assert u == pytest.approx(stats.norm.sf(zeta * math.sqrt(T) * wn / sg), rel=1e-12)
    p = pa.oracle_error_perfect(zeta, T, w_norm=wn, sigma=sg)
    assert p == pytest.approx(stats.norm.sf(math.sqrt(zeta * T) * wn / sg), rel=1e-12)
    kw = dict(zeta=zeta, T=T, q_norm=3.0, w_norm=wn, sigma=sg)
    assert pa.oracle_error_noiseless(0.0, **kw) == pytest.approx(u, rel=1e-14)
    assert pa.oracle_error_noiseless(1e3, **kw) == pytest.approx(p, rel=1e-12)
    assert p < pa.oracle_error_noiseless(0.5, **kw) < u


@pytest.mark.parametrize(("r", "n", "dof"), [(1.0, 5, 4), (1.0, 5, 5), (0.5, 3, 1),
                                             (1.5, 40, 20), (0.8, 1, 2)])
def test_mean_difference_gauss_matches_mpmath(r, n, dof):
    fast = pa.mean_difference_error(r, n, dof)
    ref = pa.mean_difference_error(r, n, dof, method="mpmath", dps=20)
    assert abs(fast - ref) <= 1e-8
    assert abs(pa.mean_difference_error(r, n, dof, method="tensor") - ref) <= 1e-4


def test_mean_difference_large_R_switches_to_tensor():
    a = pa.mean_difference_conditional_error(1.2, 30.0, 198)
    b = pa.mean_difference_conditional_error(1.2, 30.0, 198, method="tensor", nodes=(300, 120))
    assert abs(a - b) < 1e-12


def test_mean_difference_monte_carlo_and_mutation():
    rng = np.random.default_rng(4242)
    r, n, N = 1.0, 5, 400_000
    g = rng.standard_normal(N)
    for dof in (4, 5):
        x = rng.chisquare(dof, N)
        h = r + g / math.sqrt(n)
        vals = stats.norm.sf(r * h / np.sqrt(h * h + x / n))
        pred = pa.mean_difference_error(r, n, dof)
        assert abs(vals.mean() - pred) < Z_999 * vals.std(ddof=1) / math.sqrt(N)
    # the C9 mutation d - 1 versus d - 2 is a real difference at d = 6, n = 5
    assert abs(pa.mean_difference_error(r, n, 4) - pa.mean_difference_error(r, n, 5)) > 5e-3


def test_mean_difference_limits():
    r, psi = 1.3, 0.5
    lim = pa.mean_difference_limit_error_deterministic(r, psi)
    a, b, wn, sg = 0.6, 0.3, 1.3 * 0.3 / 0.6, 1.0  # r = a wn / (sg b)
    assert pa.mean_difference_limit_error(a, b, mean_a=a, mean_b2=b * b, w_norm=wn, sigma=sg,
                                          psi=psi) == pytest.approx(lim, rel=1e-13)
    # finite n approaches the limit at fixed dof / n = psi (error O(1/n))
    gaps = [abs(pa.mean_difference_error(r, n, psi * n) - lim) for n in (200, 800, 3200)]
    assert gaps[2] < gaps[1] < gaps[0] and gaps[2] < 2e-3


def test_mean_difference_validation():
    with pytest.raises(ValueError, match="dof"):
        pa.mean_difference_error(1.0, 5, 0)
    with pytest.raises(ValueError, match="method"):
        pa.mean_difference_error(1.0, 5, 4, method="simpson")
    with pytest.raises(ValueError, match="n"):
        pa.mean_difference_error(1.0, 0, 4)
    with pytest.raises(ValueError, match="b"):
        pa.oracle_pa_error(0.5, 0.0, w_norm=1.0, sigma=1.0)


@pytest.mark.slow
def test_mean_difference_mpmath_2d_matches_1d():
    a = pa.mean_difference_error(1.0, 5, 4, method="mpmath2d", dps=15)
    b = pa.mean_difference_error(1.0, 5, 4, method="mpmath", dps=20)
    assert abs(a - b) < 1e-10


# ------------------------------------------------------------------------------ Bayes


def test_elementary_symmetric_sym():
    for T, K in ((4, 0), (4, 2), (6, 3), (6, 6)):
        _, by_subsets, by_sympy = pa.elementary_symmetric_sym(T, K)
        assert sp.expand(by_subsets - by_sympy) == 0


def test_log_e_k_matches_symbolic():
    pis, expr, _ = pa.elementary_symmetric_sym(5, 3)
    vals = [0.5, 2.0, 1e-3, 7.0, 1.1]
    exact = float(expr.subs(dict(zip(pis, vals, strict=True))))
    assert math.exp(pa.log_elementary_symmetric(np.log(vals), 3)) == pytest.approx(exact,
                                                                                   rel=1e-13)
    assert pa.log_elementary_symmetric([-math.inf, 0.0], 2) == -math.inf
    assert pa.log_elementary_symmetric([1e4, 1e4], 2) == pytest.approx(2e4)  # no overflow


def _brute_force_llr(X, q, w, mu, sigma, K, zeta, rc):
    T, d = X.shape
    cov = sigma**2 * np.eye(d)
    out = []
    for y in (1, -1):
        lp_rel = stats.multivariate_normal(q + y * w, cov).logpdf(X)
        lp_irr = stats.multivariate_normal(mu, cov).logpdf(X)
        terms = []
        for k in range(T + 1):
            if rc == "fixed" and k != K:
                continue
            for R in itertools.combinations(range(T), k):
                mask = np.zeros(T, bool)
                mask[list(R)] = True
                lw = (-math.log(math.comb(T, K)) if rc == "fixed"
                      else k * math.log(zeta) + (T - k) * math.log1p(-zeta))
                terms.append(lw + lp_rel[mask].sum() + lp_irr[~mask].sum())
        out.append(np.logaddexp.reduce(terms))
    return out[0] - out[1]


@pytest.mark.parametrize("rc", ["fixed", "binomial"])
def test_bayes_llr_matches_brute_force(rc):
    rng = np.random.default_rng(1357)
    T, K, d = 5, 2, 3
    for _ in range(4):
        q, w, mu = rng.normal(size=(3, d))
        X = rng.normal(size=(T, d)) * 1.3
        llr = pa.bayes_log_likelihood_ratio(X, q, w, sigma=1.3, zeta=K / T, mu_irr=mu,
                                            relevant_count=rc)
        ref = _brute_force_llr(X, q, w, mu, 1.3, K, K / T, rc)
        assert llr == pytest.approx(ref, abs=1e-9)
    prior = pa.bayes_log_likelihood_ratio(X, q, w, sigma=1.3, zeta=K / T, mu_irr=mu,
                                          relevant_count=rc, label_prior=0.8)
    assert prior - llr == pytest.approx(math.log(4.0), abs=1e-12)


def test_bayes_validation():
    with pytest.raises(ValueError, match="zeta"):
        pa.bayes_log_likelihood_ratio(np.zeros((5, 2)), [1, 0], [0, 1], sigma=1.0, zeta=0.3)
    with pytest.raises(ValueError, match="K"):
        pa.log_elementary_symmetric([0.0, 1.0], 3)
    with pytest.raises(ValueError, match="log_pi"):
        pa.log_elementary_symmetric([0.0, float("nan")], 1)


# ------------------------------------------------------------------------ construction


def test_construction_symbolic():
    assert all(pa.verify_construction(2).values())


def test_construction_numeric_pa_lin_pooling():
    rng = np.random.default_rng(99)
    d = 3
    q = rng.normal(size=d)
    w = rng.normal(size=d)
    w -= (w @ q) / (q @ q) * q  # orthogonal to q*
    f_pa = pa.lambdify_model(pa.pa_model(3, d))
    f_lin = pa.lambdify_model(pa.lin_model(3, d))
    for y in (1, -1):
        X = pa.construction_tokens(y, q, w)
        np.testing.assert_allclose(X.sum(axis=0), 0.0, atol=1e-14)
        np.testing.assert_allclose(X.T @ X, 2 * np.outer(q, q) + 6 * np.outer(w, w),
                                   rtol=1e-13, atol=1e-13)
        for gamma in (0.01, 0.3, 1.0, 5.0):
            got = f_pa(X, q=gamma * q, w=w)
            want = pa.construction_f_pa(y, gamma * (q @ q), w_norm=float(np.linalg.norm(w)))
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
            assert np.sign(got) == y
    Xp, Xm = pa.construction_tokens(1, q, w), pa.construction_tokens(-1, q, w)
    for _ in range(20):
        qq, ww = rng.normal(size=(2, d))
        assert abs(f_lin(Xp, q=qq, w=ww) - f_lin(Xm, q=qq, w=ww)) <= 1e-12


@pytest.mark.parametrize("kind", ["SA", "LIN"])
def test_sa_lin_mpmath_gradients_30_digits(kind):
    rng = np.random.default_rng(2718281828)
    X = rng.normal(size=(2, 2))
    if kind == "SA":
        m, first = pa.sa_model(2, 2), {"W": rng.normal(size=(2, 2))}
        name, param = "grad_W", "W"
    else:
        m, first = pa.lin_model(2, 2), {"q": rng.normal(size=2)}
        name, param = "grad_q", "q"
    w = rng.normal(size=2)
    numeric = pa.derivative_mp(m, param, X, w=w, dps=30, **first)
    closed = pa.lambdify_model(m, pa.model_closed_form(m, name), backend="mpmath",
                               dps=40)(X, w=w, **first)
    flat = [closed[i, j] for i in range(closed.rows) for j in range(closed.cols)]
    assert max(abs(numeric[i] - flat[i]) for i in range(len(flat))) < mpmath.mpf(10) ** -20
    with pytest.raises(ValueError, match=param):
        pa.lambdify_model(m, backend="mpmath")(X, w=w, **{param: np.zeros(3)})


def test_noisy_attention_quadrature_against_monte_carlo():
    G, K, T, qn, sg, wn = 0.8, 1, 3, 2.0, 1.0, 0.5
    quad = pa.attention_stats_noisy_expectations(G, K=K, T=T, q_norm=qn, sigma=sg, w_norm=wn)
    rng = np.random.default_rng(1618033988)
    N = 200_000
    sc = G * sg * rng.standard_normal((N, T))
    sc[:, :K] += G * qn
    sc -= sc.max(axis=1, keepdims=True)
    s = np.exp(sc)
    s /= s.sum(axis=1, keepdims=True)
    a, b2 = s[:, :K].sum(axis=1), (s * s).sum(axis=1)
    q = stats.norm.sf(a * wn / (sg * np.sqrt(b2)))
    z = stats.norm.ppf(1 - 0.001 / 6)  # Bonferroni over three statistics
    for key, v in (("mean_a", a), ("mean_b2", b2), ("oracle_error", q)):
        assert abs(v.mean() - quad[key]) < z * v.std(ddof=1) / math.sqrt(N), key
    zero = pa.attention_stats_noisy_expectations(0.0, K=2, T=4, q_norm=qn, sigma=sg)
    assert zero["mean_a"] == pytest.approx(0.5, rel=1e-14)
    assert zero["mean_b2"] == pytest.approx(0.25, rel=1e-14)
    with pytest.raises(ValueError, match="T"):
        pa.attention_stats_noisy_expectations(1.0, K=1, T=6, q_norm=qn, sigma=sg)


def test_noiseless_attention_is_continuous_in_floating_point_at_zero():
    """The two branches (c < 0, c >= 0) agree at c -> 0 to the last bit, so a(c) is monotone
    there (hypothesis found a(-1e-76) one ulp above a(0) when they were grouped differently)."""
    for T in range(2, 31):
        for K in range(1, T):
            at_zero = pa.attention_stats_noiseless(K / T, 0.0, T)
            assert pa.attention_stats_noiseless(K / T, -1e-100, T) == at_zero
            assert pa.attention_stats_noiseless(K / T, 1e-100, T) == at_zero
