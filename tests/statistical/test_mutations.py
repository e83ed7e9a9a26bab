"""Mutation tests: every claim, fed each of its deliberately wrong formulas, disagrees.

A check that cannot fail is worse than none (scipy/scipy#13167).  Claims declare their
natural mutations in the registry; this one parametrised test runs them all at quick scale.
"""

import pytest

from proofs_check import registered_claims, run_claims

MARKS = {"slow": [pytest.mark.slow], "xslow": [pytest.mark.xslow], "default": []}
CASES = [
    pytest.param(c, name, id=f"{c.id}:{name}", marks=MARKS[c.tier])
    for c in registered_claims()
    for name in c.mutations
]


@pytest.mark.parametrize("claim, mutation", CASES)
def test_wrong_formula_disagrees(claim, mutation):
    target, wrong = claim.mutations[mutation]
    (result,) = run_claims([claim], scale="quick", jobs=1, overrides={claim.id: {target: wrong}})
    assert result.verdict == "disagrees", str(result)
    if claim.known_discrepancy:
        # the claim may disagree unmutated: the mutation must turn some part that did not
        # disagree into one that does, or the test could not fail
        (plain,) = run_claims([claim], scale="quick", jobs=1)
        before, after = plain.details["parts"], result.details["parts"]
        flipped = [k for k in after if after[k] == "disagrees" and before[k] != "disagrees"]
        assert flipped, (before, after)


def test_every_claim_has_a_mutation():
    assert all(c.mutations for c in registered_claims())
