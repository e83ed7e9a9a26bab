"""Rate claims of the sigmoid-vs-softmax MoE subject (sigmoid_moe.md §7.4, §9 C5–C10).

Every claim fits least-squares MoEs by the compiled Levenberg–Marquardt fitter of
:mod:`numerics.moe` on the paired, nested streams of §7.4: for the run's base seed ``s`` and a
replicate ``r``, X comes from ``default_rng([s, r, 0])`` and the noise from
``default_rng([s, r, 1])``, so that every fit of replicate ``r`` (sigmoid or softmax, any claim)
sees the same X and noise at every n; starts come from ``start_rng`` (``[s, r, n, 1]`` for
sigmoid fits, ``[s, r, n, 2]`` for softmax fits).  One replicate (all sizes, nested) is one
task of :meth:`RunContext.map`, so ``--jobs`` parallelises replicates and cannot change a
number.

Every log-log slope is a :class:`RateEvidence` with pre-asymptotic trimming (the smallest sizes
are dropped while a bootstrap curvature test rejects a straight line, never below 4 sizes), and
every rate part of a result carries a ``summary``: the slope, its 95% CI, the n range kept after
trimming and, where §7.4 defines one, the conditioning diagnostic s_min·√n_min/noise_sd at the
smallest kept n (below 5 the part is "inconclusive").

Verdicts follow the rules under the §9 table.  Slope bands use :class:`BandEvidence` (agrees
if the point estimate lies in the band, disagrees if the whole 95% bootstrap CI of the slope
lies outside it, inconclusive otherwise).  C8 and C9 add conditions that a plain band cannot
express (a CI-width limit, a disagreement band wider than the agreement band, agreement on the
CI instead of the point estimate); :class:`SlopeRule` below is a :class:`BandEvidence` with
those extra fields, so the runner reports it with its CI like any band.  An undecided part
carries its explanation as its ``reason``; :class:`CompositeEvidence` joins the parts' reasons
and still lets a failing part decide "disagrees".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import sympy as sp

import theory.moe as tm
from numerics.moe import (
    MoEModel,
    cap_losses,
    fiber_sup_loss,
    fit_lm,
    function_l2_error,
    generic_box,
    jacobian_singular_values,
    merge_match_loss,
    merged_softmax_loss,
    perturb_starts,
    sample_regression,
    start_rng,
    voronoi_cells,
    voronoi_loss_d1,
    voronoi_loss_d2,
    voronoi_loss_d3,
)
from proofs_check import _intervals as iv
from proofs_check._evidence import (
    BandEvidence,
    BootstrapEvidence,
    CompositeEvidence,
    Evidence,
    LabelEvidence,
)
from proofs_check._rates import RateEvidence, loglog_slope
from proofs_check._registry import claim
from proofs_check._runner import RunContext

_GRID = np.linspace(-2.0, 2.0, 2001)
_NOISE_FLOOR_RATIO = 5.0  # §7.4: s_min * sqrt(n_min) / noise_sd >= 5, else pre-asymptotic

# -- truths (§9) -------------------------------------------------------------------------------
_SIG_PARTIAL = ("sigmoid", "partial", "linear")
_SOFT_PARTIAL = ("softmax", "partial", "linear")
_SOFT_FULL = ("softmax", "full", "linear")
# C5/C6 sigmoid: atoms (a, c, u, v) = (1, -1, 2, 1) and (-2, 1.5, -1.5, -1)
_C5_SIGMOID = (1.0, -1.0, 2.0, 1.0, -2.0, 1.5, -1.5, -1.0)
# C5/C6 softmax: atom 1 (a, c, u, v) = (1, -1, 2, 1); pinned atom 2 expert (-1.5, -1)
_C5_SOFTMAX = (1.0, -1.0, 2.0, 1.0, -1.5, -1.0)
# C8: k* = 1, sigma(x^2 - 1)(2x + 1)
_C8_TRUTH = (1.0, -1.0, 2.0, 1.0)
# C9: atom 1 (a, b, c, u, v) = (1, 1, -1, 2, 1); pinned atom 2 expert (-1.5, -1)
_C9_TRUTH = (1.0, 1.0, -1.0, 2.0, 1.0, -1.5, -1.0)
# C10: the C9 truth with b* = 0, so that the monomial score a x^2 + c contains it
_C10_POLY_TRUTH = (1.0, 0.0, -1.0, 2.0, 1.0, -1.5, -1.0)
_C10_MONO_TRUTH = (1.0, -1.0, 2.0, 1.0, -1.5, -1.0)
# C7: full score, experts tanh(u x) without output weight; atom 1 (1, 1, -1; 2),
# atom 2 constant gate (0, 0, 0.5; -1.5)
_C7_MODEL = ("sigmoid", "full", "hidden_nw")
_C7_TRUTH = (1.0, 1.0, -1.0, 2.0, 0.0, 0.0, 0.5, -1.5)


def _doubling(first: float, count: int) -> tuple[int, ...]:
    return tuple(int(first * 2**i) for i in range(count))


# -- the verdict object for the extra conditions of C8/C9 --------------------------------------


@dataclass
class SlopeRule(BandEvidence):
    """A :class:`BandEvidence` with the extra conditions of §9 (C8, C9).

    ``agrees`` if the point estimate (or, with ``on_interval``, the whole CI) lies in
    ``[low, high]``, the CI is at most ``max_width`` wide and ``extra`` holds; ``disagrees``
    if the whole CI lies outside ``[outer_low, outer_high]`` (which contains the agreement
    band); ``inconclusive`` otherwise.
    """

    outer_low: float = -math.inf
    outer_high: float = math.inf
    max_width: float = math.inf
    on_interval: bool = False
    extra: bool = True
    extra_reason: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.outer_low = min(self.outer_low, self.low)
        self.outer_high = max(self.outer_high, self.high)
        self.method = (f"band [{self.low:.4g}, {self.high:.4g}], disagree outside "
                       f"[{self.outer_low:.4g}, {self.outer_high:.4g}] / {self.inner.method}")

    def decide(self, alpha: float | None = None) -> str:  # noqa: D102 - Evidence API
        if self.reason:
            return "inconclusive"
        lo, hi = self.interval()
        if hi < self.outer_low or lo > self.outer_high:
            return "disagrees"
        if self.on_interval:
            inside = self.low <= lo and hi <= self.high
        else:
            inside = self.low <= self.estimate <= self.high
        if inside and hi - lo <= self.max_width and self.extra:
            return "agrees"
        return "inconclusive"


# -- one replicate: every fit of a design at every size (the ctx.map worker) ------------------


def _starts(fit: dict, rng: np.random.Generator) -> np.ndarray:
    """Base starts of one fit; a 'random' start draws its boxed coordinates from rng."""
    rows = []
    for kind, base, lo, hi in fit["starts"]:
        row = np.array(base, dtype=np.float64)
        if kind == "random":
            lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
            draw = rng.uniform(lo, np.maximum(hi, lo))
            row = np.where(hi > lo, draw, row)
        rows.append(row)
    return np.array(rows)


def _c7_cell2(model: MoEModel, theta: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """C7: the expert parameters u_i of the fitted atoms in the Voronoi cell of true atom 2."""
    labels = voronoi_cells(model, theta, truth)
    _, eta = model.unpack(theta)
    return eta[labels == 1, 0]


def _metric(name: str, model: MoEModel, theta: np.ndarray, truth: np.ndarray, fit: dict) -> float:
    if name == "l2":
        return function_l2_error(model, theta, truth)
    if name == "d1":
        return voronoi_loss_d1(model, theta, truth)
    if name == "d2":
        return voronoi_loss_d2(model, theta, truth)
    if name == "d3":
        return voronoi_loss_d3(model, theta, truth)
    if name == "fsup":
        return fiber_sup_loss(model, theta, truth)[0]
    if name == "fsup_split":
        return float(fiber_sup_loss(model, theta, truth)[1] == "split")
    if name == "mm":
        return merge_match_loss(model, theta, truth, merge_tol=fit["merge_tol"])
    if name == "sm":
        return merged_softmax_loss(model, theta, truth)
    if name in ("u_over", "u_spread", "u_mean"):  # C7: the over-specified cell 2
        cell = _c7_cell2(model, theta, truth)
        if cell.size == 0:
            return math.inf
        u_star = model.unpack(truth)[1][1, 0]
        if name == "u_over":  # max_{i in cell 2} |u_i - u*_2|, the worst atom (§9 C7)
            return float(np.max(np.abs(cell - u_star)))
        if name == "u_spread":  # max - min of u over cell 2 (0 when the atoms merge)
            return float(np.ptp(cell))
        return float(abs(cell.mean() - u_star))  # |mean u - u*_2|: the merged atom
    if name == "at_face":  # some coordinate within 1% of its box width of a face
        lower, upper = np.asarray(fit["lower"]), np.asarray(fit["upper"])
        return float(np.any(np.minimum(theta - lower, upper - theta) < 0.01 * (upper - lower)))
    raise ValueError(f"unknown metric {name!r}")


def run_replicate(design: dict, seed: int, replicate: int) -> dict[str, list[float]]:
    """Fit every model of ``design`` at every size of one replicate (nested, paired streams).

    Parameters
    ----------
    design : dict
        ``sizes``, ``noise``, ``max_nfev`` and ``fits``: a list of dicts with ``name``,
        ``model`` (``MoEModel`` arguments), ``truth``, ``lower``, ``upper``, ``starts``
        (``(kind, base, low, high)`` rows, kind ``"fixed"`` or ``"random"``) and ``metrics``.
    seed, replicate : int
        Base seed and replicate index of the §7.4 streams.

    Returns
    -------
    dict
        ``"<fit>.<metric>"`` -> one value per size, plus ``"<fit>.capped"`` and
        ``"<fit>.nfev"``.
    """
    sizes = design["sizes"]
    out: dict[str, list[float]] = {}
    for fit in design["fits"]:
        model = MoEModel(*fit["model"])
        truth = np.array(fit["truth"], dtype=np.float64)
        lower = np.array(fit["lower"], dtype=np.float64)
        upper = np.array(fit["upper"], dtype=np.float64)
        X, Y = sample_regression(model, truth, max(sizes), seed=seed, replicate=replicate,
                                 noise_sd=design["noise"])
        for key in (*fit["metrics"], "capped", "nfev"):
            out[f"{fit['name']}.{key}"] = []
        for n in sizes:
            rng = start_rng(model, seed, replicate, n)
            starts = perturb_starts(_starts(fit, rng), lower, upper, rng=rng)
            res = fit_lm(model, X[:n], Y[:n], starts, lower, upper, max_nfev=design["max_nfev"])
            for name in fit["metrics"]:
                out[f"{fit['name']}.{name}"].append(_metric(name, model, res.theta, truth, fit))
            out[f"{fit['name']}.capped"].append(float(res.capped))
            out[f"{fit['name']}.nfev"].append(float(res.nfev))
    return out


def _run_design(ctx: RunContext, design: dict, reps: int) -> dict[str, np.ndarray]:
    """Run ``reps`` replicates through ``ctx.map``; stack each key to shape (reps, sizes)."""
    rows = ctx.map(run_replicate, [design] * reps, [ctx.seed] * reps, range(reps))
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


# -- shared pieces -----------------------------------------------------------------------------


def _box(model_args, k: int, overrides: dict[int, tuple[float, float]] | None = None):
    lower, upper = generic_box(MoEModel(*model_args), k)
    for j, (lo, hi) in (overrides or {}).items():
        lower[j], upper[j] = lo, hi
    return tuple(lower.tolist()), tuple(upper.tolist())


def _fixed(*starts) -> list:
    return [("fixed", tuple(float(v) for v in s), (), ()) for s in starts]


@dataclass(frozen=True)
class _Conditioning:
    """The conditioning check of §7.4 for one design, evaluated at the smallest kept n.

    ``s_min`` is the smallest singular value of J/sqrt(n) at the truth (k* atoms) on the
    2001-point grid of [-2, 2], the population version of the design's J/sqrt(n)
    (deterministic, so the check does not depend on one replicate's X).  With ``applies``
    false the diagnostic is reported but decides nothing (function-level slopes; over-specified
    softmax fits, whose exact splits are singular by construction, §9 C9).
    """

    s_min: float
    noise_sd: float
    applies: bool = True
    note: str = ""

    def at(self, n_min: int) -> tuple[dict[str, Any], str | None]:
        """The diagnostic at ``n_min`` and, if the check applies and fails, the reason."""
        ratio = self.s_min * math.sqrt(n_min) / self.noise_sd
        passes = ratio >= _NOISE_FLOOR_RATIO
        info: dict[str, Any] = {"s_min": self.s_min, "n_min": n_min, "noise_sd": self.noise_sd,
                                "ratio": ratio, "threshold": _NOISE_FLOOR_RATIO,
                                "passes": passes, "applies": self.applies}
        if self.note:
            info["note"] = self.note
        reason = None
        if self.applies and not passes:
            reason = (f"pre-asymptotic: conditioning check s_min*sqrt(n_min)/noise_sd = "
                      f"{ratio:.3g} < {_NOISE_FLOOR_RATIO:g} (s_min = {self.s_min:.3g}, "
                      f"n_min = {n_min}, §7.4)")
        return info, reason


def _conditioning(model_args, truth, noise: float, *, applies: bool = True,
                  note: str = "") -> _Conditioning:
    s_min = float(jacobian_singular_values(MoEModel(*model_args), np.asarray(truth, dtype=float),
                                           _GRID)[-1])
    return _Conditioning(s_min, noise, applies, note)


_NOT_APPLIED_FUNCTION = "function-level slope: the check is reported, not applied (§7.4)"
_NOT_APPLIED_SOFTMAX = ("over-specified softmax: exact splits are singular by construction, so the "
                        "check does not apply; the function-level sanity line replaces it (§9 C9)")


def _positive(values: np.ndarray, cap: float = 10.0) -> tuple[np.ndarray, int]:
    """Cap infinite losses (§7.4) and floor exact zeros at the smallest positive double."""
    capped, count = cap_losses(values, cap)
    return np.maximum(capped, np.finfo(np.float64).tiny), count


def _rate(ctx: RunContext, sizes, metrics, slope: float, conditioning: _Conditioning | None = None,
          *, reason: str | None = None) -> RateEvidence:
    """Trimmed log-log slope with its ``summary``: slope, CI, kept n range, conditioning.

    The conditioning ratio uses the smallest n kept after trimming; when the check applies and
    fails it becomes the evidence's ``reason`` (verdict "inconclusive", §7.4).
    """
    ev = RateEvidence(np.asarray(sizes, dtype=np.float64), metrics, slope, ctx.rng(), trim=True,
                      reason=reason)
    lo, hi = ev.interval(0.95)
    kept = [int(v) for v in ev.details["sizes_kept"]]
    summary: dict[str, Any] = {
        "slope": ev.estimate, "ci95": [lo, hi], "theory_slope": ev.predicted,
        "n_kept": [kept[0], kept[-1]],
        "sizes_dropped": [int(v) for v in ev.details["sizes_dropped"]],
    }
    if conditioning is not None:
        summary["conditioning"], why = conditioning.at(kept[0])
        if why and not ev.reason:
            ev.reason = why
    ev.details["summary"] = summary
    return ev


def _n_range(ev: RateEvidence) -> str:
    sizes = ev.sizes[ev.kept]
    return f"n {int(sizes[0])}..{int(sizes[-1])}"


def _slope_line(name: str, ev: RateEvidence) -> str:
    s = ev.details["summary"]
    lo, hi = s["ci95"]
    text = f"{name}: slope {ev.estimate:.3f}, 95% CI [{lo:.3f}, {hi:.3f}], {_n_range(ev)}"
    if s["sizes_dropped"]:
        text += f" (trimmed: {s['sizes_dropped']})"
    if "conditioning" in s:
        c = s["conditioning"]
        text += (f"; s_min*sqrt(n_min)/noise_sd = {c['ratio']:.3g}"
                 + ("" if c["applies"] else " (not applied)"))
    if ev.reason:
        text += f" [{ev.reason}]"
    return text


def _capped_share(arr: np.ndarray) -> list[float]:
    return [float(v) for v in arr.mean(axis=0)]


def _per_replicate_slope(ev: RateEvidence, rng: np.random.Generator) -> dict[str, Any]:
    """Mean over replicates of the per-replicate log-log slopes (kept sizes), bootstrap CI."""
    n_k = ev.sizes[ev.kept]
    per = np.array([loglog_slope(n_k, row) for row in ev.metrics[:, ev.kept]])
    boot = iv.bootstrap_distribution(per, np.mean, rng=rng)
    lo, hi = iv.percentile_interval(boot, 0.95, replicates=per.size)
    return {"mean": float(per.mean()), "ci95": [lo, hi]}


def _paired_difference(ev_a: RateEvidence, ev_b: RateEvidence,
                       rng: np.random.Generator) -> dict[str, Any]:
    """slope(b) - slope(a) with a paired 95% bootstrap CI (same replicate indices for both).

    Both slopes are refitted over the sizes kept by both curves (trimming drops the smallest
    sizes, so that is the later of the two first kept sizes), which is why the difference can
    differ slightly from the difference of the two reported slopes.
    """
    start = int(max(ev_a.kept[0], ev_b.kept[0]))
    n_c = ev_a.sizes[start:]
    both = np.stack([ev_a.metrics[:, start:], ev_b.metrics[:, start:]], axis=1)  # (R, 2, S)

    def diff(x: np.ndarray) -> float:
        return (loglog_slope(n_c, np.median(x[:, 1], axis=0))
                - loglog_slope(n_c, np.median(x[:, 0], axis=0)))

    boot = iv.bootstrap_distribution(both, diff, rng=rng)
    lo, hi = iv.percentile_interval(boot, 0.95, replicates=both.shape[0])
    return {"difference": diff(both), "ci": [lo, hi], "n_kept": [int(n_c[0]), int(n_c[-1])]}


_Band = TypeVar("_Band", bound=BandEvidence)


def _decided(ev: _Band) -> _Band:
    """Lift the inner details into the band, and give an undecided band its explanation.

    The inner evidence's details hold the ``rate_curve`` the report plots and the ``summary``
    of :func:`_rate`.  A band that trimming or the conditioning check left undecided inherits
    the inner ``reason``; any other undecided band gets its explanation as ``reason`` (the
    engine requires one for "inconclusive").  Inside a :class:`CompositeEvidence` a failing
    part still decides "disagrees" whatever the other parts' reasons.
    """
    ev.details = {**ev.inner.details, **ev.details}
    if not ev.reason and ev.inner.reason:
        ev.reason = ev.inner.reason
    if not ev.reason and ev.decide() == "inconclusive":
        lo, hi = ev.interval()
        text = (f"undecided: estimate {ev.estimate:.3f}, {100 * ev.level:.4g}% CI "
                f"[{lo:.3f}, {hi:.3f}], against {ev.method.split(' / ')[0]}")
        if isinstance(ev, SlopeRule) and ev.extra_reason:
            text += f"; {ev.extra_reason}"
        ev.reason = text
    return ev


def _with_curves(details: dict[str, Any], **curves: RateEvidence) -> dict[str, Any]:
    """Add report-only rate curves to a verdict part's details, where the report finds them.

    ``proofs_check._report`` plots every ``rate_curve`` found in a result's details and,
    recursively, under ``part_details``; curves that feed the verdict but are not parts of it
    (C8's report lines, the two gates of C10) are filed under that key so that the PNG shows
    them next to the verdict curve.
    """
    return {**details, "part_details": {name: ev.details for name, ev in curves.items()}}


# -- formulas (named so that mutations can replace them) ---------------------------------------


def _function_rate():
    """§3.2: ||f_hat - f*|| = O_P(sqrt(log n / n)) [RELATED:2405.13997]: slope -1/2."""
    return -0.5


def _d3_exact_rate():
    """Exactly specified Voronoi loss (singleton cells): n^{-1/2} (§4 implied-rates table)."""
    return float(tm.implied_rate("D3", "exact", parameter="loss").slope)


def _dense_rate():
    """Dense regime: D4-type loss n^{-1/2} for every atom (§4; F_sup's expected decay)."""
    return float(tm.implied_rate("D4", "exact", parameter="loss").slope)


def _c7_loss_rate():
    """Sparse regime, over-specified: the L3 loss itself decays like n^{-1/2} (§4)."""
    return float(tm.implied_rate("D3", "over", parameter="loss").slope)


def _c7_parameter_rate():
    """Sparse regime, over-specified cell: its parameters converge at n^{-1/4} (§4)."""
    return float(tm.implied_rate("D3", "over", parameter="all").slope)


def _wrong_slope():
    """Mutation (§9): the expected slope -1 instead of -1/2 (bands shifted by -1/2)."""
    return -1.0


def _no_decay():
    """Mutation (C7): slope 0, i.e. the over-specified fit does not converge at all.

    The spec lists no mutation for C7.  A shift by -1/2 (as for C5, C6, C8) cannot be rejected
    at quick scale, where the 95% CIs of the C7 slopes are about 0.6 wide; "no decay" can.
    """
    return 0.0


def _slow_threshold():
    """C9 (i): 'slow' means an SM slope above -0.35 (disagree if the CI lies below -0.40)."""
    return -0.35


def _slow_threshold_lenient():
    """Mutation: 'slow' above -0.6, which calls the parametric n^{-1/2} slow.

    The negative control (rule (i) on the sigmoid F_sup curve of C8) must catch it.
    """
    return -0.6


def _log_ratio(sm: np.ndarray, fsup: np.ndarray) -> np.ndarray:
    """C9 (ii): per (replicate, n) log(SM_softmax / F_sup,sigmoid)."""
    return np.log(sm / fsup)


def _log_ratio_swapped(sm: np.ndarray, fsup: np.ndarray) -> np.ndarray:
    """Mutation (§9): the two losses swapped."""
    return np.log(fsup / sm)


def _c10_min_difference():
    """C10: the monomial gate (no b) has the steeper SM slope, by >= 0.05 (A6, INFERRED)."""
    return 0.05


def _c10_min_difference_wrong():
    """Mutation: the monomial SM slope steeper by a whole unit (n^{-1} faster).

    A reversed direction (polynomial steeper) is no usable mutation: at quick scale the paired
    CI of the difference is about 1 wide and contains 0, so neither direction is decided.
    """
    return 1.0


# -- C5: function rate, sigmoid and softmax, paired ---------------------------------------------


def _c5_design(sizes, noise: float, max_nfev: int, metrics_sig=("l2",), metrics_soft=("l2",)):
    sig_lo, sig_hi = _box(_SIG_PARTIAL, 2)
    soft_lo, soft_hi = _box(_SOFT_PARTIAL, 2)
    return {
        "sizes": tuple(sizes),
        "noise": noise,
        "max_nfev": max_nfev,
        "fits": [
            {"name": "sigmoid", "model": _SIG_PARTIAL, "truth": _C5_SIGMOID, "lower": sig_lo,
             "upper": sig_hi, "starts": _fixed(_C5_SIGMOID, _C5_SIGMOID),
             "metrics": metrics_sig},
            {"name": "softmax", "model": _SOFT_PARTIAL, "truth": _C5_SOFTMAX, "lower": soft_lo,
             "upper": soft_hi, "starts": _fixed(_C5_SOFTMAX, _C5_SOFTMAX),
             "metrics": metrics_soft},
        ],
    }


def _two_gate_rate_claim(ctx: RunContext, formula: str, keys: dict[str, str], noise: float,
                         conditioning: bool, below: float, above: float) -> CompositeEvidence:
    z = ctx.sizes
    sizes = _doubling(z["n_min"], z["n_sizes"])
    metric_sig, metric_soft = keys["sigmoid"], keys["softmax"]
    design = _c5_design(sizes, noise, int(ctx.options["moe.max_nfev"]),
                        metrics_sig=(metric_sig,), metrics_soft=(metric_soft,))
    data = _run_design(ctx, design, z["reps"])
    slope = float(ctx.formula(formula)())
    low, high = slope - below, slope + above
    parts: dict[str, Evidence] = {}
    rates = {}
    details: dict[str, Any] = {"seed_streams": "X: [s, r, 0], noise: [s, r, 1] (§7.4)"}
    for gate, model_args, truth, metric in (("sigmoid", _SIG_PARTIAL, _C5_SIGMOID, metric_sig),
                                            ("softmax", _SOFT_PARTIAL, _C5_SOFTMAX, metric_soft)):
        values, n_capped_loss = _positive(data[f"{gate}.{metric}"])
        cond = _conditioning(model_args, truth, noise, applies=conditioning,
                             note="" if conditioning else _NOT_APPLIED_FUNCTION)
        ev = _rate(ctx, sizes, values, slope, cond)
        rates[gate] = ev
        parts[f"{gate} {metric} slope"] = _decided(BandEvidence(
            ev, low, high,
            details={"capped_share_per_n": _capped_share(data[f"{gate}.capped"]),
                     "infinite_losses_capped": n_capped_loss,
                     "per_replicate_slope": _per_replicate_slope(ev, ctx.rng())},
        ))
    diff = _paired_difference(rates["sigmoid"], rates["softmax"], ctx.rng())
    details["slope_difference"] = {"of": "softmax - sigmoid", **diff}
    details["comparison"] = [
        _slope_line(f"sigmoid {metric_sig}", rates["sigmoid"]),
        _slope_line(f"softmax {metric_soft}", rates["softmax"]),
        f"difference softmax - sigmoid: {diff['difference']:.3f}, paired 95% CI "
        f"[{diff['ci'][0]:.3f}, {diff['ci'][1]:.3f}] (n {diff['n_kept'][0]}..{diff['n_kept'][1]})",
    ]
    return CompositeEvidence(parts, details=details, primary=f"sigmoid {metric_sig} slope")


_C5_C6_OPTIONS = {
    "moe.score": "partial",
    "moe.max_nfev": 1500,
    "moe.starts": "2 starts at the truth, each perturbed by N(0, 0.05^2) (§7.4)",
    "moe.sigmoid_weight": "sigma_c",
    "moe.softmax_pinning": "last atom pinned at (a, c) = (0, 0)",
    "moe.box": "generic (§7.4)",
    "moe.base_seed": "the run seed (shared streams across claims, §7.4)",
}


@claim(
    id="moe.c5-function-rate",
    title="Function rate ||f_hat - f*||_L2 ~ n^{-1/2} (sigmoid and softmax, paired)",
    evidence=("RELATED:2405.13997", "RELATED:2505.10860", "QUOTED", "INFERRED"),
    statement=(
        "The least-squares MoE estimate converges in L2(mu) at the parametric rate "
        "sqrt(log n / n) for either gate (§3.2).  Sigmoid gate sigma(a x^2 + c), two atoms "
        "(1, -1; 2, 1) and (-2, 1.5; -1.5, -1); softmax gate with scores a x^2 + c, atom "
        "(1, -1; 2, 1) and a pinned atom with expert (-1.5, -1); linear experts; noise 0.05; "
        "both gates fitted on the same X and noise draws.  Verdict: slope of log(median L2 "
        "error) on log n in [-0.60, -0.40] for each gate (band over the bootstrap CI, §9).  "
        "Reported: both slopes with their CIs and the paired CI of their difference; the "
        "conditioning diagnostic (not applied at function level)."
    ),
    formula="slope(log ||f_hat - f*||, log n) = -1/2 (up to the log factor); band ±0.1",
    sizes={
        "quick": {"n_min": 1000, "n_sizes": 5, "reps": 24},
        "full": {"n_min": 1000, "n_sizes": 6, "reps": 20},
    },
    options={**_C5_C6_OPTIONS, "noise_sd": 0.05},
    formulas={"expected_slope": _function_rate},
    mutations={"slope-minus-one": ("expected_slope", _wrong_slope)},
    tier="default",
)
def c5_function_rate(ctx: RunContext) -> CompositeEvidence:
    """Function-level L2 slopes of both gates against -1/2 (bands of §9)."""
    return _two_gate_rate_claim(ctx, "expected_slope", {"sigmoid": "l2", "softmax": "l2"},
                                float(ctx.options["noise_sd"]), conditioning=False, below=0.1,
                                above=0.1)


@claim(
    id="moe.c6-exact-parameter-rate",
    title="Exact-specified parameter loss ~ n^{-1/2} (sigmoid L3 and softmax L1, k = k*)",
    evidence=("RELATED:2505.10860", "INFERRED"),
    statement=(
        "With k = k*, every Voronoi cell is a singleton and the losses L3 (sigmoid) and L1 "
        "(softmax) are sums of first powers of the parameter errors, which converge at "
        "n^{-1/2} up to logarithms (A1, T1, T3).  C5 truths, noise 0.01, starts at the truth "
        "perturbed by N(0, 0.05^2).  Verdict: slope of log(median loss) in [-0.65, -0.40] for "
        "each gate; inconclusive when s_min sqrt(n_min)/noise_sd < 5 (§7.4)."
    ),
    formula="slope(log D, log n) = -1/2; band [-0.65, -0.40]",
    sizes={
        "quick": {"n_min": 1000, "n_sizes": 6, "reps": 40},
        "full": {"n_min": 1000, "n_sizes": 8, "reps": 40},
    },
    options={**_C5_C6_OPTIONS, "noise_sd": 0.01, "moe.loss": "L3 (sigmoid), L1 (softmax)"},
    formulas={"expected_slope": _d3_exact_rate},
    mutations={"slope-minus-one": ("expected_slope", _wrong_slope)},
    tier="default",
)
def c6_exact_parameter_rate(ctx: RunContext) -> CompositeEvidence:
    """Exact-specified Voronoi-loss slopes of both gates against -1/2."""
    return _two_gate_rate_claim(ctx, "expected_slope", {"sigmoid": "d3", "softmax": "d1"},
                                float(ctx.options["noise_sd"]), conditioning=True, below=0.15,
                                above=0.10)


# -- C8: dense regime, over-specified sigmoid, F_sup ---------------------------------------------

_LOG2 = math.log(2.0)


def _c8_fit(extra_box: str) -> dict:
    """The C8 sigmoid fit: k = 2 for the k* = 1 truth; the surplus atom's box and starts.

    ``"confined"`` (the verdict line): surplus atom in a in [-3, -1.5], c in [-5, -2], starts
    "away" and "random".  ``"generic"`` (the report line): both atoms in the generic box,
    starts "split" (both atoms on the true gate, experts halved) and "away".
    """
    away = (*_C8_TRUTH, -1.0, -3.0, 0.5, 0.5)
    if extra_box == "confined":  # [INFERRED] restriction of Theta (moe.c8_extra_atom_box)
        boxes = {4: (-3.0, -1.5), 5: (-5.0, -2.0), 6: (-5.0, 5.0), 7: (-5.0, 5.0)}
        # 'random': surplus coordinates drawn uniformly (equal bounds keep the base value)
        random_lo = (0.0, 0.0, 0.0, 0.0, -2.5, -4.0, -0.5, -0.5)
        random_hi = (0.0, 0.0, 0.0, 0.0, -0.75, 0.0, 0.5, 0.5)
        starts = [("fixed", away, (), ()), ("random", away, random_lo, random_hi)]
    elif extra_box == "generic":
        a, c, u, v = _C8_TRUTH
        split = (a, c, u / 2, v / 2, a, c, u / 2, v / 2)
        boxes = {}
        starts = _fixed(split, away)
    else:
        raise ValueError(f"moe.c8_extra_atom_box must be 'confined' or 'generic', got {extra_box!r}")
    lower, upper = _box(_SIG_PARTIAL, 2, boxes)
    return {"name": "sigmoid", "model": _SIG_PARTIAL, "truth": _C8_TRUTH, "lower": lower,
            "upper": upper, "starts": starts, "merge_tol": 0.2,
            "metrics": ("fsup", "fsup_split", "mm", "l2")}


def _c9_fit(name: str, model_args, truth, starts) -> dict:
    k = 3
    lower, upper = _box(model_args, k)
    return {"name": name, "model": model_args, "truth": truth, "lower": lower, "upper": upper,
            "starts": _fixed(*starts), "metrics": ("sm", "d1", "d2", "l2")}


def _c9_starts(free_gate: tuple[float, ...], free_expert, pinned_expert):
    """'split1' and 'split2' starts of §9 C9 for a truth (free atom, pinned atom)."""
    *omega, c = free_gate
    split1 = (*omega, c - _LOG2, *free_expert, *omega, c - _LOG2, *free_expert, *pinned_expert)
    zero = tuple(0.0 for _ in omega)
    split2 = (*omega, c + _LOG2, *free_expert, *zero, 0.0, *pinned_expert, *pinned_expert)
    return split1, split2


_C8_C9_OPTIONS = {
    "moe.score": "partial (C8); full, i.e. polynomial x^2 + x (C9)",
    "moe.dense_loss": "fiber_sup",
    "moe.merge_tol": 0.2,
    "moe.c8_extra_atom_box": "confined",
    "moe.softmax_loss": "merged",
    "moe.sm_cap": 10.0,
    "moe.max_nfev": 1500,
    "moe.sigmoid_weight": "sigma_c",
    "moe.base_seed": "the run seed (C8 and C9 share replicate indices, X and noise, §7.4)",
    "noise_sd": 0.01,
}


def _c8_design(ctx: RunContext, sizes, extra_box: str) -> dict:
    return {"sizes": sizes, "noise": float(ctx.options["noise_sd"]),
            "max_nfev": int(ctx.options["moe.max_nfev"]), "fits": [_c8_fit(extra_box)]}


def _c8_part(ctx: RunContext, sizes, data, slope: float, reps_floor: int) -> BandEvidence:
    """The C8 verdict (F_sup slope, §9 C8) with its report lines."""
    noise = float(ctx.options["noise_sd"])
    cond = _conditioning(_SIG_PARTIAL, _C8_TRUTH, noise,
                         note="k*-atom Jacobian at the truth (the surplus atom enters F_sup only "
                              "through its contribution, §7.4)")
    fsup = _positive(data["sigmoid.fsup"])[0]
    reps = fsup.shape[0]
    floor = f"report only: {reps} replicates < {reps_floor} (§9 C8)" if reps < reps_floor else None
    ev = _rate(ctx, sizes, fsup, slope, cond, reason=floor)
    mm_ev = _rate(ctx, sizes, _positive(data["sigmoid.mm"])[0], slope, cond)
    l2_ev = _rate(ctx, sizes, _positive(data["sigmoid.l2"])[0], _function_rate(),
                  _conditioning(_SIG_PARTIAL, _C8_TRUTH, noise, applies=False,
                                note=_NOT_APPLIED_FUNCTION))
    details = {
        "report": [
            _slope_line("F_sup (sigmoid, verdict)", ev),
            _slope_line("merge-and-match (merge_tol 0.2)", mm_ev),
            _slope_line("function L2", l2_ev),
        ],
        "per_replicate_slope_fsup": _per_replicate_slope(ev, ctx.rng()),
        "split_branch_share_per_n": _capped_share(data["sigmoid.fsup_split"]),
        "capped_share_per_n": _capped_share(data["sigmoid.capped"]),
    }
    details = _with_curves(details, **{"merge-and-match (report)": mm_ev,
                                       "function L2 (report)": l2_ev})
    return _decided(SlopeRule(ev, slope - 0.15, slope + 0.10, outer_low=slope - 0.15,
                              outer_high=slope + 0.15, max_width=0.2, details=details))


@claim(
    id="moe.c8-dense-sigmoid-overspecified",
    title="Dense regime: over-specified sigmoid MoE with linear experts stays parametric (F_sup)",
    evidence=("RELATED:2505.10860", "INFERRED"),
    statement=(
        "Truth k* = 1, sigma(x^2 - 1)(2x + 1); fit k = 2 (partially quadratic score, linear "
        "experts); the surplus atom lives in the confined box a in [-3, -1.5], c in [-5, -2] "
        "(INFERRED restriction of Theta, moe.c8_extra_atom_box) and starts 'away' and "
        "'random'; noise 0.01.  The distance F_sup of the fit to the zero-error set (dead and "
        "split branches, §4) decays like n^{-1/2} (T3, A4).  Verdict (§9): agrees if the slope "
        "lies in [-0.65, -0.40] with a 95% CI at most 0.2 wide; disagrees if the whole CI lies "
        "outside [-0.65, -0.35]; inconclusive otherwise or when the k*-atom conditioning check "
        "fails.  Report lines: merge-and-match, the function L2 slope, the per-replicate slope, "
        "the branch attaining F_sup.  The generic-box line (surplus atom free to approach the "
        "true gate) is the separate xslow report moe.c8-generic-box-report."
    ),
    formula="slope(log median F_sup, log n) = -1/2; agree band [-0.65, -0.40]",
    sizes={
        "quick": {"n_min": 1000, "n_sizes": 7, "reps": 40},
        "full": {"n_min": 1000, "n_sizes": 8, "reps": 40},
    },
    options=_C8_C9_OPTIONS,
    formulas={"expected_slope": _dense_rate},
    mutations={"slope-minus-one": ("expected_slope", _wrong_slope)},
    tier="slow",
)
def c8_dense_sigmoid(ctx: RunContext) -> CompositeEvidence:
    """F_sup slope of the over-specified sigmoid fit in the confined box."""
    z = ctx.sizes
    sizes = _doubling(z["n_min"], z["n_sizes"])
    data = _run_design(ctx, _c8_design(ctx, sizes, ctx.options["moe.c8_extra_atom_box"]),
                       z["reps"])
    part = _c8_part(ctx, sizes, data, float(ctx.formula("expected_slope")()), 40)
    return CompositeEvidence({"sigmoid F_sup slope": part})


_C8_GENERIC_REPORT = ("report only: with the surplus gate free to approach the true gate the fits "
                      "come near the singular intersection of the dead and split branches, where "
                      "no rate is predicted (§4, §9 C8)")


@claim(
    id="moe.c8-generic-box-report",
    title="C8 report line: surplus atom in the generic box (F_sup, merge-and-match, split share)",
    evidence=("RELATED:2405.13997", "RELATED:2505.10860", "INFERRED"),
    statement=(
        "The C8 design with moe.c8_extra_atom_box = 'generic': both atoms of the k = 2 sigmoid "
        "fit in the generic box of §7.4, starts 'split' (both atoms on the true gate, experts "
        "halved) and 'away' (surplus atom at (a, c, u, v) = (-1, -3, 0.5, 0.5)); truth, noise, "
        "streams and n grid of C8.  Reported without a verdict (§9 C8): the slopes of F_sup, "
        "merge-and-match and the function error, and the share of fits on the split branch per "
        "n; F_sup does not vanish on the reflected branch that this box admits (§4).  The only "
        "verdict line is the function L2 slope, which §3.2 (T0) predicts in any box: it "
        "disagrees if its whole CI lies outside [-0.60, -0.40]; otherwise the claim reads "
        "'inconclusive' (report)."
    ),
    formula="report: slopes of F_sup, merge-and-match, L2 and the split share; "
            "slope(log L2, log n) = -1/2 (T0)",
    sizes={
        "quick": {"n_min": 1000, "n_sizes": 7, "reps": 40},
        "full": {"n_min": 1000, "n_sizes": 8, "reps": 40},
    },
    options={"moe.score": "partial", "moe.dense_loss": "fiber_sup", "moe.merge_tol": 0.2,
             "moe.c8_extra_atom_box": "generic",
             "moe.c8_generic_starts": "split (both atoms on the true gate, experts halved), away",
             "moe.max_nfev": 1500, "moe.sigmoid_weight": "sigma_c",
             "moe.base_seed": "the run seed (the replicate indices, X and noise of C8, §7.4)",
             "noise_sd": 0.01},
    formulas={"function_slope": _function_rate},
    mutations={"slope-minus-one": ("function_slope", _wrong_slope)},
    tier="xslow",
)
def c8_generic_box_report(ctx: RunContext) -> CompositeEvidence:
    """Report line of C8 in the generic box; the function L2 slope is the only verdict.

    Notes
    -----
    A claim of its own rather than a value of the option ``moe.c8_extra_atom_box``: options
    are fixed per claim (nothing switches them at run time) and the test tier belongs to a
    claim, while §9 wants C8 in the slow tier and this line in the xslow tier.  As a separate
    id it runs by name (``proofs-check run moe.c8-generic-box-report``), a bare ``run`` skips
    it, ``show`` explains it, and ``run 'moe.c8*'`` runs both lines.  It shares C8's truth,
    streams and n grid, so its replicates are C8's replicates in the other box.  The function
    L2 part gives it a verdict that can fail (T0 holds in any box), which is what its mutation
    test checks; F_sup and merge-and-match are report-only parts, so the claim reads
    "inconclusive" (report) unless the function rate disagrees.
    """
    z = ctx.sizes
    sizes = _doubling(z["n_min"], z["n_sizes"])
    noise = float(ctx.options["noise_sd"])
    data = _run_design(ctx, _c8_design(ctx, sizes, "generic"), z["reps"])
    slope = float(ctx.formula("function_slope")())
    cond = _conditioning(_SIG_PARTIAL, _C8_TRUTH, noise, applies=False,
                         note="report line: k*-atom Jacobian at the truth, reported only")
    l2_ev = _rate(ctx, sizes, _positive(data["sigmoid.l2"])[0], slope,
                  _conditioning(_SIG_PARTIAL, _C8_TRUTH, noise, applies=False,
                                note=_NOT_APPLIED_FUNCTION))
    fsup_ev = _rate(ctx, sizes, _positive(data["sigmoid.fsup"])[0], _dense_rate(), cond,
                    reason=_C8_GENERIC_REPORT)
    mm_ev = _rate(ctx, sizes, _positive(data["sigmoid.mm"])[0], _dense_rate(), cond,
                  reason="report only (as F_sup)")
    parts: dict[str, Evidence] = {
        "function L2 slope (T0)": _decided(BandEvidence(l2_ev, slope - 0.1, slope + 0.1)),
        "F_sup slope (report)": fsup_ev,
        "merge-and-match slope (report)": mm_ev,
    }
    details = {
        "report": [_slope_line("F_sup", fsup_ev), _slope_line("merge-and-match", mm_ev),
                   _slope_line("function L2", l2_ev)],
        "split_branch_share_per_n": _capped_share(data["sigmoid.fsup_split"]),
        "capped_share_per_n": _capped_share(data["sigmoid.capped"]),
        "reference_slopes": "F_sup and merge-and-match are drawn against -1/2, the confined-box "
                            "rate of C8; no rate is predicted here",
    }
    return CompositeEvidence(parts, details=details, primary="function L2 slope (T0)")


# -- C9: softmax with over-specified linear experts, paired with C8 ------------------------------


def _rule_i(ev: RateEvidence, threshold: float, sane: bool, insane: str,
            floor: str | None = None) -> SlopeRule:
    """Rule (i) of §9 C9 on one slope: 'slow' (agrees) if the point estimate > threshold.

    Disagrees if the whole CI lies below threshold - 0.05; a failed sanity line makes it
    'inconclusive' (never 'disagrees').
    """
    return _decided(SlopeRule(ev, threshold, math.inf,
                              outer_low=threshold - 0.05 if sane else -math.inf,
                              extra=sane, extra_reason=insane, reason=floor))


def _rule_ii(level_ev: BootstrapEvidence, l2_diff: dict[str, Any],
             floor: str | None = None) -> SlopeRule:
    """Rule (ii) of §9 C9, the paired level test on T = mean log(SM / F_sup).

    Agrees if the whole 95% CI of T lies above log 10 and the CI of the function-level slope
    difference contains 0; disagrees if the upper bound lies below log 10 (``outer_low``:
    without it a :class:`SlopeRule` with an infinite upper band could never disagree).
    """
    contains0 = l2_diff["ci"][0] <= 0.0 <= l2_diff["ci"][1]
    return _decided(SlopeRule(
        level_ev, math.log(10.0), math.inf, outer_low=math.log(10.0), on_interval=True,
        extra=contains0, reason=floor,
        extra_reason="" if contains0 else "function-level slope difference CI excludes 0"))


def _sanity(ev: RateEvidence, gate: str) -> tuple[bool, str]:
    """The function-level sanity line of §9 C9: L2 slope in [-0.60, -0.40]."""
    sane = -0.60 <= ev.estimate <= -0.40
    return sane, "" if sane else (f"sanity line fails: {gate} function L2 slope "
                                  f"{ev.estimate:.3f} outside [-0.60, -0.40]")


@claim(
    id="moe.c9-softmax-overspecified-slow",
    title="Over-specified softmax with linear experts is markedly slower than sigmoid (paired)",
    evidence=("RELATED:2505.10860", "RELATED:2402.02952", "INFERRED"),
    statement=(
        "Truth k* = 2 softmax with the polynomial gate x^2 + x - 1, expert 2x + 1, and a pinned "
        "atom with expert -1.5x - 1; fit k = 3 (generic box, starts 'split1' and 'split2'); "
        "noise 0.01; the replicates, X and noise of C8 (whose sigmoid fits are run alongside). "
        "(i) The merged softmax loss SM decays slower than n^{-0.35} (agrees if the slope "
        "> -0.35; disagrees if the whole CI lies below -0.40), provided the softmax function "
        "L2 slope lies in [-0.60, -0.40]. (ii) Paired level test: T = mean over (replicate, n) "
        "of log(SM_softmax / F_sup,sigmoid), bootstrap CI over replicates: agrees if the lower "
        "bound exceeds log 10 and the CI of the function-slope difference contains 0; "
        "disagrees if the upper bound lies below log 10. (iii) slope(SM) - slope(F_sup) with "
        "its paired CI is reported, next to both slopes and their CIs.  Negative control: rule "
        "(i) applied to the sigmoid F_sup curve (with the sigmoid sanity line) must not read "
        "'agrees (slow)'.  No verdict with fewer than 20 replicates."
    ),
    formula="(i) slope(SM) > -0.35; (ii) E log(SM / F_sup) > log 10",
    sizes={
        "quick": {"n_min": 1000, "n_sizes": 5, "reps": 20},
        "full": {"n_min": 1000, "n_sizes": 8, "reps": 20},
    },
    options=_C8_C9_OPTIONS,
    formulas={"slow_threshold": _slow_threshold, "level_log_ratio": _log_ratio},
    mutations={"swap-losses": ("level_log_ratio", _log_ratio_swapped),
               "lenient-slow-threshold": ("slow_threshold", _slow_threshold_lenient)},
    tier="xslow",
)
def c9_softmax_slow(ctx: RunContext) -> CompositeEvidence:
    """SM slope, the paired level test against C8's F_sup, and the slope difference."""
    z = ctx.sizes
    sizes = _doubling(z["n_min"], z["n_sizes"])
    reps = z["reps"]
    noise = float(ctx.options["noise_sd"])
    starts = _c9_starts((1.0, 1.0, -1.0), (2.0, 1.0), (-1.5, -1.0))
    design = {"sizes": sizes, "noise": noise, "max_nfev": int(ctx.options["moe.max_nfev"]),
              "fits": [_c8_fit(ctx.options["moe.c8_extra_atom_box"]),
                       _c9_fit("softmax", _SOFT_FULL, _C9_TRUTH, starts)]}
    data = _run_design(ctx, design, reps)
    sm, n_capped = _positive(data["softmax.sm"], float(ctx.options["moe.sm_cap"]))
    fsup = _positive(data["sigmoid.fsup"])[0]
    floor = None if reps >= 20 else f"report only: {reps} replicates < 20 (§9 C9)"
    threshold = float(ctx.formula("slow_threshold")())

    soft_cond = _conditioning(_SOFT_FULL, _C9_TRUTH, noise, applies=False,
                              note=_NOT_APPLIED_SOFTMAX)
    sig_cond = _conditioning(_SIG_PARTIAL, _C8_TRUTH, noise,
                             note="the C8 check (k*-atom Jacobian at the sigmoid truth)")
    # Reference slope 0 for SM: slower than any polynomial (A7); -1/2 for F_sup (C8).
    sm_ev = _rate(ctx, sizes, sm, 0.0, soft_cond)
    fsup_ev = _rate(ctx, sizes, fsup, _dense_rate(), sig_cond)
    l2_soft_ev = _rate(ctx, sizes, _positive(data["softmax.l2"])[0], _function_rate(), soft_cond)
    l2_sig_ev = _rate(ctx, sizes, _positive(data["sigmoid.l2"])[0], _function_rate(),
                      _conditioning(_SIG_PARTIAL, _C8_TRUTH, noise, applies=False,
                                    note=_NOT_APPLIED_FUNCTION))

    # (i) SM slope; a failed sanity line makes it 'inconclusive' without touching the others.
    sane, insane = _sanity(l2_soft_ev, "softmax")
    part_i = _rule_i(sm_ev, threshold, sane, insane, floor)

    # (ii) paired level test over every (replicate, n)
    ratio = ctx.formula("level_log_ratio")(sm, fsup)  # (R, S)
    level_ev = BootstrapEvidence(ratio.mean(axis=1), np.mean, math.log(10.0), ctx.rng())
    l2_diff = _paired_difference(l2_sig_ev, l2_soft_ev, ctx.rng())
    part_ii = _rule_ii(level_ev, l2_diff, floor)

    # (iii) slope difference, reported (a pass only with >= 20 reps to n >= 1.28e5)
    diff = _paired_difference(fsup_ev, sm_ev, ctx.rng())
    full_run = reps >= 20 and sizes[-1] >= 128_000
    counts = full_run and diff["ci"][0] > 0.0

    # Negative control: rule (i), with the sigmoid sanity line, on the F_sup curve of C8.
    sig_sane, sig_insane = _sanity(l2_sig_ev, "sigmoid")
    on_fsup = SlopeRule(fsup_ev, threshold, math.inf,
                        outer_low=threshold - 0.05 if sig_sane else -math.inf,
                        extra=sig_sane, reason=fsup_ev.reason).decide()
    control = LabelEvidence(
        "not slow", "slow" if on_fsup == "agrees" else "not slow", value=fsup_ev.estimate,
        method="rule (i) on the sigmoid F_sup curve",
        details={**fsup_ev.details, "rule (i) on F_sup": on_fsup,
                 "sigmoid sanity line": sig_insane or "holds"})
    parts: dict[str, Evidence] = {
        "(i) SM slope": part_i,
        "(ii) paired level log(SM/F_sup)": part_ii,
        "negative control: rule (i) on sigmoid F_sup": control,
    }
    lo_t, hi_t = level_ev.interval(0.95)
    details = {
        "comparison": [
            _slope_line("softmax SM", sm_ev),
            _slope_line("sigmoid F_sup", fsup_ev),
            f"difference SM - F_sup {diff['difference']:.3f}, paired 95% CI "
            f"[{diff['ci'][0]:.3f}, {diff['ci'][1]:.3f}] (n {diff['n_kept'][0]}.."
            f"{diff['n_kept'][1]}; {'counts as a pass' if counts else 'report only'})",
            _slope_line("softmax function L2", l2_soft_ev),
            _slope_line("sigmoid function L2", l2_sig_ev),
            f"function L2 difference softmax - sigmoid {l2_diff['difference']:.3f}, paired 95% "
            f"CI [{l2_diff['ci'][0]:.3f}, {l2_diff['ci'][1]:.3f}]",
            f"T = mean log(SM/F_sup) = {level_ev.estimate:.3f}, 95% CI [{lo_t:.3f}, {hi_t:.3f}] "
            f"(log 10 = {math.log(10):.3f})",
            f"negative control: rule (i) on F_sup reads '{on_fsup}'",
        ],
        "slopes": {"softmax SM": sm_ev.details["summary"],
                   "sigmoid F_sup": fsup_ev.details["summary"],
                   "difference SM - F_sup": diff,
                   "softmax function L2": l2_soft_ev.details["summary"],
                   "sigmoid function L2": l2_sig_ev.details["summary"],
                   "difference L2 softmax - sigmoid": l2_diff},
        "report": [_slope_line(f"softmax {name} (need not tend to 0 under least squares, §4)",
                               _rate(ctx, sizes, _positive(data[f"softmax.{key}"])[0], 0.0))
                   for key, name in (("d1", "D1"), ("d2", "D2"))],
        "sm_capped_values": n_capped,
        "capped_share_per_n": {"softmax": _capped_share(data["softmax.capped"]),
                               "sigmoid": _capped_share(data["sigmoid.capped"])},
        "slope_difference_counts_as_pass": bool(counts),
    }
    return CompositeEvidence(parts, details=details, primary="(ii) paired level log(SM/F_sup)")


# -- C10: monomial vs polynomial softmax gate ---------------------------------------------------


@claim(
    id="moe.c10-monomial-vs-polynomial",
    title="Monomial softmax gate (no b) has a steeper SM slope than the polynomial gate",
    evidence=("INFERRED",),
    statement=(
        "The C9 design fitted with the polynomial score a x^2 + b x + c and with the monomial "
        "score a x^2 + c, on a truth with b* = 0 (atom (a, c) = (1, -1), expert 2x + 1; pinned "
        "atom expert -1.5x - 1), same streams, loss SM.  Reading of A6 (direction INFERRED): "
        "slope_poly - slope_mono >= 0.05.  Agrees if the one-sided 90% lower bound of the "
        "paired bootstrap exceeds 0.05; disagrees if the one-sided 90% upper bound is below "
        "0.05 (one-sided test of the claimed difference at p < 0.1, §9).  "
        "Reported: both SM slopes with their CIs, the difference with its 95% CI, the function "
        "L2 slopes; the conditioning check does not apply (over-specified softmax, as C9)."
    ),
    formula="slope(SM, polynomial) - slope(SM, monomial) >= 0.05",
    sizes={
        "quick": {"n_min": 1000, "n_sizes": 5, "reps": 20},
        "full": {"n_min": 1000, "n_sizes": 8, "reps": 20},
    },
    options={**_C8_C9_OPTIONS, "moe.c10_truth": "b* = 0 so that both scores contain it"},
    formulas={"min_difference": _c10_min_difference},
    mutations={"difference-one": ("min_difference", _c10_min_difference_wrong)},
    tier="xslow",
)
def c10_monomial_vs_polynomial(ctx: RunContext) -> SlopeRule:
    """Paired SM slopes of the monomial and polynomial softmax fits."""
    z = ctx.sizes
    sizes = _doubling(z["n_min"], z["n_sizes"])
    noise = float(ctx.options["noise_sd"])
    design = {"sizes": sizes, "noise": noise, "max_nfev": int(ctx.options["moe.max_nfev"]),
              "fits": [
                  _c9_fit("poly", _SOFT_FULL, _C10_POLY_TRUTH,
                          _c9_starts((1.0, 0.0, -1.0), (2.0, 1.0), (-1.5, -1.0))),
                  _c9_fit("mono", _SOFT_PARTIAL, _C10_MONO_TRUTH,
                          _c9_starts((1.0, -1.0), (2.0, 1.0), (-1.5, -1.0))),
              ]}
    data = _run_design(ctx, design, z["reps"])
    cap = float(ctx.options["moe.sm_cap"])
    evs = {}
    for name, model_args, truth in (("poly", _SOFT_FULL, _C10_POLY_TRUTH),
                                    ("mono", _SOFT_PARTIAL, _C10_MONO_TRUTH)):
        cond = _conditioning(model_args, truth, noise, applies=False, note=_NOT_APPLIED_SOFTMAX)
        # Reference slope 0: slower than any polynomial (A7).
        evs[name] = _rate(ctx, sizes, _positive(data[f"{name}.sm"], cap)[0], 0.0, cond)
        evs[f"{name}.l2"] = _rate(ctx, sizes, _positive(data[f"{name}.l2"])[0],
                                  _function_rate(), cond)
    poly_ev, mono_ev = evs["poly"], evs["mono"]
    gap = float(ctx.formula("min_difference")())
    # Both slopes over the sizes kept by both curves (trimming drops the smallest sizes).
    start = int(max(poly_ev.kept[0], mono_ev.kept[0]))
    n_c = poly_ev.sizes[start:]
    both = np.stack([mono_ev.metrics[:, start:], poly_ev.metrics[:, start:]], axis=1)

    def statistic(x: np.ndarray) -> float:
        return (loglog_slope(n_c, np.median(x[:, 1], axis=0))
                - loglog_slope(n_c, np.median(x[:, 0], axis=0)))

    inner = BootstrapEvidence(both, statistic, gap, ctx.rng())
    lo80, hi80 = inner.interval(0.8)
    lo95, hi95 = inner.interval(0.95)
    undecided = "; ".join(f"{name} SM: {ev.reason}" for name, ev in
                          (("polynomial", poly_ev), ("monomial", mono_ev)) if ev.reason) or None
    details = {
        "comparison": [
            _slope_line("polynomial SM", poly_ev),
            _slope_line("monomial SM", mono_ev),
            f"difference slope_poly - slope_mono {inner.estimate:.3f} (claimed >= {gap:g}) over n "
            f"{int(n_c[0])}..{int(n_c[-1])}: one-sided 90% bounds [{lo80:.3f}, {hi80:.3f}], "
            f"95% CI [{lo95:.3f}, {hi95:.3f}]",
            _slope_line("polynomial function L2", evs["poly.l2"]),
            _slope_line("monomial function L2", evs["mono.l2"]),
        ],
        "slopes": {"polynomial SM": poly_ev.details["summary"],
                   "monomial SM": mono_ev.details["summary"],
                   "difference": {"estimate": inner.estimate, "claimed_at_least": gap,
                                  "one_sided_90": [lo80, hi80], "ci95": [lo95, hi95],
                                  "n_kept": [int(n_c[0]), int(n_c[-1])]},
                   "polynomial function L2": evs["poly.l2"].details["summary"],
                   "monomial function L2": evs["mono.l2"].details["summary"]},
        "capped_share_per_n": {"poly": _capped_share(data["poly.capped"]),
                               "mono": _capped_share(data["mono.capped"])},
    }
    details = _with_curves(details, **{"polynomial SM": poly_ev, "monomial SM": mono_ev})
    # one-sided 90% bounds = the two ends of the 80% two-sided interval
    return _decided(SlopeRule(inner, gap, math.inf, level=0.8, on_interval=True,
                              outer_low=gap, reason=undecided, details=details))


# -- C7: sparse regime, over-specified sigmoid, strongly identifiable experts -------------------


@claim(
    id="moe.c7-sparse-overspecified",
    title="Sparse regime: L3 ~ n^{-1/2}, over-specified experts ~ n^{-1/4} (sigmoid, tanh experts)",
    evidence=("INFERRED",),
    statement=(
        "Experts tanh(u x) without output weight (§6.5); truth atom 1 gate (1, 1, -1), u = 2; "
        "atom 2 constant gate (0, 0, 0.5), u = -1.5; fit k = 3 with the two cell-2 atoms "
        "started at c = logit(sigma(0.5)/2), u = -1.5 ± 0.1; box ±1.5 around the truth; "
        "noise 0.01.  Targets: slope of L3 in [-0.65, -0.35]; slope of max over cell 2 of "
        "|u_i - u*_2| in [-0.40, -0.15] (theory -1/4).  Inconclusive (report) while the "
        "k*-atom conditioning check fails.  Reported: the distance of the cell's mean u to u*_2 "
        "and the spread of u in the cell, the share of fits with a coordinate on a face of the "
        "box, the share of capped fits."
    ),
    formula="slope(L3) = -1/2; slope(max |u_i - u*_2|) = -1/4",
    sizes={
        "quick": {"n_min": 1000, "n_sizes": 5, "reps": 20},
        "full": {"n_min": 1000, "n_sizes": 8, "reps": 20},
    },
    options={"moe.score": "full", "moe.expert": "tanh(u x), no output weight",
             "moe.sigmoid_weight": "sigma_c", "moe.max_nfev": 1500, "noise_sd": 0.01,
             "moe.c7_box": "truth ± 1.5 per coordinate (both cell-2 atoms around atom 2)"},
    formulas={"loss_slope": _c7_loss_rate, "parameter_slope": _c7_parameter_rate},
    mutations={"loss-no-decay": ("loss_slope", _no_decay),
               "parameter-no-decay": ("parameter_slope", _no_decay)},
    tier="xslow",
)
def c7_sparse(ctx: RunContext) -> CompositeEvidence:
    """L3 and over-specified-parameter slopes in the sparse regime.

    Notes
    -----
    Why the slope of max_{i in cell 2} |u_i - u*_2| came out near -0.68 at quick scale instead
    of -1/4 (investigated on the claim's own streams, seed 20231124, 20 replicates, n = 10^3 to
    1.6*10^4; not tuned):

    - Not the loss definition.  The metric is taken over the Voronoi cell of true atom 2 (cells
      on theta = (a, b, u)), which held exactly the two surplus-cell atoms in every fit, and it
      is the worst atom, not the merged one.  The merged atom (|mean u - u*_2|) and the spread
      of u in the cell are reported next to it.
    - Not an exact degeneracy.  With experts tanh(u x) without output weight,
      sigma(c_1) tanh(u_1 x) + sigma(c_2) tanh(u_2 x) = sigma(c*) tanh(u* x) on an interval
      forces u_1 = u_2 = u*; only the mass split sigma(c_1) + sigma(c_2) = sigma(c*) is flat,
      and it does not move u.
    - The fits are far from the local regime the n^{-1/4} law describes.  The medians of the
      metric are 0.81, 0.50, 0.56, 0.27, 0.10 (box half-width 1.5; upper quartile 0.97 at
      n = 10^3, some fits at the box edge), while every fit sits at the noise floor (objective
      ~ noise_sd^2): the two cell-2 atoms trade u against their gate slopes a, b (median
      max |b| 0.32 -> 0.06) along a near-flat valley; tanh(-1.5 x) saturates for |x| > 1, so
      d tanh(u x)/du = x sech^2(u x) is small over most of [-2, 2].  As n grows the valley
      collapses towards the local regime: a drop by 0.13 over the grid, where n^{-1/4} predicts
      16^{-1/4} = 0.5.  This is a pre-asymptotic effect; the k*-atom conditioning check passes
      because it cannot see the over-specified cell.
    - The box adds an initialisation artefact.  The box is ±1.5 around the truth for both
      cell-2 atoms, so c in [-1, 2], while their start c = logit(sigma(0.5)/2) = -0.80 lies 0.2
      from the lower face: in 50-65% of the fits one cell-2 atom ends on the face c = -1, and
      10-40% of the fits run to the evaluation cap (LM crawling towards the face).  With the
      c-box of the cell-2 atoms re-centred on -0.80 (probe, 16 replicates) the face hits
      vanish, the L3 slope moves from -0.78 to -0.37, but the u slope stays steep (-0.55;
      medians 0.68 -> 0.15).

    So the quick-scale "inconclusive" is the honest reading: the n^{-1/4} regime needs the
    metric well below 1, i.e. the full grid (to 1.28*10^5) or a lower noise.  The share of fits
    with a coordinate on a face of the box and the share of capped fits are reported per n.
    """
    z = ctx.sizes
    sizes = _doubling(z["n_min"], z["n_sizes"])
    noise = float(ctx.options["noise_sd"])
    t = _C7_TRUTH
    c_half = float(tm.logit(tm.sigma(sp.Rational(1, 2)) / 2))  # logit(sigma(0.5)/2)
    truth3 = np.array([*t, *t[4:]])
    lower, upper = tuple((truth3 - 1.5).tolist()), tuple((truth3 + 1.5).tolist())
    start = (*t[:4], 0.0, 0.0, c_half, -1.4, 0.0, 0.0, c_half, -1.6)
    fit = {"name": "sigmoid", "model": _C7_MODEL, "truth": t, "lower": lower, "upper": upper,
           "starts": _fixed(start, start),
           "metrics": ("d3", "u_over", "u_mean", "u_spread", "at_face", "l2")}
    design = {"sizes": sizes, "noise": noise, "max_nfev": int(ctx.options["moe.max_nfev"]),
              "fits": [fit]}
    data = _run_design(ctx, design, z["reps"])
    cond = _conditioning(_C7_MODEL, t, noise, note="k*-atom Jacobian at the truth (§7.4)")
    parts: dict[str, Evidence] = {}
    for key, formula, below, above in (("d3", "loss_slope", 0.15, 0.15),
                                       ("u_over", "parameter_slope", 0.15, 0.10)):
        slope = float(ctx.formula(formula)())
        ev = _rate(ctx, sizes, _positive(data[f"sigmoid.{key}"])[0], slope, cond)
        parts[f"{key} slope"] = _decided(BandEvidence(ev, slope - below, slope + above))

    quarter = _c7_parameter_rate()
    report = {
        "|mean u - u*_2| over cell 2 (merged atom)": _rate(
            ctx, sizes, _positive(data["sigmoid.u_mean"])[0], quarter, cond),
        "spread max - min of u over cell 2": _rate(
            ctx, sizes, _positive(data["sigmoid.u_spread"])[0], quarter, cond),
        "function L2": _rate(ctx, sizes, _positive(data["sigmoid.l2"])[0], _function_rate(),
                             _conditioning(_C7_MODEL, t, noise, applies=False,
                                           note=_NOT_APPLIED_FUNCTION)),
    }
    details = {"report": [_slope_line(name, ev) for name, ev in report.items()],
               "published_comparison": "2505.10860 Thm 3 empirical exponent 0.46",
               "box_face_share_per_n": _capped_share(data["sigmoid.at_face"]),
               "capped_share_per_n": _capped_share(data["sigmoid.capped"])}
    return CompositeEvidence(parts, details=details, primary="d3 slope")
