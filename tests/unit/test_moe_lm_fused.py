"""The LM fitter's fused pass (blocked J'J, J'r, r'r without the n x p Jacobian) and its fits.

Routes compared: the fused pass against the explicit Jacobian of the plain-NumPy reference
(:func:`reference_jacobian`) on the fast path (linear experts, d = 1) and on the generic path,
for sizes below, at and across the block width; the same kernel called from Python and from a
caller ``@njit`` with ``parallel=False`` and ``True``.  Properties of a fit that could fail: it
never leaves the box, and its objective is never above the objective at its starts.
"""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numba import njit, prange

from numerics.moe import (
    MoEModel,
    fit_lm,
    generic_box,
    perturb_starts,
    reference_jacobian,
    sample_regression,
    start_rng,
)
from numerics.moe._lm import _BLOCK, _normal_equations

SEEDS = st.integers(0, 2**32 - 1)

# fast path: linear experts, d = 1, every gate and score; generic path: the rest
FAST = [
    (MoEModel("sigmoid", "partial", "linear"), 2),
    (MoEModel("sigmoid", "full", "linear"), 3),
    (MoEModel("sigmoid", "linear", "linear"), 2),
    (MoEModel("softmax", "full", "linear"), 3),
    (MoEModel("softmax", "partial", "linear"), 2),
    (MoEModel("softmax", "linear", "linear"), 2),
]
GENERIC = [
    (MoEModel("sigmoid", "full", "hidden_nw", act="tanh"), 2),
    (MoEModel("softmax", "full", "poly", degree=2), 2),
    (MoEModel("sigmoid", "full", "linear", d=2), 2),
]
SIZES = [1, _BLOCK - 1, _BLOCK, 3 * _BLOCK + 7]


def _explicit(model, theta, x, y, dt):
    """S, J'J and J'r from the explicit n x p Jacobian of r = (y - f)/sqrt(n), phi coordinates."""
    n = x.shape[0]
    f, jac = reference_jacobian(model, theta, x)
    jr = -jac * dt / math.sqrt(n)
    r = (y - f) / math.sqrt(n)
    return r @ r, jr.T @ jr, jr.T @ r


def _fused(model, theta, x, y, dt, k):
    p = theta.size
    jtj, jtr = np.empty((p, p)), np.empty(p)
    ssq = _normal_equations(x, y, x.shape[0], theta, dt, jtj, jtr, np.empty(model.n_gate),
                            np.empty(k), np.empty(k), np.empty((k, model.n_expert)),
                            np.zeros(p), k, *model.codes, model.n_gate, model.n_expert)
    return ssq, jtj, jtr


def _problem(model, k, n, seed):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-1.5, 1.5, model.n_params(k))
    x = rng.uniform(-2.0, 2.0, (n, model.d))
    y = rng.normal(size=n)
    dt = rng.uniform(0.5, 1.5, theta.size)
    return theta, x, y, dt


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("case", range(len(FAST) + len(GENERIC)))
def test_fused_pass_equals_the_explicit_jacobian(case, n):
    model, k = (FAST + GENERIC)[case]
    theta, x, y, dt = _problem(model, k, n, 7_340_211 + 31 * case + n)
    s_ref, jtj_ref, jtr_ref = _explicit(model, theta, x, y, dt)
    ssq, jtj, jtr = _fused(model, theta, x, y, dt, k)
    assert ssq == pytest.approx(s_ref, rel=1e-10)
    scale = np.abs(jtj_ref).max()
    assert np.abs(jtj - jtj_ref).max() <= 1e-10 * scale
    assert np.array_equal(jtj, jtj.T)
    assert np.abs(jtr - jtr_ref).max() <= 1e-10 * max(np.abs(jtr_ref).max(), math.sqrt(scale * s_ref))


def test_fused_pass_reads_only_the_first_n_points():
    model, k = FAST[3]
    theta, x, y, dt = _problem(model, k, 2 * _BLOCK + 5, 918_273_645)
    n = _BLOCK + 3
    p = theta.size
    jtj, jtr = np.empty((p, p)), np.empty(p)
    ssq = _normal_equations(x, y, n, theta, dt, jtj, jtr, np.empty(model.n_gate), np.empty(k),
                            np.empty(k), np.empty((k, model.n_expert)), np.zeros(p), k,
                            *model.codes, model.n_gate, model.n_expert)
    ref = _fused(model, theta, x[:n], y[:n], dt, k)
    assert ssq == ref[0]
    assert np.array_equal(jtj, ref[1]) and np.array_equal(jtr, ref[2])


def _caller(parallel):
    @njit(parallel=parallel)
    def many(x, y, thetas, dt, k, gate, score, expert, act, pg, pe, out):
        p = thetas.shape[1]
        for i in prange(thetas.shape[0]):
            jtj = np.empty((p, p))
            jtr = np.empty(p)
            out[i] = _normal_equations(x, y, x.shape[0], thetas[i], dt, jtj, jtr, np.empty(pg),
                                       np.empty(k), np.empty(k), np.empty((k, pe)),
                                       np.zeros(p), k, gate, score, expert, act, pg, pe)

    return many


@pytest.mark.parametrize("parallel", [False, True])
def test_fused_pass_inside_a_caller_njit(parallel):
    model, k = FAST[0]
    rng = np.random.default_rng(5_550_123_987)
    thetas = rng.uniform(-1.5, 1.5, (4, model.n_params(k)))
    x = rng.uniform(-2.0, 2.0, (3 * _BLOCK + 1, 1))
    y = rng.normal(size=x.shape[0])
    dt = np.ones(thetas.shape[1])
    out = np.empty(4)
    _caller(parallel)(x, y, thetas, dt, k, *model.codes, model.n_gate, model.n_expert, out)
    assert np.array_equal(out, [_fused(model, t, x, y, dt, k)[0] for t in thetas])


FIT_CASES = [
    (MoEModel("sigmoid", "partial", "linear"),
     np.array([1.0, -1.0, 2.0, 1.0, -2.0, 1.5, -1.5, -1.0])),
    (MoEModel("softmax", "full", "linear"), np.array([1.0, 1.0, -1.0, 2.0, 1.0, -1.5, -1.0])),
]


@given(seed=SEEDS, case=st.integers(0, len(FIT_CASES) - 1), width=st.floats(0.05, 1.0))
@example(seed=0, case=0, width=0.9375)  # two coordinates run into faces (tanh rounds to -1)
def test_fit_stays_in_the_box_and_never_increases_the_objective(seed, case, width):
    """A narrow random box around the truth (often excluding it): the fit stays inside the
    closed box, and its objective is at most the objective at each start."""
    model, truth = FIT_CASES[case]
    rng = np.random.default_rng(seed)
    lo, hi = generic_box(model, 2)
    centre = truth + rng.uniform(-0.3, 0.3, truth.size)
    lower = np.maximum(lo, centre - width)
    upper = np.minimum(hi, centre + width)
    x, y = sample_regression(model, truth, 150, seed=seed, replicate=0, noise_sd=0.05)
    starts = perturb_starts(np.tile(centre, (2, 1)), lower, upper,
                            rng=start_rng(model, seed, 0, 150), sd=width)
    res = fit_lm(model, x, y, starts, lower, upper, max_nfev=200)
    assert np.all(res.theta >= lower) and np.all(res.theta <= upper)
    start_obj = [np.mean((y - model.evaluate(s, x)) ** 2) for s in starts]
    assert np.all(res.objectives <= np.array(start_obj) * (1 + 1e-12))
    assert res.objective == res.objectives.min()
