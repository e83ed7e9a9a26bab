"""Evidence: what a claim's run hands to the verdict engine.

A claim computes its closed form and its simulation and returns one ``Evidence`` object.
The engine, not the claim, turns evidence into a verdict: statistical evidence is tested at
the level that Holm's procedure assigns to it inside the family of claims that ran together;
deterministic evidence is compared with a tolerance derived from the working precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from proofs_check import _intervals as iv
from proofs_check._validate import check_finite, check_int, check_level, check_samples

__all__ = [
    "BandEvidence",
    "BootstrapEvidence",
    "CompositeEvidence",
    "Evidence",
    "ExactEvidence",
    "LabelEvidence",
    "MeanEvidence",
    "OrderEvidence",
    "ProportionEvidence",
    "RetryKSEvidence",
    "WelchEvidence",
    "float_tolerance",
]

VERDICTS = ("agrees", "disagrees", "inconclusive")


def float_tolerance(scale: float = 1.0, *, ulps: float = 64.0, dps: int | None = None) -> float:
    """Tolerance tied to working precision: ``ulps * eps * scale``.

    Parameters
    ----------
    scale : float, default 1.0
        Magnitude of the compared quantities (``>= 0``).
    ulps : float, default 64
        Number of units of round-off allowed (the accumulated error of the computation).
    dps : int, optional
        For mpmath results, the working precision in decimal digits; ``eps = 10**-dps``.

    Returns
    -------
    float
    """
    scale = check_finite(scale, "scale")
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    eps = float(np.finfo(np.float64).eps) if dps is None else 10.0 ** (-check_int(dps, "dps", 1))
    return float(ulps) * eps * max(scale, 1.0)


class Evidence:
    """Base class.  Subclasses set the attributes below.

    Attributes
    ----------
    predicted : float
        The closed form (the theory's value, or the theorem's exponent for rates).
    estimate : float
        The simulation's value.
    method : str
        Short name of the interval or tolerance used.
    statistical : bool
        Whether the verdict is a test (joins the family-wise error budget).
    reason : str or None
        Set to force ``inconclusive`` (pre-asymptotic, ill-conditioned, ...).
    details : dict
        Extra report lines (JSON-serialisable).
    """

    predicted: float
    estimate: float
    method: str
    statistical: bool = True
    reason: str | None = None
    details: dict[str, Any]

    def pvalue(self) -> float:
        """Two-sided p-value of ``H0: the closed form is right`` (statistical evidence)."""
        raise NotImplementedError

    def interval(self, level: float | None) -> tuple[float, float]:
        """Confidence interval at confidence ``level`` (statistical evidence)."""
        raise NotImplementedError

    def decide(self, alpha: float | None = None) -> str:
        """Verdict when tested at significance ``alpha``."""
        if self.reason:
            return "inconclusive"
        if alpha is None:
            raise ValueError("alpha must be given to decide statistical evidence")
        return "disagrees" if self.pvalue() <= alpha else "agrees"


@dataclass
class MeanEvidence(Evidence):
    """Mean of i.i.d. replicates against a predicted value; Student-t interval."""

    samples: np.ndarray
    predicted: float
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    method: str = "t"

    def __post_init__(self) -> None:
        self.samples = check_samples(self.samples)
        self.predicted = check_finite(self.predicted, "predicted")
        self.estimate = float(self.samples.mean())

    def pvalue(self) -> float:
        return iv.t_pvalue(self.samples, self.predicted)

    def interval(self, level: float | None) -> tuple[float, float]:
        return iv.t_interval(self.samples, 0.95 if level is None else level)


@dataclass
class ProportionEvidence(Evidence):
    """A binomial count against a predicted probability; Wilson or Clopper–Pearson."""

    successes: int
    trials: int
    predicted: float
    method: str = "wilson"
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.trials = check_int(self.trials, "trials", 1)
        self.successes = check_int(self.successes, "successes", 0, self.trials)
        self.predicted = check_finite(self.predicted, "predicted")
        if not 0.0 <= self.predicted <= 1.0:
            raise ValueError(f"predicted must be a probability in [0, 1], got {self.predicted}")
        if self.method not in ("wilson", "clopper-pearson"):
            raise ValueError(f"method must be 'wilson' or 'clopper-pearson', got {self.method!r}")
        self.estimate = self.successes / self.trials

    def pvalue(self) -> float:
        if self.method == "wilson":
            return iv.wilson_pvalue(self.successes, self.trials, self.predicted)
        return iv.binomial_pvalue(self.successes, self.trials, self.predicted)

    def interval(self, level: float | None) -> tuple[float, float]:
        level = 0.95 if level is None else level
        if self.method == "wilson":
            return iv.wilson_interval(self.successes, self.trials, level)
        return iv.clopper_pearson_interval(self.successes, self.trials, level)


@dataclass
class BootstrapEvidence(Evidence):
    """Any statistic of replicates; bootstrap distribution kept, percentile or BCa intervals.

    The percentile interval is the expanded one (see ``percentile_interval``), which keeps
    its nominal coverage with few replicates.
    """

    data: np.ndarray
    statistic: Callable[[np.ndarray], float]
    predicted: float
    rng: np.random.Generator
    method: str = "percentile"
    n_resamples: int = 2000
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in ("percentile", "bca"):
            raise ValueError(f"method must be 'percentile' or 'bca', got {self.method!r}")
        self.data = np.asarray(self.data, dtype=np.float64)
        self.predicted = check_finite(self.predicted, "predicted")
        self.estimate = float(self.statistic(self.data))
        self.boot = iv.bootstrap_distribution(
            self.data, self.statistic, n_resamples=self.n_resamples, rng=self.rng
        )
        self.acceleration = (
            iv.jackknife_acceleration(self.data, self.statistic) if self.method == "bca" else 0.0
        )

    def pvalue(self) -> float:
        return iv.bootstrap_pvalue(
            self.boot,
            self.predicted,
            method=self.method,
            theta_hat=self.estimate,
            acceleration=self.acceleration,
            replicates=self._expand,
        )

    def interval(self, level: float | None) -> tuple[float, float]:
        level = 0.95 if level is None else level
        if self.method == "bca":
            return iv.bca_interval(self.boot, self.estimate, self.acceleration, level)
        return iv.percentile_interval(self.boot, level, replicates=self._expand)

    @property
    def _expand(self) -> int | None:
        return self.data.shape[0] if self.method == "percentile" else None


@dataclass
class ExactEvidence(Evidence):
    """Deterministic comparison: agrees iff ``|estimate - predicted| <= tolerance``.

    The tolerance must come from the working precision (see :func:`float_tolerance`) or
    from an error bound of the numerical method (e.g. a finite-difference bound), never
    from a hand-tuned constant.
    """

    predicted: float
    estimate: float
    tolerance: float
    method: str = "exact"
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    statistical: bool = False

    def __post_init__(self) -> None:
        self.tolerance = check_finite(self.tolerance, "tolerance")
        if self.tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {self.tolerance}")

    def interval(self, level: float | None = None) -> tuple[float, float]:
        return self.estimate - self.tolerance, self.estimate + self.tolerance

    def decide(self, alpha: float | None = None) -> str:
        if self.reason:
            return "inconclusive"
        ok = math.isfinite(self.estimate) and abs(self.estimate - self.predicted) <= self.tolerance
        return "agrees" if ok else "disagrees"


@dataclass
class LabelEvidence(Evidence):
    """A categorical verdict of a numerical procedure against the one theory predicts.

    Used for rank tests (``independent`` / ``dependent``) and symbolic proofs
    (``zero`` / ``nonzero``).  ``agrees`` iff the labels match; an observed label listed in
    ``undecided`` (e.g. a rank ratio between the thresholds) gives ``inconclusive``.
    ``value`` is the number behind the observed label (e.g. ``s_min / s_max``).
    """

    expected: str
    observed: str
    value: float = float("nan")
    method: str = "label"
    undecided: tuple[str, ...] = ("inconclusive",)
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    statistical: bool = False

    def __post_init__(self) -> None:
        self.predicted = self.value if self.observed == self.expected else float("nan")
        self.estimate = self.value
        self.details = {**self.details, "expected": self.expected, "observed": self.observed}
        if self.observed in self.undecided and not self.reason:
            self.reason = f"procedure undecided ({self.observed}); expected {self.expected}"

    def interval(self, level: float | None = None) -> tuple[float, float]:
        return self.value, self.value

    def decide(self, alpha: float | None = None) -> str:
        if self.reason:
            return "inconclusive"
        return "agrees" if self.observed == self.expected else "disagrees"


@dataclass
class BandEvidence(Evidence):
    """A point estimate against a fixed band (leading-order or asymptotic formulas).

    ``agrees`` if the estimate lies in ``[low, high]``; ``disagrees`` if the whole
    confidence interval of ``inner`` lies outside the band; ``inconclusive`` otherwise.
    """

    inner: Evidence
    low: float
    high: float
    level: float = 0.95
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    statistical: bool = False

    def __post_init__(self) -> None:
        self.level = check_level(self.level)
        if not self.low <= self.high:
            raise ValueError(f"low must be <= high, got [{self.low}, {self.high}]")
        self.predicted = float(self.inner.predicted)
        self.estimate = float(self.inner.estimate)
        self.method = f"band [{self.low:.4g}, {self.high:.4g}] / {self.inner.method}"

    def interval(self, level: float | None = None) -> tuple[float, float]:
        return self.inner.interval(self.level)

    def decide(self, alpha: float | None = None) -> str:
        if self.reason:
            return "inconclusive"
        if self.low <= self.estimate <= self.high:
            return "agrees"
        lo, hi = self.interval()
        if hi < self.low or lo > self.high:
            return "disagrees"
        return "inconclusive"


@dataclass
class CompositeEvidence(Evidence):
    """Several parts judged together.

    Statistical parts are combined by Bonferroni inside the claim (p = m * min p_i); exact
    parts must all agree.  The headline numbers are those of the weakest part.
    """

    parts: Mapping[str, Evidence]
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    primary: str | None = None

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("parts must hold at least one evidence")
        if self.primary is not None and self.primary not in self.parts:
            raise ValueError(f"primary must name one of the parts, got {self.primary!r}")
        self.parts = dict(self.parts)
        self._stat = {k: v for k, v in self.parts.items() if v.statistical and not v.reason}
        self._exact = {k: v for k, v in self.parts.items() if not v.statistical}
        self.statistical = bool(self._stat)
        self.details = {**self.details, "part_details": {k: v.details for k, v in self.parts.items()}}
        forced = [f"{k}: {v.reason}" for k, v in self.parts.items() if v.reason]
        if forced and not self.reason:
            self.reason = "; ".join(forced)
        weakest = self._weakest()
        weak = self.parts[weakest]
        failing = not weak.statistical and weak.decide(None) == "disagrees"
        # Show the named primary part unless another part fails.
        self.headline = self.primary if self.primary is not None and not failing else weakest
        part = self.parts[self.headline]
        if isinstance(part, LabelEvidence):
            # Categorical parts have no number to show: report how many parts agree.
            agree = sum(v.decide(None) == "agrees" for v in self.parts.values() if not v.statistical)
            self.predicted = float(len(self._exact))
            self.estimate = float(agree)
            self.method = f"parts agreeing ({len(self.parts)} parts; weakest: {self.headline})"
        else:
            self.predicted = part.predicted
            self.estimate = part.estimate
            self.method = f"{part.method} ({self.headline}; {len(self.parts)} parts)"

    def _weakest(self) -> str:
        verdicts = {k: v.decide() for k, v in self._exact.items()}
        # A disagreeing part is the one to show, then an undecided one.
        for worst in ("disagrees", "inconclusive"):
            failing = [k for k, v in verdicts.items() if v == worst]
            if failing:
                return failing[0]
        if self._stat:
            return min(self._stat, key=lambda k: self._stat[k].pvalue())

        def closeness(k: str) -> float:
            # How much of its tolerance an exact part uses (largest = weakest).
            v = self.parts[k]
            if isinstance(v, LabelEvidence):
                return 0.0
            gap = abs(v.estimate - v.predicted)
            tol = getattr(v, "tolerance", 0.0)
            return gap / tol if tol > 0 else (0.0 if gap == 0 else math.inf)

        return max(self.parts, key=closeness)

    def pvalue(self) -> float:
        m = len(self._stat)
        return min(1.0, m * min(v.pvalue() for v in self._stat.values()))

    def interval(self, level: float | None) -> tuple[float, float]:
        part = self.parts[self.headline]
        if isinstance(part, LabelEvidence):
            return self.estimate, self.estimate
        if part.statistical and level is not None:
            # Bonferroni inside the claim: each part is shown at level 1 - alpha / m.
            m = len(self._stat)
            return part.interval(1 - (1 - level) / m)
        return part.interval(level)

    def decide(self, alpha: float | None = None) -> str:
        verdicts = [v.decide() for v in self._exact.values()]
        # A failing exact part is decisive even when another part is undecided.
        if "disagrees" in verdicts:
            return "disagrees"
        if self.reason:
            return "inconclusive"
        if "inconclusive" in verdicts:
            return "inconclusive"
        if self._stat and alpha is not None and self.pvalue() <= alpha:
            return "disagrees"
        return "agrees"

    def part_verdicts(self, alpha: float | None) -> dict[str, str]:
        """Verdict of each part (statistical parts at ``alpha / m``)."""
        m = max(len(self._stat), 1)
        out = {}
        for k, v in self.parts.items():
            out[k] = v.decide(None if alpha is None else alpha / m) if v.statistical else v.decide()
        return out


# ------------------------------------------------ test forms: distribution, ordering, contrast
#
# Each is calibrated in tests/statistical/test_calibration.py: its p-value is uniform (or
# conservative) under the null, so Holm and Bonferroni apply to it unchanged.


@dataclass
class RetryKSEvidence(Evidence):
    """KS test of ``first`` (and, if it fails at ``threshold``, of ``retry``) against N(0, 1).

    The p-value ``p1`` if ``p1 > threshold`` else ``threshold * p2`` is uniform under the
    null (both samples independent), so the recorded retry is counted in the error rate.
    The interval is the DKW band for ``sup |F - Phi|`` around the KS distance of the sample
    that decided; ``predicted`` is 0.
    """

    first: np.ndarray
    retry: np.ndarray | None
    threshold: float = 0.01
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    method: str = "KS vs N(0,1), one retry"

    def __post_init__(self) -> None:
        self.threshold = check_finite(self.threshold, "threshold")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {self.threshold}")
        self.first = check_samples(self.first)
        ks1 = stats.kstest(self.first, "norm")
        self._p1 = float(ks1.pvalue)
        self.predicted = 0.0
        self._n = self.first.shape[0]
        self.estimate = float(ks1.statistic)
        self._p2 = None
        if self._p1 <= self.threshold:
            if self.retry is None:
                raise ValueError("the first KS test failed: a retry sample is required")
            ks2 = stats.kstest(check_samples(self.retry), "norm")
            self._p2 = float(ks2.pvalue)
            self.estimate = float(ks2.statistic)
            self._n = self.retry.shape[0]
        self.details = {**self.details, "ks_pvalue_first": self._p1, "ks_pvalue_retry": self._p2,
                        "retried": self._p2 is not None, "n": self._n}

    def pvalue(self) -> float:
        """Uniform p-value of the test with one retry (see the class docstring)."""
        return self._p1 if self._p2 is None else self.threshold * self._p2

    def interval(self, level: float | None) -> tuple[float, float]:
        """DKW confidence band for the KS distance."""
        level = 0.95 if level is None else check_level(level)
        half = math.sqrt(math.log(2.0 / (1.0 - level)) / (2.0 * self._n))
        return max(0.0, self.estimate - half), self.estimate + half


_SENSES = {"<": (-1, True), "<=": (-1, False), ">": (1, True), ">=": (1, False)}


@dataclass
class OrderEvidence(Evidence):
    """One-sided test of ``mean(samples) <sense> boundary`` (``sense`` in <, <=, >, >=).

    The p-value is that of the one-sided t-test whose null is the boundary of the stated
    inequality, so "disagrees" means the whole one-sided interval at the tested level lies on
    the wrong side.  ``interval(level)`` is the two-sided t-interval at ``2 level - 1``: each
    end is a one-sided bound at ``level``.  A strict inequality that is neither resolved (its
    one-sided bound at ``strict_level`` excludes the boundary) nor contradicted at
    ``1 - strict_level`` is forced inconclusive.
    """

    samples: np.ndarray
    sense: str
    boundary: float = 0.0
    strict_level: float = 0.999
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sense not in _SENSES:
            raise ValueError(f"sense must be one of {tuple(_SENSES)}, got {self.sense!r}")
        self.samples = check_samples(self.samples)
        self.boundary = check_finite(self.boundary, "boundary")
        self.strict_level = check_level(self.strict_level, "strict_level")
        self.predicted = self.boundary
        self.estimate = float(self.samples.mean())
        sign, strict = _SENSES[self.sense]
        self.method = f"one-sided t: mean {self.sense} {self.boundary:.6g}"
        k = self.samples.shape[0]
        se = float(self.samples.std(ddof=1)) / math.sqrt(k)
        self._tstat = (self.estimate - self.boundary) / se if se > 0 else (
            0.0 if self.estimate == self.boundary else math.copysign(math.inf, self.estimate - self.boundary))
        self._df = k - 1
        self._sign = sign
        self.details = {**self.details, "claim": f"mean {self.sense} {self.boundary:.6g}",
                        "se": se, "n": k}
        if strict and not self.reason:
            resolved = stats.t.sf(sign * self._tstat, self._df) <= 1 - self.strict_level
            contradicted = self.pvalue() <= 1 - self.strict_level
            if not (resolved or contradicted):
                self.reason = (f"strict inequality mean {self.sense} {self.boundary:.6g} not resolved "
                               f"at one-sided level {self.strict_level} (estimate {self.estimate:.4g}, "
                               f"se {se:.2g})")

    def pvalue(self) -> float:
        """One-sided p-value at the boundary of the stated inequality."""
        # sign = -1 (claim mean <= b): large t contradicts it; sign = +1: small t does.
        return float(stats.t.sf(-self._sign * self._tstat, self._df))

    def interval(self, level: float | None) -> tuple[float, float]:
        """Two-sided t-interval at ``2 level - 1`` (one-sided bounds at ``level``)."""
        level = 0.95 if level is None else check_level(level)
        return iv.t_interval(self.samples, max(2.0 * level - 1.0, 1e-12))


@dataclass
class WelchEvidence(Evidence):
    """``sum_j c_j mean(samples_j)`` (independent samples) against ``predicted``.

    Normal-theory interval with the Welch-Satterthwaite degrees of freedom.
    """

    samples: list
    coefficients: tuple[float, ...]
    predicted: float
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    method: str = "Welch t"

    def __post_init__(self) -> None:
        xs = [check_samples(s, f"samples[{j}]") for j, s in enumerate(self.samples)]
        c = np.asarray(self.coefficients, dtype=np.float64)
        if c.shape != (len(xs),) or not np.all(np.isfinite(c)):
            raise ValueError(f"coefficients must be {len(xs)} finite numbers (one per sample), "
                             f"got {self.coefficients!r}")
        self.predicted = check_finite(self.predicted, "predicted")
        v = np.array([x.var(ddof=1) / x.shape[0] for x in xs])
        self.estimate = float(sum(cj * x.mean() for cj, x in zip(c, xs, strict=True)))
        self._se = float(math.sqrt((c**2 * v).sum()))
        terms = (c**2 * v) ** 2 / np.array([x.shape[0] - 1 for x in xs])
        self._df = float((c**2 * v).sum() ** 2 / terms.sum()) if terms.sum() > 0 else 1e9
        self.details = {**self.details, "se": self._se, "df": self._df,
                        "means": [float(x.mean()) for x in xs], "sizes": [x.shape[0] for x in xs]}

    def pvalue(self) -> float:
        """Two-sided Welch p-value of ``H0: sum c_j mean_j = predicted``."""
        if self._se == 0.0:
            return 1.0 if self.estimate == self.predicted else 0.0
        return float(2 * stats.t.sf(abs(self.estimate - self.predicted) / self._se, self._df))

    def interval(self, level: float | None) -> tuple[float, float]:
        """Welch t-interval for ``sum c_j mean_j``."""
        level = 0.95 if level is None else check_level(level)
        half = float(stats.t.ppf(0.5 + level / 2, self._df)) * self._se
        return self.estimate - half, self.estimate + half
