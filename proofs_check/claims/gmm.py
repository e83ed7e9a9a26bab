"""Precise asymptotics of linear heads on a two-class Gaussian mixture: exact checks.

Checks G1–G6, G9 of gmm_asymptotics.md §9 and the fast-vs-high-precision agreement.  Each
triangulates two independent routes (closed form, fixed point, random-matrix formula,
quadrature, limit); tolerances are the spec's ("exact" kind) and every claim declares
the mutations of §9 that must make it disagree.  Simulation checks are in ``gmm_sim.py``.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np

import theory.gmm as tg
from proofs_check._evidence import CompositeEvidence, ExactEvidence, LabelEvidence
from proofs_check._registry import claim
from proofs_check._runner import RunContext

G1_GRID = {"alpha": (0.5, 2.0, 4.0), "lam": (0.1, 1.0), "delta": (0.5, 1.0, 2.0)}
_SPEC = "gmm_asymptotics.md"


def _grid(sizes):
    return list(itertools.product(G1_GRID["alpha"], G1_GRID["lam"], G1_GRID["delta"]))[: sizes["points"]]


def _worst(parts: dict, name: str, pairs, tol: float, method: str) -> None:
    """Add the pair with the largest |difference| among ``pairs = [(predicted, estimate, where)]``."""
    pred, est, where = max(pairs, key=lambda t: abs(t[0] - t[1]))
    parts[name] = ExactEvidence(float(pred), float(est), tol, method=method, details={"at": where})


# -- G1 --------------------------------------------------------------------------------------


def _closed_form_eps(alpha, delta, lam):
    return float(tg.square_closed_form(alpha, delta, lam).eps_g)


def _closed_form_eps_delta_twice(alpha, delta, lam):
    # §8 pitfall 2: Q(m / sqrt(Δ q)) with Δ already inside q.
    cf = tg.square_closed_form(alpha, delta, lam)
    return float(tg.gaussian_tail(cf.m / math.sqrt(delta * cf.q)))


@claim(
    id="gmm.g1-closed-form-fixed-point",
    title="Square-loss closed form (§3.2) equals the damped fixed point of §2 + §3.1",
    evidence=("MATH", "RELATED:2002.11544"),
    statement=(
        "For the square loss at p = ½ without bias, eliminating the prior and hat equations "
        "gives V as the root of λV² + (λ + Δ(α − 1))V − Δ = 0 and closed forms for m, q and "
        "ε_g = Q(m/√q).  The generic damped fixed-point iteration of §2 (hats from the "
        "proximal operator, Gauss–Hermite expectations) reaches the same ε_g to 1e−10."
    ),
    formula="V = [−(λ+Δ(α−1)) + √((λ+Δ(α−1))² + 4λΔ)]/(2λ); m = c/(1+c); ε_g = Q(m/√q)",
    sizes={"quick": {"points": 18}, "full": {"points": 18}},
    options={"grid": "α ∈ {0.5, 2, 4}, λ ∈ {0.1, 1}, Δ ∈ {0.5, 1, 2}", "tolerance": 1e-10},
    formulas={"closed_form": _closed_form_eps},
    mutations={"delta-counted-twice": ("closed_form", _closed_form_eps_delta_twice)},
)
def g1(ctx: RunContext) -> CompositeEvidence:
    """Closed form against the generic fixed point on the spec grid."""
    cf = ctx.formula("closed_form")
    pairs = []
    for a, lam, dl in _grid(ctx.sizes):
        fp = tg.solve_fixed_point("square", alpha=a, delta=dl, lam=lam, method="gauss_hermite")
        pairs.append((cf(a, dl, lam), float(fp.eps_g), {"alpha": a, "lam": lam, "delta": dl}))
    parts: dict = {}
    _worst(parts, "eps_g", pairs, ctx.options["tolerance"], "closed form vs fixed point")
    return CompositeEvidence(parts)


# -- G2 --------------------------------------------------------------------------------------


def _ridge_rmt(alpha, delta, lam):
    r, psi = 1 / math.sqrt(delta), 1 / alpha
    return float(tg.ridge_error_standard(r, psi, lam / (alpha * delta)))


def _ridge_rmt_wrong_penalty(alpha, delta, lam):
    # §9 mutation: λ in place of λ_r = λ/(αΔ).
    return float(tg.ridge_error_standard(1 / math.sqrt(delta), 1 / alpha, lam))


@claim(
    id="gmm.g2-random-matrix-form",
    title="Ridge error from the Marchenko–Pastur transform (§3.4) equals the closed form (§3.2)",
    evidence=("MATH",),
    statement=(
        "Under the map ψ = 1/α, r² = 1/Δ, λ_r = λ/(αΔ), the random-matrix ridge error "
        "Q(m r²/√(m′(r² + ψ))) with the Stieltjes transform m(−λ_r) and the closed form of "
        "m′ equals the fixed-point closed form, including α < 1."
    ),
    formula="ε = Q(m r² / √(m′(r²+ψ))), m′ = (ψm² + m)/(1 − ψ + λ_r + 2ψλ_r m)",
    sizes={"quick": {"points": 18, "random": 20}, "full": {"points": 18, "random": 500}},
    options={"tolerance": 1e-9},
    formulas={"ridge_rmt": _ridge_rmt},
    mutations={"lambda-not-lambda-r": ("ridge_rmt", _ridge_rmt_wrong_penalty)},
)
def g2(ctx: RunContext) -> CompositeEvidence:
    """Random-matrix ridge error against the closed form on the grid and at random points."""
    rmt = ctx.formula("ridge_rmt")
    rng = ctx.rng()
    pts = _grid(ctx.sizes) + [
        (float(a), float(lam), float(dl))
        for a, lam, dl in zip(np.exp(rng.uniform(np.log(0.1), np.log(10), ctx.sizes["random"])),
                              np.exp(rng.uniform(np.log(1e-2), np.log(10), ctx.sizes["random"])),
                              np.exp(rng.uniform(np.log(0.2), np.log(5), ctx.sizes["random"])), strict=True)
    ]
    pairs = [(_closed_form_eps(a, dl, lam), rmt(a, dl, lam), {"alpha": a, "lam": lam, "delta": dl})
             for a, lam, dl in pts]
    parts: dict = {}
    _worst(parts, "eps_g", pairs, ctx.options["tolerance"], "random-matrix vs closed form")
    return CompositeEvidence(parts)


# -- G3 --------------------------------------------------------------------------------------


def _ls_limit(alpha, delta):
    return tg.least_squares_error(alpha, delta, precision="high", dps=50)


def _ls_limit_wrong(alpha, delta):
    # Mutation: drop the "− 1" of (α − 1) in the least-squares limit.
    with mpmath.workdps(50):
        a, d = mpmath.mpf(alpha), mpmath.mpf(delta)
        return mpmath.erfc(mpmath.sqrt(a / (d * (a + d))) / mpmath.sqrt(2)) / 2


@claim(
    id="gmm.g3-square-loss-limits",
    title="Square-loss limits: least squares, min-norm, mean difference (λ → ∞), oracle (α → ∞), α = 1",
    evidence=("MATH",),
    statement=(
        "At 50 digits: λ = 10⁻¹² reproduces the least-squares limit Q(√((α−1)/(Δ(α+Δ)))) for "
        "α > 1 and the min-norm limit Q(√(α(1−α)/(Δ(α+Δ)))) for α < 1; λ = 10¹² reproduces "
        "the mean-difference limit Q(√(α/(Δ(α+Δ)))); least squares tends to the oracle Q(r) "
        "as α → ∞; at α = 1 the error tends to ½ with |ε − ½| ≤ 10 λ^{1/4}."
    ),
    formula="§3.3 of gmm_asymptotics.md",
    sizes={"quick": {"points": 18}, "full": {"points": 18}},
    options={"dps": 50, "tolerance": 1e-10},
    formulas={"least_squares": _ls_limit},
    mutations={"drop-alpha-minus-one": ("least_squares", _ls_limit_wrong)},
)
def g3(ctx: RunContext) -> CompositeEvidence:
    """Closed form at extreme λ and α against the §3.3 limits."""
    ls = ctx.formula("least_squares")
    dps = ctx.options["dps"]
    tol = ctx.options["tolerance"]
    small, large = [], []
    for a, _, dl in _grid(ctx.sizes):
        at = {"alpha": a, "delta": dl}
        eps_small = tg.square_closed_form(a, dl, 1e-12, precision="high", dps=dps).eps_g
        limit = ls(a, dl) if a > 1 else tg.min_norm_error(a, dl, precision="high", dps=dps)
        small.append((limit, eps_small, at))
        eps_large = tg.square_closed_form(a, dl, 1e12, precision="high", dps=dps).eps_g
        large.append((tg.mean_difference_error(a, dl, precision="high", dps=dps), eps_large, at))
    parts: dict = {}
    _worst(parts, "lambda -> 0+", small, tol, "closed form at λ = 1e-12 vs limit")
    _worst(parts, "lambda -> inf (centroid)", large, tol, "closed form at λ = 1e12 vs limit")
    oracle = [(tg.gaussian_tail(1 / math.sqrt(dl)), float(ls(1e12, dl)), {"delta": dl})
              for dl in G1_GRID["delta"]]
    _worst(parts, "alpha -> inf (oracle)", oracle, tol, "least squares at α = 1e12 vs Q(r)")
    peak = []
    for dl, lam in itertools.product(G1_GRID["delta"], (1e-4, 1e-8)):
        eps = tg.square_closed_form(1.0, dl, lam, precision="high", dps=dps).eps_g
        peak.append((0.5, float(eps), {"delta": dl, "lam": lam}, 10 * lam**0.25))
    worst = max(peak, key=lambda t: abs(t[0] - t[1]) / t[3])
    parts["alpha = 1 (interpolation peak)"] = ExactEvidence(
        0.5, worst[1], worst[3], method="|ε − ½| ≤ 10 λ^{1/4}", details={"at": worst[2]})
    return CompositeEvidence(parts, primary="lambda -> 0+")


# -- G4 --------------------------------------------------------------------------------------


def _bias_with_y(loss, m, q, V, p):
    return tg.solve_bias(loss, m=m, q=q, V=V, p=p, equation="with_y")


def _bias_without_y(loss, m, q, V, p):
    return tg.solve_bias(loss, m=m, q=q, V=V, p=p, equation="without_y")


@claim(
    id="gmm.g4-bias-symmetry",
    title="Bias equation with the factor y: b = 0 at p = ½, label-flip invariance (square, logistic, hinge)",
    evidence=("MATH",),
    statement=(
        "Stationarity in b gives Σ_y p_y·y·E[ℓ′(P_y)] = 0 (§2.2).  Its root is b = 0 at p = ½; "
        "flipping the labels (p ↔ 1 − p) flips b and leaves ε_g unchanged; and at the fixed "
        "point the bias equation is solved by the fitted b.  The K2mix form without the factor "
        "y has constant sign for logistic and hinge and no root (§8 pitfall 1)."
    ),
    formula="Σ_y p_y · y · E_ξ[ℓ′(P_y)] = 0",
    sizes={"quick": {"alpha": 2.0}, "full": {"alpha": 2.0}},
    options={"delta": 1.0, "lam": 0.1, "p": (0.3, 0.5, 0.7), "tolerance": 1e-8},
    formulas={"bias_root": _bias_with_y},
    mutations={"equation-without-y": ("bias_root", _bias_without_y)},
)
def g4(ctx: RunContext) -> CompositeEvidence:
    """Bias symmetry and the y-less negative control."""
    root = ctx.formula("bias_root")
    tol = ctx.options["tolerance"]
    parts: dict = {}
    for loss in ("square", "logistic", "hinge"):
        fps = {p: tg.solve_fixed_point(loss, alpha=ctx.sizes["alpha"], delta=ctx.options["delta"],
                                       lam=ctx.options["lam"], p=p, intercept=True) for p in ctx.options["p"]}
        parts[f"{loss}: b = 0 at p = 1/2"] = ExactEvidence(0.0, float(fps[0.5].b), tol)
        parts[f"{loss}: eps_g(0.3) = eps_g(0.7)"] = ExactEvidence(
            float(fps[0.3].eps_g), float(fps[0.7].eps_g), tol)
        fp = fps[0.3]
        try:
            b = float(root(loss, fp.m, fp.q, fp.V, 0.3))
            parts[f"{loss}: bias root at the fixed point"] = ExactEvidence(float(fp.b), b, tol)
        except ValueError as exc:
            parts[f"{loss}: bias root at the fixed point"] = LabelEvidence(
                "root", "no root", method="bracketing", details={"error": str(exc)[:200]})
        if loss != "square":
            vals = [float(tg.bias_equation_without_y(loss, b, m=fp.m, q=fp.q, V=fp.V, p=0.3))
                    for b in np.linspace(-20, 20, 81)]
            same_sign = all(v < 0 for v in vals) or all(v > 0 for v in vals)
            parts[f"{loss}: y-less equation has no root"] = LabelEvidence(
                "constant sign", "constant sign" if same_sign else "sign change", method="81-point scan")
    return CompositeEvidence(parts)


# -- G5 --------------------------------------------------------------------------------------


def _hinge_closed(a, q, V):
    return tg.hinge_truncated_moments(a, q, V)


def _hinge_closed_wrong(a, q, V):
    # Mutation: drop the q·[N(0) − N(V)] term of E[u 1{0<u<V}] (and hence of E[clip]).
    m = tg.hinge_truncated_moments(a, q, V)
    s = math.sqrt(q)
    dens = (math.exp(-a * a / (2 * q)) - math.exp(-(V - a) ** 2 / (2 * q))) / (s * math.sqrt(2 * math.pi))
    return tg.HingeMoments(m.p_kink, m.e_u - q * dens, m.e_u2, m.e_clip - q * dens, m.e_clip2)


@claim(
    id="gmm.g5-hinge-moments",
    title="Closed-form hinge truncated moments equal kink-split adaptive quadrature",
    evidence=("MATH",),
    statement=(
        "For u ~ N(a, q), the closed forms of P(0<u<V), E[u1{0<u<V}], E[u²1{0<u<V}], "
        "E[clip(u,0,V)] and E[clip(u,0,V)²] (§5) equal mpmath quadrature split at the kinks "
        "u = 0 and u = V, at random (a, q, V)."
    ),
    formula="E[u1{0<u<V}] = a[Φ((V−a)/s) − Φ(−a/s)] + q[N(0;a,q) − N(V;a,q)], ...",
    sizes={"quick": {"points": 12}, "full": {"points": 200}},
    options={"tolerance": 1e-10},
    formulas={"moments": _hinge_closed},
    mutations={"drop-density-term": ("moments", _hinge_closed_wrong)},
)
def g5(ctx: RunContext) -> CompositeEvidence:
    """Closed-form hinge moments against kink-split quadrature at random points."""
    closed = ctx.formula("moments")
    rng = ctx.rng()
    pairs = []
    for _ in range(ctx.sizes["points"]):
        a, q, V = float(rng.uniform(-2, 3)), float(rng.uniform(0.05, 4)), float(rng.uniform(0.05, 5))
        c, ref = closed(a, q, V), tg.hinge_truncated_moments_quadrature(a, q, V, dps=30)
        for field in ("p_kink", "e_u", "e_u2", "e_clip", "e_clip2"):
            where = {"a": a, "q": q, "V": V, "moment": field}
            pairs.append((float(getattr(ref, field)), float(getattr(c, field)), where))
    parts: dict = {}
    _worst(parts, "moments", pairs, ctx.options["tolerance"], "closed form vs kink-split quadrature")
    return CompositeEvidence(parts)


# -- G6 --------------------------------------------------------------------------------------


def _ppm(t):
    return float(tg.positive_part_moment(t))


def _ppm_scaled(t):
    return 1.03 * float(tg.positive_part_moment(t))


@claim(
    id="gmm.g6-max-margin-threshold",
    title="Cover's threshold α*(0) = 2; E[(t − Z)₊²] closed form; κ(ρ) solves the CGMT equation",
    evidence=("MATH",),
    statement=(
        "E[(t − Z)₊²] = (1 + t²)Φ(t) + tφ(t) equals quadrature on t ∈ [−5, 5]; the threshold "
        "α*(r) = max_ρ (1 − ρ²)/E[(−ρr − Z)₊²] is 2 at r = 0 (Cover); the margin κ(ρ) of the "
        "solver satisfies α·E[(κ − ρr − Z)₊²] = 1 − ρ²."
    ),
    formula="α*(r) = max_{ρ∈[0,1]} (1 − ρ²) / E[(−ρr − Z)₊²]; α*(0) = 2",
    sizes={"quick": {"t_points": 41, "rho_points": 11}, "full": {"t_points": 401, "rho_points": 101}},
    options={"tolerance": 1e-10, "r": 1.0, "alpha": 1.5},
    formulas={"positive_part_moment": _ppm},
    mutations={"scaled-3pct": ("positive_part_moment", _ppm_scaled)},
)
def g6(ctx: RunContext) -> CompositeEvidence:
    """Closed form vs quadrature, Cover's threshold from the formula, κ(ρ) residuals."""
    ppm = ctx.formula("positive_part_moment")
    tol = ctx.options["tolerance"]
    pairs = []
    with mpmath.workdps(30):
        for t in np.linspace(-5, 5, ctx.sizes["t_points"]):
            ref = mpmath.quad(lambda z, t=t: (t - z) ** 2 * mpmath.npdf(z), [-mpmath.inf, t])
            pairs.append((float(ref), ppm(float(t)), {"t": float(t)}))
    parts: dict = {}
    _worst(parts, "E[(t-Z)_+^2]", pairs, tol, "closed form vs mpmath quadrature")
    rhos = np.linspace(0, 1, 1001)[:-1]
    alpha_star0 = max((1 - rho**2) / ppm(0.0) for rho in rhos)
    parts["alpha*(0) = 2"] = ExactEvidence(2.0, float(alpha_star0), tol, method="max over ρ of the formula")
    parts["solver alpha*(0)"] = ExactEvidence(2.0, float(tg.separability_threshold(0.0)), tol)
    r, alpha = ctx.options["r"], ctx.options["alpha"]
    res = []
    for rho in np.linspace(0, 0.95, ctx.sizes["rho_points"]):
        kappa = float(tg.maxmargin_kappa(float(rho), r, alpha))
        res.append((1 - rho**2, alpha * ppm(kappa - rho * r), {"rho": float(rho)}))
    _worst(parts, "kappa(rho) residual", res, tol, "α E[(κ − ρr − Z)₊²] vs 1 − ρ²")
    return CompositeEvidence(parts, primary="alpha*(0) = 2")


# -- G9 --------------------------------------------------------------------------------------


def _errors_in_r(r, alpha):
    delta = 1 / r**2
    return {
        "least squares": float(tg.least_squares_error(alpha + 1.0, delta)),
        "min-norm": float(tg.min_norm_error(alpha / (1 + alpha), delta)),
        "mean difference": float(tg.mean_difference_error(alpha, delta)),
    }


def _errors_in_inverse_r(r, alpha):
    # Mutation: SNR inverted (Δ = r² instead of 1/r²): the errors increase in r.
    return _errors_in_r(1 / r, alpha)


@claim(
    id="gmm.g9-monotone-in-snr",
    title="Least-squares, min-norm and mean-difference errors decrease in the SNR r",
    evidence=("MATH",),
    statement="On a grid of α and increasing r, each limit error of §3.3 strictly decreases.",
    formula="ε_LS, ε_MN, ε_MD of §3.3 as functions of r = 1/√Δ",
    sizes={"quick": {"r_points": 25, "alphas": (0.5, 1.0, 3.0)},
           "full": {"r_points": 400, "alphas": (0.2, 0.5, 1.0, 3.0, 10.0)}},
    formulas={"errors": _errors_in_r},
    mutations={"inverse-snr": ("errors", _errors_in_inverse_r)},
)
def g9(ctx: RunContext) -> CompositeEvidence:
    """Strict decrease of each error along an r grid."""
    errors = ctx.formula("errors")
    rs = np.linspace(0.2, 3.0, ctx.sizes["r_points"])
    parts: dict = {}
    for alpha in ctx.sizes["alphas"]:
        curves = [errors(float(r), alpha) for r in rs]
        for name in curves[0]:
            vals = np.array([c[name] for c in curves])
            steps = np.diff(vals)
            ok = bool(np.all(steps < 0))
            parts[f"{name}, alpha={alpha}"] = LabelEvidence(
                "decreasing", "decreasing" if ok else "not decreasing", value=float(steps.max()),
                method="sign of consecutive differences")
    return CompositeEvidence(parts)


# -- fast vs high precision --------------------------------------------------------------------


def _fast_solver(loss, alpha, delta, lam, p):
    return tg.solve_fixed_point(loss, alpha=alpha, delta=delta, lam=lam, p=p, intercept=p != 0.5)


def _kink_blind_solver(loss, alpha, delta, lam, p):
    # Mutation (§8 pitfall 5): plain Gauss–Hermite across the kinks of the hinge loss.
    return tg.solve_fixed_point(loss, alpha=alpha, delta=delta, lam=lam, p=p, intercept=p != 0.5,
                                method="gauss_hermite", n_nodes=100)


@claim(
    id="gmm.fast-vs-high-precision",
    title="Fast (float64 quadrature) and high-precision (mpmath) fixed points agree to 1e-8",
    evidence=("MATH",),
    statement=(
        "The double-precision solver (Gauss–Hermite / trapezoid expectations, closed-form hinge "
        "moments) and the mpmath solver (adaptive quadrature, Newton refinement at 30 digits) "
        "give the same ε_g to 1e−8 for square, logistic and hinge losses, balanced and not."
    ),
    formula="ε_g(fast) = ε_g(high) ± 1e−8",
    sizes={"quick": {"points": (("square", 2.0, 1.0, 0.1, 0.5), ("hinge", 2.0, 1.0, 0.1, 0.3),
                                ("logistic", 2.0, 1.0, 0.5, 0.5))},
           "full": {"points": (("square", 0.5, 0.5, 0.1, 0.5), ("square", 2.0, 1.0, 0.1, 0.3),
                               ("hinge", 2.0, 1.0, 0.1, 0.3), ("hinge", 4.0, 2.0, 1.0, 0.5),
                               ("logistic", 2.0, 1.0, 0.5, 0.5), ("logistic", 1.0, 0.5, 0.1, 0.3))}},
    options={"tolerance": 1e-8, "dps": 30},
    formulas={"fast_solver": _fast_solver},
    mutations={"gauss-hermite-across-kinks": ("fast_solver", _kink_blind_solver)},
)
def fast_vs_high(ctx: RunContext) -> CompositeEvidence:
    """Both precisions on a few points per loss."""
    fast = ctx.formula("fast_solver")
    pairs = []
    for loss, alpha, delta, lam, p in ctx.sizes["points"]:
        hi = tg.solve_fixed_point(loss, alpha=alpha, delta=delta, lam=lam, p=p, intercept=p != 0.5,
                                  precision="high", dps=ctx.options["dps"])
        pairs.append((float(hi.eps_g), float(fast(loss, alpha, delta, lam, p).eps_g),
                      {"loss": loss, "alpha": alpha, "delta": delta, "lam": lam, "p": p}))
    parts: dict = {}
    _worst(parts, "eps_g", pairs, ctx.options["tolerance"], "fast vs high precision")
    return CompositeEvidence(parts)
