"""Full-batch training of PA, LIN and SA with random restarts (prompt_attention.md §10.2).

Each restart starts from ``N(0, init_scale^2)`` parameters and runs ``steps`` full-batch
gradient steps on the empirical risk ``(1/n) sum_i loss(y_i, f(X_i))``; with
``normalized=True`` each step has length ``lr`` (normalised GD as in the related code of
§1.3).  The restart with the best training accuracy (ties: lowest loss) is reported.

Two reconstructed model switches are accepted (readings [INFERRED], see
:mod:`numerics.pa._models`): PA with ``prompt_self_attention=True`` and SA with
``pooling="sa_then_pa"`` (parameters ``(W, q, w)``).  With the default switches the code
path, the random draws and therefore the results are those of the plain models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from numerics.core import as_generator
from numerics.core._validate import check_array, check_choice, check_int, check_real, check_vector
from numerics.pa._algorithm import _loss_slope
from numerics.pa._models import (
    _lin_grads_batch,
    _pa_grads_batch,
    _pa_lin_serial,
    _pa_self_grads_batch,
    _sa_grads_batch,
    _sa_pa_grads_batch,
    _sa_pa_serial,
    _sa_serial,
)
from numerics.pa._validate import _LOSSES

__all__ = ["TrainResult", "train_attention"]


@njit(cache=True, error_model="numpy")
def _loss_value(code, y, f):
    """Loss for correlation (0), squared (1), logistic (2)."""
    if code == 0:
        return -y * f
    if code == 1:
        return 0.5 * (y - f) * (y - f)
    z = -y * f
    if z > 0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@njit(cache=True, error_model="numpy")
def _risk_and_weights(y, f, code, wts):
    """Mean loss; ``wts[i] = loss'(y_i, f_i) / n``."""
    n = y.shape[0]
    tot = 0.0
    for i in range(n):
        tot += _loss_value(code, y[i], f[i])
        wts[i] = _loss_slope(code, y[i], f[i]) / n
    return tot / n


@njit(cache=True, error_model="numpy")
def _step(A, GA, B, GB, C, GC, lr, normalized):
    """``(A, B, C) -= scale * (GA, GB, GC)``; length ``lr`` of the joint step if ``normalized``.

    Two-block models pass an empty third block.
    """
    nrm = 0.0
    for j in range(GA.size):
        nrm += GA.flat[j] * GA.flat[j]
    for j in range(GB.size):
        nrm += GB.flat[j] * GB.flat[j]
    for j in range(GC.size):
        nrm += GC.flat[j] * GC.flat[j]
    nrm = math.sqrt(nrm)
    scale = lr
    if normalized:
        if nrm == 0.0:
            return
        scale = lr / nrm
    for j in range(A.size):
        A.flat[j] -= scale * GA.flat[j]
    for j in range(B.size):
        B.flat[j] -= scale * GB.flat[j]
    for j in range(C.size):
        C.flat[j] -= scale * GC.flat[j]


@njit(cache=True, error_model="numpy")
def _train_pa_lin(X, y, q, w, model, tau, c, code, lr, steps, normalized):
    """GD on ``(q, w)`` in place; returns the final risk.

    ``model``: PA (0), LIN (1) or PA with prompt self-attention (2, scratch of ``T + 1``).
    """
    n, T, d = X.shape
    f = np.empty(n)
    gq = np.empty((n, d))
    gw = np.empty((n, d))
    wts = np.empty(n)
    m = T + 1 if model == 2 else T
    s = np.empty(m)
    v = np.empty(m)
    g = np.empty(m)
    Gq = np.empty(d)
    Gw = np.empty(d)
    none = np.empty(0)
    for _ in range(steps):
        _pa_lin_serial(X, q, w, model, tau, c, f, gq, gw, s, v, g)
        _risk_and_weights(y, f, code, wts)
        for j in range(d):
            Gq[j] = 0.0
            Gw[j] = 0.0
        for i in range(n):
            for j in range(d):
                Gq[j] += wts[i] * gq[i, j]
                Gw[j] += wts[i] * gw[i, j]
        _step(q, Gq, w, Gw, none, none, lr, normalized)
    _pa_lin_serial(X, q, w, model, tau, c, f, gq, gw, s, v, g)
    return _risk_and_weights(y, f, code, wts)


@njit(cache=True, error_model="numpy")
def _train_sa(X, y, W, w, r, code, lr, steps, normalized):
    """GD on ``(W, w)`` in place for mean/first-pooled SA; returns final risk."""
    n, T, d = X.shape
    f = np.empty(n)
    gW = np.empty((n, d, d))
    gw = np.empty((n, d))
    wts = np.empty(n)
    P = np.empty((T, T))
    GW = np.empty((d, d))
    Gw = np.empty(d)
    none = np.empty(0)
    for _ in range(steps):
        _sa_serial(X, W, w, r, f, gW, gw, P, True)
        _risk_and_weights(y, f, code, wts)
        GW[:, :] = 0.0
        Gw[:] = 0.0
        for i in range(n):
            for a in range(d):
                for b in range(d):
                    GW[a, b] += wts[i] * gW[i, a, b]
                Gw[a] += wts[i] * gw[i, a]
        _step(W, GW, w, Gw, none, none, lr, normalized)
    _sa_serial(X, W, w, r, f, gW, gw, P, False)
    return _risk_and_weights(y, f, code, wts)


@njit(cache=True, error_model="numpy")
def _train_sa_pa(X, y, W, q, w, tau, code, lr, steps, normalized):
    """GD on ``(W, q, w)`` in place for SA followed by PA pooling; returns final risk."""
    n, T, d = X.shape
    f = np.empty(n)
    gW = np.empty((n, d, d))
    gq = np.empty((n, d))
    gw = np.empty((n, d))
    wts = np.empty(n)
    P = np.empty((T, T))
    GW = np.empty((d, d))
    Gq = np.empty(d)
    Gw = np.empty(d)
    for _ in range(steps):
        _sa_pa_serial(X, W, q, w, tau, f, gW, gq, gw, P, True)
        _risk_and_weights(y, f, code, wts)
        GW[:, :] = 0.0
        Gq[:] = 0.0
        Gw[:] = 0.0
        for i in range(n):
            for a in range(d):
                for b in range(d):
                    GW[a, b] += wts[i] * gW[i, a, b]
                Gq[a] += wts[i] * gq[i, a]
                Gw[a] += wts[i] * gw[i, a]
        _step(W, GW, q, Gq, w, Gw, lr, normalized)
    _sa_pa_serial(X, W, q, w, tau, f, gW, gq, gw, P, False)
    return _risk_and_weights(y, f, code, wts)


@dataclass(frozen=True)
class TrainResult:
    """Output of :func:`train_attention`.

    Attributes
    ----------
    model : str
        "pa", "lin" or "sa".
    params : tuple of ndarray
        Best restart: ``(q, w)`` for PA and LIN, ``(W, w)`` for SA, ``(W, q, w)`` for SA
        with ``pooling="sa_then_pa"``.
    accuracy, risk : float
        Training accuracy and empirical risk of the best restart.
    accuracies, risks : ndarray, shape (restarts,)
        Same for every restart, in order.
    """

    model: str
    params: tuple
    accuracy: float
    risk: float
    accuracies: np.ndarray
    risks: np.ndarray


def _train_iv(model, X, y, loss, steps, lr, normalized, restarts, init_scale, temperature,
              lin_scale, pooling, prompt_self_attention, rng):
    check_choice("model", model, ("pa", "lin", "sa"))
    X = check_array("X", X, ndim=3)
    if min(X.shape) < 1:
        raise ValueError(f"X must have n, T, d >= 1, got shape {X.shape}")
    y = check_vector("y", y, dim=X.shape[0])
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("y must contain only labels -1 and +1")
    check_choice("loss", loss, _LOSSES)
    steps = check_int("steps", steps, low=0)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    if not isinstance(normalized, bool):
        raise ValueError(f"normalized must be True or False, got {normalized!r}")
    restarts = check_int("restarts", restarts, low=1)
    init_scale = check_real("init_scale", init_scale, low=0.0)
    tau = check_real("temperature", temperature, low=0.0, low_open=True)
    check_choice("lin_scale", lin_scale, ("1/T", "1"))
    check_choice("pooling", pooling, ("mean", "first", "sa_then_pa"))
    if not isinstance(prompt_self_attention, bool):
        raise ValueError(
            f"prompt_self_attention must be True or False, got {prompt_self_attention!r}")
    if prompt_self_attention and model != "pa":
        raise ValueError(
            f"prompt_self_attention=True applies to model='pa' only, got model={model!r}")
    return X, y, steps, lr, restarts, init_scale, tau, as_generator(rng)


def train_attention(
    model,
    X,
    y,
    *,
    loss="logistic",
    steps=300,
    lr=0.1,
    normalized=True,
    restarts=10,
    init_scale=0.01,
    temperature=1.0,
    lin_scale="1/T",
    pooling="mean",
    prompt_self_attention=False,
    rng=None,
):
    """Train PA, LIN or SA by full-batch gradient descent with random restarts.

    Parameters
    ----------
    model : {"pa", "lin", "sa"}
        Softmax prompt-attention ``(q, w)``, linear prompt-attention ``(q, w)`` or softmax
        self-attention ``(W, w)``.
    X : array_like, shape (n, T, d)
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    loss : {"correlation", "squared", "logistic"}, optional
    steps : int, optional
        Gradient steps per restart (``>= 0``).
    lr : float, optional
        Step size (the step length when ``normalized``).
    normalized : bool, optional
        Normalised GD (each step has length ``lr``) as in §1.3 [RELATED:2306.13596].
    restarts : int, optional
        Number of random initialisations (``>= 1``).
    init_scale : float, optional
        Standard deviation of the Gaussian initialisation.
    temperature : float, optional
        PA score multiplier (also of the pooling softmax of ``"sa_then_pa"``).
    lin_scale : {"1/T", "1"}, optional
        LIN normalisation.
    pooling : {"mean", "first", "sa_then_pa"}, optional
        SA pooling (``pa.sa_pooling``).  ``"sa_then_pa"`` trains ``(W, q, w)`` of
        ``f = w^T O^T S(tau O q)``, ``O = S_row(X W X^T) X`` (reading [INFERRED]); the
        initial vector is drawn as ``(W, q, w)`` in that order.
    prompt_self_attention : bool, optional
        PA only (``pa.prompt_self_attention``): the prompt is an extra token ``x_0 = q``
        (reading [INFERRED]).  Default False.
    rng : int, numpy.random.Generator or None, optional
        Source of the initialisations.

    Returns
    -------
    TrainResult
        Best-of-restarts parameters, training accuracy and risk.

    Notes
    -----
    prompt_attention.md §10.2 (numerical proxy for the SA half of the expressivity claim,
    [ABSTRACT] claim, construction [UNKNOWN]; report only).  A prediction of exactly 0
    counts as wrong.
    """
    X, y, steps, lr, restarts, init_scale, tau, gen = _train_iv(
        model, X, y, loss, steps, lr, normalized, restarts, init_scale, temperature, lin_scale,
        pooling, prompt_self_attention, rng,
    )
    n, T, d = X.shape
    code = _LOSSES[loss]
    sa_pa = model == "sa" and pooling == "sa_then_pa"
    p = d * d + d if model == "sa" else 2 * d
    if sa_pa:
        p += d
    inits = init_scale * gen.standard_normal((restarts, p))
    thetas, risks, accs = [], [], []
    if model == "sa" and not sa_pa:
        r = np.full(T, 1.0 / T) if pooling == "mean" else np.eye(1, T)[0]
    for k in range(restarts):
        if sa_pa:
            A = np.ascontiguousarray(inits[k, : d * d].reshape(d, d))
            Q = inits[k, d * d : d * d + d].copy()
            B = inits[k, d * d + d :].copy()
            risk = _train_sa_pa(X, y, A, Q, B, tau, code, lr, steps, normalized)
            f = np.empty(n)
            e2, e1 = np.empty((n, 0, 0)), np.empty((n, 0))
            _sa_pa_grads_batch(X, A, Q, B, tau, f, e2, e1, e1, False)
            thetas.append((A, Q, B))
            risks.append(float(risk))
            accs.append(float(np.mean(np.sign(f) == y)))
            continue
        if model == "sa":
            A = np.ascontiguousarray(inits[k, : d * d].reshape(d, d))
            B = inits[k, d * d :].copy()
            risk = _train_sa(X, y, A, B, r, code, lr, steps, normalized)
            f = np.empty(n)
            _sa_grads_batch(X, A, B, r, f, np.empty((n, d, d)), np.empty((n, d)), False)
        else:
            A = inits[k, :d].copy()
            B = inits[k, d:].copy()
            m = 0 if model == "pa" else 1
            if prompt_self_attention:
                m = 2
            c = 1.0 / T if lin_scale == "1/T" else 1.0
            risk = _train_pa_lin(X, y, A, B, m, tau, c, code, lr, steps, normalized)
            f = np.empty(n)
            gq = np.empty((n, d))
            gw = np.empty((n, d))
            if m == 0:
                _pa_grads_batch(X, A, B, tau, f, gq, gw)
            elif m == 1:
                _lin_grads_batch(X, A, B, c, f, gq, gw)
            else:
                _pa_self_grads_batch(X, A, B, tau, f, gq, gw)
        thetas.append((A, B))
        risks.append(float(risk))
        accs.append(float(np.mean(np.sign(f) == y)))
    accs_a = np.array(accs)
    risks_a = np.array(risks)
    best = int(np.lexsort((risks_a, -accs_a))[0])
    params = thetas[best]
    return TrainResult(
        model=model,
        params=params,
        accuracy=float(accs_a[best]),
        risk=float(risks_a[best]),
        accuracies=accs_a,
        risks=risks_a,
    )
