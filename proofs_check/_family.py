"""Family-wise error control across the claims of one run (Holm's step-down method)."""

from __future__ import annotations

import numpy as np

from proofs_check._validate import check_level

__all__ = ["holm"]


def holm(pvalues, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down procedure.

    Parameters
    ----------
    pvalues : array_like, shape (k,)
        One p-value per hypothesis.
    alpha : float
        Family-wise error rate in (0, 1).

    Returns
    -------
    reject : ndarray of bool, shape (k,)
    tested_at : ndarray of float, shape (k,)
        The significance each hypothesis was effectively tested at: ``alpha / (k - j)``
        at its step ``j`` for rejected ones, and the level of the first non-rejected step
        for all others (so that a reported interval at ``1 - tested_at`` contains the
        prediction exactly when the hypothesis is not rejected).

    Examples
    --------
    >>> reject, at = holm([0.01, 0.04, 0.5], 0.05)
    >>> reject.tolist(), [round(float(a), 4) for a in at]
    ([True, False, False], [0.0167, 0.025, 0.025])
    """
    alpha = check_level(alpha, "alpha")
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be one-dimensional, got shape {p.shape}")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("pvalues must lie in [0, 1]")
    k = p.size
    reject = np.zeros(k, dtype=bool)
    tested = np.zeros(k, dtype=np.float64)
    if k == 0:
        return reject, tested
    order = np.argsort(p, kind="stable")
    stop_level = None
    for step, i in enumerate(order):
        level = alpha / (k - step)
        if stop_level is None and p[i] <= level:
            reject[i] = True
            tested[i] = level
        else:
            if stop_level is None:
                stop_level = level
            tested[i] = stop_level
    return reject, tested
