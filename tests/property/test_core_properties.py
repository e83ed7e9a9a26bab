import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from numerics.core import central_difference_step, softmax, softmax_jacobian_fd
from proofs_check import CheckResult, holm, wilson_interval, wilson_pvalue

seeds = st.integers(0, 2**32 - 1)


@given(seed=seeds, T=st.integers(1, 12), scale=st.floats(0.1, 20.0))
def test_softmax_jacobian_properties(seed, T, scale):
    z = np.random.default_rng(seed).normal(scale=scale, size=T)
    s = softmax(z)
    J = np.diag(s) - np.outer(s, s)
    assert np.allclose(J, J.T, atol=0)
    assert np.allclose(J.sum(axis=1), 0.0, atol=8 * T * np.finfo(float).eps)
    assert np.linalg.eigvalsh(J).min() >= -16 * T * np.finfo(float).eps
    h = central_difference_step()
    bound = h * h / 6 + 4 * T * np.finfo(float).eps / h
    assert np.abs(softmax_jacobian_fd(z, h) - J).max() <= bound


@given(seed=seeds, k=st.integers(1, 10), alpha=st.floats(0.001, 0.5))
def test_holm_controls_like_bonferroni_and_is_monotone(seed, k, alpha):
    p = np.random.default_rng(seed).uniform(0, 2 * alpha, size=k)
    reject, at = holm(p, alpha)
    assert np.all(reject >= (p <= alpha / k))
    assert np.all(reject == (p <= at))
    # Lowering any p-value never un-rejects another hypothesis.
    lower = p.copy()
    lower[0] /= 2
    assert np.all(holm(lower, alpha)[0] >= reject)


@given(n=st.integers(1, 10_000), data=st.data(), level=st.floats(0.5, 0.999))
def test_wilson_interval_contains_exactly_the_unrejected(n, data, level):
    k = data.draw(st.integers(0, n))
    p0 = data.draw(st.floats(0.001, 0.999))
    lo, hi = wilson_interval(k, n, level)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    p = wilson_pvalue(k, n, p0)
    if abs(p - (1 - level)) > 1e-9:
        assert (lo <= p0 <= hi) == (p > 1 - level)


@given(
    est=st.floats(-1e6, 1e6),
    seed=st.integers(0, 2**63 - 1),
    labels=st.lists(st.sampled_from(["MATH", "INFERRED", "RELATED:2002.11544", "QUOTED"]),
                    min_size=1, max_size=3),
)
def test_result_json_round_trip(est, seed, labels):
    r = CheckResult(
        claim_id="gmm.x", title="t", subject="gmm", evidence=tuple(labels), predicted=0.5,
        estimate=est, ci_low=est - 1, ci_high=est + 1, level=0.95, sizes={"n": 10, "d": 3},
        seed=seed, scale="quick", method="t", verdict="agrees", details={"p": [1, 2]},
    )
    assert CheckResult.from_json(r.to_json()) == r
    assert r.reconstruction == ("INFERRED" in labels)
