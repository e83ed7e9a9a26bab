"""Convergence rates: log-log slopes with bootstrap intervals and pre-asymptotic trimming."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from proofs_check import _intervals as iv
from proofs_check._evidence import Evidence
from proofs_check._validate import check_finite, check_int, check_level

__all__ = ["RateEvidence", "loglog_slope"]


def loglog_slope(sizes, values) -> float:
    """Least-squares slope of ``log(values)`` on ``log(sizes)``.

    Examples
    --------
    >>> n = np.array([100.0, 400.0, 1600.0])
    >>> round(loglog_slope(n, 3.0 * n ** -0.5), 12)
    -0.5
    """
    x = np.log(np.asarray(sizes, dtype=np.float64))
    y = np.log(np.asarray(values, dtype=np.float64))
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum())


def _curvature(sizes, values) -> float:
    x = np.log(np.asarray(sizes, dtype=np.float64))
    x = x - x.mean()
    y = np.log(np.asarray(values, dtype=np.float64))
    return float(np.polyfit(x, y, 2)[0])


@dataclass
class RateEvidence(Evidence):
    """Fitted exponent of ``metric ~ C n^slope`` against a theorem's exponent.

    The slope is that of ``log(centre over replicates)`` on ``log n``; its interval is the
    expanded percentile bootstrap over replicates (rows of ``metrics`` are resampled whole, which
    respects nested designs where one replicate's data are shared across sizes).

    Parameters
    ----------
    sizes : array_like, shape (S,)
        Sample sizes, increasing, ``S >= 3``.
    metrics : array_like, shape (R, S)
        Positive metric per replicate and size, ``R >= 2``.
    predicted : float
        The theorem's slope (e.g. ``-0.5`` for a parametric rate).
    rng : numpy.random.Generator
        Stream for the bootstrap.
    centre : {"median", "mean"}
        How replicates are pooled at each size (medians resist bad local optima).
    trim : bool
        Drop the smallest sizes while a curvature test rejects straightness
        (pre-asymptotic regime); what was dropped is reported.
    curvature_level : float
        Significance of that curvature test.
    min_sizes : int
        Never keep fewer sizes; if curvature persists, the verdict is ``inconclusive``.
    """

    sizes: np.ndarray
    metrics: np.ndarray
    predicted: float
    rng: np.random.Generator
    centre: str = "median"
    n_resamples: int = 2000
    trim: bool = False
    curvature_level: float = 0.05
    min_sizes: int = 4
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sizes = np.asarray(self.sizes, dtype=np.float64)
        self.metrics = np.asarray(self.metrics, dtype=np.float64)
        if self.sizes.ndim != 1 or self.sizes.size < 3:
            raise ValueError(f"sizes must be 1-D with at least 3 entries, got shape {self.sizes.shape}")
        if np.any(np.diff(self.sizes) <= 0) or self.sizes[0] <= 0:
            raise ValueError("sizes must be positive and strictly increasing")
        if self.metrics.ndim != 2 or self.metrics.shape[1] != self.sizes.size:
            raise ValueError(
                f"metrics must have shape (replicates, {self.sizes.size}), got {self.metrics.shape}"
            )
        if self.metrics.shape[0] < 2:
            raise ValueError(f"metrics must hold at least 2 replicates, got {self.metrics.shape[0]}")
        if not np.all(np.isfinite(self.metrics)) or np.any(self.metrics <= 0):
            raise ValueError("metrics must be finite and > 0 (they are taken in logarithm)")
        if self.centre not in ("median", "mean"):
            raise ValueError(f"centre must be 'median' or 'mean', got {self.centre!r}")
        self.predicted = check_finite(self.predicted, "predicted")
        self.curvature_level = check_level(self.curvature_level, "curvature_level")
        self.min_sizes = check_int(self.min_sizes, "min_sizes", 3, self.sizes.size)
        self.method = f"bootstrap slope ({self.centre}, expanded percentile)"
        pool = np.median if self.centre == "median" else np.mean

        kept = np.arange(self.sizes.size)
        dropped: list[float] = []
        curvature_p = None
        if self.trim:
            while True:
                n_k = self.sizes[kept]
                def curvature(m: np.ndarray, n_k: np.ndarray = n_k) -> float:
                    return _curvature(n_k, pool(m, axis=0))

                boot = iv.bootstrap_distribution(
                    self.metrics[:, kept], curvature, n_resamples=self.n_resamples, rng=self.rng
                )
                curvature_p = iv.bootstrap_pvalue(boot, 0.0)
                if curvature_p > self.curvature_level:
                    break
                if kept.size <= self.min_sizes:
                    if not self.reason:
                        self.reason = (
                            f"pre-asymptotic: log-log curvature persists with {kept.size} sizes "
                            f"(p = {curvature_p:.3g})"
                        )
                    break
                dropped.append(float(self.sizes[kept[0]]))
                kept = kept[1:]
        self.kept = kept
        n_k = self.sizes[kept]

        def slope(m: np.ndarray) -> float:
            return loglog_slope(n_k, pool(m, axis=0))

        self.estimate = slope(self.metrics[:, kept])
        self.boot = iv.bootstrap_distribution(
            self.metrics[:, kept], slope, n_resamples=self.n_resamples, rng=self.rng
        )
        centres = pool(self.metrics, axis=0)
        lo, hi = self.interval(0.95)
        self.details = {
            **self.details,
            "sizes_kept": [float(v) for v in n_k],
            "sizes_dropped": dropped,
            "curvature_pvalue": curvature_p,
            "replicates": int(self.metrics.shape[0]),
            # Everything a log-log plot needs (see proofs_check._report).
            "rate_curve": {
                "sizes": [float(v) for v in self.sizes],
                "centres": [float(v) for v in centres],
                "q25": [float(v) for v in np.quantile(self.metrics, 0.25, axis=0)],
                "q75": [float(v) for v in np.quantile(self.metrics, 0.75, axis=0)],
                "kept": [int(i) for i in kept],
                "slope": float(self.estimate),
                "slope_ci95": [float(lo), float(hi)],
                "theory_slope": float(self.predicted),
                "centre": self.centre,
            },
        }

    def pvalue(self) -> float:
        return iv.bootstrap_pvalue(self.boot, self.predicted, replicates=self.metrics.shape[0])

    def interval(self, level: float | None) -> tuple[float, float]:
        level = 0.95 if level is None else level
        return iv.percentile_interval(self.boot, level, replicates=self.metrics.shape[0])
