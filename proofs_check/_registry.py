"""The claim registry.

A claim lives in a module of :mod:`proofs_check.claims`; importing the module registers it
(decorator :func:`claim`).  Nothing else has to be edited to add one: the command line, the
report and the parametrised test all read the registry.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proofs_check._evidence import Evidence
    from proofs_check._runner import RunContext

__all__ = ["Claim", "claim", "find_claims", "get_claim", "load_claims", "registered_claims"]

SCALES = ("quick", "full")
LABELS = ("ABSTRACT", "QUOTED", "RELATED", "MATH", "INFERRED", "UNKNOWN")
TIERS = ("default", "slow", "xslow")
_ID = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9-]*$")
_REGISTRY: dict[str, Claim] = {}


@dataclass(frozen=True)
class Claim:
    """One checkable statement.

    Attributes
    ----------
    id : str
        ``<subject>.<short-name>``, e.g. ``core.softmax-jacobian``.
    title : str
        One line.
    subject : str
        The id's prefix.
    evidence : tuple of str
        Labels of the formulas behind the claim (``MATH``, ``RELATED:2002.11544``, ...).
    statement, formula : str
        What is claimed and the closed form, for ``proofs-check show``.
    run : callable
        ``run(ctx) -> Evidence``; ``ctx`` carries the scale, the seed, the sizes, the
        formulas and a process pool for replicates.
    sizes : mapping
        ``{"quick": {...}, "full": {...}}``.
    options : mapping
        Switches in force and their values (INFERRED items sit behind these).
    formulas : mapping
        Named closed forms the run evaluates through ``ctx.formula(name)``.
    mutations : mapping
        Named deliberately wrong formulas, ``{name: (formula_name, wrong_callable)}``; each
        must make the claim disagree (the mutation test runs them all).
    tier : str
        ``default``, ``slow`` or ``xslow``: the test tier of its quick-scale run.
    known_discrepancy : str
        Empty, or what the toolkit measured when a reproduction of published numbers does
        not agree, and why it is believed to differ (shown by ``proofs-check show``).  Such
        a claim may say ``disagrees`` in the claim test; it still must run end to end.
    """

    id: str
    title: str
    evidence: tuple[str, ...]
    run: Callable[[RunContext], Evidence]
    sizes: Mapping[str, Mapping[str, Any]]
    statement: str = ""
    formula: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    formulas: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    mutations: Mapping[str, tuple[str, Callable[..., Any]]] = field(default_factory=dict)
    tier: str = "default"
    known_discrepancy: str = ""

    @property
    def subject(self) -> str:
        """The subject prefix of the id."""
        return self.id.split(".", 1)[0]

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"claim id must look like '<subject>.<short-name>', got {self.id!r}")
        if not self.evidence:
            raise ValueError(f"claim {self.id}: evidence labels must not be empty")
        for label in self.evidence:
            if label.split(":")[0] not in LABELS:
                raise ValueError(f"claim {self.id}: evidence label must be one of {LABELS}, got {label!r}")
        missing = [s for s in SCALES if s not in self.sizes]
        if missing:
            raise ValueError(f"claim {self.id}: sizes must define scales {SCALES}, missing {missing}")
        if self.tier not in TIERS:
            raise ValueError(f"claim {self.id}: tier must be one of {TIERS}, got {self.tier!r}")
        for name, (target, _) in self.mutations.items():
            if target not in self.formulas:
                raise ValueError(f"claim {self.id}: mutation {name!r} targets unknown formula {target!r}")
        object.__setattr__(self, "evidence", tuple(self.evidence))


def claim(**fields: Any) -> Callable[[Callable[..., Any]], Claim]:
    """Register the decorated ``run(ctx)`` function as a :class:`Claim`.

    Examples
    --------
    ``@claim(id="core.x", title="...", evidence=("MATH",), sizes={"quick": {}, "full": {}})``
    above ``def run(ctx): ...``.
    """

    def register(run: Callable[..., Any]) -> Claim:
        c = Claim(run=run, **fields)
        if c.id in _REGISTRY and _REGISTRY[c.id].run.__qualname__ != run.__qualname__:
            raise ValueError(f"claim id {c.id!r} is registered twice")
        _REGISTRY[c.id] = c
        return c

    return register


def load_claims() -> None:
    """Import every module of :mod:`proofs_check.claims` (idempotent)."""
    import proofs_check.claims as pkg

    for info in pkgutil.iter_modules(pkg.__path__, prefix=pkg.__name__ + "."):
        importlib.import_module(info.name)


def registered_claims() -> list[Claim]:
    """All registered claims, sorted by id."""
    load_claims()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_claim(claim_id: str) -> Claim:
    """Look one claim up; unknown ids raise ``ValueError`` naming the closest ids."""
    load_claims()
    if claim_id in _REGISTRY:
        return _REGISTRY[claim_id]
    close = difflib.get_close_matches(claim_id, list(_REGISTRY), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see 'proofs-check list'"
    raise ValueError(f"unknown claim id {claim_id!r}{hint}")


def find_claims(patterns: list[str] | tuple[str, ...] = ()) -> list[Claim]:
    """Claims whose id matches any of the patterns (exact ids or shell globs).

    No pattern means every claim.  A pattern that matches nothing raises ``ValueError``
    (with suggestions), so a typo never silently runs zero checks.
    """
    claims = registered_claims()
    if not patterns:
        return claims
    chosen: dict[str, Claim] = {}
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            hits = [c for c in claims if fnmatch.fnmatchcase(c.id, pattern)]
            if not hits:
                raise ValueError(f"pattern {pattern!r} matches no claim; see 'proofs-check list'")
        else:
            hits = [get_claim(pattern)]
        for c in hits:
            chosen[c.id] = c
    return [chosen[k] for k in sorted(chosen)]
