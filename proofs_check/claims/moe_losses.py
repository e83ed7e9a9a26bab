"""Voronoi-loss sanity (sigmoid_moe.md §4, §9 C11): exact checks over random truths.

Every check is deterministic given the random truths drawn from ``ctx.rng()``: values that
must vanish are compared with tolerances tied to double precision, the ratio bounds of §9 are
checked as inequalities, and the exact split values D1 = e^{c*} delta^2 and D3 = 2 delta^2 to
1e-9 relative error.
"""

from __future__ import annotations

import math

import numpy as np

import theory.moe as tm
from numerics.moe import (
    MoEModel,
    fiber_sup_loss,
    function_l2_error,
    merge_match_loss,
    merged_softmax_loss,
    voronoi_cells,
    voronoi_loss_d1,
    voronoi_loss_d2,
    voronoi_loss_d3,
    voronoi_loss_d4,
)
from proofs_check._evidence import (
    CompositeEvidence,
    Evidence,
    ExactEvidence,
    LabelEvidence,
    float_tolerance,
)
from proofs_check._registry import claim
from proofs_check._runner import RunContext

_SEPARATION = 0.5  # >= 4 x the largest perturbation or split distance (0.1), §9 C11
_SPLIT_RTOL = 1e-9  # §9 C11: split values exact to 1e-9 relative
_ZERO_TOL = 1e-12  # §9 C11: F_sup, SM and the function error on their zero sets


def _sigma(c):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(c, dtype=np.float64)))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _random_truth(rng, model: MoEModel, k: int) -> np.ndarray:
    """Random truth with atoms separated by >= 0.5 in theta = (A, b, eta) (rejection)."""
    while True:
        gates = rng.uniform(-2.0, 2.0, size=(k, model.n_gate))
        eta = rng.uniform(-2.0, 2.0, size=(k, model.n_expert))
        if model.gate == "softmax":
            gates[-1] = 0.0
        theta = model.pack(gates, eta)
        pts = voronoi_points(model, theta)
        dist = np.linalg.norm(pts[:, None] - pts[None, :], axis=2) + np.eye(k) * 1e9
        # gates apart too, so that merge-and-match never merges two true atoms
        gdist = np.linalg.norm(gates[:, None] - gates[None, :], axis=2) + np.eye(k) * 1e9
        if dist.min() >= _SEPARATION and gdist.min() >= _SEPARATION and np.abs(eta).max() > 0.1:
            return theta


def voronoi_points(model: MoEModel, theta) -> np.ndarray:
    """The cell coordinates theta_i = (A_i (Frobenius-scaled), b_i, eta_i) of each atom."""
    gates, eta = model.unpack(theta)
    A, b, _ = model.split_gate(gates)
    return np.concatenate([A, b, eta], axis=1)


def _unit(rng, dim: int) -> np.ndarray:
    v = rng.standard_normal(dim)
    return v / np.linalg.norm(v)


def _theta_offset(model: MoEModel, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gate and expert offsets whose (A Frobenius, b, eta) vector equals ``direction``."""
    nq, nl = model.n_quad, model.n_lin
    dA = direction[:nq].copy()
    if nq:
        iu = np.triu_indices(model.d)
        dA[iu[0] != iu[1]] /= math.sqrt(2.0)  # stored entries of the symmetric A
    gate = np.concatenate([dA, direction[nq:nq + nl], [0.0]])
    return gate, direction[nq + nl:]


def _d3_exponent_one(model: MoEModel, theta, theta_star) -> float:
    """Mutation: D3 with the over-specified terms' squares dropped (exponent 1)."""
    labels = voronoi_cells(model, theta, theta_star)
    g, e = model.unpack(theta)
    gs, es = model.unpack(theta_star)
    A, b, c = model.split_gate(g)
    As, bs, cs = model.split_gate(gs)
    size = np.bincount(labels, minlength=gs.shape[0])
    w = _sigma(c)
    mass = np.bincount(labels, weights=w, minlength=gs.shape[0])
    total = float(np.sum(np.where(size > 1, np.abs(mass - _sigma(cs)), 0.0)))
    total += float(np.sum(np.where(size == 0, _sigma(cs), 0.0)))
    for i, j in enumerate(labels):
        dA, db = float(np.linalg.norm(A[i] - As[j])), float(np.linalg.norm(b[i] - bs[j]))
        de = float(np.linalg.norm(e[i] - es[j]))
        total += dA + db + abs(c[i] - cs[j]) + de if size[j] == 1 else dA + db + de
    return total


class _Worst:
    """Running worst case of one check: the largest gap from what the theory says."""

    def __init__(self, predicted: float = 0.0) -> None:
        self.predicted = predicted
        self.gap = 0.0
        self.estimate = predicted
        self.where = ""

    def update(self, estimate: float, predicted: float, where: str, scale: float = 1.0) -> None:
        if estimate == predicted:  # includes inf == inf (an empty cell in both orders)
            gap = 0.0
        elif math.isfinite(estimate) and math.isfinite(predicted):
            gap = abs(estimate - predicted) / (scale if math.isfinite(scale) else 1.0)
        else:
            gap = math.inf
        if gap > self.gap or not math.isfinite(gap):
            self.gap, self.estimate, self.predicted, self.where = gap, estimate, predicted, where

    def evidence(self, tolerance: float, method: str) -> ExactEvidence:
        return ExactEvidence(0.0, self.gap, tolerance, method=method,
                             details={"worst_case": self.where, "value": self.estimate,
                                      "theory": self.predicted, "gap": self.gap})


def _shuffle_atoms(model: MoEModel, theta, rng) -> np.ndarray:
    gates, eta = model.unpack(theta)
    k = gates.shape[0]
    perm = rng.permutation(k - 1 if model.gate == "softmax" else k)
    if model.gate == "softmax":
        perm = np.append(perm, k - 1)  # the pinned atom stays last
    return model.pack(gates[perm], eta[perm])


def _losses(ctx: RunContext, model: MoEModel):
    d3 = ctx.formula("d3")
    if model.gate == "softmax":
        out = {"D1": voronoi_loss_d1, "SM": merged_softmax_loss}
        if model.expert == "linear":
            out["D2"] = voronoi_loss_d2
        return out
    return {"D3": d3, "D4": voronoi_loss_d4,
            "merge-and-match": lambda m, t, s: merge_match_loss(m, t, s, grid=_GRID_FOR[m.d])}


_GRID_FOR = {1: None, 2: np.random.default_rng(0).uniform(-2, 2, (400, 2)),
             3: np.random.default_rng(0).uniform(-2, 2, (400, 3))}


def _basic_checks(ctx, rng, draws, checks):
    """D(G*, G*) = 0, D >= 0, order invariance, cells partition."""
    for t in range(draws):
        gate = ("sigmoid", "softmax")[t % 2]
        d = int(rng.integers(1, 4))
        score = ("full", "partial", "linear")[int(rng.integers(0, 3))]
        model = MoEModel(gate, score, "linear", d=d)
        k_star = int(rng.integers(2 if gate == "softmax" else 1, 4))
        truth = _random_truth(rng, model, k_star)
        k = k_star + int(rng.integers(0, 2))
        other = _random_truth(rng, model, k)
        where = f"{gate}/{score}, d={d}, k*={k_star}, k={k}, draw {t}"
        for name, loss in _losses(ctx, model).items():
            checks["D(G*, G*) = 0"].update(loss(model, truth, truth), 0.0, f"{name}: {where}")
            value = loss(model, other, truth)
            checks["D >= 0"].update(min(value, 0.0), 0.0, f"{name}: {where}")
            again = loss(model, _shuffle_atoms(model, other, rng), truth)
            checks["order invariance"].update(again, value, f"{name}: {where}",
                                              scale=max(1.0, abs(value)))
        labels = voronoi_cells(model, other, truth)
        ok = labels.shape == (k,) and labels.min() >= 0 and labels.max() < k_star
        checks["cells partition"].update(0.0 if ok else 1.0, 0.0, where)


def _ratio_checks(ctx, rng, draws, checks):
    """K = k*: D1 and D3 within the §9 constants of sum_i (||d theta_i|| + |d weight_i|)."""
    d3 = ctx.formula("d3")
    for t in range(draws):
        gate = ("sigmoid", "softmax")[t % 2]
        d = int(rng.integers(1, 4))
        model = MoEModel(gate, "full", "linear", d=d)
        k = int(rng.integers(2 if gate == "softmax" else 1, 4))
        truth = _random_truth(rng, model, k)
        eps = 10.0 ** rng.uniform(-3.0, -1.0)
        gates, eta = model.unpack(truth)
        pts = voronoi_points(model, truth)
        new_g, new_e = gates.copy(), eta.copy()
        free = k - 1 if gate == "softmax" else k
        for i in range(k):
            direction = _unit(rng, pts.shape[1]) * eps * rng.uniform(0.5, 1.0)
            if i >= free:  # the pinned softmax gate stays at 0: perturb its expert only
                direction[: model.n_quad + model.n_lin] = 0.0
            dg, de = _theta_offset(model, direction)
            new_g[i] += dg
            new_e[i] += de
            if i < free:
                new_g[i, -1] += eps * rng.uniform(-1.0, 1.0)
        fitted = model.pack(new_g, new_e)
        dtheta = np.linalg.norm(voronoi_points(model, fitted) - pts, axis=1)
        c, cs = new_g[:, -1], gates[:, -1]
        where = f"{gate}, d={d}, k={k}, eps={eps:.2g}, draw {t}"
        if gate == "softmax":
            total = float(np.sum(dtheta + np.abs(np.exp(c) - np.exp(cs))))
            lo = min(1.0, float(np.exp(c).min()))
            hi = max(1.0, math.sqrt(3.0) * float(np.exp(c).max()))
            ratio = voronoi_loss_d1(model, fitted, truth) / total
            name = "D1 ratio bounds"
        else:
            total = float(np.sum(dtheta + np.abs(_sigma(c) - _sigma(cs))))
            # m = min sigma' over the segments between c_i and c*_i (sigma' is unimodal)
            ends = np.concatenate([c, cs])
            m = float(np.min(_sigma(ends) * (1.0 - _sigma(ends))))
            lo, hi = 1.0, max(math.sqrt(3.0), 1.0 / m)
            ratio = d3(model, fitted, truth) / total
            name = "D3 ratio bounds"
        slack = float_tolerance(hi)
        violation = max(0.0, lo - ratio - slack, ratio - hi - slack)
        checks[name].update(violation, 0.0, f"{where}: ratio {ratio:.4g} vs [{lo:.4g}, {hi:.4g}]")


def _split_checks(ctx, rng, draws, checks):
    """Split a true atom into theta*_j ± delta v: D1 = e^{c*_j} delta^2, D3 = 2 delta^2."""
    d3 = ctx.formula("d3")
    for t in range(draws):
        gate = ("sigmoid", "softmax")[t % 2]
        d = int(rng.integers(1, 4))
        model = MoEModel(gate, "full", "linear", d=d)
        k = int(rng.integers(2 if gate == "softmax" else 1, 4))
        truth = _random_truth(rng, model, k)
        gates, eta = model.unpack(truth)
        free = k - 1 if gate == "softmax" else k
        j = int(rng.integers(0, free))
        # delta >= 1e-2 keeps the rounding of the mass term (~1e-15) below 1e-9 relative
        delta = 10.0 ** rng.uniform(-2.0, -1.0)
        dg, de = _theta_offset(model, _unit(rng, voronoi_points(model, truth).shape[1]) * delta)
        pair_g = np.array([gates[j] + dg, gates[j] - dg])
        pair_e = np.array([eta[j] + de, eta[j] - de])
        if gate == "softmax":
            pair_g[:, -1] = gates[j, -1] - math.log(2.0)  # e^{c1} + e^{c2} = e^{c*_j}
        else:
            pair_g[:, -1] = _logit(float(_sigma(gates[j, -1])) / 2.0)  # sigma masses add up
        rest = [i for i in range(k) if i != j]
        order = [*rng.permutation(rest[: free - 1]).tolist(), *rest[free - 1:]]
        new_g = np.concatenate([pair_g, gates[order]])
        new_e = np.concatenate([pair_e, eta[order]])
        fitted = model.pack(new_g, new_e)
        where = f"{gate}, d={d}, k*={k}, j={j}, delta={delta:.3g}, draw {t}"
        if gate == "softmax":
            value, exact = voronoi_loss_d1(model, fitted, truth), math.exp(gates[j, -1]) * delta**2
            checks["split value D1 = e^{c*} delta^2"].update(value, exact, where, scale=exact)
        else:
            value, exact = d3(model, fitted, truth), 2.0 * delta**2
            checks["split value D3 = 2 delta^2"].update(value, exact, where, scale=exact)


def _fiber_checks(rng, draws, checks):
    """F_sup = 0 on random points of the dead and split branches (sigmoid, d = 1)."""
    for t in range(draws):
        score = ("partial", "full")[t % 2]
        model = MoEModel("sigmoid", score, "linear")
        k = int(rng.integers(1, 4))
        truth = _random_truth(rng, model, k)
        gates, eta = model.unpack(truth)
        branch = ("dead", "split")[(t // 2) % 2]
        if branch == "dead":
            extra_g = rng.uniform(-2.0, 2.0, size=(1, model.n_gate))
            new_g, new_e = np.concatenate([gates, extra_g]), np.concatenate([eta, np.zeros((1, 2))])
        else:
            j = int(rng.integers(0, k))
            e1 = rng.uniform(-2.0, 2.0, size=2)
            new_g = np.concatenate([gates, gates[j:j + 1]])
            new_e = np.concatenate([eta, (eta[j] - e1)[None]])
            new_e[j] = e1
        perm = rng.permutation(k + 1)
        fitted = model.pack(new_g[perm], new_e[perm])
        value, found = fiber_sup_loss(model, fitted, truth)
        where = f"{branch} branch, {score}, k*={k}, draw {t} (attained on {found})"
        checks["F_sup = 0 on dead/split branches"].update(value, 0.0, where)
        checks["function error = 0 on the zero sets"].update(
            function_l2_error(model, fitted, truth), 0.0, where)


def _exact_split(rng, model: MoEModel, truth: np.ndarray, gauge: int, split: int):
    """A random exact split of §4 (SM): the fitted pinned atom stands for true atom ``gauge``."""
    gates, eta = model.unpack(truth)
    k = gates.shape[0]
    omega, c_star = gates[:, :-1], gates[:, -1]
    omega0 = -omega[gauge]
    sizes = np.ones(k, dtype=int)
    sizes[split] += 1
    atoms_g, atoms_e, pinned = [], [], None
    fractions = {j: rng.dirichlet(np.ones(sizes[j])) for j in range(k)}
    kappa = -c_star[gauge] - math.log(fractions[gauge][-1])
    for j in range(k):
        p = fractions[j]
        e = rng.uniform(-2.0, 2.0, size=(sizes[j], eta.shape[1]))
        e += eta[j] - p @ e  # e^c-weighted mean expert = eta*_j
        for i in range(sizes[j]):
            g = np.concatenate([omega[j] + omega0, [c_star[j] + kappa + math.log(p[i])]])
            if j == gauge and i == sizes[j] - 1:
                pinned = (np.zeros_like(g), e[i])  # gate exactly 0 (omega0 cancels; c = 0)
            else:
                atoms_g.append(g)
                atoms_e.append(e[i])
    assert pinned is not None  # the gauge atom is always among the split atoms
    perm = rng.permutation(len(atoms_g))
    new_g = np.array([*(atoms_g[i] for i in perm), pinned[0]])
    new_e = np.array([*(atoms_e[i] for i in perm), pinned[1]])
    return model.pack(new_g, new_e)


def _sm_checks(rng, draws, checks):
    """SM = 0 (and f_G = f_G*) at random exact splits; D1 > 0 when a split expert moved."""
    for t in range(draws):
        model = MoEModel("softmax", ("full", "partial")[t % 2], "linear")
        k = int(rng.integers(2, 4))
        truth = _random_truth(rng, model, k)
        gauge = int(rng.integers(0, k))
        split = int(rng.integers(0, k))  # the pinned atom (k - 1) or a free one
        fitted = _exact_split(rng, model, truth, gauge, split)
        where = (f"{model.score}, k*={k}, split atom {split}"
                 f"{' (pinned)' if split == k - 1 else ''}, gauge {gauge}, draw {t}")
        checks["SM = 0 on exact splits"].update(merged_softmax_loss(model, fitted, truth), 0.0,
                                                where)
        checks["function error = 0 on the zero sets"].update(
            function_l2_error(model, fitted, truth), 0.0, where)
        positive = voronoi_loss_d1(model, fitted, truth) > 0.0
        checks["D1 > 0 at exact splits"].update(0.0 if positive else 1.0, 0.0, where)


def _witness() -> LabelEvidence:
    w = tm.r1_witness(2)
    three = tm.solves_r_system(w["s1"], w["s2"], w["s3"], 3)
    observed = "solves l = 1..3" if three else "fails"
    return LabelEvidence("solves l = 1..3", observed, method="exact sympy residuals",
                         details={"witness": {k: str(v) for k, v in w.items()}})


@claim(
    id="moe.c11-voronoi-loss-sanity",
    title="Voronoi losses: zero at G*, non-negative, order-invariant, exact split values",
    evidence=("MATH",),
    statement=(
        "Over random truths (k* <= 3, d <= 3, atoms >= 0.5 apart): D(G*, G*) = 0 and D >= 0 "
        "for D1-D4, SM and merge-and-match; losses are invariant to the order of the fitted "
        "atoms; cells partition the fitted atoms; for k = k* and perturbations of size "
        "1e-3..1e-1, D1 and D3 lie within the §9 constants of sum_i (||d theta_i|| + "
        "|d weight_i|); splitting a true atom into theta*_j ± delta v gives D1 = e^{c*_j} "
        "delta^2 and D3 = 2 delta^2 exactly; the r1(2) > 3 witness solves l = 1..3; F_sup = 0 "
        "on the dead and split branches and SM = 0 on exact splits (free or pinned atom split, "
        "any gauge), where the function error vanishes and D1 > 0."
    ),
    formula="D1(split) = e^{c*} delta^2, D3(split) = 2 delta^2 (§4, §9 C11)",
    sizes={"quick": {"draws": 60}, "full": {"draws": 1000}},
    options={"separation": _SEPARATION, "split_rtol": _SPLIT_RTOL, "zero_tol": _ZERO_TOL},
    formulas={"d3": voronoi_loss_d3},
    mutations={"d3-split-exponent-one": ("d3", _d3_exponent_one)},
    tier="default",
)
def c11_voronoi_sanity(ctx: RunContext) -> CompositeEvidence:
    """Exact and inequality checks of the Voronoi losses over random truths."""
    rng = ctx.rng()
    draws = int(ctx.sizes["draws"])
    names = ("D(G*, G*) = 0", "D >= 0", "order invariance", "cells partition", "D1 ratio bounds",
             "D3 ratio bounds", "split value D1 = e^{c*} delta^2", "split value D3 = 2 delta^2",
             "F_sup = 0 on dead/split branches", "SM = 0 on exact splits",
             "function error = 0 on the zero sets", "D1 > 0 at exact splits")
    checks = {name: _Worst() for name in names}
    _basic_checks(ctx, rng, draws, checks)
    _ratio_checks(ctx, rng, draws, checks)
    _split_checks(ctx, rng, draws, checks)
    _fiber_checks(rng, draws, checks)
    _sm_checks(rng, draws, checks)
    tol = {"D(G*, G*) = 0": 0.0, "D >= 0": 0.0, "cells partition": 0.0,
           "D1 > 0 at exact splits": 0.0, "order invariance": float_tolerance(64.0),
           "D1 ratio bounds": 0.0, "D3 ratio bounds": 0.0,
           "split value D1 = e^{c*} delta^2": _SPLIT_RTOL,
           "split value D3 = 2 delta^2": _SPLIT_RTOL}
    parts: dict[str, Evidence] = {name: checks[name].evidence(tol.get(name, _ZERO_TOL),
                                         "relative error" if "split value" in name else "max gap")
             for name in names}
    parts["r1(2) > 3 witness"] = _witness()
    return CompositeEvidence(parts)
