"""Function-level error, Jacobian conditioning and the numerical rank test (spec §6.4, §7.4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.core._validate import check_array, check_int, check_vector
from numerics.moe._losses import _grid_iv, _model_iv
from numerics.moe._model import MoEModel, as_design

__all__ = ["RankTest", "function_l2_error", "jacobian_singular_values", "rank_test"]


def function_l2_error(model: MoEModel, theta, theta_star, *, grid=None) -> float:
    """L2 distance ``||f_G - f_G*||`` on an evaluation grid (root mean square over the grid).

    Parameters
    ----------
    model : MoEModel
    theta, theta_star : array_like
        Flat fitted and true parameters (their numbers of atoms may differ).
    grid : array_like, optional
        Grid of X; default 2001 equally spaced points of ``[-2, 2]`` (d = 1), the uniform
        design of §7.4, so the mean over the grid approximates ``L2(mu)``.

    Returns
    -------
    float

    Notes
    -----
    Spec §3.2 and §7.4 (function error) [RELATED:2405.13997].

    Examples
    --------
    >>> m = MoEModel("sigmoid", "partial", "linear")
    >>> function_l2_error(m, [1.0, -1.0, 2.0, 1.0], [1.0, -1.0, 2.0, 1.0])
    0.0
    """
    _model_iv(model)
    grid = _grid_iv(model, grid)
    diff = model.evaluate(theta, grid) - model.evaluate(theta_star, grid)
    return float(np.sqrt(np.mean(diff * diff)))


def jacobian_singular_values(model: MoEModel, theta, x) -> np.ndarray:
    """Singular values of ``J / sqrt(n)``, ``J`` the Jacobian of ``f`` at ``theta`` on ``x``.

    Parameters
    ----------
    model : MoEModel
    theta : array_like, shape (p,)
        Usually the truth (conditioning check of §7.4).
    x : array_like, shape (n,) or (n, d)
        Design points.

    Returns
    -------
    ndarray, shape (min(n, p),)
        Descending; the last is ``s_min``.  Parameter errors scale like
        ``noise_sd / (sqrt(n) s_min)``.

    Notes
    -----
    Spec §7.4 (conditioning caveat) [INFERRED].
    """
    _model_iv(model)
    x = as_design(x, model.d)
    _, jac = model.jacobian(check_vector("theta", theta), x)
    return np.linalg.svd(jac / np.sqrt(x.shape[0]), compute_uv=False)


@dataclass(frozen=True)
class RankTest:
    """Verdict of :func:`rank_test`.

    Attributes
    ----------
    verdict : {"independent", "dependent", "inconclusive"}
    ratio : float
        ``s_min / s_max`` of the column-normalised matrix.
    singular_values : ndarray
        Descending singular values of the column-normalised matrix.
    """

    verdict: str
    ratio: float
    singular_values: np.ndarray


def rank_test(values, *, independent_above: float = 1e-6, dependent_below: float = 1e-12,
              min_rows_per_column: int = 20) -> RankTest:
    """Numerical identifiability (rank) test on a matrix of function evaluations.

    Parameters
    ----------
    values : array_like, shape (m, q)
        Column ``l`` holds function ``l`` at ``m`` random points.
    independent_above, dependent_below : float, default 1e-6 and 1e-12
        Thresholds on ``s_min / s_max`` (``0 < dependent_below <= independent_above < 1``).
    min_rows_per_column : int, default 20
        Require ``m >= min_rows_per_column * q`` (spec: m >= 20 q).

    Returns
    -------
    RankTest

    Raises
    ------
    ValueError
        If the matrix is not finite or has too few rows.  An identically zero column (a zero
        member, §3.4) is left at zero, so the family is reported "dependent" with ratio 0.

    Notes
    -----
    Spec §6.4 [MATH]: normalise each column to unit norm, take the singular values; ratio
    ``> 1e-6`` independent, ``< 1e-12`` dependent, otherwise inconclusive.

    Examples
    --------
    >>> x = np.linspace(-2, 2, 100)
    >>> rank_test(np.stack([x, 2 * x], axis=1)).verdict
    'dependent'
    """
    a = check_array("values", values, ndim=2)
    if a.shape[1] < 1:
        raise ValueError(f"values must be a 2-D (m, q) matrix with q >= 1, got shape {a.shape}")
    min_rows_per_column = check_int("min_rows_per_column", min_rows_per_column, low=1)
    if a.shape[0] < min_rows_per_column * a.shape[1]:
        raise ValueError(f"values needs m >= {min_rows_per_column} * q = "
                         f"{min_rows_per_column * a.shape[1]} rows, got m = {a.shape[0]}")
    if not (0 < dependent_below <= independent_above < 1):
        raise ValueError("thresholds must satisfy 0 < dependent_below <= independent_above < 1, "
                         f"got {dependent_below} and {independent_above}")
    norms = np.linalg.norm(a, axis=0)
    sv = np.linalg.svd(a / np.where(norms > 0, norms, 1.0), compute_uv=False)
    ratio = float(sv[-1] / sv[0]) if sv[0] > 0 else 0.0
    if ratio > independent_above:
        verdict = "independent"
    elif ratio < dependent_below:
        verdict = "dependent"
    else:
        verdict = "inconclusive"
    return RankTest(verdict=verdict, ratio=ratio, singular_values=sv)
