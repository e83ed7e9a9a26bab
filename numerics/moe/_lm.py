"""Compiled Levenberg-Marquardt least squares with a tanh box map (spec §7.4)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from numerics.core._fastexp import exp_nonpositive
from numerics.core._validate import check_array, check_choice, check_int, check_real, check_vector
from numerics.moe._model import MoEModel, _model_point, as_design, reference_jacobian
from numerics.moe._sampler import box_iv, move_inside

__all__ = ["BatchFit", "FitResult", "LeastSquaresProblem", "fit_lm", "fit_lm_batch"]

# status codes of a single start
STATUS_CAP = 0  # max_nfev reached
STATUS_GTOL = 1
STATUS_FTOL = 2
STATUS_XTOL = 3
STATUS_ZERO = 4  # exact zero residual
STATUS_STALL = -1  # damping overflow (no acceptable step representable)


# ----------------------------------------------------------------------------- kernels
@njit(cache=True, error_model="numpy")
def _phi_to_theta(phi, mid, half, boxed, theta, dtdphi):
    for j in range(phi.shape[0]):
        if boxed[j]:
            t = math.tanh(phi[j])
            theta[j] = mid[j] + half[j] * t
            dtdphi[j] = half[j] * (1.0 - t * t)
        else:
            theta[j] = phi[j]
            dtdphi[j] = 1.0


@njit(cache=True, error_model="numpy")
def _cholesky_solve(m, rhs, low, out):
    """Solve m out = rhs for symmetric positive definite m; False if not SPD."""
    p = m.shape[0]
    for i in range(p):
        for j in range(i + 1):
            acc = m[i, j]
            for q in range(j):
                acc -= low[i, q] * low[j, q]
            if i == j:
                if not acc > 0.0:
                    return False
                low[i, i] = math.sqrt(acc)
            else:
                low[i, j] = acc / low[j, j]
    for i in range(p):
        acc = rhs[i]
        for q in range(i):
            acc -= low[i, q] * out[q]
        out[i] = acc / low[i, i]
    for i in range(p - 1, -1, -1):
        acc = out[i]
        for q in range(i + 1, p):
            acc -= low[q, i] * out[q]
        out[i] = acc / low[i, i]
    return True


# Points are processed in blocks of _BLOCK: the Jacobian rows of a block are computed column by
# column into a (p, _BLOCK) buffer (every point loop vectorises), then each entry of J'J, J'r
# and r'r gains the dot product of two rows of the buffer.  Those dot products are the only
# code compiled with fastmath (reassoc, contract): LLVM then keeps partial sums in vector
# registers, where a strict left-to-right sum, or 64 lanes in memory, are limited by loads and
# stores.  Measured per point and pass, p = 8 / 12: 21 / 40 ns with 64 lanes, 17 / 31 ns with
# dot products over blocks of 64, 16 / 29 ns over blocks of 128 (no gain beyond).  The order
# of the additions is fixed by the compiled code: the result is the same for any number of
# threads and any run on one machine, and may differ in the last bits between CPUs with
# different vector widths (as the fused multiply-adds of numerics.core._fastexp.exp_nonpositive, which
# supplies the exponentials, may).  Block sums make J'J 3-10 times more accurate than one
# running sum over the points (against long double).
_BLOCK = 128


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dot(u, v, m):
    """``sum_l u[l] v[l]`` over ``l < m`` in vector registers (summation order: LLVM's)."""
    s = 0.0
    for l in range(m):
        s += u[l] * v[l]
    return s


@njit(cache=True, error_model="numpy")
def _accumulate_block(jb, rb, m, tri, vec, sq):
    """Add the block's products (first ``m`` columns) to ``J'J``, ``J'r`` and ``r'r``.

    ``tri[a(a+1)/2 + b] += jb[a] . jb[b]`` (packed lower triangle), ``vec[a] += jb[a] . rb``
    and ``sq[0] += rb . rb``.
    """
    p = jb.shape[0]
    o = 0
    for a in range(p):
        ja = jb[a]
        for b in range(a + 1):
            tri[o] += _dot(ja, jb[b], m)
            o += 1
        vec[a] += _dot(ja, rb, m)
    sq[0] += _dot(rb, rb, m)


@njit(cache=True, error_model="numpy")
def _block_linear_1d(x1, y, t0, m, theta, k, gate, score, pg, zb, wb, hb, fb, jb, rb, bits):
    """Jacobian rows (theta coordinates) and residuals of the points ``t0 .. t0 + m - 1``.

    Linear experts and d = 1, column by column: ``jb[a, l] = df/dtheta_a`` and
    ``rb[l] = y - f`` at ``x1[t0 + l]``; ``zb``, ``wb``, ``hb`` (k, B), ``fb`` (B,) and
    ``bits`` (B,) are scratch.  Scores, gates and the model value are formed with the same
    operations, in the same order, as :func:`numerics.moe._model._model_point`, except that
    ``exp`` is :func:`numerics.core._fastexp.exp_nonpositive` (within 1 ulp); the point loops vectorise.
    """
    stride = pg + 2
    for i in range(k):
        off = i * stride
        if gate == 0 or i < k - 1:
            # phi(x) = [x^2 if score != 2] [x if score != 1] 1; absent features get weight 0
            q = 0
            ca = 0.0
            cb = 0.0
            if score != 2:
                ca = theta[off]
                q = 1
            if score != 1:
                cb = theta[off + q]
                q += 1
            cc = theta[off + q]
            eo = off + pg
            for l in range(m):
                xt = x1[t0 + l]
                zb[i, l] = ca * (xt * xt) + cb * xt + cc
        else:  # the pinned atom: score 0, no gate parameters
            eo = off
            for l in range(m):
                zb[i, l] = 0.0
        u = theta[eo]
        v = theta[eo + 1]
        for l in range(m):
            hb[i, l] = v + u * x1[t0 + l]
    for l in range(m):
        fb[l] = 0.0
    if gate == 0:
        for i in range(k):
            ew = wb[i]
            for l in range(m):
                ew[l] = -abs(zb[i, l])
            exp_nonpositive(ew, ew, bits, m)
            for l in range(m):
                # branch-free form of _model._sigmoid (same operations on e = exp(-|z|))
                e = wb[i, l]
                sg = 1.0 / (1.0 + e) if zb[i, l] >= 0.0 else e / (1.0 + e)
                wb[i, l] = sg
                fb[l] += sg * hb[i, l]
        for i in range(k):
            off = i * stride
            q = off
            for l in range(m):
                sg = wb[i, l]
                xt = x1[t0 + l]
                dsg = sg * (1.0 - sg) * hb[i, l]
                if score != 2:
                    jb[q, l] = dsg * (xt * xt)
                if score != 1:
                    jb[q + pg - 2, l] = dsg * xt
                jb[q + pg - 1, l] = dsg
                jb[q + pg, l] = sg * xt
                jb[q + pg + 1, l] = sg
    else:
        # softmax, shifted by the largest score (at least the pinned atom's 0); atom loops
        # outside, so that each point sees the same operations in the same order as in
        # _model_point while the point loops vectorise (rb holds the normaliser for now)
        for l in range(m):
            fb[l] = 0.0
        for i in range(k):
            for l in range(m):
                if zb[i, l] > fb[l]:
                    fb[l] = zb[i, l]
        for i in range(k):
            ew = wb[i]
            for l in range(m):
                ew[l] = zb[i, l] - fb[l]
            exp_nonpositive(ew, ew, bits, m)
        for l in range(m):
            rb[l] = 0.0
            fb[l] = 0.0
        for i in range(k):
            for l in range(m):
                rb[l] += wb[i, l]
        for i in range(k):
            for l in range(m):
                w = wb[i, l] / rb[l]
                wb[i, l] = w
                fb[l] += w * hb[i, l]
        for i in range(k):
            off = i * stride
            if i < k - 1:
                for l in range(m):
                    xt = x1[t0 + l]
                    dg = wb[i, l] * (hb[i, l] - fb[l])
                    if score != 2:
                        jb[off, l] = dg * (xt * xt)
                    if score != 1:
                        jb[off + pg - 2, l] = dg * xt
                    jb[off + pg - 1, l] = dg
                eo = off + pg
            else:
                eo = off
            for l in range(m):
                jb[eo, l] = wb[i, l] * x1[t0 + l]
                jb[eo + 1, l] = wb[i, l]
    for l in range(m):
        rb[l] = y[t0 + l] - fb[l]


@njit(cache=True, error_model="numpy")
def _fused_pass(x, x1, y, n, theta, dtdphi, jtj, jtr, k, gate, score, expert, act, pg, pe,
                zb, wb, hb, fb, jb, rb, bits, tri, vec, sq, phi_b, s_b, h_b, dh_b, jrow):
    """One pass over the data: return S = sum r^2 and fill J'J, J'r in phi coordinates.

    ``r = (y - f)/sqrt(n)`` and ``J = dr/dphi``; the n x p Jacobian is never stored.  Rows are
    formed in blocks in theta coordinates (:func:`_block_linear_1d` for linear experts and
    d = 1, :func:`numerics.moe._model._model_point` otherwise); the factor ``dtheta/dphi`` of
    the tanh map multiplies the summed products once.  ``x1`` is ``x[:, 0]`` as a contiguous
    vector (read by the fast path only).
    """
    p = theta.shape[0]
    bw = rb.shape[0]
    tri[:] = 0.0
    vec[:] = 0.0
    sq[:] = 0.0
    fast = expert == 0 and x.shape[1] == 1
    for t0 in range(0, n, bw):
        m = min(bw, n - t0)
        if fast:
            _block_linear_1d(x1, y, t0, m, theta, k, gate, score, pg, zb, wb, hb, fb, jb, rb,
                             bits)
        else:
            for l in range(m):
                f = _model_point(x, t0 + l, theta, k, gate, score, expert, act, pg, pe, True,
                                 phi_b, s_b, h_b, dh_b, jrow)
                rb[l] = y[t0 + l] - f
                for a in range(p):
                    jb[a, l] = jrow[a]
        _accumulate_block(jb, rb, m, tri, vec, sq)
    inv_n = 1.0 / n
    o = 0
    for a in range(p):
        for b in range(a + 1):
            jtj[a, b] = tri[o] * dtdphi[a] * dtdphi[b] * inv_n
            jtj[b, a] = jtj[a, b]
            o += 1
        jtr[a] = -vec[a] * dtdphi[a] * inv_n
    return sq[0] * inv_n


@njit(cache=True, error_model="numpy")
def _workspace(x, n, k, p, pg, pe):
    """Scratch of :func:`_fused_pass` (allocated once per LM run, reused by every pass).

    Returns ``x1`` (the first n inputs as a contiguous vector), the block buffers ``zb``,
    ``wb``, ``hb``, ``fb``, ``jb``, ``rb``, ``bits``, the accumulators ``tri`` (packed J'J),
    ``vec`` (J'r), ``sq`` (r'r) and the per-point buffers of the generic path ``phi_b``,
    ``s_b``, ``h_b``, ``dh_b``, ``jrow``.
    """
    x1 = np.empty(n)
    for t in range(n):
        x1[t] = x[t, 0]
    bw = _BLOCK
    npair = p * (p + 1) // 2
    return (x1, np.empty((k, bw)), np.empty((k, bw)), np.empty((k, bw)), np.empty(bw),
            np.zeros((p, bw)), np.empty(bw), np.empty(bw, dtype=np.int64), np.empty(npair),
            np.empty(p), np.empty(1), np.empty(pg), np.empty(k), np.empty(k),
            np.empty((k, pe)), np.zeros(p))


@njit(cache=True, error_model="numpy")
def _normal_equations(x, y, n, theta, dtdphi, jtj, jtr, phi_b, s_b, h_b, dh_b, jrow, k, gate,
                      score, expert, act, pg, pe):
    """Return S = sum r^2, r = (y - f)/sqrt(n); fill J'J and J'r (phi coordinates).

    Stand-alone form of :func:`_fused_pass` that allocates the block scratch itself; the
    per-point buffers ``phi_b`` (pg,), ``s_b``, ``h_b`` (k,), ``dh_b`` (k, pe) and ``jrow``
    (p,) serve the generic path.
    """
    p = theta.shape[0]
    ws = _workspace(x, n, k, p, pg, pe)
    return _fused_pass(x, ws[0], y, n, theta, dtdphi, jtj, jtr, k, gate, score, expert, act,
                       pg, pe, ws[1], ws[2], ws[3], ws[4], ws[5], ws[6], ws[7], ws[8], ws[9],
                       ws[10], phi_b, s_b, h_b, dh_b, jrow)


@njit(cache=True, error_model="numpy")
def _lm_single(x, y, n, phi0, mid, half, boxed, xtol, ftol, gtol, max_nfev, phi_out, k, gate,
               score, expert, act, pg, pe):
    """One LM run from phi0; returns (S, nfev, status); the minimiser goes to phi_out."""
    p = phi0.shape[0]
    phi = phi0.copy()
    trial = np.empty(p)
    theta = np.empty(p)
    dtdphi = np.empty(p)
    jtj = np.empty((p, p))
    jtr = np.empty(p)
    jtj_t = np.empty((p, p))
    jtr_t = np.empty(p)
    mat = np.empty((p, p))
    low = np.zeros((p, p))
    rhs = np.empty(p)
    step = np.empty(p)
    diag = np.empty(p)
    (x1, zb, wb, hb, fb, jb, rb, bits, tri, vec, sq, phi_b, s_b, h_b, dh_b,
     jrow) = _workspace(x, n, k, p, pg, pe)

    _phi_to_theta(phi, mid, half, boxed, theta, dtdphi)
    ssq = _fused_pass(x, x1, y, n, theta, dtdphi, jtj, jtr, k, gate, score, expert, act, pg, pe,
                      zb, wb, hb, fb, jb, rb, bits, tri, vec, sq, phi_b, s_b, h_b, dh_b, jrow)
    nfev = 1
    for a in range(p):
        cn = math.sqrt(jtj[a, a])
        diag[a] = cn if cn > 0.0 else 1.0
    mu = 1e-6
    nu = 2.0
    status = STATUS_CAP
    while True:
        if ssq == 0.0:
            status = STATUS_ZERO
            break
        gmax = 0.0
        rn = math.sqrt(ssq)
        for a in range(p):
            cn = math.sqrt(jtj[a, a])
            if cn > 0.0:
                g = abs(jtr[a]) / (cn * rn)
                if g > gmax:
                    gmax = g
        if gmax <= gtol:
            status = STATUS_GTOL
            break
        if nfev >= max_nfev:
            status = STATUS_CAP
            break
        for a in range(p):
            rhs[a] = -jtr[a]
            for b in range(p):
                mat[a, b] = jtj[a, b]
            mat[a, a] += mu * diag[a] * diag[a]
        if not _cholesky_solve(mat, rhs, low, step):
            mu *= nu
            nu *= 2.0
            if mu > 1e300:
                status = STATUS_STALL
                break
            continue
        dnorm = 0.0
        xnorm = 0.0
        lin = 0.0
        quad = 0.0
        for a in range(p):
            dnorm += (diag[a] * step[a]) ** 2
            xnorm += (diag[a] * phi[a]) ** 2
            lin += step[a] * jtr[a]
            acc = 0.0
            for b in range(p):
                acc += jtj[a, b] * step[b]
            quad += step[a] * acc
            trial[a] = phi[a] + step[a]
        dnorm = math.sqrt(dnorm)
        xnorm = math.sqrt(xnorm)
        pred = -(2.0 * lin + quad)
        _phi_to_theta(trial, mid, half, boxed, theta, dtdphi)
        ssq_t = _fused_pass(x, x1, y, n, theta, dtdphi, jtj_t, jtr_t, k, gate, score, expert,
                            act, pg, pe, zb, wb, hb, fb, jb, rb, bits, tri, vec, sq, phi_b, s_b,
                            h_b, dh_b, jrow)
        nfev += 1
        ared = ssq - ssq_t
        rho = ared / pred if pred > 0.0 else -1.0
        ssq_old = ssq
        if rho > 1e-4 and ssq_t == ssq_t:
            for a in range(p):
                phi[a] = trial[a]
                jtr[a] = jtr_t[a]
                for b in range(p):
                    jtj[a, b] = jtj_t[a, b]
                cn = math.sqrt(jtj[a, a])
                if cn > diag[a]:
                    diag[a] = cn
            ssq = ssq_t
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
        else:
            mu *= nu
            nu *= 2.0
            if mu > 1e300:
                status = STATUS_STALL
                break
        if abs(ared) <= ftol * ssq_old and pred <= ftol * ssq_old and rho <= 2.0:
            status = STATUS_FTOL
            break
        if dnorm <= xtol * xnorm:
            status = STATUS_XTOL
            break
    for a in range(p):
        phi_out[a] = phi[a]
    return ssq, nfev, status

@njit(cache=True, error_model="numpy")
def _lm_multistart(x, y, n, starts, mid, half, boxed, xtol, ftol, gtol, max_nfev, theta_out,
                   obj_out, nfev_out, status_out, k, gate, score, expert, act, pg, pe):
    p = starts.shape[1]
    phi = np.empty(p)
    best_phi = np.empty(p)
    best = -1
    best_obj = np.inf
    for st in range(starts.shape[0]):
        obj, nfev, status = _lm_single(x, y, n, starts[st], mid, half, boxed, xtol, ftol,
                                       gtol, max_nfev, phi, k, gate, score, expert, act, pg,
                                       pe)
        obj_out[st] = obj
        nfev_out[st] = nfev
        status_out[st] = status
        if best < 0 or obj < best_obj:
            best = st
            best_obj = obj
            for a in range(p):
                best_phi[a] = phi[a]
    dtdphi = np.empty(p)
    _phi_to_theta(best_phi, mid, half, boxed, theta_out, dtdphi)
    return best

@njit(cache=True, error_model="numpy", parallel=True)
def _lm_batch_kernel(xs, ys, reps, sizes, starts, mid, half, boxed, xtol, ftol, gtol, max_nfev,
                     theta_out, obj_out, nfev_out, status_out, best_out, k, gate, score, expert,
                     act, pg, pe):
    for f in prange(reps.shape[0]):
        r = reps[f]
        best_out[f] = _lm_multistart(xs[r], ys[r], sizes[f], starts[f], mid, half, boxed, xtol,
                                     ftol, gtol, max_nfev, theta_out[f], obj_out[f], nfev_out[f],
                                     status_out[f], k, gate, score, expert, act, pg, pe)


@dataclass(frozen=True)
class FitResult:
    """Result of one multi-start LM fit.

    Attributes
    ----------
    theta : ndarray, shape (p,)
        Estimate from the start with the lowest objective.
    objective : float
        ``sum_i r_i^2 = mean (Y_i - f(X_i))^2`` at ``theta``.
    nfev : int
        Evaluations of the best start.
    capped : bool
        Whether the best start stopped at ``max_nfev``.
    status : int
        Stopping reason of the best start: 0 cap, 1 gtol, 2 ftol, 3 xtol, 4 zero residual,
        -1 damping overflow.
    best_start : int
        Index of the best start.
    objectives, nfevs, statuses : ndarray, shape (S,)
        Per start.
    """

    theta: np.ndarray
    objective: float
    nfev: int
    capped: bool
    status: int
    best_start: int
    objectives: np.ndarray
    nfevs: np.ndarray
    statuses: np.ndarray


@dataclass(frozen=True)
class BatchFit:
    """Results of :func:`fit_lm_batch`, one row per requested (replicate, n) fit.

    Attributes
    ----------
    theta : ndarray, shape (F, p)
    objective : ndarray, shape (F,)
        Objective of the kept start.
    best_start : ndarray of int, shape (F,)
    objectives : ndarray, shape (F, S)
    nfev, status : ndarray of int, shape (F, S)
        Evaluation counts and stopping reasons of every start.
    capped : ndarray of bool, shape (F,)
        Whether the kept start stopped at the evaluation cap.
    """

    theta: np.ndarray
    objective: np.ndarray
    best_start: np.ndarray
    objectives: np.ndarray
    nfev: np.ndarray
    status: np.ndarray
    capped: np.ndarray


def _tol_iv(xtol, ftol, gtol, max_nfev):
    for name, v in (("xtol", xtol), ("ftol", ftol), ("gtol", gtol)):
        check_real(name, v, low=0.0)
    check_int("max_nfev", max_nfev, low=1)


def _box_map(lower, upper):
    boxed = np.isfinite(lower)
    lo, hi = np.where(boxed, lower, 0.0), np.where(boxed, upper, 0.0)
    mid = np.where(boxed, 0.5 * (lo + hi), 0.0)
    half = np.where(boxed, 0.5 * (hi - lo), 1.0)
    return np.ascontiguousarray(mid), np.ascontiguousarray(half), np.ascontiguousarray(boxed)


def _on_box(theta, lower, upper):
    """Clip estimates into the closed box.

    ``tanh`` rounds to +-1 beyond ``|phi| ~ 19``, and ``m - w`` may then round an ulp past the
    face: a coordinate that ran into a face is reported on it.
    """
    return np.clip(theta, lower, upper)


def _starts_to_phi(starts, lower, upper, mid, half, boxed):
    """Map starts (..., p) to phi (after moving them inside the box)."""
    inside = move_inside(starts, lower, upper)
    ratio = np.where(boxed, (inside - mid) / half, 0.0)
    return np.ascontiguousarray(np.where(boxed, np.arctanh(ratio), inside))


def _starts_iv(starts, p, name="starts"):
    starts = check_array(name, starts)
    if starts.ndim == 1:
        starts = starts[None, :]
    if starts.ndim != 2 or starts.shape[1] != p or starts.shape[0] < 1:
        raise ValueError(f"{name} must have shape (S, {p}) with S >= 1, got {starts.shape}")
    return starts


def _fit_lm_iv(model, x, y, starts, lower, upper, xtol, ftol, gtol, max_nfev):
    if not isinstance(model, MoEModel):
        raise ValueError(f"model must be a MoEModel, got {type(model).__name__}")
    x = as_design(x, model.d)
    y = check_vector("y", y)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have length n = {x.shape[0]}, got {y.shape[0]}")
    lower, upper = box_iv(lower, upper)
    p = lower.shape[0]
    model.n_atoms(np.zeros(p))
    starts = _starts_iv(starts, p)
    _tol_iv(xtol, ftol, gtol, max_nfev)
    return x, y, starts, lower, upper


def fit_lm(model: MoEModel, x, y, starts, lower, upper, *, xtol: float = 1e-13,
           ftol: float = 1e-13, gtol: float = 1e-13, max_nfev: int = 1500) -> FitResult:
    """Least-squares fit of ``model`` by compiled Levenberg-Marquardt from several starts.

    Parameters
    ----------
    model : MoEModel
        Model; ``k`` is read from the length of the box.
    x : array_like, shape (n,) or (n, d)
        Inputs.
    y : array_like, shape (n,)
        Responses.
    starts : array_like, shape (S, p) or (p,)
        Starts in parameter space; a start on or outside a face is moved inside by
        ``1e-3`` half-widths.
    lower, upper : array_like, shape (p,)
        Box; a coordinate with ``lower = -inf, upper = +inf`` is unconstrained.
    xtol, ftol, gtol : float, default 1e-13
        MINPACK-style tolerances: scaled step, relative actual and predicted reduction of the
        sum of squares, and the cosine between the residual and the Jacobian columns.
    max_nfev : int, default 1500
        Evaluations (residuals with Jacobian) per start.

    Returns
    -------
    FitResult

    Notes
    -----
    Spec §7.4 [INFERRED protocol]: residuals ``(Y_i - f(X_i))/sqrt(n)``, analytic Jacobian,
    box through ``theta = m + w tanh(phi)``.  Steps solve the damped normal equations
    ``(J'J + mu D^2) delta = -J'r`` by Cholesky, ``D`` the running maximum of the column norms
    (as MINPACK), with Nielsen's damping update; the estimator is the least-squares
    estimator of §3.1 ([RELATED:2405.13997]).  Each evaluation is one pass over the data that
    forms ``J'J``, ``J'r`` and ``r'r`` block by block (128 points) without storing the n x p
    Jacobian; the stopping tests are MINPACK's (``ftol`` on the
    actual and predicted relative reductions with ``rho <= 2``, ``xtol`` on the scaled step,
    ``gtol`` on the scaled gradient).  A coordinate whose ``tanh`` rounded to +-1 is reported
    on its face.
    """
    x, y, starts, lower, upper = _fit_lm_iv(model, x, y, starts, lower, upper, xtol, ftol, gtol,
                                            max_nfev)
    p = lower.shape[0]
    mid, half, boxed = _box_map(lower, upper)
    sphi = _starts_to_phi(starts, lower, upper, mid, half, boxed)
    n_st = starts.shape[0]
    theta = np.empty(p)
    objs = np.empty(n_st)
    nfevs = np.empty(n_st, dtype=np.int64)
    stats = np.empty(n_st, dtype=np.int64)
    best = _lm_multistart(x, y, x.shape[0], sphi, mid, half, boxed, float(xtol), float(ftol),
                          float(gtol), int(max_nfev), theta, objs, nfevs, stats,
                          model.n_atoms(theta), *model.codes, model.n_gate, model.n_expert)
    theta = _on_box(theta, lower, upper)
    return FitResult(theta=theta, objective=float(objs[best]), nfev=int(nfevs[best]),
                     capped=bool(stats[best] == STATUS_CAP), status=int(stats[best]),
                     best_start=int(best), objectives=objs, nfevs=nfevs, statuses=stats)


def fit_lm_batch(model: MoEModel, xs, ys, replicates, sizes, starts, lower, upper, *,
                 xtol: float = 1e-13, ftol: float = 1e-13, gtol: float = 1e-13,
                 max_nfev: int = 1500) -> BatchFit:
    """Run many (replicate, n) fits in parallel; bit-identical for any number of threads.

    Parameters
    ----------
    model : MoEModel
        Model.
    xs : array_like, shape (R, n_max, d) or (R, n_max) for d = 1
        Inputs of every replicate (from :func:`sample_regression`).
    ys : array_like, shape (R, n_max)
        Responses of every replicate.
    replicates : array_like of int, shape (F,)
        Row of ``xs``/``ys`` used by fit ``f``.
    sizes : array_like of int, shape (F,)
        Fit ``f`` uses the first ``sizes[f]`` points (nested design).
    starts : array_like, shape (F, S, p)
        Starts of each fit in parameter space (perturbations drawn in Python, e.g. with
        :func:`perturb_starts` and :func:`start_rng`).
    lower, upper : array_like, shape (p,)
        Box shared by all fits.
    xtol, ftol, gtol, max_nfev
        As in :func:`fit_lm`.

    Returns
    -------
    BatchFit

    Notes
    -----
    Spec §7.4 (protocol [INFERRED]).  Each fit is a serial computation with a fixed summation
    order and the fits are independent, so the parallel loop (chunk size 1) cannot change any
    bit.
    """
    if not isinstance(model, MoEModel):
        raise ValueError(f"model must be a MoEModel, got {type(model).__name__}")
    xs = check_array("xs", xs)
    if xs.ndim == 2 and model.d == 1:
        xs = xs[:, :, None]
    if xs.ndim != 3 or xs.shape[2] != model.d or xs.shape[1] < 1:
        raise ValueError(f"xs must have shape (R, n_max, {model.d}), got {xs.shape}")
    ys = check_array("ys", ys, shape=xs.shape[:2])
    reps = np.asarray(replicates)
    sz = np.asarray(sizes)
    if reps.ndim != 1 or sz.shape != reps.shape or reps.shape[0] < 1:
        raise ValueError(f"replicates and sizes must be 1-D of equal length >= 1, got "
                         f"{reps.shape} and {sz.shape}")
    if not (np.issubdtype(reps.dtype, np.integer) and np.issubdtype(sz.dtype, np.integer)):
        raise ValueError("replicates and sizes must be integer arrays")
    if np.any(reps < 0) or np.any(reps >= xs.shape[0]):
        raise ValueError(f"replicates must lie in [0, {xs.shape[0] - 1}], got {reps}")
    if np.any(sz < 1) or np.any(sz > xs.shape[1]):
        raise ValueError(f"sizes must lie in [1, {xs.shape[1]}] (n >= 1), got {sz}")
    lower, upper = box_iv(lower, upper)
    p = lower.shape[0]
    model.n_atoms(np.zeros(p))
    starts = check_array("starts", starts, shape=(reps.shape[0], None, p))
    _tol_iv(xtol, ftol, gtol, max_nfev)
    return _run_batch(model, xs, ys, reps.astype(np.int64), sz.astype(np.int64), starts, lower,
                      upper, xtol, ftol, gtol, max_nfev)


def _run_batch(model, xs, ys, reps, sizes, starts, lower, upper, xtol, ftol, gtol, max_nfev):
    """Map validated starts to phi, run the specialised kernel, collect a BatchFit."""
    p = lower.shape[0]
    k = model.n_atoms(np.zeros(p))
    mid, half, boxed = _box_map(lower, upper)
    sphi = _starts_to_phi(starts, lower, upper, mid, half, boxed)
    n_fit, n_st = starts.shape[:2]
    theta = np.empty((n_fit, p))
    objs = np.empty((n_fit, n_st))
    nfev = np.empty((n_fit, n_st), dtype=np.int64)
    stat = np.empty((n_fit, n_st), dtype=np.int64)
    best = np.empty(n_fit, dtype=np.int64)
    with numba.parallel_chunksize(1):
        _lm_batch_kernel(np.ascontiguousarray(xs), np.ascontiguousarray(ys), reps, sizes, sphi,
                         mid, half, boxed, float(xtol), float(ftol), float(gtol), int(max_nfev),
                         theta, objs, nfev, stat, best, k, *model.codes, model.n_gate,
                         model.n_expert)
    idx = np.arange(n_fit)
    theta = _on_box(theta, lower, upper)
    return BatchFit(theta=theta, objective=objs[idx, best], best_start=best, objectives=objs,
                    nfev=nfev, status=stat, capped=stat[idx, best] == STATUS_CAP)


class LeastSquaresProblem:
    """The LM problem of :func:`fit_lm` in the unconstrained coordinates ``phi``.

    Exposes the residual vector and its Jacobian as plain callables, so that an external
    solver (e.g. ``scipy.optimize.least_squares(method="lm")`` in a benchmark or a test) can
    run exactly the same problem; ``numerics`` itself never imports scipy.

    Parameters
    ----------
    model : MoEModel
    x, y : array_like
        Data as in :func:`fit_lm`.
    lower, upper : array_like, shape (p,)
        Box.
    backend : {"compiled", "numpy"}, default "compiled"
        Model evaluation by the compiled kernel or by the plain-numpy reference
        (:func:`reference_jacobian`), i.e. what a scipy user without numba would write.

    Notes
    -----
    Spec §7.4: ``r(phi) = (Y - f(m + w tanh phi)) / sqrt(n)``.
    """

    def __init__(self, model: MoEModel, x, y, lower, upper, backend: str = "compiled"):
        check_choice("backend", backend, ("compiled", "numpy"))
        self.backend = backend
        x, y, _, lower, upper = _fit_lm_iv(model, x, y, np.zeros((1, np.size(lower))), lower,
                                           upper, 0.0, 0.0, 0.0, 1)
        self.model = model
        self.x, self.y = x, y
        self.lower, self.upper = lower, upper
        self._mid, self._half, self._boxed = _box_map(lower, upper)
        self._sqrt_n = math.sqrt(x.shape[0])

    def to_phi(self, theta) -> np.ndarray:
        """Map parameters (moved inside the box) to ``phi``."""
        th = _starts_iv(theta, self.lower.shape[0], "theta")
        out = _starts_to_phi(th, self.lower, self.upper, self._mid, self._half, self._boxed)
        return out[0] if np.ndim(theta) == 1 else out

    def to_theta(self, phi) -> np.ndarray:
        """Map ``phi`` to parameters."""
        phi = check_vector("phi", phi)
        return np.where(self._boxed, self._mid + self._half * np.tanh(phi), phi)

    def fun(self, phi) -> np.ndarray:
        """Residuals ``(Y - f) / sqrt(n)``."""
        theta = self.to_theta(phi)
        if self.backend == "numpy":
            f = reference_jacobian(self.model, theta, self.x)[0]
        else:
            f = self.model.evaluate(theta, self.x)
        return (self.y - f) / self._sqrt_n

    def jac(self, phi) -> np.ndarray:
        """Jacobian of :meth:`fun` with respect to ``phi``, shape (n, p)."""
        phi = check_vector("phi", phi)
        theta = self.to_theta(phi)
        if self.backend == "numpy":
            jac = reference_jacobian(self.model, theta, self.x)[1]
        else:
            jac = self.model.jacobian(theta, self.x)[1]
        dt = np.where(self._boxed, self._half * (1.0 - np.tanh(phi) ** 2), 1.0)
        return -jac * dt / self._sqrt_n
