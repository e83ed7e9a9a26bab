"""The verdict engine is itself checked: intervals cover at their nominal level, the slope
interval covers a known exponent, and the engine's false-alarm rate matches its level.

Each test repeats an experiment with a known answer ``REPS`` times (seeds pinned) and runs
a binomial test on the number of successes (STYLE.md §6; SciPy's
``test_bootstrap_against_itself_1samp``).
"""

import numpy as np
import pytest
from scipy import stats

from proofs_check import (
    Claim,
    MeanEvidence,
    OrderEvidence,
    RateEvidence,
    RetryKSEvidence,
    WelchEvidence,
    bca_interval,
    bootstrap_distribution,
    clopper_pearson_interval,
    jackknife_acceleration,
    percentile_interval,
    run_claims,
    t_interval,
    wilson_interval,
)

REPS = 1000
LEVEL = 0.9


def _binom_ok(hits, level=LEVEL, alternative="two-sided"):
    p = stats.binomtest(int(hits), REPS, level, alternative=alternative).pvalue
    assert p > 0.1, f"coverage {hits}/{REPS} against nominal {level}: binomial p = {p:.3g}"


def test_t_interval_coverage():
    rng = np.random.default_rng(1111111111)
    hits = 0
    for _ in range(REPS):
        lo, hi = t_interval(rng.normal(3.0, 2.0, size=8), LEVEL)
        hits += lo <= 3.0 <= hi
    _binom_ok(hits)


def test_wilson_coverage():
    rng = np.random.default_rng(2222222222)
    n, p = 20_000, 0.16
    hits = sum(lo <= p <= hi for lo, hi in
               (wilson_interval(int(k), n, LEVEL) for k in rng.binomial(n, p, size=REPS)))
    _binom_ok(hits)


def test_clopper_pearson_coverage_at_least_nominal():
    rng = np.random.default_rng(3333333333)
    n, p = 20_000, 0.16
    hits = sum(lo <= p <= hi for lo, hi in
               (clopper_pearson_interval(int(k), n, LEVEL) for k in rng.binomial(n, p, size=REPS)))
    # Exact intervals are conservative by construction: test "coverage >= nominal".
    _binom_ok(hits, alternative="less")


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_coverage(method):
    rng = np.random.default_rng(4444444444 + (method == "bca"))
    hits = 0
    for _ in range(REPS):
        x = rng.normal(1.0, 1.0, size=25)
        boot = bootstrap_distribution(x, np.mean, n_resamples=400, rng=rng)
        if method == "bca":
            lo, hi = bca_interval(boot, x.mean(), jackknife_acceleration(x, np.mean), LEVEL)
        else:
            lo, hi = percentile_interval(boot, LEVEL, replicates=x.size)
        hits += lo <= 1.0 <= hi
    _binom_ok(hits)


def test_slope_interval_covers_known_exponent():
    rng = np.random.default_rng(5555555555)
    n = 1000.0 * 2.0 ** np.arange(6)
    hits = 0
    for _ in range(REPS):
        metrics = 2.0 * n**-0.5 * np.exp(0.3 * rng.normal(size=(30, n.size)))
        ev = RateEvidence(n, metrics, -0.5, rng=rng, centre="mean", n_resamples=400)
        lo, hi = ev.interval(LEVEL)
        hits += lo <= -0.5 <= hi
    _binom_ok(hits)


@pytest.mark.parametrize("sense", ["<=", ">="])
def test_order_evidence_false_alarm_rate_at_the_boundary(sense):
    """A non-strict inequality that holds with equality: 'disagrees' at rate alpha exactly."""
    rng = np.random.default_rng(6666666666 + (sense == ">="))
    alpha = 1 - LEVEL
    alarms = sum(OrderEvidence(rng.normal(0.3, 2.0, size=9), sense, boundary=0.3).decide(alpha)
                 == "disagrees" for _ in range(REPS))
    _binom_ok(alarms, level=alpha)


def test_order_evidence_strict_inequality_never_alarms_more_than_alpha():
    """At the boundary a strict inequality is unresolved: inconclusive, false alarms <= alpha."""
    rng = np.random.default_rng(7777777777)
    alpha = 1 - LEVEL
    verdicts = [OrderEvidence(rng.normal(0.0, 1.0, size=9), "<", strict_level=0.99).decide(alpha)
                for _ in range(REPS)]
    _binom_ok(verdicts.count("disagrees"), level=alpha, alternative="greater")
    assert verdicts.count("agrees") <= REPS * 0.03  # resolved only at the 1% one-sided level


def test_order_evidence_one_sided_bound_covers():
    """``interval(L)`` is two-sided at 2L - 1, so each end is a one-sided bound at L."""
    rng = np.random.default_rng(8888888888)
    hits = sum(OrderEvidence(rng.normal(1.0, 2.0, size=9), "<=", boundary=5.0).interval(LEVEL)[1]
               >= 1.0 for _ in range(REPS))
    _binom_ok(hits)


def test_welch_interval_covers_a_contrast_with_unequal_variances():
    rng = np.random.default_rng(9999999999)
    hits = 0
    for _ in range(REPS):
        x, y = rng.normal(1.0, 1.0, size=10), rng.normal(0.5, 3.0, size=25)
        lo, hi = WelchEvidence([x, y], (2.0, -1.0), predicted=1.5).interval(LEVEL)
        hits += lo <= 1.5 <= hi
    _binom_ok(hits)


def test_retry_ks_pvalue_is_uniform_with_the_retry_counted():
    """With threshold c, p = p1 if p1 > c else c p2: P(p <= alpha) = alpha for alpha <= c.

    c = 0.3 makes the retry branch decide most alarms (0.3 x 1/3 = 0.1 at alpha = 0.1), so a
    p-value that forgot the retry (p2 alone) would alarm at 0.03 and fail this test."""
    rng = np.random.default_rng(1212121212)
    alpha = 1 - LEVEL
    alarms = retried = 0
    for _ in range(REPS):
        ev = RetryKSEvidence(rng.normal(size=60), rng.normal(size=60), threshold=0.3)
        alarms += ev.pvalue() <= alpha
        retried += ev.details["retried"]
    _binom_ok(alarms, level=alpha)
    assert retried > REPS * 0.2


def _null_claim(index):
    def run(ctx):
        return MeanEvidence(ctx.rng().normal(0.0, 1.0, size=12), predicted=0.0)

    return Claim(id=f"calib.null-{index}", title="null", evidence=("MATH",), run=run,
                 sizes={"quick": {"n": 12}, "full": {"n": 12}})


@pytest.mark.parametrize("k", [1, 3])
def test_engine_false_alarm_rate_matches_level(k):
    """With every closed form right, 'disagrees' happens with probability <= 1 - level.

    For one claim the rate equals the level (two-sided test); for a family Holm keeps the
    family-wise rate at or below it (one-sided test), and for independent tests near it.
    """
    claims = [_null_claim(i) for i in range(k)]
    alarms = 0
    for seed in range(REPS):
        results = run_claims(claims, scale="quick", seed=seed, jobs=1, level=LEVEL)
        alarms += any(r.verdict == "disagrees" for r in results)
    alpha = 1 - LEVEL
    p_two = stats.binomtest(alarms, REPS, alpha).pvalue
    p_over = stats.binomtest(alarms, REPS, alpha, alternative="greater").pvalue
    if k == 1:
        assert p_two > 0.1, f"{alarms}/{REPS} false alarms at alpha = {alpha}"
    else:
        assert p_over > 0.1, f"{alarms}/{REPS} family-wise false alarms at alpha = {alpha}"
        # Holm is not needlessly conservative for independent tests.
        assert alarms > REPS * alpha * 0.6
