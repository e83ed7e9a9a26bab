"""C12: reproduce Template B of 2505.10860 (App. G.1) with an EM-based MLE (sigmoid_moe.md §7.3, §9).

Four settings, the truths of the §7.3 table (one shared and two routed experts, fitted with
two shared and three routed experts), data ``X ~ U[-3, 3]``, ``Y`` from the Gaussian MoE,
fits by the compiled generalised EM of :func:`numerics.moe.fit_em` (tolerance 1e-6 on the
relative change of the log-likelihood, at most 1000 iterations), losses D1-D4 of
:func:`numerics.moe.template_b_loss`.

Streams: the claim's root sequence spawns one child per (setting, replicate), in that order;
each child spawns a data stream (one sample of size ``n_max``; a fit at size ``n`` uses its
first ``n`` points, the nested design of §7.4, where the paper draws independent data sets
per size) and one start stream per size.  One (setting, replicate) is one task of
:meth:`RunContext.map`, so ``--jobs`` cannot change a number.

Verdict per setting, as the paper measures it: the least-squares slope of log(mean loss over
replicates) on ``log(n / log n)``, i.e. minus the exponent of ``(log n / n)^e``, with the
expanded percentile bootstrap over replicates (:class:`RateEvidence`, ``centre="mean"``); a
:class:`BandEvidence` against the published exponent ±0.1 (agrees if the point estimate is in
the band, disagrees if the whole 95% CI lies outside, inconclusive otherwise); the claim is
the composite of the four settings.  Report lines: the slope on ``log n`` (means and medians),
the slopes of the loss's parts, convergence counts and per-size means.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from numerics.moe import (
    fit_em,
    sample_template_b,
    template_b_cells,
    template_b_loss_parts,
    template_b_start,
    template_b_truth,
)
from proofs_check._evidence import BandEvidence, CompositeEvidence, Evidence
from proofs_check._rates import RateEvidence, loglog_slope
from proofs_check._registry import claim
from proofs_check._runner import RunContext

# (theorem, loss, label) of the four settings of §7.3
_SETTINGS = (
    (1, "d1", "Thm 1 softmax, ReLU experts (D1)"),
    (2, "d2", "Thm 2 softmax, linear experts (D2)"),
    (3, "d3", "Thm 3 normalised sigmoid, sparse, ReLU experts (D3)"),
    (4, "d4", "Thm 4 normalised sigmoid, dense (D4)"),
)
_BAND = 0.1  # §9 C12: within ±0.1 of the published exponent
_TINY = float(np.finfo(np.float64).tiny)


# -- formulas (named so that a mutation can replace them) ------------------------------------


def _published_exponents() -> tuple[float, ...]:
    """§7.3 [RELATED:2505.10860 App. G.1]: loss ~ (log n / n)^e, e = 0.451, 0.517, 0.46, 0.552."""
    return (0.451, 0.517, 0.46, 0.552)


def _shifted_exponents() -> tuple[float, ...]:
    """Mutation: every expected exponent shifted by +0.5."""
    return tuple(e + 0.5 for e in _published_exponents())


# -- one (setting, replicate): every size --------------------------------------------------


def _reflected_pair(fit, truth) -> bool:
    """Two routed atoms of one cell with opposite gate slopes, both ``|beta_1| > 1``.

    In the sparse regime (constant true gates) such a pair with a shared expert reproduces a
    constant normalised-sigmoid gate exactly, because ``sigma(s) + sigma(-s) = 1``.
    """
    _, labels = template_b_cells(fit, truth)
    slopes = fit.beta[:, 1]
    for j in range(truth.k_routed):
        cell = slopes[labels == j]
        if cell.size > 1 and cell.max() > 1.0 and cell.min() < -1.0:
            return True
    return False


def run_replicate(theorem: int, kind: str, seed: np.random.SeedSequence, sizes: tuple[int, ...],
                  fit_options: dict[str, Any]) -> dict[str, list[float]]:
    """Fit one replicate of one setting at every size (the :meth:`RunContext.map` worker).

    Parameters
    ----------
    theorem : int
        Setting 1-4 of :func:`numerics.moe.template_b_truth`.
    kind : str
        Loss ``"d1"`` ... ``"d4"``.
    seed : numpy.random.SeedSequence
        The replicate's stream (data stream first, then one start stream per size).
    sizes : tuple of int
        Increasing sample sizes (nested: size ``n`` uses the first ``n`` points).
    fit_options : dict
        Keyword options of :func:`numerics.moe.fit_em` and ``k_shared``, ``k_routed``,
        ``start_sd``.

    Returns
    -------
    dict
        One list (over sizes) per key: ``total``, ``shared``, ``routed_gate``,
        ``routed_expert``, ``n_iter``, ``converged``, ``at_cap``, ``backtracks``,
        ``reflected``, ``seconds``.
    """
    truth = template_b_truth(theorem)
    data_seed, *start_seeds = seed.spawn(1 + len(sizes))
    x, y = sample_template_b(truth, max(sizes), rng=np.random.default_rng(data_seed))
    opts = dict(fit_options)
    k1, k2, sd = opts.pop("k_shared"), opts.pop("k_routed"), opts.pop("start_sd")
    out: dict[str, list[float]] = {key: [] for key in (
        "total", "shared", "routed_gate", "routed_expert", "n_iter", "converged", "at_cap",
        "backtracks", "reflected", "seconds")}
    for n, s in zip(sizes, start_seeds, strict=True):
        start = template_b_start(truth, k_shared=k1, k_routed=k2, sd=sd,
                                 rng=np.random.default_rng(s))
        tic = time.perf_counter()
        fit = fit_em(x[:n], y[:n], start, **opts)
        out["seconds"].append(time.perf_counter() - tic)
        parts = template_b_loss_parts(fit.params, truth, kind)
        for key in ("total", "shared", "routed_gate", "routed_expert"):
            out[key].append(parts[key])
        out["n_iter"].append(float(fit.n_iter))
        out["converged"].append(float(fit.converged))
        out["at_cap"].append(float(fit.status == 0))
        out["backtracks"].append(float(fit.backtracks))
        out["reflected"].append(float(_reflected_pair(fit.params, truth)))
    return out


# -- verdict helpers ---------------------------------------------------------------------------


def _log_grid(n_min: int, n_max: int, count: int) -> tuple[int, ...]:
    return tuple(int(round(v)) for v in np.logspace(math.log10(n_min), math.log10(n_max), count))


def _undecided(ev: BandEvidence) -> BandEvidence:
    """Lift the rate curve into the band's details and explain an undecided band."""
    ev.details = {**ev.inner.details, **ev.details}
    if ev.decide() == "inconclusive" and not ev.reason:
        lo, hi = ev.interval()
        ev.details["undecided"] = (
            f"exponent {-ev.estimate:.3f}, 95% CI [{-hi:.3f}, {-lo:.3f}], band "
            f"[{-ev.high:.3f}, {-ev.low:.3f}]: neither inside nor excluded")
    return ev


def _curve(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def _setting_parts(ctx: RunContext, sizes, data: dict[str, np.ndarray], expected: float,
                   label: str) -> tuple[BandEvidence, list[str], dict[str, Any]]:
    n = np.asarray(sizes, dtype=np.float64)
    regressor = n / np.log(n)  # slope on log(n / log n) = - exponent of (log n / n)^e
    total = np.maximum(data["total"], _TINY)
    ev = RateEvidence(regressor, total, -expected, ctx.rng(), centre="mean")
    band = _undecided(BandEvidence(ev, -expected - _BAND, -expected + _BAND))
    lo, hi = ev.interval(0.95)
    mean_ln = loglog_slope(n, total.mean(axis=0))
    median_ln = loglog_slope(n, np.median(total, axis=0))
    part_slopes = {key: -loglog_slope(regressor, np.maximum(data[key], _TINY).mean(axis=0))
                   for key in ("shared", "routed_gate", "routed_expert")}
    lines = [
        f"{label}: exponent {-ev.estimate:.3f}, 95% CI [{-hi:.3f}, {-lo:.3f}] (mean loss on "
        f"log(log n / n)); published {expected:.3f}",
        f"{label}: slope on log n {mean_ln:.3f} (means), {median_ln:.3f} (medians)",
        f"{label}: exponents of the parts (means on log(log n / n)): shared "
        f"{part_slopes['shared']:.3f}, routed gate {part_slopes['routed_gate']:.3f}, routed "
        f"expert {part_slopes['routed_expert']:.3f}",
    ]
    details = {
        "mean_loss_per_n": _curve(total.mean(axis=0)),
        "median_loss_per_n": _curve(np.median(total, axis=0)),
        "mean_parts_per_n": {key: _curve(data[key].mean(axis=0))
                             for key in ("shared", "routed_gate", "routed_expert")},
        "converged_share_per_n": _curve(data["converged"].mean(axis=0)),
        "max_iter_share_per_n": _curve(data["at_cap"].mean(axis=0)),
        "mean_iterations_per_n": _curve(data["n_iter"].mean(axis=0)),
        "backtracks": int(data["backtracks"].sum()),
        "mean_fit_seconds_per_n": _curve(data["seconds"].mean(axis=0)),
    }
    if np.any(data["reflected"] > 0):
        details["reflected_pair_share_per_n"] = _curve(data["reflected"].mean(axis=0))
    band.details.update(details)
    return band, lines, details


_OPTIONS = {
    "moe.c12_design": "X ~ U[-3, 3]; nested sizes (one sample of n_max per replicate, fits use "
                      "its first n points; the paper draws independent data sets per n)",
    "moe.c12_fitted_atoms": "k1 = 2 shared, k2 = 3 routed (truth k1* = 1, k2* = 2)",
    "moe.c12_em": "generalised EM (numerics.moe.fit_em): block-wise M-step (closed forms for "
                  "weights, variances, linear experts, ReLU amplitudes; Gauss-Newton on the ReLU "
                  "kink; damped Newton on the gates) [INFERRED details]",
    "moe.c12_tol": 1e-6,
    "moe.c12_max_iter": 1000,
    "moe.c12_gate_steps": 2,
    "moe.c12_variance": "tau, nu are variances [INFERRED]",
    "moe.c12_var_floor": 1e-3,
    "moe.c12_gate_bound": 30.0,
    "moe.c12_start_sd": 0.1,
    "moe.c12_init": "[INFERRED] true atoms copied; surplus atoms copy a true atom drawn from the "
                    "start stream and share its mass where that split is exact (shared weights, "
                    "softmax, constant sigmoid gate), or start dead (beta_0 = -(3|beta_1| + 10)) "
                    "for a non-constant normalised-sigmoid gate; then N(0, sd^2) on gates, linear "
                    "coefficients, kappa_0, kappa_2, eta_2, and factors exp(sd Z) on variances "
                    "and weights (sd = moe.c12_start_sd); ReLU inner weights kept (scale gauge)",
    "moe.c12_loss_normalisation": "[INFERRED] ReLU experts compared in identified coordinates "
                                  "at the truth's scale (positive homogeneity); softmax gates "
                                  "translated to the truth's total mass exp(beta_0) and "
                                  "exp(beta_0)-weighted mean slope; sigmoid gates rescaled to "
                                  "the truth's total sigma(beta_0) when all true gates are "
                                  "constant (setting 3); none in setting 4",
    "moe.c12_shared_loss": "[INFERRED] shared part of each loss: the routed form without a gate, "
                           "weights omega; exponents 1/2 (ReLU), r and r/2 (linear, r = r_2)",
    "moe.c12_d4": "[INFERRED] D4 against the dead branch: best matching of two fitted routed "
                  "atoms (exponent 1), the surplus atom measured by sup_x g_i(x) on [-3, 3]",
    "moe.c12_slope": "mean loss over replicates (as published) regressed on log(log n / n); "
                     "medians and the log n regressor are report lines",
    "moe.c12_band": "published exponent ± 0.1",
}


@claim(
    id="moe.c12-template-b-reproduction",
    title="Template B of 2505.10860: EM fits reproduce the published Voronoi-loss exponents",
    evidence=("RELATED:2505.10860", "INFERRED"),
    statement=(
        "2505.10860 App. G.1 fits a Gaussian MoE with shared and routed experts by an EM-based "
        "MLE (k1 = 2 shared, k2 = 3 routed atoms for a truth with 1 and 2) to X ~ U[-3, 3] "
        "data, n from 1e2 to 1e5, 40 runs per n, and reports the mean Voronoi loss decaying "
        "like (log n / n)^e with e = 0.451 (Thm 1: softmax, ReLU experts, D1), 0.517 (Thm 2: "
        "softmax, linear experts, D2), 0.46 (Thm 3: normalised sigmoid, sparse regime, D3) and "
        "0.552 (Thm 4: normalised sigmoid, dense regime, D4).  The toolkit repeats the "
        "protocol with its compiled EM and its reconstruction of the losses and the start "
        "(options).  Per setting: slope of log(mean loss) on log(log n / n), expanded "
        "percentile bootstrap over replicates; agrees if the fitted exponent lies within ±0.1 "
        "of the published one, disagrees if the whole 95% CI lies outside, inconclusive "
        "otherwise; the claim is the composite of the four settings."
    ),
    formula="mean D_k(G_hat_n, G*) ~ (log n / n)^e_k, e = (0.451, 0.517, 0.46, 0.552); band ±0.1",
    sizes={
        "quick": {"n_min": 100, "n_max": 10_000, "n_sizes": 5, "reps": 8},
        "full": {"n_min": 100, "n_max": 100_000, "n_sizes": 7, "reps": 40},
    },
    options=_OPTIONS,
    known_discrepancy=(
        "Not reproduced in full.  Full scale, seed 20231124 (40 reps, n = 1e2..1e5, 7 sizes), "
        "fitted exponents with 95% CIs: Thm 1 0.515 [0.462, 0.562] agrees; Thm 2 0.662 "
        "[0.630, 0.693] disagrees (decays faster than published; unchanged with tolerance "
        "1e-9 and 5000 iterations); Thm 3 0.980 [0.842, 1.345] disagrees; Thm 4 0.549 "
        "[0.502, 0.594] agrees.\n\n"
        "Thm 3: with constant true gates the normalised-sigmoid model with 3 routed atoms "
        "reproduces the true density along a whole branch (two atoms sharing an expert with "
        "gates s and -s, since sigma(s) + sigma(-s) = 1; unit-tested to 1e-12), so the gate "
        "terms of D3 are not driven to zero by the likelihood; the expert part converges "
        "(2.69 -> 0.004).  Thm 4 agrees through a still-shrinking gate error (the gate slopes "
        "are weakly determined on [-3, 3]) and its start rule was chosen after seeing a "
        "split start wander (options).  The published ReLU experts are identifiable only up to "
        "the rescaling (t * inner weight, amplitude / t); the losses compare them in "
        "rescaling-free coordinates."
    ),
    formulas={"published_exponents": _published_exponents},
    mutations={"exponents-plus-half": ("published_exponents", _shifted_exponents)},
    tier="xslow",
)
def c12_template_b(ctx: RunContext) -> CompositeEvidence:
    """Fitted exponents of the four Template-B settings against the published ones."""
    z = ctx.sizes
    sizes = _log_grid(z["n_min"], z["n_max"], z["n_sizes"])
    reps = int(z["reps"])
    expected = tuple(float(e) for e in ctx.formula("published_exponents")())
    o = ctx.options
    fit_options = {"tol": float(o["moe.c12_tol"]), "max_iter": int(o["moe.c12_max_iter"]),
                   "var_floor": float(o["moe.c12_var_floor"]),
                   "gate_bound": float(o["moe.c12_gate_bound"]),
                   "gate_steps": int(o["moe.c12_gate_steps"]), "expert_steps": 2,
                   "k_shared": 2, "k_routed": 3, "start_sd": float(o["moe.c12_start_sd"])}
    seeds = ctx.spawn(len(_SETTINGS) * reps)
    tasks = [(theorem, kind, seeds[s * reps + r]) for s, (theorem, kind, _) in enumerate(_SETTINGS)
             for r in range(reps)]
    rows = ctx.map(run_replicate, [t[0] for t in tasks], [t[1] for t in tasks],
                   [t[2] for t in tasks], [sizes] * len(tasks), [fit_options] * len(tasks))
    parts: dict[str, Evidence] = {}
    report: list[str] = []
    for s, (_, _, label) in enumerate(_SETTINGS):
        block = rows[s * reps:(s + 1) * reps]
        data = {key: np.array([row[key] for row in block]) for key in block[0]}
        band, lines, _ = _setting_parts(ctx, sizes, data, expected[s], label)
        parts[label] = band
        report.extend(lines)
    # headline: a disagreeing setting if there is one, else an undecided one
    verdicts = {k: v.decide() for k, v in parts.items()}
    primary = next((k for k, v in verdicts.items() if v == "disagrees"),
                   next((k for k, v in verdicts.items() if v == "inconclusive"), None))
    comp = CompositeEvidence(parts, primary=primary,
                             details={"sizes_n": list(sizes), "report": report,
                                      "regressor": "log(n / log n)"})
    if comp.decide() == "inconclusive" and not comp.reason:
        comp.reason = "; ".join(f"{k}: {v.details.get('undecided', 'inconclusive')}"
                                for k, v in parts.items() if v.decide() == "inconclusive")
    return comp
