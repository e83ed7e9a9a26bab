"""Symbolic derivations (sympy): square-loss elimination and limits, MP derivative, E[(t-Z)_+^2].

gmm_asymptotics.md §3.2-§3.4 and §6 [MATH].  Each function *derives* its result from the
defining equations (``sympy.solve`` / ``sympy.limit`` / ``sympy.idiff`` / ``sympy.integrate``);
the tests compare the derivations with the closed forms the numeric modules implement.
"""

from __future__ import annotations

import functools
from typing import Any

import sympy as sp

__all__ = [
    "SQUARE_SYMBOLS",
    "channel_equations_symbolic",
    "hinge_moments_symbolic",
    "mp_stieltjes_derivative_symbolic",
    "positive_part_moment_symbolic",
    "square_closed_form_symbolic",
    "square_lambda_limits_symbolic",
    "square_v_polynomial",
]

_lam, _Delta, _alpha = sp.symbols("lambda Delta alpha", positive=True)
_V = sp.Symbol("V", positive=True)
_m, _q = sp.symbols("m q", real=True)
#: The symbols used by the square-loss derivations: lambda, Delta, alpha (positive) and V.
SQUARE_SYMBOLS = {"lam": _lam, "delta": _Delta, "alpha": _alpha, "V": _V}


def _hats(m: Any, q: Any, V: Any) -> tuple[Any, Any, Any]:
    """Square-loss hats of §3.1 at p = 1/2, b = 0."""
    return _alpha / (1 + V), _alpha * (1 - m) / (1 + V), _alpha * ((1 - m) ** 2 + q) / (1 + V) ** 2


@functools.lru_cache(maxsize=1)
def square_v_polynomial() -> sp.Poly:
    """Derive the polynomial equation for ``V`` from the prior and hat equations.

    Returns
    -------
    sympy.Poly
        Numerator (in ``V``) of ``V (lambda + Delta V_hat) - Delta`` with
        ``V_hat = alpha/(1 + V)``; expected: ``lambda V^2 + (lambda + Delta(alpha - 1)) V - Delta``.

    Notes
    -----
    gmm_asymptotics.md §2.3 + §3.1 -> §3.2 [MATH].
    """
    Vh, _, _ = _hats(_m, _q, _V)
    num, _den = sp.fraction(sp.together(_V * (_lam + _Delta * Vh) - _Delta))
    return sp.Poly(sp.expand(num), _V)


@functools.lru_cache(maxsize=1)
def square_closed_form_symbolic() -> dict[str, sp.Expr]:
    """Solve the square-loss fixed point (``p = 1/2``, no bias) symbolically.

    Returns
    -------
    dict
        ``"V"``: the positive root of :func:`square_v_polynomial`; ``"m"``, ``"q"``: solutions of
        the prior equations ``m = m_hat/(lambda + Delta V_hat)``,
        ``q = Delta (m_hat^2 + Delta q_hat)/(lambda + Delta V_hat)^2`` (as functions of ``V``);
        ``"snr2"``: ``m^2/q`` as a function of ``V`` (so ``eps_g = Q(sqrt(snr2))``).

    Notes
    -----
    gmm_asymptotics.md §3.2 [MATH].
    """
    roots = sp.solve(square_v_polynomial().as_expr(), _V)
    # the positive root: the one with + sqrt (check the sign at a sample point)
    probe = {_lam: 1, _Delta: 1, _alpha: 2}
    V_pos = next(r for r in roots if r.subs(probe).evalf() > 0)
    Vh, mh, _ = _hats(_m, _q, _V)
    m_sol = sp.solve(sp.Eq(_m, mh / (_lam + _Delta * Vh)), _m)[0]
    Vh, mh, qh = _hats(m_sol, _q, _V)
    q_sol = sp.solve(sp.Eq(_q, _Delta * (mh**2 + _Delta * qh) / (_lam + _Delta * Vh) ** 2), _q)[0]
    return {
        "V": V_pos,
        "m": sp.factor(m_sol),
        "q": sp.factor(q_sol),
        "snr2": sp.factor(sp.cancel(m_sol**2 / q_sol)),
    }


@functools.lru_cache(maxsize=1)
def square_lambda_limits_symbolic() -> dict[str, sp.Expr]:
    """Limits of ``m^2/q`` (so of ``eps_g = Q(sqrt(m^2/q))``) derived with ``sympy.limit``.

    Returns
    -------
    dict
        ``"least_squares"`` (``lambda -> 0+``, ``alpha > 1``), ``"min_norm"``
        (``lambda -> 0+``, ``alpha < 1``), ``"interpolation_peak"`` (``alpha = 1``,
        ``lambda -> 0+``; it is 0, so ``eps_g -> 1/2``) and ``"mean_difference"``
        (``lambda -> inf``); expressions in ``alpha`` and ``Delta``.

    Notes
    -----
    gmm_asymptotics.md §3.3 [MATH].  ``alpha > 1`` is imposed as ``alpha = 1 + a`` and
    ``alpha < 1`` as ``alpha = 1/(1 + a)`` with ``a > 0``, then ``a`` is substituted back.
    """
    cf = square_closed_form_symbolic()
    R = cf["snr2"].subs(_V, cf["V"])
    a = sp.Symbol("a", positive=True)
    ls = sp.limit(R.subs(_alpha, 1 + a), _lam, 0, "+")
    mn = sp.limit(R.subs(_alpha, 1 / (1 + a)), _lam, 0, "+")
    mn = mn.subs(sp.sqrt(a**2 + 2 * a + 1), a + 1)  # sqrt((1 + a)^2) = 1 + a for a > 0
    return {
        "least_squares": sp.factor(sp.cancel(ls.subs(a, _alpha - 1))),
        "min_norm": sp.factor(sp.cancel(mn.subs(a, 1 / _alpha - 1))),
        "interpolation_peak": sp.limit(R.subs(_alpha, 1), _lam, 0, "+"),
        "mean_difference": sp.factor(sp.cancel(sp.limit(R, _lam, sp.oo))),
    }


@functools.lru_cache(maxsize=1)
def mp_stieltjes_derivative_symbolic() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol, sp.Expr]:
    """``m' = -dm/dlambda`` of the Marchenko-Pastur equation by implicit differentiation.

    Returns
    -------
    tuple
        ``(psi, lam, m, expr)`` with ``expr`` the derivative ``-dm/dlam`` in terms of ``m``,
        from ``psi lam m^2 + (1 - psi + lam) m - 1 = 0``.

    Notes
    -----
    gmm_asymptotics.md §3.4 [MATH]; to be compared with ``(psi m^2 + m)/(1 - psi + lam +
    2 psi lam m)``.
    """
    psi, lam = sp.symbols("psi lambda_r", positive=True)
    m = sp.Symbol("m", positive=True)
    eq = psi * lam * m**2 + (1 - psi + lam) * m - 1
    return psi, lam, m, sp.simplify(-sp.idiff(eq, m, lam))


@functools.lru_cache(maxsize=1)
def positive_part_moment_symbolic() -> tuple[sp.Symbol, sp.Expr]:
    """``E[(t - Z)_+^2] = int_{-inf}^t (t - z)^2 phi(z) dz`` by ``sympy.integrate``.

    Returns
    -------
    tuple
        ``(t, expr)``.

    Notes
    -----
    gmm_asymptotics.md §6 item 3 [MATH]; to be compared with ``(1 + t^2) Phi(t) + t phi(t)``.
    """
    t, z = sp.symbols("t z", real=True)
    phi = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    return t, sp.simplify(sp.integrate((t - z) ** 2 * phi, (z, -sp.oo, t)))


def channel_equations_symbolic(loss: sp.Expr, t: sp.Symbol) -> dict[str, sp.Expr]:
    """Proximal-map relations of §2.1 for a symbolic, twice differentiable loss ``l(t)``.

    Parameters
    ----------
    loss : sympy.Expr
        ``l(t)``, an expression in ``t``.
    t : sympy.Symbol
        The margin variable of ``loss``.

    Returns
    -------
    dict
        With symbols ``P`` (proximal point), ``omega``, ``V`` (positive):
        ``"stationarity"``: ``(P - omega)/V + l'(P)`` (zero at the prox);
        ``"dP_domega"``: ``dP/domega`` by implicit differentiation of the stationarity;
        ``"one_minus_dP"``: ``1 - dP/domega`` (enters ``V_hat``);
        ``"lprime"``, ``"lsecond"``: ``l'(P)``, ``l''(P)``;
        ``"prox"``: the explicit solution ``P(omega, V)`` when ``sympy.solve`` finds a unique
        one (e.g. square loss), else ``None``.

    Notes
    -----
    gmm_asymptotics.md §2.1 [RELATED:2002.11544, 2106.03791]:
    ``(P - omega)/V = -l'(P)``, ``dP/domega = 1/(1 + V l''(P))``.
    """
    if not isinstance(loss, sp.Expr) or not isinstance(t, sp.Symbol):
        raise ValueError(f"loss must be a sympy expression and t a Symbol, got {loss!r}, {t!r}")
    P, omega = sp.symbols("P omega", real=True)
    V = sp.Symbol("V", positive=True)
    lp = sp.diff(loss, t).subs(t, P)
    lpp = sp.diff(loss, t, 2).subs(t, P)
    stat = (P - omega) / V + lp
    # implicit differentiation: d stat/d omega = 0 with P = P(omega)
    dP = sp.simplify(-sp.diff(stat, omega) / sp.diff(stat, P))
    try:
        sols = sp.solve(stat, P)
    except NotImplementedError:  # transcendental (e.g. logistic): no explicit prox
        sols = []
    return {
        "stationarity": stat,
        "dP_domega": dP,
        "one_minus_dP": sp.simplify(1 - dP),
        "lprime": lp,
        "lsecond": lpp,
        "prox": sols[0] if len(sols) == 1 else None,
    }


@functools.lru_cache(maxsize=1)
def hinge_moments_symbolic() -> tuple[tuple[sp.Symbol, sp.Symbol, sp.Symbol], dict[str, sp.Expr]]:
    """Truncated moments of ``u ~ N(a, q)`` on ``(0, V)`` by ``sympy.integrate`` (§5).

    The integrals are done in the standardised variable ``z = (u - a)/sqrt(q)`` (same
    integrals, much faster for sympy than integrating the N(a, q) density directly).

    Returns
    -------
    tuple
        ``((a, q, V), moments)`` where ``moments`` has ``"p_kink"``, ``"e_u"``, ``"e_u2"``
        (integrals over ``(0, V)``) and ``"tail"`` (``P(u > V)``).

    Notes
    -----
    gmm_asymptotics.md §5 [MATH]; to be compared with the closed forms of
    :func:`theory.gmm.hinge_truncated_moments`.
    """
    a = sp.Symbol("a", real=True)
    q, V = sp.symbols("q V", positive=True)
    z, lo, hi = sp.symbols("z lo hi", real=True)
    phi = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    # standardise u = a + sqrt(q) z: integrals of z^k phi(z) over [lo, hi] are quick for sympy
    I0, I1, I2 = (sp.integrate(z**k * phi, (z, lo, hi)) for k in (0, 1, 2))
    tail = sp.integrate(phi, (z, hi, sp.oo))
    s_ = sp.sqrt(q)
    lims = {lo: -a / s_, hi: (V - a) / s_}
    return (a, q, V), {
        "p_kink": I0.subs(lims),
        "e_u": (a * I0 + s_ * I1).subs(lims),
        "e_u2": (a**2 * I0 + 2 * a * s_ * I1 + q * I2).subs(lims),
        "tail": tail.subs(lims),
    }
