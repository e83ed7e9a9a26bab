"""Voronoi losses D1-D4 of the Template-B Gaussian MoE (shared and routed experts).

Plain numpy: one evaluation per fit.  Spec ``sigmoid_moe.md`` §3.3 (cells), §4 (losses L1-L4)
and §7.3 (the four settings of 2505.10860 App. G.1).  Shared and routed atoms get their own
Voronoi cells; each loss is the sum of a shared part and a routed part.

Evidence labels of the pieces:

* routed parts: D1 from 2505.10860 eq. (4), D2 from eq. (6), D3 from eq. (10), D4 from
  eq. (11), in the forms of spec §4 with the gate slope ``beta_1`` in place of ``(A, b)``
  [RELATED:2505.10860]; the variance terms of D1 and D3 (exponent 1 in exactly specified
  cells, 2 in over-specified ones, as for the expert parameters) [INFERRED]; D2's variance
  terms are in the published form [RELATED];
* the dead-branch form of D4 (below) [INFERRED];
* shared parts [INFERRED]: the shared experts form a mixture with constant weights
  ``omega``, so their part is the routed loss without a gate: strongly identifiable ReLU
  experts (settings 1, 3, 4) get exponent 1 in exactly specified cells and 2 in
  over-specified ones; linear experts (setting 2) get the Gaussian location-scale exponents
  ``r`` for ``kappa_0, kappa_1`` and ``r / 2`` for ``tau``, ``r = r_2(|cell|)``
  (Ho and Nguyen 2016, through :func:`r2_exponent`);
* the normalisations ("gauges") below [INFERRED].

Normalisations that remove exact invariances of the density before distances are taken:

* ReLU experts are compared in identified coordinates at the truth's scale (the truth's
  first atom gives ``c = |kappa*_1|`` or ``|eta*_1|``): ``(kappa_0, kappa_1, kappa_2) ->
  (c kappa_0 / |kappa_1|, c sign(kappa_1), kappa_2 |kappa_1| / c)`` and ``(eta_1, eta_2) ->
  (c sign(eta_1), eta_2 |eta_1| / c)``; this leaves a truth whose atoms share that scale
  unchanged (all four Template-B truths);
* softmax gates (translation invariance): shift all fitted ``beta_0`` so that
  ``sum_i exp(beta_0i) = sum_j exp(beta*_0j)``, then all fitted ``beta_1`` so that the
  ``exp(beta_0)``-weighted mean slope equals the truth's;
* normalised sigmoid with constant true gates (all ``beta*_1 = 0``, setting 3): for constant
  gates only the ratios ``sigma(beta_0i) / sum_j sigma(beta_0j)`` are identified, so the fitted
  ``sigma(beta_0i)`` are rescaled to the truth's total ``sum_j sigma(beta*_0j)`` (capped
  below 1) before the intercepts are compared;
* otherwise no normalisation (setting 4's gates are not invariant).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from numerics.core._validate import check_choice
from numerics.moe._em import TemplateB
from numerics.moe._losses import _cells, r2_exponent

__all__ = ["template_b_cells", "template_b_loss", "template_b_loss_parts"]

LOSS_KINDS = ("d1", "d2", "d3", "d4")
GAUGES = ("auto", "none")
_GRID = np.linspace(-3.0, 3.0, 2001)


def _relu_scale(values: np.ndarray, col: int, ref: float) -> np.ndarray:
    """Identified coordinates of ReLU experts at the reference scale ``ref`` (module notes)."""
    out = values.copy()
    w = np.abs(values[:, col])
    out[:, col] = ref * np.sign(values[:, col])
    out[:, col + 1] = values[:, col + 1] * w / ref
    if col == 1:  # shared ReLU with inner bias: kappa_0 scales with kappa_1
        out[:, 0] = values[:, 0] * ref / w
    return out


def _experts(model: TemplateB, truth: TemplateB) -> tuple[np.ndarray, np.ndarray]:
    """Shared and routed expert coordinates of ``model`` in the truth's ReLU scale."""
    kappa, eta = model.kappa, model.eta
    if model.shared_expert == "relu":
        kappa = _relu_scale(kappa, 1, abs(truth.kappa[0, 1]))
    if model.routed_expert == "relu":
        eta = _relu_scale(eta, 0, abs(truth.eta[0, 0]))
    return kappa, eta


def _sigma(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def _gauge(fit: TemplateB, truth: TemplateB, gauge: str) -> np.ndarray:
    """Fitted gates after the normalisation of the module notes."""
    beta = fit.beta.copy()
    if gauge == "none":
        return beta
    if fit.gate == "softmax":
        beta[:, 0] += np.log(np.exp(truth.beta[:, 0]).sum()) - np.log(np.exp(beta[:, 0]).sum())
        w, w_t = np.exp(beta[:, 0]), np.exp(truth.beta[:, 0])
        beta[:, 1] += w_t @ truth.beta[:, 1] / w_t.sum() - w @ beta[:, 1] / w.sum()
    elif np.all(truth.beta[:, 1] == 0.0):
        sig = _sigma(beta[:, 0])
        factor = _sigma(truth.beta[:, 0]).sum() / sig.sum()
        if factor != 1.0:
            scaled = np.minimum(sig * factor, 1.0 - 1e-12)
            beta[:, 0] = np.log(scaled) - np.log1p(-scaled)
    return beta


def _pair_iv(fit, truth, kind, gauge):
    for name, value in (("fit", fit), ("truth", truth)):
        if not isinstance(value, TemplateB):
            raise ValueError(f"{name} must be a TemplateB, got {type(value).__name__}")
    for attr in ("gate", "shared_expert", "routed_expert"):
        if getattr(fit, attr) != getattr(truth, attr):
            raise ValueError(f"fit.{attr} = {getattr(fit, attr)!r} differs from truth.{attr} = "
                             f"{getattr(truth, attr)!r}")
    if fit.k_shared < truth.k_shared or fit.k_routed < truth.k_routed:
        raise ValueError(
            f"the fit has (k1, k2) = ({fit.k_shared}, {fit.k_routed}) atoms, fewer than the truth's "
            f"({truth.k_shared}, {truth.k_routed}): every true atom needs a cell")
    if kind is not None:
        check_choice("kind", kind, LOSS_KINDS)
        need = {"d1": ("softmax", None), "d2": ("softmax", "linear"), "d3": ("sigmoid", None),
                "d4": ("sigmoid", None)}[kind]
        if fit.gate != need[0]:
            raise ValueError(f"kind {kind!r} needs the {need[0]} gate, got gate = {fit.gate!r}")
        if need[1] is not None and fit.routed_expert != need[1]:
            raise ValueError(f"kind {kind!r} needs {need[1]} routed experts, got "
                             f"routed_expert = {fit.routed_expert!r}")
    check_choice("gauge", gauge, GAUGES)


def _coordinates(fit: TemplateB, truth: TemplateB, gauge: str):
    kappa, eta = _experts(fit, truth)
    kappa_t, eta_t = _experts(truth, truth)
    beta = _gauge(fit, truth, gauge)
    shared = np.column_stack([kappa, fit.tau])
    shared_t = np.column_stack([kappa_t, truth.tau])
    routed = np.column_stack([beta[:, 1], eta, fit.nu])
    routed_t = np.column_stack([truth.beta[:, 1], eta_t, truth.nu])
    return shared, shared_t, routed, routed_t, beta


def template_b_cells(fit: TemplateB, truth: TemplateB, *, gauge: str = "auto"):
    """Voronoi cells of the shared and of the routed atoms.

    Parameters
    ----------
    fit, truth : TemplateB
        Same gate and expert forms, ``k1 >= k1*`` and ``k2 >= k2*``.
    gauge : {"auto", "none"}, default "auto"
        Apply the normalisations of the module notes (``"auto"``) or compare raw gates.

    Returns
    -------
    shared, routed : ndarray of int
        ``shared[i] = j`` when fitted shared atom ``i`` lies in the cell of true shared atom
        ``j`` (coordinates ``(kappa, tau)``), likewise for routed atoms (coordinates
        ``(beta_1, eta, nu)``); ties go to the smallest ``j``.

    Notes
    -----
    Spec §3.3 [RELATED:2505.10860 App. A]: cells on the non-weight part of each atom; the
    ReLU and gate normalisations are [INFERRED] (module notes).
    """
    _pair_iv(fit, truth, None, gauge)
    shared, shared_t, routed, routed_t, _ = _coordinates(fit, truth, gauge)
    return _cells(shared, shared_t), _cells(routed, routed_t)


def _shared_part(fit, truth, shared, shared_t, labels) -> float:
    k_star = truth.k_shared
    size = np.bincount(labels, minlength=k_star)
    w = fit.omega
    total = float(np.abs(np.bincount(labels, weights=w, minlength=k_star) - truth.omega).sum())
    diff = np.abs(shared - shared_t[labels])  # per coordinate; last column is tau
    for i in range(fit.k_shared):
        m = int(size[labels[i]])
        dk, dt = diff[i, :-1], diff[i, -1]
        if m == 1:
            total += w[i] * (math.sqrt(float(dk @ dk)) + dt)
        elif fit.shared_expert == "relu":
            total += w[i] * (float(dk @ dk) + dt**2)
        else:
            r = r2_exponent(m)
            total += w[i] * (float(np.sum(dk**r)) + dt ** (r / 2))
    return total


def _routed_softmax(fit, truth, routed, routed_t, beta, labels, kind) -> tuple[float, float]:
    """(gate terms, expert terms) of the routed part of D1 or D2."""
    k_star = truth.k_routed
    size = np.bincount(labels, minlength=k_star)
    w = np.exp(beta[:, 0])
    gate = float(np.abs(np.bincount(labels, weights=w, minlength=k_star)
                        - np.exp(truth.beta[:, 0])).sum())
    expert = 0.0
    diff = np.abs(routed - routed_t[labels])  # columns: beta_1, eta..., nu
    for i in range(fit.k_routed):
        m = int(size[labels[i]])
        d_b1, d_eta, d_nu = diff[i, 0], diff[i, 1:-1], diff[i, -1]
        if m == 1:
            gate += w[i] * d_b1
            if kind == "d1":
                expert += w[i] * (math.sqrt(float(d_eta @ d_eta)) + d_nu)
            else:
                expert += w[i] * (d_eta.sum() + d_nu)
        elif kind == "d1":
            gate += w[i] * d_b1**2
            expert += w[i] * (float(d_eta @ d_eta) + d_nu**2)
        else:  # d2: eta = (eta_0, eta_1): |d eta_0|^r, |d eta_1|^(r/2)
            r = r2_exponent(m)
            gate += w[i] * d_b1**r
            expert += w[i] * (d_eta[0] ** r + d_eta[1] ** (r / 2) + d_nu ** (r / 2))
    return gate, expert


def _routed_d3(fit, truth, routed, routed_t, beta, labels) -> tuple[float, float]:
    """(gate terms, expert terms) of the routed part of D3."""
    k_star = truth.k_routed
    size = np.bincount(labels, minlength=k_star)
    sig, sig_t = _sigma(beta[:, 0]), _sigma(truth.beta[:, 0])
    cell_mass = np.bincount(labels, weights=sig, minlength=k_star)
    gate = float(np.sum(np.where(size > 1, np.abs(cell_mass - sig_t), 0.0)))
    gate += float(np.sum(np.where(size == 0, sig_t, 0.0)))
    expert = 0.0
    diff = np.abs(routed - routed_t[labels])
    d_b0 = np.abs(beta[:, 0] - truth.beta[labels, 0])
    for i in range(fit.k_routed):
        d_b1, d_eta, d_nu = diff[i, 0], diff[i, 1:-1], diff[i, -1]
        if size[labels[i]] == 1:
            gate += d_b1 + d_b0[i]
            expert += math.sqrt(float(d_eta @ d_eta)) + d_nu
        else:
            gate += d_b1**2
            expert += float(d_eta @ d_eta) + d_nu**2
    return gate, expert


def _routed_d4(fit, truth, routed, routed_t, beta) -> tuple[float, float, int]:
    """Dead-branch D4: best matching of k2* fitted atoms, the rest measured by sup_x g_i(x).

    Returns (gate terms, expert terms, number of dead atoms) of the minimiser.
    """
    full = np.column_stack([beta[:, 0], routed])
    full_t = np.column_stack([truth.beta[:, 0], routed_t])
    gate_cost = np.zeros((truth.k_routed, fit.k_routed))
    expert_cost = np.zeros((truth.k_routed, fit.k_routed))
    for j in range(truth.k_routed):
        d = np.abs(full - full_t[j])
        # |d beta_0| + |d beta_1|  and  ||d eta|| + |d nu|
        gate_cost[j] = d[:, 0] + d[:, 1]
        expert_cost[j] = np.sqrt(np.sum(d[:, 2:-1] ** 2, axis=1)) + d[:, -1]
    sup_g = fit.replace(beta=beta).routing_weights(_GRID).max(axis=0)
    best = (math.inf, 0.0, 0.0, 0)
    for perm in itertools.permutations(range(fit.k_routed), truth.k_routed):
        rest = [i for i in range(fit.k_routed) if i not in perm]
        gate = sum(gate_cost[j, i] for j, i in enumerate(perm)) + float(sup_g[rest].sum())
        expert = sum(expert_cost[j, i] for j, i in enumerate(perm))
        if gate + expert < best[0]:
            best = (gate + expert, float(gate), float(expert), len(rest))
    return best[1], best[2], best[3]


def template_b_loss_parts(fit: TemplateB, truth: TemplateB, kind: str, *,
                          gauge: str = "auto") -> dict[str, float]:
    """Shared and routed parts of a Template-B Voronoi loss.

    Parameters
    ----------
    fit, truth : TemplateB
        Estimate and ground truth (same gate and expert forms, ``k >= k*`` on both sides).
    kind : {"d1", "d2", "d3", "d4"}
        D1: softmax, strongly identifiable experts (setting 1); D2: softmax, linear routed
        experts (setting 2); D3: normalised sigmoid, sparse regime (setting 3); D4: normalised
        sigmoid, dense regime (setting 4).
    gauge : {"auto", "none"}, default "auto"
        Normalisations of the module notes; ``"none"`` compares raw gates (ReLU experts are
        always compared in identified coordinates).

    Returns
    -------
    dict
        ``"shared"``, ``"routed"`` and ``"total"`` (their sum); ``"routed_gate"`` and
        ``"routed_expert"``, the routed terms in gate parameters (masses, ``beta``, dead
        atoms' routing weights) and in expert parameters (``eta``, ``nu``); for D4 also
        ``"dead"``, the number of routed atoms measured by their routing weight.

    Notes
    -----
    Spec §4 with the labels of the module notes.  Routed parts, with ``d`` the distance of a
    fitted atom to the true atom of its cell, ``w_i = exp(beta_0i)`` (softmax, after the
    gauge) and ``r = r_2(|A_j|)``::

        D1: sum_j |sum_{A_j} w_i - w*_j| + sum_{|A_j|=1} w_i (d beta_1 + ||d eta|| + d nu)
            + sum_{|A_j|>1} w_i (d beta_1^2 + ||d eta||^2 + d nu^2)
        D2: same mass term + sum_{|A_j|=1} w_i (d beta_1 + d eta_0 + d eta_1 + d nu)
            + sum_{|A_j|>1} w_i (d beta_1^r + d eta_0^r + d eta_1^(r/2) + d nu^(r/2))
        D3: sum_{|A_j|>1} |sum_{A_j} sigma(beta_0i) - sigma(beta*_0j)| (+ sigma(beta*_0j) for
            an empty cell) + sum_{|A_j|=1} (d beta_0 + d beta_1 + ||d eta|| + d nu)
            + sum_{|A_j|>1} (d beta_1^2 + ||d eta||^2 + d nu^2)

    D4 (dense regime, all exponents 1) is taken against the best approximation G_check of
    2505.10860, which for ``k2 > k2*`` lies where the surplus routed atoms are dead (a
    non-constant normalised-sigmoid gate cannot be split, §3.3).  Dead atoms are measured by
    the routing weight the data see, ``sup_{x in [-3, 3]} g_i(x)`` (2001 grid points), as
    F_sup's dead branch measures a dead atom (§4) [INFERRED]; the other atoms are matched to
    the true ones by the best bijection::

        D4 = min_{dead set, matching} sum_matched (d beta_0 + d beta_1 + ||d eta|| + d nu)
             + sum_dead sup_x g_i(x).

    Shared part (``w_i = omega_i``; ``r`` as above)::

        sum_j |sum_{A_j} w_i - w*_j| + sum_{|A_j|=1} w_i (||d kappa|| + d tau)
        + sum_{|A_j|>1} w_i (||d kappa||^2 + d tau^2)             (ReLU)
        + sum_{|A_j|>1} w_i (sum_u d kappa_u^r + d tau^(r/2))      (linear)
    """
    _pair_iv(fit, truth, kind, gauge)
    shared, shared_t, routed, routed_t, beta = _coordinates(fit, truth, gauge)
    shared_part = _shared_part(fit, truth, shared, shared_t, _cells(shared, shared_t))
    out: dict[str, float] = {"shared": float(shared_part)}
    if kind == "d4":
        gate, expert, dead = _routed_d4(fit, truth, routed, routed_t, beta)
        out["dead"] = float(dead)
    else:
        labels = _cells(routed, routed_t)
        if kind == "d3":
            gate, expert = _routed_d3(fit, truth, routed, routed_t, beta, labels)
        else:
            gate, expert = _routed_softmax(fit, truth, routed, routed_t, beta, labels, kind)
    out["routed_gate"] = float(gate)
    out["routed_expert"] = float(expert)
    out["routed"] = float(gate + expert)
    out["total"] = float(shared_part + gate + expert)
    return out


def template_b_loss(fit: TemplateB, truth: TemplateB, kind: str, *, gauge: str = "auto") -> float:
    """Template-B Voronoi loss: shared part plus routed part (:func:`template_b_loss_parts`).

    Parameters
    ----------
    fit, truth : TemplateB
        Estimate and ground truth.
    kind : {"d1", "d2", "d3", "d4"}
        The loss of 2505.10860 Thm 1-4 (spec §4, §7.3).
    gauge : {"auto", "none"}, default "auto"
        Normalisations of the module notes.

    Returns
    -------
    float
        ``>= 0``; zero at the truth and invariant to the order of the atoms.

    Notes
    -----
    Spec §4 and §7.3; labels in the module notes (routed parts [RELATED:2505.10860], shared
    parts, variance terms of D1/D3, the D4 dead-branch form and the normalisations
    [INFERRED]).

    Examples
    --------
    >>> from numerics.moe import template_b_truth
    >>> truth = template_b_truth(1)
    >>> template_b_loss(truth, truth, "d1")
    0.0
    """
    return template_b_loss_parts(fit, truth, kind, gauge=gauge)["total"]
