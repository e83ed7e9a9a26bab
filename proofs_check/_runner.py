"""Run claims: seeds, executors, the family-wise error budget, provenance."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg  # noqa: F401 - loads SciPy's BLAS now, so that the limit below reaches it
from threadpoolctl import threadpool_limits

from numerics.core import set_thread_count
from proofs_check._evidence import BandEvidence, CompositeEvidence, Evidence, OrderEvidence
from proofs_check._family import holm
from proofs_check._registry import SCALES, Claim
from proofs_check._result import CheckResult, package_versions, params_hash
from proofs_check._validate import check_int, check_level

__all__ = ["DEFAULT_SEED", "RunContext", "SerialExecutor", "default_jobs", "make_executor", "run_claims"]

DEFAULT_SEED = 20231124


class SerialExecutor(cf.Executor):
    """An executor that runs each task at once in the calling thread (``--jobs 1``)."""

    def submit(self, fn, /, *args, **kwargs):  # noqa: D102 - Executor API
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised by future.result()
            future.set_exception(exc)
        return future


def default_jobs() -> int:
    """Number of usable cores (the default of ``--jobs``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: BLAS threads wherever a claim runs (the calling process and every worker).  A BLAS call
#: sums in an order that depends on its thread count, so a fixed count is what keeps results
#: bit-identical for any ``--jobs`` and any machine (measured: ``lstsq`` in pa.c10 moved by
#: one ulp between 1 and 2 OpenBLAS threads).  The kernels that matter are compiled (numba).
BLAS_THREADS = 1


def _worker_init() -> None:
    # Several worker processes share the cores: one compiled thread each.
    set_thread_count(1)
    threadpool_limits(limits=BLAS_THREADS, user_api="blas")


def make_executor(jobs: int) -> cf.Executor:
    """A process pool of ``jobs`` workers, or a :class:`SerialExecutor` for ``jobs == 1``.

    Any :class:`concurrent.futures.Executor` can stand in (e.g. a cluster's), because
    claims only call ``submit`` through :meth:`RunContext.map`.
    """
    jobs = check_int(jobs, "jobs", 1)
    if jobs == 1:
        return SerialExecutor()
    # Worker processes inherit the environment when they start: one BLAS thread each, so
    # that `jobs` workers do not over-subscribe the cores (numba threads: _worker_init).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    return cf.ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init
    )


def _claim_key(claim_id: str) -> int:
    return int.from_bytes(hashlib.sha256(claim_id.encode()).digest()[:4], "little")


@dataclass
class RunContext:
    """What a claim's ``run`` receives.

    Attributes
    ----------
    claim : Claim
    scale : str
        ``quick`` or ``full``.
    seed : int
        The run's base seed.  The claim's own stream is
        ``SeedSequence(seed, spawn_key=(hash(claim id),))``, so a claim's numbers do not
        depend on which other claims run with it, nor on the number of workers.
    executor : concurrent.futures.Executor
        Where :meth:`map` sends replicate tasks.
    overrides : mapping
        Replacement formulas (used by mutation tests).
    """

    claim: Claim
    scale: str
    seed: int
    executor: cf.Executor = field(default_factory=SerialExecutor)
    overrides: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._root = np.random.SeedSequence(self.seed, spawn_key=(_claim_key(self.claim.id),))

    @property
    def sizes(self) -> Mapping[str, Any]:
        """The claim's sizes at this scale."""
        return self.claim.sizes[self.scale]

    @property
    def options(self) -> Mapping[str, Any]:
        """The claim's switches in force."""
        return self.claim.options

    def formula(self, name: str) -> Callable[..., Any]:
        """The closed form ``name`` (an override if a mutation test supplied one)."""
        if name in self.overrides:
            return self.overrides[name]
        try:
            return self.claim.formulas[name]
        except KeyError:
            raise ValueError(f"claim {self.claim.id} has no formula {name!r}") from None

    def spawn(self, count: int) -> list[np.random.SeedSequence]:
        """``count`` independent child seed sequences (deterministic in call order)."""
        return self._root.spawn(check_int(count, "count", 1))

    def rng(self) -> np.random.Generator:
        """A fresh generator for work done in the calling process (e.g. a bootstrap)."""
        return np.random.default_rng(self.spawn(1)[0])

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        """Run ``fn`` over the zipped arguments on the executor; results in input order.

        ``fn`` must be a module-level function (it is pickled to worker processes).
        """
        futures = [self.executor.submit(fn, *args) for args in zip(*iterables, strict=True)]
        return [f.result() for f in futures]


@dataclass
class _Outcome:
    claim: Claim
    evidence: Evidence | None
    wall_time: float
    error: str | None = None


def _run_one(claim: Claim, scale: str, seed: int, executor: cf.Executor, overrides) -> _Outcome:
    ctx = RunContext(claim=claim, scale=scale, seed=seed, executor=executor, overrides=overrides or {})
    start = time.perf_counter()
    try:
        evidence = claim.run(ctx)
        if not isinstance(evidence, Evidence):
            raise TypeError(f"claim {claim.id} returned {type(evidence).__name__}, not Evidence")
    except Exception as exc:  # a broken claim must not take the whole run down
        return _Outcome(claim, None, time.perf_counter() - start, f"{type(exc).__name__}: {exc}\n"
                        + traceback.format_exc(limit=-3))
    return _Outcome(claim, evidence, time.perf_counter() - start)


def _outside_budget(ev: Evidence) -> str:
    """How a claim outside the Holm budget is decided, for its ``family`` line."""
    parts = list(ev.parts.values()) if isinstance(ev, CompositeEvidence) else [ev]
    bands = {f"{100 * p.level:.4g}%" for p in parts if isinstance(p, BandEvidence)}
    if not bands:
        return "deterministic: tolerance from working precision, outside the error budget"
    rule = f"band rule of the spec read on {'/'.join(sorted(bands))} CIs"
    if any(not isinstance(p, BandEvidence) and not p.statistical for p in parts):
        rule += " and exact parts to working precision"
    return f"{rule}, outside the error budget"


def _result(
    outcome: _Outcome,
    *,
    scale: str,
    seed: int,
    alpha: float | None,
    family: str,
    overrides: Mapping[str, Any],
) -> CheckResult:
    c = outcome.claim
    ev = outcome.evidence
    sizes = dict(c.sizes[scale])
    provenance = {
        "claim": c.id,
        "scale": scale,
        "seed": seed,
        "sizes": sizes,
        "options": dict(c.options),
        "overrides": sorted(overrides),
    }
    common: dict[str, Any] = dict(
        claim_id=c.id,
        title=c.title,
        subject=c.subject,
        evidence=c.evidence,
        sizes=sizes,
        seed=seed,
        scale=scale,
        options=dict(c.options),
        wall_time=round(outcome.wall_time, 3),
        versions=package_versions(),
        params_hash=params_hash(provenance),
    )
    if ev is None:
        nan = float("nan")
        return CheckResult(
            predicted=nan, estimate=nan, ci_low=nan, ci_high=nan, level=None, method="error",
            verdict="inconclusive", reason=f"error: {(outcome.error or '?').splitlines()[0]}",
            details={"traceback": outcome.error}, family=family, **common,
        )
    details = dict(ev.details)
    # The evidence whose numbers the result shows: ``ev`` itself or a composite's headline.
    shown = ev.parts[ev.headline] if isinstance(ev, CompositeEvidence) else ev
    level: float | None
    if ev.statistical and not ev.reason and alpha is not None:
        verdict = ev.decide(alpha)
        lo, hi = ev.interval(1 - alpha)
        level = 1 - alpha
        details["pvalue"] = ev.pvalue()
        details["tested_at_alpha"] = alpha
    else:
        verdict = ev.decide(None)
        if isinstance(shown, BandEvidence):
            # A band rule: the interval shown is the one the rule reads (its own level).
            lo, hi = shown.interval()
            level = shown.level
            details["band"] = [shown.low, shown.high]
        elif ev.statistical:  # forced inconclusive: show the nominal interval
            level = 1 - (alpha if alpha is not None else 0.05)
            lo, hi = ev.interval(level)
        else:
            lo, hi = ev.interval(None)
            level = None
    if isinstance(ev, CompositeEvidence):
        details["parts"] = ev.part_verdicts(alpha)
    if isinstance(shown, OrderEvidence):  # one-sided: `predicted` is the boundary
        details["relation"] = shown.sense
    return CheckResult(
        predicted=float(ev.predicted), estimate=float(ev.estimate), ci_low=float(lo),
        ci_high=float(hi), level=level, method=ev.method, verdict=verdict,
        reason=ev.reason or "", family=family, details=details, **common,
    )


def run_claims(
    claims: list[Claim],
    *,
    scale: str = "quick",
    seed: int = DEFAULT_SEED,
    jobs: int | None = None,
    level: float = 0.95,
    overrides: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,
    progress: Callable[[int, int, CheckResult], None] | None = None,
    executor: cf.Executor | None = None,
) -> list[CheckResult]:
    """Run claims and decide them under one family-wise error budget.

    Parameters
    ----------
    claims : list of Claim
        What to run.
    scale : {"quick", "full"}
        Which sizes to use.
    seed : int
        Base seed (recorded in every result).
    jobs : int, optional
        Worker processes; default: the number of cores.  Results do not depend on it.
    level : float, default 0.95
        Family-wise confidence: the probability that no correct closed form is reported as
        ``disagrees`` is at least ``level``.  Holm's method splits ``1 - level`` across the
        statistical claims; deterministic checks use precision tolerances instead.
    overrides : mapping, optional
        ``{claim id: {formula name: replacement}}`` (mutation tests).
    progress : callable, optional
        Called as ``progress(done, total, provisional_result)`` after each claim finishes.
        Provisional results use Bonferroni over all claims of the run (valid, conservative),
        so a run interrupted later still leaves sound verdicts behind.
    executor : concurrent.futures.Executor, optional
        Use this executor instead of creating one (it is not shut down).

    Returns
    -------
    list of CheckResult
        In the order of ``claims``.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    level = check_level(level)
    jobs = default_jobs() if jobs is None else check_int(jobs, "jobs", 1)
    overrides = overrides or {}
    alpha = 1 - level
    total = len(claims)
    own = executor is None
    pool: cf.Executor = make_executor(jobs) if executor is None else executor
    outcomes: list[_Outcome | None] = [None] * total
    blas = threadpool_limits(limits=BLAS_THREADS, user_api="blas")  # restored below
    try:
        def finish(i: int, outcome: _Outcome, done: int) -> None:
            outcomes[i] = outcome
            if progress is not None:
                prov = _result(
                    outcome, scale=scale, seed=seed, alpha=alpha / max(total, 1),
                    family=f"provisional: Bonferroni over {total} claims",
                    overrides=overrides.get(outcome.claim.id, {}),
                )
                progress(done, total, prov)

        if jobs == 1 or total == 1:
            for i, c in enumerate(claims):
                finish(i, _run_one(c, scale, seed, pool, overrides.get(c.id)), i + 1)
        else:
            with cf.ThreadPoolExecutor(max_workers=min(jobs, total)) as threads:
                futs = {
                    threads.submit(_run_one, c, scale, seed, pool, overrides.get(c.id)): i
                    for i, c in enumerate(claims)
                }
                for done, fut in enumerate(cf.as_completed(futs), start=1):
                    finish(futs[fut], fut.result(), done)
    finally:
        blas.restore_original_limits()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)

    done_outcomes = [o for o in outcomes if o is not None]
    tested = [
        i for i, o in enumerate(done_outcomes)
        if o.evidence is not None and o.evidence.statistical and not o.evidence.reason
    ]
    pvals = [done_outcomes[i].evidence.pvalue() for i in tested]  # type: ignore[union-attr]
    tested_at = holm(pvals, alpha)[1] if tested else np.zeros(0)
    alpha_of = {i: float(a) for i, a in zip(tested, tested_at, strict=True)}
    k = len(tested)
    results = []
    for i, o in enumerate(done_outcomes):
        if i in alpha_of:
            family = (
                f"Holm over {k} statistical claim{'s' if k != 1 else ''} at family level "
                f"{100 * level:.4g}%: tested at alpha = {alpha_of[i]:.4g}"
            )
        elif o.evidence is not None and not o.evidence.statistical:
            family = _outside_budget(o.evidence)
        else:
            family = "undecided statistical part (see reason), outside the error budget"
        results.append(
            _result(o, scale=scale, seed=seed, alpha=alpha_of.get(i), family=family,
                    overrides=overrides.get(o.claim.id, {}))
        )
    return results
