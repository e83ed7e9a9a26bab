"""Samplers of the two-class Gaussian mixture (standard and Mignacco normalisations)."""

import math

import numpy as np
from numba import njit, prange

from numerics.core._validate import check_int, check_real, check_vector

from ._validation import _check_p

#: Rows generated from one seed.  Part of the definition of a sample: changing it changes the
#: data drawn for a given ``rng`` (but never their distribution).
_CHUNK_ROWS = 256


@njit(cache=True, error_model="numpy")
def _sample_rows(mu, sigma, p, seed, X, y, start, stop):
    """Fill rows ``start:stop`` of ``X``/``y`` with ``x = y mu + sigma z`` from a fresh seed.

    Seeds numba's (per-thread) generator with ``seed`` first, so the rows depend on ``seed``
    only, never on which thread runs the call or what ran before.  Row ``i`` uses one uniform
    for the label (``y = +1`` iff ``u < p``) followed by ``d`` standard normals.
    """
    np.random.seed(seed)
    d = mu.shape[0]
    for i in range(start, stop):
        yi = 1.0 if np.random.random() < p else -1.0
        y[i] = yi
        for k in range(d):
            X[i, k] = yi * mu[k] + sigma * np.random.standard_normal()


@njit(parallel=True, cache=True, error_model="numpy")
def _sample_chunks(mu, sigma, p, seeds, chunk_rows, X, y):
    """Fill ``X``/``y`` by chunks: rows ``c*chunk_rows`` onwards from seed ``seeds[c]``."""
    n = X.shape[0]
    for c in prange(seeds.shape[0]):
        start = c * chunk_rows
        stop = min(n, start + chunk_rows)
        _sample_rows(mu, sigma, p, seeds[c], X, y, start, stop)


def _distinct_seeds(rng, k):
    """``k`` distinct seeds in [0, 2**32) (numba's generator takes 32-bit seeds)."""
    return rng.choice(2**32, size=k, replace=False).astype(np.int64)


def _sample_mixture_iv(n, mu, sigma, p):
    n = check_int("n", n, low=1)
    mu = check_vector("mu", mu)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    p = _check_p(p)
    return n, mu, sigma, p


def _sample(n, mu, sigma, p, rng):
    rng = np.random.default_rng(rng)
    n_chunks = -(-n // _CHUNK_ROWS)
    seeds = _distinct_seeds(rng, n_chunks)
    X = np.empty((n, mu.shape[0]), dtype=np.float64)
    y = np.empty(n, dtype=np.float64)
    _sample_chunks(mu, sigma, p, seeds, _CHUNK_ROWS, X, y)
    return X, y


def sample_mixture(n, mu, *, sigma=1.0, p=0.5, rng=None):
    """Draw ``n`` points of the mixture ``x = y mu + sigma z`` (standard normalisation).

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1``.
    mu : array_like, shape (d,)
        Class mean; ``r = ||mu||`` is the signal-to-noise ratio when ``sigma = 1``.
    sigma : float, optional
        Noise standard deviation, ``sigma > 0``.
    p : float, optional
        ``P(y = +1)``, in (0, 1).
    rng : int, numpy.random.Generator or None, keyword-only
        Source of the per-chunk seeds.

    Returns
    -------
    X : ndarray, shape (n, d)
        Samples (float64, C-contiguous).
    y : ndarray, shape (n,)
        Labels in {-1.0, +1.0}.

    Notes
    -----
    Spec ``gmm_asymptotics.md`` §1.2 (standard normalisation, here with a noise level
    ``sigma``) [MATH].  Rows are generated in chunks of 256, each from its own seed drawn
    (distinct) from ``rng``, in parallel; the output depends only on ``rng``, not on the number
    of numba threads.

    Examples
    --------
    >>> X, y = sample_mixture(5, [1.0, 0.0, 0.0], rng=1234)
    >>> X.shape, sorted(set(y.tolist())) <= [-1.0, 1.0]
    ((5, 3), True)
    """
    n, mu, sigma, p = _sample_mixture_iv(n, mu, sigma, p)
    return _sample(n, mu, sigma, p, rng)


def _sample_mignacco_iv(n, v, delta, p):
    n = check_int("n", n, low=1)
    v = check_vector("v", v)
    delta = check_real("delta", delta, low=0.0, low_open=True)
    p = _check_p(p)
    return n, v, delta, p


def mignacco_to_standard(v, delta):
    """Mean and noise level ``(v / sqrt(d), sqrt(delta))`` of the Mignacco mixture.

    Parameters
    ----------
    v : array_like, shape (d,)
        Mignacco direction ``v`` (typically ``N(0, I_d)``, so ``||v||^2 / d ~ 1``).
    delta : float
        Noise variance ``Delta > 0``.

    Returns
    -------
    mu : ndarray, shape (d,)
        ``v / sqrt(d)``.
    sigma : float
        ``sqrt(delta)``.

    Notes
    -----
    Spec §1.1: ``x = y v / sqrt(d) + sqrt(Delta) z`` is the standard form ``y mu + sigma z``
    with these parameters [MATH].
    """
    v = check_vector("v", v)
    delta = check_real("delta", delta, low=0.0, low_open=True)
    return v / math.sqrt(v.shape[0]), math.sqrt(delta)


def sample_mignacco(n, v, *, delta, p=0.5, rng=None):
    """Draw ``n`` points ``x = y v / sqrt(d) + sqrt(delta) z`` (Mignacco normalisation).

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 1`` (``alpha = n / d``).
    v : array_like, shape (d,)
        Signal direction (the spec draws ``v ~ N(0, I_d)``; it is held fixed here so that
        errors can be computed conditionally on it).
    delta : float, keyword-only
        Noise variance ``Delta > 0``.
    p : float, optional
        ``P(y = +1)``, in (0, 1).
    rng : int, numpy.random.Generator or None, keyword-only
        Source of the per-chunk seeds.

    Returns
    -------
    X : ndarray, shape (n, d)
        Samples.
    y : ndarray, shape (n,)
        Labels in {-1.0, +1.0}.

    Notes
    -----
    Spec ``gmm_asymptotics.md`` §1.1 [RELATED:2002.11544].  Same kernel as
    :func:`sample_mixture` with ``mu = v / sqrt(d)``, ``sigma = sqrt(delta)``; the same
    ``rng`` gives the same labels and noise in both.
    """
    n, v, delta, p = _sample_mignacco_iv(n, v, delta, p)
    mu, sigma = mignacco_to_standard(v, delta)
    return _sample(n, mu, sigma, p, rng)
