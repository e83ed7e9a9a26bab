"""Channel (hat) side of the fixed point: proximal maps, per-class moments, hats, bias.

gmm_asymptotics.md §2, §3.1, §4, §5.

For label ``y`` the margin is ``omega_y = m + y b + sqrt(q) xi``, ``xi ~ N(0, 1)``, and
``P_y = prox_{V l}(omega_y)``.  Everything on the channel side is a function of three
per-class expectations

    K_y = E[1 - dP_y/domega],   L1_y = E[l'(P_y)],   L2_y = E[l'(P_y)^2],

computed by one of three routes:

* ``"closed"``: closed forms (square loss §3.1; hinge truncated moments §5);
* ``"gauss_hermite"``: float64 Gauss-Hermite (probabilists') quadrature, 100-300 nodes (§2.4);
  biased for the hinge loss, whose integrand has kinks (pitfall §8.5), and for the logistic
  loss it loses accuracy when ``q`` is large (about 1e-12 at q = 20, 1e-4 at q = 100, with
  200 nodes);
* ``"trapezoid"`` (logistic, float64, the default there): trapezoid rule in ``tau = xi + P``
  (``P`` the proximal point), accurate for every ``q`` and ``V``;
* ``"quadrature"``: ``mpmath.quad`` at ``dps`` digits, split at the kinks for the hinge loss.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from theory.core._validate import check_choice, check_int
from theory.gmm import _backend as bk

__all__ = [
    "HingeMoments",
    "LOSSES",
    "bias_equation",
    "bias_equation_without_y",
    "channel_hats",
    "hinge_truncated_moments",
    "hinge_truncated_moments_quadrature",
]

LOSSES = ("hinge", "logistic", "square")
_METHODS = ("auto", "closed", "gauss_hermite", "quadrature", "trapezoid")


# ---------------------------------------------------------------------------------------------
# §5 hinge truncated moments
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HingeMoments:
    """Truncated moments of ``u ~ N(a, q)`` on the kink interval ``(0, V)`` (§5).

    Attributes
    ----------
    p_kink : P(0 < u < V)
    e_u : E[u 1{0 < u < V}]
    e_u2 : E[u^2 1{0 < u < V}]
    e_clip : E[clip(u, 0, V)]
    e_clip2 : E[clip(u, 0, V)^2]
    """

    p_kink: Any
    e_u: Any
    e_u2: Any
    e_clip: Any
    e_clip2: Any


def _hinge_moments(ops: Any, a: Any, q: Any, V: Any) -> HingeMoments:
    s = ops.sqrt(q)
    al = -a / s
    be = (V - a) / s
    # P(al < Z < be) without cancellation in either tail
    if al > 0:
        pk = ops.Q(al) - ops.Q(be)
    else:
        pk = ops.Phi(be) - ops.Phi(al)
    pa, pb = ops.phi(al), ops.phi(be)
    e_u = a * pk + s * (pa - pb)
    e_u2 = (q + a * a) * pk + s * (a * pa - (V + a) * pb)
    tail = ops.Q(be)
    return HingeMoments(
        p_kink=pk, e_u=e_u, e_u2=e_u2, e_clip=e_u + V * tail, e_clip2=e_u2 + V * V * tail
    )


def _hinge_truncated_moments_iv(a, q, V, precision, dps):
    bk._precision_iv(precision, dps)
    return bk.real("a", a), bk.positive("q", q), bk.positive("V", V)


def hinge_truncated_moments(
    a: float, q: float, V: float, *, precision: str = "fast", dps: int = 30
) -> HingeMoments:
    """Closed-form truncated moments of ``u ~ N(a, q)`` for the hinge proximal step (§5).

    Parameters
    ----------
    a : float
        Mean of ``u`` (for label ``y``: ``a_y = 1 - m - y b``).
    q : float
        Variance of ``u``, ``q > 0``.
    V : float
        Upper kink (the susceptibility), ``V > 0``.
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30

    Returns
    -------
    HingeMoments

    Notes
    -----
    gmm_asymptotics.md §5 [MATH]: with ``alpha0 = -a/s``, ``beta0 = (V - a)/s``, ``s = sqrt q``,
    ``E[Z 1{alpha0<Z<beta0}] = phi(alpha0) - phi(beta0)`` and
    ``E[Z^2 1{...}] = Phi(beta0) - Phi(alpha0) + alpha0 phi(alpha0) - beta0 phi(beta0)``,
    then ``u = a + s Z``.  Checked against :func:`hinge_truncated_moments_quadrature`.

    Examples
    --------
    >>> mo = hinge_truncated_moments(0.0, 1.0, 1e6)
    >>> round(mo.p_kink, 12), round(mo.e_clip, 12)
    (0.5, 0.398942280401)
    """
    a, q, V = _hinge_truncated_moments_iv(a, q, V, precision, dps)
    with bk.backend(precision, dps) as ops:
        return _hinge_moments(ops, ops.num(a), ops.num(q), ops.num(V))


def hinge_truncated_moments_quadrature(
    a: float, q: float, V: float, *, dps: int = 30
) -> HingeMoments:
    """Reference for :func:`hinge_truncated_moments`: adaptive ``mpmath.quad`` split at the kinks.

    Parameters
    ----------
    a, q, V : float
        As in :func:`hinge_truncated_moments`.
    dps : int, default 30

    Returns
    -------
    HingeMoments
        Each moment integrated against the N(a, q) density over ``(-inf, 0, V, inf)``.

    Notes
    -----
    gmm_asymptotics.md §5 and §9 check G5 [MATH].  Splitting at ``u = 0`` and ``u = V``
    makes each piece smooth, so tanh-sinh converges to working precision.
    """
    bk._precision_iv("high", dps)
    a, q, V = _hinge_truncated_moments_iv(a, q, V, "high", dps)
    with mpmath.workdps(dps):
        a, q, V = mpmath.mpf(a), mpmath.mpf(q), mpmath.mpf(V)
        s = mpmath.sqrt(q)

        def dens(u):
            return mpmath.npdf(u, a, s)

        def quad(f, pts):
            return mpmath.quad(lambda u: f(u) * dens(u), pts)

        pk = quad(lambda u: 1, [0, V])
        e_u = quad(lambda u: u, [0, V])
        e_u2 = quad(lambda u: u * u, [0, V])
        tail = quad(lambda u: 1, [V, mpmath.inf])
        return HingeMoments(
            p_kink=pk, e_u=e_u, e_u2=e_u2, e_clip=e_u + V * tail, e_clip2=e_u2 + V * V * tail
        )


# ---------------------------------------------------------------------------------------------
# proximal maps: return (l'(P), 1 - dP/domega)
# ---------------------------------------------------------------------------------------------


def _sig_neg_np(t: np.ndarray) -> np.ndarray:
    """sigma(-t) = 1/(1 + e^t), overflow-free."""
    e = np.exp(-np.abs(t))
    return np.where(t >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def _prox_logistic_np(omega: np.ndarray, V: float) -> np.ndarray:
    """Root of h(P) = (P - omega)/V - sigma(-P) on [omega, omega + V]: safeguarded Newton.

    ``h`` is increasing, so the bracket is maintained; a Newton step is replaced by bisection
    when it leaves the bracket or when ``|h|`` failed to halve since the previous step (this
    breaks the two-cycles Newton can fall into around the inflection point ``P = 0``).
    """
    lo = omega.copy()
    hi = omega + V
    P = omega + 0.5 * np.minimum(V, 1.0)
    h_old = np.full_like(omega, np.inf)
    for _ in range(300):
        sn = _sig_neg_np(P)
        h = (P - omega) / V - sn
        hp = 1.0 / V + sn * (1.0 - sn)
        neg = h < 0
        lo = np.where(neg, P, lo)
        hi = np.where(neg, hi, P)
        dx = h / hp
        Pn = P - dx
        scale = np.maximum(1.0, np.abs(P))
        # converged: a Newton step at rounding level, or a bracket collapsed to a few ulps
        small = (np.abs(dx) <= 4e-15 * scale) | (hi - lo <= 2e-15 * scale)
        if np.all(small):
            return Pn
        bad = ~((Pn >= lo) & (Pn <= hi)) | (np.abs(h) > 0.5 * h_old)
        bad &= ~small
        P = np.where(bad, 0.5 * (lo + hi), Pn)
        h_old = np.abs(h)
    raise ArithmeticError("logistic proximal Newton did not converge in 300 steps")


def _channel_np(loss: str, omega: np.ndarray, V: float) -> tuple[np.ndarray, np.ndarray]:
    if loss == "square":
        lp = (omega - 1.0) / (1.0 + V)
        return lp, np.full_like(omega, V / (1.0 + V))
    if loss == "logistic":
        P = _prox_logistic_np(omega, V)
        sn = _sig_neg_np(P)
        d2 = sn * (1.0 - sn)
        return -sn, V * d2 / (1.0 + V * d2)
    # hinge: u = 1 - omega, P - omega = clip(u, 0, V)
    u = 1.0 - omega
    c = np.clip(u, 0.0, V)
    return -c / V, ((u > 0) & (u < V)).astype(np.float64)


def _prox_logistic_mp(omega: Any, V: Any) -> Any:
    lo, hi, P = omega, omega + V, omega
    tol = mpmath.eps * 16
    for _ in range(400):
        sn = 1 / (1 + mpmath.exp(P))
        h = (P - omega) / V - sn
        hp = 1 / V + sn * (1 - sn)
        if h < 0:
            lo = P
        else:
            hi = P
        Pn = P - h / hp
        if not lo < Pn < hi:
            Pn = (lo + hi) / 2
        step = abs(Pn - P)
        P = Pn
        if step <= tol * max(1, abs(P)):
            return P
    raise ArithmeticError("logistic proximal Newton (mpmath) did not converge")


def _channel_mp(loss: str, omega: Any, V: Any) -> tuple[Any, Any]:
    if loss == "square":
        return (omega - 1) / (1 + V), V / (1 + V)
    if loss == "logistic":
        P = _prox_logistic_mp(omega, V)
        sn = 1 / (1 + mpmath.exp(P))
        d2 = sn * (1 - sn)
        return -sn, V * d2 / (1 + V * d2)
    u = 1 - omega
    c = min(max(u, 0), V)
    return -c / V, (1 if 0 < u < V else 0)


@functools.lru_cache(maxsize=8)
def _gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / math.sqrt(2.0 * math.pi)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


# ---------------------------------------------------------------------------------------------
# per-class moments (K_y, L1_y, L2_y)
# ---------------------------------------------------------------------------------------------


def _class_moments(
    loss: str, method: str, ops: Any, m: Any, q: Any, V: Any, b: Any, y: int, n_nodes: int
) -> tuple[Any, Any, Any]:
    """(K_y, L1_y, L2_y) for label ``y``; ``ops`` is the active backend."""
    if method == "closed":
        if loss == "square":
            mu = m + y * b - 1
            return V / (1 + V), mu / (1 + V), (mu * mu + q) / (1 + V) ** 2
        mo = _hinge_moments(ops, 1 - m - y * b, q, V)
        return mo.p_kink, -mo.e_clip / V, mo.e_clip2 / (V * V)
    if method == "trapezoid":
        return _logistic_moments_trapezoid(m + y * b, math.sqrt(q), V)
    if method == "gauss_hermite":
        x, w = _gh_rule(n_nodes)
        lp, k = _channel_np(loss, m + y * b + math.sqrt(q) * x, V)
        return float(w @ k), float(w @ lp), float(w @ (lp * lp))
    # "quadrature": mpmath.quad at working precision
    s = mpmath.sqrt(q)
    center = m + y * b
    if loss == "logistic":
        return _logistic_moments_mp(center, s, V)
    cache: dict = {}

    def ch(xi):
        if xi not in cache:
            cache[xi] = _channel_mp(loss, center + s * xi, V)
        return cache[xi]

    pts = [-mpmath.inf, mpmath.inf]
    if loss == "hinge":  # split at the kinks u = V and u = 0 (u = 1 - omega)
        pts = [-mpmath.inf, (1 - center - V) / s, (1 - center) / s, mpmath.inf]
    k = mpmath.quad(lambda xi: ch(xi)[1] * mpmath.npdf(xi), pts)
    l1 = mpmath.quad(lambda xi: ch(xi)[0] * mpmath.npdf(xi), pts)
    l2 = mpmath.quad(lambda xi: ch(xi)[0] ** 2 * mpmath.npdf(xi), pts)
    return k, l1, l2


def _logistic_moments_trapezoid(center: float, s: float, V: float) -> tuple[float, float, float]:
    """(K, L1, L2) for the logistic loss in float64 by the trapezoid rule in ``tau = xi + P``.

    With ``P`` the proximal point and ``xi = (P + V l'(P) - center)/s``, the variable
    ``tau = xi + P`` is a smooth increasing function of ``P`` with
    ``dtau/dP = 1 + (1 + V l''(P))/s >= 1`` and ``dtau/dxi >= 1``, so a step of 0.1 in ``tau``
    resolves both the Gaussian (unit width in ``xi``) and the unit scale of ``l'`` in ``P``.
    Inverting ``tau(P)`` is again a logistic prox: ``P = prox_{V/(1+s)}((s tau + center)/(1+s))``,
    and ``xi = tau - P`` carries no cancellation.  Then
    ``E[f] = int f(P) phi(tau - P) (1 + V l'')/(1 + V l'' + s) dtau``; the integrand is
    analytic and decays like a Gaussian, so the trapezoid rule converges geometrically.
    Unlike Gauss-Hermite in ``xi`` it stays accurate for large ``q`` (sharp ``l'`` relative to
    the Gaussian), and unlike a uniform grid in ``P`` it stays cheap for large ``V``.
    """
    ends = _prox_logistic_np(np.array([center - 10.0 * s, center + 10.0 * s]), V)
    tau_a, tau_b = ends[0] - 10.0, ends[1] + 10.0
    n = int(math.ceil((tau_b - tau_a) / 0.1)) + 1
    n = min(max(n, 64), 400_000)
    tau = np.linspace(tau_a, tau_b, n)
    h = tau[1] - tau[0]
    P = _prox_logistic_np((s * tau + center) / (1.0 + s), V / (1.0 + s))
    sn = _sig_neg_np(P)
    d2 = sn * (1.0 - sn)
    xi = tau - P
    w = np.full(n, h)
    w[0] = w[-1] = 0.5 * h
    base = np.exp(-0.5 * xi * xi) / math.sqrt(2.0 * math.pi) * w / (1.0 + V * d2 + s)
    jac = (1.0 + V * d2) * base
    return float((V * d2) @ base), float(-(sn @ jac)), float((sn * sn) @ jac)


def _logistic_moments_mp(center: Any, s: Any, V: Any) -> tuple[Any, Any, Any]:
    """(K, L1, L2) for the logistic loss by integrating over the proximal point ``P``.

    ``omega = P + V l'(P)`` is a smooth increasing bijection of the real line, so with
    ``xi(P) = (P + V l'(P) - center)/s`` and ``dxi = (1 + V l''(P)) dP / s`` every expectation
    becomes an explicit integral in ``P`` (no nested proximal solve):
    ``E[f] = int f(P) phi(xi(P)) (1 + V l''(P)) / s dP`` and, for ``K``, the factor
    ``V l''/(1 + V l'')`` cancels the Jacobian.  This is an independent route from the
    float64 Gauss-Hermite + Newton-prox route.
    """
    p0 = mpmath.mpf(float(_prox_logistic_np(np.array([float(center)]), float(V))[0]))

    def parts(P):
        sn = 1 / (1 + mpmath.exp(P))
        d2 = sn * (1 - sn)
        dens = mpmath.npdf((P - V * sn - center) / s) / s
        return sn, d2, dens

    pts = [-mpmath.inf, p0, mpmath.inf]
    k = mpmath.quad(lambda P: (lambda sn, d2, g: V * d2 * g)(*parts(P)), pts)
    l1 = mpmath.quad(lambda P: (lambda sn, d2, g: -sn * (1 + V * d2) * g)(*parts(P)), pts)
    l2 = mpmath.quad(lambda P: (lambda sn, d2, g: sn * sn * (1 + V * d2) * g)(*parts(P)), pts)
    return k, l1, l2


def _resolve_method(loss: str, method: str, precision: str) -> str:
    if method == "auto":
        if loss in ("square", "hinge"):
            return "closed"
        return "trapezoid" if precision == "fast" else "quadrature"
    if method == "closed" and loss == "logistic":
        raise ValueError("method='closed' is not available for loss='logistic'")
    if method == "gauss_hermite" and precision == "high":
        raise ValueError("method='gauss_hermite' is float64 only; use precision='fast'")
    if method == "trapezoid" and loss != "logistic":
        raise ValueError(
            f"method='trapezoid' is implemented for loss='logistic' only, got {loss!r}"
        )
    if method == "trapezoid" and precision == "high":
        raise ValueError("method='trapezoid' is float64 only; use precision='fast'")
    if method == "quadrature" and precision == "fast":
        raise ValueError("method='quadrature' uses mpmath; use precision='high'")
    return method


def _channel_iv(loss, method, precision, dps, n_nodes):
    check_choice("loss", loss, LOSSES)
    check_choice("method", method, _METHODS)
    bk._precision_iv(precision, dps)
    # at most 300: numpy's hermegauss overflows (NaN weights) beyond ~350 nodes
    check_int("n_nodes", n_nodes, low=100, high=300)
    return _resolve_method(loss, method, precision)


def _moments_both(loss, method, ops, m, q, V, b, n_nodes):
    return (
        _class_moments(loss, method, ops, m, q, V, b, +1, n_nodes),
        _class_moments(loss, method, ops, m, q, V, b, -1, n_nodes),
    )


def _hats_from_moments(mom_p, mom_n, alpha, p, V):
    (kp, l1p, l2p), (kn, l1n, l2n) = mom_p, mom_n
    pn = 1 - p
    V_hat = alpha / V * (p * kp + pn * kn)
    q_hat = alpha * (p * l2p + pn * l2n)
    m_hat = -alpha * (p * l1p + pn * l1n)
    return V_hat, q_hat, m_hat


def _state_iv(m, q, V, b, alpha, p):
    return (
        bk.real("m", m),
        bk.positive("q", q),
        bk.positive("V", V),
        bk.real("b", b),
        bk.positive("alpha", alpha),
        bk.open_unit("p", p),
    )


def channel_hats(
    loss: str,
    m: float,
    q: float,
    V: float,
    b: float = 0.0,
    *,
    alpha: float,
    p: float = 0.5,
    method: str = "auto",
    precision: str = "fast",
    dps: int = 30,
    n_nodes: int = 200,
) -> tuple[Any, Any, Any]:
    """Hat (conjugate) parameters ``(V_hat, q_hat, m_hat)`` of the channel equations.

    Parameters
    ----------
    loss : {"square", "logistic", "hinge"}
    m, q, V, b : float
        Overlap, ``Delta ||w||^2/d`` (> 0), susceptibility (> 0), intercept.
    alpha : float
        ``n/d > 0``.
    p : float, default 0.5
        ``P(y = +1)`` in ``(0, 1)``.
    method : {"auto", "closed", "gauss_hermite", "trapezoid", "quadrature"}, default "auto"
        ``auto``: closed forms for square and hinge; for logistic the trapezoid rule in
        ``tau = xi + P`` (fast) or mpmath quadrature over the proximal point ``P`` (high).
    precision : {"fast", "high"}, default "fast"
    dps : int, default 30
    n_nodes : int, default 200
        Gauss-Hermite nodes, in [100, 300].

    Returns
    -------
    tuple
        ``(V_hat, q_hat, m_hat)``.

    Notes
    -----
    gmm_asymptotics.md §2.1 [RELATED:2002.11544, 2106.03791] with the square-loss forms of §3.1
    [MATH] and the hinge moments of §5 [MATH]:
    ``V_hat = (alpha/V) sum_y p_y E[1 - dP_y/domega]``, ``q_hat = alpha sum_y p_y E[l'(P_y)^2]``,
    ``m_hat = -alpha sum_y p_y E[l'(P_y)]``.
    """
    method = _channel_iv(loss, method, precision, dps, n_nodes)
    m, q, V, b, alpha, p = _state_iv(m, q, V, b, alpha, p)
    with bk.backend(precision, dps) as ops:
        m, q, V, b, alpha, p = (ops.num(v) for v in (m, q, V, b, alpha, p))
        mom_p, mom_n = _moments_both(loss, method, ops, m, q, V, b, n_nodes)
        return _hats_from_moments(mom_p, mom_n, alpha, p, V)


def _bias_eq(loss, method, ops, m, q, V, b, p, n_nodes, with_y):
    _, l1p, _ = _class_moments(loss, method, ops, m, q, V, b, +1, n_nodes)
    _, l1n, _ = _class_moments(loss, method, ops, m, q, V, b, -1, n_nodes)
    if with_y:
        return p * l1p - (1 - p) * l1n
    return p * l1p + (1 - p) * l1n


def bias_equation(
    loss: str,
    b: float,
    *,
    m: float,
    q: float,
    V: float,
    p: float = 0.5,
    method: str = "auto",
    precision: str = "fast",
    dps: int = 30,
    n_nodes: int = 200,
) -> Any:
    """Left side of the intercept equation ``sum_y p_y y E[l'(P_y)]`` (zero at the fitted ``b``).

    Parameters
    ----------
    loss : {"square", "logistic", "hinge"}
    b : float
        Intercept at which the equation is evaluated.
    m, q, V : float
        Order parameters.
    p : float, default 0.5
    method, precision, dps, n_nodes
        As in :func:`channel_hats`.

    Returns
    -------
    float or mpmath.mpf
        Non-decreasing in ``b`` (``l'`` is non-decreasing and ``P`` increasing in ``omega``).

    Notes
    -----
    gmm_asymptotics.md §2.2 [MATH]: stationarity in ``b`` of
    ``sum_nu l(y_nu (w.x_nu/sqrt d + b))`` is ``sum_nu y_nu l'(margin_nu) = 0``: the factor
    ``y`` is essential (pitfall §8.1).
    """
    method = _channel_iv(loss, method, precision, dps, n_nodes)
    m, q, V, b, _, p = _state_iv(m, q, V, b, 1.0, p)
    with bk.backend(precision, dps) as ops:
        m, q, V, b, p = (ops.num(v) for v in (m, q, V, b, p))
        return _bias_eq(loss, method, ops, m, q, V, b, p, n_nodes, True)


def bias_equation_without_y(
    loss: str,
    b: float,
    *,
    m: float,
    q: float,
    V: float,
    p: float = 0.5,
    method: str = "auto",
    precision: str = "fast",
    dps: int = 30,
    n_nodes: int = 200,
) -> Any:
    """NEGATIVE CONTROL: the y-less bias equation ``sum_y p_y E[l'(P_y)]`` (a known bug).

    Parameters
    ----------
    As in :func:`bias_equation`.

    Returns
    -------
    float or mpmath.mpf
        For logistic and hinge ``l' <= 0``, so this is ``< 0`` for every ``b`` and has no
        root; a root finder applied to it returns a meaningless last iterate.

    Notes
    -----
    gmm_asymptotics.md §8 pitfall 1 [MATH]: this is the equation solved by the bias routines
    of the K2mix logistic and hinge modules.  Kept only so tests can show it has no root.
    """
    method = _channel_iv(loss, method, precision, dps, n_nodes)
    m, q, V, b, _, p = _state_iv(m, q, V, b, 1.0, p)
    with bk.backend(precision, dps) as ops:
        m, q, V, b, p = (ops.num(v) for v in (m, q, V, b, p))
        return _bias_eq(loss, method, ops, m, q, V, b, p, n_nodes, False)
