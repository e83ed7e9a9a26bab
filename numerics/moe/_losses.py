"""Voronoi cells and losses D1-D4, F_sup, merge-and-match and the merged softmax loss SM.

Plain numpy: these run once per fit.  Spec ``sigmoid_moe.md`` §3.3 and §4.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from numerics.core._validate import check_choice, check_int, check_real, check_vector
from numerics.moe._model import MoEModel, as_design
from numerics.moe._sampler import check_truth

__all__ = [
    "cap_losses",
    "fiber_sup_loss",
    "merge_match_loss",
    "merged_softmax_loss",
    "r2_exponent",
    "voronoi_cells",
    "voronoi_loss_d1",
    "voronoi_loss_d2",
    "voronoi_loss_d3",
    "voronoi_loss_d4",
]

_LINEAR_IN_ETA = ("linear", "poly", "constant")


class _Atoms:
    """Atoms of a flat vector: A (Frobenius-scaled free entries), b, c, eta, per atom."""

    def __init__(self, model: MoEModel, theta, name: str):
        theta = check_vector(name, theta)
        self.theta = theta
        self.gates, self.eta = model.unpack(theta)
        self.A, self.b, self.c = model.split_gate(self.gates)
        self.k = self.gates.shape[0]

    def nonweight(self) -> np.ndarray:
        """Return theta = (A, b, eta) per atom, the coordinates of the Voronoi cells (§3.3)."""
        return np.concatenate([self.A, self.b, self.eta], axis=1)

    def full(self) -> np.ndarray:
        """Return (A, b, c, eta) per atom."""
        return np.concatenate([self.A, self.b, self.c[:, None], self.eta], axis=1)

    def gate_scaled(self) -> np.ndarray:
        """Return the gates gamma = (A, b, c) per atom."""
        return np.concatenate([self.A, self.b, self.c[:, None]], axis=1)


def _model_iv(model, gate=None, experts=None):
    if not isinstance(model, MoEModel):
        raise ValueError(f"model must be a MoEModel, got {type(model).__name__}")
    if gate is not None and model.gate != gate:
        raise ValueError(f"this loss needs the {gate} gate, got model.gate = {model.gate!r}")
    if experts is not None and model.expert not in experts:
        raise ValueError(f"this loss needs experts in {experts}, got model.expert = "
                         f"{model.expert!r}")


def _pair_iv(model, theta, theta_star, rule="k >= k*"):
    fit = _Atoms(model, theta, "theta")
    true = _Atoms(model, theta_star, "theta_star")
    if rule == "k >= k*" and fit.k < true.k:
        raise ValueError(
            f"the fit has k = {fit.k} atoms, fewer than the k* = {true.k} true atoms: every true "
            "atom needs a cell, so k must be >= k*"
        )
    if rule == "k = k* + 1" and fit.k != true.k + 1:
        raise ValueError(f"F_sup needs k = k* + 1 fitted atoms, got k = {fit.k}, k* = {true.k}")
    return fit, true


def _cells(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each point, ties to the smallest index."""
    dist = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)
    return np.argmin(dist, axis=1)  # argmin returns the first minimiser


def voronoi_cells(model: MoEModel, theta, theta_star) -> np.ndarray:
    """Voronoi cell of every fitted atom, ``A_j = {i : ||theta_i - theta*_j|| minimal}``.

    Parameters
    ----------
    model : MoEModel
    theta, theta_star : array_like
        Flat fitted and true parameters (same model, any numbers of atoms).

    Returns
    -------
    ndarray of int, shape (k,)
        ``labels[i] = j`` when fitted atom ``i`` lies in cell ``j``; ties go to the smallest
        ``j``, so the cells partition the fitted atoms.

    Notes
    -----
    Spec §3.3 [RELATED:2505.10860 App. A; 2405.13997]: ``theta = (A, b, eta)``, the
    non-weight part, with the Frobenius norm for the symmetric ``A``.
    """
    _model_iv(model)
    fit, true = _Atoms(model, theta, "theta"), _Atoms(model, theta_star, "theta_star")
    return _cells(fit.nonweight(), true.nonweight())


def _norms(fit, true, labels):
    """Per fitted atom: ||dA||, ||db||, |dc|, ||deta|| against its cell's true atom."""
    dA = np.linalg.norm(fit.A - true.A[labels], axis=1)
    db = np.linalg.norm(fit.b - true.b[labels], axis=1)
    dc = np.abs(fit.c - true.c[labels])
    de = np.linalg.norm(fit.eta - true.eta[labels], axis=1)
    return dA, db, dc, de


def voronoi_loss_d1(model: MoEModel, theta, theta_star) -> float:
    """Softmax Voronoi loss D1 for strongly identifiable experts.

    Parameters
    ----------
    model : MoEModel
        Softmax model.
    theta, theta_star : array_like
        Flat fitted (``k`` atoms) and true (``k* <= k`` atoms) parameters.

    Returns
    -------
    float

    Notes
    -----
    Spec §4 (L1) [RELATED:2505.10860 eq. (4), routed part; gate slope replaced by (A, b):
    INFERRED].  Weights ``e^{c_i}`` (pinned atoms ``c = 0``)::

        D1 = sum_j |sum_{A_j} e^{c_i} - e^{c*_j}|
           + sum_{|A_j|=1} e^{c_i} (||dA|| + ||db|| + ||deta||)
           + sum_{|A_j|>1} e^{c_i} (||dA||^2 + ||db||^2 + ||deta||^2).
    """
    _model_iv(model, "softmax")
    fit, true = _pair_iv(model, theta, theta_star)
    labels = _cells(fit.nonweight(), true.nonweight())
    size = np.bincount(labels, minlength=true.k)
    w = np.exp(fit.c)
    mass = np.abs(np.bincount(labels, weights=w, minlength=true.k) - np.exp(true.c)).sum()
    dA, db, _, de = _norms(fit, true, labels)
    single = size[labels] == 1
    terms = np.where(single, dA + db + de, dA**2 + db**2 + de**2)
    return float(mass + np.sum(w * terms))


def r2_exponent(m: int) -> int:
    """``r_2(m)``: 4 for m = 2, 6 for m = 3, 7 for m >= 4 (the lower bound; spec §4).

    Notes
    -----
    [RELATED:2505.10860 eq. (12), Prop. 4]; for ``m >= 4`` the spec only gives ``r >= 7`` and
    7 is used.
    """
    return {2: 4, 3: 6}.get(check_int("m", m, low=2), 7)  # m >= 2: an over-specified cell


def voronoi_loss_d2(model: MoEModel, theta, theta_star) -> float:
    """Softmax Voronoi loss D2 for linear experts (no variance term under least squares).

    Parameters
    ----------
    model : MoEModel
        Softmax model with linear experts ``h = eta_1'x + eta_0``.
    theta, theta_star : array_like
        Flat fitted and true parameters, ``k >= k*``.

    Returns
    -------
    float

    Notes
    -----
    Spec §4 (L2) [RELATED:2505.10860 eq. (6), routed part; quadratic-score version
    ``||d beta_1|| -> ||dA|| + ||db||`` INFERRED; in over-specified cells the A and b terms
    are raised to ``r`` separately, as D1 does]::

        D2 = sum_j |sum_{A_j} e^{c_i} - e^{c*_j}|
           + sum_{|A_j|=1} e^{c_i} (||dA|| + ||db|| + ||d eta_1|| + |d eta_0|)
           + sum_{|A_j|>1} e^{c_i} (||dA||^r + ||db||^r + ||d eta_1||^{r/2} + |d eta_0|^r),

    ``r = r_2(|A_j|)`` (:func:`r2_exponent`).
    """
    _model_iv(model, "softmax", ("linear",))
    fit, true = _pair_iv(model, theta, theta_star)
    labels = _cells(fit.nonweight(), true.nonweight())
    size = np.bincount(labels, minlength=true.k)
    w = np.exp(fit.c)
    mass = np.abs(np.bincount(labels, weights=w, minlength=true.k) - np.exp(true.c)).sum()
    dA, db, _, _ = _norms(fit, true, labels)
    d = model.d
    de1 = np.linalg.norm(fit.eta[:, :d] - true.eta[labels, :d], axis=1)
    de0 = np.abs(fit.eta[:, d] - true.eta[labels, d])
    total = mass
    for i in range(fit.k):
        m = int(size[labels[i]])
        if m == 1:
            total += w[i] * (dA[i] + db[i] + de1[i] + de0[i])
        else:
            r = r2_exponent(m)
            total += w[i] * (dA[i] ** r + db[i] ** r + de1[i] ** (r / 2) + de0[i] ** r)
    return float(total)


def _sigmoid_weight(c, weight):
    if check_choice("weight", weight, ("sigma_c", "exp_c")) == "sigma_c":
        return 0.5 * (1.0 + np.tanh(0.5 * c))
    return np.exp(c)


def voronoi_loss_d3(model: MoEModel, theta, theta_star, *, weight: str = "sigma_c") -> float:
    """Sigmoid sparse-regime Voronoi loss D3 (strongly identifiable experts).

    Parameters
    ----------
    model : MoEModel
        Sigmoid model.
    theta, theta_star : array_like
        Flat fitted and true parameters, ``k >= k*``.
    weight : {"sigma_c", "exp_c"}, default "sigma_c"
        Mixing weight of an atom (``moe.sigmoid_weight``, spec §3.1 [INFERRED]).

    Returns
    -------
    float

    Notes
    -----
    Spec §4 (L3) [RELATED:2505.10860 eq. (10), routed part, adapted to quadratic scores:
    INFERRED]::

        D3 = sum_{|A_j|>1} |sum_{A_j} sigma(c_i) - sigma(c*_j)|
           + sum_{|A_j|=1} (||dA|| + ||db|| + |dc| + ||deta||)
           + sum_{|A_j|>1} (||dA||^2 + ||db||^2 + ||deta||^2),

    and an empty cell ``j`` adds its true mass ``sigma(c*_j)`` ([INFERRED] empty-cell rule of
    §4), so that D3 = 0 only at G*.
    """
    _model_iv(model, "sigmoid")
    fit, true = _pair_iv(model, theta, theta_star)
    labels = _cells(fit.nonweight(), true.nonweight())
    size = np.bincount(labels, minlength=true.k)
    w = _sigmoid_weight(fit.c, weight)
    w_true = _sigmoid_weight(true.c, weight)
    cell_mass = np.bincount(labels, weights=w, minlength=true.k)
    mass = np.sum(np.where(size > 1, np.abs(cell_mass - w_true), 0.0))
    mass += np.sum(np.where(size == 0, w_true, 0.0))
    dA, db, dc, de = _norms(fit, true, labels)
    single = size[labels] == 1
    terms = np.where(single, dA + db + dc + de, dA**2 + db**2 + de**2)
    return float(mass + terms.sum())


def voronoi_loss_d4(model: MoEModel, theta, theta_check, *, weight: str = "sigma_c") -> float:
    """Sigmoid dense-regime Voronoi loss D4 against a best approximation ``G_check``.

    Parameters
    ----------
    model : MoEModel
        Sigmoid model.
    theta, theta_check : array_like
        Flat fitted parameters and the atoms of ``G_check`` (``k >= k_check``).
    weight : {"sigma_c", "exp_c"}, default "sigma_c"
        Mass added by an empty cell.

    Returns
    -------
    float

    Notes
    -----
    Spec §4 (L4) [RELATED:2505.10860 eq. (11), adapted: INFERRED]: cells with respect to the
    atoms of ``G_check`` and all exponents 1,
    ``D4 = sum_j sum_{A_j} (||dA|| + ||db|| + |dc| + ||deta||)``; an empty cell adds
    ``sigma(c_check_j)`` (the [INFERRED] empty-cell rule of §4, applied here too so that
    D4 = 0 only at ``G_check``).
    """
    _model_iv(model, "sigmoid")
    fit, true = _pair_iv(model, theta, theta_check)
    labels = _cells(fit.nonweight(), true.nonweight())
    size = np.bincount(labels, minlength=true.k)
    dA, db, dc, de = _norms(fit, true, labels)
    empty = np.sum(np.where(size == 0, _sigmoid_weight(true.c, weight), 0.0))
    return float(np.sum(dA + db + dc + de) + empty)


def _grid_iv(model, grid):
    if grid is None:
        if model.d != 1:
            raise ValueError(f"grid is required for d = {model.d} > 1 (default: 2001 points of "
                             "[-2, 2] for d = 1)")
        return np.linspace(-2.0, 2.0, 2001)[:, None]
    return as_design(grid, model.d)


def _atom_sup(model, gate_row, eta_row, grid):
    """Return the sup over the grid of |sigma(s(x)) h(x, eta)| for one sigmoid atom."""
    single = np.concatenate([gate_row, eta_row])
    return float(np.max(np.abs(model.evaluate(single, grid))))


def _best_assignment(cost: np.ndarray, rows, cols):
    """Minimise sum cost[r, map(r)] over injective maps rows -> cols (brute force)."""
    best, best_map = np.inf, None
    for perm in itertools.permutations(cols, len(rows)):
        val = sum(cost[r, q] for r, q in zip(rows, perm, strict=True))
        if val < best:
            best, best_map = val, perm
    return best, best_map


def fiber_sup_loss(model: MoEModel, theta, theta_star, *, grid=None) -> tuple[float, str]:
    """F_sup: distance of a sigmoid fit with k = k* + 1 atoms to the dead and split branches.

    Parameters
    ----------
    model : MoEModel
        Sigmoid model with experts linear in ``eta`` (linear, poly or constant).
    theta, theta_star : array_like
        Flat fitted (``k* + 1`` atoms) and true (``k*`` atoms) parameters.
    grid : array_like, optional
        Grid for the sup-norm of a dead atom; default 2001 equally spaced points of
        ``[-2, 2]`` (d = 1).

    Returns
    -------
    value : float
    branch : {"dead", "split"}
        The branch attaining the minimum (ties to "dead").

    Notes
    -----
    Spec §4 (F_sup) [INFERRED] (``moe.dense_loss = "fiber_sup"``)::

        F_sup   = min(F_dead, F_split)
        F_dead^2  = min_{i0, pi} sum_j ||theta_pi(j) - theta*_j||^2
                                 + (max_grid |sigma(s_i0) h(., eta_i0)|)^2
        F_split^2 = min_{j, {i1,i2}, pi} ||g_i1 - g*_j||^2 + ||g_i2 - g*_j||^2
                                 + 1/2 ||eta_i1 + eta_i2 - eta*_j||^2
                                 + sum_{l != j} ||theta_pi(l) - theta*_l||^2

    with ``theta = (A, b, c, eta)`` and ``g = (A, b, c)``.  Zero exactly on the dead and split
    branches [MATH].
    """
    _model_iv(model, "sigmoid", _LINEAR_IN_ETA)
    check_truth(model, theta_star)  # reflected true gates break the two-branch picture
    fit, true = _pair_iv(model, theta, theta_star, "k = k* + 1")
    grid = _grid_iv(model, grid)
    vf, vt = fit.full(), true.full()
    cost = np.sum((vt[:, None, :] - vf[None, :, :]) ** 2, axis=2)  # (k*, k)
    everyone = list(range(fit.k))
    dead = np.inf
    for i0 in everyone:
        others = [i for i in everyone if i != i0]
        match, _ = _best_assignment(cost, list(range(true.k)), others)
        sup = _atom_sup(model, fit.gates[i0], fit.eta[i0], grid)
        dead = min(dead, match + sup * sup)
    gf, gt = fit.gate_scaled(), true.gate_scaled()
    split = np.inf
    for j in range(true.k):
        rest = [q for q in range(true.k) if q != j]
        for i1, i2 in itertools.combinations(everyone, 2):
            head = (np.sum((gf[i1] - gt[j]) ** 2) + np.sum((gf[i2] - gt[j]) ** 2)
                    + 0.5 * np.sum((fit.eta[i1] + fit.eta[i2] - true.eta[j]) ** 2))
            others = [i for i in everyone if i not in (i1, i2)]
            match, _ = _best_assignment(cost, rest, others) if rest else (0.0, None)
            split = min(split, head + match)
    if dead <= split:
        return math.sqrt(dead), "dead"
    return math.sqrt(split), "split"


def merge_match_loss(model: MoEModel, theta, theta_star, *, merge_tol: float = 0.2,
                     grid=None) -> float:
    """Merge-and-match loss for over-specified sigmoid fits (any k >= k*).

    Parameters
    ----------
    model : MoEModel
        Sigmoid model; experts linear in ``eta`` or ``w act(u'x)`` (merged as ``sum w``,
        mean ``u``).
    theta, theta_star : array_like
        Flat fitted and true parameters.
    merge_tol : float, default 0.2
        Single-linkage threshold on the gate distance ``||(dA, db, dc)||`` (``> 0``).
    grid : array_like, optional
        Grid for the sup-norm of leftover atoms; default 2001 points of ``[-2, 2]``.

    Returns
    -------
    float
        ``+inf`` if fewer merged atoms than true atoms remain.

    Notes
    -----
    Spec §4 (merge-and-match) [INFERRED]: merge (mean gate, summed experts), match by the
    minimum over injective maps of ``sum_j ||theta_pi(j) - theta*_j||`` with
    ``theta = (A, b, c, eta)``, then add ``sup_x |sigma(s_i) h_i|`` of unmatched merged atoms.
    """
    _model_iv(model, "sigmoid", (*_LINEAR_IN_ETA, "hidden"))
    merge_tol = check_real("merge_tol", merge_tol, low=0.0, low_open=True)
    fit, true = _pair_iv(model, theta, theta_star)
    grid = _grid_iv(model, grid)
    # single linkage by union-find on the gate distance
    gates = fit.gate_scaled()
    parent = list(range(fit.k))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(fit.k), 2):
        if np.linalg.norm(gates[i] - gates[j]) <= merge_tol:
            parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(fit.k):
        groups.setdefault(root(i), []).append(i)
    gate_rows, eta_rows = [], []
    for members in groups.values():
        gate_rows.append(fit.gates[members].mean(axis=0))
        if model.expert == "hidden":
            eta = fit.eta[members]
            eta_rows.append(np.concatenate([[eta[:, 0].sum()], eta[:, 1:].mean(axis=0)]))
        else:
            eta_rows.append(fit.eta[members].sum(axis=0))
    m_gate, m_eta = np.array(gate_rows), np.array(eta_rows)
    if m_gate.shape[0] < true.k:
        return math.inf
    merged = _Atoms(model, model.pack(m_gate, m_eta), "merged")
    cost = np.linalg.norm(true.full()[:, None, :] - merged.full()[None, :, :], axis=2)
    value, perm = _best_assignment(cost, list(range(true.k)), list(range(merged.k)))
    for i in set(range(merged.k)) - set(perm):
        value += _atom_sup(model, m_gate[i], m_eta[i], grid)
    return float(value)


def merged_softmax_loss(model: MoEModel, theta, theta_star) -> float:
    """Compute the merged softmax loss SM (softmax, experts linear in ``eta``, k >= k*).

    Parameters
    ----------
    model : MoEModel
        Softmax model (last atom pinned) with linear, polynomial or constant experts.
    theta, theta_star : array_like
        Flat fitted and true parameters.

    Returns
    -------
    float
        ``+inf`` when every gauge leaves some cell empty (cap it with :func:`cap_losses`).

    Notes
    -----
    Spec §4 (SM) [INFERRED] (``moe.softmax_loss = "merged"``).  With ``omega = (A, b)``:
    for each true atom ``j'`` the fitted pinned atom may stand for, shift
    ``omega~_i = omega_i - omega_i0 + omega*_j'``; cells on ``omega`` only; per cell the
    log-weight ``l_j = log sum e^{c_i}``, the ``e^c``-weighted mean gate and expert; then::

        SM_j'^2 = sum_{j != j0} ||(mean_omega_j - mean_omega_j0) - (omega*_j - omega*_j0)||^2
                              + ((l_j - l_j0) - (c*_j - c*_j0))^2
                + sum_j ||mean_eta_j - eta*_j||^2,

    and ``SM = min_j' SM_j'``.  Zero on every exact split [MATH].
    """
    _model_iv(model, "softmax", _LINEAR_IN_ETA)
    fit, true = _pair_iv(model, theta, theta_star)
    om = np.concatenate([fit.A, fit.b], axis=1)
    om_t = np.concatenate([true.A, true.b], axis=1)
    i0, j0 = fit.k - 1, true.k - 1
    logw = fit.c  # pinned atom: c = 0
    best = math.inf
    for jp in range(true.k):
        shifted = om - om[i0] + om_t[jp]
        labels = _cells(shifted, om_t) if om_t.shape[1] else np.zeros(fit.k, dtype=int)
        if np.bincount(labels, minlength=true.k).min() == 0:
            continue
        ell = np.empty(true.k)
        om_bar = np.empty_like(om_t)
        eta_bar = np.empty_like(true.eta)
        for j in range(true.k):
            idx = labels == j
            top = logw[idx].max()
            w = np.exp(logw[idx] - top)
            ell[j] = top + math.log(w.sum())
            om_bar[j] = w @ shifted[idx] / w.sum()
            eta_bar[j] = w @ fit.eta[idx] / w.sum()
        rel = np.array([j for j in range(true.k) if j != j0], dtype=int)
        gate_term = np.sum(((om_bar[rel] - om_bar[j0]) - (om_t[rel] - om_t[j0])) ** 2)
        mass_term = np.sum(((ell[rel] - ell[j0]) - (true.c[rel] - true.c[j0])) ** 2)
        expert_term = np.sum((eta_bar - true.eta) ** 2)
        best = min(best, math.sqrt(gate_term + mass_term + expert_term))
    return float(best)


def cap_losses(values, cap: float = 10.0) -> tuple[np.ndarray, int]:
    """Cap infinite (or larger than ``cap``) loss values at ``cap`` and count them.

    Parameters
    ----------
    values : array_like
        Loss values (``+inf`` allowed, NaN not).
    cap : float, default 10
        Cap (spec §7.4: SM is capped at 10), ``> 0``.

    Returns
    -------
    capped : ndarray
    n_capped : int

    Notes
    -----
    Spec §4 (SM, step 4) and §7.4 [INFERRED].

    Examples
    --------
    >>> cap_losses([0.5, float("inf"), 12.0])
    (array([ 0.5, 10. , 10. ]), 2)
    """
    values = np.asarray(values, dtype=np.float64)
    if np.any(np.isnan(values)) or np.any(values < 0):
        raise ValueError("values must be >= 0 and not NaN")
    cap = check_real("cap", cap, low=0.0, low_open=True)
    over = values > cap
    return np.where(over, cap, values), int(over.sum())
