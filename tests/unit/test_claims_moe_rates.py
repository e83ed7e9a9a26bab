"""The verdict pieces of the MoE rate claims (proofs_check/claims/moe_rates.py), on synthetic curves.

The claims themselves run in test_claims_quick.py and their mutations in test_mutations.py
(C7-C10 there are slow/xslow); these tests pin down, in milliseconds, the rules those runs rely
on: a failing part decides even next to an undecided one, every rate part reports its slope,
CI, kept n range and conditioning diagnostic, the conditioning check makes a part
inconclusive, and the C9 negative control and swapped-loss mutation read as §9 says.
"""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from proofs_check import get_claim
from proofs_check._evidence import BootstrapEvidence, CompositeEvidence
from proofs_check.claims import moe_rates as mr

SIZES = np.array([1000.0, 2000.0, 4000.0, 8000.0, 16000.0])


def _ctx(seed=20231124):
    gen = np.random.SeedSequence(seed)
    return SimpleNamespace(rng=lambda: np.random.default_rng(gen.spawn(1)[0]))


def _curve(slope, noise=0.05, reps=20, seed=1):
    g = np.random.default_rng(seed)
    return SIZES**slope * np.exp(noise * g.standard_normal((reps, SIZES.size)))


def test_rate_summary_has_slope_ci_kept_range_and_conditioning():
    cond = mr._Conditioning(s_min=0.01, noise_sd=0.01)
    ev = mr._rate(_ctx(), SIZES, _curve(-0.5), -0.5, cond)
    s = ev.details["summary"]
    assert s["ci95"][0] < s["slope"] < s["ci95"][1]
    # trimming drops the smallest sizes only (here, as a rule, none); the kept range is reported
    first = int(ev.sizes[ev.kept[0]])
    assert s["n_kept"] == [first, 16000]
    assert s["sizes_dropped"] == [int(v) for v in SIZES[: ev.kept[0]]]
    c = s["conditioning"]  # evaluated at the smallest kept n
    assert c["n_min"] == first and c["ratio"] == pytest.approx(0.01 * math.sqrt(first) / 0.01)
    assert c["passes"] and c["applies"] and not ev.reason
    assert f"n {first}..16000" in mr._slope_line("x", ev)


def test_failed_conditioning_makes_the_part_inconclusive_only_where_it_applies():
    bad = mr._Conditioning(s_min=1e-4, noise_sd=0.01)
    ev = mr._rate(_ctx(), SIZES, _curve(-0.5), -0.5, bad)
    part = mr._decided(mr.BandEvidence(ev, -0.65, -0.40))
    assert part.decide() == "inconclusive" and "conditioning check" in part.reason
    reported = mr._Conditioning(s_min=1e-4, noise_sd=0.01, applies=False, note="function level")
    ev = mr._rate(_ctx(), SIZES, _curve(-0.5), -0.5, reported)
    assert not ev.reason and not ev.details["summary"]["conditioning"]["passes"]
    assert mr._decided(mr.BandEvidence(ev, -0.65, -0.40)).decide() == "agrees"


def test_undecided_part_explains_itself_and_does_not_mask_a_failing_part():
    ctx = _ctx()
    undecided = mr._decided(mr.BandEvidence(mr._rate(ctx, SIZES, _curve(-0.37, 0.6), -0.5),
                                            -0.65, -0.40))
    failing = mr._decided(mr.BandEvidence(mr._rate(ctx, SIZES, _curve(-1.0), -0.5), -0.65, -0.40))
    assert undecided.decide() == "inconclusive" and undecided.reason.startswith("undecided")
    assert failing.decide() == "disagrees"
    alone = CompositeEvidence({"a": undecided})
    assert alone.decide() == "inconclusive" and alone.reason.startswith("a: undecided")
    both = CompositeEvidence({"a": undecided, "b": failing}, primary="a")
    assert both.decide() == "disagrees"


def test_paired_difference_refits_over_the_sizes_both_curves_keep():
    ctx = _ctx()
    a = mr._rate(ctx, SIZES, _curve(-0.5, seed=2), -0.5)
    b = mr._rate(ctx, SIZES, _curve(-0.2, seed=3), -0.5)
    b.kept = b.kept[1:]  # as if trimming had dropped n = 1000 from b
    d = mr._paired_difference(a, b, ctx.rng())
    assert d["n_kept"] == [2000, 16000]
    assert d["ci"][0] < d["difference"] < d["ci"][1]
    assert d["difference"] == pytest.approx(0.3, abs=0.1)


@pytest.mark.parametrize(("slope", "threshold", "expected"), [
    (-0.5, mr._slow_threshold(), "inconclusive"),  # parametric F_sup: not 'slow'
    (-1.0, mr._slow_threshold(), "disagrees"),
    (-0.05, mr._slow_threshold(), "agrees"),  # a flat SM curve is 'slow'
    (-0.5, mr._slow_threshold_lenient(), "agrees"),  # what the lenient mutation gets wrong
])
def test_rule_i_reads_slow_only_above_the_threshold(slope, threshold, expected):
    ev = mr._rate(_ctx(), SIZES, _curve(slope, noise=0.3), 0.0)
    assert mr._rule_i(ev, threshold, True, "").decide() == expected


def test_rule_i_never_disagrees_when_the_sanity_line_fails():
    ev = mr._rate(_ctx(), SIZES, _curve(-1.0), 0.0)
    rule = mr._rule_i(ev, mr._slow_threshold(), False, "sanity line fails")
    assert rule.decide() == "inconclusive" and "sanity line fails" in rule.reason


def test_c9_level_test_agrees_and_disagrees_with_the_losses_swapped():
    g = np.random.default_rng(5)
    sm = np.exp(g.normal(-1.0, 0.3, (20, 5)))  # softmax SM around 0.4
    fsup = np.exp(g.normal(-7.0, 0.3, (20, 5)))  # sigmoid F_sup around 1e-3
    same_function_slopes = {"ci": [-0.05, 0.05]}
    verdicts = []
    for formula in (mr._log_ratio, mr._log_ratio_swapped):
        level = BootstrapEvidence(formula(sm, fsup).mean(axis=1), np.mean, math.log(10.0),
                                  np.random.default_rng(6))
        verdicts.append(mr._rule_ii(level, same_function_slopes).decide())
    assert verdicts == ["agrees", "disagrees"]
    level = BootstrapEvidence(mr._log_ratio(sm, fsup).mean(axis=1), np.mean, math.log(10.0),
                              np.random.default_rng(6))
    rule = mr._rule_ii(level, {"ci": [0.1, 0.2]})  # function slopes differ: never 'agrees'
    assert rule.decide() == "inconclusive" and "excludes 0" in rule.reason


def test_c8_fits_for_the_confined_and_the_generic_box():
    confined, generic = mr._c8_fit("confined"), mr._c8_fit("generic")
    assert confined["lower"][4:6] == (-3.0, -5.0) and confined["upper"][4:6] == (-1.5, -2.0)
    assert [s[0] for s in confined["starts"]] == ["fixed", "random"]
    split, away = (s[1] for s in generic["starts"])
    assert split == (1.0, -1.0, 1.0, 0.5, 1.0, -1.0, 1.0, 0.5)  # both on the true gate, halved
    assert away[4:] == (-1.0, -3.0, 0.5, 0.5)
    assert generic["lower"][4:6] == (-3.0, -5.0) and generic["upper"][4:6] == (3.0, 3.0)
    with pytest.raises(ValueError, match="confined"):
        mr._c8_fit("open")


def test_moe_rate_claims_declare_tiers_and_mutations():
    report = get_claim("moe.c8-generic-box-report")
    assert report.tier == "xslow" and report.options["moe.c8_extra_atom_box"] == "generic"
    c9 = get_claim("moe.c9-softmax-overspecified-slow")
    assert {"swap-losses", "lenient-slow-threshold"} <= set(c9.mutations)
    tiers = {c: get_claim(c).tier for c in ("moe.c5-function-rate", "moe.c6-exact-parameter-rate",
                                            "moe.c7-sparse-overspecified",
                                            "moe.c8-dense-sigmoid-overspecified",
                                            "moe.c9-softmax-overspecified-slow",
                                            "moe.c10-monomial-vs-polynomial")}
    assert tiers == {"moe.c5-function-rate": "default", "moe.c6-exact-parameter-rate": "default",
                     "moe.c7-sparse-overspecified": "xslow",
                     "moe.c8-dense-sigmoid-overspecified": "slow",
                     "moe.c9-softmax-overspecified-slow": "xslow",
                     "moe.c10-monomial-vs-polynomial": "xslow"}
