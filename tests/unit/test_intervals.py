import numpy as np
import pytest
from scipy import stats

from proofs_check import (
    bca_interval,
    binomial_pvalue,
    bootstrap_distribution,
    bootstrap_pvalue,
    clopper_pearson_interval,
    jackknife_acceleration,
    percentile_interval,
    t_interval,
    t_pvalue,
    wilson_interval,
    wilson_pvalue,
)


def test_t_interval_matches_scipy():
    x = np.random.default_rng(31415926).normal(2.0, 3.0, size=17)
    lo, hi = t_interval(x, 0.9)
    ref = stats.t.interval(0.9, df=16, loc=x.mean(), scale=stats.sem(x))
    assert (lo, hi) == pytest.approx(ref, rel=1e-12)
    assert t_pvalue(x, 2.0) == pytest.approx(stats.ttest_1samp(x, 2.0).pvalue, rel=1e-12)


@pytest.mark.parametrize("k, n", [(0, 20), (3, 20), (37, 100), (100, 100)])
def test_proportion_intervals_match_scipy(k, n):
    res = stats.binomtest(k, n)
    for method, ours in (("wilson", wilson_interval), ("exact", clopper_pearson_interval)):
        ref = res.proportion_ci(confidence_level=0.95, method=method)
        assert ours(k, n, 0.95) == pytest.approx((ref.low, ref.high), abs=1e-12)


@pytest.mark.parametrize("k, n, p0", [(3, 20, 0.3), (37, 100, 0.5), (500, 1000, 0.48)])
def test_pvalues_invert_their_intervals(k, n, p0):
    for level in (0.8, 0.95, 0.99):
        lo, hi = wilson_interval(k, n, level)
        assert (lo <= p0 <= hi) == (wilson_pvalue(k, n, p0) > 1 - level)
        lo, hi = clopper_pearson_interval(k, n, level)
        assert (lo <= p0 <= hi) == (binomial_pvalue(k, n, p0) > 1 - level)


def test_bootstrap_percentile_and_bca_agree_with_scipy():
    rng = np.random.default_rng(27182818)
    x = rng.exponential(size=40)
    boot = bootstrap_distribution(x, np.mean, n_resamples=20000, rng=rng)
    a = jackknife_acceleration(x, np.mean)
    for method, ours in (("percentile", percentile_interval(boot, 0.9)),
                         ("BCa", bca_interval(boot, x.mean(), a, 0.9))):
        ref = stats.bootstrap((x,), np.mean, method=method, confidence_level=0.9,
                              n_resamples=20000, rng=np.random.default_rng(1)).confidence_interval
        # Two independent bootstraps: Monte Carlo error of a 5% quantile with 2e4 draws.
        assert ours == pytest.approx((ref.low, ref.high), abs=0.03)


@pytest.mark.parametrize("method, expand", [("percentile", None), ("percentile", 30), ("bca", None)])
def test_bootstrap_pvalue_inverts_interval(method, expand):
    rng = np.random.default_rng(16180339)
    x = rng.gamma(2.0, size=30)
    boot = bootstrap_distribution(x, np.mean, n_resamples=4000, rng=rng)
    a = jackknife_acceleration(x, np.mean) if method == "bca" else 0.0
    for level in (0.8, 0.9, 0.99):
        if method == "bca":
            lo, hi = bca_interval(boot, x.mean(), a, level)
        else:
            lo, hi = percentile_interval(boot, level, replicates=expand)
        spacing = np.max(np.diff(np.sort(boot)))
        for theta, side in ((lo - 1e-9, 0), (hi + 1e-9, 1)):
            p = bootstrap_pvalue(boot, theta, method=method, theta_hat=x.mean(), acceleration=a,
                                 replicates=expand)
            # The interval at confidence 1 - p ends at theta (up to the bootstrap's spacing).
            if method == "bca":
                ends = bca_interval(boot, x.mean(), a, 1 - p)
            else:
                ends = percentile_interval(boot, 1 - p, replicates=expand)
            assert ends[side] == pytest.approx(theta, abs=2 * spacing)
            assert p == pytest.approx(1 - level, rel=0.25)
        inside = bootstrap_pvalue(boot, x.mean(), method=method, theta_hat=x.mean(), acceleration=a,
                                  replicates=expand)
        assert inside > 1 - level


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: t_interval([1.0], 0.9), "samples"),
        (lambda: t_interval([1.0, 2.0], 1.5), "level"),
        (lambda: wilson_interval(5, 3, 0.9), "successes"),
        (lambda: wilson_interval(1, 0, 0.9), "trials"),
        (lambda: wilson_pvalue(1, 3, 1.5), "p0"),
        (lambda: bootstrap_distribution([1.0], np.mean, rng=np.random.default_rng(1)), "data"),
        (lambda: bootstrap_pvalue([1.0, 2.0], 0.0, method="studentized"), "method"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
