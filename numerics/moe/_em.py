"""Template-B Gaussian MoE with shared and routed experts: compiled sampler and EM fitter.

Spec ``sigmoid_moe.md`` §7.3 (Template B, the published protocol of 2505.10860 App. G.1)
and §8.  The model, for ``x`` in R (d = 1)::

    p(y | x) = 1/2 sum_{i<k1} omega_i N(y | h1(x, kappa_i), tau_i)
             + 1/2 sum_{i<k2} g_i(x)  N(y | h2(x, eta_i),  nu_i),

with routing weights ``g`` the softmax of ``s_i = beta_0i + beta_1i x`` or the normalised
sigmoid ``sigma(s_i) / sum_j sigma(s_j)``.  ``tau`` and ``nu`` are variances, the reading of
``N(y | mean, variance)`` in 2505.10860 ([INFERRED]: the spec does not say).  Expert forms and
parameter order (increasing subscripts, as in the §7.3 table):

* shared ReLU ``h1 = kappa_2 ReLU(kappa_1 x + kappa_0)``, ``kappa = (kappa_0, kappa_1, kappa_2)``;
* shared linear ``h1 = kappa_1 x + kappa_0``, ``kappa = (kappa_0, kappa_1)``;
* routed ReLU ``h2 = eta_2 ReLU(eta_1 x)``, ``eta = (eta_1, eta_2)``;
* routed linear ``h2 = eta_1 x + eta_0``, ``eta = (eta_0, eta_1)``;
* gates ``beta = (beta_0, beta_1)`` per routed atom.

Two exact invariances shape the fitter [MATH]:

* ReLU is positively homogeneous: ``c2 ReLU(c1 x + c0) = (t c2) ReLU((c1 x + c0) / t)`` for
  ``t > 0``, so only ``kappa_2 |kappa_1|``, the kink ``-kappa_0 / kappa_1`` and the sign of
  ``kappa_1`` are identified (likewise ``eta_2 |eta_1|`` and ``sign(eta_1)``).  The fitter holds
  ``|kappa_1|`` and ``|eta_1|`` at their start values, which loses nothing, and the losses
  compare ReLU experts in these identified coordinates.
* Softmax routing is invariant to a common translation of all ``(beta_0, beta_1)``: the
  fitter pins the last routed atom at ``(0, 0)`` (it translates the start accordingly).

The fitter is a generalised EM (ECM): the E-step computes responsibilities in log space; the
M-step maximises the expected complete-data log-likelihood Q block by block (shared weights,
each expert's mean, then its variance, the routing gates), each block in closed form where one
exists (weights, variances, linear experts by weighted least squares, ReLU amplitudes) and
otherwise by a few Gauss-Newton (ReLU kink) or damped Newton (gates) steps that are accepted
only if they increase that block's part of Q.  Hence Q never decreases and neither does the
log-likelihood; a numerical decrease is still checked for and repaired by backtracking.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from numerics.core import as_generator, get_thread_count
from numerics.core._validate import check_array, check_choice, check_int, check_real, check_vector
from numerics.moe._lm import _cholesky_solve

__all__ = [
    "EMFit",
    "TemplateB",
    "fit_em",
    "fit_em_many",
    "sample_template_b",
    "template_b_start",
    "template_b_truth",
]

GATE_CODES = {"softmax": 0, "sigmoid": 1}
# expert kinds of the kernels: 0 ReLU with inner bias (shared), 1 bias-free ReLU (routed),
# 2 linear (either side)
SHARED_CODES = {"relu": 0, "linear": 2}
ROUTED_CODES = {"relu": 1, "linear": 2}
N_EXPERT = {0: 3, 1: 2, 2: 2}

STATUS_MAX_ITER = 0
STATUS_CONVERGED = 1
STATUS_STALLED = -1

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_HALF = math.log(0.5)


# ----------------------------------------------------------------------------- kernels
@njit(cache=True, error_model="numpy", inline="always")
def _mean(code, th, o, x):
    """Expert mean at ``x`` for the parameters ``th[o:o + p]`` of kind ``code``."""
    if code == 0:
        v = th[o + 1] * x + th[o]
        return th[o + 2] * v if v > 0.0 else 0.0
    if code == 1:
        v = th[o] * x
        return th[o + 1] * v if v > 0.0 else 0.0
    return th[o] + th[o + 1] * x


@njit(cache=True, error_model="numpy", inline="always")
def _log_sigmoid(z):
    if z >= 0.0:
        return -math.log1p(math.exp(-z))
    return z - math.log1p(math.exp(z))


@njit(cache=True, error_model="numpy", inline="always")
def _offsets(k1, k2, p1, p2):
    """Offsets of omega, kappa, tau, beta, eta, nu in the flat parameter vector."""
    ok = k1
    o_tau = ok + k1 * p1
    ob = o_tau + k1
    oe = ob + 2 * k2
    ov = oe + k2 * p2
    return ok, o_tau, ob, oe, ov


@njit(cache=True, error_model="numpy")
def _gate_row(gate, th, ob, k2, x, t, lg, sg):
    """Write ``log g_i(x)`` into ``lg[t]`` and ``sigma(s_i(x))`` into ``sg[t]`` (sigmoid)."""
    m = -np.inf
    for i in range(k2):
        s = th[ob + 2 * i] + th[ob + 2 * i + 1] * x
        if gate == 1:
            # sigma(s) and log sigma(s) from one exponential
            e = math.exp(-abs(s))
            if s >= 0.0:
                sg[t, i] = 1.0 / (1.0 + e)
                s = -math.log1p(e)
            else:
                sg[t, i] = e / (1.0 + e)
                s = s - math.log1p(e)
        lg[t, i] = s
        if s > m:
            m = s
    acc = 0.0
    if gate == 1:
        # sum_j sigma_j / sigma_max: a ratio, no exponential needed
        top = 0.0
        for i in range(k2):
            top = max(top, sg[t, i])
        for i in range(k2):
            acc += sg[t, i] / top
    else:
        for i in range(k2):
            acc += math.exp(lg[t, i] - m)
    lse = m + math.log(acc)
    for i in range(k2):
        lg[t, i] -= lse


@njit(cache=True, error_model="numpy")
def _all_gates(gate, th, ob, k2, x, lg, sg):
    for t in range(x.shape[0]):
        _gate_row(gate, th, ob, k2, x[t], t, lg, sg)


@njit(cache=True, error_model="numpy")
def _estep(x, y, th, k1, k2, c1, c2, p1, p2, lg, resp):
    """Responsibilities into ``resp`` (n, k1 + k2); returns the log-likelihood.

    ``lg`` must hold the log routing weights at ``th`` (:func:`_all_gates`).
    """
    ok, o_tau, ob, oe, ov = _offsets(k1, k2, p1, p2)
    k = k1 + k2
    const = np.empty(k)
    inv = np.empty(k)
    a = np.empty(k)
    for i in range(k1):
        w = th[i]
        lw = math.log(0.5 * w) if w > 0.0 else -np.inf
        const[i] = lw - 0.5 * (_LOG_2PI + math.log(th[o_tau + i]))
        inv[i] = 0.5 / th[o_tau + i]
    for i in range(k2):
        const[k1 + i] = _LOG_HALF - 0.5 * (_LOG_2PI + math.log(th[ov + i]))
        inv[k1 + i] = 0.5 / th[ov + i]
    total = 0.0
    for t in range(x.shape[0]):
        xt = x[t]
        yt = y[t]
        m = -np.inf
        for i in range(k1):
            e = yt - _mean(c1, th, ok + i * p1, xt)
            a[i] = const[i] - e * e * inv[i]
            if a[i] > m:
                m = a[i]
        for i in range(k2):
            e = yt - _mean(c2, th, oe + i * p2, xt)
            a[k1 + i] = const[k1 + i] + lg[t, i] - e * e * inv[k1 + i]
            if a[k1 + i] > m:
                m = a[k1 + i]
        acc = 0.0
        for i in range(k):
            a[i] = math.exp(a[i] - m)
            acc += a[i]
        total += m + math.log(acc)
        inv_acc = 1.0 / acc
        for i in range(k):
            resp[t, i] = a[i] * inv_acc
    return total


@njit(cache=True, error_model="numpy")
def _weighted_rss(code, th, o, x, y, resp, col):
    acc = 0.0
    for t in range(x.shape[0]):
        e = y[t] - _mean(code, th, o, x[t])
        acc += resp[t, col] * e * e
    return acc


@njit(cache=True, error_model="numpy")
def _update_variance(code, th, o, ov, x, y, resp, col, floor):
    """Closed-form variance ``max(RSS / R, floor)`` (the exact block maximiser on the box)."""
    r_sum = 0.0
    rss = 0.0
    for t in range(x.shape[0]):
        r = resp[t, col]
        e = y[t] - _mean(code, th, o, x[t])
        r_sum += r
        rss += r * e * e
    if r_sum > 1e-300:
        th[ov] = max(rss / r_sum, floor)


@njit(cache=True, error_model="numpy")
def _update_linear(th, o, x, y, resp, col):
    """Weighted least squares for ``h = th[o] + th[o + 1] x``."""
    s0 = s1 = s2 = t0 = t1 = 0.0
    for t in range(x.shape[0]):
        r = resp[t, col]
        xt = x[t]
        s0 += r
        s1 += r * xt
        s2 += r * xt * xt
        t0 += r * y[t]
        t1 += r * xt * y[t]
    det = s0 * s2 - s1 * s1
    if s0 <= 1e-300 or not det > 1e-12 * s0 * s2:
        return
    slope = (s0 * t1 - s1 * t0) / det
    th[o + 1] = slope
    th[o] = (t0 - slope * s1) / s0


@njit(cache=True, error_model="numpy")
def _two_sided_amplitude(slope, icpt, x, y, resp, col):
    """Best weighted LS amplitude of ``ReLU(+-v)``, ``v = slope x + icpt``, over both sides.

    Returns ``(side, amp)``: ``side = +1`` fits ``amp ReLU(v)``, ``side = -1`` fits
    ``amp ReLU(-v)``, ``side = 0`` when neither side holds any weight (no update).
    """
    ap = bp = am = bm = 0.0
    for t in range(x.shape[0]):
        r = resp[t, col]
        v = slope * x[t] + icpt
        if v > 0.0:
            ap += r * v * v
            bp += r * v * y[t]
        elif v < 0.0:
            am += r * v * v
            bm -= r * v * y[t]
    gain_p = bp * bp / ap if ap > 1e-300 else -1.0
    gain_m = bm * bm / am if am > 1e-300 else -1.0
    if gain_p < 0.0 and gain_m < 0.0:
        return 0, 0.0
    if gain_p >= gain_m:
        return 1, bp / ap
    return -1, bm / am


@njit(cache=True, error_model="numpy")
def _update_relu_free(th, o, x, y, resp, col):
    """Exact mean update of ``eta_2 ReLU(eta_1 x)`` with ``|eta_1|`` fixed: both signs tried."""
    c = abs(th[o])
    side, amp = _two_sided_amplitude(c, 0.0, x, y, resp, col)
    if side != 0:
        th[o] = c if side > 0 else -c
        th[o + 1] = amp


@njit(cache=True, error_model="numpy")
def _relu_bias_amplitude(th, o, x, y, resp, col):
    """Exact amplitude of ``kappa_2 ReLU(kappa_1 x + kappa_0)`` for the current kink.

    Both sides of the kink are tried: the sign flip ``kappa_0, kappa_1 -> -kappa_0, -kappa_1``
    keeps the kink and makes the other side the active one.
    """
    side, amp = _two_sided_amplitude(th[o + 1], th[o], x, y, resp, col)
    if side < 0:
        th[o] = -th[o]
        th[o + 1] = -th[o + 1]
    if side != 0:
        th[o + 2] = amp


@njit(cache=True, error_model="numpy")
def _update_relu_bias(th, o, x, y, resp, col, steps):
    """Gauss-Newton on (kappa_0, kappa_2) with backtracking, then the exact amplitude."""
    n = x.shape[0]
    w_cur = _weighted_rss(0, th, o, x, y, resp, col)
    for _ in range(steps):
        a00 = a01 = a11 = g0 = g1 = 0.0
        for t in range(n):
            r = resp[t, col]
            v = th[o + 1] * x[t] + th[o]
            if v > 0.0:
                j0 = th[o + 2]
                j1 = v
                e = y[t] - th[o + 2] * v
            else:
                j0 = 0.0
                j1 = 0.0
                e = y[t]
            a00 += r * j0 * j0
            a01 += r * j0 * j1
            a11 += r * j1 * j1
            g0 += r * j0 * e
            g1 += r * j1 * e
        det = a00 * a11 - a01 * a01
        if not det > 1e-14 * (a00 * a11 + 1e-300):
            break
        d0 = (a11 * g0 - a01 * g1) / det
        d1 = (a00 * g1 - a01 * g0) / det
        if not d0 * g0 + d1 * g1 > 1e-13 * w_cur:
            break  # the predicted decrease is at round-off level: converged
        b0, b2 = th[o], th[o + 2]
        step = 1.0
        accepted = False
        for _ in range(12):
            th[o] = b0 + step * d0
            th[o + 2] = b2 + step * d1
            w_try = _weighted_rss(0, th, o, x, y, resp, col)
            if w_try < w_cur:
                w_cur = w_try
                accepted = True
                break
            step *= 0.5
        if not accepted:
            th[o] = b0
            th[o + 2] = b2
            break
    _relu_bias_amplitude(th, o, x, y, resp, col)


@njit(cache=True, error_model="numpy")
def _gate_objective(gate, th, ob, k1, k2, x, resp, lg, sg):
    """Recompute ``lg``/``sg`` at ``th`` and return ``sum_t sum_i r_ti log g_i(x_t)``."""
    total = 0.0
    for t in range(x.shape[0]):
        _gate_row(gate, th, ob, k2, x[t], t, lg, sg)
        for i in range(k2):
            total += resp[t, k1 + i] * lg[t, i]
    return total


@njit(cache=True, error_model="numpy")
def _gate_derivatives(gate, x, resp, k1, k2, lg, sg, grad, neg_hess):
    """Gradient and minus the Hessian of the gate block of Q in ``(beta_0i, beta_1i)``.

    Softmax: the last atom is pinned, so only atoms ``0 .. k2 - 2`` are free.
    """
    m = grad.shape[0]
    for a in range(m):
        grad[a] = 0.0
        for b in range(m):
            neg_hess[a, b] = 0.0
    free = k2 - 1 if gate == 0 else k2
    g = np.empty(k2)
    d = np.empty(k2)
    for t in range(x.shape[0]):
        xt = x[t]
        rt = 0.0
        for i in range(k2):
            rt += resp[t, k1 + i]
            g[i] = math.exp(lg[t, i])
        for i in range(free):
            if gate == 0:
                d[i] = resp[t, k1 + i] - rt * g[i]
            else:
                d[i] = (1.0 - sg[t, i]) * (resp[t, k1 + i] - rt * g[i])
            grad[2 * i] += d[i]
            grad[2 * i + 1] += d[i] * xt
        for i in range(free):
            for j in range(i + 1):
                if gate == 0:
                    h = -rt * g[i] * g[j]
                    if i == j:
                        h += rt * g[i]
                else:
                    si = sg[t, i]
                    sj = sg[t, j]
                    h = -rt * (1.0 - si) * g[i] * g[j] * (1.0 - sj)
                    if i == j:
                        h += si * (1.0 - si) * (resp[t, k1 + i] - rt * g[i])
                        h += rt * (1.0 - si) * g[i] * (1.0 - si)
                hx = h * xt
                hxx = hx * xt
                neg_hess[2 * i, 2 * j] += h
                neg_hess[2 * i + 1, 2 * j] += hx
                neg_hess[2 * i, 2 * j + 1] += hx
                neg_hess[2 * i + 1, 2 * j + 1] += hxx
    for a in range(m):
        for b in range(a):
            neg_hess[b, a] = neg_hess[a, b]


@njit(cache=True, error_model="numpy")
def _update_gates(gate, th, ob, k1, k2, x, resp, lg, sg, lg_t, sg_t, steps, bound, lam_state):
    """Damped Newton ascent on the gate block of Q; a step is kept only if it increases it.

    ``lg``/``sg`` hold the routing weights at ``th`` on entry and on exit.  The damping
    ``lam`` (relative to the largest diagonal entry of minus the Hessian) persists across
    EM iterations in ``lam_state``.
    """
    free = k2 - 1 if gate == 0 else k2
    m = 2 * free
    if m == 0:
        return
    grad = np.empty(m)
    neg_hess = np.empty((m, m))
    mat = np.empty((m, m))
    low = np.zeros((m, m))
    step = np.empty(m)
    old = np.empty(m)
    n = x.shape[0]
    g_cur = 0.0
    for t in range(n):
        for i in range(k2):
            g_cur += resp[t, k1 + i] * lg[t, i]
    tiny = 1e-13 * max(1.0, abs(g_cur))
    lam = lam_state[0]
    for _ in range(steps):
        _gate_derivatives(gate, x, resp, k1, k2, lg, sg, grad, neg_hess)
        scale = 0.0
        for a in range(m):
            scale = max(scale, abs(neg_hess[a, a]))
        if not scale > 0.0:
            break
        for a in range(m):
            old[a] = th[ob + a]
        accepted = False
        done = False
        for _attempt in range(12):
            for a in range(m):
                for b in range(m):
                    mat[a, b] = neg_hess[a, b]
                mat[a, a] += lam * scale
            if not _cholesky_solve(mat, grad, low, step):
                lam = 1e-6 if lam == 0.0 else 10.0 * lam
                continue
            pred = 0.0
            for a in range(m):
                pred += grad[a] * step[a]
            if not pred > tiny:
                done = True  # predicted gain at round-off level: the block is maximised
                break
            for a in range(m):
                th[ob + a] = min(max(old[a] + step[a], -bound), bound)
            g_try = _gate_objective(gate, th, ob, k1, k2, x, resp, lg_t, sg_t)
            if g_try > g_cur:
                g_cur = g_try
                accepted = True
                lam = 0.0 if lam < 1e-9 else 0.1 * lam
                break
            lam = 1e-4 if lam == 0.0 else 10.0 * lam
        if not accepted:
            for a in range(m):
                th[ob + a] = old[a]
            if not done:
                lam_state[0] = lam
            return
        for t in range(n):
            for i in range(k2):
                lg[t, i] = lg_t[t, i]
                sg[t, i] = sg_t[t, i]
    lam_state[0] = lam


@njit(cache=True, error_model="numpy")
def _mstep(x, y, th, k1, k2, gate, c1, c2, p1, p2, resp, lg, sg, lg_t, sg_t, floor, bound,
           gate_steps, expert_steps, lam_state):
    ok, o_tau, ob, oe, ov = _offsets(k1, k2, p1, p2)
    n = x.shape[0]
    # shared weights (closed form)
    total = 0.0
    for i in range(k1):
        acc = 0.0
        for t in range(n):
            acc += resp[t, i]
        th[i] = acc
        total += acc
    for i in range(k1):
        th[i] /= total
    # experts: mean, then variance
    for side in range(2):
        kk = k1 if side == 0 else k2
        code = c1 if side == 0 else c2
        p = p1 if side == 0 else p2
        base = ok if side == 0 else oe
        vbase = o_tau if side == 0 else ov
        for i in range(kk):
            col = i if side == 0 else k1 + i
            o = base + i * p
            if code == 2:
                _update_linear(th, o, x, y, resp, col)
            elif code == 1:
                _update_relu_free(th, o, x, y, resp, col)
            else:
                _update_relu_bias(th, o, x, y, resp, col, expert_steps)
            _update_variance(code, th, o, vbase + i, x, y, resp, col, floor)
    # routing gates
    _update_gates(gate, th, ob, k1, k2, x, resp, lg, sg, lg_t, sg_t, gate_steps, bound,
                  lam_state)


@njit(cache=True, error_model="numpy", nogil=True)
def _em_kernel(x, y, theta0, k1, k2, gate, c1, c2, p1, p2, tol, max_iter, floor, bound,
               gate_steps, expert_steps, theta_out, trace):
    """Run EM from ``theta0``; returns (loglik, iterations, status, backtracks).

    ``trace[0]`` is the start's log-likelihood and ``trace[i]`` the one after iteration ``i``.
    """
    n = x.shape[0]
    p = theta0.shape[0]
    _, _, ob, _, _ = _offsets(k1, k2, p1, p2)
    th = theta0.copy()
    old = np.empty(p)
    new = np.empty(p)
    resp = np.empty((n, k1 + k2))
    lg = np.empty((n, k2))
    sg = np.zeros((n, k2))
    lg_t = np.empty((n, k2))
    sg_t = np.zeros((n, k2))
    lam_state = np.zeros(1)
    _all_gates(gate, th, ob, k2, x, lg, sg)
    ll = _estep(x, y, th, k1, k2, c1, c2, p1, p2, lg, resp)
    trace[0] = ll
    it = 0
    status = STATUS_MAX_ITER
    backtracks = 0
    while it < max_iter:
        for j in range(p):
            old[j] = th[j]
        _mstep(x, y, th, k1, k2, gate, c1, c2, p1, p2, resp, lg, sg, lg_t, sg_t, floor, bound,
               gate_steps, expert_steps, lam_state)
        ll_new = _estep(x, y, th, k1, k2, c1, c2, p1, p2, lg, resp)
        if not ll_new >= ll - 1e-12 * max(1.0, abs(ll)):
            # Q increased block by block, so the likelihood cannot fall: only round-off or a
            # non-finite value gets here.  Backtrack towards the previous parameters.
            backtracks += 1
            for j in range(p):
                new[j] = th[j]
            repaired = False
            frac = 0.5
            for _ in range(8):
                for j in range(p):
                    th[j] = old[j] + frac * (new[j] - old[j])
                _all_gates(gate, th, ob, k2, x, lg, sg)
                ll_new = _estep(x, y, th, k1, k2, c1, c2, p1, p2, lg, resp)
                if ll_new >= ll:
                    repaired = True
                    break
                frac *= 0.5
            if not repaired:
                for j in range(p):
                    th[j] = old[j]
                _all_gates(gate, th, ob, k2, x, lg, sg)
                ll_new = _estep(x, y, th, k1, k2, c1, c2, p1, p2, lg, resp)
                it += 1
                trace[it] = ll_new
                ll = ll_new
                status = STATUS_STALLED
                break
        it += 1
        trace[it] = ll_new
        change = abs(ll_new - ll) / max(abs(ll), 1e-300)
        ll = ll_new
        if change < tol:
            status = STATUS_CONVERGED
            break
    for j in range(p):
        theta_out[j] = th[j]
    return ll, it, status, backtracks


@njit(cache=True, error_model="numpy", nogil=True)
def _sample_kernel(gen, th, k1, k2, gate, c1, c2, p1, p2, low, high, x_out, y_out):
    """Draw ``(x, y)`` pairs; per point: x, shared-or-routed, the atom, the Gaussian noise."""
    ok, o_tau, ob, oe, ov = _offsets(k1, k2, p1, p2)
    lg = np.empty((1, k2))
    sg = np.zeros((1, k2))
    wsum = 0.0
    for i in range(k1):
        wsum += th[i]
    for t in range(x_out.shape[0]):
        xt = low + (high - low) * gen.random()
        half = gen.random()
        u = gen.random()
        if half < 0.5:
            i = k1 - 1
            acc = 0.0
            for j in range(k1):
                acc += th[j] / wsum
                if u < acc:
                    i = j
                    break
            mu = _mean(c1, th, ok + i * p1, xt)
            var = th[o_tau + i]
        else:
            _gate_row(gate, th, ob, k2, xt, 0, lg, sg)
            i = k2 - 1
            acc = 0.0
            for j in range(k2):
                acc += math.exp(lg[0, j])
                if u < acc:
                    i = j
                    break
            mu = _mean(c2, th, oe + i * p2, xt)
            var = th[ov + i]
        x_out[t] = xt
        y_out[t] = mu + math.sqrt(var) * gen.standard_normal()


@njit(cache=True, error_model="numpy", nogil=True)
def _evaluate_kernel(x, y, th, k1, k2, gate, c1, c2, p1, p2, mean_out, logpdf_out, g_out):
    """Regression function, log-density (if ``y`` is non-empty) and routing weights."""
    ok, o_tau, ob, oe, ov = _offsets(k1, k2, p1, p2)
    n = x.shape[0]
    lg = np.empty((n, k2))
    sg = np.zeros((n, k2))
    _all_gates(gate, th, ob, k2, x, lg, sg)
    for t in range(n):
        xt = x[t]
        f = 0.0
        for i in range(k1):
            f += 0.5 * th[i] * _mean(c1, th, ok + i * p1, xt)
        for i in range(k2):
            g = math.exp(lg[t, i])
            g_out[t, i] = g
            f += 0.5 * g * _mean(c2, th, oe + i * p2, xt)
        mean_out[t] = f
    if y.shape[0] == n:
        resp = np.empty((n, k1 + k2))
        for t in range(n):
            # one point at a time: _estep returns the sum, here every term is wanted
            logpdf_out[t] = _estep(x[t:t + 1], y[t:t + 1], th, k1, k2, c1, c2, p1, p2,
                                   lg[t:t + 1], resp[t:t + 1])


# ----------------------------------------------------------------------------- Python side
def _array_iv(value, name, shape, *, positive=False, nonzero_col=None):
    arr = check_array(name, value, shape=shape).copy()  # a private copy: made read-only below
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 (variances), got {arr}")
    if nonzero_col is not None and np.any(arr[:, nonzero_col] == 0):
        raise ValueError(
            f"{name}[:, {nonzero_col}] (the ReLU inner weight) must be non-zero, got "
            f"{arr[:, nonzero_col]}: a zero inner weight makes the expert constant"
        )
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class TemplateB:
    """A Gaussian MoE with shared and routed experts (Template B of 2505.10860, d = 1).

    Parameters
    ----------
    gate : {"softmax", "sigmoid"}
        Routing: softmax of ``beta_0i + beta_1i x``, or the normalised sigmoid
        ``sigma(beta_0i + beta_1i x) / sum_j sigma(beta_0j + beta_1j x)``.
    shared_expert : {"relu", "linear"}
        ``kappa_2 ReLU(kappa_1 x + kappa_0)`` or ``kappa_1 x + kappa_0``.
    routed_expert : {"relu", "linear"}
        ``eta_2 ReLU(eta_1 x)`` or ``eta_1 x + eta_0``.
    omega : array_like, shape (k1,)
        Shared mixture weights, ``>= 0``, summing to 1.
    kappa : array_like, shape (k1, 3) for ReLU or (k1, 2) for linear
        ``(kappa_0, kappa_1, kappa_2)`` or ``(kappa_0, kappa_1)``; ReLU needs ``kappa_1 != 0``.
    tau : array_like, shape (k1,)
        Shared variances, ``> 0``.
    beta : array_like, shape (k2, 2)
        Gates ``(beta_0, beta_1)``.
    eta : array_like, shape (k2, 2)
        ``(eta_1, eta_2)`` for ReLU (``eta_1 != 0``) or ``(eta_0, eta_1)`` for linear experts.
    nu : array_like, shape (k2,)
        Routed variances, ``> 0``.

    Notes
    -----
    Spec §7.3 [RELATED:2505.10860 App. G.1]: conditional density
    ``1/2 sum_i omega_i N(y | h1(x, kappa_i), tau_i) + 1/2 sum_i g_i(x) N(y | h2(x, eta_i), nu_i)``;
    ``tau`` and ``nu`` are read as variances [INFERRED].

    Examples
    --------
    >>> m = template_b_truth(2)
    >>> (m.gate, m.k_shared, m.k_routed)
    ('softmax', 1, 2)
    >>> round(float(m.regression_function([0.0])[0]), 6)  # (g_1 * 2 + g_2 * 1) / 2
    0.634471
    """

    gate: str
    shared_expert: str
    routed_expert: str
    omega: np.ndarray
    kappa: np.ndarray
    tau: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    nu: np.ndarray

    def __post_init__(self) -> None:
        check_choice("gate", self.gate, GATE_CODES)
        check_choice("shared_expert", self.shared_expert, SHARED_CODES)
        check_choice("routed_expert", self.routed_expert, ROUTED_CODES)
        omega = np.array(self.omega, dtype=np.float64)
        if omega.ndim != 1 or omega.shape[0] < 1:
            raise ValueError(f"omega must be 1-D with k1 >= 1 entries, got shape {omega.shape}")
        k1 = omega.shape[0]
        omega = _array_iv(omega, "omega", (k1,))
        if np.any(omega < 0) or abs(omega.sum() - 1.0) > 1e-9 * k1:
            raise ValueError(f"omega must be >= 0 and sum to 1, got {omega} (sum {omega.sum()!r})")
        beta = np.array(self.beta, dtype=np.float64)
        if beta.ndim != 2 or beta.shape[0] < 1:
            raise ValueError(f"beta must have shape (k2, 2) with k2 >= 1, got {beta.shape}")
        k2 = beta.shape[0]
        p1 = N_EXPERT[SHARED_CODES[self.shared_expert]]
        relu1 = 1 if self.shared_expert == "relu" else None
        relu2 = 0 if self.routed_expert == "relu" else None
        fields = {
            "omega": omega,
            "kappa": _array_iv(self.kappa, "kappa", (k1, p1), nonzero_col=relu1),
            "tau": _array_iv(self.tau, "tau", (k1,), positive=True),
            "beta": _array_iv(beta, "beta", (k2, 2)),
            "eta": _array_iv(self.eta, "eta", (k2, 2), nonzero_col=relu2),
            "nu": _array_iv(self.nu, "nu", (k2,), positive=True),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    def k_shared(self) -> int:
        """Number of shared atoms ``k1``."""
        return int(self.omega.shape[0])

    @property
    def k_routed(self) -> int:
        """Number of routed atoms ``k2``."""
        return int(self.beta.shape[0])

    @property
    def codes(self) -> tuple[int, int, int, int, int]:
        """Kernel codes ``(gate, shared kind, routed kind, p1, p2)``."""
        c1, c2 = SHARED_CODES[self.shared_expert], ROUTED_CODES[self.routed_expert]
        return GATE_CODES[self.gate], c1, c2, N_EXPERT[c1], N_EXPERT[c2]

    def flat(self) -> np.ndarray:
        """Flat parameter vector ``(omega, kappa, tau, beta, eta, nu)`` of the kernels."""
        return np.concatenate([self.omega, self.kappa.ravel(), self.tau, self.beta.ravel(),
                               self.eta.ravel(), self.nu])

    def replace(self, **changes) -> TemplateB:
        """Return a copy with some parameter arrays (or forms) replaced."""
        fields = {name: getattr(self, name) for name in (
            "gate", "shared_expert", "routed_expert", "omega", "kappa", "tau", "beta", "eta", "nu")}
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"unknown TemplateB fields {sorted(unknown)}; allowed {sorted(fields)}")
        fields.update(changes)
        return TemplateB(**fields)

    def _from_flat(self, theta: np.ndarray) -> TemplateB:
        k1, k2 = self.k_shared, self.k_routed
        _, _, _, p1, p2 = self.codes
        ok = k1
        o_tau = ok + k1 * p1
        ob = o_tau + k1
        oe = ob + 2 * k2
        ov = oe + k2 * p2
        omega = np.clip(theta[:k1], 0.0, None)
        return self.replace(
            omega=omega / omega.sum(), kappa=theta[ok:o_tau].reshape(k1, p1), tau=theta[o_tau:ob],
            beta=theta[ob:oe].reshape(k2, 2), eta=theta[oe:ov].reshape(k2, p2), nu=theta[ov:])

    def _evaluate(self, x, y=None):
        x = check_vector("x", x)
        yy = np.empty(0) if y is None else check_vector("y", y)
        if y is not None and yy.shape != x.shape:
            raise ValueError(f"y must have the length of x ({x.shape[0]}), got {yy.shape[0]}")
        n = x.shape[0]
        mean, logpdf, g = np.empty(n), np.empty(n), np.empty((n, self.k_routed))
        gate, c1, c2, p1, p2 = self.codes
        _evaluate_kernel(x, yy, self.flat(), self.k_shared, self.k_routed, gate, c1, c2, p1, p2,
                         mean, logpdf, g)
        return mean, logpdf, g

    def regression_function(self, x) -> np.ndarray:
        """``E[Y | X = x] = 1/2 sum_i omega_i h1(x, kappa_i) + 1/2 sum_i g_i(x) h2(x, eta_i)``.

        Parameters
        ----------
        x : array_like, shape (n,)

        Returns
        -------
        ndarray, shape (n,)
        """
        return self._evaluate(x)[0]

    def log_density(self, x, y) -> np.ndarray:
        """``log p(y_t | x_t)`` for each pair.

        Parameters
        ----------
        x, y : array_like, shape (n,)

        Returns
        -------
        ndarray, shape (n,)
        """
        return self._evaluate(x, y)[1]

    def routing_weights(self, x) -> np.ndarray:
        """Routing weights ``g_i(x)`` (each row sums to 1).

        Parameters
        ----------
        x : array_like, shape (n,)

        Returns
        -------
        ndarray, shape (n, k2)
        """
        return self._evaluate(x)[2]


def template_b_truth(theorem: int) -> TemplateB:
    """Return the ground truth of one Template-B setting (k1* = 1 shared, k2* = 2 routed).

    Parameters
    ----------
    theorem : {1, 2, 3, 4}
        1: softmax, ReLU experts; 2: softmax, linear experts; 3: normalised sigmoid, sparse
        regime (``beta_1 = 0``), ReLU experts; 4: normalised sigmoid, dense regime, ReLU
        shared and linear routed experts.

    Returns
    -------
    TemplateB

    Notes
    -----
    Spec §7.3 table [RELATED:2505.10860 App. G.1].  In settings 1 and 2 both routed atoms
    have ``beta_1 = 5``, so their softmax weights are constant in ``x``; the normalised
    sigmoid weights of setting 4 are not [MATH].

    Examples
    --------
    >>> template_b_truth(4).routing_weights([-3.0, 3.0]).round(3)
    array([[0.269, 0.731],
           [0.5  , 0.5  ]])
    """
    theorem = check_int("theorem", theorem, low=1, high=4)
    a = np.array
    beta = a([[-0.5, 0.0 if theorem == 3 else 5.0], [0.5, 0.0 if theorem == 3 else 5.0]])
    nu = a([0.4, 0.4])
    if theorem == 2:
        shared = ("linear", a([1.0]), a([[0.0, 2.0]]), a([0.2]))
    else:
        shared = ("relu", a([1.0]), a([[0.0, 6.0, -8.0]]), a([0.25]))
    if theorem in (2, 4):
        routed = ("linear", a([[2.0, 8.0], [1.0, -6.0]]))
    else:
        routed = ("relu", a([[-12.0, 4.0], [12.0, 4.0]]))
    gate = "softmax" if theorem in (1, 2) else "sigmoid"
    return TemplateB(gate, shared[0], routed[0], omega=shared[1], kappa=shared[2], tau=shared[3],
                     beta=beta, eta=routed[1], nu=nu)


def sample_template_b(model: TemplateB, n: int, *, rng, low: float = -3.0,
                      high: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` pairs ``(X, Y)``: ``X ~ U[low, high]``, ``Y | X`` from ``model``.

    Parameters
    ----------
    model : TemplateB
        The conditional density.
    n : int
        Sample size, ``>= 1``.
    rng : int, Generator, SeedSequence or None
        Keyword-only; one compiled pass draws from this Generator (four draws per point, in the
        order x, shared-or-routed, atom, noise), so the sample depends on the stream only.
    low, high : float, default -3, 3
        Design interval (``low < high``).

    Returns
    -------
    x, y : ndarray, shape (n,)

    Notes
    -----
    Spec §7.3 [RELATED:2505.10860 App. G.1]: d = 1, ``X ~ U[-3, 3]``, ``Y`` from the true
    conditional density.

    Examples
    --------
    >>> x, y = sample_template_b(template_b_truth(1), 4, rng=7)
    >>> x.shape, bool(np.all(np.abs(x) <= 3))
    ((4,), True)
    """
    if not isinstance(model, TemplateB):
        raise ValueError(f"model must be a TemplateB, got {type(model).__name__}")
    n = check_int("n", n, low=1)
    low = check_real("low", low)
    high = check_real("high", high, low=low, low_open=True)
    gen = as_generator(rng)
    x, y = np.empty(n), np.empty(n)
    gate, c1, c2, p1, p2 = model.codes
    _sample_kernel(gen, model.flat(), model.k_shared, model.k_routed, gate, c1, c2, p1, p2, low,
                   high, x, y)
    return x, y


def _split_counts(k, k_star, gen):
    """Assign fitted atoms to true atoms: one each, extras to true atoms drawn uniformly."""
    owner = list(range(k_star)) + [int(gen.integers(k_star)) for _ in range(k - k_star)]
    return np.array(owner), np.bincount(owner, minlength=k_star)


def template_b_start(truth: TemplateB, *, k_shared: int = 2, k_routed: int = 3, rng,
                     sd: float = 0.1, x_max: float = 3.0) -> TemplateB:
    """Start of an (over-specified) EM fit, with the true density before its perturbation.

    True atoms are copied, surplus atoms are placed on the zero-error set, then every
    identified coordinate is perturbed.

    Parameters
    ----------
    truth : TemplateB
        Ground truth (``k1*`` shared and ``k2*`` routed atoms).
    k_shared, k_routed : int, default 2, 3
        Fitted atoms, ``k_shared >= k1*`` and ``k_routed >= k2*``.
    rng : int, Generator, SeedSequence or None
        Keyword-only stream for the choice of the copied atoms and the perturbations.
    sd : float, default 0.1
        Perturbation scale, ``>= 0``.
    x_max : float, default 3
        Half-width of the design interval, used to place a dead atom (``> 0``).

    Returns
    -------
    TemplateB

    Notes
    -----
    [INFERRED] (2505.10860 does not state its initialisation).  Before the perturbation the
    start has exactly the true density:

    * atom ``i < k*`` starts at true atom ``i``; each surplus atom copies a true atom drawn
      uniformly from the stream;
    * shared copies share the copied atom's weight equally (``omega / m``);
    * routed copies share its mass when a mass-preserving split exists: softmax,
      ``beta_0 - log m``; normalised sigmoid with a constant gate (``beta_1 = 0``),
      ``logit(sigma(beta_0) / m)``;
    * a non-constant normalised-sigmoid gate (dense regime) cannot be split (spec §3.3), so
      its surplus copy starts dead instead: ``beta_0 = -(|beta_1| x_max + 10)``, a routing
      weight below ``sigma(-10) / min_j sigma(s_j)`` on ``[-x_max, x_max]``;
    * then independent noise: ``N(0, sd^2)`` on the gates ``beta``, on linear expert
      coefficients, on ``kappa_0``, ``kappa_2`` and ``eta_2``; variances and shared weights
      are multiplied by ``exp(sd Z)`` (weights renormalised).  The ReLU inner weights
      ``kappa_1``, ``eta_1`` are not perturbed: they only fix the scale of a positively
      homogeneous expert (module notes).

    Examples
    --------
    >>> s = template_b_start(template_b_truth(1), rng=3)
    >>> (s.k_shared, s.k_routed)
    (2, 3)
    """
    if not isinstance(truth, TemplateB):
        raise ValueError(f"truth must be a TemplateB, got {type(truth).__name__}")
    k1 = check_int("k_shared", k_shared, low=truth.k_shared)
    k2 = check_int("k_routed", k_routed, low=truth.k_routed)
    sd = check_real("sd", sd, low=0.0)
    x_max = check_real("x_max", x_max, low=0.0, low_open=True)
    gen = as_generator(rng)
    own1, count1 = _split_counts(k1, truth.k_shared, gen)
    own2, _ = _split_counts(k2, truth.k_routed, gen)
    omega = truth.omega[own1] / count1[own1]
    kappa = truth.kappa[own1].copy()
    tau = truth.tau[own1].copy()
    beta = truth.beta[own2].copy()
    # routed copies: split the mass where that is exact, otherwise start dead
    splittable = np.full(k2, truth.gate == "softmax") | (beta[:, 1] == 0.0)
    dead = np.zeros(k2, dtype=bool)
    dead[truth.k_routed:] = ~splittable[truth.k_routed:]
    m2 = np.bincount(own2[~dead], minlength=truth.k_routed)[own2]
    if truth.gate == "softmax":
        beta[:, 0] -= np.log(m2)
    else:
        sig = 1.0 / (1.0 + np.exp(-beta[:, 0])) / m2
        beta[:, 0] = np.where(dead, -(np.abs(beta[:, 1]) * x_max + 10.0),
                              np.log(sig) - np.log1p(-sig))
    eta = truth.eta[own2].copy()
    nu = truth.nu[own2].copy()
    # perturbations (fixed order: omega, kappa, tau, beta, eta, nu)
    omega = omega * np.exp(sd * gen.standard_normal(k1))
    kappa_free = [0, 2] if truth.shared_expert == "relu" else [0, 1]
    eta_free = [1] if truth.routed_expert == "relu" else [0, 1]
    kappa[:, kappa_free] += sd * gen.standard_normal((k1, len(kappa_free)))
    tau = tau * np.exp(sd * gen.standard_normal(k1))
    beta += sd * gen.standard_normal((k2, 2))
    eta[:, eta_free] += sd * gen.standard_normal((k2, len(eta_free)))
    nu = nu * np.exp(sd * gen.standard_normal(k2))
    return truth.replace(omega=omega / omega.sum(), kappa=kappa, tau=tau, beta=beta, eta=eta,
                         nu=nu)


@dataclass(frozen=True, eq=False)
class EMFit:
    """Result of one EM fit.

    Attributes
    ----------
    params : TemplateB
        Estimate (softmax: last routed atom pinned at ``beta = (0, 0)``).
    loglik : float
        Log-likelihood ``sum_t log p(y_t | x_t)`` at ``params``.
    n_iter : int
        EM iterations run.
    status : int
        1 converged (relative log-likelihood change ``< tol``), 0 stopped at ``max_iter``,
        -1 stalled (a numerical decrease that backtracking could not repair).
    backtracks : int
        Iterations whose log-likelihood fell by round-off and were backtracked.
    trace : ndarray, shape (n_iter + 1,)
        Log-likelihood at the start and after each iteration (non-decreasing up to round-off).
    """

    params: TemplateB
    loglik: float
    n_iter: int
    status: int
    backtracks: int
    trace: np.ndarray

    @property
    def converged(self) -> bool:
        """Whether the relative change of the log-likelihood fell below ``tol``."""
        return self.status == STATUS_CONVERGED


def _fit_em_iv(x, y, start, tol, max_iter, var_floor, gate_bound, gate_steps, expert_steps):
    x = check_vector("x", x, min_len=2)
    y = check_vector("y", y, min_len=2)
    if y.shape != x.shape:
        raise ValueError(f"y must have the length of x ({x.shape[0]}), got {y.shape[0]}")
    if not isinstance(start, TemplateB):
        raise ValueError(f"start must be a TemplateB, got {type(start).__name__}")
    tol = check_real("tol", tol, low=0.0)
    max_iter = check_int("max_iter", max_iter, low=1)
    var_floor = check_real("var_floor", var_floor, low=0.0, low_open=True)
    gate_bound = check_real("gate_bound", gate_bound, low=0.0, low_open=True)
    gate_steps = check_int("gate_steps", gate_steps, low=1)
    expert_steps = check_int("expert_steps", expert_steps, low=1)
    if np.any(np.abs(start.beta) > gate_bound):
        raise ValueError(f"start.beta must lie in [-gate_bound, gate_bound] = "
                         f"[{-gate_bound}, {gate_bound}], got {start.beta.tolist()}")
    if np.any(start.tau < var_floor) or np.any(start.nu < var_floor):
        raise ValueError(f"start variances tau, nu must be >= var_floor = {var_floor}")
    return x, y, tol, max_iter, var_floor, gate_bound, gate_steps, expert_steps


_FIT_DEFAULTS = {"tol": 1e-6, "max_iter": 1000, "var_floor": 1e-3, "gate_bound": 30.0,
                 "gate_steps": 2, "expert_steps": 2}


def _pinned(start: TemplateB) -> TemplateB:
    """Softmax: translate all gates so that the last routed atom sits at (0, 0) (exact)."""
    if start.gate != "softmax":
        return start
    return start.replace(beta=start.beta - start.beta[-1])


def fit_em(x, y, start: TemplateB, *, tol: float = 1e-6, max_iter: int = 1000,
           var_floor: float = 1e-3, gate_bound: float = 30.0, gate_steps: int = 2,
           expert_steps: int = 2) -> EMFit:
    """Maximum-likelihood fit of a Template-B Gaussian MoE by generalised EM.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Data, ``n >= 2``.
    start : TemplateB
        Starting parameters; fixes the gate, the expert forms, ``k1`` and ``k2``, and the ReLU
        scales ``|kappa_1|``, ``|eta_1|`` (module notes).  Softmax starts are translated so
        that the last routed atom is pinned at ``(0, 0)``.
    tol : float, default 1e-6
        Stop when ``|l_new - l_old| / |l_old| < tol`` (``l`` the log-likelihood).
    max_iter : int, default 1000
        Iteration cap, ``>= 1``.
    var_floor : float, default 1e-3
        Lower bound of every variance (the compact parameter space; without it the
        likelihood is unbounded), ``> 0``.
    gate_bound : float, default 30
        Box ``|beta_0|, |beta_1| <= gate_bound`` for the gates, ``> 0``.
    gate_steps, expert_steps : int, default 2
        Damped Newton steps on the gates and Gauss-Newton steps on a ReLU kink per M-step.

    Returns
    -------
    EMFit

    Notes
    -----
    Spec §7.3 [RELATED:2505.10860 App. G.1]: EM-based MLE, tolerance 1e-6, at most 1000
    iterations.  The M-step is block-wise (ECM; module notes): closed forms for the shared
    weights, the variances (``max(RSS / R, var_floor)``), linear experts (weighted least
    squares) and ReLU amplitudes (both sides of the kink tried); Gauss-Newton with
    backtracking for the shared ReLU kink ``kappa_0``; Levenberg-damped Newton for the gates,
    each step kept only if it increases the gate block of Q.  The variance floor, the gate box
    and the step counts are [INFERRED] (not stated in the paper).

    Examples
    --------
    >>> truth = template_b_truth(2)
    >>> x, y = sample_template_b(truth, 2000, rng=11)
    >>> fit = fit_em(x, y, template_b_start(truth, k_shared=1, k_routed=2, rng=12))
    >>> bool(fit.trace[-1] >= fit.trace[0]), fit.params.k_routed
    (True, 2)
    """
    x, y, tol, max_iter, var_floor, gate_bound, gate_steps, expert_steps = _fit_em_iv(
        x, y, start, tol, max_iter, var_floor, gate_bound, gate_steps, expert_steps)
    start = _pinned(start)
    theta0 = start.flat()
    theta = np.empty_like(theta0)
    trace = np.empty(max_iter + 1)
    gate, c1, c2, p1, p2 = start.codes
    ll, it, status, backtracks = _em_kernel(
        x, y, theta0, start.k_shared, start.k_routed, gate, c1, c2, p1, p2, tol, max_iter,
        var_floor, gate_bound, gate_steps, expert_steps, theta, trace)
    return EMFit(params=start._from_flat(theta), loglik=float(ll), n_iter=int(it),
                 status=int(status), backtracks=int(backtracks), trace=trace[:it + 1].copy())


def fit_em_many(xs, ys, starts, *, threads: int | None = None, **options) -> list[EMFit]:
    """Run independent :func:`fit_em` fits on threads (the kernel releases the GIL).

    Parameters
    ----------
    xs, ys : sequence of array_like
        Data of each fit.
    starts : sequence of TemplateB
        Start of each fit.
    threads : int, optional
        Worker threads; default :func:`numerics.core.get_thread_count`.  Each fit is a
        serial computation, so the results are bit-identical for any thread count.
    **options
        Keyword options of :func:`fit_em`.

    Returns
    -------
    list of EMFit
        In input order.
    """
    xs, ys, starts = list(xs), list(ys), list(starts)
    if not (len(xs) == len(ys) == len(starts)) or not xs:
        raise ValueError(f"xs, ys and starts must have the same length >= 1, got {len(xs)}, "
                         f"{len(ys)} and {len(starts)}")
    threads = get_thread_count() if threads is None else check_int("threads", threads, low=1)
    unknown = set(options) - set(_FIT_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown fit_em options {sorted(unknown)}; allowed {sorted(_FIT_DEFAULTS)}")
    settings = {**_FIT_DEFAULTS, **options}
    # validate everything before any thread starts
    for x, y, s in zip(xs, ys, starts, strict=True):
        _fit_em_iv(x, y, s, *settings.values())

    def one(args):
        return fit_em(*args, **options)

    calls = list(zip(xs, ys, starts, strict=True))
    if threads == 1 or len(calls) == 1:
        return [one(c) for c in calls]
    with ThreadPoolExecutor(max_workers=min(threads, len(calls))) as pool:
        return list(pool.map(one, calls))
