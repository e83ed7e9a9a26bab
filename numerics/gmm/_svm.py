"""Hinge-loss SVM (dual SMO, unpenalised intercept) and the hard-margin (max-margin) SVM."""

import math

import numpy as np
from numba import njit

from numerics.core._validate import check_int, check_real

from ._linalg import _cholesky_inplace, _cholesky_solve, _gram, _rmatvec
from ._validation import _as_data, _check_both_classes, _check_lam

_TAU = 1e-12  # LIBSVM's guard for non-positive curvature a_ij
#: Hard margin: for separable data with maximal margin kappa (unit-norm direction) every
#: a >= 0 has ||sum_i a_i y_i x_i|| >= kappa sum(a) (Cauchy-Schwarz with the optimal
#: direction).  So ||w|| / sum(a) < _MIN_REL_MARGIN max_i ||x_i|| proves kappa is below that
#: level: the data are reported as not separable.  On non-separable data the ratio decays
#: like 1/iterations, so this fires after about 1e6 coordinate steps.
_MIN_REL_MARGIN = 1e-6
#: Try the active-set polish once the KKT violation is below this (sets nearly identified).
_POLISH_BELOW = 1e-2


@njit(cache=True, error_model="numpy")
def _cd_violation(g, a, C):
    """Projected-gradient KKT violation of one coordinate of the box ``[0, C]``."""
    if a <= 0.0:
        return -g if g < 0.0 else 0.0
    if a >= C:
        return g if g > 0.0 else 0.0
    return abs(g)


@njit(cache=True, error_model="numpy")
def _kkt_violation(y, C, equality, alpha, G):
    """Maximal KKT violation, as used by the stopping rule of ``_svm_dual``."""
    n = y.shape[0]
    if equality:
        gmax = -np.inf
        gmin = np.inf
        for t in range(n):
            v = -y[t] * G[t]
            if (y[t] > 0 and alpha[t] < C) or (y[t] < 0 and alpha[t] > 0.0):
                gmax = max(gmax, v)
            if (y[t] < 0 and alpha[t] < C) or (y[t] > 0 and alpha[t] > 0.0):
                gmin = min(gmin, v)
        if gmax == -np.inf or gmin == np.inf:
            return 0.0
        return max(gmax - gmin, 0.0)
    viol = 0.0
    for t in range(n):
        viol = max(viol, _cd_violation(G[t], alpha[t], C))
    return viol


@njit(cache=True, error_model="numpy")
def _polish(K, y, C, equality, tol, alpha, G):
    """Active-set polish: solve the KKT equations exactly on the current sets.

    With ``F = {0 < a < C}`` (free) and ``U = {a = C}`` held fixed, the free multipliers and
    the bias solve ``Q_FF a_F + b y_F = 1 - Q_FU a_U`` and (with the equality)
    ``y_F . a_F = -y_U . a_U``; ``Q_FF`` (plus ``rho y_F y_F^T`` with the equality) is
    factorised by Cholesky and ``b`` eliminated (Schur complement).  The candidate is
    accepted, and written to ``alpha``/``G``, only if ``0 < a_F < C`` and its full KKT
    violation is ``<= tol``; returns ``(accepted, violation, work)`` with ``work`` a flop
    estimate of the attempt.  This turns SMO's slow linear tail (small ``lam``, or a hard
    margin near the separability threshold) into one linear solve once the sets are
    identified.
    """
    n = y.shape[0]
    nf = 0
    for t in range(n):
        if 0.0 < alpha[t] < C:
            nf += 1
    if nf == 0:
        return False, np.inf, float(n)
    work = nf * nf * nf / 3.0 + 2.0 * n * nf  # flops of the solve (and of r_F, roughly)
    F = np.empty(nf, dtype=np.int64)
    k = 0
    for t in range(n):
        if 0.0 < alpha[t] < C:
            F[k] = t
            k += 1
    # r_F = 1 - Q_FU a_U  (K read by rows u in U)
    r = np.ones(nf)
    s_u = 0.0
    if C < np.inf:
        for u in range(n):
            if alpha[u] >= C:
                s_u += y[u] * C
                for a in range(nf):
                    i = F[a]
                    r[a] -= y[i] * y[u] * K[u, i] * C
    M = np.empty((nf, nf))
    yf = np.empty(nf)
    for a in range(nf):
        i = F[a]
        yf[a] = y[i]
        for c in range(nf):
            M[a, c] = y[i] * y[F[c]] * K[i, F[c]]
    if equality:
        # with the equality, generically |F| = rank + 1 and Q_FF is singular: add
        # rho y_F (y_F . a_F - s) = 0 (augmented Lagrangian), PD on the constraint's null space
        rho = 0.0
        for a in range(nf):
            rho += M[a, a]
        rho /= nf
        for a in range(nf):
            r[a] -= rho * yf[a] * s_u
            for c in range(nf):
                M[a, c] += rho * yf[a] * yf[c]
    if not _cholesky_inplace(M):
        return False, np.inf, work
    a0 = np.empty(nf)
    _cholesky_solve(M, r, a0)
    b = 0.0
    if equality:
        a1 = np.empty(nf)
        _cholesky_solve(M, yf, a1)
        num = 0.0
        den = 0.0
        for a in range(nf):
            num += yf[a] * a0[a]
            den += yf[a] * a1[a]
        if not den > 0.0:
            return False, np.inf, work
        b = (num + s_u) / den
        for a in range(nf):
            a0[a] -= b * a1[a]
    for a in range(nf):
        if not (0.0 < a0[a] < C):
            return False, np.inf, work
    cand = alpha.copy()
    for a in range(nf):
        cand[F[a]] = a0[a]
    Gc = np.full(n, -1.0)
    for u in range(n):
        if cand[u] > 0.0:
            work += 2.0 * n
            f = y[u] * cand[u]
            for t in range(n):
                Gc[t] += y[t] * f * K[u, t]
    viol = _kkt_violation(y, C, equality, cand, Gc)
    if viol <= tol:
        for t in range(n):
            alpha[t] = cand[t]
            G[t] = Gc[t]
        return True, viol, work
    return False, viol, work


@njit(cache=True, error_model="numpy")
def _svm_dual(K, y, C, equality, tol, max_iter, alpha, G, warm):
    """Solve ``min_a 1/2 a^T Q a - sum(a)``, ``0 <= a <= C`` (``Q_ij = y_i y_j K_ij``).

    With ``equality`` also ``sum_i y_i a_i = 0`` (SMO with LIBSVM's second-order working-set
    selection, Fan, Chen & Lin 2005); without it, greedy (Gauss-Southwell) coordinate descent
    with exact coordinate minimisation.  ``C`` may be ``inf`` (hard margin).  ``alpha`` and
    ``G`` (gradient ``Q a - 1``) are outputs, initialised here to 0 and -1 unless ``warm``
    (then they must hold a feasible point and its gradient).

    Stops when the maximal KKT violation is ``<= tol``: ``m(a) - M(a)`` with the equality,
    ``max_i |projected gradient_i|`` without; both are in units of the margin.  Once the
    violation is below ``_POLISH_BELOW``, an exact active-set solve (``_polish``) is tried
    every ``max(n, 2 work / n)`` iterations (at most ~25% of the time) and ends the run when
    it satisfies the tolerance.

    Returns ``(n_iter, violation, status)``; status 0 converged, 1 iteration limit, 2 the
    hard-margin dual is unbounded or nearly so (a zero row, or ``||w|| / sum(a)``, which is
    never below the maximal margin, fell below ``_MIN_REL_MARGIN max_i ||x_i||``).
    """
    n = y.shape[0]
    hard = not (C < np.inf)
    if not warm:
        for i in range(n):
            alpha[i] = 0.0
            G[i] = -1.0
    kd = np.empty(n)  # the diagonal, contiguous (K is only ever read by rows)
    xmax = 0.0
    for i in range(n):
        kd[i] = K[i, i]
        xmax = max(xmax, math.sqrt(max(kd[i], 0.0)))
    it = 0
    viol = np.inf
    status = 1
    have_next = False  # selection of the next i already done during the gradient update
    next_v = 0.0
    next_i = -1
    next_polish = 0  # iteration of the next polish attempt
    while it < max_iter:
        if equality:
            if not have_next:
                gmax = -np.inf
                i_sel = -1
                for t in range(n):
                    if (y[t] > 0 and alpha[t] < C) or (y[t] < 0 and alpha[t] > 0.0):
                        v = -y[t] * G[t]
                        if v > gmax:
                            gmax = v
                            i_sel = t
            else:
                gmax = next_v
                i_sel = next_i
            gmin = np.inf
            j_sel = -1
            best = np.inf
            for t in range(n):
                if (y[t] < 0 and alpha[t] < C) or (y[t] > 0 and alpha[t] > 0.0):
                    v = -y[t] * G[t]
                    if v < gmin:
                        gmin = v
                    if i_sel >= 0:
                        bb = gmax - v
                        if bb > 0.0:
                            aa = kd[i_sel] + kd[t] - 2.0 * K[i_sel, t]
                            if aa <= 0.0:
                                aa = _TAU
                            obj = -(bb * bb) / aa
                            if obj < best:
                                best = obj
                                j_sel = t
            viol = gmax - gmin if (i_sel >= 0 and gmin < np.inf) else 0.0
            if viol <= tol or j_sel < 0:
                status = 0
                break
            i = i_sel
            j = j_sel
            ai_old = alpha[i]
            aj_old = alpha[j]
            qij = y[i] * y[j] * K[i, j]
            if y[i] != y[j]:
                quad = kd[i] + kd[j] + 2.0 * qij
                if quad <= 0.0:
                    quad = _TAU
                delta = (-G[i] - G[j]) / quad
                diff = alpha[i] - alpha[j]
                alpha[i] += delta
                alpha[j] += delta
                if diff > 0.0:
                    if alpha[j] < 0.0:
                        alpha[j] = 0.0
                        alpha[i] = diff
                else:
                    if alpha[i] < 0.0:
                        alpha[i] = 0.0
                        alpha[j] = -diff
                if not hard:
                    if diff > 0.0:
                        if alpha[i] > C:
                            alpha[i] = C
                            alpha[j] = C - diff
                    else:
                        if alpha[j] > C:
                            alpha[j] = C
                            alpha[i] = C + diff
            else:
                quad = kd[i] + kd[j] - 2.0 * qij
                if quad <= 0.0:
                    quad = _TAU
                delta = (G[i] - G[j]) / quad
                ssum = alpha[i] + alpha[j]
                alpha[i] -= delta
                alpha[j] += delta
                if not hard and ssum > C:
                    if alpha[i] > C:
                        alpha[i] = C
                        alpha[j] = ssum - C
                else:
                    if alpha[j] < 0.0:
                        alpha[j] = 0.0
                        alpha[i] = ssum
                if not hard and ssum > C:
                    if alpha[j] > C:
                        alpha[j] = C
                        alpha[i] = ssum - C
                else:
                    if alpha[i] < 0.0:
                        alpha[i] = 0.0
                        alpha[j] = ssum
            dai = alpha[i] - ai_old
            daj = alpha[j] - aj_old
            # gradient update fused with the next selection of i (one pass over K rows i, j)
            fi = y[i] * dai
            fj = y[j] * daj
            next_v = -np.inf
            next_i = -1
            for t in range(n):
                gt = G[t] + y[t] * (fi * K[i, t] + fj * K[j, t])
                G[t] = gt
                if (y[t] > 0 and alpha[t] < C) or (y[t] < 0 and alpha[t] > 0.0):
                    v = -y[t] * gt
                    if v > next_v:
                        next_v = v
                        next_i = t
            have_next = True
        else:
            if not have_next:
                viol = 0.0
                i = -1
                for t in range(n):
                    v = _cd_violation(G[t], alpha[t], C)
                    if v > viol:
                        viol = v
                        i = t
            else:
                viol = next_v
                i = next_i
            if viol <= tol:
                status = 0
                break
            if kd[i] > 0.0:
                new = alpha[i] - G[i] / kd[i]
            else:
                new = C if G[i] < 0.0 else 0.0
            if new < 0.0:
                new = 0.0
            if new > C:
                new = C
            if not (new < np.inf):
                status = 2
                break
            dai = new - alpha[i]
            alpha[i] = new
            # gradient update fused with the next greedy selection (one pass over K row i)
            fi = y[i] * dai
            next_v = 0.0
            next_i = -1
            for t in range(n):
                gt = G[t] + y[t] * fi * K[i, t]
                G[t] = gt
                v = _cd_violation(gt, alpha[t], C)
                if v > next_v:
                    next_v = v
                    next_i = t
            have_next = True
        it += 1
        if viol < _POLISH_BELOW and it >= next_polish:
            ok, pviol, work = _polish(K, y, C, equality, tol, alpha, G)
            if ok:
                viol = pviol
                status = 0
                break
            # an SMO iteration costs ~ 2n flops: keep the attempts below ~25% of the run
            next_polish = it + max(n, int(2.0 * work / n))
        if hard and it % n == 0:
            # ||w||^2 = a^T Q a = sum(a) + a.G ; for separable data ||w|| / sum(a) >= margin
            sa = 0.0
            ag = 0.0
            for t in range(n):
                sa += alpha[t]
                ag += alpha[t] * G[t]
            w2 = max(sa + ag, 0.0)
            if sa > 0.0 and math.sqrt(w2) < _MIN_REL_MARGIN * xmax * sa:
                status = 2
                break
    return it, viol, status


@njit(cache=True, error_model="numpy")
def _svm_bias(y, C, alpha, G):
    """LIBSVM's rule: ``b = -mean(y_i G_i)`` over free SVs, else mid-point of the bounds."""
    n = y.shape[0]
    ub = np.inf
    lb = -np.inf
    nfree = 0
    sfree = 0.0
    for i in range(n):
        yg = y[i] * G[i]
        if alpha[i] >= C:
            if y[i] < 0:
                ub = min(ub, yg)
            else:
                lb = max(lb, yg)
        elif alpha[i] <= 0.0:
            if y[i] > 0:
                ub = min(ub, yg)
            else:
                lb = max(lb, yg)
        else:
            nfree += 1
            sfree += yg
    if nfree > 0:
        return -sfree / nfree, nfree
    return -0.5 * (ub + lb), 0


@njit(cache=True, error_model="numpy")
def _fit_hinge(X, y, lam, intercept, tol, max_iter, w, alpha):
    """Hinge ERM ``sum_i max(0, 1 - y_i (x_i.w/sqrt(d) + b)) + lam/2 ||w||^2`` via its dual.

    Writes ``w`` and the dual variables ``alpha`` (in ``[0, 1/lam]``); returns
    ``(b, n_iter, violation, n_free, status)``.
    """
    n, d = X.shape
    K = np.empty((n, n))
    _gram(X, 1.0 / d, K)
    G = np.empty(n)
    C = 1.0 / lam
    it, viol, status = _svm_dual(K, y, C, intercept, tol, max_iter, alpha, G, False)
    ay = np.empty(n)
    for i in range(n):
        ay[i] = alpha[i] * y[i]
    _rmatvec(X, ay, 1.0 / math.sqrt(d), w)
    b = 0.0
    nfree = 0
    if intercept:
        b, nfree = _svm_bias(y, C, alpha, G)
    else:
        for i in range(n):
            if 0.0 < alpha[i] < C:
                nfree += 1
    return b, it, viol, nfree, status


@njit(cache=True, error_model="numpy")
def _fit_max_margin(X, y, tol, max_iter, w, alpha):
    """Hard-margin SVM through the origin: ``min ||w||^2/2`` s.t. ``y_i <w, x_i> >= 1``.

    Writes ``w``, ``alpha``; returns ``(min_i y_i <w, x_i>, n_iter, violation, status)``.
    A status 1 (iteration limit) with a non-positive minimal margin is reported as 2.
    """
    n, d = X.shape
    K = np.empty((n, n))
    _gram(X, 1.0, K)
    G = np.empty(n)
    it, viol, status = _svm_dual(K, y, np.inf, False, tol, max_iter, alpha, G, False)
    ay = np.empty(n)
    for i in range(n):
        ay[i] = alpha[i] * y[i]
    _rmatvec(X, ay, 1.0, w)
    mmin = np.inf
    for i in range(n):
        acc = 0.0
        for k in range(d):
            acc += X[i, k] * w[k]
        mmin = min(mmin, y[i] * acc)
    if status != 0 and not mmin > 0.0:
        status = 2
    return mmin, it, viol, status


def _default_max_iter(max_iter, n, hard=False):
    # measured: hinge at lam = 0.1 needs ~ 50 n SMO steps, lam = 1e-3 ~ 3000 n; max-margin
    # at 0.95 of the separability threshold ~ 3500 n coordinate steps
    if max_iter is None:
        return 5000 * n + 1_000_000 if hard else 2000 * n + 100_000
    return check_int("max_iter", max_iter, low=1)


def _fit_hinge_iv(X, y, lam, intercept, tol, max_iter):
    X, y = _as_data(X, y)
    lam = _check_lam(lam, positive=True)
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True)
    max_iter = _default_max_iter(max_iter, X.shape[0])
    if intercept:
        _check_both_classes(y, "the hinge loss with an intercept")
    return X, y, lam, bool(intercept), tol, max_iter


def fit_hinge(X, y, lam, *, intercept=True, tol=1e-8, max_iter=None, return_info=False):
    """Soft-margin SVM: hinge loss with L2 penalty on ``w``, Mignacco scaling.

    Solves ``min_{w,b} sum_i max(0, 1 - y_i (w.x_i / sqrt(d) + b)) + lam/2 ||w||^2``
    (intercept unpenalised) through its dual
    ``max_a sum(a) - 1/2 ||sum_i a_i y_i x_i||^2 / d``, ``0 <= a_i <= 1/lam``,
    ``sum_i a_i y_i = 0`` (the last constraint only with an intercept).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data.
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    lam : float
        Penalty, ``lam > 0``.
    intercept : bool, keyword-only
        Fit an unpenalised bias (needs both classes present).
    tol : float, keyword-only
        Stop when the maximal KKT violation (in margin units) is ``<= tol``.
    max_iter : int or None, keyword-only
        SMO iterations; default ``2000 n + 100000`` (the count grows roughly like
        ``1/lam``: about ``50 n`` at ``lam = 0.1``, ``3000 n`` at ``lam = 1e-3``).
    return_info : bool, keyword-only
        Also return a dict with the dual variables ``alpha`` (in ``[0, 1/lam]``), ``n_iter``,
        ``kkt_violation``,
        ``n_free`` (number of free support vectors), ``primal``, ``dual`` and
        ``duality_gap`` (primal minus dual objective, both in the ``lam`` scaling above).

    Returns
    -------
    w : ndarray, shape (d,)
        Weights, ``w = sum_i a_i y_i x_i / sqrt(d)``.
    b : float
        Bias: mean of ``y_i - w.x_i/sqrt(d)`` over free support vectors
        (``0 < a_i < 1/lam``); without any, the middle of the interval allowed by KKT.
    info : dict
        Only if ``return_info``.

    Raises
    ------
    RuntimeError
        If the iteration limit is reached before the tolerance.

    Notes
    -----
    Spec ``gmm_asymptotics.md`` §5 and §1.1 scaling [RELATED:2106.03791].  SMO with
    second-order working-set selection (Fan, Chen & Lin, JMLR 2005) on the ``n x n`` Gram
    matrix ``X X^T / d``; memory ``O(n^2)``.
    """
    X, y, lam, intercept, tol, max_iter = _fit_hinge_iv(X, y, lam, intercept, tol, max_iter)
    n, d = X.shape
    w = np.empty(d)
    alpha = np.empty(n)
    b, it, viol, nfree, status = _fit_hinge(X, y, lam, intercept, tol, max_iter, w, alpha)
    if status != 0:
        raise RuntimeError(
            f"hinge SMO did not converge: KKT violation {viol:.3g} > tol = {tol:g} after "
            f"{it} iterations; raise max_iter"
        )
    if not return_info:
        return w, float(b)
    margins = y * (X @ w / math.sqrt(d) + b)
    primal = float(np.maximum(0.0, 1.0 - margins).sum() + 0.5 * lam * (w @ w))
    dual = float(lam * alpha.sum() - 0.5 * lam * (w @ w))  # lam times the dual in a
    info = {
        "alpha": alpha,
        "n_iter": int(it),
        "kkt_violation": float(viol),
        "n_free": int(nfree),
        "primal": primal,
        "dual": dual,
        "duality_gap": primal - dual,
    }
    return w, float(b), info


def _fit_max_margin_iv(X, y, tol, max_iter):
    X, y = _as_data(X, y)
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True)
    max_iter = _default_max_iter(max_iter, X.shape[0], hard=True)
    return X, y, tol, max_iter


def fit_max_margin(X, y, *, tol=1e-8, max_iter=None, return_info=False):
    """Hard-margin (max-margin) SVM through the origin, standard normalisation, no bias.

    Solves ``min ||w||^2 / 2`` subject to ``y_i <w, x_i> >= 1``; the max-margin direction is
    ``w / ||w||`` with margin ``kappa = 1 / ||w||``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data.
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    tol : float, keyword-only
        Stop when the maximal KKT violation (relative to the target margin 1) is ``<= tol``.
    max_iter : int or None, keyword-only
        Coordinate-descent iterations; default ``5000 n + 1000000`` (the count grows as the
        margin shrinks, i.e. towards the separability threshold ``alpha*(r)``).
    return_info : bool, keyword-only
        Also return a dict with ``alpha`` (dual variables, ``w = sum_i a_i y_i x_i``),
        ``n_iter``, ``kkt_violation``, ``min_margin`` (``min_i y_i <w, x_i>``) and ``kappa``.

    Returns
    -------
    w : ndarray, shape (d,)
        Weights (score ``<w, x>``), scaled so that the minimal margin is 1 (up to ``tol``).
    b : float
        Always 0.0.
    info : dict
        Only if ``return_info``.

    Raises
    ------
    ValueError
        If the data are not linearly separable through the origin: the verified minimal
        margin ``min_i y_i <w, x_i>`` is not positive at the iteration limit, or the dual
        diverges, which proves the maximal margin is below ``1e-6 max_i ||x_i||`` (reported as
        not separable).
    RuntimeError
        If the iteration limit is reached before the tolerance on separable data.

    Notes
    -----
    Spec ``gmm_asymptotics.md`` §6 (items 1 and 6) [MATH].  Dual
    ``max_a sum(a) - ||sum_i a_i y_i x_i||^2 / 2``, ``a >= 0``, by greedy coordinate descent
    (exact coordinate steps, largest KKT violation first) on the Gram matrix ``X X^T``.
    """
    X, y, tol, max_iter = _fit_max_margin_iv(X, y, tol, max_iter)
    n, d = X.shape
    w = np.empty(d)
    alpha = np.empty(n)
    mmin, it, viol, status = _fit_max_margin(X, y, tol, max_iter, w, alpha)
    if status == 2 or not mmin > 0.0:
        why = "diverges: any margin is below 1e-6 max_i ||x_i||" if status == 2 else "is unsolved"
        raise ValueError(
            "X, y are not linearly separable through the origin (max-margin SVM needs "
            f"min_i y_i <w, x_i> > 0; got {mmin:.3g} after {it} iterations; the dual "
            f"{why})"
        )
    if status != 0:
        raise RuntimeError(
            f"max-margin coordinate descent did not converge: KKT violation {viol:.3g} > "
            f"tol = {tol:g} after {it} iterations; raise max_iter"
        )
    if not return_info:
        return w, 0.0
    info = {
        "alpha": alpha,
        "n_iter": int(it),
        "kkt_violation": float(viol),
        "min_margin": float(mmin),
        "kappa": float(mmin / np.linalg.norm(w)),
    }
    return w, 0.0, info
