"""Gate-expert identities of softmax and sigmoid MoEs (sigmoid_moe.md §2, §6.1-§6.4).

Every identity is built from its *definition*: the local functions
``u(x) = exp(x^T A x + b^T x) (a^T x + a0)`` (softmax, §6.2) and
``v(x) = sigma(x^T A x + b^T x + c) (a^T x + a0)`` (sigmoid, §6.3) are differentiated with
``sympy.diff``, and the two sides of each identity are returned separately.
:func:`verify_identity` then checks ``simplify(lhs - rhs) == 0``.

Mutations (deliberately wrong variants) exist so that the checker is itself checked
(sigmoid_moe.md §9, mutation tests): e.g. dropping the factor ``(1 - sigma(c))`` in S1 or the
factor ``(2 - delta_kl)`` with a symmetric ``A`` must make the verification fail.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from theory.core._validate import check_choice, check_int
from theory.moe._sigmoid import logit, sigma

__all__ = [
    "IdentityInfo",
    "gate_expert_symbols",
    "identity",
    "identity_info",
    "identity_names",
    "verify_identity",
]


@dataclass(frozen=True)
class IdentityInfo:
    """Description of one identity of sigmoid_moe.md.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"P1"``.
    section : str
        Spec section, e.g. ``"§6.2"``.
    label : str
        Evidence label (``"MATH"`` for all identities here).
    statement : str
        The identity in words/formula.
    mutations : tuple of str
        Names of deliberately wrong variants accepted by :func:`identity`.
    uses_symmetric : bool
        Whether the ``symmetric`` switch changes the identity.
    """

    name: str
    section: str
    label: str
    statement: str
    mutations: tuple[str, ...]
    uses_symmetric: bool = False


_INFO: dict[str, IdentityInfo] = {
    info.name: info
    for info in (
        IdentityInfo(
            "sigma_prime", "§6.1", "MATH", "sigma' = sigma (1 - sigma)",
            ("scale_rhs", "wrong_sign"),
        ),
        IdentityInfo(
            "sigma_second",
            "§6.1",
            "MATH",
            "sigma'' = sigma (1 - sigma)(1 - 2 sigma)",
            ("scale_rhs", "drop_one_minus_two_sigma"),
        ),
        IdentityInfo(
            "sigma_reflection",
            "§2 item 3, §6.1",
            "MATH",
            "sigma(-z) = 1 - sigma(z) and sigma'(-z) = sigma'(z)",
            ("scale_rhs",),
        ),
        IdentityInfo(
            "reflection_split",
            "§2 item 3",
            "MATH",
            "sigma(s) h1 + sigma(-s) h2 = h2 + sigma(s)(h1 - h2)",
            ("scale_rhs", "drop_ungated"),
        ),
        IdentityInfo(
            "quadratic_form_sym",
            "§2 item 1",
            "MATH",
            "x^T A x = x^T sym(A) x, sym(A) = (A + A^T)/2",
            ("scale_rhs", "drop_transpose"),
        ),
        IdentityInfo(
            "P1",
            "§6.2",
            "MATH",
            "d2u/db_k da0 = du/da_k (both x_k e^s)",
            ("scale_rhs", "drop_a0_derivative"),
        ),
        IdentityInfo(
            "P2",
            "§6.2",
            "MATH",
            "du/dA_kl = (2 - delta_kl if A symmetric else 1) d2u/db_k db_l",
            ("scale_rhs", "drop_factor"),
            True,
        ),
        IdentityInfo(
            "P3",
            "§6.2",
            "MATH",
            "d2u/dA_kl da0 = (2 - delta_kl if A symmetric else 1) d2u/db_k da_l",
            ("scale_rhs", "drop_factor"),
            True,
        ),
        IdentityInfo(
            "P4",
            "§6.2",
            "MATH",
            "u = sum_k a_k du/da_k + a0 du/da0",
            ("scale_rhs", "drop_a0_term"),
        ),
        IdentityInfo(
            "S1",
            "§6.3",
            "MATH",
            "at A = 0, b = 0: dv/dc = (sigma'(c)/sigma(c)) (sum_k a_k dv/da_k + a0 dv/da0) and "
            "d2v/db_k da0 = (1 - sigma(c)) dv/da_k",
            ("scale_rhs", "drop_one_minus_sigma"),
        ),
        IdentityInfo(
            "S3",
            "§6.3",
            "MATH",
            "sigma(t + c1) + sigma(t + c2) - sigma(t + c) -> 1 as t -> +oo (constant term of the "
            "expansion in e^{-t}); constant gate: 2 sigma(logit(sigma(c)/2)) = sigma(c)",
            ("scale_rhs", "no_half", "claim_split_possible"),
        ),
        IdentityInfo(
            "inner_bias",
            "§3.4, §6.4",
            "MATH",
            "h = w act(u x + v): x dh/dv = dh/du (d = 1)",
            ("scale_rhs",),
        ),
        IdentityInfo(
            "linear_expert",
            "§3.4",
            "MATH",
            "h = a^T x + a0: dh/da_k = x_k dh/da0",
            ("scale_rhs",),
        ),
        IdentityInfo(
            "gelu_extended",
            "§6.4",
            "MATH",
            "h = w GELU(u x): d2h/du2 = (2/u) dh/du - (2w/u^2) dh/dw - u x^2 dh/du + w x^2 dh/dw",
            ("scale_rhs", "drop_x2_terms"),
        ),
    )
}


def identity_names() -> tuple[str, ...]:
    """Return the names of all identities, in registry order.

    Returns
    -------
    tuple of str
        Keys accepted by :func:`identity` and :func:`verify_identity`.

    Notes
    -----
    sigmoid_moe.md §2, §6.1-§6.4 [MATH].
    """
    return tuple(_INFO)


def identity_info(name: str) -> IdentityInfo:
    """Return the :class:`IdentityInfo` record of one identity.

    Parameters
    ----------
    name : str
        One of :func:`identity_names`.

    Returns
    -------
    IdentityInfo
        Section, evidence label, statement and accepted mutations.

    Notes
    -----
    sigmoid_moe.md §2, §6 [MATH].
    """
    _name_iv(name)
    return _INFO[name]


def _name_iv(name: str) -> None:
    check_choice("name", name, sorted(_INFO))


def _identity_iv(name: str, d: int, symmetric: bool, mutation: str | None) -> int:
    _name_iv(name)
    d = check_int("d", d, low=1, high=3)
    info = _INFO[name]
    if mutation is not None and mutation not in info.mutations:
        raise ValueError(f"mutation for {name} must be None or one of {info.mutations}, "
                         f"got {mutation!r}")
    if mutation == "drop_transpose" and d < 2:
        raise ValueError("mutation 'drop_transpose' is a no-op for d = 1 (A is 1 x 1): use "
                         "d >= 2, got d = 1")
    if mutation == "drop_factor":
        if not symmetric:
            raise ValueError("mutation 'drop_factor' needs symmetric=True: the factor "
                             "(2 - delta_kl) only exists in the symmetric parametrisation")
        if d < 2:
            raise ValueError("mutation 'drop_factor' is a no-op for d = 1 (only k = l, where "
                             "2 - delta_kl = 1): use d >= 2, got d = 1")
    return d


@functools.cache
def gate_expert_symbols(d: int, symmetric: bool = False) -> dict:
    """Return the real symbols of one quadratic-score atom with a linear expert.

    Parameters
    ----------
    d : int
        Input dimension, ``1 <= d <= 3``.
    symmetric : bool, optional
        If True, ``A`` is parametrised by its free entries ``A_kl, k <= l`` (and
        ``A[l, k] = A[k, l]``); otherwise every entry is a free symbol.

    Returns
    -------
    dict
        Keys ``"x"`` (list of d symbols), ``"A"`` (d x d sympy Matrix), ``"A_free"`` (dict
        ``(k, l) -> Symbol`` of the free entries), ``"b"`` (list), ``"c"``, ``"a"`` (list),
        ``"a0"``.

    Notes
    -----
    Score ``s(x) = x^T A x + b^T x + c`` and expert ``h = a^T x + a0`` of sigmoid_moe.md §3.1,
    §6.1 [MATH].
    """
    d = _identity_iv("P1", d, symmetric, None)
    x = list(sp.symbols(f"x1:{d + 1}", real=True))
    b = list(sp.symbols(f"b1:{d + 1}", real=True))
    a = list(sp.symbols(f"a1:{d + 1}", real=True))
    c, a0 = sp.symbols("c a0", real=True)
    free: dict[tuple[int, int], sp.Symbol] = {}
    rows = []
    for k in range(d):
        row = []
        for l in range(d):
            if symmetric and l < k:
                row.append(free[(l, k)])
                continue
            sym = sp.Symbol(f"A{k + 1}{l + 1}", real=True)
            free[(k, l)] = sym
            row.append(sym)
        rows.append(row)
    return {"x": x, "A": sp.Matrix(rows), "A_free": free, "b": b, "c": c, "a": a, "a0": a0}


def _score(sy: dict, with_c: bool) -> sp.Expr:
    xv = sp.Matrix(sy["x"])
    s = (xv.T * sy["A"] * xv)[0, 0] + sum(bk * xk for bk, xk in zip(sy["b"], sy["x"], strict=True))
    return s + sy["c"] if with_c else s


def _expert(sy: dict) -> sp.Expr:
    return sum(ak * xk for ak, xk in zip(sy["a"], sy["x"], strict=True)) + sy["a0"]


def _col(items) -> sp.Matrix:
    return sp.Matrix(list(items))


def _pairs(sy: dict, symmetric: bool, d: int) -> list[tuple[int, int]]:
    if symmetric:
        return [(k, l) for k in range(d) for l in range(k, d)]
    return [(k, l) for k in range(d) for l in range(d)]


def _build(name: str, d: int, symmetric: bool, mutation: str | None):
    z = sp.Symbol("z", real=True)
    if name == "sigma_prime":
        lhs = sp.diff(sigma(z), z)
        fac = (1 + sigma(z)) if mutation == "wrong_sign" else (1 - sigma(z))
        return _col([lhs]), _col([sigma(z) * fac])
    if name == "sigma_second":
        lhs = sp.diff(sigma(z), z, 2)
        last = 1 if mutation == "drop_one_minus_two_sigma" else (1 - 2 * sigma(z))
        return _col([lhs]), _col([sigma(z) * (1 - sigma(z)) * last])
    if name == "sigma_reflection":
        sp1 = sp.diff(sigma(z), z)
        return _col([sigma(-z), sp1.subs(z, -z)]), _col([1 - sigma(z), sp1])
    if name == "reflection_split":
        s, h1, h2 = sp.symbols("s h1 h2", real=True)
        lhs = sigma(s) * h1 + sigma(-s) * h2
        ungated = 0 if mutation == "drop_ungated" else h2
        return _col([lhs]), _col([ungated + sigma(s) * (h1 - h2)])
    if name == "quadratic_form_sym":
        sy = gate_expert_symbols(d, False)
        xv = sp.Matrix(sy["x"])
        A = sy["A"]
        if mutation == "drop_transpose":  # keeps the diagonal, halves the off-diagonal mass
            sym = A / 2 + sp.diag(*[A[k, k] for k in range(d)]) / 2
        else:
            sym = (A + A.T) / 2
        return _col([(xv.T * A * xv)[0, 0]]), _col([(xv.T * sym * xv)[0, 0]])
    if name == "linear_expert":
        sy = gate_expert_symbols(d, False)
        h = _expert(sy)
        lhs = [sp.diff(h, ak) for ak in sy["a"]]
        rhs = [xk * sp.diff(h, sy["a0"]) for xk in sy["x"]]
        return _col(lhs), _col(rhs)
    if name == "inner_bias":
        x, w, u, v = sp.symbols("x w u v", real=True)
        act = sp.Function("act")
        h = w * act(u * x + v)
        return _col([x * sp.diff(h, v)]), _col([sp.diff(h, u)])
    if name == "gelu_extended":
        x, w = sp.symbols("x w", real=True)
        u = sp.Symbol("u", positive=True)
        zz = u * x
        h = w * zz * (1 + sp.erf(zz / sp.sqrt(2))) / 2
        hw, hu = sp.diff(h, w), sp.diff(h, u)
        lhs = sp.diff(h, u, 2)
        rhs = 2 / u * hu - 2 * w / u**2 * hw
        if mutation != "drop_x2_terms":
            rhs += -u * x**2 * hu + w * x**2 * hw
        return _col([lhs]), _col([rhs])
    if name == "S3":
        t, c, c1, c2 = sp.symbols("t c c1 c2", real=True)
        wv = sp.Symbol("w", positive=True)  # w = exp(-t) -> 0+ as t -> +oo
        expr = sigma(t + c1) + sigma(t + c2) - sigma(t + c)
        expr_w = expr.subs(t, -sp.log(wv))
        const = sp.series(sp.simplify(expr_w), wv, 0, 1).removeO()
        const = sp.simplify(const.subs(wv, 0))
        target = 0 if mutation == "claim_split_possible" else 1
        frac = 1 if mutation == "no_half" else sp.Rational(1, 2)
        csplit = logit(sigma(c) * frac)
        return _col([const, 2 * sigma(csplit)]), _col([target, sigma(c)])

    sy = gate_expert_symbols(d, symmetric)
    x, b, a, a0, c = sy["x"], sy["b"], sy["a"], sy["a0"], sy["c"]
    pairs = _pairs(sy, symmetric, d)
    Af = sy["A_free"]
    if name in ("P1", "P2", "P3", "P4"):
        u = sp.exp(_score(sy, with_c=False)) * _expert(sy)
        if name == "P1":
            if mutation == "drop_a0_derivative":
                lhs = [sp.diff(u, bk) for bk in b]
            else:
                lhs = [sp.diff(u, bk, a0) for bk in b]
            return _col(lhs), _col([sp.diff(u, ak) for ak in a])
        if name in ("P2", "P3"):
            lhs, rhs = [], []
            for k, l in pairs:
                fac = 2 - sp.KroneckerDelta(k, l) if symmetric else 1
                if mutation == "drop_factor":
                    fac = 1
                if name == "P2":
                    lhs.append(sp.diff(u, Af[(k, l)]))
                    rhs.append(fac * sp.diff(u, b[k], b[l]))
                else:
                    lhs.append(sp.diff(u, Af[(k, l)], a0))
                    rhs.append(fac * sp.diff(u, b[k], a[l]))
            return _col(lhs), _col(rhs)
        rhs = sum(ak * sp.diff(u, ak) for ak in a)
        if mutation != "drop_a0_term":
            rhs += a0 * sp.diff(u, a0)
        return _col([u]), _col([rhs])
    if name == "S1":
        v = sigma(_score(sy, with_c=True)) * _expert(sy)
        at0 = {sym: 0 for sym in Af.values()} | {bk: 0 for bk in b}
        sc = sigma(c)
        dsc = sp.diff(sc, c)
        first_l = sp.diff(v, c).subs(at0)
        first_r = (dsc / sc) * (sum(ak * sp.diff(v, ak) for ak in a) + a0 * sp.diff(v, a0))
        first_r = first_r.subs(at0)
        fac = 1 if mutation == "drop_one_minus_sigma" else (1 - sc)
        second_l = [sp.diff(v, bk, a0).subs(at0) for bk in b]
        second_r = [fac * sp.diff(v, ak).subs(at0) for ak in a]
        return _col([first_l, *second_l]), _col([first_r, *second_r])
    raise AssertionError(name)  # pragma: no cover - registry and builder are in sync


def identity(
    name: str, d: int = 1, *, symmetric: bool = False, mutation: str | None = None
) -> tuple[sp.Matrix, sp.Matrix]:
    """Return the two sides of an identity as column matrices of sympy expressions.

    Parameters
    ----------
    name : str
        One of :func:`identity_names`: ``"sigma_prime"``, ``"sigma_second"``,
        ``"sigma_reflection"``, ``"reflection_split"``, ``"quadratic_form_sym"``, ``"P1"``,
        ``"P2"``, ``"P3"``, ``"P4"``, ``"S1"``, ``"S3"``, ``"inner_bias"``,
        ``"linear_expert"``, ``"gelu_extended"``.
    d : int, optional
        Input dimension ``1 <= d <= 3`` for identities indexed by ``k`` (and ``l``); ignored by
        the scalar identities.  Default 1.
    symmetric : bool, optional
        Parametrise ``A`` symmetrically (free entries ``k <= l``), so that A-derivatives carry
        the factor ``(2 - delta_kl)`` (P2, P3).  Default False (unconstrained ``A``).
    mutation : str, optional
        Build a deliberately wrong variant (see :func:`identity_info`); the verification must
        then fail.  ``"scale_rhs"`` multiplies the right-hand side by 2 for any identity.

    Returns
    -------
    lhs, rhs : sympy.Matrix
        Column matrices of equal shape; one row per index ``k`` or pair ``(k, l)``.

    Raises
    ------
    ValueError
        Unknown name or mutation, ``d`` outside [1, 3], or ``"drop_factor"`` without
        ``symmetric=True`` and ``d >= 2`` (it would be a no-op).

    Notes
    -----
    sigmoid_moe.md §2 item 1 and 3, §3.4, §6.1 (sigma derivatives), §6.2 (P1-P4 with the
    symmetric variants), §6.3 (S1 both items, S3), §6.4 (GELU extended family) [MATH].
    """
    d = _identity_iv(name, d, symmetric, mutation)
    lhs, rhs = _build(name, d, symmetric, mutation)
    if mutation == "scale_rhs":
        rhs = 2 * rhs
    return lhs, rhs


def _nonzero_at_a_point(expr: sp.Expr) -> bool:
    """True if ``expr`` is provably not identically zero: it is non-zero at a rational point.

    Evaluated at 30 digits; a value above 1e-15 cannot be rounding noise.  Used only to skip an
    expensive ``simplify`` on a difference that is certainly non-zero (e.g. a mutation).
    """
    free = sorted(expr.free_symbols, key=str)
    vals = {s: sp.Rational(3 + 2 * k, 7 + 3 * k) for k, s in enumerate(free)}
    try:
        val = sp.N(expr.subs(vals), 30)
    except (TypeError, ValueError, ZeroDivisionError):  # pragma: no cover - defensive
        return False
    return bool(val.is_number and val.is_finite is not False and abs(complex(val)) > 1e-15)


def _is_zero(expr: sp.Expr) -> bool:
    if _nonzero_at_a_point(expr):
        return False
    expr = sp.simplify(expr)
    if expr == 0:
        return True
    # A second, stronger attempt for exp/erf expressions that simplify leaves in factored form.
    return sp.simplify(sp.expand(sp.powsimp(sp.together(expr), force=True))) == 0


def verify_identity(
    name: str, d: int = 1, *, symmetric: bool = False, mutation: str | None = None
) -> bool:
    """Return True iff ``simplify(lhs - rhs) == 0`` for every row of the identity.

    Parameters
    ----------
    name, d, symmetric, mutation
        As in :func:`identity`.

    Returns
    -------
    bool
        Whether the identity is proven symbolically (a mutation must give False).

    Notes
    -----
    sigmoid_moe.md §6 and claim C2 [MATH]: "simplify(lhs - rhs) == 0".  A difference that is
    non-zero at one rational point (30-digit evaluation, above 1e-15) is reported as non-zero
    without calling ``simplify``; this short-cut can only return False for a difference that is
    genuinely not identically zero.

    Examples
    --------
    >>> verify_identity("P1", 1)
    True
    >>> verify_identity("S1", 1, mutation="drop_one_minus_sigma")
    False
    """
    lhs, rhs = identity(name, d, symmetric=symmetric, mutation=mutation)
    return all(_is_zero(le - re) for le, re in zip(lhs, rhs, strict=True))
