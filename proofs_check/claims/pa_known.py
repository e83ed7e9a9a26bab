"""Prompt-attention with a known prompt: claims C6, C8-C11 of prompt_attention.md §12.

C6 structure lemma (§8.1), C8 oracle head versus the prompt norm (§7-§8.2), C9 the
debiased mean-difference head (§8.3), C10 least-squares and ridge heads on the isotropic
mixture (§8.4) and C11 the Bayes limit with the relevant set unknown (§8.5).

Besides the engine's evidences, the claims use three test forms of the engine made for
them (:class:`~proofs_check.RetryKSEvidence`, :class:`~proofs_check.OrderEvidence`,
:class:`~proofs_check.WelchEvidence`), calibrated in ``tests/statistical``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy import special, stats

import theory.gmm as tg
import theory.pa as tp
from numerics.pa import (
    bayes_log_odds,
    mean_difference_fits,
    sample_contextual_mixture,
    span_statistics,
)
from proofs_check._evidence import (
    BandEvidence,
    CompositeEvidence,
    Evidence,
    ExactEvidence,
    MeanEvidence,
    OrderEvidence,
    RetryKSEvidence,
    WelchEvidence,
    float_tolerance,
)
from proofs_check._registry import claim
from proofs_check._runner import RunContext

_SPEC = "prompt_attention.md"
# Switches in force for every claim of this module (prompt_attention.md §3-§4, [INFERRED]).
_DATA_OPTIONS = {
    "pa.data_variant": "A",
    "pa.relevant_count": "fixed",
    "pa.orthogonal_context": True,
    "pa.label_prior": 0.5,
    "pa.irrelevant_mean": 0.0,
    "pa.temperature": "1",
    "pa.prompt_self_attention": False,
}


def _Q(x):
    """Gaussian tail ``Q(x) = P(N(0,1) > x)`` elementwise."""
    return special.ndtr(-np.asarray(x, dtype=np.float64))


def _frame(d: int, q_norm: float, w_norm: float):
    """``q* = |q*| e_1``, ``w* = |w*| e_2``, ``u = e_1``, ``e_3``: the ⊥ frame (d >= 3)."""
    e = np.eye(d)
    return q_norm * e[0], w_norm * e[1], e[0], e[2]


# ------------------------------------------------------------------ C6: structure lemma


def _conditional_law(a, b, y, *, w_norm, sigma, zeta, T):
    """Mean and sd of ``<x_bar, w*_hat>`` given ``(a, b, y)``: ``(a y |w*|, sigma b)`` (§8.1)."""
    return a * y * w_norm, sigma * b


def _conditional_law_uniform_mass(a, b, y, *, w_norm, sigma, zeta, T):
    # Mutation: the uniform-pooling mass zeta in place of the attention mass a.
    return zeta * y * w_norm, sigma * b


def _conditional_law_uniform_spread(a, b, y, *, w_norm, sigma, zeta, T):
    # Mutation: the uniform-pooling spread 1/sqrt(T) in place of b = |s|_2.
    return a * y * w_norm, sigma / math.sqrt(T) * np.ones_like(b)


def _c6_draws(seed, n, d, T, zeta, gamma, q_norm, w_norm, sigma):
    """Full-``d`` draws: labels, ``a``, ``b`` and the projections of ``x_bar(Gamma u)``."""
    q_star, w_star, u, e3 = _frame(d, q_norm, w_norm)
    X, y, rel = sample_contextual_mixture(n, T, q_star, w_star, zeta=zeta, sigma=sigma, rng=seed)
    z = X @ (gamma * u)
    s = np.exp(z - z.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    xbar = np.einsum("it,itk->ik", s, X)
    a = (s * rel).sum(axis=1)
    b = np.sqrt((s * s).sum(axis=1))
    return y, a, b, xbar @ (w_star / w_norm), xbar @ e3, xbar @ u


def _c6_sample(ctx, seeds, p):
    chunks = [p["n"] // len(seeds)] * len(seeds)
    out = ctx.map(_c6_draws, seeds, chunks, *[[p[k]] * len(seeds) for k in
                                             ("d", "T", "zeta", "gamma", "q_norm", "w_norm", "sigma")])
    return [np.concatenate([o[i] for o in out]) for i in range(6)]


def _std_products(x, y):
    """``(x - xbar)(y - ybar) / (s_x s_y)``: their mean is the sample correlation."""
    return (x - x.mean()) * (y - y.mean()) / (x.std(ddof=1) * y.std(ddof=1))


@claim(
    id="pa.c6-structure-lemma",
    title="Structure lemma: given (a, b, y), P⊥x̄ ~ N(a y w*, σ²b² P⊥); <x̄, u> is free of y",
    evidence=("MATH",),
    statement=(
        "Variant A, q = Γu, ⊥, μ_irr = 0.  The standardised residuals (<x̄, ŵ*> − a y|w*|)/(σb) "
        "and <x̄, e>/(σb) (e ⟂ u, w*) are exactly N(0, 1) and uncorrelated with y; <x̄, u> is "
        "uncorrelated with y.  Full d-dimensional simulation, d = 50, T = 20, ζ = 0.2, Γ = 3, "
        "|q*| = 3, |w*| = 1, σ = 1.  KS at 0.01 with one recorded retry (uniform p-value "
        "p1 or 0.01·p2), correlations by t-intervals; Bonferroni over the five parts."
    ),
    formula="P⊥ x̄ | (a, b, y) ~ N(a y w*, σ² b² P⊥) (prompt_attention.md §8.1)",
    sizes={
        "quick": {"n": 50_000, "chunks": 5, "d": 50, "T": 20, "zeta": 0.2, "gamma": 3.0,
                  "q_norm": 3.0, "w_norm": 1.0, "sigma": 1.0},
        "full": {"n": 100_000, "chunks": 10, "d": 50, "T": 20, "zeta": 0.2, "gamma": 3.0,
                 "q_norm": 3.0, "w_norm": 1.0, "sigma": 1.0},
    },
    options={**_DATA_OPTIONS, "ks_level": 0.01, "ks_retries": 1},
    formulas={"conditional_law": _conditional_law},
    mutations={
        "mass-zeta-instead-of-a": ("conditional_law", _conditional_law_uniform_mass),
        "spread-uniform-instead-of-b": ("conditional_law", _conditional_law_uniform_spread),
    },
)
def c6_structure_lemma(ctx: RunContext) -> CompositeEvidence:
    """KS of the standardised residuals against N(0, 1) and correlations with the label."""
    p = ctx.sizes
    law = ctx.formula("conditional_law")
    first_seeds, retry_seeds = ctx.spawn(p["chunks"]), ctx.spawn(p["chunks"])

    def residuals(draws):
        y, a, b, pw, pe, pu = draws
        mean, sd = law(a, b, y, w_norm=p["w_norm"], sigma=p["sigma"], zeta=p["zeta"], T=p["T"])
        return y, (pw - mean) / sd, pe / sd, pu

    y, rw, re, pu = residuals(_c6_sample(ctx, first_seeds, p))
    p_w = stats.kstest(rw, "norm").pvalue
    p_e = stats.kstest(re, "norm").pvalue
    retry = residuals(_c6_sample(ctx, retry_seeds, p)) if min(p_w, p_e) <= 0.01 else None
    parts: dict[str, Evidence] = {
        "KS residual along w*": RetryKSEvidence(rw, None if retry is None else retry[1]),
        "KS residual along e ⟂ u, w*": RetryKSEvidence(re, None if retry is None else retry[2]),
        "corr(residual along w*, y)": MeanEvidence(_std_products(rw, y), 0.0),
        "corr(residual along e, y)": MeanEvidence(_std_products(re, y), 0.0),
        "corr(<x̄, u>, y)": MeanEvidence(_std_products(pu, y), 0.0),
    }
    return CompositeEvidence(parts, details={"retried": retry is not None, "n": p["n"]})


# ------------------------------------------------------------------ C8: oracle error versus Γ


def _oracle_conditional(a, b, *, w_norm, sigma, T):
    """``Q(a |w*| / (sigma b))``, the oracle-head error given ``(a, b)`` (§8.2)."""
    return _Q(a * w_norm / (sigma * b))


def _oracle_conditional_uniform_spread(a, b, *, w_norm, sigma, T):
    # Mutation: b replaced by its uniform-pooling value 1/sqrt(T).
    return _Q(a * w_norm * math.sqrt(T) / sigma)


def _uniform_error(zeta, T, w_norm, sigma):
    """``Q(zeta sqrt(T) |w*| / sigma)`` (§8.2, Γ = 0)."""
    return tp.oracle_error_uniform(zeta, T, w_norm=w_norm, sigma=sigma)


def _perfect_error(zeta, T, w_norm, sigma):
    """``Q(sqrt(zeta T) |w*| / sigma)`` (§8.2, perfect selection)."""
    return tp.oracle_error_perfect(zeta, T, w_norm=w_norm, sigma=sigma)


def _c8_direct(seed, n, d, T, zeta, gamma, q_norm, w_norm, sigma):
    """Per draw: 1{sign<w*, x̄(Γu)> != y}, with a and b (full d-dimensional draws)."""
    y, a, b, pw, _, _ = _c6_draws(seed, n, d, T, zeta, gamma, q_norm, w_norm, sigma)
    return (np.where(pw > 0, 1.0, -1.0) != y).astype(np.float64), a, b


@claim(
    id="pa.c8-oracle-error-vs-prompt-norm",
    title="Oracle error under score noise is non-monotone in Γ; sign<w*, x̄> has error E[Q(a|w*|/(σb))]",
    evidence=("MATH",),
    statement=(
        "Variant A, T = 20, ζ = 0.2, |q*| = 3, σ = 1, |w*| = 0.5, q = Γu on the grid "
        "Γ ∈ {0, 0.25, …, 3, 5, 10, 30}, Γ_max = 30.  (i) error(0) = Q(ζ√T|w*|/σ) exactly "
        "(a = ζ, b = 1/√T); (ii) min_Γ error < error(0); (iii) min_Γ error < error(Γ_max); "
        "(iv) error(Γ_max) > Q(√(ζT)|w*|/σ); (v) direct simulation at d = 50, Γ = 3: the 0/1 "
        "error of sign<w*, x̄> minus Q(a|w*|/(σb)) has mean 0 (paired per draw).  The "
        "minimiser Γ* is chosen on an independent pilot half of the draws; (ii)-(iv) are "
        "one-sided paired t-tests on the other half (strict: must be resolved)."
    ),
    formula="error(Γ) = E_{a,b}[Q(a|w*|/(σb))] (prompt_attention.md §7-§8.2)",
    sizes={
        "quick": {"n": 40_000, "n_direct": 40_000, "chunks": 4},
        "full": {"n": 200_000, "n_direct": 100_000, "chunks": 10},
    },
    options={**_DATA_OPTIONS, "T": 20, "zeta": 0.2, "q_norm": 3.0, "w_norm": 0.5, "sigma": 1.0,
             "gammas": (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0,
                        5.0, 10.0, 30.0),
             "direct": {"d": 50, "gamma": 3.0}, "strict_level": 0.999},
    formulas={"oracle_conditional": _oracle_conditional, "uniform_error": _uniform_error,
              "perfect_error": _perfect_error},
    mutations={
        "uniform-error-uses-sqrt-zetaT": ("uniform_error", _perfect_error),
        "spread-uniform-instead-of-b": ("oracle_conditional", _oracle_conditional_uniform_spread),
    },
)
def c8_oracle_error(ctx: RunContext) -> CompositeEvidence:
    """Grid of oracle errors on paired span draws, order tests, and the direct check."""
    o, z = ctx.options, ctx.sizes
    T, zeta, qn, wn, sg = o["T"], o["zeta"], o["q_norm"], o["w_norm"], o["sigma"]
    gammas = np.array(o["gammas"])
    cond = ctx.formula("oracle_conditional")
    q_star, w_star, u, _ = _frame(3, qn, wn)
    st = span_statistics(z["n"], T, q_star, w_star, zeta=zeta, prompts=np.outer(gammas, u),
                         sigma=sg, rng=ctx.spawn(1)[0])
    Qv = cond(st.a, st.b, w_norm=wn, sigma=sg, T=T)  # (n, P)
    half = z["n"] // 2
    pilot, test = Qv[:half], Qv[half:]
    i_star = int(np.argmin(pilot.mean(axis=0)))
    i0, imax = 0, len(gammas) - 1
    uni = float(ctx.formula("uniform_error")(zeta, T, wn, sg))
    per = float(ctx.formula("perfect_error")(zeta, T, wn, sg))
    lvl = o["strict_level"]
    parts: dict[str, Evidence] = {
        "error(0) = Q(ζ√T|w*|/σ)": ExactEvidence(uni, float(Qv[:, i0].mean()),
                                                 float_tolerance(1.0, ulps=256),
                                                 method="exact (a = ζ, b = 1/√T)"),
        f"error(Γ*={gammas[i_star]:g}) < error(0)": OrderEvidence(
            test[:, i_star] - test[:, i0], "<", strict_level=lvl),
        f"error(Γ*={gammas[i_star]:g}) < error(Γmax)": OrderEvidence(
            test[:, i_star] - test[:, imax], "<", strict_level=lvl),
        "error(Γmax) > Q(√(ζT)|w*|/σ)": OrderEvidence(test[:, imax], ">", boundary=per,
                                                      strict_level=lvl),
    }
    seeds = ctx.spawn(z["chunks"])
    dg = o["direct"]
    out = ctx.map(_c8_direct, seeds, [z["n_direct"] // z["chunks"]] * z["chunks"],
                  *[[v] * z["chunks"] for v in (dg["d"], T, zeta, dg["gamma"], qn, wn, sg)])
    e01 = np.concatenate([r[0] for r in out])
    a = np.concatenate([r[1] for r in out])
    b = np.concatenate([r[2] for r in out])
    parts["direct 1{error} − Q(a|w*|/(σb)), d=50, Γ=3"] = MeanEvidence(
        e01 - cond(a, b, w_norm=wn, sigma=sg, T=T), 0.0)
    curve = {f"{g:g}": float(v) for g, v in zip(gammas, Qv.mean(axis=0), strict=True)}
    return CompositeEvidence(parts, details={
        "error_curve": curve, "gamma_star_pilot": float(gammas[i_star]),
        "uniform_error": uni, "perfect_error": per,
        "snr_heuristic_maximiser (large-T, §7 item 4)": float(
            tp.snr_heuristic_maximiser(zeta=zeta, q_norm=qn, sigma=sg)),
    })


# ------------------------------------------------------------------ C9: mean-difference head


def _chi2_dof(d):
    """Degrees of freedom of the orthogonal remainder of ``w_hat``: ``d - 2`` (§8.3)."""
    return d - 2


def _chi2_dof_wrong(d):
    # Mutation: chi^2_{d-1} (forgets that P_perp removes u as well as the w* coordinate).
    return d - 1


def _md_limit(at, bt, mean_a, mean_b2, w_norm, sigma, psi):
    """Proportional limit of §8.3 averaged over test draws ``(at, bt)``."""
    den = sigma * bt * math.sqrt(mean_a**2 * w_norm**2 + sigma**2 * mean_b2 * psi)
    return float(_Q(at * mean_a * w_norm**2 / den).mean())


def _fit_errors(ratio, at, bt, sigma):
    """Per fit ``E_test[Q(a <w,w*>/(sigma b |w|))]``, ``ratio = <w,w*>/|w|``, test draws shared."""
    out = np.empty(ratio.shape[0])
    for lo in range(0, ratio.shape[0], 256):
        out[lo:lo + 256] = _Q(np.outer(ratio[lo:lo + 256], at / (sigma * bt))).mean(axis=1)
    return out


def _c9_small_fits(seed, n_fits, d, n, T, zeta, gamma, q_norm, w_norm, sigma):
    q_star, w_star, u, _ = _frame(d, q_norm, w_norm)
    dot, norm = mean_difference_fits(n_fits, n, T, q_star, w_star, zeta=zeta, prompt=gamma * u,
                                     sigma=sigma, variant="B", rng=seed)
    return dot, norm


def _c9_fits_a(seed, reps, d, n, T, zeta, gamma, q_norm, w_norm, sigma):
    q_star, w_star, u, _ = _frame(d, q_norm, w_norm)
    dot, norm = mean_difference_fits(reps, n, T, q_star, w_star, zeta=zeta, prompt=gamma * u,
                                     sigma=sigma, rng=seed)
    return dot / norm


def _c9_virtual(seed, M, d, n, T, zeta, gamma, q_norm, w_norm, sigma, dof):
    """The exact finite-n form: ``<w_hat, w*>/|w_hat|`` from ``(a_bar, B, g_1, chi^2_dof)``."""
    s_train, s_g = seed.spawn(2)
    q_star, w_star, u, _ = _frame(3, q_norm, w_norm)
    st = span_statistics(M * n, T, q_star, w_star, zeta=zeta, prompts=gamma * u, sigma=sigma,
                         rng=s_train)
    A = st.a[:, 0].reshape(M, n)
    B = np.sqrt((st.b[:, 0].reshape(M, n) ** 2).sum(axis=1)) / n
    abar = A.mean(axis=1)
    g = np.random.default_rng(s_g)
    g1 = g.standard_normal(M)
    chi2 = g.chisquare(dof, M)
    dot = abar * w_norm**2 + sigma * B * w_norm * g1
    norm = np.sqrt((abar * w_norm + sigma * B * g1) ** 2 + sigma**2 * B**2 * chi2)
    return dot / norm


@claim(
    id="pa.c9-mean-difference-head",
    title="Debiased mean-difference head: exact finite-n form (§8.3) and its proportional limit",
    evidence=("MATH",),
    statement=(
        "w_hat = P⊥ (1/n) Σ y_i x̄_i with q = Γu.  (1) Variant B, d = 6, n = 5, |w*| = 0.5 "
        "(r ≈ 1): the mean of the exact conditional errors Q(a<ŵ,w*>/(σb|ŵ|)) of ≥ 10⁵ fits "
        "equals E[Q(r(r + g₁/√n)/√((r + g₁/√n)² + χ²_{d−2}/n))] (Gauss quadrature).  "
        "(2) Variant A, d = 200, Γ = 3, T = 20, ζ = 0.2, |q*| = 3, |w*| = 1, σ = 1, "
        "n ∈ {50, 200, 800}: full-space fits scored by E_test[Q(a<ŵ,w*>/(σb|ŵ|))] against "
        "the same score of the low-dimensional form ŵ = ā w* + σBg (Welch).  (3) The "
        "proportional limit E[Q(a E[a]|w*|²/(σb√(E[a]²|w*|² + σ²E[b²]ψ)))], ψ = d/n, within "
        "the band ±0.005 of the d = 200 fits; if not, of the 1/d extrapolation "
        "2ε̄(800) − ε̄(400) at fixed d/n."
    ),
    formula="error = E[Q(a⟨ŵ,w*⟩/(σb‖ŵ‖))], ŵ = ā w* + σBg, ‖ŵ‖² = (ā‖w*‖ + σBg₁)² + σ²B²χ²_{d−2}",
    sizes={
        "quick": {"small_fits": 100_000, "small_chunks": 4, "reps": 40, "virtual": 1000,
                  "n_test": 4000, "ns": (50, 200, 800)},
        "full": {"small_fits": 400_000, "small_chunks": 8, "reps": 40, "virtual": 8000,
                 "n_test": 20_000, "ns": (50, 200, 800)},
    },
    options={**_DATA_OPTIONS, "pa.debias": "project", "pa.loss": "correlation",
             "small": {"variant": "B", "d": 6, "n": 5, "w_norm": 0.5},
             "d": 200, "T": 20, "zeta": 0.2, "gamma": 3.0, "q_norm": 3.0, "w_norm": 1.0,
             "sigma": 1.0, "band": 0.005, "extrapolation_ds": (400, 800)},
    formulas={"chi2_dof": _chi2_dof},
    mutations={"chi2-d-minus-1": ("chi2_dof", _chi2_dof_wrong)},
)
def c9_mean_difference(ctx: RunContext) -> CompositeEvidence:
    """Small-d exact form, Variant-A finite-n form and the proportional-limit band."""
    o, z = ctx.options, ctx.sizes
    T, zeta, G, qn, sg = o["T"], o["zeta"], o["gamma"], o["q_norm"], o["sigma"]
    dof_of = ctx.formula("chi2_dof")
    parts: dict[str, Evidence] = {}
    details: dict[str, Any] = {}
    # (1) small-d Variant B: deterministic (a, b), exact conditional error per fit.
    sm = o["small"]
    k = z["small_chunks"]
    out = ctx.map(_c9_small_fits, ctx.spawn(k), [z["small_fits"] // k] * k,
                  *[[v] * k for v in (sm["d"], sm["n"], T, zeta, G, qn, sm["w_norm"], sg)])
    dot = np.concatenate([r[0] for r in out])
    norm = np.concatenate([r[1] for r in out])
    a, b = tp.attention_stats_noiseless(zeta, G * qn, T)
    r = a * sm["w_norm"] / (sg * b)
    pred = tp.mean_difference_error(r, sm["n"], dof_of(sm["d"]))
    parts["finite-n, Variant B, d=6, n=5"] = MeanEvidence(_Q(a * dot / (sg * b * norm)), pred)
    details["small r"] = r
    # (2) Variant A, d = 200: full-space fits against the low-dimensional form.
    wn, d = o["w_norm"], o["d"]
    q_star, w_star, u, _ = _frame(3, qn, wn)
    st = span_statistics(z["n_test"] + 100_000, T, q_star, w_star, zeta=zeta, prompts=G * u,
                         sigma=sg, rng=ctx.spawn(1)[0])
    at, bt = st.a[: z["n_test"], 0], st.b[: z["n_test"], 0]
    mean_a = float(st.a[z["n_test"]:, 0].mean())
    mean_b2 = float((st.b[z["n_test"]:, 0] ** 2).mean())
    ns = z["ns"]
    m = len(ns)
    fits = ctx.map(_c9_fits_a, ctx.spawn(m), [z["reps"]] * m, [d] * m, ns,
                   *[[v] * m for v in (T, zeta, G, qn, wn, sg)])
    virt = ctx.map(_c9_virtual, ctx.spawn(m), [z["virtual"]] * m, [d] * m, ns,
                   *[[v] * m for v in (T, zeta, G, qn, wn, sg, dof_of(d))])
    for n, ratio, vratio in zip(ns, fits, virt, strict=True):
        e_sim = _fit_errors(ratio, at, bt, sg)
        e_form = _fit_errors(vratio, at, bt, sg)
        parts[f"finite-n, Variant A, d={d}, n={n}"] = WelchEvidence(
            [e_sim, e_form], (1.0, -1.0), 0.0, details={"sim": float(e_sim.mean()),
                                                         "form": float(e_form.mean())})
        lim = _md_limit(at, bt, mean_a, mean_b2, wn, sg, d / n)
        band = BandEvidence(MeanEvidence(e_sim, lim), lim - o["band"], lim + o["band"],
                            details={"limit": lim, "d": d})
        if band.decide() != "agrees":
            band = _c9_extrapolated_band(ctx, o, z, n, lim, at, bt, e_sim)
        parts[f"limit band, ψ={d / n:g}"] = band
    details.update({"E[a]": mean_a, "E[b^2]": mean_b2})
    return CompositeEvidence(parts, details=details, primary="finite-n, Variant B, d=6, n=5")


def _c9_extrapolated_band(ctx, o, z, n0, lim, at, bt, e200):
    """1/d extrapolation ``2 eps(2d) - eps(d)`` over d in ``extrapolation_ds`` at fixed d/n."""
    d0 = o["d"]
    d1, d2 = o["extrapolation_ds"]
    errs = []
    for dd in (d1, d2):
        nn = n0 * dd // d0
        ratio = _c9_fits_a(ctx.spawn(1)[0], z["reps"], dd, nn, o["T"], o["zeta"], o["gamma"],
                           o["q_norm"], o["w_norm"], o["sigma"])
        errs.append(_fit_errors(ratio, at, bt, o["sigma"]))
    inner = WelchEvidence([errs[1], errs[0]], (2.0, -1.0), lim,
                          details={"d": list(o["extrapolation_ds"]), "eps(d0)": float(e200.mean())})
    return BandEvidence(inner, lim - o["band"], lim + o["band"],
                        details={"limit": lim, "extrapolated": True})


# ------------------------------------------------------------------ C10: least squares and ridge


def _mp_mprime(psi, lam, m):
    """``m' = (psi m^2 + m) / (1 - psi + lam + 2 psi lam m)`` (§8.4, closed form)."""
    return (psi * m * m + m) / (1.0 - psi + lam + 2.0 * psi * lam * m)


def _mp_mprime_wrong(psi, lam, m):
    # Mutation: m^2 in place of m'.
    return m * m


def _c10_predicted(mprime, r, psi, lam):
    """``Q(m r^2 / sqrt(m' (r^2 + psi)))`` with ``m = m(-lam)`` of Marchenko-Pastur."""
    m = float(tg.mp_stieltjes(psi, lam))
    return float(_Q(m * r * r / math.sqrt(mprime(psi, lam, m) * (r * r + psi))))


def _wishart(g, dof, D):
    """``W ~ Wishart(dof, I_D)``: Bartlett's decomposition if ``dof >= D``, else ``G^T G``."""
    if dof < D:
        G = g.standard_normal((dof, D))
        return G.T @ G
    A = np.tril(g.standard_normal((D, D)), -1)
    A[np.diag_indices(D)] = np.sqrt(g.chisquare(dof - np.arange(D)))
    return A @ A.T


def _c10_fits(seed, D, n, lam, r, reps):
    """Exact conditional errors ``Q(<w, mu>/|w|)`` of ``reps`` ridge (``lam > 0``) or LS fits.

    With ``u_i = y_i x_i = mu + z_i`` the fit depends on the data only through
    ``U^T U = n mu mu^T + sqrt(n)(mu g^T + g mu^T) + g g^T + W`` and ``U^T 1 = n mu + sqrt(n) g``,
    where a rotation of the sample index (first row ``1/sqrt(n)``) gives ``g ~ N(0, I_D)``
    independent of ``W ~ Wishart(n - 1, I_D)`` -- the same law as the n x D data matrix,
    drawn with ``O(D^3)`` instead of ``O(n D^2)`` work.
    """
    g = np.random.default_rng(seed)
    mu = np.zeros(D)
    mu[0] = r
    out = np.empty(reps)
    for i in range(reps):
        z1 = g.standard_normal(D)
        W = _wishart(g, n - 1, D)
        s = n * mu + math.sqrt(n) * z1  # U^T 1 = X^T y
        A = (np.outer(s, s) / n + W) / n  # U^T U / n = X^T X / n
        if lam > 0:
            A[np.diag_indices(D)] += lam
        w = np.linalg.solve(A, s / n)
        out[i] = float(_Q(w @ mu / np.linalg.norm(w)))
    return out


@claim(
    id="pa.c10-least-squares-ridge-heads",
    title="Least-squares and ridge heads on the mixture features: MP limits (§8.4), extrapolated in 1/D",
    evidence=("MATH",),
    statement=(
        "Isotropic mixture x = yμ + z in D dimensions, r = |μ| = 1.5; ridge head "
        "(XᵀX/n + λI)⁻¹Xᵀy/n (λ = 0: least squares).  Error → Q(m r²/√(m′(r² + ψ))), "
        "m = m(−λ) of Marchenko–Pastur, m′ = (ψm² + m)/(1 − ψ + λ + 2ψλm), ψ = D/n.  Six "
        "points: LS ψ ∈ {2/3, 1/3, 0.1}; ridge (ψ, λ) ∈ {(2/3, 0.1), (2/3, 1), (4/3, 0.5)}.  "
        "Exact conditional errors Q(<w,μ>/|w|) per fit at D = 200 and 400; the extrapolated "
        "ε̂∞ = 2ε̄(400) − ε̄(200) is tested (Welch t, Var = 4Var(ε̄400) + Var(ε̄200)), Bonferroni "
        "over the six points (the claim-level decision of Holm).  The formula also equals "
        "gmm_asymptotics.md's closed form ε_g of square_closed_form under α = 1/ψ, Δ = 1/r², "
        "λ_M = λ α Δ, to 1e−9."
    ),
    formula="ε = Q(m r² / √(m′(r² + ψ))), m′ = (ψm² + m)/(1 − ψ + λ + 2ψλm) (prompt_attention.md §8.4)",
    sizes={
        "quick": {"Ds": (200, 400), "reps": (100, 50)},
        "full": {"Ds": (200, 400), "reps": (200, 100)},
    },
    options={"r": 1.5, "points": ((2 / 3, 0.0), (1 / 3, 0.0), (0.1, 0.0), (2 / 3, 0.1),
                                  (2 / 3, 1.0), (4 / 3, 0.5)),
             "identity_tolerance": 1e-9, "features": "isotropic mixture (Variant B after debiasing)"},
    formulas={"mprime": _mp_mprime},
    mutations={"m-squared-instead-of-mprime": ("mprime", _mp_mprime_wrong)},
)
def c10_ls_ridge(ctx: RunContext) -> CompositeEvidence:
    """Simulated LS/ridge errors, extrapolated in 1/D, against the MP formula; formula identity."""
    o, z = ctx.options, ctx.sizes
    r = o["r"]
    mprime = ctx.formula("mprime")
    D0, D1 = z["Ds"]
    tasks = [(psi, lam, D, reps) for psi, lam in o["points"]
             for D, reps in zip(z["Ds"], z["reps"], strict=True)]
    seeds = ctx.spawn(len(tasks))
    errs = ctx.map(_c10_fits, seeds, [t[2] for t in tasks], [round(t[2] / t[0]) for t in tasks],
                   [t[1] for t in tasks], [r] * len(tasks), [t[3] for t in tasks])
    by = {(t[0], t[1], t[2]): e for t, e in zip(tasks, errs, strict=True)}
    parts: dict[str, Evidence] = {}
    worst: tuple[float, float, str | None] = (0.0, 0.0, None)
    for psi, lam in o["points"]:
        name = f"{'LS' if lam == 0 else 'ridge'} ψ={psi:.3g}" + ("" if lam == 0 else f" λ={lam:g}")
        pred = _c10_predicted(mprime, r, psi, lam)
        parts[name] = WelchEvidence(
            [by[(psi, lam, D1)], by[(psi, lam, D0)]], (2.0, -1.0), pred,
            method="1/D-extrapolated mean, Welch t",
            details={f"eps({D0})": float(by[(psi, lam, D0)].mean()),
                     f"eps({D1})": float(by[(psi, lam, D1)].mean())})
        alpha, delta = 1.0 / psi, 1.0 / r**2
        lam_m = tg.lam_mignacco_from_ridge(lam, alpha, delta) if lam > 0 else 0.0
        ref = float(tg.square_closed_form(alpha, delta, lam_m, precision="high", dps=40).eps_g)
        if abs(pred - ref) >= abs(worst[0] - worst[1]):
            worst = (ref, pred, name)
    parts["formula = square_closed_form under the map"] = ExactEvidence(
        worst[0], worst[1], o["identity_tolerance"], method="exact (spec tolerance 1e-9)",
        details={"worst point": worst[2]})
    return CompositeEvidence(parts)


# ------------------------------------------------------------------ C11: Bayes with R unknown


def _bayes_enumeration(X, q_star, w_star, mu, sigma, K, prior=0.5):
    """Posterior log odds from the definition: a sum over all K-subsets of Gaussian densities."""
    T = X.shape[0]
    ll = {}
    for y in (1.0, -1.0):
        m_y = q_star + y * w_star
        rel = -((X - m_y) ** 2).sum(axis=1) / (2 * sigma**2)
        irr = -((X - mu) ** 2).sum(axis=1) / (2 * sigma**2)
        terms = [rel[list(R)].sum() + np.delete(irr, list(R)).sum()
                 for R in itertools.combinations(range(T), K)]
        ll[y] = float(special.logsumexp(terms))
    return ll[1.0] - ll[-1.0] + math.log(prior / (1 - prior))


def _chain(bayes_err, pa_err, gammas, left, right):
    """The ordering chain of §8.5 as ``(name, samples, sense, boundary)`` one-sided tests.

    ``bayes_err`` (n,), ``pa_err`` (n, P) are paired 0/1 errors on the same draws for the
    prompts ``gammas`` (column 0 is Γ = 0).
    """
    tests = [("left: Bayes >= Q(√(ζT)|w*|/σ)", bayes_err, ">=", left)]
    tests += [(f"Bayes <= PA(Γ={gammas[p]:g})", bayes_err - pa_err[:, p], "<=", 0.0)
              for p in range(pa_err.shape[1])]
    tests.append(("right: PA(0) <= Q(ζ√T|w*|/σ)", pa_err[:, 0], "<=", right))
    return tests


def _chain_swapped(bayes_err, pa_err, gammas, left, right):
    # Mutation: the middle inequality swapped (Bayes >= PA(Γ)).
    return [(n.replace("<=", ">=") if "PA(Γ" in n else n, s, ">=" if "PA(Γ" in n else sense, b)
            for n, s, sense, b in _chain(bayes_err, pa_err, gammas, left, right)]


def _c11_errors(seed, n, T, zeta, q_norm, w_norm, sigma, gammas):
    """Paired per-draw 0/1 errors of the Bayes rule and of sign<w*, x̄(Γu)> on the grid."""
    q_star = np.array([q_norm, 0.0, 0.0])
    w_star = np.array([0.0, w_norm, 0.0])
    u = np.array([1.0, 0.0, 0.0])
    gam = np.array([0.0]) if q_norm == 0 else np.asarray(gammas)  # u undefined at |q*| = 0
    st = span_statistics(n, T, q_star, w_star, zeta=zeta, prompts=np.outer(gam, u), sigma=sigma,
                         bayes=True, rng=seed)
    bayes = (np.where(st.bayes > 0, 1.0, -1.0) != st.y).astype(np.float64)
    pa = (np.where(st.oracle > 0, 1.0, -1.0) != st.y[:, None]).astype(np.float64)
    return bayes, pa


@claim(
    id="pa.c11-bayes-unknown-relevant-set",
    title=("Bayes error with R unknown: DP = enumeration; Q(√(ζT)r) ≤ Bayes ≤ min_Γ PA ≤ Q(ζ√T r); "
           "trend in |q*|"),
    evidence=("MATH",),
    statement=(
        "(1) The O(TK) log-space DP for log e_K gives the posterior log odds of an exhaustive "
        "sum over K-subsets of Gaussian densities (T ≤ 10, random parameters, μ_irr = 0 and "
        "≠ 0) to 1e−10.  (2) Variant A, ⊥, μ_irr = 0, T = 20, ζ = 0.2, |w*| = 0.5, σ = 1, "
        "|q*| ∈ {0, 1, 3, 6}: on the same draws, Q(√(ζT)|w*|/σ) ≤ Bayes ≤ PA(Γ) for every Γ "
        "of the C8 grid ≤ … with PA(0) ≤ Q(ζ√T|w*|/σ); (3) Bayes is non-increasing in |q*| "
        "(consecutive values, paired draws); (4) Bayes − Q(√(ζT)|w*|/σ) is strictly smaller "
        "at |q*| = 6 than at 0.  Verdict rule of §12: non-strict inequalities are one-sided "
        "tests that disagree only when the whole CI is on the wrong side; Bonferroni inside "
        "the claim (the claim-level decision of Holm)."
    ),
    formula="p(X|y) ∝ e^{−K|m_y|²/(2σ²)} e_K(π^y), π_t^y = e^{<x_t, m_y>/σ²} (prompt_attention.md §8.5)",
    sizes={
        "quick": {"n": 40_000, "dp_cases": 60},
        "full": {"n": 100_000, "dp_cases": 400},
    },
    options={**_DATA_OPTIONS, "T": 20, "zeta": 0.2, "w_norm": 0.5, "sigma": 1.0,
             "q_norms": (0.0, 1.0, 3.0, 6.0),
             "gammas": (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0,
                        5.0, 10.0, 30.0),
             "dp_tolerance": 1e-10, "strict_level": 0.999},
    formulas={"chain": _chain},
    mutations={"swap-middle-inequality": ("chain", _chain_swapped)},
)
def c11_bayes(ctx: RunContext) -> CompositeEvidence:
    """DP versus enumeration, the ordering chain, the trend and the approach to R known."""
    o, z = ctx.options, ctx.sizes
    T, zeta, wn, sg = o["T"], o["zeta"], o["w_norm"], o["sigma"]
    parts: dict[str, Evidence] = {}
    # (1) DP versus brute-force enumeration.
    g = ctx.rng()
    worst: tuple[float, float, str | None] = (0.0, 0.0, None)
    for _ in range(z["dp_cases"]):
        Tc = int(g.integers(2, 11))
        K = int(g.integers(1, Tc + 1))
        d = int(g.integers(2, 6))
        q_star, w_star = g.normal(size=d), g.normal(size=d)
        q_star *= g.uniform(0.1, 3.0) / np.linalg.norm(q_star)
        w_star *= g.uniform(0.1, 3.0) / np.linalg.norm(w_star)
        mu = g.normal(size=d) * g.uniform(0.0, 1.0) * (g.random() < 0.5)
        s = g.uniform(0.5, 2.0)
        prior = float(g.uniform(0.2, 0.8))
        X = np.where(g.random(Tc)[:, None] < K / Tc, q_star, mu) + s * g.normal(size=(Tc, d))
        dp = bayes_log_odds(X, q_star, w_star, zeta=K / Tc, sigma=s, mu_irr=mu, label_prior=prior)
        ref = _bayes_enumeration(X, q_star, w_star, mu, s, K, prior)
        if abs(dp - ref) >= abs(worst[0] - worst[1]):
            worst = (ref, dp, f"T={Tc}, K={K}, d={d}")
    parts["DP = enumeration"] = ExactEvidence(worst[0], worst[1], o["dp_tolerance"],
                                              method="exact (spec tolerance 1e-10)",
                                              details={"worst case": worst[2]})
    # (2)-(4) chain on paired draws; independent draws for each |q*| (the trend tests pair
    # draw i of one run with draw i of the next: i.i.d. pairs of independent samples).
    left = tp.oracle_error_perfect(zeta, T, w_norm=wn, sigma=sg)
    right = tp.oracle_error_uniform(zeta, T, w_norm=wn, sigma=sg)
    chain = ctx.formula("chain")
    qns = o["q_norms"]
    runs = ctx.map(_c11_errors, ctx.spawn(len(qns)), [z["n"]] * len(qns), [T] * len(qns),
                   [zeta] * len(qns), qns, [wn] * len(qns), [sg] * len(qns), [o["gammas"]] * len(qns))
    lvl = o["strict_level"]
    summary = {}
    for qn, (bayes, pa) in zip(qns, runs, strict=True):
        summary[f"|q*|={qn:g}"] = {"bayes": float(bayes.mean()), "pa_min": float(pa.mean(axis=0).min()),
                                   "pa0": float(pa[:, 0].mean())}
        gam = (0.0,) if qn == 0 else o["gammas"]
        for name, samples, sense, bound in chain(bayes, pa, gam, left, right):
            parts[f"|q*|={qn:g} {name}"] = OrderEvidence(samples, sense, boundary=bound,
                                                         strict_level=lvl)
    for (q0, (b0, _)), (q1, (b1, _)) in itertools.pairwise(zip(qns, runs, strict=True)):
        parts[f"trend Bayes(|q*|={q1:g}) <= Bayes(|q*|={q0:g})"] = OrderEvidence(b1 - b0, "<=")
    parts["Bayes − R-known gap smaller at |q*|=6 than 0"] = OrderEvidence(
        runs[-1][0] - runs[0][0], "<", strict_level=lvl)
    return CompositeEvidence(parts, details={"left": left, "right": right, "errors": summary},
                             primary="Bayes − R-known gap smaller at |q*|=6 than 0")
