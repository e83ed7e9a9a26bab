"""Confidence intervals and the matching two-sided p-values.

Every interval here comes with the test it inverts, so that "the prediction lies in the
``1 - alpha`` interval" and "the p-value exceeds ``alpha``" are the same statement.  The
family-wise procedure (Holm) works on the p-values; reports show the interval at the level
each claim was tested at.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from proofs_check._validate import check_int, check_level, check_samples

__all__ = [
    "binomial_pvalue",
    "bootstrap_distribution",
    "bootstrap_pvalue",
    "bca_interval",
    "clopper_pearson_interval",
    "jackknife_acceleration",
    "percentile_interval",
    "t_interval",
    "t_pvalue",
    "wilson_interval",
    "wilson_pvalue",
]


# -- means over replicates ----------------------------------------------------------------


def t_interval(samples, level: float) -> tuple[float, float]:
    """Student-t confidence interval for the mean of i.i.d. replicates.

    Parameters
    ----------
    samples : array_like, shape (k,)
        Replicate values, ``k >= 2``.
    level : float
        Confidence level in (0, 1), e.g. 0.95.

    Returns
    -------
    (float, float)
        Lower and upper bound.
    """
    x = check_samples(samples)
    level = check_level(level)
    k = x.shape[0]
    se = x.std(ddof=1) / np.sqrt(k)
    half = stats.t.ppf(0.5 + level / 2, df=k - 1) * se
    m = float(x.mean())
    return m - half, m + half


def t_pvalue(samples, mu0: float) -> float:
    """Two-sided one-sample t-test p-value of ``H0: mean = mu0`` (inverts :func:`t_interval`)."""
    x = check_samples(samples)
    k = x.shape[0]
    se = x.std(ddof=1) / np.sqrt(k)
    diff = float(x.mean()) - float(mu0)
    if se == 0.0:
        return 1.0 if diff == 0.0 else 0.0
    return float(2 * stats.t.sf(abs(diff) / se, df=k - 1))


# -- proportions --------------------------------------------------------------------------


def _counts_iv(successes: int, trials: int) -> tuple[int, int]:
    trials = check_int(trials, "trials", 1)
    successes = check_int(successes, "successes", 0, trials)
    return successes, trials


def wilson_interval(successes: int, trials: int, level: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    It is the set of ``p0`` that the two-sided score test does not reject, so it matches
    :func:`wilson_pvalue` exactly.

    Examples
    --------
    >>> lo, hi = wilson_interval(50, 100, 0.95)
    >>> round(lo, 4), round(hi, 4)
    (0.4038, 0.5962)
    """
    k, n = _counts_iv(successes, trials)
    level = check_level(level)
    z = stats.norm.ppf(0.5 + level / 2)
    phat = k / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    # At k = 0 and k = n the bounds are exactly 0 and 1; pin them against round-off.
    lo = 0.0 if k == 0 else float(max(0.0, centre - half))
    hi = 1.0 if k == n else float(min(1.0, centre + half))
    return lo, hi


def wilson_pvalue(successes: int, trials: int, p0: float) -> float:
    """Two-sided score-test p-value of ``H0: p = p0`` (inverts :func:`wilson_interval`)."""
    k, n = _counts_iv(successes, trials)
    if not 0.0 <= p0 <= 1.0:
        raise ValueError(f"p0 must lie in [0, 1], got {p0!r}")
    if p0 in (0.0, 1.0):
        return 1.0 if k == p0 * n else 0.0
    z = (k / n - p0) / np.sqrt(p0 * (1 - p0) / n)
    return float(2 * stats.norm.sf(abs(z)))


def clopper_pearson_interval(successes: int, trials: int, level: float) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval; inverts the central binomial test."""
    k, n = _counts_iv(successes, trials)
    level = check_level(level)
    a = 1 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def binomial_pvalue(successes: int, trials: int, p0: float) -> float:
    """Central two-sided exact binomial p-value, ``min(1, 2 min(P[X<=k], P[X>=k]))``.

    It inverts :func:`clopper_pearson_interval`: ``p0`` is inside the ``1 - alpha`` interval
    iff this p-value exceeds ``alpha``.
    """
    k, n = _counts_iv(successes, trials)
    if not 0.0 <= p0 <= 1.0:
        raise ValueError(f"p0 must lie in [0, 1], got {p0!r}")
    lower = stats.binom.cdf(k, n, p0)
    upper = stats.binom.sf(k - 1, n, p0)
    return float(min(1.0, 2 * min(lower, upper)))


# -- bootstrap ----------------------------------------------------------------------------


def bootstrap_distribution(
    data,
    statistic: Callable[[np.ndarray], float],
    *,
    n_resamples: int = 2000,
    rng: np.random.Generator,
) -> np.ndarray:
    """Resample the rows of ``data`` with replacement and recompute ``statistic``.

    Parameters
    ----------
    data : array_like, shape (k, ...)
        Replicates along the first axis (``k >= 2``).
    statistic : callable
        Maps an array shaped like ``data`` to a float.
    n_resamples : int, default 2000
        Number of bootstrap resamples, ``>= 100``.
    rng : numpy.random.Generator
        Random stream (keyword-only).

    Returns
    -------
    ndarray, shape (n_resamples,)
    """
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[0] < 2:
        raise ValueError(f"data must hold at least 2 replicates, got shape {arr.shape}")
    n_resamples = check_int(n_resamples, "n_resamples", 100)
    k = arr.shape[0]
    idx = rng.integers(0, k, size=(n_resamples, k))
    return np.array([statistic(arr[row]) for row in idx], dtype=np.float64)


def _expanded(q: np.ndarray, replicates: int | None) -> np.ndarray:
    # Hesterberg's expanded percentile interval: the percentile bootstrap is too narrow by
    # the factors sqrt((k-1)/k) (plug-in variance) and z/t_{k-1}; widen the quantile levels
    # to Phi(sqrt(k/(k-1)) * t_{k-1}^{-1}(q)).
    if replicates is None:
        return q
    k = check_int(replicates, "replicates", 2)
    return stats.norm.cdf(np.sqrt(k / (k - 1)) * stats.t.ppf(q, df=k - 1))


def percentile_interval(boot, level: float, *, replicates: int | None = None) -> tuple[float, float]:
    """Percentile interval from a bootstrap distribution.

    Parameters
    ----------
    boot : array_like
        Bootstrap distribution.
    level : float
        Confidence level in (0, 1).
    replicates : int, optional
        Number of resampled units ``k``; when given, the interval is Hesterberg's
        *expanded* percentile interval, which corrects the narrowness of the plain one for
        small ``k`` (coverage 0.88 instead of 0.90 at ``k = 30`` for a mean).
    """
    b = check_samples(boot, "boot")
    level = check_level(level)
    q = _expanded(np.array([0.5 - level / 2, 0.5 + level / 2]), replicates)
    lo, hi = np.quantile(b, q)
    return float(lo), float(hi)


def jackknife_acceleration(data, statistic: Callable[[np.ndarray], float]) -> float:
    """Acceleration constant ``a`` of the BCa interval from leave-one-out estimates."""
    arr = np.asarray(data, dtype=np.float64)
    k = arr.shape[0]
    if k < 3:
        raise ValueError(f"data must hold at least 3 replicates for BCa, got {k}")
    jack = np.array([statistic(np.delete(arr, i, axis=0)) for i in range(k)])
    dev = jack.mean() - jack
    denom = 6.0 * (dev**2).sum() ** 1.5
    return 0.0 if denom == 0 else float((dev**3).sum() / denom)


def _bias_correction(boot: np.ndarray, theta_hat: float) -> float:
    frac = float(np.count_nonzero(boot < theta_hat) + 0.5 * np.count_nonzero(boot == theta_hat)) / boot.size
    frac = min(max(frac, 0.5 / boot.size), 1 - 0.5 / boot.size)
    return float(stats.norm.ppf(frac))


def bca_interval(boot, theta_hat: float, acceleration: float, level: float) -> tuple[float, float]:
    """Bias-corrected and accelerated (BCa) interval (Efron 1987)."""
    b = check_samples(boot, "boot")
    level = check_level(level)
    z0 = _bias_correction(b, theta_hat)
    a = float(acceleration)
    qs = []
    for zq in stats.norm.ppf([0.5 - level / 2, 0.5 + level / 2]):
        w = z0 + zq
        qs.append(stats.norm.cdf(z0 + w / (1 - a * w)))
    lo, hi = np.quantile(b, qs)
    return float(lo), float(hi)


def bootstrap_pvalue(
    boot,
    theta0: float,
    *,
    method: str = "percentile",
    theta_hat: float = 0.0,
    acceleration: float = 0.0,
    replicates: int | None = None,
) -> float:
    """Two-sided p-value obtained by inverting a bootstrap interval at ``theta0``.

    It is the smallest ``alpha`` whose ``1 - alpha`` interval (of the same ``method``, and
    expanded with the same ``replicates`` for the percentile method) excludes ``theta0``,
    up to the resolution ``1 / len(boot)``.
    """
    b = check_samples(boot, "boot")
    n = b.size
    frac = float(np.count_nonzero(b < theta0) + 0.5 * np.count_nonzero(b == theta0)) / n
    frac = min(max(frac, 0.5 / n), 1 - 0.5 / n)
    if method == "percentile":
        if replicates is not None:
            k = check_int(replicates, "replicates", 2)
            frac = float(stats.t.cdf(stats.norm.ppf(frac) / np.sqrt(k / (k - 1)), df=k - 1))
        return float(min(1.0, 2 * min(frac, 1 - frac)))
    if method != "bca":
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    z0 = _bias_correction(b, theta_hat)
    zt = stats.norm.ppf(frac) - z0  # = w / (1 - a w) solved for w below
    w = zt / (1 + acceleration * zt)
    z = w - z0
    return float(min(1.0, 2 * min(stats.norm.cdf(z), stats.norm.sf(z))))
