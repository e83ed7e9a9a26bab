"""The frozen result of one checked claim."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

__all__ = ["CheckResult", "RECONSTRUCTION_LABELS", "package_versions", "params_hash"]

RECONSTRUCTION_LABELS = frozenset({"INFERRED", "UNKNOWN"})
_VERDICTS = ("agrees", "disagrees", "inconclusive")
_PACKAGES = ("attention-proofs-check", "numpy", "numba", "llvmlite", "scipy", "sympy", "mpmath")


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages every result depends on."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def params_hash(params: dict[str, Any]) -> str:
    """Short SHA-256 of a JSON-serialisable parameter dictionary (sorted keys)."""
    blob = json.dumps(params, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return str(x)
    return f"{x:.6g}" if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5) else f"{x:.4g}"


def _fmt_size(v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 10_000:
        k = len(str(v)) - 1
        lead, rest = divmod(v, 10**k)
        if rest == 0:
            return f"10^{k}" if lead == 1 else f"{lead}·10^{k}"
    return str(v)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one claim: prediction, estimate, interval, verdict and provenance.

    ``level`` is the confidence level of ``[ci_low, ci_high]`` (``None`` for deterministic
    checks, whose interval is ``estimate ± tolerance``).  ``reason`` explains an
    ``inconclusive`` verdict; ``family`` says how the run's error budget was split.
    """

    claim_id: str
    title: str
    subject: str
    evidence: tuple[str, ...]
    predicted: float
    estimate: float
    ci_low: float
    ci_high: float
    level: float | None
    sizes: dict[str, Any]
    seed: int
    scale: str
    method: str
    verdict: str
    reason: str = ""
    family: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    params_hash: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in _VERDICTS:
            raise ValueError(f"verdict must be one of {_VERDICTS}, got {self.verdict!r}")
        if self.verdict == "inconclusive" and not self.reason:
            raise ValueError("an inconclusive verdict needs a reason")
        object.__setattr__(self, "evidence", tuple(self.evidence))

    @property
    def reconstruction(self) -> bool:
        """Whether the claim rests on a reconstructed ([INFERRED] or [UNKNOWN]) item."""
        return any(label.split(":")[0] in RECONSTRUCTION_LABELS for label in self.evidence)

    def predicted_text(self, short: bool = False) -> str:
        """``predicted`` as the claim states it: ``"0.731"``, or ``"< 0"`` for a one-sided claim.

        Six significant digits, or with ``short`` four unless the value is tiny or huge.
        """
        value = _fmt(self.predicted) if short else f"{self.predicted:.6g}"
        relation = self.details.get("relation")
        return f"{relation} {value}" if relation else value

    def __str__(self) -> str:
        labels = ", ".join(self.evidence)
        recon = " — reconstruction" if self.reconstruction else ""
        sizes = ", ".join(f"{k}={_fmt_size(v)}" for k, v in self.sizes.items())
        if self.level is None:
            half = _fmt((self.ci_high - self.ci_low) / 2)
            where, how = f"± {half}", "tolerance"
        else:
            where = f"in [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"
            how = f"{100 * self.level:.4g}% CI"
            band = self.details.get("band")
            if band is not None:  # decided by a fixed band, not by covering `predicted`
                how += f", band [{_fmt(band[0])}, {_fmt(band[1])}]"
        tail = f": {self.reason}" if self.reason else ""
        return (
            f"{self.claim_id}: predicted {self.predicted_text(short=True)}, estimate {_fmt(self.estimate)} "
            f"{where} ({how}, {sizes}, seed={self.seed}) — {self.verdict}{tail} [{labels}]{recon}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (see :meth:`from_dict`)."""
        out = dataclasses.asdict(self)
        out["evidence"] = list(self.evidence)
        out["reconstruction"] = self.reconstruction
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["evidence"] = tuple(kwargs.get("evidence", ()))
        return cls(**kwargs)

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CheckResult:
        """Parse :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))
