"""Small input validators shared by the verdict engine (one message style everywhere)."""

from __future__ import annotations

import math

import numpy as np


def check_level(level: float, name: str = "level") -> float:
    """Return ``level`` as float after checking ``0 < level < 1``."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {level!r}")
    return value


def check_int(value: int, name: str, low: int, high: int | None = None) -> int:
    """Return ``value`` as int after checking ``low <= value (<= high)``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")
    if value < low or (high is not None and value > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
    return int(value)


def check_finite(value: float, name: str) -> float:
    """Return ``value`` as float after checking it is finite."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def check_samples(samples, name: str = "samples", min_size: int = 2) -> np.ndarray:
    """Return a finite float64 1-D array with at least ``min_size`` entries."""
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] < min_size:
        raise ValueError(f"{name} must hold at least {min_size} values, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr
