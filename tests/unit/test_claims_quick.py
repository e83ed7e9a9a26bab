"""Every registered claim, at quick scale, agrees with its closed form.

One parametrised test over the registry: adding a claim needs no edit here.  Heavy claims
declare ``tier="slow"`` or ``"xslow"`` and are marked accordingly.
"""

import pytest

from proofs_check import registered_claims, run_claims

MARKS = {"slow": [pytest.mark.slow], "xslow": [pytest.mark.xslow], "default": []}
CLAIMS = [pytest.param(c, id=c.id, marks=MARKS[c.tier]) for c in registered_claims()]


@pytest.mark.parametrize("claim", CLAIMS)
def test_claim_agrees_at_quick_scale(claim):
    (result,) = run_claims([claim], scale="quick", jobs=1)
    if not claim.known_discrepancy:  # a documented non-reproduction may disagree
        assert result.verdict != "disagrees", str(result)
    if result.verdict == "inconclusive":
        assert result.reason and not result.reason.startswith("error:"), str(result)
    assert not (result.reason or "").startswith("error:"), str(result)
    assert result.claim_id in str(result) and result.params_hash


def test_registry_is_not_empty_and_every_claim_has_mutations():
    claims = registered_claims()
    assert len(claims) >= 2
    missing = [c.id for c in claims if not c.mutations]
    assert not missing, f"claims without a mutation test: {missing}"
