"""Input validation of the GMM numerics (raise ``ValueError`` naming parameter, value and range).

The scalar and vector checks are the layer's primitives (:mod:`numerics.core._validate`);
``_check_int``, ``_check_real`` and ``_as_vector`` keep the positional signatures the
``numerics.gmm`` modules call them with.
"""

import math

import numpy as np

from numerics.core._validate import check_int, check_real, check_vector


def _check_int(name, value, low):
    return check_int(name, value, low=low)


def _check_real(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """Check a finite real scalar in an interval; return it as ``float`` (inf is rejected)."""
    return check_real(name, value, low=low, high=high, low_open=low_open, high_open=high_open)


def _check_p(p):
    return check_real("p", p, low=0.0, high=1.0, low_open=True, high_open=True)


def _check_lam(lam, name="lam", positive=False):
    return check_real(name, lam, low=0.0, low_open=positive)


def _as_vector(name, a, d=None):
    return check_vector(name, a, dim=d)


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
