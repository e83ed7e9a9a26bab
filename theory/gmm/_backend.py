"""Arithmetic back ends (float64 vs mpmath) and input validation shared by the gmm modules.

Every formula of this subpackage is written once against a small namespace of elementary
functions (``ops.sqrt``, ``ops.Q``, ...).  ``precision="fast"`` binds it to :mod:`math`
(float64), ``precision="high"`` to :mod:`mpmath` inside a scoped ``mpmath.workdps(dps)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mpmath

from theory.core._validate import check_choice, check_int, check_real

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class _FastOps:
    """float64 elementary functions (``math``)."""

    name = "fast"
    sqrt = staticmethod(math.sqrt)
    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    pi = math.pi
    inf = math.inf

    @staticmethod
    def num(x: Any) -> float:
        return float(x)

    @staticmethod
    def Q(x: float) -> float:  # noqa: N802 - standard name of the Gaussian tail
        return 0.5 * math.erfc(x / _SQRT2)

    @staticmethod
    def Phi(x: float) -> float:  # noqa: N802
        return 0.5 * math.erfc(-x / _SQRT2)

    @staticmethod
    def phi(x: float) -> float:
        return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


class _HighOps:
    """mpmath elementary functions; only valid inside ``mpmath.workdps``."""

    name = "high"
    sqrt = staticmethod(mpmath.sqrt)
    exp = staticmethod(mpmath.exp)
    log = staticmethod(mpmath.log)
    inf = mpmath.inf

    @property
    def pi(self) -> mpmath.mpf:
        return +mpmath.pi

    @staticmethod
    def num(x: Any) -> mpmath.mpf:
        return mpmath.mpf(x)

    @staticmethod
    def Q(x: Any) -> mpmath.mpf:  # noqa: N802
        return mpmath.erfc(x / mpmath.sqrt(2)) / 2

    @staticmethod
    def Phi(x: Any) -> mpmath.mpf:  # noqa: N802
        return mpmath.erfc(-x / mpmath.sqrt(2)) / 2

    @staticmethod
    def phi(x: Any) -> mpmath.mpf:
        return mpmath.npdf(x)


FAST = _FastOps()
HIGH = _HighOps()


def _precision_iv(precision: str, dps: int) -> None:
    check_choice("precision", precision, ("fast", "high"))
    check_int("dps", dps, low=30)


@contextmanager
def backend(precision: str = "fast", dps: int = 30) -> Iterator[Any]:
    """Yield the arithmetic namespace for ``precision`` (scoped mpmath precision if high)."""
    _precision_iv(precision, dps)
    if precision == "fast":
        yield FAST
    else:
        with mpmath.workdps(dps):
            yield HIGH


# ---------------------------------------------------------------------------------------------
# validation helpers (each public function has its own ``_<name>_iv`` built from these)
# ---------------------------------------------------------------------------------------------


def real(name: str, value: Any) -> float | mpmath.mpf:
    """Return ``value`` as a finite real (float, or mpf when given an mpf) or raise ValueError.

    An mpf is returned as is, so that high-precision inputs are not rounded to float64.
    """
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        return value
    return check_real(name, value)


def positive(name: str, value: Any) -> float | mpmath.mpf:
    """Finite and ``> 0``."""
    v = real(name, value)
    if not v > 0:
        raise ValueError(f"{name} must lie in (0, inf), got {value!r}")
    return v


def nonnegative(name: str, value: Any) -> float | mpmath.mpf:
    """Finite and ``>= 0``."""
    v = real(name, value)
    if not v >= 0:
        raise ValueError(f"{name} must lie in [0, inf), got {value!r}")
    return v


def open_unit(name: str, value: Any) -> float | mpmath.mpf:
    """Finite and in ``(0, 1)``."""
    v = real(name, value)
    if not 0 < v < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return v


def closed_unit(name: str, value: Any) -> float | mpmath.mpf:
    """Finite and in ``[0, 1]``."""
    v = real(name, value)
    if not 0 <= v <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return v


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Integer ``>= minimum``."""
    return check_int(name, value, low=minimum)
