"""The input-validation primitives of both layers (theory.core._validate, numerics.core._validate).

The two modules are twins (the layer rule forbids sharing one), so every test runs on both.
"""

import fractions
import inspect
import math
import pathlib
import re

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import numerics.core._validate as nv
import theory.core._validate as tv

MODULES = [pytest.param(tv, id="theory"), pytest.param(nv, id="numerics")]
PUBLIC = ("check_array", "check_choice", "check_int", "check_real", "check_vector")


def _public(mod):
    return {n for n, f in vars(mod).items()
            if inspect.isfunction(f) and f.__module__ == mod.__name__ and not n.startswith("_")}


def test_twins_define_the_same_functions():
    assert _public(tv) == _public(nv) == set(PUBLIC)
    for name in PUBLIC:
        assert inspect.signature(getattr(tv, name)) == inspect.signature(getattr(nv, name))


def test_twins_are_identical_files():
    assert pathlib.Path(tv.__file__).read_text() == pathlib.Path(nv.__file__).read_text()


def test_twins_are_private():
    import numerics.core
    import theory.core
    for pkg in (theory.core, numerics.core):
        assert not set(PUBLIC) & set(pkg.__all__)


def _raises(call, *parts):
    """Assert ``call`` raises ValueError whose message contains every one of ``parts``."""
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"
    return msg


# ------------------------------------------------------------------------------------ check_int


@pytest.mark.parametrize("mod", MODULES)
def test_check_int_messages(mod):
    assert _raises(lambda: mod.check_int("d", 0.5, low=1)) == "d must be an integer >= 1, got 0.5"
    assert _raises(lambda: mod.check_int("m", 4, low=2, high=3)) == (
        "m must be an integer in [2, 3], got 4")
    assert _raises(lambda: mod.check_int("r", 7, high=5)) == "r must be an integer <= 5, got 7"
    assert _raises(lambda: mod.check_int("k", "3")) == "k must be an integer, got '3'"
    # NumPy scalars are shown as the Python scalar they hold
    assert _raises(lambda: mod.check_int("n", np.int64(0), low=1)) == (
        "n must be an integer >= 1, got 0")


@pytest.mark.parametrize("mod", MODULES)
def test_check_int_boundaries(mod):
    assert mod.check_int("n", 1, low=1) == 1
    assert mod.check_int("n", 4, low=1, high=4) == 4
    assert mod.check_int("n", -5, high=-5) == -5
    assert mod.check_int("n", 10**30) == 10**30
    _raises(lambda: mod.check_int("n", 0, low=1), "n", "0", ">= 1")
    _raises(lambda: mod.check_int("n", 5, low=1, high=4), "n", "5", "[1, 4]")
    _raises(lambda: mod.check_int("n", -4, high=-5), "n", "-4", "<= -5")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [np.int8(3), np.uint64(3), np.int64(3), sp.Integer(3), 3])
def test_check_int_accepts_integers_and_returns_int(mod, value):
    out = mod.check_int("n", value, low=1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [True, False, np.True_, 2.0, np.float64(2.0), "2", None,
                                   fractions.Fraction(2), np.array(2), [2], math.nan])
def test_check_int_rejects_non_integers(mod, value):
    _raises(lambda: mod.check_int("n", value), "n must be an integer")


# ----------------------------------------------------------------------------------- check_real


@pytest.mark.parametrize("mod", MODULES)
def test_check_real_messages(mod):
    assert _raises(lambda: mod.check_real("sigma", -1.0, low=0.0, low_open=True)) == (
        "sigma must lie in (0, inf), got -1.0")
    assert _raises(lambda: mod.check_real("p", 1.0, low=0, high=1, low_open=True,
                                          high_open=True)) == "p must lie in (0, 1), got 1.0"
    assert _raises(lambda: mod.check_real("q", -0.1, low=0.0)) == (
        "q must lie in [0, inf), got -0.1")
    assert _raises(lambda: mod.check_real("t", 0.75, high=0.5)) == (
        "t must lie in (-inf, 0.5], got 0.75")
    assert _raises(lambda: mod.check_real("b", math.nan)) == "b must lie in (-inf, inf), got nan"
    assert _raises(lambda: mod.check_real("x", "a", low=0.0)) == (
        "x must be a real number in [0, inf), got 'a'")
    assert _raises(lambda: mod.check_real("x", None)) == "x must be a real number, got None"
    assert _raises(lambda: mod.check_real("x", np.float32(-2.5), low=0.0)) == (
        "x must lie in [0, inf), got -2.5")


@pytest.mark.parametrize("mod", MODULES)
def test_check_real_boundaries(mod):
    c = mod.check_real
    assert c("z", 0.0, low=0.0) == 0.0
    assert c("z", 1.0, low=0.0, high=1.0, low_open=True) == 1.0
    assert c("z", -3.0, high=-3.0) == -3.0
    lo_open = math.nextafter(0.0, 1.0)
    hi_open = math.nextafter(1.0, 0.0)
    assert c("z", lo_open, low=0.0, high=1.0, low_open=True, high_open=True) == lo_open
    assert c("z", hi_open, low=0.0, high=1.0, low_open=True, high_open=True) == hi_open
    _raises(lambda: c("z", math.nextafter(0.0, -1.0), low=0.0), "z", "[0, inf)")
    _raises(lambda: c("z", 0.0, low=0.0, low_open=True), "z", "0.0", "(0, inf)")
    _raises(lambda: c("z", 1.0, low=0.0, high=1.0, high_open=True), "z", "1.0", "[0, 1)")
    _raises(lambda: c("z", math.nextafter(1.0, 2.0), low=0.0, high=1.0), "z", "[0, 1]")
    # infinite bounds mean "unbounded" (and an absent end is shown open)
    assert c("z", 1e300, low=-math.inf, high=math.inf) == 1e300
    _raises(lambda: c("z", math.inf, low=0.0, high=math.inf), "z must lie in [0, inf), got inf")
    # bounds are written compactly but exactly
    _raises(lambda: c("z", 0.0, low=1 / 3), "[0.3333333333333333, inf)")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64(np.nan),
                                   np.float32(np.inf), mpmath.mpf("inf"), sp.oo, 10**400])
def test_check_real_rejects_non_finite(mod, value):
    _raises(lambda: mod.check_real("v", value), "v must lie in (-inf, inf), got")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [True, False, np.True_, "1.5", b"1.5", 1 + 0j, np.complex128(1),
                                   None, [1.0], np.array([1.0]), np.array(True), sp.Symbol("x"),
                                   object()])
def test_check_real_rejects_non_reals(mod, value):
    _raises(lambda: mod.check_real("v", value), "v must be a real number")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [2, 2.0, np.float32(2.0), np.float64(2.0), np.int64(2),
                                   np.array(2.0), fractions.Fraction(2), mpmath.mpf(2),
                                   sp.Integer(2), sp.Float(2.0), sp.sqrt(4)])
def test_check_real_accepts_real_numbers(mod, value):
    out = mod.check_real("v", value, low=0.0)
    assert out == 2.0 and type(out) is float


# --------------------------------------------------------------------------------- check_choice


@pytest.mark.parametrize("mod", MODULES)
def test_check_choice(mod):
    assert _raises(lambda: mod.check_choice("labels", "x", ("a", "b"))) == (
        "labels must be one of ('a', 'b'), got 'x'")
    assert mod.check_choice("labels", "b", ("a", "b")) == "b"
    assert mod.check_choice("gate", np.str_("softmax"), {"sigmoid": 0, "softmax": 1}) == "softmax"
    _raises(lambda: mod.check_choice("gate", "relu", {"sigmoid": 0, "softmax": 1}),
            "gate must be one of ('sigmoid', 'softmax'), got 'relu'")
    # a set is shown sorted, so the message does not depend on hashing
    _raises(lambda: mod.check_choice("s", "c", {"b", "a"}), "s must be one of ('a', 'b'), got 'c'")
    assert mod.check_choice("theorem", 2, (1, 2, 3)) == 2


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [["a"], {"a": 1}, np.array(["a", "b"]), True, np.True_, None,
                                   "A", " a"])
def test_check_choice_rejects(mod, value):
    for allowed in (("a", 1, 0), {"a": 0, 1: 1}, frozenset({"a", 1})):
        _raises(lambda allowed=allowed: mod.check_choice("c", value, allowed),
                "c must be one of", "got")


@pytest.mark.parametrize("mod", MODULES)
def test_check_choice_takes_bools_only_when_allowed(mod):
    _raises(lambda: mod.check_choice("c", True, (0, 1)), "c must be one of (0, 1), got True")
    assert mod.check_choice("c", True, (False, True)) is True


# --------------------------------------------------------------------------------- check_vector


@pytest.mark.parametrize("mod", MODULES)
def test_check_vector_accepts_and_coerces(mod):
    out = mod.check_vector("w", [1, 2.5])
    assert out.dtype == np.float64 and out.flags.c_contiguous and out.tolist() == [1.0, 2.5]
    arr = np.array([1.0, 2.0, 3.0])
    assert mod.check_vector("w", arr, dim=3) is arr  # no copy when nothing to coerce
    strided = np.arange(6.0)[::2]
    out = mod.check_vector("w", strided)
    assert out.flags.c_contiguous and out.tolist() == [0.0, 2.0, 4.0]
    obj = mod.check_vector("w", [mpmath.mpf(1), sp.Rational(1, 2), np.int64(3)])
    assert obj.tolist() == [1.0, 0.5, 3.0]
    assert mod.check_vector("w", [], min_len=0).shape == (0,)
    assert mod.check_vector("w", [1.0, 2.0], min_len=2).shape == (2,)
    assert mod.check_vector("w", 2.5).tolist() == [2.5]  # a scalar is a vector of length 1


@pytest.mark.parametrize("mod", MODULES)
def test_check_vector_messages(mod):
    assert _raises(lambda: mod.check_vector("w", [1.0, math.nan])) == (
        "w must contain only finite values, got nan at index 1")
    assert _raises(lambda: mod.check_vector("w", [0.0, 0.0, -math.inf], dim=3)) == (
        "w must contain only finite values, got -inf at index 2")
    assert _raises(lambda: mod.check_vector("mu", [])) == (
        "mu must be a non-empty 1-D array, got shape (0,)")
    assert _raises(lambda: mod.check_vector("mu", [1.0, 2.0], dim=3)) == (
        "mu must have length 3, got length 2")
    assert _raises(lambda: mod.check_vector("x", [1.0], min_len=2)) == (
        "x must be a 1-D array with at least 2 entries, got shape (1,)")
    assert _raises(lambda: mod.check_vector("x", [[1.0, 2.0]])) == (
        "x must be a non-empty 1-D array, got shape (1, 2)")
    assert _raises(lambda: mod.check_vector("x", 1.0, dim=2)) == (
        "x must have length 2, got length 1")
    assert _raises(lambda: mod.check_vector("x", ["a", "b"])) == (
        "x must be a non-empty 1-D array of real numbers, got ['a', 'b']")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [["1", "2"], "12", [True, False], np.array([1 + 1j, 2]),
                                   [[1.0], [1.0, 2.0]], [1.0, "x"], object(), [1.0, object()]])
def test_check_vector_rejects_non_real_entries(mod, value):
    _raises(lambda: mod.check_vector("v", value), "v must be a non-empty 1-D array of real numbers")


@pytest.mark.parametrize("mod", MODULES)
def test_check_vector_none_entry_is_not_finite(mod):
    # NumPy converts None to nan in an object array
    _raises(lambda: mod.check_vector("v", [1.0, None]), "v must contain only finite values")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("dim", [1, 3])
def test_check_vector_length_boundaries(mod, dim):
    assert mod.check_vector("v", np.zeros(dim), dim=dim).shape == (dim,)
    for n in (dim - 1, dim + 1):
        _raises(lambda n=n: mod.check_vector("v", np.zeros(n), dim=dim),
                "v must have length", str(dim), str(n))
    assert mod.check_vector("v", np.zeros(dim), min_len=dim).shape == (dim,)
    _raises(lambda: mod.check_vector("v", np.zeros(dim - 1), min_len=dim), "v must be",
            f"({dim - 1},)")


# ---------------------------------------------------------------------------------- check_array


@pytest.mark.parametrize("mod", MODULES)
def test_check_array_accepts_and_coerces(mod):
    out = mod.check_array("X", [[1, 2], [3, 4]], ndim=2)
    assert out.dtype == np.float64 and out.flags.c_contiguous and out.tolist() == [[1, 2], [3, 4]]
    arr = np.zeros((2, 3, 4))
    assert mod.check_array("X", arr, ndim=3) is arr  # no copy when nothing to coerce
    assert mod.check_array("X", arr, shape=(2, None, 4)) is arr
    assert mod.check_array("X", arr, ndim=3, shape=(None, None, None)) is arr
    assert mod.check_array("X", arr) is arr  # any number of axes
    out = mod.check_array("X", np.arange(12.0).reshape(3, 4).T)
    assert out.flags.c_contiguous and out.shape == (4, 3)
    obj = mod.check_array("X", [[mpmath.mpf(1), sp.Rational(1, 2)]], shape=(1, 2))
    assert obj.tolist() == [[1.0, 0.5]]
    # empty axes are the caller's business
    assert mod.check_array("X", np.zeros((0, 3)), shape=(None, 3)).shape == (0, 3)
    assert mod.check_array("z", 2.5).tolist() == [2.5]  # a scalar is an array of shape (1,)


@pytest.mark.parametrize("mod", MODULES)
def test_check_array_messages(mod):
    assert _raises(lambda: mod.check_array("X", [1.0, 2.0], ndim=3)) == (
        "X must be a 3-D array, got shape (2,)")
    assert _raises(lambda: mod.check_array("W", np.zeros((3, 2)), shape=(3, 3))) == (
        "W must have length 3 along axis 1, got shape (3, 2)")
    assert _raises(lambda: mod.check_array("W", np.zeros((2, 3)), shape=(3, None))) == (
        "W must have length 3 along axis 0, got shape (2, 3)")
    assert _raises(lambda: mod.check_array("W", np.zeros(3), shape=(None, 3))) == (
        "W must be a 2-D array, got shape (3,)")
    assert _raises(lambda: mod.check_array("X", [[0.0, 1.0], [math.inf, 0.0]], ndim=2)) == (
        "X must contain only finite values, got inf at index (1, 0)")
    assert _raises(lambda: mod.check_array("a", [0.0, math.nan])) == (
        "a must contain only finite values, got nan at index 1")
    assert _raises(lambda: mod.check_array("X", [["a"]], ndim=2)) == (
        "X must be a 2-D array of real numbers, got [['a']]")
    assert _raises(lambda: mod.check_array("X", [[1.0], [1.0, 2.0]])) == (
        "X must be an array of real numbers, got [[1.0], [1.0, 2.0]]")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("value", [[["1", "2"]], [[True, False]], np.array([[1 + 1j, 2]]),
                                   [[1.0], [1.0, 2.0]], object()])
def test_check_array_rejects_non_real_entries(mod, value):
    _raises(lambda: mod.check_array("v", value, ndim=2), "v must be a 2-D array of real numbers")


@pytest.mark.parametrize("mod", MODULES)
def test_check_array_shape_boundaries(mod):
    for ndim in (1, 2, 3):
        arr = np.ones((2,) * ndim)
        assert mod.check_array("v", arr, ndim=ndim) is arr
        for other in (ndim - 1, ndim + 1):
            if other >= 1:
                _raises(lambda other=other, ndim=ndim: mod.check_array("v", np.ones((2,) * other),
                                                                       ndim=ndim),
                        f"v must be a {ndim}-D array, got shape")
    for n in (1, 3):
        _raises(lambda n=n: mod.check_array("v", np.ones((n, 2)), shape=(2, 2)),
                "v must have length 2 along axis 0", f"({n}, 2)")


@pytest.mark.parametrize("mod", MODULES)
def test_check_array_rejects_contradicting_ndim_and_shape(mod):
    with pytest.raises(TypeError):
        mod.check_array("v", np.ones((2, 2)), ndim=3, shape=(2, 2))


# ----------------------------------------------------------------------------------- properties

_bounds = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))
_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6))


@given(value=_values, low=_bounds, high=_bounds, low_open=st.booleans(), high_open=st.booleans())
def test_check_real_accepts_exactly_the_interval(value, low, high, low_open, high_open):
    x = float(value)
    inside = (math.isfinite(x)
              and (low is None or x > low or (x == low and not low_open))
              and (high is None or x < high or (x == high and not high_open)))
    for mod in (tv, nv):
        kw = {"low": low, "high": high, "low_open": low_open, "high_open": high_open}
        if inside:
            assert mod.check_real("p", value, **kw) == x
        else:
            msg = _raises(lambda mod=mod, kw=kw: mod.check_real("p", value, **kw))
            assert re.fullmatch(r"p must lie in [\[(]\S+, \S+[\])], got .+", msg), msg
            assert msg.endswith(f"got {value!r}")
            for b in (low, high):
                if b is not None:
                    assert tv._bound(b) in msg and float(tv._bound(b)) == b


@given(value=st.integers(-50, 50), low=st.one_of(st.none(), st.integers(-50, 50)),
       high=st.one_of(st.none(), st.integers(-50, 50)), as_numpy=st.booleans())
def test_check_int_accepts_exactly_the_range(value, low, high, as_numpy):
    v = np.int64(value) if as_numpy else value
    inside = (low is None or value >= low) and (high is None or value <= high)
    for mod in (tv, nv):
        if inside:
            assert mod.check_int("n", v, low=low, high=high) == value
        else:
            msg = _raises(lambda mod=mod: mod.check_int("n", v, low=low, high=high))
            assert msg.startswith("n must be an integer") and msg.endswith(f"got {value}")
            for b in (low, high):
                if b is not None:
                    assert str(b) in msg


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6))
def test_check_vector_finite_iff_all_entries_finite(entries):
    for mod in (tv, nv):
        if entries and all(math.isfinite(e) for e in entries):
            np.testing.assert_array_equal(mod.check_vector("v", entries), entries)
        elif entries:
            i = next(j for j, e in enumerate(entries) if not math.isfinite(e))
            _raises(lambda mod=mod: mod.check_vector("v", entries),
                    f"v must contain only finite values, got {entries[i]!r} at index {i}")
        else:
            _raises(lambda mod=mod: mod.check_vector("v", entries), "non-empty")


@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=2),
                min_size=1, max_size=4))
def test_check_array_finite_iff_all_entries_finite(rows):
    arr = np.array(rows)
    for mod in (tv, nv):
        if np.isfinite(arr).all():
            np.testing.assert_array_equal(mod.check_array("v", rows, shape=(None, 2)), arr)
        else:
            i, j = (int(k) for k in np.argwhere(~np.isfinite(arr))[0])
            _raises(lambda mod=mod: mod.check_array("v", rows, shape=(None, 2)),
                    f"v must contain only finite values, got {rows[i][j]!r} at index ({i}, {j})")
