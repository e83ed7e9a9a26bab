"""A vectorisable ``exp`` for non-positive arguments, the inner loop of batched softmaxes.

``math.exp`` compiles to a call into libm that LLVM cannot vectorise.  :func:`exp_nonpositive`
computes the same function with the textbook reduction ``x = k ln 2 + r``, ``|r| <= ln 2 / 2``:
``k`` is rounded by the ``1.5 * 2**52`` shifter, ``r`` is formed with a two-word (Cody-Waite)
``ln 2``, ``e^r`` by its Taylor polynomial of degree 13 (truncation error below ``5e-18``),
and ``2**k`` is built from the low bits of the shifted ``k``.  Every loop is branch-free, so
it vectorises when called on a row of many independent arguments (one score per sequence
of a block, :mod:`numerics.pa._span`).  Arguments below ``-700`` are clamped to ``-700``
(``e^-700 ~ 1e-304``): softmax weights that small are zero for every purpose of this
toolkit, and the clamp keeps ``2**k`` a normal number.

Accuracy (tested against ``numpy.exp`` on ``[-700, 0]``): within 1 ulp.  An internal
compiled building block (it does not validate its arguments), not part of the public API.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["exp_nonpositive"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 rounded to 32 significant bits
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer in the low bits
_ONE_BITS = 4607182418800017408  # bit pattern of 1.0, i.e. the exponent bias 1023 << 52
_FLOOR = -700.0


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")
def exp_nonpositive(x, out, bits, n):
    """Set ``out[:n] = exp(x[:n])`` for ``x <= 0`` (values below ``-700`` act as ``-700``).

    Parameters
    ----------
    x : ndarray of float64, 1-D
        Arguments, ``x[:n] <= 0``.  Positive values give wrong results and are not checked:
        this is an inner-loop kernel.
    out : ndarray of float64, 1-D
        Destination; may be ``x`` itself.
    bits : ndarray of int64, 1-D
        Scratch of length ``>= n``.
    n : int
        Number of leading entries to transform.

    Notes
    -----
    Compiled helper for batched softmax kernels; within 1 ulp of ``numpy.exp`` on
    ``[-700, 0]`` (tested).  Fused multiply-adds are allowed, so the last bit may depend on
    the CPU; results are the same for any number of threads.

    Examples
    --------
    >>> x = np.array([0.0, -1.0, -50.5])
    >>> out = np.empty(3)
    >>> exp_nonpositive(x, out, np.empty(3, dtype=np.int64), 3)
    >>> bool(np.allclose(out, np.exp(x), rtol=3e-16, atol=0))
    True
    """
    shifted = bits.view(np.float64)
    for t in range(n):
        xs = x[t]
        xs = xs if xs > _FLOOR else _FLOOR
        kd = xs * _LOG2E + _SHIFT
        shifted[t] = kd
        k = kd - _SHIFT
        r = xs - k * _LN2_HI - k * _LN2_LO
        p = 1.0 / 6227020800.0
        p = 1.0 / 479001600.0 + r * p
        p = 1.0 / 39916800.0 + r * p
        p = 1.0 / 3628800.0 + r * p
        p = 1.0 / 362880.0 + r * p
        p = 1.0 / 40320.0 + r * p
        p = 1.0 / 5040.0 + r * p
        p = 1.0 / 720.0 + r * p
        p = 1.0 / 120.0 + r * p
        p = 1.0 / 24.0 + r * p
        p = 1.0 / 6.0 + r * p
        p = 0.5 + r * p
        p = 1.0 + r * p
        out[t] = 1.0 + r * p
    # the low mantissa bits of ``kd`` hold ``2**51 + k``; shifted by 52 only ``k`` survives
    for t in range(n):
        bits[t] = (bits[t] << 52) + _ONE_BITS
    for t in range(n):
        out[t] *= shifted[t]
