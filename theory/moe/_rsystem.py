"""The polynomial system behind r(m) (sigmoid_moe.md §4, "The function r(m)").

r1(m) is the smallest r such that

    sum_{i=1..m} sum_{n1 + 2 n2 = l} s3_i^2 s1_i^n1 s2_i^n2 / (n1! n2!) = 0,   l = 1, ..., r,

has no non-trivial real solution (every s3_i != 0 and some s1_i != 0)
[RELATED:2505.10860 eq. (12), from Ho and Nguyen (2016)].

What is established here, symbolically and exactly:

* r1(2) > 3: the witness s3 = (1, 1), s1 = (1, -1), s2 = (-1/2, -1/2) solves l = 1, 2, 3.
* r1(2) <= 4, hence r1(2) = 4: a reduction (scaling and homogeneity) leaves one parameter
  q = s3_2^2 / s3_1^2 > 0; l = 2, 3 fix s2 uniquely and l = 4 becomes
  -(q + 1)(q^2 + q + 1) / (36 q^3), which has no positive root (Sturm count, exact).
* r1(3) > 5: an exact witness with s3 = (1, 1, 1), s1 = (1, 0, -1),
  s2 = (-1/2 + sqrt(2)/6, -sqrt(2)/3, -1/2 + sqrt(2)/6) solves l = 1, ..., 5.

Not established here: r1(3) <= 6 (no real solution for l = 1..6 with three atoms).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sympy as sp

from theory.core._validate import check_choice, check_int

__all__ = [
    "RValue",
    "r1_two_atom_reduction",
    "r1_two_atoms",
    "r1_two_atoms_solvable",
    "r1_witness",
    "r_system",
    "r_system_residuals",
    "r_value",
    "solves_r_system",
]


def _term(l: int, s1, s2, s3) -> sp.Expr:
    total = sp.Integer(0)
    for n2 in range(l // 2 + 1):
        n1 = l - 2 * n2
        total += s3**2 * s1**n1 * s2**n2 / (sp.factorial(n1) * sp.factorial(n2))
    return total


@functools.cache
def r_system(m: int, r: int) -> tuple[tuple[sp.Expr, ...], dict[str, tuple[sp.Symbol, ...]]]:
    """Return the equations ``l = 1..r`` of the r(m) system for m atoms.

    Parameters
    ----------
    m : int
        Number of atoms in one Voronoi cell, ``m >= 1``.
    r : int
        Number of equations, ``r >= 1``.

    Returns
    -------
    equations : tuple of sympy.Expr
        Left-hand sides (each must equal 0), index ``l - 1``.
    symbols : dict
        ``{"s1": (...), "s2": (...), "s3": (...)}``, each a tuple of m real symbols.

    Notes
    -----
    sigmoid_moe.md §4 [RELATED:2505.10860 eq. (12)].
    """
    m = check_int("m", m, low=1)
    r = check_int("r", r, low=1)
    s1 = sp.symbols(f"s1_1:{m + 1}", real=True)
    s2 = sp.symbols(f"s2_1:{m + 1}", real=True)
    s3 = sp.symbols(f"s3_1:{m + 1}", real=True)
    eqs = tuple(
        sum((_term(l, s1[i], s2[i], s3[i]) for i in range(m)), sp.Integer(0))
        for l in range(1, r + 1)
    )
    return eqs, {"s1": s1, "s2": s2, "s3": s3}


def _solution_iv(s1, s2, s3) -> tuple[tuple[sp.Expr, ...], ...]:
    try:
        vals = tuple(tuple(sp.sympify(v) for v in s) for s in (s1, s2, s3))
    except (TypeError, sp.SympifyError):
        raise ValueError("s1, s2, s3 must be sequences of numbers or sympy expressions") from None
    m = len(vals[0])
    if m < 1 or any(len(v) != m for v in vals):
        raise ValueError(f"s1, s2, s3 must have the same length m >= 1, got lengths "
                         f"{[len(v) for v in vals]}")
    return vals


def r_system_residuals(s1, s2, s3, r: int) -> tuple[sp.Expr, ...]:
    """Evaluate the left-hand sides ``l = 1..r`` exactly at a candidate point.

    Parameters
    ----------
    s1, s2, s3 : sequence
        Candidate values (exact rationals or sympy expressions preferred), length m.
    r : int
        Number of equations.

    Returns
    -------
    tuple of sympy.Expr
        Simplified residuals; all zero iff the point solves the system.

    Notes
    -----
    sigmoid_moe.md §4 [RELATED:2505.10860 eq. (12)].
    """
    s1, s2, s3 = _solution_iv(s1, s2, s3)
    eqs, sy = r_system(len(s1), r)
    subs = dict(zip(sy["s1"] + sy["s2"] + sy["s3"], s1 + s2 + s3, strict=True))
    return tuple(sp.simplify(sp.radsimp(sp.expand(e.subs(subs)))) for e in eqs)


def solves_r_system(s1, s2, s3, r: int) -> bool:
    """Return True iff the point is a non-trivial real solution of the equations l = 1..r.

    Parameters
    ----------
    s1, s2, s3 : sequence
        Candidate values, length m.
    r : int
        Number of equations.

    Returns
    -------
    bool
        Non-trivial (every s3_i != 0, some s1_i != 0), real, and all residuals exactly 0.

    Notes
    -----
    sigmoid_moe.md §4 [RELATED:2505.10860 eq. (12)]; claim C11 (r1(2) > 3 witness).

    Examples
    --------
    >>> w = r1_witness(2)
    >>> solves_r_system(w["s1"], w["s2"], w["s3"], 3), solves_r_system(w["s1"], w["s2"], w["s3"], 4)
    (True, False)
    """
    v1, v2, v3 = _solution_iv(s1, s2, s3)
    if not all(v.is_real for v in v1 + v2 + v3):
        return False
    if any(v == 0 for v in v3) or all(v == 0 for v in v1):
        return False
    return all(res == 0 for res in r_system_residuals(v1, v2, v3, r))


def r1_witness(m: int) -> dict[str, Any]:
    """Return an exact non-trivial real solution showing ``r1(m) > 2m - 1`` for m = 2, 3.

    Parameters
    ----------
    m : {2, 3}
        Number of atoms.

    Returns
    -------
    dict
        ``{"s1", "s2", "s3", "r"}``: the point and the largest r it solves (3 for m = 2, 5 for
        m = 3).

    Notes
    -----
    m = 2: the witness of sigmoid_moe.md §4 [MATH].  m = 3: s3 = (1, 1, 1), s1 = (1, 0, -1),
    s2 = (-1/2 + sqrt 2 / 6, -sqrt 2 / 3, -1/2 + sqrt 2 / 6), found by a numerical search and
    recognised in closed form; it is verified exactly by :func:`solves_r_system` [MATH].
    """
    m = check_int("m", m, low=2, high=3)
    if m == 2:
        h = sp.Rational(-1, 2)
        return {"s1": (sp.Integer(1), sp.Integer(-1)), "s2": (h, h),
                "s3": (sp.Integer(1), sp.Integer(1)), "r": 3}
    r2 = sp.sqrt(2)
    e = sp.Rational(-1, 2) + r2 / 6
    return {"s1": (sp.Integer(1), sp.Integer(0), sp.Integer(-1)), "s2": (e, -r2 / 3, e),
            "s3": (sp.Integer(1),) * 3, "r": 5}


@functools.cache
def r1_two_atom_reduction(r: int) -> tuple[tuple[sp.Expr, ...], sp.Symbol]:
    """Reduce the m = 2 system to rational functions of ``q = s3_2^2 / s3_1^2 > 0``.

    Parameters
    ----------
    r : int
        Number of equations, ``r >= 1``.

    Returns
    -------
    residual : tuple of sympy.Expr
        The equations ``l = 4..r`` after the reduction (empty for ``r <= 3``), as factored
        rational functions of q.
    q : sympy.Symbol
        The positive parameter.

    Notes
    -----
    Reduction [MATH]: with weights ``p_i = s3_i^2 > 0``, ``l = 1`` forces both ``s1_i != 0`` for
    a non-trivial solution.  The system is invariant under ``s1 -> lam s1, s2 -> lam^2 s2``
    (equation l scales by ``lam^l``) and homogeneous in p, so w.l.o.g. ``s1_1 = 1, p_1 = 1,
    p_2 = q``; then ``s1_2 = -1/q``, and ``l = 2, 3`` are linear in ``s2`` with determinant
    ``-(1 + q) != 0``, which fixes ``s2`` uniquely.  sigmoid_moe.md §4.
    """
    r = check_int("r", r, low=1)
    q = sp.Symbol("q", positive=True)
    b1, b2 = sp.symbols("b1 b2", real=True)
    p, a, b = (sp.Integer(1), q), (sp.Integer(1), -1 / q), (b1, b2)
    eqs = [sum(p[i] * _term(l, a[i], b[i], 1) for i in range(2)) for l in range(1, max(r, 3) + 1)]
    sol = sp.solve([eqs[1], eqs[2]], [b1, b2], dict=True)
    if len(sol) != 1:  # pragma: no cover - the 2x2 system is regular for q > 0
        raise AssertionError(sol)
    rest = tuple(sp.factor(sp.together(e.subs(sol[0]))) for e in eqs[3:r])
    return rest, q


def r1_two_atoms_solvable(r: int) -> bool:
    """Decide exactly whether the m = 2 system with ``l = 1..r`` has a non-trivial real solution.

    Parameters
    ----------
    r : int
        Number of equations, ``r >= 1``.

    Returns
    -------
    bool
        True iff a non-trivial real solution exists.

    Notes
    -----
    After :func:`r1_two_atom_reduction`, a solution exists iff the gcd of the numerators of
    the remaining equations has a root ``q > 0``; the roots are counted exactly with Sturm
    sequences (``Poly.count_roots``) [MATH].  sigmoid_moe.md §4.

    Examples
    --------
    >>> [r1_two_atoms_solvable(r) for r in (3, 4)]
    [True, False]
    """
    rest, q = r1_two_atom_reduction(r)
    if not rest:
        return True
    g = sp.Integer(0)
    for e in rest:
        num, _ = sp.fraction(sp.together(e))
        g = sp.gcd(g, sp.expand(num))
    poly = sp.Poly(g, q)
    if poly.degree() <= 0:
        return poly.is_zero
    # roots in (0, oo): count on [0, oo) and remove a root at 0 (q = 0 is excluded).
    n = poly.count_roots(0, None)
    if poly.eval(0) == 0:
        n -= 1
    return n > 0


def r1_two_atoms(r_max: int = 8) -> int:
    """Compute ``r1(2)``: the smallest r without a non-trivial real solution (m = 2).

    Parameters
    ----------
    r_max : int, optional
        Search bound, ``r_max >= 1`` (default 8).

    Returns
    -------
    int
        The value (4).

    Raises
    ------
    ValueError
        If no such r <= r_max exists.

    Notes
    -----
    Exact, by :func:`r1_two_atoms_solvable` [MATH]; agrees with the published r1(2) = 4
    [RELATED:2505.10860].

    Examples
    --------
    >>> r1_two_atoms()
    4
    """
    r_max = check_int("r_max", r_max, low=1)
    for r in range(1, r_max + 1):
        if not r1_two_atoms_solvable(r):
            return r
    raise ValueError(f"r_max must be at least r1(2) = 4, got {r_max}")


@dataclass(frozen=True)
class RValue:
    """Value of r1(m) or r2(m).

    Attributes
    ----------
    kind : str
        ``"r1"`` or ``"r2"``.
    m : int
        Cell size.
    value : int
        The value, or a lower bound when ``exact`` is False.
    exact : bool
        Whether ``value`` is the exact value.
    label : str
        Evidence label.
    established_here : str
        What this toolkit checks itself.
    """

    kind: str
    m: int
    value: int
    exact: bool
    label: str
    established_here: str


def r_value(kind: str, m: int) -> RValue:
    """Return the published value (or lower bound) of ``r1(m)`` or ``r2(m)``.

    Parameters
    ----------
    kind : {"r1", "r2"}
        Which function.
    m : int
        Cell size ``|A_j| >= 2`` (an over-specified cell).

    Returns
    -------
    RValue
        ``r(2) = 4``, ``r(3) = 6`` (exact), ``r(m) >= 7`` for ``m >= 4`` (a lower bound).

    Notes
    -----
    sigmoid_moe.md §4 [RELATED:2505.10860 eq. (12) and Prop. 4; r2 <= r1 with equal values at
    2 and 3].  Checked here: r1(2) = 4 exactly (:func:`r1_two_atoms`); r1(3) > 5 (witness of
    :func:`r1_witness`); r1(3) <= 6 is not checked.
    """
    check_choice("kind", kind, ("r1", "r2"))
    m = check_int("m", m, low=2)
    if m == 2:
        here = ("exact: r1(2) = 4 (witness + Sturm)" if kind == "r1"
                else "none (r2 <= r1 = 4 is published)")
        return RValue(kind, 2, 4, True, "RELATED:2505.10860", here)
    if m == 3:
        here = ("lower bound only: r1(3) > 5 (exact witness)" if kind == "r1"
                else "none")
        return RValue(kind, 3, 6, True, "RELATED:2505.10860", here)
    return RValue(kind, m, 7, False, "RELATED:2505.10860", "none")
