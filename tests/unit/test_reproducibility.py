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
