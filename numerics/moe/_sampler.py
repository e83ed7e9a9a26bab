"""Seeded regression samplers, truth checks, boxes and start perturbations (spec §7.4)."""

from __future__ import annotations

import numpy as np

from numerics.core._validate import check_array, check_choice, check_int, check_real, check_vector
from numerics.moe._model import MoEModel

__all__ = [
    "check_truth",
    "generic_box",
    "perturb_starts",
    "sample_regression",
    "start_rng",
]

_GATE_STREAM = {"sigmoid": 1, "softmax": 2}


def check_truth(model: MoEModel, theta_star) -> np.ndarray:
    """Validate a ground truth and refuse the sigmoid reflection trap.

    Parameters
    ----------
    model : MoEModel
        Model of the truth.
    theta_star : array_like, shape (p,)
        Flat true parameters.

    Returns
    -------
    ndarray
        ``theta_star`` as float64.

    Raises
    ------
    ValueError
        If ``theta_star`` is not a finite flat vector of the model, or, for the sigmoid gate,
        if two true atoms have reflected scores ``s_2 = -s_1`` (non-zero): then
        ``sigma(s_1)h_1 + sigma(s_2)h_2 = h_2 + sigma(s_1)(h_1 - h_2)`` and the Jacobian is
        exactly singular for linear experts with a linear score term (spec §2 item 3).

    Notes
    -----
    Spec §2 item 3 and §6.5 [MATH].
    """
    theta_star = check_vector("theta_star", theta_star)
    gates, _ = model.unpack(theta_star)
    if model.gate == "sigmoid":
        k = gates.shape[0]
        for j in range(k):
            for m in range(j + 1, k):
                scale = 1.0 + max(np.abs(gates[j]).max(), np.abs(gates[m]).max())
                if np.any(gates[j] != 0.0) and np.all(
                    np.abs(gates[j] + gates[m]) <= 1e-12 * scale
                ):
                    raise ValueError(
                        f"true sigmoid atoms {j} and {m} have reflected scores s_{m} = -s_{j} "
                        f"(gates {gates[j]} and {gates[m]}): sigma(-s) = 1 - sigma(s) makes the "
                        "model exactly non-identifiable (one gated atom plus an ungated expert, "
                        "singular Jacobian; spec §2 item 3); choose a truth without reflected gates"
                    )
    return theta_star


def sample_regression(
    model: MoEModel,
    theta_star,
    n_max: int,
    *,
    seed: int,
    replicate: int,
    noise_sd: float,
    design: str = "uniform",
    box: tuple[float, float] = (-2.0, 2.0),
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(X, Y)`` of length ``n_max`` on the paired, nested streams of §7.4.

    Parameters
    ----------
    model : MoEModel
        Model of the truth.
    theta_star : array_like, shape (p,)
        True parameters (checked by :func:`check_truth`).
    n_max : int
        Sample length, ``>= 1``; a fit at size ``n`` uses the first ``n`` rows.
    seed, replicate : int
        Base seed ``s >= 0`` and replicate ``r >= 0``.  ``X`` comes from
        ``default_rng([s, r, 0])`` and ``Z`` from ``default_rng([s, r, 1])``: the streams are
        fixed by the protocol, so these functions take integers rather than ``rng``.
    noise_sd : float
        Noise standard deviation, ``>= 0``.
    design : {"uniform", "gaussian"}, default "uniform"
        ``X ~ U(box^d)`` or ``X ~ N(0, scale^2 I_d)``.
    box : (float, float), default (-2, 2)
        Interval of the uniform design (``low < high``).
    scale : float, default 1
        Standard deviation of the Gaussian design (``> 0``).

    Returns
    -------
    X : ndarray, shape (n_max, d)
    Y : ndarray, shape (n_max,)
        ``Y = f_{G*}(X) + noise_sd Z``, ``Z ~ N(0, 1)``.

    Notes
    -----
    Spec §3.1 (model, [RELATED:2405.13997] / [INFERRED]) and §7.4 (streams).

    Examples
    --------
    >>> m = MoEModel("sigmoid", "partial", "linear")
    >>> X, Y = sample_regression(m, [1.0, -1.0, 2.0, 1.0], 5, seed=1, replicate=0, noise_sd=0.0)
    >>> bool(np.allclose(Y, m.evaluate([1.0, -1.0, 2.0, 1.0], X)))
    True
    """
    theta_star = check_truth(model, theta_star)
    n_max = check_int("n_max", n_max, low=1)
    seed = check_int("seed", seed, low=0)
    replicate = check_int("replicate", replicate, low=0)
    noise_sd = check_real("noise_sd", noise_sd, low=0.0)
    check_choice("design", design, ("uniform", "gaussian"))
    gx = np.random.default_rng([seed, replicate, 0])
    gz = np.random.default_rng([seed, replicate, 1])
    if design == "uniform":
        low, high = (float(v) for v in box)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"box must be a finite interval (low, high), low < high, got {box}")
        X = gx.uniform(low, high, size=(n_max, model.d))
    else:
        scale = check_real("scale", scale, low=0.0, low_open=True)
        X = scale * gx.standard_normal((n_max, model.d))
    Z = gz.standard_normal(n_max)
    return X, model.evaluate(theta_star, X) + noise_sd * Z


def start_rng(model: MoEModel, seed: int, replicate: int, n: int) -> np.random.Generator:
    """Return the start-perturbation stream ``default_rng([s, r, n, g])``.

    ``g = 1`` for sigmoid and ``2`` for softmax fits.

    Notes
    -----
    Spec §7.4 (paired, nested streams) [INFERRED protocol].
    """
    return np.random.default_rng(
        [check_int("seed", seed, low=0), check_int("replicate", replicate, low=0),
         check_int("n", n, low=1),
         _GATE_STREAM[model.gate]]
    )


def box_iv(lower, upper, p=None):
    """Validate a box: finite lower < upper, or both infinite (unboxed coordinate)."""
    lower = np.ascontiguousarray(lower, dtype=np.float64)
    upper = np.ascontiguousarray(upper, dtype=np.float64)
    if lower.ndim != 1 or lower.shape != upper.shape or (p is not None and lower.shape[0] != p):
        raise ValueError(
            f"lower and upper must be 1-D of equal length{'' if p is None else ' ' + str(p)}, "
            f"got shapes {lower.shape} and {upper.shape}"
        )
    if np.any(np.isnan(lower)) or np.any(np.isnan(upper)):
        raise ValueError("lower and upper must not contain NaN")
    free = np.isinf(lower) & np.isinf(upper) & (lower < 0) & (upper > 0)
    finite = np.isfinite(lower) & np.isfinite(upper)
    bad = ~(free | (finite & (lower < upper)))
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"box coordinate {j} must satisfy lower < upper with both finite (or both infinite),"
            f" got [{lower[j]}, {upper[j]}]"
        )
    return lower, upper


def generic_box(model: MoEModel, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the generic box of §7.4.

    Gate slopes (entries of A and b) in [-3, 3], intercepts c in [-5, 3], experts in [-5, 5].

    Returns
    -------
    lower, upper : ndarray, shape (p,)
        In the flat layout of ``model`` with ``k`` atoms.

    Notes
    -----
    Spec §7.4 [INFERRED protocol]; claims narrow it where they need to (C7, C8).
    """
    pg = model.n_gate
    g_lo = np.full(pg, -3.0)
    g_hi = np.full(pg, 3.0)
    g_lo[-1], g_hi[-1] = -5.0, 3.0
    e = np.full(model.n_expert, 5.0)
    gates_lo = np.tile(g_lo, (k, 1))
    gates_hi = np.tile(g_hi, (k, 1))
    if model.gate == "softmax":
        gates_lo[-1] = gates_hi[-1] = 0.0
    lo = model.pack(gates_lo, np.tile(-e, (k, 1)))
    hi = model.pack(gates_hi, np.tile(e, (k, 1)))
    return lo, hi


def perturb_starts(base_starts, lower, upper, *, rng, sd: float = 0.05) -> np.ndarray:
    """Add independent ``N(0, sd^2)`` to every coordinate of each start, then move it inside.

    Parameters
    ----------
    base_starts : array_like, shape (S, p) or (p,)
        Unperturbed starts.
    lower, upper : array_like, shape (p,)
        Box (see :func:`generic_box`).
    rng : int, Generator or None
        Keyword-only; use :func:`start_rng` for the protocol streams.
    sd : float, default 0.05
        Perturbation standard deviation, ``>= 0``.

    Returns
    -------
    ndarray, shape (S, p)
        Starts strictly inside the box (margin ``1e-3`` half-widths, §7.4).

    Notes
    -----
    Spec §7.4 [INFERRED protocol]: every free coordinate gets an independent perturbation.
    """
    starts = np.atleast_2d(check_array("base_starts", base_starts))
    lower, upper = box_iv(lower, upper, starts.shape[1])
    sd = check_real("sd", sd, low=0.0)
    gen = np.random.default_rng(rng)
    out = starts + sd * gen.standard_normal(starts.shape)
    return move_inside(out, lower, upper)


def move_inside(starts, lower, upper, margin: float = 1e-3):
    """Clip starts into ``[lower + margin*w, upper - margin*w]``, ``w`` the half-width."""
    fin = np.isfinite(lower)
    low, up = np.where(fin, lower, 0.0), np.where(fin, upper, 0.0)
    half = 0.5 * (up - low)
    lo = np.where(fin, low + margin * half, -np.inf)
    hi = np.where(fin, up - margin * half, np.inf)
    return np.clip(starts, lo, hi)
