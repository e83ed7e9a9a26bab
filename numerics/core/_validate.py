"""Input-validation primitives shared by the modules of one layer (private, not re-exported).

Five checks cover the scalar and array arguments of the public functions:
:func:`check_int`, :func:`check_real`, :func:`check_choice`, :func:`check_vector` and
:func:`check_array`.  Each returns the value coerced to its canonical type (``int``,
``float``, the value itself, a C-contiguous float64 array) or raises ``ValueError`` whose
message names the parameter, the offending value and the allowed range or set, e.g.::

    sigma must lie in (0, inf), got -1.0
    d must be an integer >= 1, got 0.5
    labels must be one of ('a', 'b'), got 'x'
    W must have length 3 along axis 1, got shape (3, 2)

Function-specific ``_<name>_iv`` helpers (STYLE.md §4) call these primitives and add the
conditions that only make sense for their function.

``theory/core/_validate.py`` and ``numerics/core/_validate.py`` are deliberately identical,
byte for byte: the layer rule (STYLE.md §1, enforced by ``tests/unit/test_layers.py``)
forbids ``theory`` and ``numerics`` from importing each other, so each layer keeps its own
copy.  Change both together; ``tests/unit/test_validate.py`` runs the same tests on both and
checks that the two files are equal.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Collection
from typing import SupportsFloat, TypeVar, cast

import numpy as np

_T = TypeVar("_T")


def _show(value: object) -> str:
    """``repr`` of an offending value, NumPy scalars shown as the Python scalar they hold."""
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)


def _bound(x: float) -> str:
    """A bound as written in a message: ``0`` for ``0.0``, ``0.5``, ``inf``."""
    if isinstance(x, numbers.Integral):
        return str(int(x))
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """``[low, high]`` with the stated ends open; an absent (infinite) end is always open."""
    left = "(-inf" if low is None else ("(" if low_open else "[") + _bound(low)
    right = "inf)" if high is None else _bound(high) + (")" if high_open else "]")
    return f"{left}, {right}"


def _as_float(value: object) -> float | None:
    """``float(value)`` for a real number; ``None`` for bools, strings, complex and arrays."""
    if isinstance(value, bool | np.bool_ | str | bytes | complex | np.complexfloating):
        return None
    if isinstance(value, np.ndarray) and (value.ndim != 0 or value.dtype.kind not in "iufO"):
        return None
    try:
        return float(cast(SupportsFloat, value))
    except OverflowError:  # a huge int or Fraction: a number, but out of any float range
        return math.inf
    except (TypeError, ValueError, ArithmeticError):
        return None


def check_int(name: str, value: object, *, low: int | None = None,
              high: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]``.

    Parameters
    ----------
    name : str
        Parameter name, used in the error message.
    value : object
        Candidate; Python and NumPy integers (any ``numbers.Integral``) are accepted,
        ``bool`` and floats (even integral ones such as ``2.0``) are not.
    low, high : int, optional
        Inclusive bounds; ``None`` leaves that end unbounded.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        ``"<name> must be an integer >= <low>, got <value>"`` (or ``in [low, high]``,
        ``<= high``).

    Examples
    --------
    >>> check_int("T", 3, low=1)
    3
    >>> check_int("d", 0.5, low=1)
    Traceback (most recent call last):
    ...
    ValueError: d must be an integer >= 1, got 0.5
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        iv = int(value)
        if (low is None or iv >= low) and (high is None or iv <= high):
            return iv
    if low is not None and high is not None:
        rng = f" in [{low}, {high}]"
    elif low is not None:
        rng = f" >= {low}"
    elif high is not None:
        rng = f" <= {high}"
    else:
        rng = ""
    raise ValueError(f"{name} must be an integer{rng}, got {_show(value)}")


def check_real(name: str, value: object, *, low: float | None = None,
               high: float | None = None, low_open: bool = False,
               high_open: bool = False) -> float:
    """Return ``value`` as a finite ``float`` inside the stated interval.

    Parameters
    ----------
    name : str
        Parameter name, used in the error message.
    value : object
        Candidate: anything ``float()`` converts (Python, NumPy, SymPy and mpmath numbers,
        0-d arrays) except ``bool``, strings and complex numbers.  ``nan`` and ``+-inf``
        are rejected.
    low, high : float, optional
        Bounds; ``None`` (or ``-inf``/``inf``) leaves that end unbounded.
    low_open, high_open : bool, default False
        Whether ``value == low`` (``value == high``) is excluded.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``"<name> must lie in <interval>, got <value>"`` when the value is out of range or
        not finite, ``"<name> must be a real number ..."`` when it is not a number.

    Examples
    --------
    >>> check_real("zeta", 1, low=0.0, high=1.0, low_open=True)
    1.0
    >>> check_real("sigma", -1.0, low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: sigma must lie in (0, inf), got -1.0
    """
    if low is not None and low == -math.inf:
        low = None
    if high is not None and high == math.inf:
        high = None
    interval = _interval(low, high, low_open, high_open)
    where = "" if low is None and high is None else f" in {interval}"
    x = _as_float(value)
    if x is None:
        raise ValueError(f"{name} must be a real number{where}, got {_show(value)}")
    bad = (
        not math.isfinite(x)
        or (low is not None and (x < low or (low_open and x == low)))
        or (high is not None and (x > high or (high_open and x == high)))
    )
    if bad:
        raise ValueError(f"{name} must lie in {interval}, got {_show(value)}")
    return x


def check_choice(name: str, value: object, allowed: Collection[_T]) -> _T:
    """Return ``value`` if it is one of ``allowed``.

    Parameters
    ----------
    name : str
        Parameter name, used in the error message.
    value : object
        Candidate.  Unhashable values and ``bool`` (unless ``allowed`` holds a ``bool``;
        ``True == 1``) are rejected rather than matched.
    allowed : collection
        Allowed values (a tuple, a set, or the keys of a dict).

    Returns
    -------
    object
        ``value``, typed as an element of ``allowed``.

    Raises
    ------
    ValueError
        ``"<name> must be one of <allowed>, got <value>"``.

    Examples
    --------
    >>> check_choice("labels", "x", ("a", "b"))
    Traceback (most recent call last):
    ...
    ValueError: labels must be one of ('a', 'b'), got 'x'
    """
    try:
        ok = value in allowed
    except (TypeError, ValueError):  # unhashable value for a set/dict, array comparisons
        ok = False
    if ok and isinstance(value, bool | np.bool_):
        ok = any(isinstance(a, bool | np.bool_) for a in allowed)
    if not ok:
        shown = tuple(sorted(allowed, key=repr) if isinstance(allowed, set | frozenset) else allowed)
        raise ValueError(f"{name} must be one of {shown!r}, got {_show(value)}")
    return cast(_T, value)


def check_vector(name: str, value: object, *, dim: int | None = None,
                 min_len: int = 1) -> np.ndarray:
    """Return ``value`` as a finite, C-contiguous, one-dimensional float64 array.

    Parameters
    ----------
    name : str
        Parameter name, used in the error message.
    value : array_like
        Candidate with integer, float or object (e.g. SymPy/mpmath numbers) entries;
        boolean, string and complex entries are rejected.  A scalar counts as a vector of
        length 1 (as ``np.ascontiguousarray`` makes it).
    dim : int, optional
        Required length.
    min_len : int, default 1
        Minimum length when ``dim`` is not given (``0`` allows an empty vector).

    Returns
    -------
    ndarray, shape (n,)
        A view of ``value`` when it already is such an array, else a copy.

    Raises
    ------
    ValueError
        ``"<name> must be a non-empty 1-D array, got shape <shape>"`` (``with at least
        <min_len> entries``, ``of length <dim>``), ``"<name> must have length <dim>, got length
        <n>"`` or ``"<name> must contain only finite values, got <entry> at index <i>"``.

    Examples
    --------
    >>> check_vector("w", [1, 2.5])
    array([1. , 2.5])
    >>> check_vector("w", [1.0, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: w must contain only finite values, got nan at index 1
    """
    if dim is not None:
        want = f"a 1-D array of length {dim}"
    elif min_len > 1:
        want = f"a 1-D array with at least {min_len} entries"
    else:
        want = "a non-empty 1-D array" if min_len == 1 else "a 1-D array"
    arr = _real_array(name, value, want)
    if arr.ndim != 1 or (dim is None and arr.shape[0] < min_len):
        raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if dim is not None and arr.shape[0] != dim:
        raise ValueError(f"{name} must have length {dim}, got length {arr.shape[0]}")
    return _finite(name, arr)


def check_array(name: str, value: object, *, ndim: int | None = None,
                shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a finite, C-contiguous float64 array with the stated axes.

    The array counterpart of :func:`check_vector`: the same entries are accepted (a scalar
    becomes shape ``(1,)``) and the same copy-or-view is returned.

    Parameters
    ----------
    name, value
        As in :func:`check_vector`.
    ndim : int, optional
        Required number of axes; ``None`` (and no ``shape``) accepts any.
    shape : tuple of int or None, optional
        Required length of each axis, ``None`` for a free axis; implies
        ``ndim = len(shape)``.

    Returns
    -------
    ndarray
        A view of ``value`` when it already is such an array, else a copy.  Axes of length 0
        are accepted unless ``shape`` fixes them: callers state their own minimum sizes.

    Raises
    ------
    ValueError
        ``"<name> must be a <ndim>-D array, got shape <shape>"``, ``"<name> must have length
        <n> along axis <i>, got shape <shape>"``, ``"<name> must be a <ndim>-D array of real
        numbers, got <value>"`` or ``"<name> must contain only finite values, got <entry> at
        index <i>"`` (``<i>`` a tuple for two or more axes).

    Examples
    --------
    >>> check_array("W", [[1, 2], [3, 4]], shape=(2, None)).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> check_array("X", [1.0, 2.0], ndim=3)
    Traceback (most recent call last):
    ...
    ValueError: X must be a 3-D array, got shape (2,)
    """
    if shape is not None:
        if ndim is not None and ndim != len(shape):
            raise TypeError(f"ndim={ndim} contradicts shape={shape}")
        ndim = len(shape)
    want = "an array" if ndim is None else f"a {ndim}-D array"
    arr = _real_array(name, value, want)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    for axis, (got, need) in enumerate(zip(arr.shape, shape or (None,) * arr.ndim, strict=True)):
        if need is not None and got != need:
            raise ValueError(f"{name} must have length {need} along axis {axis}, got shape {arr.shape}")
    return _finite(name, arr)


def _real_array(name: str, value: object, want: str) -> np.ndarray:
    """``value`` as a C-contiguous float64 array, or ``ValueError`` unless its entries are real."""
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "iufO":
            raise TypeError(raw.dtype)
        return np.ascontiguousarray(raw, dtype=np.float64)
    except (TypeError, ValueError, ArithmeticError):
        raise ValueError(f"{name} must be {want} of real numbers, got {reprlib.repr(value)}") from None


def _finite(name: str, arr: np.ndarray) -> np.ndarray:
    """``arr`` if every entry is finite, else ``ValueError`` naming the first offending one."""
    finite = np.isfinite(arr)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        shown = index[0] if len(index) == 1 else index
        raise ValueError(f"{name} must contain only finite values, got {_show(arr[index])} at index {shown}")
    return arr
