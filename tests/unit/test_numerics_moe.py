"""Tests of numerics.moe: models, sampler, LM fitter, Voronoi losses, diagnostics.

Every check compares two independent routes (analytic vs central differences, compiled vs
numpy, our LM vs scipy's MINPACK LM, closed-form loss values of constructed configurations vs
the loss code) or a property that could fail.
"""

import itertools
import math

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit, prange
from scipy.integrate import quad
from scipy.optimize import least_squares
from scipy.special import expit, logit

import numerics.moe as moe
from numerics.moe import (
    LeastSquaresProblem,
    MoEModel,
    cap_losses,
    check_truth,
    fiber_sup_loss,
    fit_lm,
    fit_lm_batch,
    function_l2_error,
    generic_box,
    jacobian_singular_values,
    merge_match_loss,
    merged_softmax_loss,
    perturb_starts,
    r2_exponent,
    rank_test,
    reference_jacobian,
    sample_regression,
    start_rng,
    voronoi_cells,
    voronoi_loss_d1,
    voronoi_loss_d2,
    voronoi_loss_d3,
    voronoi_loss_d4,
)
from numerics.moe._model import _model_eval_kernel

SEEDS = st.integers(0, 2**32 - 1)

# C5 truths (spec §9): sigmoid sigma(a x^2 + c)(u x + v), softmax with the pinned atom last.
SIG_PARTIAL = MoEModel("sigmoid", "partial", "linear")
SIG_C5 = np.array([1.0, -1.0, 2.0, 1.0, -2.0, 1.5, -1.5, -1.0])
SOFT_FULL = MoEModel("softmax", "full", "linear")
SOFT_C9 = np.array([1.0, 1.0, -1.0, 2.0, 1.0, -1.5, -1.0])


def scipy_lm_fit(model, x, y, starts, lower, upper, *, backend="numpy", tol=1e-13,
                 max_nfev=1500):
    """The same problem through scipy.optimize.least_squares(method='lm') (benchmark route)."""
    prob = LeastSquaresProblem(model, x, y, lower, upper, backend=backend)
    best = None
    for s in np.atleast_2d(starts):
        res = least_squares(prob.fun, prob.to_phi(s), jac=prob.jac, method="lm", xtol=tol,
                            ftol=tol, gtol=tol, max_nfev=max_nfev)
        if best is None or res.cost < best.cost:
            best = res
    return prob.to_theta(best.x), 2.0 * best.cost


# ----------------------------------------------------------------------------- public surface
def test_all_is_sorted_and_complete():
    assert moe.__all__ == sorted(moe.__all__)
    for name in moe.__all__:
        assert hasattr(moe, name)


# ----------------------------------------------------------------------------- models
COMBOS = [
    ("sigmoid", "full", "linear", "tanh", 1),
    ("sigmoid", "partial", "linear", "tanh", 1),
    ("sigmoid", "linear", "poly", "tanh", 1),
    ("sigmoid", "full", "hidden", "gelu", 1),
    ("sigmoid", "full", "hidden", "sigmoid", 1),
    ("sigmoid", "full", "hidden_nw", "tanh", 1),
    ("sigmoid", "partial", "constant", "tanh", 1),
    ("sigmoid", "full", "linear", "tanh", 2),
    ("softmax", "full", "linear", "tanh", 1),
    ("softmax", "partial", "linear", "tanh", 1),
    ("softmax", "full", "hidden", "relu", 1),
    ("softmax", "linear", "poly", "tanh", 1),
    ("softmax", "full", "hidden", "gelu", 3),
]


@pytest.mark.parametrize("combo", COMBOS)
def test_jacobian_matches_central_differences_and_numpy(combo):
    gate, score, expert, act, d = combo
    model = MoEModel(gate, score, expert, act=act, d=d)
    rng = np.random.default_rng(20260001 + COMBOS.index(combo))
    k = 3
    theta = rng.uniform(-1.5, 1.5, model.n_params(k))
    x = rng.uniform(-2, 2, (60, d))
    f, jac = model.jacobian(theta, x)
    # independent route 1: plain numpy formulas
    f_np, jac_np = reference_jacobian(model, theta, x)
    assert np.allclose(f, f_np, rtol=1e-13, atol=1e-13)
    assert np.allclose(jac, jac_np, rtol=1e-12, atol=1e-13)
    # independent route 2: central differences (error ~ h^2 + eps/h ~ 1e-10)
    h = 1e-5
    fd = np.empty_like(jac)
    for q in range(theta.size):
        e = np.zeros_like(theta)
        e[q] = h
        fd[:, q] = (model.evaluate(theta + e, x) - model.evaluate(theta - e, x)) / (2 * h)
    if act == "relu" and expert == "hidden":
        # drop points within h*|x| of a kink, where central differences are not derivatives
        gates, experts = model.unpack(theta)
        z = x @ experts[:, 1:].T
        ok = np.all(np.abs(z) > 1e-3, axis=1)
        fd, jac = fd[ok], jac[ok]
    scale = 1.0 + np.abs(jac).max()
    assert np.abs(fd - jac).max() <= 1e-6 * scale
    assert np.allclose(model.evaluate(theta, x), f)


@pytest.mark.parametrize("parallel", [False, True])
def test_model_kernel_inside_a_caller(parallel):
    model = SOFT_FULL
    g, s, e, a = model.codes

    @njit(parallel=parallel)
    def caller(x, thetas, out):
        dummy = np.empty((1, 1))
        for r in prange(thetas.shape[0]):
            _model_eval_kernel(x, thetas[r], 2, g, s, e, a, 3, 2, False, out[r], dummy)

    rng = np.random.default_rng(31415926)
    x = rng.uniform(-2, 2, (40, 1))
    thetas = rng.normal(size=(5, model.n_params(2)))
    out = np.empty((5, 40))
    caller(x, thetas, out)
    for r in range(5):
        assert np.array_equal(out[r], model.evaluate(thetas[r], x))


def test_softmax_is_stable_and_pinned_atom_has_no_gate():
    # huge scores: max subtraction keeps the mixture finite and exact
    theta = np.array([0.0, 0.0, 800.0, 3.0, 0.5, -1.0, 2.0])
    x = np.array([0.3, -1.0])
    assert np.allclose(SOFT_FULL.evaluate(theta, x), 3.0 * x + 0.5)
    gates, experts = SOFT_FULL.unpack(SOFT_C9)
    assert np.array_equal(gates[-1], np.zeros(3))
    assert np.array_equal(SOFT_FULL.pack(gates, experts), SOFT_C9)


def test_gate_vector_layout_matches_quadratic_form():
    model = MoEModel("sigmoid", "full", "linear", d=2)
    A = np.array([[1.0, -0.5], [-0.5, 2.0]])
    b = np.array([0.3, -0.2])
    gvec = model.gate_vector(A, b, 0.7)
    x = np.random.default_rng(2718281).uniform(-2, 2, (30, 2))
    theta = np.concatenate([gvec, [0.0, 0.0, 1.0]])  # constant expert h = 1
    s = np.einsum("ni,ij,nj->n", x, A, x) + x @ b + 0.7
    assert np.allclose(model.evaluate(theta, x), expit(s), rtol=1e-14, atol=1e-15)


# ----------------------------------------------------------------------------- sampler
def test_sampler_streams_are_the_protocol_streams_and_nested():
    x, y = sample_regression(SIG_PARTIAL, SIG_C5, 300, seed=77, replicate=5, noise_sd=0.05)
    x_ref = np.random.default_rng([77, 5, 0]).uniform(-2, 2, (300, 1))
    z_ref = np.random.default_rng([77, 5, 1]).standard_normal(300)
    assert np.array_equal(x, x_ref)
    assert np.allclose(y, SIG_PARTIAL.evaluate(SIG_C5, x_ref) + 0.05 * z_ref, rtol=0, atol=1e-15)
    # nested and paired: a shorter sample and a softmax sample share the first draws
    x2, y2 = sample_regression(SIG_PARTIAL, SIG_C5, 120, seed=77, replicate=5, noise_sd=0.05)
    assert np.array_equal(x2, x[:120]) and np.array_equal(y2, y[:120])
    x3, y3 = sample_regression(SOFT_FULL, SOFT_C9, 500, seed=77, replicate=5, noise_sd=0.05)
    assert np.array_equal(x3[:300], x)
    assert np.allclose(y3[:300] - SOFT_FULL.evaluate(SOFT_C9, x), y - SIG_PARTIAL.evaluate(
        SIG_C5, x), rtol=0, atol=1e-15)
    assert not np.array_equal(start_rng(SIG_PARTIAL, 77, 5, 1000).random(3),
                              start_rng(SOFT_FULL, 77, 5, 1000).random(3))


def test_start_streams_and_gaussian_design():
    assert np.array_equal(start_rng(SIG_PARTIAL, 3, 4, 1000).random(4),
                          np.random.default_rng([3, 4, 1000, 1]).random(4))
    assert np.array_equal(start_rng(SOFT_FULL, 3, 4, 1000).random(4),
                          np.random.default_rng([3, 4, 1000, 2]).random(4))
    model = MoEModel("sigmoid", "full", "linear", d=2)
    theta = np.concatenate([model.gate_vector(np.eye(2), [0.5, 0.0], -1.0), [1.0, 2.0, 0.5]])
    x, _ = sample_regression(model, theta, 200, seed=8, replicate=1, noise_sd=0.1,
                             design="gaussian", scale=0.5)
    assert np.array_equal(x, 0.5 * np.random.default_rng([8, 1, 0]).standard_normal((200, 2)))


# ----------------------------------------------------------------------------- LM fitter
def test_lm_recovers_truth_on_noiseless_data():
    for model, truth in ((SIG_PARTIAL, SIG_C5), (SOFT_FULL, SOFT_C9)):
        x, y = sample_regression(model, truth, 600, seed=11, replicate=0, noise_sd=0.0)
        lo, hi = generic_box(model, 2)
        starts = perturb_starts(np.tile(truth, (2, 1)), lo, hi, rng=start_rng(model, 11, 0, 600))
        res = fit_lm(model, x, y, starts, lo, hi)
        assert not res.capped
        assert np.abs(res.theta - truth).max() <= 1e-8 * (1 + np.abs(truth).max())
        assert res.objective <= 1e-20


LM_PROBLEMS = [
    (SIG_PARTIAL, SIG_C5, 2, 0.05, 800),
    (SOFT_FULL, SOFT_C9, 2, 0.05, 800),
    (MoEModel("sigmoid", "full", "hidden_nw", act="tanh"),
     np.array([1.0, 1.0, -1.0, 2.0, 0.0, 0.0, 0.5, -1.5]), 2, 0.01, 600),
    (MoEModel("softmax", "partial", "linear"), np.array([1.0, -1.0, 2.0, 1.0, -1.5, -1.0]), 2,
     0.05, 1500),
]


# Each model is a separate compiled specialisation (several seconds of compilation when the
# numba cache is cold), so the default run checks two models and the rest are `slow`.
@pytest.mark.parametrize("case", [0, 1, pytest.param(2, marks=pytest.mark.slow),
                                  pytest.param(3, marks=pytest.mark.slow)])
def test_lm_matches_scipy_minpack(case):
    model, truth, k, noise, n = LM_PROBLEMS[case]
    x, y = sample_regression(model, truth, n, seed=123 + case, replicate=1, noise_sd=noise)
    lo, hi = generic_box(model, k)
    starts = perturb_starts(np.tile(truth, (2, 1)), lo, hi, rng=start_rng(model, 123, 1, n))
    ours = fit_lm(model, x, y, starts, lo, hi)
    ref_theta, ref_obj = scipy_lm_fit(model, x, y, starts, lo, hi)
    assert not ours.capped
    assert np.allclose(ours.theta, ref_theta, rtol=1e-6, atol=1e-9)
    assert ours.objective == pytest.approx(ref_obj, rel=1e-10)
    # the estimate is a genuine minimum: not the start, and better than the truth
    assert np.abs(ours.theta - starts[ours.best_start]).max() > 1e-4
    assert ours.objective <= np.mean((y - model.evaluate(truth, x)) ** 2)


def test_lm_respects_the_box_and_reports_the_cap():
    x, y = sample_regression(SIG_PARTIAL, SIG_C5, 400, seed=5, replicate=0, noise_sd=0.05)
    lo, hi = generic_box(SIG_PARTIAL, 2)
    hi = hi.copy()
    hi[0] = 0.5  # the true a = 1 is outside: the fit must stay inside the box
    res = fit_lm(SIG_PARTIAL, x, y, SIG_C5, lo, hi)
    assert np.all(res.theta <= hi) and np.all(res.theta >= lo)
    assert res.theta[0] > 0.45  # pushed against the face
    capped = fit_lm(SIG_PARTIAL, x, y, SIG_C5 + 0.3, lo, hi, max_nfev=2)
    assert capped.capped and capped.nfev == 2 and capped.status == 0


def test_batch_equals_single_fits_and_is_thread_count_independent():
    model, truth = SIG_PARTIAL, SIG_C5
    reps, sizes = [0, 1, 2], [150, 300, 600]
    data = [sample_regression(model, truth, 600, seed=9, replicate=r, noise_sd=0.05)
            for r in reps]
    xs = np.stack([d[0] for d in data])
    ys = np.stack([d[1] for d in data])
    lo, hi = generic_box(model, 2)
    fit_r = np.repeat(reps, 3)
    fit_n = np.tile(sizes, 3)
    starts = np.stack([
        perturb_starts(np.tile(truth, (2, 1)), lo, hi, rng=start_rng(model, 9, int(r), int(n)))
        for r, n in zip(fit_r, fit_n, strict=True)
    ])
    results = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            results.append(fit_lm_batch(model, xs, ys, fit_r, fit_n, starts, lo, hi))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    a, b = results
    for field in ("theta", "objective", "objectives", "nfev", "status", "best_start"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    for f in (0, 4, 8):
        single = fit_lm(model, xs[fit_r[f], : fit_n[f]], ys[fit_r[f], : fit_n[f]], starts[f],
                        lo, hi)
        assert np.array_equal(single.theta, a.theta[f])


# ----------------------------------------------------------------------------- losses
def _unscale(model, vec):
    """Map a vector in loss coordinates (Frobenius-scaled A) back to gate coordinates."""
    out = np.array(vec, dtype=float)
    if model.n_quad:
        iu = np.triu_indices(model.d)
        off = np.flatnonzero(iu[0] != iu[1])
        out[off] /= math.sqrt(2.0)
    return out


def _random_truth(model, k, rng, sep=1.0, pinned_last=False):
    """Atoms (gates, experts) with min ||theta*_j - theta*_l|| >= sep on (A, b, eta)."""
    for _ in range(1000):
        gates = rng.uniform(-2, 2, (k, model.n_gate))
        experts = rng.uniform(-2, 2, (k, model.n_expert))
        if pinned_last:
            gates[-1] = 0.0
        th = model.pack(gates, experts)
        g2, e2 = model.unpack(th)
        A, b, _ = model.split_gate(g2)
        nw = np.concatenate([A, b, e2], axis=1)
        dist = [np.linalg.norm(nw[i] - nw[j]) for i, j in itertools.combinations(range(k), 2)]
        if not dist or min(dist) >= sep:
            return gates, experts
    raise AssertionError("could not draw separated atoms")


@given(seed=SEEDS, k_star=st.integers(1, 3), d=st.integers(1, 3), extra=st.integers(0, 2))
def test_losses_zero_at_truth_nonnegative_and_order_invariant(seed, k_star, d, extra):
    rng = np.random.default_rng(seed)
    sig = MoEModel("sigmoid", "full", "linear", d=d)
    soft = MoEModel("softmax", "full", "linear", d=d)
    for model in (sig, soft):
        ks = max(k_star, 2) if model is soft else k_star
        gates, experts = _random_truth(model, ks, rng, pinned_last=model is soft)
        truth = model.pack(gates, experts)
        losses = [voronoi_loss_d1, voronoi_loss_d2] if model is soft else [
            voronoi_loss_d3, voronoi_loss_d4]
        for loss in losses:
            assert loss(model, truth, truth) == 0.0
        k = ks + extra
        g = rng.uniform(-2, 2, (k, model.n_gate))
        e = rng.uniform(-2, 2, (k, model.n_expert))
        if model is soft:
            g[-1] = 0.0
        theta = model.pack(g, e)
        perm = rng.permutation(k - 1) if model is soft else rng.permutation(k)
        if model is soft:
            perm = np.append(perm, k - 1)  # the pinned atom stays last
        theta_perm = model.pack(g[perm], e[perm])
        for loss in losses:
            val = loss(model, theta, truth)
            assert val > 0.0
            assert loss(model, theta_perm, truth) == pytest.approx(val, rel=1e-12, abs=1e-15)
        labels = voronoi_cells(model, theta, truth)
        assert labels.shape == (k,) and labels.min() >= 0 and labels.max() < ks
        # each atom's cell is one of its nearest true atoms (cells partition the atoms)
        fa = np.concatenate(model.split_gate(g)[:2] + (e,), axis=1)
        ta = np.concatenate(model.split_gate(gates)[:2] + (experts,), axis=1)
        dist = np.linalg.norm(fa[:, None] - ta[None], axis=2)
        assert np.allclose(dist[np.arange(k), labels], dist.min(axis=1), rtol=0, atol=0)
        if model is sig:
            assert merge_match_loss(model, truth, truth, grid=rng.uniform(-2, 2, (50, d))) == 0.0


def test_voronoi_ties_go_to_the_smallest_index():
    model = MoEModel("sigmoid", "partial", "constant")
    truth = np.array([1.0, 0.0, 1.0, -1.0, 0.0, 3.0])  # (a, c, v) atoms at (1,1) and (-1,3)
    theta = np.array([0.0, 5.0, 2.0])  # (0, 2) is equidistant from both
    assert voronoi_cells(model, theta, truth).tolist() == [0]
    assert voronoi_cells(model, theta, truth[[3, 4, 5, 0, 1, 2]]).tolist() == [0]


@given(seed=SEEDS, k_star=st.integers(1, 3), d=st.integers(1, 2),
       delta=st.floats(1e-3, 1e-1), alpha=st.floats(0.2, 0.8))
def test_exact_split_values_of_d1_and_d3(seed, k_star, d, delta, alpha):
    """C11: a split theta*_j +- delta v gives D1 = e^{c*_j} delta^2 and D3 = 2 delta^2."""
    rng = np.random.default_rng(seed)
    for model in (MoEModel("sigmoid", "full", "linear", d=d),
                  MoEModel("softmax", "full", "linear", d=d)):
        soft = model.gate == "softmax"
        ks = k_star + 1 if soft else k_star
        gates, experts = _random_truth(model, ks, rng, sep=1.0, pinned_last=soft)
        j = int(rng.integers(0, ks - 1)) if soft else int(rng.integers(0, ks))
        nq, nl = model.n_quad, model.n_lin
        v = rng.normal(size=nq + nl + model.n_expert)
        v /= np.linalg.norm(v)
        gv = _unscale(model, np.concatenate([v[: nq + nl], [0.0]]))
        ev = v[nq + nl :]
        c_star = gates[j, -1]
        if soft:
            c1, c2 = c_star + math.log(alpha), c_star + math.log(1 - alpha)
        else:
            c1, c2 = logit(alpha * expit(c_star)), logit((1 - alpha) * expit(c_star))
        g1, g2 = gates[j] + delta * gv, gates[j] - delta * gv
        g1[-1], g2[-1] = c1, c2
        new_g = np.vstack([g1, g2, np.delete(gates, j, axis=0)])
        new_e = np.vstack([experts[j] + delta * ev, experts[j] - delta * ev,
                           np.delete(experts, j, axis=0)])
        theta, truth = model.pack(new_g, new_e), model.pack(gates, experts)
        if soft:
            assert voronoi_loss_d1(model, theta, truth) == pytest.approx(
                math.exp(c_star) * delta**2, rel=1e-9)
        else:
            assert voronoi_loss_d3(model, theta, truth) == pytest.approx(2 * delta**2, rel=1e-9)
            # D4 has exponent 1: of order delta, not delta^2
            assert voronoi_loss_d4(model, theta, truth) >= delta


def test_d1_d3_within_constants_of_parameter_perturbations():
    """C11 ratio bounds for k = k* and perturbations of size eps."""
    rng = np.random.default_rng(55443322)
    for eps in (1e-3, 1e-2, 1e-1):
        for model in (MoEModel("sigmoid", "full", "linear"), MoEModel("softmax", "full", "linear")):
            soft = model.gate == "softmax"
            gates, experts = _random_truth(model, 3, rng, sep=1.0, pinned_last=soft)
            dg = rng.uniform(-eps, eps, gates.shape) / math.sqrt(3)
            de = rng.uniform(-eps, eps, experts.shape) / math.sqrt(3)
            if soft:
                dg[-1] = 0.0
            g, e = gates + dg, experts + de
            theta, truth = model.pack(g, e), model.pack(gates, experts)
            A, b, c = model.split_gate(g)
            A0, b0, c0 = model.split_gate(gates)
            dth = np.linalg.norm(np.concatenate([A - A0, b - b0, e - experts], axis=1), axis=1)
            if soft:
                total = np.sum(dth + np.abs(np.exp(c) - np.exp(c0)))
                val = voronoi_loss_d1(model, theta, truth)
                lo, hi = min(1, np.exp(c).min()), max(1, math.sqrt(3) * np.exp(c).max())
            else:
                total = np.sum(dth + np.abs(expit(c) - expit(c0)))
                val = voronoi_loss_d3(model, theta, truth)
                lo = 1.0
                cc = np.linspace(np.minimum(c, c0), np.maximum(c, c0), 50)
                m = np.min(expit(cc) * (1 - expit(cc)))
                hi = max(math.sqrt(3), 1 / m)
            assert lo * (1 - 1e-12) <= val / total <= hi * (1 + 1e-12)


def _sig_truth_1d(rng, k_star):
    model = SIG_PARTIAL
    gates, experts = _random_truth(model, k_star, rng, sep=1.0)
    gates[:, 0] = rng.choice([-1, 1], k_star) * rng.uniform(0.5, 2, k_star)  # non-constant
    return model, gates, experts


@given(seed=SEEDS, k_star=st.integers(1, 3))
def test_fiber_sup_vanishes_on_dead_and_split_branches(seed, k_star):
    rng = np.random.default_rng(seed)
    model, gates, experts = _sig_truth_1d(rng, k_star)
    truth = model.pack(gates, experts)
    pos = int(rng.integers(0, k_star + 1))
    # dead branch: any gate, zero expert, inserted anywhere; true atoms permuted
    perm = rng.permutation(k_star)
    g = np.insert(gates[perm], pos, rng.uniform(-3, 3, 2), axis=0)
    e = np.insert(experts[perm], pos, np.zeros(2), axis=0)
    val, branch = fiber_sup_loss(model, model.pack(g, e), truth)
    assert val <= 1e-12 and branch == "dead"
    assert function_l2_error(model, model.pack(g, e), truth) <= 1e-12
    # split branch: two atoms on the gate of atom j whose experts sum to eta*_j
    j = int(rng.integers(0, k_star))
    share = rng.uniform(-1, 2, 2)
    g = np.insert(gates, j, gates[j], axis=0)
    e = np.insert(experts, j, share, axis=0)
    e[j + 1] = experts[j] - share
    theta = model.pack(g[::-1].copy(), e[::-1].copy())
    val, branch = fiber_sup_loss(model, theta, truth)
    assert val <= 1e-12 and branch == "split"
    assert function_l2_error(model, theta, truth) <= 1e-12
    # away from both branches F_sup is positive
    g_off = g.copy()
    g_off[j, 0] += 0.3
    val, _ = fiber_sup_loss(model, model.pack(g_off, e), truth)
    assert val > 0.1


def test_fiber_sup_split_distance_is_the_euclidean_distance():
    model = SIG_PARTIAL
    truth = np.array([1.0, -1.0, 2.0, 1.0])
    theta = np.array([1.0, -1.0, 1.0, 0.5, 1.0, -1.0, 1.0 + 0.02, 0.5 - 0.01])
    # expert sum off by (0.02, -0.01): distance^2 = 1/2 * 0.0005
    val, branch = fiber_sup_loss(model, theta, truth)
    assert branch == "split"
    assert val == pytest.approx(math.sqrt(0.5 * 0.0005), rel=1e-12)


def test_merge_match_merges_a_split_and_charges_leftovers():
    model = SIG_PARTIAL
    truth = np.array([1.0, -1.0, 2.0, 1.0])
    split = np.array([1.0, -1.0, 1.5, 0.0, 1.0 + 0.1, -1.0, 0.5, 1.0])
    # merged gate (1.05, -1), expert (2, 1): distance 0.05
    assert merge_match_loss(model, split, truth) == pytest.approx(0.05, rel=1e-12)
    leftover = np.array([1.0, -1.0, 2.0, 1.0, -3.0, -4.0, 0.2, 0.1])
    grid = np.linspace(-2, 2, 2001)
    sup = np.max(np.abs(expit(-3 * grid**2 - 4) * (0.2 * grid + 0.1)))
    assert merge_match_loss(model, leftover, truth) == pytest.approx(sup, rel=1e-12)
    assert merge_match_loss(model, split, truth, merge_tol=0.05) > 0.5


def _exact_softmax_split(model, gates, experts, rng, gauge, extra):
    """An exact split of a softmax truth (pinned atom last) in the gauge of true atom `gauge`."""
    ks = gates.shape[0]
    sizes = np.ones(ks, dtype=int)
    for _ in range(extra):
        sizes[rng.integers(0, ks)] += 1
    omega = gates[:, :-1]
    omega0 = -omega[gauge]
    rows_g, rows_e, pinned = [], [], None
    alphas = {j: rng.dirichlet(np.ones(sizes[j])) for j in range(ks)}
    kappa = -gates[gauge, -1] - math.log(alphas[gauge][0])
    for j in range(ks):
        al = alphas[j]
        dev = rng.normal(size=(sizes[j], experts.shape[1]))
        dev -= al @ dev
        for m in range(sizes[j]):
            row_g = np.append(omega[j] + omega0, gates[j, -1] + kappa + math.log(al[m]))
            row_e = experts[j] + dev[m]
            if j == gauge and m == 0:
                pinned = (row_g, row_e)
            else:
                rows_g.append(row_g)
                rows_e.append(row_e)
    order = rng.permutation(len(rows_g))
    g = np.vstack([np.array(rows_g)[order], np.zeros((1, gates.shape[1]))])
    e = np.vstack([np.array(rows_e)[order], pinned[1][None]])
    assert np.allclose(pinned[0], 0.0, atol=1e-12)
    return model.pack(g, e)


@given(seed=SEEDS, k_star=st.integers(2, 3), extra=st.integers(0, 2),
       score=st.sampled_from(["full", "partial"]))
def test_merged_softmax_loss_vanishes_on_exact_splits(seed, k_star, extra, score):
    rng = np.random.default_rng(seed)
    model = MoEModel("softmax", score, "linear")
    gates, experts = _random_truth(model, k_star, rng, sep=1.0, pinned_last=True)
    gates[:-1, 0] = rng.choice([-1, 1], k_star - 1) * rng.uniform(0.7, 2, k_star - 1)
    truth = model.pack(gates, experts)
    assert merged_softmax_loss(model, truth, truth) == 0.0
    for gauge in (k_star - 1, int(rng.integers(0, k_star - 1))):
        theta = _exact_softmax_split(model, gates, experts, rng, gauge, extra)
        assert function_l2_error(model, theta, truth) <= 1e-12
        assert merged_softmax_loss(model, theta, truth) <= 1e-12
        if extra and model.n_atoms(theta) > k_star:
            assert voronoi_loss_d1(model, theta, truth) > 0
    # a genuine error in one expert is seen
    bad = truth.copy()
    bad[-1] += 0.5
    assert merged_softmax_loss(model, bad, truth) == pytest.approx(0.5, rel=1e-12)


def test_merged_softmax_loss_is_infinite_when_a_cell_is_empty_and_capped():
    model = SOFT_FULL
    theta = np.array([0.0, 0.0, 0.0, 2.0, 1.0, -1.5, -1.0])  # both atoms on the pinned gate
    assert merged_softmax_loss(model, theta, SOFT_C9) == math.inf
    capped, count = cap_losses([0.2, math.inf, 3.0])
    assert capped.tolist() == [0.2, 10.0, 3.0] and count == 1


def test_d2_exponents_follow_r2():
    assert [r2_exponent(m) for m in (2, 3, 4, 9)] == [4, 6, 7, 7]
    model = SOFT_FULL
    truth = SOFT_C9
    dlt = 0.1
    # two atoms on the free true atom, slopes off by +-dlt, masses summing to e^{-1}
    g = np.array([[1.0 + dlt, 1.0, -1.0 - math.log(2)], [1.0 - dlt, 1.0, -1.0 - math.log(2)],
                  [0.0, 0.0, 0.0]])
    e = np.array([[2.0, 1.0 + dlt], [2.0, 1.0 - dlt], [-1.5, -1.0]])
    theta = model.pack(g, e)
    expected = 2 * (math.exp(-1) / 2) * (dlt**4 + dlt**4)
    assert voronoi_loss_d2(model, theta, truth) == pytest.approx(expected, rel=1e-9)


# ----------------------------------------------------------------------------- diagnostics
def test_function_l2_error_matches_quadrature():
    model = MoEModel("sigmoid", "partial", "constant")
    theta_star = np.array([1.0, -1.0, 0.5])
    theta = np.array([1.0, -1.0, 0.8])
    ref = math.sqrt(quad(lambda t: (expit(t * t - 1) * 0.3) ** 2, -2, 2)[0] / 4)
    assert function_l2_error(model, theta, theta_star) == pytest.approx(ref, rel=1e-3)


def test_reflected_truth_is_singular_and_refused():
    """§2 item 3: s2 = -s1 gives rank deficiency 2 (full score) and 1 (linear gate)."""
    x = np.random.default_rng(8675309).uniform(-2, 2, 400)
    for score, gate_row, deficiency in (("full", [1.0, 1.0, -1.0], 2), ("linear", [1.5, -0.5], 1)):
        model = MoEModel("sigmoid", score, "linear")
        g = np.array([gate_row, [-v for v in gate_row]])
        theta = model.pack(g, np.array([[2.0, 1.0], [-1.5, -1.0]]))
        sv = jacobian_singular_values(model, theta, x)
        assert np.sum(sv < 1e-12 * sv[0]) == deficiency
        _, jac = model.jacobian(theta, x)
        assert rank_test(jac).verdict == "dependent"
        with pytest.raises(ValueError, match="reflect"):
            sample_regression(model, theta, 10, seed=1, replicate=0, noise_sd=0.01)
        theta_ok = model.pack(np.array([gate_row, [0.5 * v for v in gate_row]]),
                              np.array([[2.0, 1.0], [-1.5, -1.0]]))
        check_truth(model, theta_ok)
        assert rank_test(model.jacobian(theta_ok, x)[1]).verdict == "independent"


def test_rank_test_on_matrices_of_known_rank():
    rng = np.random.default_rng(10203040)
    base = rng.normal(size=(400, 5))
    assert rank_test(base).verdict == "independent"
    dep = np.column_stack([base, base[:, :2] @ np.array([1.5, -0.5])])
    res = rank_test(dep)
    assert res.verdict == "dependent" and res.ratio < 1e-12
    near = np.column_stack([base, base[:, 0] + 1e-9 * rng.normal(size=400)])
    assert rank_test(near).verdict == "inconclusive"
    with pytest.raises(ValueError, match="rows"):
        rank_test(base[:50])
    zero = rank_test(np.column_stack([base, np.zeros(400)]))
    assert zero.verdict == "dependent" and zero.ratio == 0.0


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="gate"):
        MoEModel("relu", "full", "linear")
    with pytest.raises(ValueError, match="symmetric"):
        MoEModel("sigmoid", "full", "linear", d=2).gate_vector([[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"k must be >= k\*"):
        voronoi_loss_d3(SIG_PARTIAL, SIG_C5[:4], SIG_C5)
    with pytest.raises(ValueError, match=r"k must be >= k\*"):
        merged_softmax_loss(SOFT_FULL, SOFT_C9[-2:], SOFT_C9)
    with pytest.raises(ValueError, match="k = k"):
        fiber_sup_loss(SIG_PARTIAL, SIG_C5, SIG_C5)
    with pytest.raises(ValueError, match="n_max"):
        sample_regression(SIG_PARTIAL, SIG_C5, 0, seed=1, replicate=0, noise_sd=0.1)
    with pytest.raises(ValueError, match="noise_sd"):
        sample_regression(SIG_PARTIAL, SIG_C5, 5, seed=1, replicate=0, noise_sd=-1.0)
    with pytest.raises(ValueError, match="finite"):
        SIG_PARTIAL.evaluate(SIG_C5, [0.0, np.nan])
    lo, hi = generic_box(SIG_PARTIAL, 2)
    x, y = sample_regression(SIG_PARTIAL, SIG_C5, 50, seed=1, replicate=0, noise_sd=0.1)
    bad_hi = hi.copy()
    bad_hi[2] = lo[2]
    with pytest.raises(ValueError, match="box coordinate 2"):
        fit_lm(SIG_PARTIAL, x, y, SIG_C5, lo, bad_hi)
    with pytest.raises(ValueError, match="finite"):
        fit_lm(SIG_PARTIAL, x, np.where(np.arange(50) == 3, np.inf, y), SIG_C5, lo, hi)
    with pytest.raises(ValueError, match="starts"):
        fit_lm(SIG_PARTIAL, x, y, SIG_C5[:5], lo, hi)
    with pytest.raises(ValueError, match="sizes"):
        fit_lm_batch(SIG_PARTIAL, x[None], y[None], [0], [0], SIG_C5[None, None], lo, hi)
    with pytest.raises(ValueError, match="max_nfev"):
        fit_lm(SIG_PARTIAL, x, y, SIG_C5, lo, hi, max_nfev=0)
    with pytest.raises(ValueError, match="theta"):
        SIG_PARTIAL.evaluate(SIG_C5[:5], x)


@pytest.mark.parametrize("model", [SIG_PARTIAL, SOFT_FULL, MoEModel("softmax", "full", "poly",
                                                                     degree=1)])
def test_normal_equations_match_the_jacobian(model):
    """The LM kernel's J'J, J'r (linear-expert fast path and generic path) vs model.jacobian."""
    from numerics.moe._lm import _normal_equations

    k = 2
    rng = np.random.default_rng(4242424242)
    theta = rng.uniform(-1.5, 1.5, model.n_params(k))
    x = rng.uniform(-2, 2, (300, 1))
    y = rng.normal(size=300)
    p = theta.size
    dt = rng.uniform(0.5, 1.5, p)
    jtj, jtr = np.empty((p, p)), np.empty(p)
    ssq = _normal_equations(x, y, 300, theta, dt, jtj, jtr, np.empty(model.n_gate), np.empty(k),
                            np.empty(k), np.empty((k, model.n_expert)), np.zeros(p), k,
                            *model.codes, model.n_gate, model.n_expert)
    f, jac = reference_jacobian(model, theta, x)
    jr = -jac * dt / np.sqrt(300)
    r = (y - f) / np.sqrt(300)
    assert ssq == pytest.approx(r @ r, rel=1e-13)
    assert np.allclose(jtj, jr.T @ jr, rtol=1e-12, atol=1e-14)
    assert np.allclose(jtr, jr.T @ r, rtol=1e-12, atol=1e-14)


def test_unboxed_coordinates_are_fitted_unconstrained():
    model, truth = SIG_PARTIAL, SIG_C5
    x, y = sample_regression(model, truth, 500, seed=31, replicate=2, noise_sd=0.0)
    lo, hi = generic_box(model, 2)
    lo[[2, 3]], hi[[2, 3]] = -np.inf, np.inf  # expert of atom 1 free
    res = fit_lm(model, x, y, truth + 0.02, lo, hi)
    assert np.abs(res.theta - truth).max() <= 1e-8 * (1 + np.abs(truth).max())
    prob = LeastSquaresProblem(model, x, y, lo, hi)
    assert np.allclose(prob.to_theta(prob.to_phi(truth)), truth, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="box coordinate 0"):
        fit_lm(model, x, y, truth, np.r_[-np.inf, lo[1:]], hi)
