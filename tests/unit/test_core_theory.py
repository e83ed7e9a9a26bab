import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy import stats

from theory.core import (
    gaussian_tail,
    gaussian_tail_mp,
    oracle_error,
    oracle_error_mp,
    softmax_jacobian_closed_form,
    softmax_jacobian_derived,
    softmax_jacobian_function,
    verify_softmax_jacobian,
)


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_derived_jacobian_equals_closed_form(T):
    assert verify_softmax_jacobian(T)


def test_wrong_closed_form_is_rejected():
    wrong = softmax_jacobian_closed_form(3) * sp.Rational(103, 100)
    assert not verify_softmax_jacobian(3, closed_form=wrong)


def test_lambdified_jacobian_is_stable_for_large_scores():
    J = softmax_jacobian_function(3)(np.array([800.0, 801.0, 0.0]))
    assert np.all(np.isfinite(J))
    assert np.allclose(J.sum(axis=1), 0, atol=1e-15)


def test_gaussian_tail_matches_scipy_and_mpmath():
    xs = np.linspace(-6, 8, 57)
    for x in xs:
        ref = stats.norm.sf(x)
        assert gaussian_tail(x) == pytest.approx(ref, rel=1e-13, abs=1e-300)
        with mpmath.workdps(60):
            hi = gaussian_tail_mp(x, dps=60)
            assert abs(hi - mpmath.quad(lambda t: mpmath.npdf(t), [x, mpmath.inf])) < mpmath.mpf(10) ** -55


def test_oracle_error_is_q_of_r():
    assert oracle_error(0.0) == 0.5
    assert float(oracle_error_mp(1.3)) == pytest.approx(oracle_error(1.3), rel=1e-15)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: oracle_error(-1.0), "r"),
        (lambda: oracle_error(float("nan")), "r"),
        (lambda: gaussian_tail_mp(1.0, dps=5), "dps"),
        (lambda: softmax_jacobian_derived(0), "T"),
        (lambda: softmax_jacobian_function(2)(np.zeros(3)), "z"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
