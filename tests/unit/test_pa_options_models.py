"""The reconstructed model switches of prompt_attention.md §4.1 and §4.4.

``pa.prompt_self_attention = True`` (the prompt is an extra token ``x_0 = q``) and
``pa.sa_pooling = "sa_then_pa"`` (prompt-attention pooling of the self-attention outputs):
symbolic closed forms against ``sympy.diff``, compiled gradients against the symbolic ones and
against central differences, special cases that reduce to known models, and the defaults
left unchanged.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

import numerics.pa as npa
import theory.pa as tpa
from numerics.pa import _models

SEEDS = st.integers(0, 2**32 - 1)


def _rel_close(a, b, rtol=1e-6, atol=1e-9):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b)) <= rtol * float(np.linalg.norm(b)) + atol


# ------------------------------------------------------------------ options table


def test_options_document_the_readings():
    opts = {o.name: o for o in tpa.INFERRED_OPTIONS}
    assert opts["prompt_self_attention"].default == "False"
    assert "x_0 = q" in opts["prompt_self_attention"].note
    assert "sa_then_pa" in opts["sa_pooling"].alternatives
    assert "S(tau O q)" in opts["sa_pooling"].note
    o = tpa.PAOptions(sa_pooling="sa_then_pa", prompt_self_attention=True)
    assert o.reconstruction_switches()["sa_pooling"] == "sa_then_pa"
    text = tpa.format_inferred_options()
    assert "pa.prompt_self_attention = False" in text and "pa.sa_pooling = mean" in text


# ------------------------------------------------------------------ symbolic: PA + self-attention


@pytest.mark.parametrize(("name", "T", "d"), [
    ("grad_q", 2, 2), ("grad_w", 2, 2), ("hess_qq", 2, 1), ("hess_qq", 3, 1),
    ("hess_qw", 2, 2), ("hess_ww", 2, 2), ("grad_q_at_zero", 3, 2),
])
def test_pa_self_attention_closed_forms_symbolic(name, T, d):
    m = tpa.pa_model(T, d, prompt_self_attention=True)
    assert m.prompt_self_attention
    assert tpa.verify_closed_form(m, name)


@pytest.mark.parametrize("name", ["grad_q", "hess_qw", "grad_q_at_zero"])
def test_pa_self_attention_closed_forms_with_temperature(name):
    m = tpa.pa_model(2, 2, temperature="1/sqrt(d)", prompt_self_attention=True)
    assert tpa.verify_closed_form(m, name)


def test_pa_self_attention_is_pa_on_the_augmented_sequence():
    # f(X; q, w) = f_PA([q^T; X]; q, w) as expressions (x_0 := q after substitution)
    T, d = 2, 2
    m = tpa.pa_model(T, d, prompt_self_attention=True)
    big = tpa.pa_model(T + 1, d)
    q, w = m.param("q"), m.param("w")
    sub = {big.X[0, j]: q[j] for j in range(d)}
    sub.update({big.X[t + 1, j]: m.X[t, j] for t in range(T) for j in range(d)})
    sub.update({a: b for a, b in zip(big.param("q"), q, strict=True)})
    sub.update({a: b for a, b in zip(big.param("w"), w, strict=True)})
    sub[big.shifts[0]] = m.shifts[0]
    assert sp.simplify(big.f.subs(sub) - m.f) == 0


def test_pa_self_attention_off_is_the_default_model():
    assert tpa.pa_model(3, 2, prompt_self_attention=False).f == tpa.pa_model(3, 2).f
    for name in ("grad_q", "hess_qq", "grad_q_at_zero"):
        a = tpa.model_closed_form(tpa.pa_model(2, 2), name)
        b = tpa.model_closed_form(tpa.pa_model(2, 2, prompt_self_attention=False), name)
        assert a == b


def test_pa_self_attention_wrong_formulas_are_detected():
    m = tpa.pa_model(2, 2, prompt_self_attention=True)
    good = tpa.model_closed_form(m, "grad_q")
    q, w = m.param("q"), m.param("w")
    Xt = sp.Matrix.vstack(q.T, m.X)
    s = sp.Matrix([sp.exp(z - m.shifts[0]) for z in Xt * q])
    s = s / sum(s)
    assert not tpa.verify_closed_form(m, "grad_q", closed_form=good - s[0] * w)  # no value term
    plain = tpa.model_closed_form(tpa.pa_model(2, 2), "grad_q_at_zero")
    assert not tpa.verify_closed_form(m, "grad_q_at_zero", closed_form=plain)


@pytest.fixture(scope="module")
def pa_self33():
    m = tpa.pa_model(3, 3, prompt_self_attention=True)
    names = ["grad_q", "grad_w", "hess_qq", "hess_qw"]
    fns = {n: (tpa.lambdify_model(m, tpa.model_derivative(m, n)),
               tpa.lambdify_model(m, tpa.model_closed_form(m, n))) for n in names}
    return m, tpa.lambdify_model(m), fns


def test_pa_self_attention_numeric_agreement(pa_self33):
    m, f, fns = pa_self33
    rng = np.random.default_rng(3141592653)
    for _ in range(4):
        X, q, w = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
        for derived, closed in fns.values():
            np.testing.assert_allclose(derived(X, q=q, w=w), closed(X, q=q, w=w),
                                       rtol=1e-12, atol=1e-13)
        # the compiled value, gradients and Hessians against the symbolic ones
        fv, gq, gw = npa.pa_grads(X, q, w, prompt_self_attention=True)
        assert fv == pytest.approx(f(X, q=q, w=w), rel=1e-13, abs=1e-14)
        np.testing.assert_allclose(gq, fns["grad_q"][1](X, q=q, w=w).ravel(), rtol=1e-12,
                                   atol=1e-13)
        np.testing.assert_allclose(gw, fns["grad_w"][1](X, q=q, w=w).ravel(), rtol=1e-12,
                                   atol=1e-13)
        hqq, hqw = npa.pa_hessian(X, q, w, prompt_self_attention=True)
        np.testing.assert_allclose(hqq, fns["hess_qq"][1](X, q=q, w=w), rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(hqw, fns["hess_qw"][1](X, q=q, w=w), rtol=1e-11, atol=1e-13)


def test_pa_self_attention_mpmath_gradient_30_digits():
    m = tpa.pa_model(2, 2, prompt_self_attention=True)
    X = [[mpmath.mpf("0.3"), mpmath.mpf("-1.1")], [mpmath.mpf("0.7"), mpmath.mpf("0.2")]]
    q = [mpmath.mpf("0.5"), mpmath.mpf("-0.25")]
    w = [mpmath.mpf("1.5"), mpmath.mpf("0.75")]
    numeric = tpa.derivative_mp(m, "q", X, q=q, w=w, dps=30)
    closed = tpa.lambdify_model(m, tpa.model_closed_form(m, "grad_q"), backend="mpmath",
                                dps=40)(X, q=q, w=w)
    assert max(abs(numeric[i] - closed[i]) for i in range(2)) < mpmath.mpf(10) ** -20


# ------------------------------------------------------------------ symbolic: SA then PA


@pytest.mark.parametrize("name", ["grad_W", "grad_q", "grad_w", "grad_W_at_zero"])
def test_sa_then_pa_closed_forms_symbolic(name):
    m = tpa.sa_model(2, 1, sa_pooling="sa_then_pa")
    assert [k for k, _ in m.params] == ["W", "q", "w"] and len(m.shifts) == 3
    assert tpa.verify_closed_form(m, name)


@pytest.mark.parametrize("name", ["grad_q", "grad_w"])
def test_sa_then_pa_closed_forms_symbolic_d2(name):
    assert tpa.verify_closed_form(tpa.sa_model(2, 2, sa_pooling="sa_then_pa"), name)


def test_sa_then_pa_numeric_against_sympy_and_compiled():
    T, d = 3, 2
    rng = np.random.default_rng(2718281828)
    for ts, tau in (("1", 1.0), ("1/sqrt(d)", 1 / math.sqrt(d))):
        m = tpa.sa_model(T, d, sa_pooling="sa_then_pa", temperature=ts)
        f = tpa.lambdify_model(m)
        X, W = rng.normal(size=(T, d)), rng.normal(size=(d, d))
        q, w = rng.normal(size=d), rng.normal(size=d)
        fv, gW, gq, gw = npa.sa_pa_grads(X, W, q, w, temperature=tau)
        assert fv == pytest.approx(f(X, W=W, q=q, w=w), rel=1e-13, abs=1e-14)
        for name, got in (("grad_W", gW), ("grad_q", gq), ("grad_w", gw)):
            derived = tpa.lambdify_model(m, tpa.model_derivative(m, name))(X, W=W, q=q, w=w)
            closed = tpa.lambdify_model(m, tpa.model_closed_form(m, name))(X, W=W, q=q, w=w)
            np.testing.assert_allclose(closed, derived, rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(got, closed.reshape(got.shape), rtol=1e-12, atol=1e-13)


def test_sa_then_pa_special_cases_symbolic():
    T, d = 2, 2
    m = tpa.sa_model(T, d, sa_pooling="sa_then_pa")
    mean = tpa.sa_model(T, d)
    # q = 0: mean-pooled SA (the pooling shift symbol drops out)
    at_q0 = m.f.subs({s: 0 for s in m.param("q")}).subs(m.shifts[T], 0)
    sub = {a: b for a, b in zip(mean.param("W"), m.param("W"), strict=True)}
    sub.update({a: b for a, b in zip(mean.param("w"), m.param("w"), strict=True)})
    assert sp.simplify(at_q0 - mean.f.subs(sub)) == 0
    # W = 0: <x_bar(0), w> for every q
    at_w0 = m.f.subs({s: 0 for s in m.param("W")})
    xbar_w = sum(m.X[t, j] * m.param("w")[j] for t in range(T) for j in range(d)) / T
    assert sp.simplify(at_w0 - xbar_w) == 0


def test_model_option_validation():
    with pytest.raises(ValueError, match="sa_pooling"):
        tpa.sa_model(2, 2, sa_pooling="max")
    with pytest.raises(ValueError, match="temperature"):
        tpa.sa_model(2, 2, temperature="1/sqrt(d)")
    with pytest.raises(ValueError, match="prompt_self_attention"):
        tpa.pa_model(2, 2, prompt_self_attention=1)


# ------------------------------------------------------------------ compiled: PA + self-attention


@given(seed=SEEDS, d=st.integers(1, 6), T=st.integers(1, 6), hot=st.booleans())
def test_pa_self_attention_gradients_match_central_differences(seed, d, T, hot):
    rng = np.random.default_rng(seed)
    X, q, w = rng.standard_normal((T, d)), rng.standard_normal(d), rng.standard_normal(d)
    tau = 1.0 / math.sqrt(d) if hot else 1.0
    kw = dict(temperature=tau, prompt_self_attention=True)
    f, gq, gw = npa.pa_grads(X, q, w, **kw)
    assert f == npa.pa_forward(X, q, w, **kw)
    cdg = npa.central_difference_gradient
    assert _rel_close(cdg(lambda v: npa.pa_forward(X, v, w, **kw), q), gq)
    assert _rel_close(cdg(lambda v: npa.pa_forward(X, q, v, **kw), w), gw)
    hqq, hqw = npa.pa_hessian(X, q, w, **kw)
    np.testing.assert_allclose(hqq, hqq.T, rtol=0, atol=1e-13)
    jq = npa.central_difference_jacobian(lambda v: npa.pa_grads(X, v, w, **kw)[1], q)
    jw = npa.central_difference_jacobian(lambda v: npa.pa_grads(X, q, v, **kw)[1], w)
    assert _rel_close(jq, hqq)
    assert _rel_close(jw, hqw)


def test_pa_self_attention_value_is_pa_on_augmented_tokens_and_origin_gradient():
    rng = np.random.default_rng(8675309)
    T, d = 6, 4
    X, q, w = rng.standard_normal((T, d)), rng.standard_normal(d), rng.standard_normal(d)
    f, _, gw = npa.pa_grads(X, q, w, prompt_self_attention=True)
    f_aug, _, gw_aug = npa.pa_grads(np.vstack([q, X]), q, w)
    assert f == pytest.approx(f_aug, rel=1e-14, abs=1e-15)
    np.testing.assert_allclose(gw, gw_aug, rtol=1e-14, atol=1e-15)
    # at q = 0: tau T/(T+1) [C w + x_bar x_bar^T w/(T+1)] + w/(T+1); 0 at w = 0
    xb = X.mean(axis=0)
    C = X.T @ X / T - np.outer(xb, xb)
    _, gq0, _ = npa.pa_grads(X, np.zeros(d), w, prompt_self_attention=True)
    want = T / (T + 1) * (C @ w + xb * (xb @ w) / (T + 1)) + w / (T + 1)
    np.testing.assert_allclose(gq0, want, rtol=1e-12, atol=1e-14)
    _, gq00, _ = npa.pa_grads(X, np.zeros(d), np.zeros(d), prompt_self_attention=True)
    assert np.all(gq00 == 0.0)


def test_prompt_self_attention_off_changes_nothing():
    rng = np.random.default_rng(1234321)
    X = rng.standard_normal((70, 5, 3))  # >= 64: parallel kernel as well
    q, w = rng.standard_normal(3), rng.standard_normal(3)
    for Xs in (X, X[:5], X[0]):
        a = npa.pa_grads(Xs, q, w, temperature=0.7)
        b = npa.pa_grads(Xs, q, w, temperature=0.7, prompt_self_attention=False)
        for u, v in zip(a, b, strict=True):
            assert np.asarray(u).tobytes() == np.asarray(v).tobytes()
    h0 = npa.pa_hessian(X[0], q, w)
    h1 = npa.pa_hessian(X[0], q, w, prompt_self_attention=False)
    assert all(u.tobytes() == v.tobytes() for u, v in zip(h0, h1, strict=True))
    # the option does change the model
    assert npa.pa_forward(X[0], q, w, prompt_self_attention=True) != npa.pa_forward(X[0], q, w)


# ------------------------------------------------------------------ compiled: SA then PA


@given(seed=SEEDS, d=st.integers(1, 4), T=st.integers(1, 5), hot=st.booleans())
def test_sa_then_pa_gradients_match_central_differences(seed, d, T, hot):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, d))
    W = 0.5 * rng.standard_normal((d, d))
    q, w = rng.standard_normal(d), rng.standard_normal(d)
    tau = 1.0 / math.sqrt(d) if hot else 1.0
    f, gW, gq, gw = npa.sa_pa_grads(X, W, q, w, temperature=tau)
    assert f == npa.sa_pa_forward(X, W, q, w, temperature=tau)
    cdg = npa.central_difference_gradient
    assert _rel_close(cdg(lambda M: npa.sa_pa_forward(X, M, q, w, temperature=tau), W), gW)
    assert _rel_close(cdg(lambda v: npa.sa_pa_forward(X, W, v, w, temperature=tau), q), gq)
    assert _rel_close(cdg(lambda v: npa.sa_pa_forward(X, W, q, v, temperature=tau), w), gw)


def test_sa_then_pa_reduces_to_known_models():
    rng = np.random.default_rng(4815162342)
    n, T, d = 70, 5, 6
    X = rng.standard_normal((n, T, d))
    W = 0.3 * rng.standard_normal((d, d))
    q, w = rng.standard_normal(d), rng.standard_normal(d)
    # q = 0: mean-pooled SA
    f0, gW0, _, gw0 = npa.sa_pa_grads(X, W, np.zeros(d), w)
    fm, gWm, gwm = npa.sa_grads(X, W, w)
    np.testing.assert_allclose(f0, fm, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gW0, gWm, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gw0, gwm, rtol=1e-13, atol=1e-14)
    # W = 0: <x_bar, w> whatever q; grad_W = x_bar (C w)^T as for mean pooling; grad_q = 0
    fz, gWz, gqz, _ = npa.sa_pa_grads(X[0], np.zeros((d, d)), q, w)
    xb = X[0].mean(axis=0)
    C = X[0].T @ X[0] / T - np.outer(xb, xb)
    assert fz == pytest.approx(xb @ w, rel=1e-13)
    np.testing.assert_allclose(gWz, np.outer(xb, C @ w), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gqz, 0.0, atol=1e-14)
    # S_row(X W X^T) = I (orthonormal tokens, W = 40 I): prompt-attention on X
    Xo = np.linalg.qr(rng.standard_normal((d, d)))[0][:T]
    f_id, _, gq_id, gw_id = npa.sa_pa_grads(Xo, 40.0 * np.eye(d), q, w)
    f_pa, gq_pa, gw_pa = npa.pa_grads(Xo, q, w)
    assert f_id == pytest.approx(f_pa, rel=1e-13, abs=1e-14)
    np.testing.assert_allclose(gq_id, gq_pa, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gw_id, gw_pa, rtol=1e-12, atol=1e-13)


def test_sa_then_pa_batch_equals_loop():
    rng = np.random.default_rng(99)
    X = rng.standard_normal((70, 4, 3))  # >= 64: the batch runs the parallel kernel
    W, q, w = rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(3)
    fb, gWb, gqb, gwb = npa.sa_pa_grads(X, W, q, w)
    np.testing.assert_array_equal(npa.sa_pa_forward(X, W, q, w), fb)
    fs = npa.sa_pa_grads(X[:10], W, q, w)  # serial path
    for i in range(70):
        f, gW, gq, gw = npa.sa_pa_grads(X[i], W, q, w)
        assert f == fb[i]
        np.testing.assert_array_equal(gW, gWb[i])
        np.testing.assert_array_equal(gq, gqb[i])
        np.testing.assert_array_equal(gw, gwb[i])
        if i < 10:
            assert fs[0][i] == f


@pytest.mark.parametrize("parallel", [False, True])
def test_new_kernels_callable_from_another_njit(parallel):
    @njit(parallel=parallel)
    def caller(X, W, q, w):
        n, T, d = X.shape
        f1 = np.empty(n)
        f2 = np.empty(n)
        q = q * 1.0  # an array expression, so that parallel=True has something to transform
        _models._pa_self_grads_batch(X, q, w, 1.0, f1, np.empty((n, d)), np.empty((n, d)))
        _models._sa_pa_grads_batch(X, W, q, w, 1.0, f2, np.empty((n, d, d)), np.empty((n, d)),
                                   np.empty((n, d)), True)
        return f1, f2

    rng = np.random.default_rng(21)
    X = rng.standard_normal((4, 5, 3))
    W, q, w = rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(3)
    f1, f2 = caller(X, W, q, w)
    np.testing.assert_array_equal(f1, npa.pa_forward(X, q, w, prompt_self_attention=True))
    np.testing.assert_array_equal(f2, npa.sa_pa_forward(X, W, q, w))


@pytest.mark.parametrize(("call", "match"), [
    (lambda: npa.pa_grads(np.zeros((2, 2)), np.zeros(2), np.zeros(2), prompt_self_attention=1),
     "prompt_self_attention"),
    (lambda: npa.sa_forward(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2),
                            pooling="sa_then_pa"), "sa_pa_forward"),
    (lambda: npa.sa_pa_grads(np.zeros((2, 2)), np.zeros((3, 3)), np.zeros(2), np.zeros(2)), "W"),
    (lambda: npa.sa_pa_forward(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(3), np.zeros(2)),
     "q"),
    (lambda: npa.sa_pa_forward(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2), np.zeros(2),
                               temperature=0.0), "temperature"),
])
def test_bad_option_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("factory", ["pa_model", "lin_model", "sa_model"])
def test_symbolic_models_reject_non_integer_sizes_even_after_caching(factory):
    import theory.pa as tpa

    make = getattr(tpa, factory)
    make(2, 1)  # cache the integer entry first: 2.0 == 2 must not reach it
    with pytest.raises(ValueError, match="T must be an integer"):
        make(2.0, 1)
    with pytest.raises(ValueError, match="T must be an integer"):
        make(True, 1)
