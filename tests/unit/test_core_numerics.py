import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from numerics.core import (
    central_difference_step,
    chunk_generators,
    chunk_sizes,
    kernel_seeds,
    oracle_error_count,
    set_thread_count,
    softmax,
    softmax_jacobian_fd,
)
from numerics.core._mixture import _oracle_error_count_kernel
from numerics.core._softmax import _softmax_kernel


def test_softmax_matches_numpy_reference():
    z = np.array([1000.0, 999.0, -5.0])
    ref = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert np.allclose(softmax(z), ref, rtol=0, atol=4 * np.finfo(float).eps)
    assert softmax(z).sum() == pytest.approx(1.0, abs=4e-16)


@pytest.mark.parametrize("parallel", [False, True])
def test_softmax_kernel_inside_a_caller(parallel):
    @njit(parallel=parallel)
    def caller(zs, out):
        for i in numba.prange(zs.shape[0]):
            _softmax_kernel(zs[i], out[i])

    zs = np.random.default_rng(123456789).normal(size=(7, 5))
    out = np.empty_like(zs)
    caller(zs, out)
    for i in range(7):
        assert np.array_equal(out[i], softmax(zs[i]))


def test_fd_jacobian_within_its_error_bound():
    z = np.random.default_rng(987654321).normal(scale=3, size=6)
    s = softmax(z)
    exact = np.diag(s) - np.outer(s, s)
    h = central_difference_step()
    bound = h * h / 6 + 4 * 6 * np.finfo(float).eps / h
    err = np.abs(softmax_jacobian_fd(z, h) - exact).max()
    assert err <= bound
    # A step far from optimal is visibly worse: the bound is not vacuous.
    assert np.abs(softmax_jacobian_fd(z, 1e-2) - exact).max() > bound


def test_oracle_count_reproducible_across_thread_counts():
    mu = np.array([0.6, -0.3, 0.2])
    counts = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        set_thread_count(threads)
        counts.append(oracle_error_count(mu, 300_001, rng=424242, chunk=10_000))
    set_thread_count(numba.config.NUMBA_NUM_THREADS)
    assert counts[0] == counts[1]
    assert oracle_error_count(mu, 300_001, rng=424243, chunk=10_000) != counts[0]


def test_oracle_kernel_inside_a_caller():
    @njit
    def caller(gen, mu):
        return _oracle_error_count_kernel(gen, 5000, mu) + _oracle_error_count_kernel(gen, 5000, mu)

    mu = np.array([0.5, 0.5])
    a = caller(np.random.default_rng(77777777), mu)
    gen = np.random.default_rng(77777777)
    b = _oracle_error_count_kernel(gen, 5000, mu) + _oracle_error_count_kernel(gen, 5000, mu)
    assert a == b and 0 < a < 10000


def test_chunks_and_generators():
    assert chunk_sizes(10, 4) == [4, 4, 2] and chunk_sizes(8, 4) == [4, 4]
    g1 = [g.random() for g in chunk_generators(99, 3)]
    g2 = [g.random() for g in chunk_generators(np.random.SeedSequence(99), 3)]
    assert g1 == g2 and len(set(g1)) == 3


def test_kernel_seeds_deterministic():
    assert np.array_equal(kernel_seeds(5, 4), kernel_seeds(5, 4))
    assert kernel_seeds(5, 4).dtype == np.uint32


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: softmax([]), "z"),
        (lambda: softmax([np.nan]), "z"),
        (lambda: softmax_jacobian_fd([1.0, 2.0], h=-1.0), "h"),
        (lambda: oracle_error_count([1.0], 0, rng=1), "n_samples"),
        (lambda: oracle_error_count([[1.0]], 10, rng=1), "mu"),
        (lambda: oracle_error_count([np.inf], 10, rng=1), "mu"),
        (lambda: kernel_seeds(-3, 2), "rng"),
        (lambda: kernel_seeds(1, 0), "count"),
        (lambda: central_difference_step(0.0), "third_derivative_bound"),
        (lambda: set_thread_count(0), "count"),
        (lambda: chunk_sizes(0, 3), "total"),
        (lambda: chunk_generators("seed", 2), "rng"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_exp_nonpositive_within_one_ulp_of_numpy_on_its_domain():
    from numerics.core._fastexp import exp_nonpositive

    x = np.concatenate([
        -np.random.default_rng(0).uniform(0.0, 700.0, 200_000),
        -np.random.default_rng(1).exponential(1.0, 50_000),
        [0.0, -0.0, -1e-300, -np.log(2.0) / 2, -700.0],
    ])
    out = np.empty_like(x)
    exp_nonpositive(x, out, np.empty(x.size, dtype=np.int64), x.size)
    ref = np.exp(x)
    assert np.max(np.abs(out - ref) / np.spacing(ref)) <= 1.0
    # below the floor the value is e^-700, tiny but normal; only the first n entries change
    y = np.array([-800.0, -1.0, 5.0])
    exp_nonpositive(y, y, np.empty(3, dtype=np.int64), 2)
    assert y[0] == out[-1] and y[2] == 5.0


@given(st.floats(min_value=-700.0, max_value=0.0))
def test_exp_nonpositive_property(x):
    from numerics.core._fastexp import exp_nonpositive

    out = np.empty(1)
    exp_nonpositive(np.array([x]), out, np.empty(1, dtype=np.int64), 1)
    ref = np.exp(x)
    assert abs(out[0] - ref) <= np.spacing(ref)
