"""Input validation shared by the prompt-attention numerics (prompt_attention.md §2-§3).

Every public function of :mod:`numerics.pa` validates its arguments through one of the small
helpers below, inside its own ``_<name>_iv`` function.  Each helper raises ``ValueError`` with a
message naming the parameter, the offending value and the allowed range.
"""

from __future__ import annotations

import numbers

import numpy as np

from numerics.core import as_seed_sequence

_VARIANTS = {"A": 0, "B": 1, "D": 2}
_COUNTS = {"fixed": 0, "binomial": 1}
_LOSSES = {"correlation": 0, "squared": 1, "logistic": 2}
_DEBIAS = ("project", "intercept", "none")


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
    return value


def check_real(
    name: str,
    value,
    low: float = -np.inf,
    high: float = np.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the stated interval."""
    lo_b = "(" if low_open or low == -np.inf else "["
    hi_b = ")" if high_open or high == np.inf else "]"
    interval = f"{lo_b}{low}, {high}{hi_b}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number in {interval}, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be a finite real number in {interval}, got {v}")
    if v < low or (low_open and v == low) or v > high or (high_open and v == high):
        raise ValueError(f"{name} must lie in {interval}, got {v}")
    return v


def check_array(name: str, value, ndim: int, shape: tuple | None = None) -> np.ndarray:
    """Return a finite, C-contiguous float64 copy-or-view of ``value`` with ``ndim`` axes.

    ``shape`` may hold ``None`` entries for free axes.
    """
    try:
        arr = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real array with {ndim} axes, got {value!r}") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes, got shape {arr.shape}")
    if shape is not None:
        for ax, (got, want) in enumerate(zip(arr.shape, shape, strict=True)):
            if want is not None and got != want:
                raise ValueError(
                    f"{name} must have length {want} along axis {ax}, got shape {arr.shape}"
                )
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values, got non-finite entries")
    return arr


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_zeta_T(zeta, T, relevant_count: str) -> tuple[float, int, int]:
    """Validate the sparsity ``zeta`` and length ``T``; return ``(zeta, T, K)``.

    With ``relevant_count="fixed"`` the number of relevant tokens ``K = zeta*T`` must be an
    integer (within 1e-9); with ``"binomial"`` ``K`` is returned as ``-1``.
    """
    T = check_int("T", T, 1)
    zeta = check_real("zeta", zeta, 0.0, 1.0, low_open=True)
    check_choice("relevant_count", relevant_count, _COUNTS)
    if relevant_count == "fixed":
        kf = zeta * T
        K = int(round(kf))
        if abs(kf - K) > 1e-9 or K < 1:
            raise ValueError(
                f"zeta*T must be an integer in [1, T] when relevant_count='fixed', "
                f"got zeta*T = {kf!r} (zeta={zeta}, T={T})"
            )
        return zeta, T, K
    return zeta, T, -1


def _rng_check(rng) -> None:
    ok = rng is None or isinstance(rng, np.random.Generator | np.random.SeedSequence)
    if not ok and (isinstance(rng, bool) or not isinstance(rng, numbers.Integral) or rng < 0):
        raise ValueError(
            f"rng must be an int >= 0, a numpy Generator, a SeedSequence or None, got {rng!r}"
        )


def normalise_rng(rng) -> np.random.Generator:
    """Normalise ``rng`` (int, Generator, SeedSequence or None) once into a Generator."""
    _rng_check(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def seed_sequence(rng) -> np.random.SeedSequence:
    """Normalise ``rng`` once into the SeedSequence that chunk streams are spawned from."""
    _rng_check(rng)
    return as_seed_sequence(rng)


def chunk_bounds(n: int, chunk: int) -> tuple[list[int], list[int]]:
    """Start and stop indices of consecutive chunks of ``chunk`` items covering ``n``."""
    starts = list(range(0, n, chunk))
    return starts, [min(n, s + chunk) for s in starts]
