"""Monte Carlo of the oracle classifier on a two-class Gaussian mixture."""

from __future__ import annotations

from numba import njit

from numerics.core._random import RngLike, chunk_generators, chunk_sizes, map_chunks
from numerics.core._validate import check_int, check_vector

__all__ = ["oracle_error_count"]


@njit(cache=True, error_model="numpy", nogil=True)
def _oracle_error_count_kernel(gen, n, mu):
    d = mu.shape[0]
    errors = 0
    for _ in range(n):
        y = 1.0 if gen.random() < 0.5 else -1.0
        score = 0.0
        for k in range(d):
            score += mu[k] * (y * mu[k] + gen.standard_normal())
        if y * score < 0.0:
            errors += 1
    return errors


def _oracle_error_count_iv(mu, n_samples, chunk):
    mu = check_vector("mu", mu)
    return mu, check_int("n_samples", n_samples, low=1), check_int("chunk", chunk, low=1)


def oracle_error_count(mu, n_samples: int, *, rng: RngLike, chunk: int = 262144) -> int:
    """Count errors of ``sign<mu, x>`` on ``n_samples`` draws of ``x = y mu + z``.

    Parameters
    ----------
    mu : array_like, shape (d,)
        Class mean; ``z ~ N(0, I_d)`` and ``y`` is a fair sign.
    n_samples : int
        Number of draws, ``>= 1``.
    rng : int, Generator, SeedSequence or None
        Seed material (keyword-only).
    chunk : int, default 262144
        Draws per chunk; each chunk has its own spawned generator and chunks run on threads,
        so the count depends on ``rng`` and ``chunk`` but not on the number of threads.

    Returns
    -------
    int
        Number of misclassified draws; Binomial(n_samples, Q(||mu||)) in law.
    """
    mu, n_samples, chunk = _oracle_error_count_iv(mu, n_samples, chunk)
    sizes = chunk_sizes(n_samples, chunk)
    gens = chunk_generators(rng, len(sizes))
    return int(sum(map_chunks(_oracle_error_count_kernel, gens, sizes, shared=(mu,))))
