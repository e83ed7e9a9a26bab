import json

import numpy as np
import pytest

from proofs_check import (
    BandEvidence,
    CheckResult,
    Claim,
    CompositeEvidence,
    ExactEvidence,
    MeanEvidence,
    OrderEvidence,
    ProportionEvidence,
    RateEvidence,
    RetryKSEvidence,
    WelchEvidence,
    float_tolerance,
    holm,
    loglog_slope,
)


def _result(**kw):
    base = dict(
        claim_id="core.x", title="t", subject="core", evidence=("MATH",), predicted=0.731,
        estimate=0.729, ci_low=0.724, ci_high=0.739, level=0.99, sizes={"n": 100000},
        seed=12345, scale="quick", method="wilson", verdict="agrees",
    )
    base.update(kw)
    return CheckResult(**base)


def test_result_is_frozen_and_reads_as_one_line():
    r = _result()
    with pytest.raises(AttributeError):
        r.verdict = "disagrees"
    line = str(r)
    assert "\n" not in line
    assert line == (
        "core.x: predicted 0.731, estimate 0.729 in [0.724, 0.739] "
        "(99% CI, n=10^5, seed=12345) — agrees [MATH]"
    )


def test_result_json_round_trip():
    r = _result(evidence=("MATH", "INFERRED"), details={"pvalue": 0.3, "parts": {"a": "agrees"}},
                options={"pa.loss": "correlation"}, versions={"numpy": "2"}, params_hash="abc")
    back = CheckResult.from_json(r.to_json())
    assert back == r
    assert back.reconstruction and "reconstruction" in str(back)
    assert json.loads(r.to_json())["reconstruction"] is True


def test_result_rejects_bad_verdicts():
    with pytest.raises(ValueError, match="verdict"):
        _result(verdict="maybe")
    with pytest.raises(ValueError, match="reason"):
        _result(verdict="inconclusive")


def test_holm_is_between_bonferroni_and_unadjusted():
    rng = np.random.default_rng(4242424242)
    for _ in range(200):
        p = rng.uniform(0, 0.1, size=rng.integers(1, 8))
        reject, at = holm(p, 0.05)
        assert np.all(reject >= (p <= 0.05 / p.size))
        assert np.all(reject <= (p <= 0.05))
        # The reported level is consistent with the decision.
        assert np.all(reject == (p <= at))


def test_exact_evidence_uses_its_tolerance():
    tol = float_tolerance(2.0, ulps=8)
    assert ExactEvidence(1.0, 1.0 + tol / 2, tol).decide() == "agrees"
    assert ExactEvidence(1.0, 1.0 + 2 * tol, tol).decide() == "disagrees"
    assert ExactEvidence(1.0, float("nan"), tol).decide() == "disagrees"
    assert ExactEvidence(1.0, 1.0, tol, reason="ill-conditioned").decide() == "inconclusive"


def test_band_evidence_three_way():
    inner = MeanEvidence(np.array([0.50, 0.52, 0.48, 0.51]), predicted=0.5)
    assert BandEvidence(inner, 0.4, 0.6).decide() == "agrees"
    assert BandEvidence(inner, 0.7, 0.9).decide() == "disagrees"
    wide = MeanEvidence(np.array([0.2, 0.9, 0.5, 0.7]), predicted=0.5)
    assert BandEvidence(wide, 0.62, 0.9).decide() == "inconclusive"


def _band_parts():
    inner = MeanEvidence(np.array([0.98, 0.99, 0.985, 0.995]), predicted=1.0)
    return BandEvidence(inner, 0.67, 1.5), ExactEvidence(1.0, 1.0, 1e-12)


@pytest.mark.parametrize("composite", [False, True])
def test_band_rule_results_show_the_band_and_its_own_interval(composite):
    """A band verdict may agree while its CI misses ``predicted``: the line must say why."""
    from proofs_check import run_claims

    band, exact = _band_parts()
    ev = CompositeEvidence({"ratio": band, "identity": exact}) if composite else band
    claim = Claim(id="demo.band", title="t", evidence=("MATH",), run=lambda ctx: ev,
                  sizes={"quick": {}, "full": {}})
    (r,) = run_claims([claim], jobs=1)
    assert r.verdict == "agrees" and r.level == 0.95
    assert (r.ci_low, r.ci_high) == band.interval() and r.ci_high < r.predicted
    assert r.details["band"] == [0.67, 1.5]
    assert "(95% CI, band [0.67, 1.5]," in str(r)
    assert r.family.startswith("band rule of the spec read on 95% CIs")
    assert ("exact parts" in r.family) == composite


def test_one_sided_results_say_their_relation():
    from proofs_check import run_claims

    ev = OrderEvidence(np.array([-0.2, -0.1, -0.15, -0.12]), "<", 0.0, strict_level=0.9)
    claim = Claim(id="demo.order", title="t", evidence=("MATH",),
                  run=lambda ctx: CompositeEvidence({"gap": ev}), sizes={"quick": {}, "full": {}})
    (r,) = run_claims([claim], jobs=1)
    assert r.verdict == "agrees" and r.details["relation"] == "<"
    assert str(r).startswith("demo.order: predicted < 0, estimate -0.1425 in [")
    assert "relation" not in _result().details and "predicted 0.731," in str(_result())


def test_exact_results_keep_the_tolerance_wording():
    from proofs_check import run_claims

    claim = Claim(id="demo.exact", title="t", evidence=("MATH",),
                  run=lambda ctx: _band_parts()[1], sizes={"quick": {}, "full": {}})
    (r,) = run_claims([claim], jobs=1)
    assert r.level is None and "band" not in r.details
    assert r.family.startswith("deterministic") and "(tolerance," in str(r)


def test_composite_bonferroni_and_exact_parts():
    good = ProportionEvidence(500, 1000, 0.5)
    bad = ProportionEvidence(600, 1000, 0.5)
    comp = CompositeEvidence({"a": good, "b": bad})
    assert comp.headline == "b"
    assert comp.pvalue() == pytest.approx(min(1, 2 * bad.pvalue()))
    assert comp.decide(0.05) == "disagrees"
    failing_exact = CompositeEvidence({"a": good, "e": ExactEvidence(0.0, 1.0, 0.1)})
    assert failing_exact.decide(0.05) == "disagrees"
    assert failing_exact.headline == "e"


def test_rate_evidence_recovers_a_known_slope_and_trims_curvature():
    rng = np.random.default_rng(8675309)
    n = 1000.0 * 2.0 ** np.arange(7)
    clean = n**-0.5 * np.exp(0.05 * rng.normal(size=(20, n.size)))
    ev = RateEvidence(n, clean, -0.5, rng=rng)
    lo, hi = ev.interval(0.95)
    assert lo < -0.5 < hi and ev.decide(0.05) == "agrees"
    curved = (n**-0.5 + 60.0 / n) * np.exp(0.02 * rng.normal(size=(20, n.size)))
    plain = RateEvidence(n, curved, -0.5, rng=rng)
    trimmed = RateEvidence(n, curved, -0.5, rng=rng, trim=True)
    assert plain.decide(0.05) == "disagrees"
    assert trimmed.details["sizes_dropped"], "the pre-asymptotic sizes should be dropped"
    assert abs(trimmed.estimate + 0.5) < abs(plain.estimate + 0.5)
    assert loglog_slope(n, 3 * n**-0.25) == pytest.approx(-0.25, abs=1e-12)


def test_rate_evidence_inconclusive_when_curvature_persists():
    rng = np.random.default_rng(5551212)
    n = 1000.0 * 2.0 ** np.arange(5)
    x = np.log(n) - np.log(n).mean()
    metric = np.exp(-0.5 * np.log(n) + 0.8 * x**2) * np.exp(0.01 * rng.normal(size=(10, n.size)))
    ev = RateEvidence(n, metric, -0.5, rng=rng, trim=True, min_sizes=4)
    assert ev.decide(0.05) == "inconclusive" and "pre-asymptotic" in ev.reason


def _run(ctx):
    return ExactEvidence(0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "fields, name",
    [
        (dict(id="NoDot"), "id"),
        (dict(evidence=()), "evidence"),
        (dict(evidence=("GUESS",)), "evidence label"),
        (dict(sizes={"quick": {}}), "sizes"),
        (dict(tier="weekly"), "tier"),
        (dict(mutations={"m": ("nope", abs)}), "mutation"),
    ],
)
def test_claim_validation(fields, name):
    base = dict(id="core.ok", title="t", evidence=("MATH",), run=_run,
                sizes={"quick": {}, "full": {}})
    base.update(fields)
    with pytest.raises(ValueError, match=name):
        Claim(**base)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: holm([0.5, 1.5], 0.05), "pvalues"),
        (lambda: holm([0.5], 0.0), "alpha"),
        (lambda: ProportionEvidence(3, 2, 0.5), "successes"),
        (lambda: ProportionEvidence(1, 2, 1.5), "predicted"),
        (lambda: MeanEvidence(np.array([1.0, np.nan]), 0.0), "samples"),
        (lambda: RateEvidence([1, 2, 3], np.ones((2, 3)) * -1, -0.5, rng=np.random.default_rng(1)),
         "metrics"),
        (lambda: float_tolerance(-1.0), "scale"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_label_evidence_and_composite_headline():
    from proofs_check import LabelEvidence

    assert LabelEvidence("dependent", "dependent", 1e-16).decide() == "agrees"
    assert LabelEvidence("dependent", "independent", 0.3).decide() == "disagrees"
    undecided = LabelEvidence("dependent", "inconclusive", 1e-9)
    assert undecided.decide() == "inconclusive" and "undecided" in undecided.reason
    comp = CompositeEvidence({"a": LabelEvidence("zero", "zero"), "b": LabelEvidence("zero", "zero")})
    assert (comp.predicted, comp.estimate) == (2.0, 2.0) and comp.decide() == "agrees"
    mixed = CompositeEvidence(
        {"main": ExactEvidence(1.0, 1.0, 1e-12), "side": ExactEvidence(0.0, 1e-13, 1e-12)}, primary="main"
    )
    assert mixed.headline == "main"
    broken = CompositeEvidence(
        {"main": ExactEvidence(1.0, 1.0, 1e-12), "side": ExactEvidence(0.0, 1.0, 1e-12)}, primary="main"
    )
    assert broken.headline == "side" and broken.decide() == "disagrees"
    with pytest.raises(ValueError, match="primary"):
        CompositeEvidence({"a": LabelEvidence("x", "x")}, primary="zz")


def test_failing_exact_part_beats_an_undecided_part():
    comp = CompositeEvidence({
        "exact": ExactEvidence(0.0, 1.0, 1e-12),
        "rate": ExactEvidence(0.0, 0.0, 1e-12, reason="pre-asymptotic"),
    })
    assert comp.reason and comp.decide() == "disagrees"
    calm = CompositeEvidence({
        "exact": ExactEvidence(0.0, 0.0, 1e-12),
        "rate": ExactEvidence(0.0, 0.0, 1e-12, reason="pre-asymptotic"),
    })
    assert calm.decide() == "inconclusive"


def test_composite_headline_shows_the_disagreeing_part_before_an_undecided_one():
    from proofs_check import LabelEvidence

    comp = CompositeEvidence({
        "undecided": LabelEvidence("dependent", "inconclusive", 1e-9),
        "wrong": ExactEvidence(0.0, 1.0, 1e-12),
    })
    assert comp.headline == "wrong" and comp.decide() == "disagrees"


@pytest.mark.parametrize(("make", "match"), [
    (lambda: OrderEvidence(np.ones(5), "=<"), "sense must be one of"),
    (lambda: OrderEvidence(np.ones(5), "<=", boundary=float("nan")), "boundary"),
    (lambda: OrderEvidence(np.ones(5), "<", strict_level=1.0), "strict_level"),
    (lambda: OrderEvidence(np.ones(1), "<="), "at least 2"),
    (lambda: WelchEvidence([np.ones(3), np.ones(3)], (1.0,), 0.0), "coefficients must be 2"),
    (lambda: WelchEvidence([np.ones(3), np.ones(3)], (1.0, np.inf), 0.0), "coefficients"),
    (lambda: WelchEvidence([np.ones(3), [1.0, np.nan]], (1.0, -1.0), 0.0), r"samples\[1\]"),
    (lambda: WelchEvidence([np.ones(3)], (1.0,), float("inf")), "predicted"),
    (lambda: RetryKSEvidence(np.zeros(10), None, threshold=0.0), "threshold"),
])
def test_test_forms_reject_bad_input_naming_the_parameter(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_retry_ks_needs_its_retry_sample_only_when_the_first_test_fails():
    rng = np.random.default_rng(3)
    assert RetryKSEvidence(rng.normal(size=200), None).details["retried"] is False
    with pytest.raises(ValueError, match="retry sample is required"):
        RetryKSEvidence(np.linspace(5, 6, 200), None)
    ev = RetryKSEvidence(np.linspace(5, 6, 200), rng.normal(size=200))
    assert ev.details["retried"] and ev.pvalue() <= ev.threshold
