"""Batch driver: sample, fit and score many replicates in parallel, reproducibly."""

import dataclasses
import math

import numpy as np
from numba import njit, prange

from numerics.core._validate import check_choice, check_int, check_real, check_vector

from ._errors import _error_mqb, _order_params
from ._logistic import _fit_logistic
from ._ridge import _fit_mean_difference, _fit_square
from ._sampling import _distinct_seeds, _sample_rows
from ._svm import _default_max_iter, _fit_hinge, _fit_max_margin
from ._validation import _check_lam, _check_p

#: Method names accepted by :func:`simulate_fits`, in kernel-code order.
METHODS = ("ridge", "ridge_standard", "logistic", "hinge", "max_margin", "mean_difference")
#: Whether the method's score is ``w.x / sqrt(d) + b`` (Mignacco scaling) or ``<w, x> + b``.
_MIGNACCO_SCALED = (True, False, True, True, False, False)

_STATUS_TEXT = {
    1: "did not converge",
    2: "data not linearly separable through the origin",
    3: "singular system or a single class present",
}


@njit(cache=True, error_model="numpy")
def _fit_one(method, X, y, lam, intercept, tol, max_iter, w):
    """Dispatch one fit; returns ``(b, status, score_scale)`` (status as in ``_STATUS_TEXT``)."""
    n, d = X.shape
    s_m = 1.0 / math.sqrt(d)
    npos = 0
    for i in range(n):
        if y[i] > 0:
            npos += 1
    one_class = npos == 0 or npos == n
    if method == 0:
        b, st = _fit_square(X, y, lam, intercept, s_m, w)
        return b, (3 if st != 0 else 0), s_m
    if method == 1:
        b, st = _fit_square(X, y, lam * n, False, 1.0, w)
        return b, (3 if st != 0 else 0), 1.0
    if method == 2:
        if intercept and one_class:
            for k in range(d):
                w[k] = 0.0
            return 0.0, 3, s_m
        b, it, gn, g0, st = _fit_logistic(X, y, lam, intercept, tol, max_iter, w)
        return b, (1 if st != 0 else 0), s_m
    if method == 3:
        if intercept and one_class:
            for k in range(d):
                w[k] = 0.0
            return 0.0, 3, s_m
        alpha = np.empty(n)
        b, it, viol, nfree, st = _fit_hinge(X, y, lam, intercept, tol, max_iter, w, alpha)
        return b, (1 if st != 0 else 0), s_m
    if method == 4:
        alpha = np.empty(n)
        mmin, it, viol, st = _fit_max_margin(X, y, tol, max_iter, w, alpha)
        if st == 2 or not mmin > 0.0:
            return 0.0, 2, 1.0
        return 0.0, (1 if st != 0 else 0), 1.0
    _fit_mean_difference(X, y, w)
    return 0.0, 0, 1.0


@njit(cache=True, error_model="numpy")
def _one_replicate(method, n, mu, sigma, p, lam, intercept, tol, max_iter, seed):
    """Sample one data set from ``seed``, fit it, return ``(err, m, q, b, status)``."""
    d = mu.shape[0]
    X = np.empty((n, d))
    y = np.empty(n)
    _sample_rows(mu, sigma, p, seed, X, y, 0, n)
    w = np.empty(d)
    b, st, scale = _fit_one(method, X, y, lam, intercept, tol, max_iter, w)
    m, q = _order_params(w, mu, sigma, scale)
    return _error_mqb(m, q, b, p), m, q, b, st


@njit(parallel=True, cache=True, error_model="numpy")
def _replicates(method, n, mu, sigma, p, lam, intercept, tol, max_iter, seeds, out, status):
    """Replicate ``r`` (in ``prange``) uses only ``seeds[r]``: thread-count independent.

    ``out[r] = (err, m, q, b)``.  Each iteration allocates its own data set, so at most one
    data set per thread is alive at a time.
    """
    for r in prange(seeds.shape[0]):
        e, m, q, b, st = _one_replicate(method, n, mu, sigma, p, lam, intercept, tol, max_iter,
                                        seeds[r])
        out[r, 0] = e
        out[r, 1] = m
        out[r, 2] = q
        out[r, 3] = b
        status[r] = st


@dataclasses.dataclass(frozen=True)
class ReplicateFits:
    """Per-replicate results of :func:`simulate_fits`.

    Attributes
    ----------
    method : str
        Estimator name.
    n, d : int
        Sample size and dimension.
    err : ndarray
        Exact conditional test error of each fit (NaN where ``status != 0``).
    m, q, b : ndarray
        Score order parameters: ``m`` signal, ``q`` noise variance, ``b`` bias, of the score
        as fitted (Mignacco ``m = v.w/d``, ``q = Delta ||w||^2/d`` for ridge/logistic/hinge
        on Mignacco data; ``<w, mu>``, ``sigma^2 ||w||^2`` for the unscaled heads).
    status : ndarray of int
        0 ok, 1 not converged, 2 not separable, 3 singular system or a single class.
    seeds : ndarray of int
        The seed of each replicate (see :func:`replicate_data`).
    """

    method: str
    n: int
    d: int
    err: np.ndarray
    m: np.ndarray
    q: np.ndarray
    b: np.ndarray
    status: np.ndarray
    seeds: np.ndarray


def _mean_noise(mean, noise, normalization):
    check_choice("normalization", normalization, ("standard", "mignacco"))
    v = check_vector("mean", mean)
    noise = check_real("noise", noise, low=0.0, low_open=True)
    if normalization == "standard":
        return v, noise
    return v / math.sqrt(v.shape[0]), math.sqrt(noise)  # noise is delta = sigma^2 here


def _simulate_fits_iv(method, n, mean, replicates, normalization, noise, p, lam, intercept,
                      tol, max_iter):
    check_choice("method", method, METHODS)
    code = METHODS.index(method)
    n = check_int("n", n, low=1)
    replicates = check_int("replicates", replicates, low=1)
    mu, sigma = _mean_noise(mean, noise, normalization)
    p = _check_p(p)
    lam = _check_lam(lam, positive=method == "hinge")
    if tol is None:
        tol = 1e-10 if method == "logistic" else 1e-8
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True)
    if max_iter is None:
        max_iter = 100 if method == "logistic" else _default_max_iter(None, n,
                                                                      method == "max_margin")
    max_iter = check_int("max_iter", max_iter, low=1)
    if method in ("ridge_standard", "max_margin", "mean_difference") and intercept:
        raise ValueError(f"intercept must be False for method {method!r}, got {intercept!r}")
    return code, n, mu, sigma, p, lam, bool(intercept), tol, max_iter, replicates


def simulate_fits(method, n, mean, replicates, *, normalization="standard", noise=1.0, p=0.5,
                  lam=0.0, intercept=False, tol=None, max_iter=None, strict=True, rng=None):
    """Sample, fit and score ``replicates`` independent data sets in parallel.

    Parameters
    ----------
    method : str
        One of ``"ridge"`` (:func:`fit_ridge`, Mignacco scaling), ``"ridge_standard"``
        (:func:`fit_ridge_standard`, ``lam`` is ``lam_r``), ``"logistic"``, ``"hinge"``
        (Mignacco scaling), ``"max_margin"``, ``"mean_difference"`` (unscaled, no bias).
    n : int
        Samples per data set, ``n >= 1``.
    mean : array_like, shape (d,)
        ``mu`` (standard normalisation) or ``v`` (Mignacco), held fixed across replicates.
    replicates : int
        Number of data sets ``R >= 1``.
    normalization : {"standard", "mignacco"}, keyword-only
        Data model: ``x = y mu + sigma z`` or ``x = y v / sqrt(d) + sqrt(Delta) z``.
    noise : float, keyword-only
        ``sigma`` (standard) or ``Delta`` (Mignacco), ``> 0``.
    p : float, keyword-only
        ``P(y = +1)``, in (0, 1).
    lam : float, keyword-only
        Penalty of the method (``>= 0``; ``> 0`` for hinge; ignored by max-margin and
        mean difference).
    intercept : bool, keyword-only
        Fit an unpenalised bias (ridge, logistic, hinge only).
    tol, max_iter : optional, keyword-only
        Solver controls; defaults as in the single-fit functions.
    strict : bool, keyword-only
        Raise ``RuntimeError`` if any replicate failed (status != 0); otherwise failed
        replicates carry NaN errors.
    rng : int, numpy.random.Generator or None, keyword-only
        Source of the replicate seeds (distinct 32-bit seeds).

    Returns
    -------
    ReplicateFits
        Exact conditional errors, ``m``, ``q``, ``b``, status and seeds per replicate.

    Notes
    -----
    Spec ``gmm_asymptotics.md`` §9 "Monte Carlo numerics" and pitfall 8 of §8 (exact
    conditional error of each fit, no test set) [MATH].  Replicate ``r`` runs entirely on one
    thread from its own seed (one data set per thread at a time), so results are bit-for-bit
    identical for any number of numba threads.  The data of replicate ``r`` are
    ``replicate_data(n, mean, result.seeds[r], ...)``.
    """
    code, n, mu, sigma, p, lam, intercept, tol, max_iter, replicates = _simulate_fits_iv(
        method, n, mean, replicates, normalization, noise, p, lam, intercept, tol, max_iter)
    rng = np.random.default_rng(rng)
    seeds = _distinct_seeds(rng, replicates)
    out = np.empty((replicates, 4))
    status = np.empty(replicates, dtype=np.int64)
    _replicates(code, n, mu, sigma, p, lam, intercept, tol, max_iter, seeds, out, status)
    bad = status != 0
    if strict and np.any(bad):
        codes = {int(c): int(np.sum(status == c)) for c in np.unique(status[bad])}
        text = ", ".join(f"{k} x {_STATUS_TEXT[c]}" for c, k in codes.items())
        raise RuntimeError(f"{int(bad.sum())} of {replicates} {method} fits failed ({text}); "
                           "pass strict=False to keep the others")
    err = out[:, 0].copy()
    err[bad] = np.nan
    return ReplicateFits(method=method, n=n, d=mu.shape[0], err=err, m=out[:, 1].copy(),
                         q=out[:, 2].copy(), b=out[:, 3].copy(), status=status, seeds=seeds)


def replicate_data(n, mean, seed, *, normalization="standard", noise=1.0, p=0.5):
    """Regenerate the data set that :func:`simulate_fits` drew from ``seed``.

    Parameters
    ----------
    n : int
        Samples, ``n >= 1``.
    mean : array_like, shape (d,)
        ``mu`` or ``v`` as passed to :func:`simulate_fits`.
    seed : int
        One entry of ``ReplicateFits.seeds``, in ``[0, 2**32)``.
    normalization, noise, p
        As in :func:`simulate_fits`.

    Returns
    -------
    X : ndarray, shape (n, d)
        Data.
    y : ndarray, shape (n,)
        Labels.

    Notes
    -----
    Same kernel as the samplers (spec §1.1 / §1.2) [MATH], run serially from one seed.
    """
    n = check_int("n", n, low=1)
    mu, sigma = _mean_noise(mean, noise, normalization)
    p = _check_p(p)
    seed = check_int("seed", seed, low=0)
    if seed >= 2**32:
        raise ValueError(f"seed must lie in [0, 2**32), got {seed}")
    X = np.empty((n, mu.shape[0]))
    y = np.empty(n)
    _sample_rows(mu, sigma, p, np.int64(seed), X, y, 0, n)
    return X, y
