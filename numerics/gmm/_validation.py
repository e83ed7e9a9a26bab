"""Input validation specific to the GMM numerics (raise ``ValueError`` naming parameter, value and range).

Scalars and vectors are checked with the layer's primitives (:mod:`numerics.core._validate`);
this module keeps the checks with a GMM meaning: the label probability ``p``, the penalty
``lam``, a design with labels in ``{-1, +1}`` and a sample holding both classes.
"""

import numpy as np

from numerics.core._validate import check_array, check_real, check_vector


def _check_p(p):
    return check_real("p", p, low=0.0, high=1.0, low_open=True, high_open=True)


def _check_lam(lam, name="lam", positive=False):
    return check_real(name, lam, low=0.0, low_open=positive)


def _as_data(X, y):
    """Validate a design ``X`` (n x d) and labels ``y`` in {-1, +1}; return float64 arrays."""
    Xa = check_array("X", X, ndim=2)
    if Xa.shape[0] < 1 or Xa.shape[1] < 1:
        raise ValueError(f"X must be a 2-D array with n >= 1 rows and d >= 1 columns, "
                         f"got shape {Xa.shape}")
    ya = check_vector("y", y, dim=Xa.shape[0])
    if not np.all((ya == 1.0) | (ya == -1.0)):
        bad = ya[(ya != 1.0) & (ya != -1.0)][0]
        raise ValueError(f"y must take values in {{-1, +1}}, got {bad!r}")
    return Xa, ya


def _check_both_classes(y, what):
    if not (np.any(y > 0) and np.any(y < 0)):
        raise ValueError(f"y must contain both classes for {what}, got a single class")
