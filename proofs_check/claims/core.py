"""Core claims that carry the engine end to end: one exact, one statistical."""

from __future__ import annotations

import numpy as np
import sympy as sp

from numerics.core import central_difference_step, oracle_error_count, softmax, softmax_jacobian_fd
from proofs_check._evidence import CompositeEvidence, ExactEvidence, ProportionEvidence
from proofs_check._registry import claim
from proofs_check._runner import RunContext
from theory.core import oracle_error_mp, softmax_symbols, verify_softmax_jacobian

_EPS = float(np.finfo(np.float64).eps)


# -- core.softmax-jacobian ----------------------------------------------------------------


def softmax_jacobian_formula(s):
    """``J(s) = diag(s) - s s^T`` for a sympy column vector or a numpy vector ``s``."""
    if isinstance(s, sp.MatrixBase):
        return sp.diag(*s) - s * s.T
    s = np.asarray(s, dtype=np.float64)
    return np.diag(s) - np.outer(s, s)


def _scaled_jacobian(s):
    return 1.03 * softmax_jacobian_formula(s)


def _diagonal_only(s):
    return sp.diag(*s) if isinstance(s, sp.MatrixBase) else np.diag(np.asarray(s, dtype=np.float64))


@claim(
    id="core.softmax-jacobian",
    title="Softmax Jacobian equals diag(s) - s s^T",
    evidence=("MATH",),
    statement=(
        "For every score vector z in R^T the Jacobian of the softmax S(z)_i = exp(z_i) / "
        "sum_l exp(z_l) is diag(s) - s s^T with s = S(z).\n\n"
        "Checked twice: sympy differentiates the definition and the difference with the "
        "formula simplifies to zero; and the formula matches a compiled central-difference "
        "Jacobian at random points within the difference's error bound."
    ),
    formula="dS(z)/dz = diag(s) - s s^T (prompt_attention.md §5 item 1)",
    sizes={
        "quick": {"T_symbolic": 4, "T": 8, "points": 200},
        "full": {"T_symbolic": 6, "T": 16, "points": 20000},
    },
    options={"score_scale": 3.0},
    formulas={"jacobian": softmax_jacobian_formula},
    mutations={
        "scaled-3pct": ("jacobian", _scaled_jacobian),
        "diagonal-only": ("jacobian", _diagonal_only),
    },
)
def softmax_jacobian(ctx: RunContext) -> CompositeEvidence:
    """Symbolic derivation and a finite-difference check of the softmax Jacobian."""
    formula = ctx.formula("jacobian")
    sizes = ctx.sizes
    # Exact part: sympy's derivative of the definition minus the formula is zero.
    t_sym = sizes["T_symbolic"]
    z = softmax_symbols(t_sym)
    denom = sum(sp.exp(zi) for zi in z)
    s_sym = sp.Matrix([sp.exp(zi) / denom for zi in z])
    symbolic_ok = verify_softmax_jacobian(t_sym, closed_form=formula(s_sym))
    symbolic = ExactEvidence(
        predicted=0.0, estimate=0.0 if symbolic_ok else 1.0, tolerance=0.0, method="sympy simplify",
        details={"symbolic_zero": symbolic_ok, "T": t_sym},
    )
    # Numeric part: the formula against compiled central differences at random points.
    # Error bound of the central difference: h^2 M3 / 6 + (rounding of S, a few T eps) / h,
    # with M3 = 1 bounding every third directional derivative of a softmax entry.
    h = central_difference_step(1.0)
    T = sizes["T"]
    tol = h * h / 6.0 + 4.0 * T * _EPS / h
    rng = ctx.rng()
    worst = (-1.0, 0.0, 0.0)
    for _ in range(sizes["points"]):
        zv = rng.normal(scale=ctx.options["score_scale"], size=T)
        fd = softmax_jacobian_fd(zv, h)
        exact = np.asarray(formula(softmax(zv)), dtype=np.float64)
        err = np.abs(fd - exact)
        k = int(np.argmax(err))
        if err.flat[k] > worst[0]:
            worst = (float(err.flat[k]), float(exact.flat[k]), float(fd.flat[k]))
    numeric = ExactEvidence(
        predicted=worst[1], estimate=worst[2], tolerance=tol, method="central difference",
        details={"max_abs_error": worst[0], "tolerance": tol, "step": h},
    )
    return CompositeEvidence({"symbolic": symbolic, "finite-difference": numeric})


# -- core.gmm-oracle-error ----------------------------------------------------------------


def oracle_error_formula(r: float) -> float:
    """``Q(r)`` at 50 digits, rounded to float64."""
    return float(oracle_error_mp(r, dps=50))


def _count_errors(mu: np.ndarray, n: int, seed: np.random.SeedSequence) -> int:
    return oracle_error_count(mu, n, rng=seed)


@claim(
    id="core.gmm-oracle-error",
    title="Oracle linear classifier on a two-class Gaussian mixture errs with probability Q(r)",
    evidence=("MATH",),
    statement=(
        "For x = y mu + z with a fair sign y, z ~ N(0, I_d) and ||mu|| = r, the classifier "
        "sign<mu, x> errs with probability Q(r) = erfc(r / sqrt 2) / 2, whatever d.\n\n"
        "The closed form is evaluated with mpmath at 50 digits; the simulation draws full "
        "d-dimensional samples in a compiled kernel and counts errors; the verdict uses a "
        "Wilson interval for the proportion."
    ),
    formula="P(y <mu, x> < 0) = Q(||mu||) (gmm_asymptotics.md §1.2)",
    sizes={
        "quick": {"n": 2_000_000, "d": 8, "tasks": 16},
        "full": {"n": 50_000_000, "d": 32, "tasks": 64},
    },
    options={"r": 1.0},
    formulas={"oracle_error": oracle_error_formula},
    mutations={"scaled-3pct": ("oracle_error", lambda r: 1.03 * oracle_error_formula(r))},
)
def gmm_oracle_error(ctx: RunContext) -> ProportionEvidence:
    """Monte Carlo error count of the oracle classifier against Q(r)."""
    r = float(ctx.options["r"])
    n, d, tasks = ctx.sizes["n"], ctx.sizes["d"], ctx.sizes["tasks"]
    direction = ctx.rng().normal(size=d)
    mu = r * direction / np.linalg.norm(direction)
    per_task = [n // tasks + (1 if i < n % tasks else 0) for i in range(tasks)]
    counts = ctx.map(_count_errors, [mu] * tasks, per_task, ctx.spawn(tasks))
    return ProportionEvidence(
        successes=int(sum(counts)), trials=n, predicted=ctx.formula("oracle_error")(r),
        method="wilson", details={"r": r},
    )
