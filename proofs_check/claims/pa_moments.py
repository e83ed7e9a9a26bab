"""Prompt-attention: the first gradient steps from the origin, claims C2-C4 of prompt_attention.md §12.

C2 the expectation identity E[y ∇_q f(X; 0, w)] = E[y Ĉ(X)] w (§6.1 item 2, §6.3 item 1),
C3 the law of the first head step (§6.2) and its leading-order cosine, C4 the prompt
gradient at q = 0 with the oracle head (§6.3 items 1-3).

Every simulation draws full d-dimensional sequences of Variant A (numerics.pa) and evaluates
the model's own gradient (``gradient_moments``: the compiled ``y ∇f`` at the given (q, w)),
so the left-hand sides are the gradients of the model, not the closed forms rewritten.
Replicates run through ``ctx.map`` with one spawned seed each, so the numbers do not depend
on ``--jobs``.  Coordinates: q* = |q*| e_1 and w* = |w*| e_2 (the law of every statistic
used is invariant under rotations, so this frame loses no generality).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

import theory.pa as tp
from numerics.pa import gradient_moments
from proofs_check._evidence import BandEvidence, CompositeEvidence, LabelEvidence, MeanEvidence
from proofs_check._registry import claim
from proofs_check._runner import RunContext

_SPEC = "prompt_attention.md"
# Data-model and loss switches in force (prompt_attention.md §3, §4.6, [INFERRED]).
_DATA_OPTIONS = {
    "pa.data_variant": "A",
    "pa.relevant_count": "fixed",
    "pa.orthogonal_context": True,
    "pa.label_prior": 0.5,
    "pa.temperature": "1",
    "pa.prompt_self_attention": False,
    "pa.loss": "correlation",
}


def _frame(d: int, q_norm: float, w_norm: float) -> tuple[np.ndarray, np.ndarray]:
    e = np.eye(d)
    return q_norm * e[0], w_norm * e[1]


# ================================================================== C2: E[y ∇_q f(X; 0, w)]


def expected_y_chat(zeta: Any, q_star: Any, w_star: Any, mu_irr: Any) -> Any:
    """``E[y C_hat(X)] = zeta (1 - zeta) [(q* - mu) w*^T + w* (q* - mu)^T]``.

    Parameters
    ----------
    zeta : float or sympy.Expr
        Sparsity ``K/T`` (fixed relevant count).
    q_star, w_star, mu_irr : column vectors
        numpy arrays of shape ``(d, 1)`` or sympy column matrices.

    Returns
    -------
    ndarray or sympy.Matrix, shape (d, d)

    Notes
    -----
    prompt_attention.md §6.1 item 2 [MATH]; applied to a head ``w`` it is the mean of the
    prompt gradient at ``q = 0`` (§6.3 item 1).

    Examples
    --------
    >>> col = lambda v: np.array(v, dtype=float).reshape(-1, 1)
    >>> expected_y_chat(0.5, col([2.0, 0.0]), col([0.0, 1.0]), col([0.0, 0.0])).tolist()
    [[0.0, 0.5], [0.5, 0.0]]
    """
    a = q_star - mu_irr
    return zeta * (1 - zeta) * (a @ w_star.T + w_star @ a.T)


def _y_chat_without_complement(zeta, q_star, w_star, mu_irr):
    # Mutation (§12): the factor (1 - zeta) dropped.
    a = q_star - mu_irr
    return zeta * (a @ w_star.T + w_star @ a.T)


def _c2_replicate(seed, n, T, q_star, w_star, zeta, sigma, w, mu):
    """Mean of ``y ∇_q f(X; 0, w)`` over ``n`` fresh sequences."""
    return gradient_moments(n, T, q_star, w_star, zeta=zeta, w=w, wrt="q", sigma=sigma,
                            mu_irr=mu, rng=seed).mean


@claim(
    id="pa.c2-prompt-gradient-mean",
    title="E[y ∇_q f(X; 0, w)] = E[yĈ]w = ζ(1−ζ)[(q*−μ)<w*, w> + w*<q*−μ, w>], μ_irr = 0 and ≠ 0",
    evidence=("MATH",),
    statement=(
        "Variant A, fixed K = ζT.  The mean of y times the model's prompt gradient at q = 0 "
        "equals E[yĈ(X)]w with E[yĈ] = ζ(1−ζ)[(q*−μ)w*ᵀ + w*(q*−μ)ᵀ], for μ_irr = 0 and for a "
        "μ_irr along no particular axis.  d = 6, T = 10, ζ = 0.3, |q*| = 2, |w*| = 1, σ = 1, a "
        "random unit head w; 10⁵ sequences per setting split into replicates; t-interval per "
        "coordinate, Bonferroni over the d coordinates of both settings.  Also the symbolic "
        "derivation: E[yĈ] computed from the definition (y Rademacher, z Gaussian, R averaged "
        "exactly) minus the closed form expands to zero."
    ),
    formula="E[y Ĉ(X)] = ζ(1−ζ)[(q*−μ)w*ᵀ + w*(q*−μ)ᵀ] (prompt_attention.md §6.1 item 2, §6.3 item 1)",
    sizes={
        "quick": {"reps": 20, "n_per_rep": 5000, "d": 6, "T": 10, "sym_T": 2, "sym_d": 2,
                  "sym_K": 1},
        "full": {"reps": 50, "n_per_rep": 20_000, "d": 6, "T": 10, "sym_T": 3, "sym_d": 2,
                 "sym_K": 1},
    },
    options={**_DATA_OPTIONS, "zeta": 0.3, "q_norm": 2.0, "w_norm": 1.0, "sigma": 1.0,
             "mu_irr_norm": 0.8},
    formulas={"y_chat": expected_y_chat},
    mutations={"drop-one-minus-zeta": ("y_chat", _y_chat_without_complement)},
)
def c2_prompt_gradient_mean(ctx: RunContext) -> CompositeEvidence:
    """Per-coordinate t-intervals of the mean prompt gradient, and the symbolic derivation."""
    z, o = ctx.sizes, ctx.options
    y_chat = ctx.formula("y_chat")
    parts: dict[str, Any] = {}
    # Symbolic: derive E[y C_hat] from the definitions and compare with the formula.
    derived, _, sy = tp.derive_population_moments(z["sym_T"], z["sym_d"], K=z["sym_K"])
    zeta_sym = sp.Rational(z["sym_K"], z["sym_T"])
    residual = derived.y_chat - y_chat(zeta_sym, sy["q_star"], sy["w_star"], sy["mu_irr"])
    zero = all(sp.expand(e) == 0 for e in residual)
    parts[f"symbolic E[yĈ] (T={z['sym_T']}, K={z['sym_K']}, d={z['sym_d']})"] = LabelEvidence(
        "zero", "zero" if zero else "nonzero", method="sympy: derived moment - formula")
    d, T, zeta, sigma = z["d"], z["T"], o["zeta"], o["sigma"]
    q_star, w_star = _frame(d, o["q_norm"], o["w_norm"])
    rng = ctx.rng()
    w = rng.normal(size=d)
    w /= np.linalg.norm(w)
    mu_dir = rng.normal(size=d)
    mu_dir[:2] = 0.5 * np.abs(mu_dir[:2]) + 0.3  # components along q* and w* and beyond
    mu_nonzero = o["mu_irr_norm"] * mu_dir / np.linalg.norm(mu_dir)
    col = lambda v: np.asarray(v, dtype=np.float64).reshape(-1, 1)  # noqa: E731
    for label, mu in (("μ_irr = 0", np.zeros(d)), ("μ_irr ≠ 0", mu_nonzero)):
        predicted = (y_chat(zeta, col(q_star), col(w_star), col(mu)) @ w).ravel()
        seeds = ctx.spawn(z["reps"])
        means = np.array(ctx.map(_c2_replicate, seeds, [z["n_per_rep"]] * z["reps"],
                                 [T] * z["reps"], [q_star] * z["reps"], [w_star] * z["reps"],
                                 [zeta] * z["reps"], [sigma] * z["reps"], [w] * z["reps"],
                                 [mu] * z["reps"]))
        for j in range(d):
            parts[f"{label}: coordinate {j}"] = MeanEvidence(
                means[:, j], predicted=float(predicted[j]),
                details={"n": z["reps"] * z["n_per_rep"]})
    return CompositeEvidence(parts, details={
        "spec": f"{_SPEC} §6.1 item 2, §12 C2", "w": w.tolist(), "mu_irr": mu_nonzero.tolist(),
        "bonferroni": f"over {2 * d} coordinates (two settings)"})


# ================================================================== C3: the first head step


def head_step_law(zeta: float, q_star: np.ndarray, w_star: np.ndarray, *, sigma: float, T: int,
                  n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``zeta w*`` and per-coordinate variance ``(zeta q*)_j^2/n + sigma^2/(nT)``.

    Notes
    -----
    prompt_attention.md §6.2 [MATH] with ``mu_irr = 0``; :func:`theory.pa.head_step_moments`.
    """
    return tp.head_step_moments(zeta, q_star, w_star, sigma=sigma, T=T, n=n)


def head_step_cosine(zeta: float, *, w_norm: float, q_norm: float, sigma: float, d: int, T: int,
                     n: float) -> float:
    """Leading-order ``cos(w1, w*)`` of §6.2 (:func:`theory.pa.head_step_cos`)."""
    return tp.head_step_cos(zeta, w_norm=w_norm, q_norm=q_norm, sigma=sigma, d=d, T=T, n=n)


def _law_per_sequence_noise(zeta, q_star, w_star, *, sigma, T, n):
    # Mutation: noise sigma^2/n (sequences counted, tokens not).
    mean, var = tp.head_step_moments(zeta, q_star, w_star, sigma=sigma, T=T, n=n)
    return mean, var + sigma**2 / n - sigma**2 / (n * T)


def _law_without_drift(zeta, q_star, w_star, *, sigma, T, n):
    # Mutation: the label-average drift y_bar zeta q* ignored.
    mean, _ = tp.head_step_moments(zeta, q_star, w_star, sigma=sigma, T=T, n=n)
    return mean, np.full_like(mean, sigma**2 / (n * T))


def _cos_undiluted(zeta, *, w_norm, q_norm, sigma, d, T, n):
    # Mutation: zeta in place of zeta^2 (uniform attention's dilution not paid).
    s2 = zeta * w_norm**2
    return math.sqrt(s2) / math.sqrt(s2 + zeta * q_norm**2 / n + sigma**2 * d / (n * T))


def _c3_replicate(seed, n, T, q_star, w_star, zeta, sigma):
    """``w1 = (1/n) sum y_i x_bar_i(0)``: coordinates along u, w*-hat, the rest, and cosine."""
    d = q_star.shape[0]
    w1 = gradient_moments(n, T, q_star, w_star, zeta=zeta, w=np.zeros(d), wrt="w",
                          sigma=sigma, rng=seed).mean
    cos = float(w1 @ w_star) / (float(np.linalg.norm(w1)) * float(np.linalg.norm(w_star)))
    return w1[0], w1[1], float(np.mean(w1[2:] ** 2)), cos


@claim(
    id="pa.c3-head-step",
    title="Law of the first head step (§6.2): mean ζw*, variance (ζq*)_j²/n + σ²/(nT); cos(w1, w*)",
    evidence=("MATH",),
    statement=(
        "w1 = (1/n)Σ y_i x̄_i(0) (the negative correlation-loss gradient in w at the origin) is "
        "ζw* + ȳζq* + (σ/√(nT))g exactly in law (μ_irr = 0).  Checked per n by t-intervals over "
        "replicates: the mean along ŵ* (ζ|w*|) and along u (0); the second moments "
        "(w1·u)² = ζ²|q*|²/n + σ²/(nT), (w1·ŵ* − ζ|w*|)² = σ²/(nT) and the average of w1_j² over "
        "the d − 2 other coordinates = σ²/(nT); Bonferroni over all parts.  The leading-order "
        "cos(w1, w*) = ζ|w*|/√(ζ²|w*|² + ζ²|q*|²/n + σ²d/(nT)) is checked in a band ±0.012 "
        "around the mean cosine.  d = 100, T = 20, ζ = 0.2, σ = 1, |q*| = 3, |w*| = 1."
    ),
    formula="(1/n)Σ y_i x̄_i(0) = ζw* + ȳ(ζq* + (1−ζ)μ) + (σ/√(nT)) g (prompt_attention.md §6.2)",
    sizes={
        "quick": {"ns": (25, 100), "reps": 200, "d": 100, "T": 20},
        "full": {"ns": (25, 100, 400, 1600), "reps": 1000, "d": 100, "T": 20},
    },
    options={**_DATA_OPTIONS, "pa.irrelevant_mean": 0.0, "zeta": 0.2, "q_norm": 3.0,
             "w_norm": 1.0, "sigma": 1.0, "cos_band": 0.012},
    formulas={"law": head_step_law, "cos": head_step_cosine},
    mutations={
        "noise-per-sequence": ("law", _law_per_sequence_noise),
        "drift-ignored": ("law", _law_without_drift),
        "cos-zeta-not-squared": ("cos", _cos_undiluted),
    },
)
def c3_head_step(ctx: RunContext) -> CompositeEvidence:
    """Mean, second moments and cosine of the first head step at several n."""
    z, o = ctx.sizes, ctx.options
    law, cos_f = ctx.formula("law"), ctx.formula("cos")
    d, T, zeta, sigma = z["d"], z["T"], o["zeta"], o["sigma"]
    q_star, w_star = _frame(d, o["q_norm"], o["w_norm"])
    parts: dict[str, Any] = {}
    bands: dict[str, Any] = {}
    for n in z["ns"]:
        k = z["reps"]
        out = np.array(ctx.map(_c3_replicate, ctx.spawn(k), [n] * k, [T] * k, [q_star] * k,
                               [w_star] * k, [zeta] * k, [sigma] * k))
        pu, pw, rest, cos = out.T
        mean, var = law(zeta, q_star, w_star, sigma=sigma, T=T, n=n)
        info = {"n": n, "reps": k}
        parts[f"n={n}: mean along ŵ*"] = MeanEvidence(pw, predicted=float(mean[1]), details=info)
        parts[f"n={n}: mean along u"] = MeanEvidence(pu, predicted=float(mean[0]), details=info)
        parts[f"n={n}: E(w1·u)²"] = MeanEvidence(pu**2, predicted=float(var[0] + mean[0] ** 2),
                                                 details=info)
        parts[f"n={n}: E(w1·ŵ* − ζ|w*|)²"] = MeanEvidence((pw - mean[1]) ** 2,
                                                          predicted=float(var[1]), details=info)
        parts[f"n={n}: mean of w1_j² off the span"] = MeanEvidence(
            rest, predicted=float(np.mean(var[2:] + mean[2:] ** 2)), details=info)
        pred_cos = cos_f(zeta, w_norm=o["w_norm"], q_norm=o["q_norm"], sigma=sigma, d=d, T=T, n=n)
        half = float(o["cos_band"])
        bands[f"n={n}: cos(w1, w*) band ±{half}"] = BandEvidence(
            MeanEvidence(cos, predicted=pred_cos), low=pred_cos - half, high=pred_cos + half,
            details=info)
    parts.update(bands)
    summary = {k: {"predicted": v.predicted, "mean": v.estimate} for k, v in bands.items()}
    return CompositeEvidence(parts, details={"spec": f"{_SPEC} §6.2, §12 C3", "cosines": summary})


# ================================================================== C4: prompt gradient at q = 0


def prompt_signal(zeta: float, *, q_norm: float, w_norm: float) -> float:
    """``S = zeta (1 - zeta) |q*| |w*|^2``: ``E[y C_hat w*] = S u`` (§6.3 items 1, 3, [MATH])."""
    return tp.prompt_gradient_signal(zeta, q_norm=q_norm, w_norm=w_norm)


def prompt_noise_variance(zeta: float, q_star: np.ndarray, w_star: np.ndarray, w: np.ndarray, *,
                          sigma: float, T: int) -> float:
    """Per-sample ``Var(e^T y C_hat w)`` for unit ``e`` orthogonal to q*, w*, w (§6.3 item 2)."""
    return tp.prompt_gradient_noise_variance(zeta, q_star, w_star, w, sigma=sigma, T=T, n=1)


def prompt_trace(zeta: float, *, q_norm: float, w_norm: float, sigma: float, d: int,
                 T: int) -> float:
    """Exact ``tr Cov(y C_hat w*)`` (§6.3 item 3, [MATH])."""
    return tp.prompt_gradient_trace_cov(zeta, q_norm=q_norm, w_norm=w_norm, sigma=sigma, d=d, T=T)


def _signal_zeta_only(zeta, *, q_norm, w_norm):
    # Mutation (§12): zeta in place of zeta (1 - zeta).
    return zeta * q_norm * w_norm**2


def _variance_without_factor(zeta, q_star, w_star, w, *, sigma, T):
    # Mutation (§12): the factor (1 - 1/T) dropped (mu_irr = 0 here).
    inner = sigma**2 * float(w @ w) + zeta * (1 - zeta) * (
        float(q_star @ w) ** 2 + float(w_star @ w) ** 2)
    return sigma**2 / T * inner


def _trace_as_d_v1(zeta, *, q_norm, w_norm, sigma, d, T):
    # Mutation (§12): d V_1 in place of the exact trace.
    V1 = sigma**2 * w_norm**2 / T * (sigma**2 * (1 - 1 / T) + zeta * (1 - zeta) * w_norm**2)
    return d * V1


def _c4_moments(seed, n, T, q_star, w_star, zeta, sigma, w=None):
    """Per-coordinate mean and unbiased variance of ``Y = y C_hat(X) w`` (default ``w = w*``)."""
    w = w_star if w is None else w
    g = gradient_moments(n, T, q_star, w_star, zeta=zeta, w=w, wrt="q", sigma=sigma, rng=seed)
    return g.mean, g.var


def _c4_cosine(seed, n, T, q_star, w_star, zeta, sigma):
    """``cos(g_hat, u)`` of one prompt step with ``n`` sequences (u = e_1)."""
    m = gradient_moments(n, T, q_star, w_star, zeta=zeta, w=w_star, wrt="q", sigma=sigma,
                         rng=seed).mean
    return float(m[0]) / float(np.linalg.norm(m))


@claim(
    id="pa.c4-prompt-gradient",
    title="Prompt gradient at q = 0, oracle head: mean S·u, exact Var(eᵀĝ) and tr Cov(Y); alignment",
    evidence=("MATH",),
    statement=(
        "Y = y Ĉ(X) w* is y times the model's prompt gradient at q = 0 with the oracle head "
        "(⊥, μ_irr = 0).  (1) E[Y] = S u, S = ζ(1−ζ)|q*||w*|²: t-interval per coordinate.  (2) "
        "Var(eᵀY) = V₁ = (σ²|w*|²/T)[σ²(1 − 1/T) + ζ(1−ζ)|w*|²] for e ⟂ q*, w* (average of "
        "the per-coordinate variances off the span; also for the head 0.6w* + 0.4|w*|u, where "
        "the term ζ(1−ζ)<q*, w>² enters).  (3) tr Cov(Y) = (d−1)V₁ + "
        "σ²ζ(1−ζ)|q*|²|w*|²/T + |w*|²E[ν²] (sum of the variances).  Intervals over replicates "
        "of 10⁵ sequences in all (quick: fewer), Bonferroni over all parts.  (4) The alignment "
        "cos(ĝ, u) ≈ S/√(S² + tr Cov(Y)/n), band ±0.012 around the mean over replicates.  "
        "Parameters d = 100, T = 20, ζ = 0.2, σ = 1, |q*| = 3, |w*| = 0.5, and d = 50, T = 10, "
        "ζ = 0.3, |q*| = 2, |w*| = 1."
    ),
    formula="E[yĈw*] = ζ(1−ζ)|q*||w*|²u; tr Cov(Y) = (d−1)V₁ + σ²ζ(1−ζ)|q*|²|w*|²/T + "
            "|w*|²E[ν²] (prompt_attention.md §6.3)",
    sizes={
        "quick": {"configs": ((100, 20, 0.2, 3.0, 0.5, 8, 4000, (50, 200), 120, False),
                              (50, 10, 0.3, 2.0, 1.0, 20, 5000, (), 0, True))},
        "full": {"configs": ((100, 20, 0.2, 3.0, 0.5, 50, 2000, (50, 200, 800, 3200), 1000, True),
                             (50, 10, 0.3, 2.0, 1.0, 50, 2000, (50, 200, 800, 3200), 1000, True))},
    },
    options={**_DATA_OPTIONS, "pa.irrelevant_mean": 0.0, "sigma": 1.0, "cos_band": 0.012,
             "config_fields": "(d, T, zeta, |q*|, |w*|, reps, n_per_rep, alignment ns, "
                              "alignment reps, head off w* for item 2)"},
    formulas={"signal": prompt_signal, "noise_variance": prompt_noise_variance,
              "trace": prompt_trace},
    mutations={
        "zeta-instead-of-zeta-one-minus-zeta": ("signal", _signal_zeta_only),
        "variance-without-one-minus-1/T": ("noise_variance", _variance_without_factor),
        "trace-as-d-V1": ("trace", _trace_as_d_v1),
    },
)
def c4_prompt_gradient(ctx: RunContext) -> CompositeEvidence:
    """Mean direction, exact off-span variance, exact trace and the alignment band."""
    o = ctx.options
    signal_f, var_f, trace_f = ctx.formula("signal"), ctx.formula("noise_variance"), ctx.formula("trace")
    sigma = o["sigma"]
    parts: dict[str, Any] = {}
    bands: dict[str, Any] = {}
    for d, T, zeta, qn, wn, reps, n_rep, ns, cos_reps, alt_head in ctx.sizes["configs"]:
        tag = f"d={d}, T={T}"
        q_star, w_star = _frame(d, qn, wn)
        out = ctx.map(_c4_moments, ctx.spawn(reps), [n_rep] * reps, [T] * reps, [q_star] * reps,
                      [w_star] * reps, [zeta] * reps, [sigma] * reps)
        means = np.array([m for m, _ in out])
        varis = np.array([v for _, v in out])
        info = {"reps": reps, "n_per_rep": n_rep}
        S = signal_f(zeta, q_norm=qn, w_norm=wn)
        parts[f"{tag}: E[Y]·u = S"] = MeanEvidence(means[:, 0], predicted=S, details=info)
        parts[f"{tag}: E[Y]·ŵ* = 0"] = MeanEvidence(means[:, 1], predicted=0.0, details=info)
        # Off the span the coordinates are exchangeable: their average mean is 0 too, and
        # each one separately is a further t-test (Bonferroni covers them all).
        for j in range(2, d):
            parts[f"{tag}: E[Y]_{j} = 0"] = MeanEvidence(means[:, j], predicted=0.0, details=info)
        V1 = var_f(zeta, q_star, w_star, w_star, sigma=sigma, T=T)
        parts[f"{tag}: Var(eᵀY) = V₁ (mean over e ⟂ span)"] = MeanEvidence(
            varis[:, 2:].mean(axis=1), predicted=V1, details=info)
        if alt_head:
            # Item 2 with a head off w*: the term zeta (1 - zeta) <q*, w>^2 then contributes.
            w_alt = 0.6 * w_star + 0.4 * wn * q_star / qn
            out_alt = ctx.map(_c4_moments, ctx.spawn(reps), [n_rep] * reps, [T] * reps,
                              [q_star] * reps, [w_star] * reps, [zeta] * reps, [sigma] * reps,
                              [w_alt] * reps)
            V_alt = var_f(zeta, q_star, w_star, w_alt, sigma=sigma, T=T)
            parts[f"{tag}: Var(eᵀY) with w = 0.6w* + 0.4|w*|u"] = MeanEvidence(
                np.array([v[2:].mean() for _, v in out_alt]), predicted=V_alt, details=info)
        tr = trace_f(zeta, q_norm=qn, w_norm=wn, sigma=sigma, d=d, T=T)
        parts[f"{tag}: tr Cov(Y)"] = MeanEvidence(varis.sum(axis=1), predicted=tr, details=info)
        half = float(o["cos_band"])
        for n in ns:
            cos = np.array(ctx.map(_c4_cosine, ctx.spawn(cos_reps), [n] * cos_reps,
                                   [T] * cos_reps, [q_star] * cos_reps, [w_star] * cos_reps,
                                   [zeta] * cos_reps, [sigma] * cos_reps))
            pred = tp.prompt_alignment(S, tr, n)
            bands[f"{tag}, n={n}: cos(ĝ, u) band ±{half}"] = BandEvidence(
                MeanEvidence(cos, predicted=pred), low=pred - half, high=pred + half,
                details={"n": n, "reps": cos_reps, "d_V1_alignment": tp.prompt_alignment(S, d * V1, n)})
    parts.update(bands)
    summary = {k: {"predicted": v.predicted, "mean": v.estimate} for k, v in bands.items()}
    return CompositeEvidence(parts, details={"spec": f"{_SPEC} §6.3, §12 C4", "cosines": summary})
