"""Forward passes and exact derivatives of PA, LIN and SA (prompt_attention.md §4, §5).

Three one-layer models of one sequence ``X`` (``T x d``):

* softmax prompt-attention  ``f_PA(X; q, w) = w^T X^T S(tau X q)``;
* linear prompt-attention   ``f_LIN(X; q, w) = c w^T X^T X q`` with ``c = 1/T`` or ``1``;
* softmax self-attention    ``f_SA(X; W, w) = r^T S_row(X W X^T) X w`` with pooling weights
  ``r = 1/T`` (mean pooling) or ``r = e_1`` (first token).

Two reconstructed switches (prompt_attention.md §4.1, §4.4; readings [INFERRED], see
``theory.pa.pa_model`` and ``theory.pa.sa_model``):

* ``pa.prompt_self_attention = True``: the prompt also attends to itself, as an extra token
  ``x_0 = q`` (identity key, query and value maps), ``f = w^T X~^T S(tau X~ q)`` with
  ``X~ = [q^T; X]`` (``prompt_self_attention=True`` of :func:`pa_grads`);
* ``pa.sa_pooling = "sa_then_pa"``: prompt-attention pooling of the self-attention outputs,
  ``f = w^T O^T S(tau O q)`` with ``O = S_row(X W X^T) X`` (:func:`sa_pa_grads`).

Kernels (``_``-prefixed, compiled) take arrays and write into preallocated outputs; the public
wrappers validate, coerce to float64 and allocate.  Every softmax subtracts the maximum score.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from numerics.core._validate import check_array, check_choice, check_real, check_vector

__all__ = [
    "central_difference_gradient",
    "central_difference_hessian",
    "central_difference_jacobian",
    "lin_forward",
    "lin_grads",
    "pa_forward",
    "pa_grads",
    "pa_hessian",
    "sa_forward",
    "sa_grads",
    "sa_pa_forward",
    "sa_pa_grads",
    "softmax",
    "softmax_jacobian",
]

_EPS = float(np.finfo(np.float64).eps)
#: batches smaller than this run serially (a parallel launch costs more than it saves)
_PARALLEL_MIN = 64


# --------------------------------------------------------------------------- kernels


@njit(cache=True, error_model="numpy")
def _softmax_into(z, out):
    """Write ``S(z)`` into ``out`` (max-subtracted); ``z`` and ``out`` may alias."""
    m = z[0]
    for t in range(1, z.shape[0]):
        if z[t] > m:
            m = z[t]
    tot = 0.0
    for t in range(z.shape[0]):
        e = np.exp(z[t] - m)
        out[t] = e
        tot += e
    for t in range(z.shape[0]):
        out[t] /= tot


@njit(cache=True, error_model="numpy")
def _pa_core(X, q, w, tau, s, v, g, gq, gw):
    """PA value; fills ``s = S(tau X q)``, ``v = X w``, ``g = J(s) v``, ``gq``, ``gw``."""
    T, d = X.shape
    for t in range(T):
        zt = 0.0
        vt = 0.0
        for j in range(d):
            zt += X[t, j] * q[j]
            vt += X[t, j] * w[j]
        s[t] = tau * zt
        v[t] = vt
    _softmax_into(s, s)
    f = 0.0
    for t in range(T):
        f += s[t] * v[t]
    for t in range(T):
        g[t] = s[t] * (v[t] - f)
    for j in range(d):
        a = 0.0
        b = 0.0
        for t in range(T):
            a += X[t, j] * s[t]
            b += X[t, j] * g[t]
        gw[j] = a
        gq[j] = tau * b
    return f


@njit(cache=True, error_model="numpy", parallel=True)
def _pa_grads_batch(X, q, w, tau, f_out, gq_out, gw_out):
    """Values and gradients of f_PA for every sequence of a batch."""
    n, T, d = X.shape
    for i in prange(n):
        s = np.empty(T)
        v = np.empty(T)
        g = np.empty(T)
        f_out[i] = _pa_core(X[i], q, w, tau, s, v, g, gq_out[i], gw_out[i])


@njit(cache=True, error_model="numpy")
def _pa_self_core(X, q, w, tau, s, v, g, gq, gw):
    """PA with prompt self-attention (token ``x_0 = q``); ``s``, ``v``, ``g`` hold T + 1.

    ``s = S(tau X~ q)``, ``v = X~ w`` with ``X~ = [q^T; X]``; fills ``gw = X~^T s`` and
    ``gq = tau X~^T g + tau g_0 q + s_0 w`` (the last two terms because ``x_0`` is ``q``).
    """
    T, d = X.shape
    Xt = np.empty((T + 1, d))
    Xt[0] = q
    Xt[1:] = X
    f = _pa_core(Xt, q, w, tau, s, v, g, gq, gw)
    for j in range(d):
        gq[j] += tau * g[0] * q[j] + s[0] * w[j]
    return f


@njit(cache=True, error_model="numpy", parallel=True)
def _pa_self_grads_batch(X, q, w, tau, f_out, gq_out, gw_out):
    """Values and gradients of PA with prompt self-attention for every sequence."""
    n, T, d = X.shape
    for i in prange(n):
        s = np.empty(T + 1)
        v = np.empty(T + 1)
        g = np.empty(T + 1)
        f_out[i] = _pa_self_core(X[i], q, w, tau, s, v, g, gq_out[i], gw_out[i])


@njit(cache=True, error_model="numpy")
def _pa_self_hessian_kernel(X, q, w, tau, hqq, hqw):
    """Second derivatives of PA with prompt self-attention (theory.pa.model_closed_form).

    With ``D = tau (X~ + e_0 q^T)`` (score Jacobian), ``H = diag(g) - g s^T - s g^T``:
    ``hqq = D^T H D + 2 tau g_0 I + s_0 [(D_0 - D^T s) w^T + w (D_0 - D^T s)^T]`` and
    ``hqw = D^T J(s) X~ + s_0 I``.
    """
    T, d = X.shape
    s = np.empty(T + 1)
    v = np.empty(T + 1)
    g = np.empty(T + 1)
    _pa_self_core(X, q, w, tau, s, v, g, np.empty(d), np.empty(d))
    D = np.empty((T + 1, d))
    Xt = np.empty((T + 1, d))
    for j in range(d):
        D[0, j] = 2.0 * tau * q[j]
        Xt[0, j] = q[j]
        for t in range(T):
            D[t + 1, j] = tau * X[t, j]
            Xt[t + 1, j] = X[t, j]
    ds = np.zeros(d)  # D^T s
    dg = np.zeros(d)  # D^T g
    xs = np.zeros(d)  # X~^T s
    for t in range(T + 1):
        for j in range(d):
            ds[j] += D[t, j] * s[t]
            dg[j] += D[t, j] * g[t]
            xs[j] += Xt[t, j] * s[t]
    for i in range(d):
        ji = s[0] * (D[0, i] - ds[i])  # (D^T J e_0)_i
        for j in range(d):
            h1 = 0.0
            h2 = 0.0
            for t in range(T + 1):
                h1 += D[t, i] * g[t] * D[t, j]
                h2 += D[t, i] * s[t] * Xt[t, j]
            jj = s[0] * (D[0, j] - ds[j])
            hqq[i, j] = h1 - dg[i] * ds[j] - ds[i] * dg[j] + ji * w[j] + w[i] * jj
            hqw[i, j] = h2 - ds[i] * xs[j]
        hqq[i, i] += 2.0 * tau * g[0]
        hqw[i, i] += s[0]


@njit(cache=True, error_model="numpy")
def _pa_hessian_kernel(X, q, w, tau, hqq, hqw):
    """Fill ``hqq = tau^2 X^T H X`` and ``hqw = tau X^T J(s) X`` (§5 item 2)."""
    T, d = X.shape
    s = np.empty(T)
    v = np.empty(T)
    g = np.empty(T)
    gq = np.empty(d)
    gw = np.empty(d)
    _pa_core(X, q, w, tau, s, v, g, gq, gw)
    # M = H X and N = J X, (T x d)
    sx = np.zeros(d)
    gx = np.zeros(d)
    for t in range(T):
        for j in range(d):
            sx[j] += s[t] * X[t, j]
            gx[j] += g[t] * X[t, j]
    for i in range(d):
        for j in range(d):
            h1 = 0.0
            h2 = 0.0
            for t in range(T):
                h1 += X[t, i] * g[t] * X[t, j]
                h2 += X[t, i] * s[t] * X[t, j]
            hqq[i, j] = tau * tau * (h1 - gx[i] * sx[j] - sx[i] * gx[j])
            hqw[i, j] = tau * (h2 - sx[i] * sx[j])


@njit(cache=True, error_model="numpy")
def _lin_core(X, q, w, scale, gq, gw):
    """LIN value; fills ``gq = c X^T X w`` and ``gw = c X^T X q``."""
    T, d = X.shape
    f = 0.0
    for j in range(d):
        gq[j] = 0.0
        gw[j] = 0.0
    for t in range(T):
        xq = 0.0
        xw = 0.0
        for j in range(d):
            xq += X[t, j] * q[j]
            xw += X[t, j] * w[j]
        f += xq * xw
        for j in range(d):
            gq[j] += X[t, j] * xw * scale
            gw[j] += X[t, j] * xq * scale
    return f * scale


@njit(cache=True, error_model="numpy", parallel=True)
def _lin_grads_batch(X, q, w, scale, f_out, gq_out, gw_out):
    """Values and gradients of f_LIN for every sequence of a batch."""
    n = X.shape[0]
    for i in prange(n):
        f_out[i] = _lin_core(X[i], q, w, scale, gq_out[i], gw_out[i])


@njit(cache=True, error_model="numpy")
def _row_attention(X, W, P):
    """``P = S_row(X W X^T)`` (T x T), written into ``P``: the self-attention weights."""
    T, d = X.shape
    XW = np.zeros((T, d))
    for t in range(T):
        for k in range(d):
            acc = 0.0
            for j in range(d):
                acc += X[t, j] * W[j, k]
            XW[t, k] = acc
    for i in range(T):
        for t in range(T):
            acc = 0.0
            for k in range(d):
                acc += XW[i, k] * X[t, k]
            P[i, t] = acc
        _softmax_into(P[i], P[i])


@njit(cache=True, error_model="numpy")
def _row_jvp_xt(X, p, z, jz, out):
    """``out = X^T J z`` for one softmax row ``p`` (``J = diag(p) - p p^T``); ``jz`` is scratch.

    Returns ``p^T z``.
    """
    T, d = X.shape
    pz = 0.0
    for t in range(T):
        pz += p[t] * z[t]
    for t in range(T):
        jz[t] = p[t] * (z[t] - pz)
    for b in range(d):
        acc = 0.0
        for t in range(T):
            acc += X[t, b] * jz[t]
        out[b] = acc
    return pz


@njit(cache=True, error_model="numpy")
def _sa_core(X, W, w, r, P, gW, gw, want_grad):
    """SA value ``r^T P X w`` with ``P = S_row(X W X^T)`` written into ``P`` (T x T).

    If ``want_grad`` it also fills ``gW = sum_i r_i x_i (X^T J_i v)^T`` and
    ``gw = X^T P^T r`` (§5 item 5).
    """
    T, d = X.shape
    _row_attention(X, W, P)
    v = np.empty(T)
    for t in range(T):
        acc = 0.0
        for j in range(d):
            acc += X[t, j] * w[j]
        v[t] = acc
    f = 0.0
    for i in range(T):
        pv = 0.0
        for t in range(T):
            pv += P[i, t] * v[t]
        f += r[i] * pv
    if want_grad:
        for a in range(d):
            gw[a] = 0.0
            for b in range(d):
                gW[a, b] = 0.0
        jv = np.empty(T)
        xj = np.empty(d)
        for i in range(T):
            if r[i] == 0.0:
                continue
            _row_jvp_xt(X, P[i], v, jv, xj)
            for a in range(d):
                ra = r[i] * X[i, a]
                for b in range(d):
                    gW[a, b] += ra * xj[b]
            for t in range(T):
                c = r[i] * P[i, t]
                for b in range(d):
                    gw[b] += c * X[t, b]
    return f


@njit(cache=True, error_model="numpy", parallel=True)
def _sa_grads_batch(X, W, w, r, f_out, gW_out, gw_out, want_grad):
    """Values (and gradients if ``want_grad``) of f_SA for every sequence of a batch."""
    n, T, d = X.shape
    for i in prange(n):
        P = np.empty((T, T))
        f_out[i] = _sa_core(X[i], W, w, r, P, gW_out[i], gw_out[i], want_grad)


@njit(cache=True, error_model="numpy")
def _sa_pa_core(X, W, q, w, tau, P, gW, gq, gw, want_grad):
    """SA followed by PA pooling: ``f = w^T O^T S(tau O q)``, ``O = P X``, ``P = S_row(X W X^T)``.

    ``P`` (T x T) is overwritten.  If ``want_grad`` it fills ``gw = O^T s``,
    ``gq = tau O^T g`` and ``gW = sum_i x_i (X^T J_i X c_i)^T`` with
    ``c_i = s_i w + tau g_i q``, ``g = s * (O w - f)``.
    """
    T, d = X.shape
    _row_attention(X, W, P)
    O = np.empty((T, d))
    for i in range(T):
        for j in range(d):
            acc = 0.0
            for t in range(T):
                acc += P[i, t] * X[t, j]
            O[i, j] = acc
    # the read-out is prompt-attention over the outputs: s = S(tau O q), g = s * (O w - f)
    s = np.empty(T)
    u = np.empty(T)
    g = np.empty(T)
    if want_grad:
        f = _pa_core(O, q, w, tau, s, u, g, gq, gw)
    else:  # the caller's gradient arrays may be empty
        f = _pa_core(O, q, w, tau, s, u, g, np.empty(d), np.empty(d))
    if want_grad:
        for a in range(d):
            for b in range(d):
                gW[a, b] = 0.0
        c = np.empty(d)
        xc = np.empty(T)
        jc = np.empty(T)
        xj = np.empty(d)
        for i in range(T):
            for b in range(d):
                c[b] = s[i] * w[b] + tau * g[i] * q[b]
            for t in range(T):
                acc = 0.0
                for b in range(d):
                    acc += X[t, b] * c[b]
                xc[t] = acc
            _row_jvp_xt(X, P[i], xc, jc, xj)
            for a in range(d):
                xa = X[i, a]
                for b in range(d):
                    gW[a, b] += xa * xj[b]
    return f


@njit(cache=True, error_model="numpy", parallel=True)
def _sa_pa_grads_batch(X, W, q, w, tau, f_out, gW_out, gq_out, gw_out, want_grad):
    """Values (and gradients if ``want_grad``) of SA-then-PA for every sequence."""
    n, T, d = X.shape
    for i in prange(n):
        P = np.empty((T, T))
        f_out[i] = _sa_pa_core(X[i], W, q, w, tau, P, gW_out[i], gq_out[i], gw_out[i],
                               want_grad)


@njit(cache=True, error_model="numpy")
def _sa_pa_serial(X, W, q, w, tau, f, gW, gq, gw, P, want_grad):
    """Values (and gradients) of SA-then-PA over a batch, serially."""
    for i in range(X.shape[0]):
        f[i] = _sa_pa_core(X[i], W, q, w, tau, P, gW[i], gq[i], gw[i], want_grad)


@njit(cache=True, error_model="numpy")
def _pa_lin_serial(X, q, w, model, tau, c, f, gq, gw, s, v, g):
    """Values and gradients over a batch, serially.

    PA (model 0), LIN (model 1) or PA with prompt self-attention (model 2; then ``s``,
    ``v``, ``g`` hold ``T + 1`` entries).
    """
    for i in range(X.shape[0]):
        if model == 0:
            f[i] = _pa_core(X[i], q, w, tau, s, v, g, gq[i], gw[i])
        elif model == 1:
            f[i] = _lin_core(X[i], q, w, c, gq[i], gw[i])
        else:
            f[i] = _pa_self_core(X[i], q, w, tau, s, v, g, gq[i], gw[i])


@njit(cache=True, error_model="numpy")
def _sa_serial(X, W, w, r, f, gW, gw, P, want_grad):
    """Values (and gradients) of SA over a batch, serially."""
    for i in range(X.shape[0]):
        f[i] = _sa_core(X[i], W, w, r, P, gW[i], gw[i], want_grad)


# --------------------------------------------------------------------------- validation


def _xqw_iv(X, q, w, names=("q", "w")):
    X = check_array("X", X)
    if X.ndim not in (2, 3):
        raise ValueError(f"X must have shape (T, d) or (n, T, d), got shape {X.shape}")
    T, d = X.shape[-2:]
    if T < 1 or d < 1:
        raise ValueError(f"X must have T >= 1 and d >= 1, got shape {X.shape}")
    if X.ndim == 3 and X.shape[0] < 1:
        raise ValueError(f"X must hold n >= 1 sequences, got shape {X.shape}")
    q = check_vector(names[0], q, dim=d)
    w = check_vector(names[1], w, dim=d)
    return X, q, w


def _pa_iv(X, q, w, temperature, prompt_self_attention=False):
    X, q, w = _xqw_iv(X, q, w)
    tau = check_real("temperature", temperature, low=0.0, low_open=True)
    if not isinstance(prompt_self_attention, bool):
        raise ValueError(
            f"prompt_self_attention must be True or False, got {prompt_self_attention!r}")
    return X, q, w, tau


def _lin_iv(X, q, w, scale):
    X, q, w = _xqw_iv(X, q, w)
    check_choice("scale", scale, ("1/T", "1"))
    c = 1.0 / X.shape[-2] if scale == "1/T" else 1.0
    return X, q, w, c


def _sa_iv(X, W, w, pooling):
    X, _, w = _xqw_iv(X, np.zeros(np.shape(X)[-1]), w, names=("q", "w"))
    d = X.shape[-1]
    W = check_array("W", W, shape=(d, d))
    if pooling == "sa_then_pa":
        raise ValueError("pooling='sa_then_pa' has its own prompt q and temperature: "
                         "use sa_pa_forward / sa_pa_grads")
    check_choice("pooling", pooling, ("mean", "first"))
    T = X.shape[-2]
    if pooling == "mean":
        r = np.full(T, 1.0 / T)
    else:
        r = np.zeros(T)
        r[0] = 1.0
    return X, W, w, r


def _sa_pa_iv(X, W, q, w, temperature):
    X, q, w = _xqw_iv(X, q, w)
    d = X.shape[-1]
    W = check_array("W", W, shape=(d, d))
    tau = check_real("temperature", temperature, low=0.0, low_open=True)
    return X, W, q, w, tau


def _batched(X):
    return (X[None], True) if X.ndim == 2 else (X, False)


# --------------------------------------------------------------------------- public API


def softmax(z):
    """Softmax of the last axis, with the maximum subtracted.

    Parameters
    ----------
    z : array_like, shape (..., T)
        Finite scores.

    Returns
    -------
    ndarray
        Probabilities along the last axis.

    Notes
    -----
    ``S(z)_t = exp(z_t - max z) / sum_u exp(z_u - max z)``; prompt_attention.md §2 [MATH].

    Examples
    --------
    >>> softmax([0.0, 0.0]).tolist()
    [0.5, 0.5]
    """
    z = np.asarray(z)
    if z.ndim < 1 or z.shape[-1] < 1:
        raise ValueError(f"z must have at least one entry on its last axis, got shape {z.shape}")
    z = check_array("z", z)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(s):
    """Softmax Jacobian ``J(s) = diag(s) - s s^T``.

    Parameters
    ----------
    s : array_like, shape (T,)
        A probability vector (the output of :func:`softmax`).

    Returns
    -------
    ndarray, shape (T, T)
        Symmetric, zero row sums, positive semidefinite.

    Notes
    -----
    prompt_attention.md §5 item 1 [MATH].
    """
    s = check_vector("s", s, min_len=0)
    return np.diag(s) - np.outer(s, s)


def pa_forward(X, q, w, *, temperature=1.0, prompt_self_attention=False):
    """Softmax prompt-attention output ``f_PA = w^T X^T S(tau X q)``.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
        One sequence or a batch.
    q, w : array_like, shape (d,)
        Prompt and head.
    temperature : float, optional
        ``tau > 0`` multiplying the scores (``pa.temperature``; 1 by default, [INFERRED]).
    prompt_self_attention : bool, optional
        ``pa.prompt_self_attention`` (default False, §1.3).  True: the prompt is an extra
        token ``x_0 = q`` with score ``tau ||q||^2`` and value ``<q, w>``,
        ``f = w^T X~^T S(tau X~ q)``, ``X~ = [q^T; X]`` (reading [INFERRED], see
        ``theory.pa.pa_model``).

    Returns
    -------
    float or ndarray, shape (n,)

    Notes
    -----
    prompt_attention.md §4.2 [MATH for the model as defined; temperature INFERRED] and §4.1
    (prompt self-attention [UNKNOWN]; its reading INFERRED).

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(pa_forward(X, [0.0, 0.0], [1.0, 3.0]), 6)
    2.0
    >>> round(pa_forward(X, [0.0, 0.0], [1.0, 3.0], prompt_self_attention=True), 6)  # (1+3+0)/3
    1.333333
    """
    return pa_grads(X, q, w, temperature=temperature,
                    prompt_self_attention=prompt_self_attention)[0]


def pa_grads(X, q, w, *, temperature=1.0, prompt_self_attention=False):
    """Value and exact gradients of f_PA in ``q`` and ``w``.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    q, w : array_like, shape (d,)
    temperature : float, optional
        Score multiplier ``tau > 0``.
    prompt_self_attention : bool, optional
        Extra token ``x_0 = q`` (see :func:`pa_forward`); default False.

    Returns
    -------
    f : float or ndarray, shape (n,)
    grad_q : ndarray, shape (d,) or (n, d)
        ``tau X^T J(s) X w = tau X^T g`` with ``g = s * (v - <s, v>)``, ``v = X w``.  With
        prompt self-attention (``X~ = [q^T; X]``, ``s``, ``v = X~ w``, ``g`` on ``T + 1``
        entries): ``tau X~^T g + tau g_0 q + s_0 w``.
    grad_w : ndarray, shape (d,) or (n, d)
        ``X^T s`` (``X~^T s`` with prompt self-attention).

    Notes
    -----
    prompt_attention.md §5 item 2 [MATH]; at ``q = 0`` ``grad_q = C(X) w`` (§5 item 3).
    The self-attention forms are derived in ``theory.pa.model_closed_form``.
    """
    X, q, w, tau = _pa_iv(X, q, w, temperature, prompt_self_attention)
    Xb, single = _batched(X)
    n, T, d = Xb.shape
    f = np.empty(n)
    gq = np.empty((n, d))
    gw = np.empty((n, d))
    if prompt_self_attention:
        if n < _PARALLEL_MIN:
            m = T + 1
            _pa_lin_serial(Xb, q, w, 2, tau, 1.0, f, gq, gw, np.empty(m), np.empty(m),
                           np.empty(m))
        else:
            _pa_self_grads_batch(Xb, q, w, tau, f, gq, gw)
    elif n < _PARALLEL_MIN:
        s = np.empty(T)
        _pa_lin_serial(Xb, q, w, 0, tau, 1.0, f, gq, gw, s, np.empty(T), np.empty(T))
    else:
        _pa_grads_batch(Xb, q, w, tau, f, gq, gw)
    if single:
        return float(f[0]), gq[0], gw[0]
    return f, gq, gw


def pa_hessian(X, q, w, *, temperature=1.0, prompt_self_attention=False):
    """Exact second derivatives of f_PA for one sequence.

    Parameters
    ----------
    X : array_like, shape (T, d)
    q, w : array_like, shape (d,)
    temperature : float, optional
    prompt_self_attention : bool, optional
        Extra token ``x_0 = q`` (see :func:`pa_forward`); default False.

    Returns
    -------
    hess_qq : ndarray, shape (d, d)
        ``tau^2 X^T H X`` with ``H = diag(g) - g s^T - s g^T`` (symmetric).  With prompt
        self-attention ``D^T H D + 2 tau g_0 I + D^T J e_0 w^T + w e_0^T J D``,
        ``D = tau (X~ + e_0 q^T)``.
    hess_qw : ndarray, shape (d, d)
        ``d^2 f / dq_i dw_j = tau (X^T J(s) X)_ij`` (``D^T J X~ + s_0 I`` with prompt
        self-attention).  (``d^2 f / dw^2 = 0``.)

    Notes
    -----
    prompt_attention.md §5 item 2 [MATH]; self-attention forms as in
    ``theory.pa.model_closed_form``.
    """
    X, q, w, tau = _pa_iv(X, q, w, temperature, prompt_self_attention)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (T, d) for pa_hessian, got shape {X.shape}")
    d = X.shape[1]
    hqq = np.empty((d, d))
    hqw = np.empty((d, d))
    if prompt_self_attention:
        _pa_self_hessian_kernel(X, q, w, tau, hqq, hqw)
    else:
        _pa_hessian_kernel(X, q, w, tau, hqq, hqw)
    return hqq, hqw


def lin_forward(X, q, w, *, scale="1/T"):
    """Linear prompt-attention ``f_LIN = c w^T X^T X q``.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    q, w : array_like, shape (d,)
    scale : {"1/T", "1"}, optional
        ``c = 1/T`` (default, ``pa.lin_scale`` [INFERRED]) or ``c = 1``.

    Returns
    -------
    float or ndarray, shape (n,)

    Notes
    -----
    prompt_attention.md §4.3 [MATH for the model as defined; 1/T INFERRED].
    """
    return lin_grads(X, q, w, scale=scale)[0]


def lin_grads(X, q, w, *, scale="1/T"):
    """Value and gradients of f_LIN: ``grad_q = c X^T X w``, ``grad_w = c X^T X q``.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    q, w : array_like, shape (d,)
    scale : {"1/T", "1"}, optional

    Returns
    -------
    f, grad_q, grad_w
        Shapes as in :func:`pa_grads`.

    Notes
    -----
    prompt_attention.md §5 item 4 [MATH].
    """
    X, q, w, c = _lin_iv(X, q, w, scale)
    Xb, single = _batched(X)
    n, T, d = Xb.shape
    f = np.empty(n)
    gq = np.empty((n, d))
    gw = np.empty((n, d))
    if n < _PARALLEL_MIN:
        s = np.empty(T)
        _pa_lin_serial(Xb, q, w, 1, 1.0, c, f, gq, gw, s, np.empty(T), np.empty(T))
    else:
        _lin_grads_batch(Xb, q, w, c, f, gq, gw)
    if single:
        return float(f[0]), gq[0], gw[0]
    return f, gq, gw


def sa_forward(X, W, w, *, pooling="mean"):
    """Softmax self-attention ``f_SA = r^T S_row(X W X^T) X w``.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    W : array_like, shape (d, d)
        Key-query product.
    w : array_like, shape (d,)
        Head.
    pooling : {"mean", "first"}, optional
        ``r = 1/T`` (mean pooling, default) or the first output token (``pa.sa_pooling``,
        [INFERRED]).  ``"sa_then_pa"`` has its own prompt: see :func:`sa_pa_forward`.

    Returns
    -------
    float or ndarray, shape (n,)

    Notes
    -----
    prompt_attention.md §4.4 [MATH for the model as defined; pooling INFERRED].
    """
    X, W, w, r = _sa_iv(X, W, w, pooling)
    Xb, single = _batched(X)
    n, T, d = Xb.shape
    f = np.empty(n)
    gW = np.empty((n, d, d))
    gw = np.empty((n, d))
    if n < _PARALLEL_MIN:
        _sa_serial(Xb, W, w, r, f, gW, gw, np.empty((T, T)), False)
    else:
        _sa_grads_batch(Xb, W, w, r, f, gW, gw, False)
    return float(f[0]) if single else f


def sa_grads(X, W, w, *, pooling="mean"):
    """Value and exact gradients of f_SA.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    W : array_like, shape (d, d)
    w : array_like, shape (d,)
    pooling : {"mean", "first"}, optional

    Returns
    -------
    f : float or ndarray, shape (n,)
    grad_W : ndarray, shape (d, d) or (n, d, d)
        ``sum_i r_i x_i (X^T J_i v)^T``, ``J_i = J(pi_i)``, ``v = X w``.
    grad_w : ndarray, shape (d,) or (n, d)
        ``X^T Pi^T r``.

    Notes
    -----
    prompt_attention.md §5 item 5 [MATH]; at ``W = 0`` and mean pooling,
    ``grad_W = xbar(0) (C(X) w)^T``.
    """
    X, W, w, r = _sa_iv(X, W, w, pooling)
    Xb, single = _batched(X)
    n, T, d = Xb.shape
    f = np.empty(n)
    gW = np.empty((n, d, d))
    gw = np.empty((n, d))
    if n < _PARALLEL_MIN:
        _sa_serial(Xb, W, w, r, f, gW, gw, np.empty((T, T)), True)
    else:
        _sa_grads_batch(Xb, W, w, r, f, gW, gw, True)
    if single:
        return float(f[0]), gW[0], gw[0]
    return f, gW, gw


def sa_pa_forward(X, W, q, w, *, temperature=1.0):
    """Self-attention followed by prompt-attention pooling (``pa.sa_pooling = "sa_then_pa"``).

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    W : array_like, shape (d, d)
        Key-query product of the self-attention layer.
    q : array_like, shape (d,)
        Prompt of the pooling layer.
    w : array_like, shape (d,)
        Head.
    temperature : float, optional
        ``tau > 0`` multiplying the pooling scores (1 by default).

    Returns
    -------
    float or ndarray, shape (n,)
        ``f = w^T O^T S(tau O q)`` with ``O = S_row(X W X^T) X``.

    Notes
    -----
    prompt_attention.md §4.4 names ``"sa_then_pa"`` without defining it; this reading
    (SA layer, then the §4.2 read-out over its outputs) is [INFERRED], see
    ``theory.pa.sa_model``.  ``q = 0`` gives mean-pooled SA and ``W = 0`` gives
    ``<x_bar(0), w>``.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> W, q, w = np.zeros((2, 2)), np.array([5.0, 0.0]), np.array([1.0, 3.0])
    >>> round(sa_pa_forward(X, W, q, w), 6)  # W = 0: <x_bar, w> whatever q
    2.0
    """
    return _sa_pa_run(X, W, q, w, temperature, False)[0]


def sa_pa_grads(X, W, q, w, *, temperature=1.0):
    """Value and exact gradients of SA followed by prompt-attention pooling.

    Parameters
    ----------
    X : array_like, shape (T, d) or (n, T, d)
    W : array_like, shape (d, d)
    q, w : array_like, shape (d,)
    temperature : float, optional

    Returns
    -------
    f : float or ndarray, shape (n,)
    grad_W : ndarray, shape (d, d) or (n, d, d)
        ``sum_i x_i (X^T J_i X c_i)^T`` with ``c_i = s_i w + tau g_i q``.
    grad_q : ndarray, shape (d,) or (n, d)
        ``tau O^T g``, ``g = s * (O w - f)``.
    grad_w : ndarray, shape (d,) or (n, d)
        ``O^T s``.

    Notes
    -----
    ``O = S_row(X W X^T) X``, ``s = S(tau O q)``, ``J_i = J(pi_i)``; derived in
    ``theory.pa.model_closed_form`` [MATH for the model as defined; the model INFERRED].
    At ``W = 0``: ``grad_W = x_bar(0) (C(X) w)^T`` (as for mean pooling) and ``grad_q = 0``.
    """
    return _sa_pa_run(X, W, q, w, temperature, True)


def _sa_pa_run(X, W, q, w, temperature, want_grad):
    """Validate, allocate and run the SA-then-PA kernels (gradients if ``want_grad``)."""
    X, W, q, w, tau = _sa_pa_iv(X, W, q, w, temperature)
    Xb, single = _batched(X)
    n, T, d = Xb.shape
    f = np.empty(n)
    k = d if want_grad else 0  # the forward pass writes no gradient
    gW = np.empty((n, k, k))
    gq = np.empty((n, k))
    gw = np.empty((n, k))
    if n < _PARALLEL_MIN:
        _sa_pa_serial(Xb, W, q, w, tau, f, gW, gq, gw, np.empty((T, T)), want_grad)
    else:
        _sa_pa_grads_batch(Xb, W, q, w, tau, f, gW, gq, gw, want_grad)
    if single:
        return float(f[0]), gW[0], gq[0], gw[0]
    return f, gW, gq, gw


def _fd_iv(fun, x):
    if not callable(fun):
        raise ValueError(f"fun must be callable, got {fun!r}")
    x = check_array("x", x)
    return x


def central_difference_jacobian(fun, x):
    """Central-difference Jacobian of an array-valued function.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> array`` (any shape ``S``); ``x`` of any shape ``P``.
    x : array_like
        Point of evaluation (finite).

    Returns
    -------
    ndarray, shape S + P
        ``(fun(x + h e_i) - fun(x - h e_i)) / (2 h)`` per coordinate, with
        ``h_i = eps**(1/3) * max(1, |x_i|)`` (the step that balances the O(h^2) truncation
        error against the O(eps/h) rounding error in float64).

    Notes
    -----
    Numerical helper for checking prompt_attention.md §5 [MATH] (claim C1).
    """
    x = _fd_iv(fun, x)
    flat = x.ravel()
    cols = []
    for i in range(flat.size):
        h = _EPS ** (1.0 / 3.0) * max(1.0, abs(flat[i]))
        xp = flat.copy()
        xm = flat.copy()
        xp[i] += h
        xm[i] -= h
        hh = xp[i] - xm[i]  # the step actually represented in float64
        fp = np.asarray(fun(xp.reshape(x.shape)), dtype=np.float64)
        fm = np.asarray(fun(xm.reshape(x.shape)), dtype=np.float64)
        cols.append((fp - fm) / hh)
    jac = np.stack(cols, axis=-1)
    return jac.reshape(jac.shape[:-1] + x.shape)


def central_difference_gradient(fun, x):
    """Central-difference gradient of a scalar function (see :func:`central_difference_jacobian`).

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``.
    x : array_like

    Returns
    -------
    ndarray, same shape as ``x``

    Notes
    -----
    Numerical helper for claim C1 (prompt_attention.md §5, [MATH]).

    Examples
    --------
    >>> g = central_difference_gradient(lambda v: float(v @ v), [1.0, -2.0])
    >>> np.round(g, 6).tolist()
    [2.0, -4.0]
    """
    return central_difference_jacobian(lambda v: np.asarray(fun(v), dtype=np.float64), x)


def central_difference_hessian(fun, x):
    """Second-order central-difference Hessian of a scalar function.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` with ``x`` one-dimensional.
    x : array_like, shape (p,)

    Returns
    -------
    ndarray, shape (p, p)
        Symmetrised four-point estimate with ``h_i = eps**(1/4) * max(1, |x_i|)``.
        For tighter checks difference an exact gradient with
        :func:`central_difference_jacobian` instead.

    Notes
    -----
    Numerical helper for claim C1 (prompt_attention.md §5, [MATH]).
    """
    x = _fd_iv(fun, x)
    if x.ndim != 1:
        raise ValueError(f"x must be one-dimensional, got shape {x.shape}")
    p = x.size
    h = _EPS**0.25 * np.maximum(1.0, np.abs(x))
    H = np.empty((p, p))
    for i in range(p):
        for j in range(i, p):
            acc = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                xx = x.copy()
                xx[i] += si * h[i]
                xx[j] += sj * h[j]
                acc += sign * float(fun(xx))
            H[i, j] = H[j, i] = acc / (4.0 * h[i] * h[j])
    return H
