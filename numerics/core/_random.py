"""Random-stream helpers: normalise ``rng`` once, derive per-chunk kernel seeds."""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator", "kernel_seeds", "set_thread_count"]

RngLike = int | np.integer | np.random.Generator | np.random.SeedSequence | None


def as_generator(rng: RngLike) -> np.random.Generator:
    """Normalise ``rng`` into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    rng : int, Generator, SeedSequence or None
        Seed material.  ``None`` draws fresh OS entropy (not reproducible).

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise ValueError(f"rng must be an int >= 0, a Generator, a SeedSequence or None, got {rng!r}")
    if rng < 0:
        raise ValueError(f"rng must be an int >= 0, got {rng}")
    return np.random.default_rng(int(rng))


def kernel_seeds(rng: RngLike, count: int) -> np.ndarray:
    """Draw ``count`` independent 32-bit seeds for compiled kernels.

    Each chunk of work inside a kernel calls ``np.random.seed(seeds[i])`` before drawing, so
    the numbers depend on the chunk index only, never on which thread ran the chunk.

    Parameters
    ----------
    rng : int, Generator, SeedSequence or None
        Seed material.
    count : int
        Number of seeds, ``count >= 1``.

    Returns
    -------
    ndarray of uint32, shape (count,)
    """
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    gen = as_generator(rng)
    return gen.integers(0, 2**32 - 1, size=int(count), dtype=np.uint32, endpoint=True)


def set_thread_count(count: int) -> None:
    """Limit the threads that compiled parallel kernels use in this process.

    Results never depend on this number (kernels seed per chunk); it only avoids
    over-subscribing the cores when several worker processes run kernels at once.

    Parameters
    ----------
    count : int
        Number of threads, ``1 <= count <= numba.config.NUMBA_NUM_THREADS``.
    """
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or not 1 <= count <= limit:
        raise ValueError(f"count must be an integer in [1, {limit}], got {count!r}")
    numba.set_num_threads(int(count))
