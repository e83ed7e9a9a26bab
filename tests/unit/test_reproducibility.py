"""Same seed, same numbers, whatever the number of workers (every default-tier claim)."""

import pytest

from proofs_check import registered_claims, run_claims


@pytest.mark.slow
def test_every_claim_identical_for_one_and_two_jobs():
    claims = [c for c in registered_claims() if c.tier == "default"]
    one = run_claims(claims, seed=123456789, jobs=1)
    two = run_claims(claims, seed=123456789, jobs=2)
    for a, b in zip(one, two, strict=True):
        assert (a.estimate, a.ci_low, a.ci_high, a.verdict, a.params_hash) == (
            b.estimate, b.ci_low, b.ci_high, b.verdict, b.params_hash
        ) or (a.estimate != a.estimate and b.estimate != b.estimate), a.claim_id


def test_claim_seed_is_independent_of_the_other_claims():
    core = [c for c in registered_claims() if c.id.startswith("core.")]
    (alone,) = run_claims([core[0]], seed=5, jobs=1)
    together = run_claims(core, seed=5, jobs=1)
    assert together[0].estimate == alone.estimate and together[0].ci_low == alone.ci_low


def _blas_threads(info):
    return {lib["num_threads"] for lib in info if lib["user_api"] == "blas"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_claims_run_with_one_blas_thread_in_every_process(jobs):
    """A BLAS call's summation order follows its thread count (pa.c10's lstsq moved by one
    ulp between 1 and 2 OpenBLAS threads), so the runner fixes it wherever claims run."""
    from threadpoolctl import threadpool_info

    from proofs_check import Claim, ExactEvidence

    before = _blas_threads(threadpool_info())
    seen = {}

    def run(ctx):
        seen["main"] = _blas_threads(threadpool_info())
        seen["worker"] = _blas_threads(ctx.executor.submit(threadpool_info).result())
        return ExactEvidence(1.0, 1.0, 0.0)

    claim = Claim(id="demo.blas", title="t", evidence=("MATH",), run=run,
                  sizes={"quick": {}, "full": {}})
    (r,) = run_claims([claim], jobs=jobs)
    assert r.verdict == "agrees"
    assert seen == {"main": {1}, "worker": {1}}
    assert _blas_threads(threadpool_info()) == before  # the caller's setting is restored
