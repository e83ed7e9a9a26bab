"""Shared input-validation helpers (raise ``ValueError`` naming parameter, value and range)."""

import math
import numbers

import numpy as np


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    return int(value)


def _check_real(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """Check a finite real scalar in an interval; return it as ``float`` (inf is rejected)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number in {interval}, got {value!r}") from None
    bad = (
        not math.isfinite(x)
        or x < low
        or x > high
        or (low_open and x == low)
        or (high_open and x == high)
    )
    if bad:
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return x


def _check_p(p):
    return _check_real("p", p, 0.0, 1.0, low_open=True, high_open=True)


def _check_lam(lam, name="lam", positive=False):
    return _check_real(name, lam, 0.0, math.inf, low_open=positive, high_open=True)


def _as_vector(name, a, d=None):
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if d is not None and arr.shape[0] != d:
        raise ValueError(f"{name} must have length {d}, got length {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values, got non-finite entries")
    return arr


def _as_data(X, y):
    """Validate a design ``X`` (n x d) and labels ``y`` in {-1, +1}; return float64 arrays."""
    Xa = np.ascontiguousarray(X, dtype=np.float64)
    if Xa.ndim != 2 or Xa.shape[0] < 1 or Xa.shape[1] < 1:
        raise ValueError(f"X must be a 2-D array with n >= 1 rows and d >= 1 columns, "
                         f"got shape {Xa.shape}")
    if not np.all(np.isfinite(Xa)):
        raise ValueError("X must contain only finite values, got non-finite entries")
    ya = np.ascontiguousarray(y, dtype=np.float64)
    if ya.ndim != 1 or ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"y must be a 1-D array of length n = {Xa.shape[0]}, got shape {ya.shape}")
    if not np.all((ya == 1.0) | (ya == -1.0)):
        bad = ya[(ya != 1.0) & (ya != -1.0)][0]
        raise ValueError(f"y must take values in {{-1, +1}}, got {bad!r}")
    return Xa, ya


def _check_both_classes(y, what):
    if not (np.any(y > 0) and np.any(y < 0)):
        raise ValueError(f"y must contain both classes for {what}, got a single class")
