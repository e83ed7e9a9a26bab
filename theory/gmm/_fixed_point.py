"""Replica fixed point of ERM on the two-class mixture: square, logistic, hinge (§2-§5).

gmm_asymptotics.md §2 [RELATED:2002.11544, 2106.03791]; bias equation with the factor ``y``
(§2.2) [MATH]; prior equations for an l2 penalty and isotropic noise (§2.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mpmath

from theory.core._validate import check_choice, check_real
from theory.gmm import _backend as bk
from theory.gmm import _channel as ch
from theory.gmm._conventions import _eps_from_order
from theory.gmm._roots import _brentq

__all__ = [
    "FixedPointError",
    "GMMFixedPoint",
    "learning_curve",
    "regularisation_path",
    "solve_bias",
    "solve_fixed_point",
]


class FixedPointError(ValueError):
    """A fixed point (or the intercept equation) could not be solved.

    Attributes
    ----------
    iterations : int
        Iterations performed.
    residual : float
        Last fixed-point residual (``nan`` if none was computed).
    last_iterate : dict
        Last values of ``m, q, V, b`` (and ``damping`` where relevant).
    """

    def __init__(self, message: str, *, iterations: int, residual: float, last_iterate: dict):
        super().__init__(
            f"{message} (iterations={iterations}, residual={residual:.3g}, last={last_iterate})"
        )
        self.iterations = iterations
        self.residual = residual
        self.last_iterate = last_iterate


@dataclass(frozen=True)
class GMMFixedPoint:
    """Solution of the fixed-point equations at one parameter point.

    Attributes
    ----------
    loss, alpha, delta, lam, p, intercept, precision
        The problem that was solved.
    m, q, V, b : float or mpmath.mpf
        Overlap ``v.w/d``, ``Delta ||w||^2/d``, susceptibility, intercept (0 if not fitted).
    m_hat, q_hat, V_hat : float or mpmath.mpf
        Conjugate parameters at the solution.
    eps_g : float or mpmath.mpf
        Test error ``p Q((m+b)/sqrt q) + (1-p) Q((m-b)/sqrt q)`` (§1.1).
    iterations : int
        Damped iterations (fast) or Newton steps (high) performed.
    residual : float
        Final residual ``max |F(x) - x| / max(1, |x|)``.
    converged : bool
        Always True for a returned object (non-convergence raises :class:`FixedPointError`).
    damping : float
        Final damping factor (fast mode; 0 in high mode).
    """

    loss: str
    alpha: float
    delta: float
    lam: float
    p: float
    intercept: bool
    precision: str
    m: Any
    q: Any
    V: Any
    b: Any
    m_hat: Any
    q_hat: Any
    V_hat: Any
    eps_g: Any
    iterations: int
    residual: float
    converged: bool
    damping: float


# ---------------------------------------------------------------------------------------------
# bias root (fast: bracket + Brent; the function is non-decreasing in b)
# ---------------------------------------------------------------------------------------------


_B_MAX = 1e6


def _solve_bias_fast(g, b0: float, state: dict, step0: float | None = None) -> float:
    """Root of the non-decreasing ``g`` by bracket expansion from ``b0`` then Brent."""
    g0 = g(b0)
    if g0 == 0:
        return b0
    step = step0 if step0 is not None else 0.25 * max(1.0, abs(b0))
    direction = -1.0 if g0 > 0 else 1.0
    a, ga = b0, g0
    while True:
        c = a + direction * step
        gc = g(c)
        if gc == 0:
            return c
        if (gc > 0) != (g0 > 0):
            lo, hi, glo, ghi = (c, a, gc, ga) if direction < 0 else (a, c, ga, gc)
            return _brentq(g, lo, hi, glo, ghi)
        a, ga = c, gc
        step *= 2.0
        if abs(c) > _B_MAX:
            raise FixedPointError(
                "bias equation has no sign change on [-1e6, 1e6] (no root)",
                iterations=0,
                residual=float("nan"),
                last_iterate={**state, "b": c, "g(b)": gc},
            )


def _solve_bias_iv(loss, m, q, V, p, equation, method, precision, dps, n_nodes):
    method = ch._channel_iv(loss, method, precision, dps, n_nodes)
    check_choice("equation", equation, ("with_y", "without_y"))
    m, q, V, _, _, p = ch._state_iv(m, q, V, 0.0, 1.0, p)
    return method, m, q, V, p


def solve_bias(
    loss: str,
    *,
    m: float,
    q: float,
    V: float,
    p: float = 0.5,
    equation: str = "with_y",
    b0: float = 0.0,
    method: str = "auto",
    n_nodes: int = 200,
) -> float:
    """Solve the intercept equation at fixed ``(m, q, V)`` (float64, bracketing root finder).

    Parameters
    ----------
    loss : {"square", "logistic", "hinge"}
    m, q, V : float
        Order parameters.
    p : float, default 0.5
        ``P(y = +1)``.
    equation : {"with_y", "without_y"}, default "with_y"
        ``"with_y"``: the correct equation of §2.2; ``"without_y"``: the negative control of
        pitfall §8.1, which has no root for logistic and hinge (this function then raises).
    b0 : float, default 0
        Starting point of the bracket expansion.
    method, n_nodes
        As in :func:`theory.gmm.channel_hats` (fast precision only).

    Returns
    -------
    float
        The root ``b``.

    Raises
    ------
    FixedPointError
        If no sign change is found for ``|b| <= 1e6``.

    Notes
    -----
    gmm_asymptotics.md §2.2 [MATH]; the equation is non-decreasing in ``b``.
    """
    method, m, q, V, p = _solve_bias_iv(loss, m, q, V, p, equation, method, "fast", 30, n_nodes)
    b0 = float(bk.real("b0", b0))
    with_y = equation == "with_y"

    def g(b):
        return ch._bias_eq(loss, method, bk.FAST, m, q, V, b, p, n_nodes, with_y)

    return _solve_bias_fast(g, b0, {"m": m, "q": q, "V": V})


# ---------------------------------------------------------------------------------------------
# the fixed point
# ---------------------------------------------------------------------------------------------


def _prior(alpha, delta, lam, V_hat, q_hat, m_hat):
    den = lam + delta * V_hat
    return m_hat / den, delta * (m_hat * m_hat + delta * q_hat) / (den * den), delta / den


def _solve_fixed_point_iv(loss, alpha, delta, lam, p, intercept, precision, dps, method, n_nodes,
                          damping, tol, max_iter, init):
    method = ch._channel_iv(loss, method, precision, dps, n_nodes)
    alpha = float(bk.positive("alpha", alpha))
    delta = float(bk.positive("delta", delta))
    lam = float(bk.nonnegative("lam", lam))
    p = float(bk.open_unit("p", p))
    if lam == 0:
        if loss != "square":
            raise ValueError(
                f"lam must lie in (0, inf) for loss={loss!r} (lam = 0 has no finite minimiser "
                "when the data are separable); got 0"
            )
        if not alpha > 1:
            raise ValueError(
                f"lam = 0 with the square loss needs alpha in (1, inf), got alpha={alpha!r} "
                "(use min_norm_error for the lam -> 0+ limit)"
            )
    if not isinstance(intercept, bool):
        raise ValueError(f"intercept must be a bool, got {intercept!r}")
    damping = check_real("damping", damping, low=0.0, high=1.0, high_open=True)
    tol = float(bk.positive("tol", tol))
    bk.positive_int("max_iter", max_iter)
    if init is None:
        init = (1e-3, 1e-3, 100.0, 0.0)  # uninformed start, §2.4
    elif isinstance(init, GMMFixedPoint):
        init = (float(init.m), float(init.q), float(init.V), float(init.b))
    else:
        try:
            init = tuple(float(bk.real("init", v)) for v in init)
        except TypeError:
            raise ValueError(f"init must be None, a GMMFixedPoint or (m, q, V, b), got {init!r}") from None
        if len(init) != 4 or not (init[1] > 0 and init[2] > 0):
            raise ValueError(f"init must be (m, q>0, V>0, b), got {init!r}")
    return method, alpha, delta, lam, p, damping, tol, init


def solve_fixed_point(
    loss: str,
    *,
    alpha: float,
    delta: float,
    lam: float,
    p: float = 0.5,
    intercept: bool = False,
    precision: str = "fast",
    dps: int = 30,
    method: str = "auto",
    n_nodes: int = 200,
    damping: float = 0.5,
    tol: float = 1e-13,
    max_iter: int = 20000,
    init: Any = None,
) -> GMMFixedPoint:
    """Solve the fixed-point equations of ERM with an l2 penalty on the two-class mixture.

    Parameters
    ----------
    loss : {"square", "logistic", "hinge"}
        ``l(t)`` of the margin ``t = y (w.x/sqrt d + b)``.
    alpha : float
        ``n/d > 0``.
    delta : float
        Noise variance ``Delta > 0`` (Mignacco normalisation; ``Delta = 1/r^2``).
    lam : float
        Penalty of ``(lam/2)||w||^2``; ``lam > 0``, or ``lam = 0`` for the square loss at
        ``alpha > 1`` (least squares).
    p : float, default 0.5
        Class imbalance ``P(y = +1)`` in ``(0, 1)``.
    intercept : bool, default False
        Fit a bias ``b`` (solved inside every iteration from the equation with the factor ``y``).
    precision : {"fast", "high"}, default "fast"
        ``"fast"``: damped iteration in float64.  ``"high"``: start from the fast solution (or
        ``init``) and refine by Newton's method on ``F(x) - x`` (and the bias equation) with
        ``mpmath`` quadrature at ``dps`` digits.
    dps : int, default 30
        Digits for ``precision="high"`` (>= 30).
    method : {"auto", "closed", "gauss_hermite", "trapezoid", "quadrature"}, default "auto"
        Channel expectations (see :func:`theory.gmm.channel_hats`).
    n_nodes : int, default 200
        Gauss-Hermite nodes when ``method="gauss_hermite"``, in [100, 300].
    damping : float, default 0.5
        Initial damping ``delta`` of ``x <- (1 - delta) F(x) + delta x``; it is increased
        automatically (towards 1) whenever the residual grows.
    tol : float, default 1e-13
        Stop when ``max |F(x) - x|/max(1, |x|) <= tol`` (fast mode).
    max_iter : int, default 20000
    init : None, GMMFixedPoint or (m, q, V, b), optional
        Warm start; default is the uninformed start ``(1e-3, 1e-3, 100, 0)`` of §2.4.

    Returns
    -------
    GMMFixedPoint

    Raises
    ------
    FixedPointError
        If the iteration does not converge, produces non-finite values, or the bias equation
        has no root.  The exception carries iterations, last residual and last iterate.

    Notes
    -----
    gmm_asymptotics.md §2.1-§2.4 [RELATED:2002.11544, 2106.03791]; square-loss hats §3.1
    [MATH]; logistic §4 [RELATED:2002.11544]; hinge §5 [MATH moments]; bias §2.2 [MATH].

    Examples
    --------
    >>> fp = solve_fixed_point("square", alpha=2.0, delta=1.0, lam=1.0)
    >>> from theory.gmm import square_closed_form
    >>> abs(fp.eps_g - square_closed_form(2.0, 1.0, 1.0).eps_g) < 1e-12
    True
    """
    method, alpha, delta, lam, p, damping, tol, init = _solve_fixed_point_iv(
        loss, alpha, delta, lam, p, intercept, precision, dps, method, n_nodes, damping, tol,
        max_iter, init,
    )
    fast_method = method if precision == "fast" else ch._resolve_method(loss, "auto", "fast")
    fp = _solve_fast(loss, fast_method, alpha, delta, lam, p, intercept, n_nodes, damping, tol,
                     max_iter, init)
    if precision == "fast":
        return fp
    return _refine_high(loss, method, fp, dps, n_nodes)


def _solve_fast(loss, method, alpha, delta, lam, p, intercept, n_nodes, damping, tol, max_iter,
                init) -> GMMFixedPoint:
    ops = bk.FAST
    m, q, V, b = init
    if not intercept:
        b = 0.0
    prev_res = math.inf
    res = math.inf
    damping0, n_down = damping, 0
    db = None  # bracket step for the bias root, from the last change of b
    for it in range(1, max_iter + 1):
        state = {"m": m, "q": q, "V": V, "b": b, "damping": damping}
        if intercept:
            if loss == "square" and method == "closed":
                b = (2 * p - 1) * (1 - m)  # §3.1
            else:
                def g(bb, m=m, q=q, V=V):
                    return ch._bias_eq(loss, method, ops, m, q, V, bb, p, n_nodes, True)

                try:
                    b_old = b
                    b = _solve_bias_fast(g, b, state, step0=db)
                    db = max(1e-9, 4.0 * abs(b - b_old))
                except ArithmeticError as exc:
                    raise FixedPointError(f"channel evaluation failed: {exc}", iterations=it,
                                          residual=res, last_iterate=state) from None
                except FixedPointError as exc:
                    raise FixedPointError(
                        "bias equation has no root inside the iteration",
                        iterations=it, residual=res, last_iterate=exc.last_iterate,
                    ) from None
        try:
            mom_p, mom_n = ch._moments_both(loss, method, ops, m, q, V, b, n_nodes)
        except ArithmeticError as exc:
            raise FixedPointError(f"channel evaluation failed: {exc}", iterations=it,
                                  residual=res, last_iterate=state) from None
        V_hat, q_hat, m_hat = ch._hats_from_moments(mom_p, mom_n, alpha, p, V)
        mn, qn, Vn = _prior(alpha, delta, lam, V_hat, q_hat, m_hat)
        if not all(math.isfinite(v) for v in (mn, qn, Vn)) or qn <= 0 or Vn <= 0:
            raise FixedPointError("non-finite or non-positive iterate", iterations=it,
                                  residual=res, last_iterate={**state, "m_new": mn, "q_new": qn,
                                                              "V_new": Vn})
        res = max(abs(mn - m) / max(1.0, abs(m)), abs(qn - q) / max(1.0, q),
                  abs(Vn - V) / max(1.0, V))
        if res <= tol:
            eps = _eps_from_order(ops, mn, qn, b, p)
            return GMMFixedPoint(
                loss=loss, alpha=alpha, delta=delta, lam=lam, p=p, intercept=intercept,
                precision="fast", m=mn, q=qn, V=Vn, b=b, m_hat=m_hat, q_hat=q_hat,
                V_hat=V_hat, eps_g=eps, iterations=it, residual=res, converged=True,
                damping=damping,
            )
        # automatic damping: more when the residual grows, relax back towards the initial
        # value after a run of decreases (so an early transient does not freeze the iteration)
        if res > prev_res:
            damping = min(1.0 - 0.7 * (1.0 - damping), 0.995)
            n_down = 0
        else:
            n_down += 1
            if n_down >= 5 and damping > damping0:
                damping = max(damping0, 1.0 - (1.0 - damping) / 0.8)
                n_down = 0
        prev_res = res
        m = (1 - damping) * mn + damping * m
        q = (1 - damping) * qn + damping * q
        V = (1 - damping) * Vn + damping * V
    raise FixedPointError("damped iteration did not converge", iterations=max_iter,
                          residual=res, last_iterate={"m": m, "q": q, "V": V, "b": b,
                                                      "damping": damping})


def _residual_map(loss, method, ops, n_nodes, alpha, delta, lam, p, intercept, z):
    """G(z) = (F(m, q, V, b) - (m, q, V) [, bias equation]) and the hats, in backend ``ops``."""
    m, q, V = z[0], z[1], z[2]
    b = z[3] if intercept else 0 * m
    mom_p, mom_n = ch._moments_both(loss, method, ops, m, q, V, b, n_nodes)
    hats = ch._hats_from_moments(mom_p, mom_n, alpha, p, V)
    mn, qn, Vn = _prior(alpha, delta, lam, *hats)
    out = [mn - m, qn - q, Vn - V]
    if intercept:
        out.append(p * mom_p[1] - (1 - p) * mom_n[1])
    return out, hats


def _refine_high(loss, method, fp: GMMFixedPoint, dps: int, n_nodes: int) -> GMMFixedPoint:
    """Newton-type refinement of the float64 solution at ``dps`` digits.

    The residual G is evaluated in mpmath; the Jacobian is a float64 central difference of the
    fast residual (accurate to ~1e-9), so each step contracts the error by ~1e-9 and costs one
    high-precision evaluation.
    """
    alpha, delta, lam, p, intercept = fp.alpha, fp.delta, fp.lam, fp.p, fp.intercept
    fast_method = ch._resolve_method(loss, "auto", "fast")
    z0 = [fp.m, fp.q, fp.V] + ([fp.b] if intercept else [])
    k = len(z0)

    def g_fast(z):
        return _residual_map(loss, fast_method, bk.FAST, n_nodes, alpha, delta, lam, p,
                             intercept, z)[0]

    J = mpmath.matrix(k, k)
    for j in range(k):
        h = 1e-6 * max(1.0, abs(z0[j]))
        zp, zm = list(z0), list(z0)
        zp[j] += h
        zm[j] -= h
        gp, gm = g_fast(zp), g_fast(zm)
        for i in range(k):
            J[i, j] = (gp[i] - gm[i]) / (2 * h)
    with mpmath.workdps(dps):
        ops = bk.HIGH
        a_, d_, l_, p_ = (mpmath.mpf(v) for v in (alpha, delta, lam, p))
        z = [mpmath.mpf(v) for v in z0]
        target = mpmath.mpf(10) ** (-(dps - 6))
        res = mpmath.inf
        prev = mpmath.inf
        for it in range(1, 21):
            Gz, hats = _residual_map(loss, method, ops, n_nodes, a_, d_, l_, p_, intercept, z)
            res = max(abs(v) / max(1, abs(zz)) for v, zz in zip(Gz, z, strict=True))
            if res <= target:
                m, q, V = z[0], z[1], z[2]
                b = z[3] if intercept else mpmath.mpf(0)
                return GMMFixedPoint(
                    loss=loss, alpha=alpha, delta=delta, lam=lam, p=p, intercept=intercept,
                    precision="high", m=m, q=q, V=V, b=b, m_hat=hats[2], q_hat=hats[1],
                    V_hat=hats[0], eps_g=_eps_from_order(ops, m, q, b, p_), iterations=it,
                    residual=float(res), converged=True, damping=0.0,
                )
            if it > 3 and res > prev * mpmath.mpf("0.1"):
                break  # not contracting: the float64 start or Jacobian is not good enough
            prev = res
            dz = mpmath.lu_solve(J, mpmath.matrix(Gz))
            z = [z[i] - dz[i] for i in range(k)]
            if z[1] <= 0 or z[2] <= 0:
                break
        raise FixedPointError(
            "high-precision refinement did not converge", iterations=it,
            residual=float(res), last_iterate={"m": float(z[0]), "q": float(z[1]),
                                               "V": float(z[2])},
        )


# ---------------------------------------------------------------------------------------------
# continuation
# ---------------------------------------------------------------------------------------------


def _path_iv(name: str, values: Sequence[float]) -> list[float]:
    try:
        vals = [float(v) for v in values]
    except TypeError:
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if len(vals) == 0:
        raise ValueError(f"{name} must be non-empty")
    return vals


def learning_curve(
    loss: str, alphas: Sequence[float], *, delta: float, lam: float, init: Any = None, **kwargs: Any
) -> tuple[GMMFixedPoint, ...]:
    """Solve along a list of ``alpha`` in the given order, each point warm-started from the last.

    Parameters
    ----------
    loss : {"square", "logistic", "hinge"}
    alphas : sequence of float
        Sample ratios, solved in this order (order them so that neighbours are close).
    delta, lam : float
        As in :func:`solve_fixed_point`.
    init : optional
        Warm start of the first point.
    **kwargs
        Passed to :func:`solve_fixed_point` (``p``, ``intercept``, ``precision``, ...).

    Returns
    -------
    tuple of GMMFixedPoint

    Notes
    -----
    gmm_asymptotics.md §2.4 and §8.6 (continuation through stiff regions); the equations are
    those of :func:`solve_fixed_point` [RELATED:2002.11544, 2106.03791].
    """
    out: list[GMMFixedPoint] = []
    for a in _path_iv("alphas", alphas):
        fp = solve_fixed_point(loss, alpha=a, delta=delta, lam=lam, init=init, **kwargs)
        out.append(fp)
        init = fp
    return tuple(out)


def regularisation_path(
    loss: str, lams: Sequence[float], *, alpha: float, delta: float, init: Any = None,
    **kwargs: Any,
) -> tuple[GMMFixedPoint, ...]:
    """Solve along a list of ``lam`` in the given order (e.g. decreasing), with warm starts.

    Parameters
    ----------
    loss : {"square", "logistic", "hinge"}
    lams : sequence of float
        Penalties, solved in this order.
    alpha, delta : float
        As in :func:`solve_fixed_point`.
    init : optional
        Warm start of the first point.
    **kwargs
        Passed to :func:`solve_fixed_point`.

    Returns
    -------
    tuple of GMMFixedPoint

    Notes
    -----
    gmm_asymptotics.md §2.4, §4 (logistic at small ``lam``: continue in ``lam``); the equations
    are those of :func:`solve_fixed_point` [RELATED:2002.11544, 2106.03791].
    """
    out: list[GMMFixedPoint] = []
    for lam in _path_iv("lams", lams):
        fp = solve_fixed_point(loss, alpha=alpha, delta=delta, lam=lam, init=init, **kwargs)
        out.append(fp)
        init = fp
    return tuple(out)
