"""MoE least squares: the compiled LM fitter vs scipy.optimize.least_squares(method='lm').

One rate study (spec §7.4): the C5/C6 sigmoid exact-specified truth (partially quadratic gate,
two atoms (1, -1; 2, 1) and (-2, 1.5; -1.5, -1), linear experts), noise 0.01, 11 sizes
geometrically spaced from 1e3 to 1e5, 20 replicates, 2 starts per fit (the truth perturbed on
the start streams of §7.4), xtol = ftol = gtol = 1e-13, at most 1500 evaluations per start.
Both fitters get the same data, the same starts and the same box map (tanh reparametrisation):
scipy runs ``LeastSquaresProblem`` (residuals and Jacobian in plain NumPy, what a SciPy user
without Numba writes).  Reported: the largest relative difference of the estimates, the
objectives, and the end-to-end speed ratio (compiled: ``fit_lm_batch`` over all fits on the
machine's cores; scipy: one process, its BLAS free to thread).

Also timed: one full sigmoid-vs-softmax study, the C8 and C9 claims at full scale.
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy.optimize import least_squares

from numerics.core import set_thread_count
from numerics.moe import (
    LeastSquaresProblem,
    MoEModel,
    fit_lm_batch,
    generic_box,
    perturb_starts,
    sample_regression,
    start_rng,
)

_TRUTH = np.array([1.0, -1.0, 2.0, 1.0, -2.0, 1.5, -1.5, -1.0])
_TOL = 1e-13
_MAX_NFEV = 1500


def scipy_lm_fit(model, x, y, starts, lower, upper, *, tol=_TOL, max_nfev=_MAX_NFEV):
    """Multi-start fit through ``least_squares(method='lm')`` on the same problem."""
    prob = LeastSquaresProblem(model, x, y, lower, upper, backend="numpy")
    best = None
    for s in np.atleast_2d(starts):
        res = least_squares(prob.fun, prob.to_phi(s), jac=prob.jac, method="lm", xtol=tol,
                            ftol=tol, gtol=tol, max_nfev=max_nfev)
        if best is None or res.cost < best.cost:
            best = res
    return prob.to_theta(best.x), 2.0 * best.cost


def _study(reps: int, sizes, seed: int = 20231124):
    model = MoEModel("sigmoid", "partial", "linear")
    lower, upper = generic_box(model, 2)
    n_max = int(max(sizes))
    xs, ys = [], []
    for r in range(reps):
        X, Y = sample_regression(model, _TRUTH, n_max, seed=seed, replicate=r, noise_sd=0.01)
        xs.append(X[:, 0])
        ys.append(Y)
    reps_idx, size_idx, starts = [], [], []
    for r in range(reps):
        for n in sizes:
            rng = start_rng(model, seed, r, int(n))
            starts.append(perturb_starts(np.stack([_TRUTH, _TRUTH]), lower, upper, rng=rng))
            reps_idx.append(r)
            size_idx.append(int(n))
    return (model, np.array(xs), np.array(ys), np.array(reps_idx), np.array(size_idx),
            np.array(starts), lower, upper)


def _compiled(study):
    model, xs, ys, reps, sizes, starts, lower, upper = study
    return fit_lm_batch(model, xs, ys, reps, sizes, starts, lower, upper, xtol=_TOL, ftol=_TOL,
                        gtol=_TOL, max_nfev=_MAX_NFEV)


def _scipy(study, which):
    model, xs, ys, reps, sizes, starts, lower, upper = study
    out = []
    for f in which:
        n = sizes[f]
        out.append(scipy_lm_fit(model, xs[reps[f], :n], ys[reps[f], :n], starts[f], lower, upper))
    return out


def _claims_study() -> tuple[float, list[str]]:
    from proofs_check import find_claims, run_claims

    claims = find_claims(["moe.c8-dense-sigmoid-overspecified", "moe.c9-softmax-overspecified-slow"])
    start = time.perf_counter()
    results = run_claims(claims, scale="full", jobs=2)
    return time.perf_counter() - start, [str(r) for r in results]


def run():
    """Return the report lines (see the module docstring)."""
    cores = len(os.sched_getaffinity(0))
    set_thread_count(cores)
    sizes = np.unique(np.round(np.geomspace(1e3, 1e5, 11)).astype(int))
    reps = 20
    t0 = time.perf_counter()
    study = _study(reps, sizes)
    t_data = time.perf_counter() - t0
    _compiled(_study(1, sizes[:2]))  # compile / load the cache outside the timing
    t0 = time.perf_counter()
    batch = _compiled(study)
    t_comp = time.perf_counter() - t0 + t_data
    n_fit = batch.theta.shape[0]
    # scipy on every fit if affordable; the subset rule is printed with the numbers
    budget = float(os.environ.get("BENCH_MOE_SCIPY_BUDGET", "600"))
    which: list[int] = []
    t_sci = 0.0
    order = np.argsort(np.arange(n_fit) % reps, kind="stable")  # replicate 0 first, all sizes
    sci_theta, sci_obj = [], []
    for f in order:
        t0 = time.perf_counter()
        theta, obj = _scipy(study, [int(f)])[0]
        t_sci += time.perf_counter() - t0
        which.append(int(f))
        sci_theta.append(theta)
        sci_obj.append(obj)
        if t_sci > budget:
            break
    which_a = np.array(which)
    th_c = batch.theta[which_a]
    th_s = np.array(sci_theta)
    rel = np.max(np.abs(th_c - th_s) / np.maximum(np.abs(th_s), 1.0))
    obj_rel = np.max(np.abs(batch.objective[which_a] - np.array(sci_obj))
                     / np.array(sci_obj))
    t_comp_subset = t_comp * batch.nfev[which_a].sum() / batch.nfev.sum()
    subset = len(which) < n_fit
    lines = [
        f"rate study: sigmoid exact-specified C5/C6 truth, noise 0.01, {len(sizes)} sizes "
        f"{sizes[0]}..{sizes[-1]}, {reps} reps, 2 starts -> {n_fit} fits, tol 1e-13",
        f"compiled fit_lm_batch ({cores} threads, incl. data): {t_comp:.2f} s for all {n_fit} fits",
        (f"scipy least_squares(method='lm'), numpy residuals/Jacobian, 1 process: {t_sci:.2f} s "
         f"for {len(which)} fits" + (f" (subset: time budget {budget:g} s; compiled time on the "
                                     f"subset pro rata by evaluations: {t_comp_subset:.2f} s)"
                                     if subset else "")),
        f"speed ratio scipy / compiled: x{t_sci / (t_comp_subset if subset else t_comp):.1f} "
        f"(end to end, {cores} cores)",
        f"max relative difference of the estimates: {rel:.2e}; of the objectives: {obj_rel:.2e}",
    ]
    if os.environ.get("BENCH_MOE_SKIP_CLAIMS"):
        lines.append("full C8 + C9 study: skipped (BENCH_MOE_SKIP_CLAIMS set)")
        return lines
    seconds, results = _claims_study()
    lines.append(f"full sigmoid-vs-softmax study (C8 40 reps + C9 20 reps, 8 sizes to 1.28e5, "
                 f"--jobs 2): {seconds:.1f} s")
    lines.extend(f"  {r}" for r in results)
    return lines
