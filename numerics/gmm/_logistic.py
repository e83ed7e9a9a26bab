"""L2-penalised logistic regression in the Mignacco scaling, by damped Newton."""

import math

import numpy as np
from numba import njit

from numerics.core._validate import check_int, check_real

from ._linalg import _cholesky_inplace, _cholesky_solve, _matvec, _rmatvec, _weighted_gram_t
from ._validation import _as_data, _check_both_classes, _check_lam

_EPS = 2.220446049250313e-16


@njit(cache=True, error_model="numpy")
def _softplus_neg(t):
    """``log(1 + exp(-t))`` without overflow."""
    if t > 0.0:
        return math.log1p(math.exp(-t))
    return -t + math.log1p(math.exp(t))


@njit(cache=True, error_model="numpy")
def _sigmoid_neg(t):
    """``1 / (1 + exp(t))`` (so ``l'(t) = -_sigmoid_neg(t)``) without overflow."""
    if t >= 0.0:
        e = math.exp(-t)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(t))


@njit(cache=True, error_model="numpy")
def _logistic_objective(X, y, lam, scale, w, b, z):
    """Objective; ``z`` is workspace of length n (receives ``scale X w``)."""
    _matvec(X, w, scale, z)
    f = 0.0
    for i in range(X.shape[0]):
        f += _softplus_neg(y[i] * (z[i] + b))
    nrm2 = 0.0
    for k in range(w.shape[0]):
        nrm2 += w[k] * w[k]
    return f + 0.5 * lam * nrm2


@njit(cache=True, error_model="numpy")
def _logistic_grad_hess(X, y, lam, intercept, scale, w, b, z, g, H, want_hess):
    """Gradient (and Hessian if ``want_hess``) at ``(w, b)``; returns the objective."""
    n, d = X.shape
    _matvec(X, w, scale, z)
    f = 0.0
    u = np.empty(n)  # y_i l'(t_i)
    c = np.empty(n)  # l''(t_i)
    for i in range(n):
        t = y[i] * (z[i] + b)
        f += _softplus_neg(t)
        sn = _sigmoid_neg(t)
        u[i] = -y[i] * sn
        c[i] = sn * (1.0 - sn)
    gw = np.empty(d)
    _rmatvec(X, u, scale, gw)
    nrm2 = 0.0
    for k in range(d):
        g[k] = gw[k] + lam * w[k]
        nrm2 += w[k] * w[k]
    if intercept:
        sb = 0.0
        for i in range(n):
            sb += u[i]
        g[d] = sb
    if want_hess:
        Hw = np.empty((d, d))
        _weighted_gram_t(X, c, scale * scale, Hw)
        for j in range(d):
            for k in range(d):
                H[j, k] = Hw[j, k]
            H[j, j] += lam
        if intercept:
            hb = np.empty(d)
            _rmatvec(X, c, scale, hb)
            s = 0.0
            for i in range(n):
                s += c[i]
            for j in range(d):
                H[j, d] = hb[j]
                H[d, j] = hb[j]
            H[d, d] = s
    return f + 0.5 * lam * nrm2


@njit(cache=True, error_model="numpy")
def _fit_logistic(X, y, lam, intercept, tol, max_iter, w):
    """Newton's method with backtracking (Armijo) line search, started at ``(w, b) = 0``.

    Minimises ``sum_i log(1 + exp(-y_i (scale x_i.w + b))) + lam/2 ||w||^2`` with
    ``scale = 1/sqrt(d)``; writes ``w`` and returns ``(b, n_iter, grad_norm, grad_norm0,
    status)``.  ``status``: 0 converged (``||g|| <= tol ||g_0||``), 1 iteration limit,
    2 line search (or damped factorisation) failed.  A Hessian that fails Cholesky (only for
    ``lam = 0``) gets a growing multiple of the identity added (Levenberg damping).
    """
    n, d = X.shape
    scale = 1.0 / math.sqrt(d)
    m = d + 1 if intercept else d
    for k in range(d):
        w[k] = 0.0
    b = 0.0
    z = np.empty(n)
    g = np.empty(m)
    H = np.empty((m, m))
    step_dir = np.empty(m)
    w_new = np.empty(d)
    f = _logistic_grad_hess(X, y, lam, intercept, scale, w, b, z, g, H, True)
    g0 = 0.0
    for k in range(m):
        g0 += g[k] * g[k]
    g0 = math.sqrt(g0)
    gn = g0
    it = 0
    status = 1
    while it < max_iter:
        if gn <= tol * g0:
            status = 0
            break
        it += 1
        if it > 1:  # the Hessian at the accepted point (the gradient was enough to stop)
            f = _logistic_grad_hess(X, y, lam, intercept, scale, w, b, z, g, H, True)
        damp = 0.0
        hmax = 0.0
        for k in range(m):
            hmax = max(hmax, H[k, k])
        Hc = H.copy()
        ok = _cholesky_inplace(Hc)
        tries = 0
        while not ok and tries < 80:
            tries += 1
            damp = max(2.0 * damp, 1e-12 * max(hmax, 1.0))
            Hc = H.copy()
            for k in range(m):
                Hc[k, k] += damp
            ok = _cholesky_inplace(Hc)
        if not ok:
            status = 2
            break
        _cholesky_solve(Hc, g, step_dir)
        slope = 0.0
        for k in range(m):
            step_dir[k] = -step_dir[k]
            slope += g[k] * step_dir[k]
        t = 1.0
        accepted = False
        for _ in range(60):
            for k in range(d):
                w_new[k] = w[k] + t * step_dir[k]
            b_new = b + t * step_dir[d] if intercept else 0.0
            f_new = _logistic_objective(X, y, lam, scale, w_new, b_new, z)
            # slack of a few ulps of f: near the optimum the decrease is below rounding
            if f_new <= f + 1e-4 * t * slope + 8.0 * _EPS * abs(f):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            status = 2
            break
        for k in range(d):
            w[k] = w_new[k]
        b = b_new
        f = _logistic_grad_hess(X, y, lam, intercept, scale, w, b, z, g, H, False)
        gn = 0.0
        for k in range(m):
            gn += g[k] * g[k]
        gn = math.sqrt(gn)
    if status == 1 and gn <= tol * g0:
        status = 0
    return b, it, gn, g0, status


def _fit_logistic_iv(X, y, lam, intercept, tol, max_iter):
    X, y = _as_data(X, y)
    lam = _check_lam(lam)
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    if intercept:
        _check_both_classes(y, "logistic regression with an intercept")
    return X, y, lam, bool(intercept), tol, max_iter


def fit_logistic(X, y, lam, *, intercept=True, tol=1e-10, max_iter=100, return_info=False):
    """L2-penalised logistic regression in the Mignacco scaling.

    Solves ``min_{w,b} sum_i log(1 + exp(-y_i (w.x_i / sqrt(d) + b))) + lam/2 ||w||^2``
    (intercept unpenalised).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data.
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    lam : float
        Penalty ``lam >= 0``.  With ``lam = 0`` a minimiser exists only for non-separable
        data; on separable data the gradient decays like ``exp(-margin)`` as ``||w||`` grows,
        so the iteration stops at a large ``w`` whose norm depends on ``tol`` (check
        separability first, or use ``lam > 0``).
    intercept : bool, keyword-only
        Fit an unpenalised bias (needs both classes present).
    tol : float, keyword-only
        Stop when ``||grad|| <= tol * ||grad at 0||`` (relative), in (0, 1].
    max_iter : int, keyword-only
        Maximum number of Newton steps.
    return_info : bool, keyword-only
        Also return a dict with ``n_iter``, ``grad_norm``, ``grad_norm0``.

    Returns
    -------
    w : ndarray, shape (d,)
        Weights.
    b : float
        Bias (0.0 without intercept).
    info : dict
        Only if ``return_info``.

    Raises
    ------
    RuntimeError
        If Newton's method does not reach the tolerance.

    Notes
    -----
    Spec ``gmm_asymptotics.md`` §4 and §1.1 [RELATED:2002.11544].  Newton's method on the
    ``(d + 1)``-dimensional problem with Armijo backtracking, from ``(0, 0)``; Hessian
    ``X^T diag(l'') X / d + lam I`` (bordered by the bias row), Cholesky.
    """
    X, y, lam, intercept, tol, max_iter = _fit_logistic_iv(X, y, lam, intercept, tol, max_iter)
    w = np.empty(X.shape[1])
    b, it, gn, g0, status = _fit_logistic(X, y, lam, intercept, tol, max_iter, w)
    if status != 0:
        why = "iteration limit reached" if status == 1 else "line search failed"
        raise RuntimeError(
            f"logistic Newton did not converge ({why}): ||grad|| = {gn:.3g} > tol * ||grad0|| "
            f"= {tol * g0:.3g} after {it} iterations (lam = {lam})"
        )
    if return_info:
        return w, float(b), {"n_iter": int(it), "grad_norm": float(gn), "grad_norm0": float(g0)}
    return w, float(b)
