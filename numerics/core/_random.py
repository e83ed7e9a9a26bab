"""Random streams for compiled kernels.

Kernels draw from an explicit :class:`numpy.random.Generator` passed in as an argument
(numba compiles NumPy's own ziggurat sampler for it, which is several times faster than the
legacy ``np.random.*`` functions inside numba).  Work is split into chunks, each with its
own generator spawned from one :class:`numpy.random.SeedSequence`; chunks run on threads
(kernels release the GIL), so the numbers depend on the seed and the chunking only, never
on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from numerics.core._validate import check_int

__all__ = [
    "as_generator",
    "as_seed_sequence",
    "chunk_generators",
    "chunk_sizes",
    "get_thread_count",
    "kernel_seeds",
    "map_chunks",
    "set_thread_count",
]

RngLike = int | np.integer | np.random.Generator | np.random.SeedSequence | None
_THREADS = [len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)]


def _rng_iv(rng: RngLike) -> None:
    if rng is None or isinstance(rng, np.random.Generator | np.random.SeedSequence):
        return
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise ValueError(f"rng must be an int >= 0, a Generator, a SeedSequence or None, got {rng!r}")
    if rng < 0:
        raise ValueError(f"rng must be an int >= 0, got {rng}")


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
    _rng_iv(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    return np.random.default_rng(int(rng))


def as_seed_sequence(rng: RngLike) -> np.random.SeedSequence:
    """Normalise ``rng`` into a :class:`numpy.random.SeedSequence` to spawn chunk streams from.

    A Generator contributes 128 bits drawn from it (so it advances); an int or None is the
    entropy; a SeedSequence is used as is.
    """
    _rng_iv(rng)
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**63, size=2, dtype=np.uint64).tolist())
    return np.random.SeedSequence(None if rng is None else int(rng))


def chunk_generators(rng: RngLike, count: int) -> list[np.random.Generator]:
    """``count`` independent PCG64 generators spawned from ``rng``'s seed sequence."""
    count = check_int("count", count, low=1)
    return [np.random.Generator(np.random.PCG64(s)) for s in as_seed_sequence(rng).spawn(count)]


def kernel_seeds(rng: RngLike, count: int) -> np.ndarray:
    """Draw ``count`` independent 32-bit integer seeds (for kernels that want integers)."""
    count = check_int("count", count, low=1)
    return as_generator(rng).integers(0, 2**32 - 1, size=count, dtype=np.uint32, endpoint=True)


def chunk_sizes(total: int, chunk: int) -> list[int]:
    """Split ``total`` items into chunks of ``chunk`` (the last one possibly smaller)."""
    total = check_int("total", total, low=1)
    chunk = check_int("chunk", chunk, low=1)
    sizes = [chunk] * (total // chunk)
    if total % chunk:
        sizes.append(total % chunk)
    return sizes


def get_thread_count() -> int:
    """Threads that :func:`map_chunks` and parallel kernels use in this process."""
    return _THREADS[0]


def set_thread_count(count: int) -> None:
    """Limit the threads that chunked and parallel kernels use in this process.

    Results never depend on this number; it only avoids over-subscribing the cores when
    several worker processes run kernels at once.

    Parameters
    ----------
    count : int
        Number of threads, ``1 <= count <= numba.config.NUMBA_NUM_THREADS``.
    """
    import numba

    limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    count = check_int("count", count, low=1, high=limit)
    numba.set_num_threads(count)
    _THREADS[0] = count


def map_chunks(kernel: Callable[..., Any], generators: Sequence[np.random.Generator],
               *per_chunk: Sequence[Any], shared: tuple = ()) -> list[Any]:
    """Call ``kernel(generator_i, *per_chunk_i, *shared)`` for every chunk, on threads.

    ``kernel`` should be compiled with ``nogil=True`` so that threads run in parallel.
    Results come back in chunk order.
    """
    calls = list(zip(generators, *per_chunk, strict=True))
    threads = min(get_thread_count(), len(calls))
    if threads <= 1:
        return [kernel(*c, *shared) for c in calls]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda c: kernel(*c, *shared), calls))
