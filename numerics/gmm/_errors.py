"""Exact conditional test error of a fitted linear classifier on the mixture."""

import math

from numba import njit

from numerics.core._validate import check_real, check_vector

from ._validation import _check_p

_SQRT2 = math.sqrt(2.0)


@njit(cache=True, error_model="numpy")
def _gauss_q(x):
    """Gaussian tail ``Q(x) = erfc(x / sqrt 2) / 2``."""
    return 0.5 * math.erfc(x / _SQRT2)


@njit(cache=True, error_model="numpy")
def _step_q(x):
    """Limit of ``Q(x / s)`` as ``s -> 0+``: 1, 1/2 or 0 for ``x <``, ``=``, ``> 0``."""
    if x > 0.0:
        return 0.0
    if x < 0.0:
        return 1.0
    return 0.5


@njit(cache=True, error_model="numpy")
def _error_mqb(m, q, b, p):
    """``p Q((m + b)/sqrt q) + (1 - p) Q((m - b)/sqrt q)``; its ``q -> 0+`` limit at ``q = 0``."""
    if q > 0.0:
        s = math.sqrt(q)
        return p * _gauss_q((m + b) / s) + (1.0 - p) * _gauss_q((m - b) / s)
    return p * _step_q(m + b) + (1.0 - p) * _step_q(m - b)


@njit(cache=True, error_model="numpy")
def _order_params(w, mu, sigma, scale):
    """Score signal ``m = scale <w, mu>`` and noise variance ``q = (scale sigma ||w||)^2``."""
    dot = 0.0
    nrm2 = 0.0
    for k in range(w.shape[0]):
        dot += w[k] * mu[k]
        nrm2 += w[k] * w[k]
    return scale * dot, (scale * sigma) ** 2 * nrm2


def _error_iv(w, b, mean, mean_name, p):
    w = check_vector("w", w)
    mean = check_vector(mean_name, mean, dim=w.shape[0])
    b = check_real("b", b)
    p = _check_p(p)
    return w, b, mean, p


def error_from_order_parameters(m, q, b=0.0, *, p=0.5):
    """Test error ``p Q((m + b)/sqrt q) + (1 - p) Q((m - b)/sqrt q)``.

    Parameters
    ----------
    m : float
        Mean of the score ``y * (signal part)``; any real.
    q : float
        Variance of the score noise, ``q >= 0`` (``q = 0``: the limit ``q -> 0+``).
    b : float, optional
        Bias.
    p : float, keyword-only
        ``P(y = +1)``, in (0, 1).

    Returns
    -------
    float
        Misclassification probability of ``sign(score)``.

    Notes
    -----
    Spec §1.1 (``epsilon_g``) [RELATED:2002.11544]; ``Q(x) = erfc(x / sqrt 2) / 2`` via
    ``math.erfc``, accurate in the far tail (no ``1 - Phi`` cancellation).

    Examples
    --------
    >>> round(error_from_order_parameters(1.0, 1.0), 6)
    0.158655
    """
    m = check_real("m", m)
    q = check_real("q", q, low=0.0)
    b = check_real("b", b)
    p = _check_p(p)
    return float(_error_mqb(m, q, b, p))


def conditional_error(w, b, mu, *, sigma=1.0, p=0.5):
    """Exact error of ``sign(<w, x> + b)`` on ``x = y mu + sigma z`` (standard normalisation).

    Parameters
    ----------
    w : array_like, shape (d,)
        Weight vector.
    b : float
        Bias (0 for classifiers without intercept).
    mu : array_like, shape (d,)
        Class mean.
    sigma : float, keyword-only
        Noise standard deviation, ``> 0``.
    p : float, keyword-only
        ``P(y = +1)``, in (0, 1).

    Returns
    -------
    float
        ``p Q((<w,mu> + b)/(sigma ||w||)) + (1 - p) Q((<w,mu> - b)/(sigma ||w||))``.

    Notes
    -----
    Spec §1.2 and pitfall 8 of §8 (score each fit by its exact conditional error instead of
    a test set) [MATH].  For ``w = 0`` the classifier is ``sign(b)`` and the limit is returned.

    Examples
    --------
    >>> round(conditional_error([1.0, 0.0], 0.0, [2.0, 0.0]), 6)  # oracle, Q(2)
    0.02275
    """
    w, b, mu, p = _error_iv(w, b, mu, "mu", p)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    m, q = _order_params(w, mu, sigma, 1.0)
    return float(_error_mqb(m, q, b, p))


def order_parameters_mignacco(w, v, *, delta):
    """Mignacco order parameters ``m = v.w / d`` and ``q = delta ||w||^2 / d``.

    Parameters
    ----------
    w : array_like, shape (d,)
        Weights in the Mignacco scaling (score ``w.x / sqrt(d) + b``).
    v : array_like, shape (d,)
        Signal direction of the data.
    delta : float, keyword-only
        Noise variance ``> 0``.

    Returns
    -------
    m, q : float
        Order parameters of §1.1 (``Delta`` absorbed into ``q``, pitfall 2).

    Notes
    -----
    Spec §1.1 [RELATED:2002.11544].
    """
    w = check_vector("w", w)
    v = check_vector("v", v, dim=w.shape[0])
    delta = check_real("delta", delta, low=0.0, low_open=True)
    d = w.shape[0]
    m, q = _order_params(w, v / math.sqrt(d), math.sqrt(delta), 1.0 / math.sqrt(d))
    return float(m), float(q)


def conditional_error_mignacco(w, b, v, *, delta, p=0.5):
    """Exact error of ``sign(w.x / sqrt(d) + b)`` on ``x = y v / sqrt(d) + sqrt(delta) z``.

    Parameters
    ----------
    w : array_like, shape (d,)
        Weights (Mignacco scaling).
    b : float
        Bias.
    v : array_like, shape (d,)
        Signal direction.
    delta : float, keyword-only
        Noise variance ``> 0``.
    p : float, keyword-only
        ``P(y = +1)``, in (0, 1).

    Returns
    -------
    float
        ``p Q((m + b)/sqrt q) + (1 - p) Q((m - b)/sqrt q)`` with ``m = v.w/d``,
        ``q = delta ||w||^2 / d``.

    Notes
    -----
    Spec §1.1 [RELATED:2002.11544], pitfalls 2 and 8 of §8.
    """
    w, b, v, p = _error_iv(w, b, v, "v", p)
    m, q = order_parameters_mignacco(w, v, delta=delta)
    return float(_error_mqb(m, q, b, p))

