"""Unit tests of theory.gmm (gmm_asymptotics.md §1-§6; checks G1-G6, G9 of §9).

Every test compares two independent routes (closed form vs fixed point, closed form vs
random-matrix form, closed form vs quadrature, derivation vs implementation, fast vs high
precision); tolerances follow the working precision.
"""

from __future__ import annotations

import ast
import itertools
import math
import pathlib

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats

import theory.gmm as g
from theory.gmm import _backend as bk

GRID = list(itertools.product([0.5, 2.0, 4.0], [0.1, 1.0], [0.5, 1.0, 2.0]))  # alpha, lam, Delta


# ------------------------------------------------------------------------------------------
# public surface and layering
# ------------------------------------------------------------------------------------------


def test_all_is_sorted_and_complete():
    public = {
        n for n, v in vars(g).items() if not n.startswith("_") and not isinstance(v, type(g))
    }
    public -= {"annotations"}
    assert g.__all__ == sorted(g.__all__)
    assert set(g.__all__) == public


def test_theory_gmm_imports_only_allowed_modules():
    allowed_roots = {"sympy", "mpmath", "numpy", "theory", "__future__"}
    pkg = pathlib.Path(g.__file__).parent
    import sys

    for path in pkg.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root in allowed_roots or root in sys.stdlib_module_names, (path, name)


# ------------------------------------------------------------------------------------------
# §1 conventions
# ------------------------------------------------------------------------------------------


def test_gaussian_tail_fast_matches_high_and_scipy():
    for x in np.linspace(-8, 8, 33):
        fast = g.gaussian_tail(x)
        high = g.gaussian_tail(x, precision="high", dps=40)
        # erfc is accurate to a few ulps; rounding x/sqrt(2) is amplified by ~x^2
        assert abs(fast - float(high)) <= (1 + x * x) * 4e-16 * float(high)
        assert fast == pytest.approx(stats.norm.sf(x), rel=1e-13)


def test_generalisation_error_definition_and_label_flip():
    m, q, b = 0.8, 1.7, 0.3
    for p in (0.2, 0.5, 0.9):
        direct = p * stats.norm.sf((m + b) / math.sqrt(q)) + (1 - p) * stats.norm.sf(
            (m - b) / math.sqrt(q)
        )
        assert g.generalisation_error(m, q, b, p) == pytest.approx(direct, rel=1e-13)
        # flipping labels swaps p <-> 1-p and b <-> -b
        assert g.generalisation_error(m, q, b, p) == pytest.approx(
            g.generalisation_error(m, q, -b, 1 - p), abs=1e-16
        )


def test_maps_round_trip():
    r, alpha, delta, lam = 1.7, 3.0, 0.4, 0.25
    assert g.snr_from_delta(g.delta_from_snr(r)) == pytest.approx(r, rel=1e-15)
    assert g.psi_from_alpha(alpha) * alpha == pytest.approx(1.0)
    lam_r = g.lam_ridge_from_mignacco(lam, alpha, delta)
    assert g.lam_mignacco_from_ridge(lam_r, alpha, delta) == pytest.approx(lam, rel=1e-15)
    lt = g.lam_standard_from_mignacco(lam, delta)
    assert g.lam_mignacco_from_standard(lt, delta) == pytest.approx(lam, rel=1e-15)
    # lambda_r = lambda_tilde / alpha (§1.3)
    assert lam_r == pytest.approx(lt / alpha, rel=1e-15)


# ------------------------------------------------------------------------------------------
# G1: §3.2 closed form == damped fixed point of §2 + §3.1
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "lam", "delta"), GRID)
def test_G1_square_closed_form_equals_fixed_point(alpha, lam, delta):
    cf = g.square_closed_form(alpha, delta, lam)
    fp = g.solve_fixed_point("square", alpha=alpha, delta=delta, lam=lam)
    assert fp.converged
    assert abs(fp.eps_g - cf.eps_g) <= 1e-10
    for name in ("m", "q", "V", "m_hat", "q_hat", "V_hat"):
        assert getattr(fp, name) == pytest.approx(getattr(cf, name), rel=1e-10, abs=1e-12)


def test_G1_square_generic_gauss_hermite_route_equals_closed_hats():
    # the generic prox route (§2.1 with P = (omega + V)/(1 + V)) vs the §3.1 closed hats
    for m, q, V, b, p in [(0.3, 0.8, 1.2, 0.1, 0.3), (1.1, 2.5, 0.4, -0.4, 0.6)]:
        closed = g.channel_hats("square", m, q, V, b, alpha=2.0, p=p, method="closed")
        gh = g.channel_hats("square", m, q, V, b, alpha=2.0, p=p, method="gauss_hermite")
        np.testing.assert_allclose(gh, closed, rtol=1e-13)
        # and §3.1 written out
        Vh = 2.0 / (1 + V)
        mh = 2.0 * (1 - m - (2 * p - 1) * b) / (1 + V)
        qh = 2.0 * (p * (1 - m - b) ** 2 + (1 - p) * (1 - m + b) ** 2 + q) / (1 + V) ** 2
        np.testing.assert_allclose(closed, (Vh, qh, mh), rtol=1e-14)


def test_G1_high_precision():
    for alpha, lam, delta in [(0.5, 0.1, 2.0), (4.0, 1.0, 0.5)]:
        cf = g.square_closed_form(alpha, delta, lam, precision="high", dps=40)
        fp = g.solve_fixed_point("square", alpha=alpha, delta=delta, lam=lam, precision="high",
                                 dps=40)
        assert abs(fp.eps_g - cf.eps_g) < mpmath.mpf(10) ** -30


def test_square_intercept_closed_bias():
    fp = g.solve_fixed_point("square", alpha=2.0, delta=1.0, lam=0.3, p=0.3, intercept=True)
    assert fp.b == pytest.approx((2 * 0.3 - 1) * (1 - fp.m), abs=1e-12)
    # the generic bracketing route on §2.2 gives the same bias and error
    fp2 = g.solve_fixed_point("square", alpha=2.0, delta=1.0, lam=0.3, p=0.3, intercept=True,
                              method="gauss_hermite")
    assert fp2.b == pytest.approx(fp.b, abs=1e-10)
    assert fp2.eps_g == pytest.approx(fp.eps_g, abs=1e-10)


# ------------------------------------------------------------------------------------------
# G2: §3.2 == §3.4 under the map of §1.3 (including alpha < 1)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "lam", "delta"), GRID)
def test_G2_closed_form_equals_marchenko_pastur(alpha, lam, delta):
    cf = g.square_closed_form(alpha, delta, lam)
    r = g.snr_from_delta(delta)
    psi = g.psi_from_alpha(alpha)
    lam_r = g.lam_ridge_from_mignacco(lam, alpha, delta)
    assert abs(cf.eps_g - g.ridge_error_standard(r, psi, lam_r)) <= 1e-9


def test_G2_high_precision_and_mutation():
    alpha, lam, delta = 0.5, 0.1, 2.0
    with mpmath.workdps(50):
        a_, l_, d_ = mpmath.mpf(alpha), mpmath.mpf(lam), mpmath.mpf(delta)
        cf = g.square_closed_form(a_, d_, l_, precision="high", dps=50)
        r = mpmath.sqrt(1 / d_)
        rm = g.ridge_error_standard(r, 1 / a_, l_ / (a_ * d_), precision="high", dps=50)
        assert abs(cf.eps_g - rm) < mpmath.mpf(10) ** -40
    # mutation (§9): lambda in place of lambda_r must disagree (needs alpha Delta != 1)
    alpha, lam, delta = 4.0, 1.0, 0.5
    right = g.square_closed_form(alpha, delta, lam).eps_g
    wrong = g.ridge_error_standard(delta**-0.5, 1 / alpha, lam)
    assert abs(right - wrong) > 1e-3
    lam_r = lam / (alpha * delta)
    assert abs(right - g.ridge_error_standard(delta**-0.5, 1 / alpha, lam_r)) < 1e-14


def test_mp_stieltjes_solves_its_equation_and_derivative_matches():
    for psi, lam in [(0.3, 0.01), (1.0, 0.5), (2.5, 1e-3), (4.0, 3.0)]:
        with mpmath.workdps(40):
            psi, lam = mpmath.mpf(psi), mpmath.mpf(lam)
            m = g.mp_stieltjes(psi, lam, precision="high", dps=40)
            assert abs(psi * lam * m**2 + (1 - psi + lam) * m - 1) < mpmath.mpf(10) ** -35
            # m' by numerical differentiation (independent of the closed form)
            with mpmath.workdps(80):
                num = -mpmath.diff(lambda t, psi=psi: g.mp_stieltjes(psi, t, precision="high", dps=80),
                                   lam, h=mpmath.mpf("1e-20"))
            mp_ = g.mp_stieltjes_derivative(psi, lam, precision="high", dps=40)
            assert abs(num - mp_) < mpmath.mpf(10) ** -25
            # the denominator identity of §3.4
            den = 1 - psi + lam + 2 * psi * lam * m
            assert abs(den - mpmath.sqrt((1 - psi + lam) ** 2 + 4 * psi * lam)) < 1e-35
        assert g.mp_stieltjes(float(psi), float(lam)) == pytest.approx(float(m), rel=1e-13)
    # lam -> 0, psi < 1: m -> 1/(1-psi), m' -> 1/(1-psi)^3
    assert g.mp_stieltjes(0.25, 0.0) == pytest.approx(1 / 0.75, rel=1e-15)
    assert g.mp_stieltjes_derivative(0.25, 0.0) == pytest.approx(1 / 0.75**3, rel=1e-14)


def test_mp_stieltjes_is_the_trace_of_the_resolvent():
    # independent route: (1/d) tr (X^T X/n + lam I)^{-1} at large n, d
    rng = np.random.default_rng(2_918_374_655)
    n, d, lam = 800, 400, 0.5
    X = rng.standard_normal((n, d))
    ev = np.linalg.eigvalsh(X.T @ X / n)
    emp = np.mean(1.0 / (ev + lam))
    # linear spectral statistics fluctuate at O(1/d); 1e-2 is > 10 standard deviations
    assert emp == pytest.approx(g.mp_stieltjes(d / n, lam), rel=1e-2)


def test_mp_derivative_symbolic_matches_closed_form():
    psi, lam, m, expr = g.mp_stieltjes_derivative_symbolic()
    spec = (psi * m**2 + m) / (1 - psi + lam + 2 * psi * lam * m)
    assert sp.simplify(expr - spec) == 0


# ------------------------------------------------------------------------------------------
# G3: limits of §3.3
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "delta"), list(itertools.product([0.5, 2.0, 4.0], [0.5, 1, 2])))
def test_G3_small_and_large_lambda_limits(alpha, delta):
    dps = 50
    small = g.square_closed_form(alpha, delta, mpmath.mpf("1e-12"), precision="high", dps=dps)
    if alpha > 1:
        lim = g.least_squares_error(alpha, delta, precision="high", dps=dps)
        # the lam = 0 closed form is the same limit
        ls0 = g.square_closed_form(alpha, delta, 0.0, precision="high", dps=dps)
        assert abs(ls0.eps_g - lim) < mpmath.mpf(10) ** -40
        assert ls0.V == pytest.approx(1 / (alpha - 1), rel=1e-30)
        assert float(ls0.m) == pytest.approx(1 / (1 + delta), rel=1e-14)
    else:
        lim = g.min_norm_error(alpha, delta, precision="high", dps=dps)
        assert float(small.m) == pytest.approx(alpha / (alpha + delta), rel=1e-10)
        assert float(small.V * mpmath.mpf("1e-12")) == pytest.approx(delta * (1 - alpha), rel=1e-9)
    assert abs(small.eps_g - lim) <= 1e-10
    big = g.square_closed_form(alpha, delta, mpmath.mpf("1e12"), precision="high", dps=dps)
    md = g.mean_difference_error(alpha, delta, precision="high", dps=dps)
    assert abs(big.eps_g - md) <= 1e-10


@pytest.mark.parametrize("delta", [0.05, 0.5, 1.0, 2.0])
def test_G3_interpolation_peak(delta):
    for lam in (1e-4, 1e-8, 1e-12):
        eps = g.square_closed_form(1.0, delta, lam).eps_g
        assert abs(eps - 0.5) <= 10 * lam**0.25
    # at lam = 1e-48 (100 digits) the error is 1/2 to 1e-10, with the lambda^{1/4} law
    lam = mpmath.mpf("1e-48")
    eps = g.square_closed_form(1.0, delta, lam, precision="high", dps=100).eps_g
    assert abs(eps - mpmath.mpf(1) / 2) <= 1e-10
    lead = g.interpolation_peak_deviation(delta, lam, precision="high", dps=100)
    assert abs((mpmath.mpf(1) / 2 - eps) / lead - 1) < 1e-6


def test_G3_alpha_to_infinity_reaches_oracle():
    for delta in (0.5, 1.0, 2.0):
        oracle = g.gaussian_tail(1 / math.sqrt(delta), precision="high", dps=40)
        prev = None
        for alpha in (1e2, 1e4, 1e6):
            e = g.least_squares_error(alpha, delta, precision="high", dps=40)
            gap = e - oracle
            assert gap > 0
            if prev is not None:
                assert gap < prev / 50  # O(1/alpha) approach
            prev = gap


def test_G3_sympy_limits_match_spec():
    a, D = g.SQUARE_SYMBOLS["alpha"], g.SQUARE_SYMBOLS["delta"]
    lim = g.square_lambda_limits_symbolic()
    assert sp.simplify(lim["least_squares"] - (a - 1) / (D * (a + D))) == 0
    assert sp.simplify(lim["min_norm"] - a * (1 - a) / (D * (a + D))) == 0
    assert lim["interpolation_peak"] == 0
    assert sp.simplify(lim["mean_difference"] - a / (D * (a + D))) == 0


def test_sympy_elimination_gives_the_spec_quadratic():
    lam, D, a, V = (g.SQUARE_SYMBOLS[k] for k in ("lam", "delta", "alpha", "V"))
    poly = g.square_v_polynomial()
    spec = sp.Poly(lam * V**2 + (lam + D * (a - 1)) * V - D, V)
    # equal up to a nonzero constant factor
    ratio = sp.simplify(poly.LC() / spec.LC())
    assert sp.simplify(poly.as_expr() - ratio * spec.as_expr()) == 0
    assert ratio != 0


def test_sympy_closed_form_equals_spec_and_implementation():
    lam, D, a, V = (g.SQUARE_SYMBOLS[k] for k in ("lam", "delta", "alpha", "V"))
    cf = g.square_closed_form_symbolic()
    A = lam + D * a / (1 + V)
    c = a / ((1 + V) * A)
    assert sp.simplify(cf["m"] - c / (1 + c)) == 0
    m_spec = c / (1 + c)
    q_spec = D * (1 - m_spec) ** 2 * a * (a + D) / (((1 + V) * A) ** 2 - D**2 * a)
    f_q = sp.lambdify((a, D, lam), cf["q"].subs(V, cf["V"]), "mpmath")
    f_qs = sp.lambdify((a, D, lam), q_spec.subs(V, cf["V"]), "mpmath")
    rng = np.random.default_rng(1_204_593_117)
    with mpmath.workdps(50):
        for _ in range(5):
            al, de, la = (mpmath.mpf(float(x)) for x in rng.uniform([0.2, 0.2, 0.01], [5, 3, 3]))
            impl = g.square_closed_form(al, de, la, precision="high", dps=50)
            assert abs(f_q(al, de, la) - impl.q) < mpmath.mpf(10) ** -40
            assert abs(f_qs(al, de, la) - impl.q) < mpmath.mpf(10) ** -40


# ------------------------------------------------------------------------------------------
# G4: bias equation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["square", "logistic", "hinge"])
def test_G4_bias_is_zero_at_balanced_classes(loss):
    fp = g.solve_fixed_point(loss, alpha=2.0, delta=1.0, lam=0.5, p=0.5, intercept=True)
    assert abs(fp.b) <= 1e-12
    nb = g.solve_fixed_point(loss, alpha=2.0, delta=1.0, lam=0.5, p=0.5, intercept=False)
    assert fp.eps_g == pytest.approx(nb.eps_g, abs=1e-11)


@pytest.mark.parametrize("loss", ["square", "logistic", "hinge"])
def test_G4_label_flip_invariance(loss):
    kw = dict(alpha=2.0, delta=1.0, lam=0.5, intercept=True, n_nodes=100)
    a = g.solve_fixed_point(loss, p=0.3, **kw)
    b = g.solve_fixed_point(loss, p=0.7, **kw)
    assert a.eps_g == pytest.approx(b.eps_g, abs=1e-10)
    assert a.b == pytest.approx(-b.b, abs=1e-10)
    assert abs(a.b) > 1e-3  # imbalance does move the bias
    for name in ("m", "q", "V"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-10)


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_G4_y_less_bias_equation_has_no_root(loss):
    state = dict(m=0.8, q=1.3, V=1.1, p=0.3)
    bs = np.linspace(-30, 30, 121)
    vals = np.array([g.bias_equation_without_y(loss, b, **state) for b in bs])
    assert np.all(vals < 0)  # constant sign: no root
    with pytest.raises(g.FixedPointError, match="no sign change"):
        g.solve_bias(loss, equation="without_y", **state)
    # the correct equation is non-decreasing and has a root
    good = np.array([g.bias_equation(loss, b, **state) for b in bs])
    assert np.all(np.diff(good) >= -1e-15)
    b_star = g.solve_bias(loss, **state)
    assert abs(g.bias_equation(loss, b_star, **state)) < 1e-12


def test_G4_bias_equation_high_precision_agrees():
    state = dict(m=0.8, q=1.3, V=1.1, p=0.3)
    b = g.solve_bias("logistic", **state)
    val = g.bias_equation("logistic", b, precision="high", **state)
    assert abs(val) < 1e-13


# ------------------------------------------------------------------------------------------
# G5: hinge (unit part; random points are in tests/property)
# ------------------------------------------------------------------------------------------


def test_G5_plain_gauss_hermite_is_biased_for_hinge():
    m, q, V, b, p = 0.7, 0.9, 1.3, 0.2, 0.3
    closed = g.channel_hats("hinge", m, q, V, b, alpha=2.0, p=p)
    quad = g.channel_hats("hinge", m, q, V, b, alpha=2.0, p=p, method="quadrature",
                          precision="high")
    gh = g.channel_hats("hinge", m, q, V, b, alpha=2.0, p=p, method="gauss_hermite")
    assert max(abs(x - float(y)) for x, y in zip(closed, quad, strict=True)) <= 1e-13
    assert max(abs(x - y) for x, y in zip(gh, closed, strict=True)) > 1e-4  # documented bias


def test_hinge_moments_limit_cases():
    # V -> inf: clip(u, 0, V) -> u_+; E[u_+] for N(0, 1) is phi(0)
    mo = g.hinge_truncated_moments(0.0, 1.0, 1e8)
    assert mo.e_clip == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-14)
    assert mo.e_clip2 == pytest.approx(0.5, rel=1e-14)
    assert mo.p_kink == pytest.approx(0.5, rel=1e-14)


# ------------------------------------------------------------------------------------------
# G6: max-margin via CGMT
# ------------------------------------------------------------------------------------------


def test_G6_cover_threshold():
    assert g.separability_threshold(0.0) == 2.0
    assert g.separability_threshold(0.0, precision="high") == 2


def test_G6_positive_part_moment_closed_form_vs_quadrature():
    for t in np.linspace(-5, 5, 11):
        for k in (1, 2):
            with mpmath.workdps(30):
                ref = mpmath.quad(lambda z, t=t, k=k: (t - z) ** k * mpmath.npdf(z), [-mpmath.inf, t])
                hi = g.positive_part_moment(t, k, precision="high", dps=30)
                assert abs(hi - ref) < mpmath.mpf(10) ** -25
            assert g.positive_part_moment(t, k) == pytest.approx(float(ref), rel=1e-12)
    # the cancellation-free branch (t < -5) against mpmath
    for t in (-5.5, -8.0, -12.0):
        hi = g.positive_part_moment(t, 2, precision="high")
        assert g.positive_part_moment(t, 2) == pytest.approx(float(hi), rel=1e-12)


def test_G6_positive_part_moment_sympy():
    t, expr = g.positive_part_moment_symbolic()
    f = sp.lambdify(t, expr, "mpmath")
    with mpmath.workdps(40):
        for tv in ("-3.3", "0.1", "2.7"):
            tv = mpmath.mpf(tv)
            assert abs(f(tv) - g.positive_part_moment(tv, 2, precision="high", dps=40)) < 1e-35


def test_G6_kappa_solves_its_equation_and_rho_star_maximises():
    r, alpha = 1.3, 1.5
    for rho in np.linspace(0, 0.95, 8):
        kap = g.maxmargin_kappa(rho, r, alpha)
        lhs = alpha * g.positive_part_moment(kap - rho * r, 2)
        assert lhs == pytest.approx(1 - rho**2, rel=1e-13)
    sol = g.maxmargin_solution(r, alpha)
    grid = np.linspace(0, 0.999, 2001)
    kgrid = np.array([g.maxmargin_kappa(x, r, alpha) for x in grid])
    assert sol.kappa >= kgrid.max() - 1e-12
    assert abs(sol.rho - grid[kgrid.argmax()]) < 2e-3
    assert sol.eps_g == pytest.approx(stats.norm.sf(sol.rho * r), rel=1e-13)
    hi = g.maxmargin_solution(r, alpha, precision="high")
    assert abs(float(hi.eps_g) - sol.eps_g) < 1e-12


def test_G6_threshold_is_max_and_kappa_vanishes_there():
    for r in (0.5, 1.0, 2.0):
        a_star = g.separability_threshold(r)
        grid = np.linspace(0, 0.999, 4001)
        h = (1 - grid**2) / np.array([g.positive_part_moment(-x * r, 2) for x in grid])
        assert a_star >= h.max() * (1 - 1e-12)
        assert a_star == pytest.approx(h.max(), rel=1e-5)
        sol = g.maxmargin_solution(r, a_star * (1 - 1e-12))
        assert abs(sol.kappa) < 1e-5
        with pytest.raises(ValueError, match="alpha must lie in"):
            g.maxmargin_solution(r, a_star * 1.01)
    assert g.separability_threshold(1.0) > 2.0  # signal helps separability


# ------------------------------------------------------------------------------------------
# §3.5 finite-n mean difference
# ------------------------------------------------------------------------------------------


def test_mean_difference_finite_vs_spec_2d_integral():
    r, n, D = 0.8, 15, 20
    e = g.mean_difference_error_finite(r, n, D)

    k = D - 1
    log_c = -0.5 * k * math.log(2) - math.lgamma(0.5 * k)

    def f(s, gg):  # the spec's 2-D integrand; scalar math (scipy.stats is slow per call)
        u = r + gg / math.sqrt(n)
        den = math.sqrt(u * u + s / n)
        if den == 0.0 or s <= 0.0:
            return 0.0
        q = 0.5 * math.erfc(r * u / den / math.sqrt(2))
        chi = math.exp(log_c + (0.5 * k - 1) * math.log(s) - 0.5 * s)
        return q * math.exp(-0.5 * gg * gg) / math.sqrt(2 * math.pi) * chi

    g0 = -r * math.sqrt(n)
    ref = sum(integrate.dblquad(f, lo, hi, 0, 150, epsabs=1e-13, epsrel=1e-13)[0]
              for lo, hi in ((-12, g0), (g0, 12)))
    assert float(e) == pytest.approx(ref, abs=1e-11)


def test_mean_difference_finite_small_cases_and_limit():
    # D = 1 closed form equals the direct expectation over g
    r, n = 0.6, 7
    e1 = g.mean_difference_error_finite(r, n, 1)
    rn = r * math.sqrt(n)
    direct = stats.norm.sf(r) * stats.norm.cdf(rn) + stats.norm.cdf(r) * stats.norm.sf(rn)
    assert float(e1) == pytest.approx(direct, abs=1e-14)
    # r = 0: chance
    assert float(g.mean_difference_error_finite(0.0, 5, 4)) == pytest.approx(0.5, abs=1e-25)
    # approaches Q(r^2/sqrt(r^2 + psi)) as n grows at fixed D/n = psi
    lim = g.mean_difference_error_limit(1.0, 0.5)
    gaps = [abs(float(g.mean_difference_error_finite(1.0, n, n // 2)) - lim) for n in (12, 48)]
    assert gaps[1] < gaps[0] / 2


# ------------------------------------------------------------------------------------------
# G9: monotonicity in r (grid; random points in tests/property)
# ------------------------------------------------------------------------------------------


def test_G9_errors_decrease_in_r():
    rs = np.linspace(0.05, 4, 60)
    for psi in (0.3, 0.8):
        e = [g.least_squares_error_standard(r, psi) for r in rs]
        assert np.all(np.diff(e) < 0)
    for psi in (1.5, 4.0):
        e = [g.min_norm_error_standard(r, psi) for r in rs]
        assert np.all(np.diff(e) < 0)
    for psi in (0.3, 1.0, 4.0):
        e = [g.mean_difference_error_limit(r, psi) for r in rs]
        assert np.all(np.diff(e) < 0)


def test_standard_limits_match_mignacco_limits():
    for r, psi in [(0.7, 0.4), (1.5, 0.8)]:
        d = g.delta_from_snr(r)
        assert g.least_squares_error_standard(r, psi) == pytest.approx(
            g.least_squares_error(1 / psi, d), rel=1e-13)
        assert g.ridge_error_standard(r, psi, 0.0) == pytest.approx(
            g.least_squares_error_standard(r, psi), rel=1e-13)
    for r, psi in [(0.7, 1.4), (1.5, 3.0)]:
        d = g.delta_from_snr(r)
        assert g.min_norm_error_standard(r, psi) == pytest.approx(g.min_norm_error(1 / psi, d),
                                                                  rel=1e-13)
        assert g.ridge_error_standard(r, psi, 1e-13) == pytest.approx(
            g.min_norm_error_standard(r, psi), abs=1e-10)
    assert g.ridge_error_standard(1.2, 0.7, 1e13) == pytest.approx(
        g.mean_difference_error_limit(1.2, 0.7), abs=1e-10)


# ------------------------------------------------------------------------------------------
# fast vs high precision (<= 1e-8 in eps_g)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "p", "intercept"),
    [("square", 0.5, False), ("square", 0.3, True), ("hinge", 0.5, False), ("hinge", 0.3, True),
     ("logistic", 0.5, False)],
)
def test_fast_vs_high_precision(loss, p, intercept):
    kw = dict(alpha=2.0, delta=0.7, lam=0.2, p=p, intercept=intercept)
    fast = g.solve_fixed_point(loss, **kw)
    high = g.solve_fixed_point(loss, precision="high", **kw)
    assert isinstance(high.eps_g, mpmath.mpf)
    assert high.residual < 1e-20
    assert abs(fast.eps_g - float(high.eps_g)) <= 1e-8
    assert abs(fast.eps_g - float(high.eps_g)) <= 1e-12  # what the solver actually reaches


@pytest.mark.slow
@pytest.mark.parametrize(
    ("alpha", "lam", "p"), [(0.5, 0.1, 0.3), (4.0, 1.0, 0.6), (2.0, 0.05, 0.5)]
)
def test_fast_vs_high_precision_logistic_grid(alpha, lam, p):
    kw = dict(alpha=alpha, delta=1.0, lam=lam, p=p, intercept=True)
    fast = g.solve_fixed_point("logistic", **kw)
    high = g.solve_fixed_point("logistic", precision="high", **kw)
    assert abs(fast.eps_g - float(high.eps_g)) <= 1e-8


def test_logistic_three_quadrature_routes_agree():
    # Gauss-Hermite over xi with a Newton prox (float64), trapezoid over the proximal point P
    # (float64) and mpmath.quad over P (high precision)
    for m, q, V, b in [(-0.4, 3.0, 0.2, -0.5), (1.5, 0.2, 8.0, 0.0)]:
        gh = g.channel_hats("logistic", m, q, V, b, alpha=1.5, p=0.4, method="gauss_hermite")
        tr = g.channel_hats("logistic", m, q, V, b, alpha=1.5, p=0.4, method="trapezoid")
        high = g.channel_hats("logistic", m, q, V, b, alpha=1.5, p=0.4, precision="high")
        np.testing.assert_allclose(gh, [float(x) for x in high], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tr, [float(x) for x in high], rtol=1e-12, atol=1e-14)


def test_logistic_trapezoid_accurate_where_gauss_hermite_is_not():
    m, q, V, b = 0.7, 100.0, 5.0, 0.2
    high = [float(x) for x in g.channel_hats("logistic", m, q, V, b, alpha=2.0, p=0.3,
                                             precision="high")]
    tr = g.channel_hats("logistic", m, q, V, b, alpha=2.0, p=0.3)  # auto = trapezoid
    gh = g.channel_hats("logistic", m, q, V, b, alpha=2.0, p=0.3, method="gauss_hermite")
    np.testing.assert_allclose(tr, high, rtol=1e-12)
    assert max(abs(x - y) / y for x, y in zip(gh, high, strict=True)) > 1e-6  # documented


# ------------------------------------------------------------------------------------------
# continuation and diagnostics
# ------------------------------------------------------------------------------------------


def test_learning_curve_matches_cold_solves_and_decreases():
    alphas = [0.5, 1.0, 2.0, 4.0]
    curve = g.learning_curve("hinge", alphas, delta=1.0, lam=0.1)
    eps = [fp.eps_g for fp in curve]
    assert np.all(np.diff(eps) < 0)
    for a, fp in zip(alphas, curve, strict=True):
        cold = g.solve_fixed_point("hinge", alpha=a, delta=1.0, lam=0.1)
        assert fp.eps_g == pytest.approx(cold.eps_g, abs=1e-11)


def test_regularisation_path_warm_start():
    lams = [1.0, 0.3, 0.1, 0.03]
    path = g.regularisation_path("logistic", lams, alpha=3.0, delta=0.5)
    for lam, fp in zip(lams, path, strict=True):
        assert fp.lam == lam
        assert fp.converged
    cold = g.solve_fixed_point("logistic", alpha=3.0, delta=0.5, lam=0.03)
    assert path[-1].eps_g == pytest.approx(cold.eps_g, abs=1e-11)
    assert path[-1].iterations < cold.iterations  # the warm start pays


def test_non_convergence_raises_with_diagnostics():
    with pytest.raises(g.FixedPointError) as info:
        g.solve_fixed_point("square", alpha=2.0, delta=1.0, lam=0.1, max_iter=3)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.iterations == 3
    assert math.isfinite(err.residual) and err.residual > 0
    assert set(err.last_iterate) >= {"m", "q", "V", "b"}


def test_result_is_frozen():
    fp = g.solve_fixed_point("square", alpha=2.0, delta=1.0, lam=1.0)
    with pytest.raises(AttributeError):
        fp.m = 0.0  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------

BAD = [
    (lambda: g.solve_fixed_point("square", alpha=0.0, delta=1, lam=1), "alpha"),
    (lambda: g.solve_fixed_point("square", alpha=-1.0, delta=1, lam=1), "alpha"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=0.0, lam=1), "delta"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=-0.1), "lam"),
    (lambda: g.solve_fixed_point("square", alpha=0.5, delta=1, lam=0.0), "lam = 0"),
    (lambda: g.solve_fixed_point("logistic", alpha=3.0, delta=1, lam=0.0), "lam"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=1, p=1.0), "p"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=1, p=0.0), "p"),
    (lambda: g.solve_fixed_point("cross", alpha=1.0, delta=1, lam=1), "loss"),
    (lambda: g.solve_fixed_point("square", alpha=math.nan, delta=1, lam=1), "alpha"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=math.inf, lam=1), "delta"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=1, damping=1.0), "damping"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=1, precision="x"), "precision"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=1, precision="high", dps=15),
     "dps"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=1, n_nodes=20), "n_nodes"),
    (lambda: g.solve_fixed_point("square", alpha=1.0, delta=1, lam=1, n_nodes=400), "n_nodes"),
    (lambda: g.channel_hats("hinge", 0, 1, 1, alpha=1, method="trapezoid"), "trapezoid"),
    (lambda: g.square_closed_form(1.0, 1.0, 0.0), "lam = 0"),
    (lambda: g.square_closed_form(1.0, -1.0, 1.0), "delta"),
    (lambda: g.least_squares_error(0.5, 1.0), "alpha"),
    (lambda: g.min_norm_error(1.5, 1.0), "alpha"),
    (lambda: g.mp_stieltjes(1.5, 0.0), "lam = 0"),
    (lambda: g.mp_stieltjes(-1.0, 1.0), "psi"),
    (lambda: g.ridge_error_standard(0.0, 0.5, 1.0), "r"),
    (lambda: g.least_squares_error_standard(1.0, 1.0), "psi"),
    (lambda: g.min_norm_error_standard(1.0, 0.5), "psi"),
    (lambda: g.generalisation_error(0.5, 0.0), "q"),
    (lambda: g.generalisation_error(0.5, 1.0, 0.0, 1.5), "p"),
    (lambda: g.hinge_truncated_moments(0.0, 1.0, 0.0), "V"),
    (lambda: g.channel_hats("logistic", 0, 1, 1, alpha=1, method="closed"), "closed"),
    (lambda: g.channel_hats("hinge", 0, 1, 1, alpha=1, method="quadrature"), "quadrature"),
    (lambda: g.maxmargin_kappa(1.0, 1.0, 1.0), "rho"),
    (lambda: g.maxmargin_solution(-1.0, 1.0), "r"),
    (lambda: g.maxmargin_solution(0.0, 2.5), "alpha must lie in"),
    (lambda: g.separability_threshold(math.nan), "r"),
    (lambda: g.positive_part_moment(0.0, 3), "k"),
    (lambda: g.mean_difference_error_finite(1.0, 0, 3), "n"),
    (lambda: g.mean_difference_error_finite(1.0, 3, 0), "D"),
    (lambda: g.solve_bias("hinge", m=0, q=1, V=1, equation="no"), "equation"),
    (lambda: g.learning_curve("square", [], delta=1, lam=1), "alphas"),
    (lambda: g.delta_from_snr(0.0), "r"),
    (lambda: g.lam_ridge_from_mignacco(1.0, 0.0, 1.0), "alpha"),
]


@pytest.mark.parametrize(("call", "name"), BAD)
def test_bad_input_raises_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_high_precision_does_not_leak_global_precision():
    dps0 = mpmath.mp.dps
    g.square_closed_form(2.0, 1.0, 0.3, precision="high", dps=60)
    g.maxmargin_solution(1.0, 1.0, precision="high", dps=40)
    assert mpmath.mp.dps == dps0
    with bk.backend("high", 45):
        assert mpmath.mp.dps == 45
    assert mpmath.mp.dps == dps0


# ------------------------------------------------------------------------------------------
# cross-checks between sections
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("r", "alpha"), [(1.0, 1.0), (2.0, 3.0)])
def test_hinge_small_lambda_equals_maxmargin_cgmt(r, alpha):
    # separable regime (alpha < alpha*(r)): the hinge fixed point (§5, replica) at lam -> 0+
    # gives the max-margin direction, whose error §6 computes by CGMT: independent routes
    assert alpha < g.separability_threshold(r)
    path = g.regularisation_path("hinge", [1.0, 0.1, 1e-2, 1e-3, 1e-4], alpha=alpha,
                                 delta=g.delta_from_snr(r))
    mm = g.maxmargin_solution(r, alpha)
    assert abs(path[-1].eps_g - mm.eps_g) <= 1e-10
    assert abs(path[0].eps_g - mm.eps_g) > 1e-3  # and lam = 1 is visibly different


def test_mutation_delta_counted_twice_disagrees():
    # §8.2 / §9 mutation: q already contains Delta; Q(m/sqrt(Delta q)) must disagree with §3.4
    alpha, lam, delta = 2.0, 0.5, 0.5
    fp = g.solve_fixed_point("square", alpha=alpha, delta=delta, lam=lam)
    rm = g.ridge_error_standard(delta**-0.5, 1 / alpha, lam / (alpha * delta))
    assert abs(fp.eps_g - rm) <= 1e-10
    wrong = g.gaussian_tail(fp.m / math.sqrt(delta * fp.q))
    assert abs(wrong - rm) > 1e-3


# ------------------------------------------------------------------------------------------
# symbolic channel equations and hinge moments (§9 "symbolic theory")
# ------------------------------------------------------------------------------------------


def test_symbolic_channel_equations_square_and_logistic():
    t = sp.Symbol("t", real=True)
    sq = g.channel_equations_symbolic((1 - t) ** 2 / 2, t)
    P, omega, V = sp.symbols("P omega V", real=True)
    V = sp.Symbol("V", positive=True)
    assert sp.simplify(sq["prox"] - (omega + V) / (1 + V)) == 0  # §3
    assert sp.simplify(sq["dP_domega"] - 1 / (1 + V)) == 0
    assert sp.simplify(sq["lprime"].subs(P, sq["prox"]) - (omega - 1) / (1 + V)) == 0
    lg = g.channel_equations_symbolic(sp.log(1 + sp.exp(-t)), t)
    assert lg["prox"] is None  # transcendental
    # dP/domega = 1/(1 + V l''(P)) (§2.1), and it matches the numeric channel at a point
    assert sp.simplify(lg["dP_domega"] - 1 / (1 + V * lg["lsecond"])) == 0
    omega_v, V_v = 0.4, 2.0
    P_v = float(g._channel._prox_logistic_np(np.array([omega_v]), V_v)[0])
    assert float(lg["stationarity"].subs({P: P_v, omega: omega_v, V: V_v})) == pytest.approx(
        0, abs=1e-15)
    lp, k = g._channel._channel_np("logistic", np.array([omega_v]), V_v)
    assert float(lg["one_minus_dP"].subs({P: P_v, V: V_v})) == pytest.approx(k[0], rel=1e-13)
    assert float(lg["lprime"].subs(P, P_v)) == pytest.approx(lp[0], rel=1e-13)


def test_symbolic_hinge_moments_equal_closed_forms():
    (a, q, V), mo = g.hinge_moments_symbolic()
    fns = {k: sp.lambdify((a, q, V), v, "mpmath") for k, v in mo.items()}
    rng = np.random.default_rng(3_407_118_265)
    with mpmath.workdps(40):
        for _ in range(4):
            av, qv, Vv = (mpmath.mpf(float(x)) for x in rng.uniform([-2, 0.1, 0.1], [3, 5, 6]))
            cf = g.hinge_truncated_moments(av, qv, Vv, precision="high", dps=40)
            assert abs(fns["p_kink"](av, qv, Vv) - cf.p_kink) < mpmath.mpf(10) ** -35
            assert abs(fns["e_u"](av, qv, Vv) - cf.e_u) < mpmath.mpf(10) ** -35
            assert abs(fns["e_u2"](av, qv, Vv) - cf.e_u2) < mpmath.mpf(10) ** -35
            e_clip = fns["e_u"](av, qv, Vv) + Vv * fns["tail"](av, qv, Vv)
            assert abs(e_clip - cf.e_clip) < mpmath.mpf(10) ** -35


@pytest.mark.slow
def test_fast_vs_high_precision_logistic_small_lambda():
    # stiff region (large q and V): continuation in lambda, then refine the last point
    path = g.regularisation_path("logistic", [1.0, 0.1, 1e-2, 1e-3], alpha=1.0, delta=0.5)
    high = g.solve_fixed_point("logistic", alpha=1.0, delta=0.5, lam=1e-3, precision="high",
                               init=path[-1])
    assert path[-1].q > 10
    assert abs(path[-1].eps_g - float(high.eps_g)) <= 1e-8
