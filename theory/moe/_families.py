"""Function families for the numerical identifiability (rank) test (sigmoid_moe.md §6.4).

Each family is a tuple of sympy expressions in the input ``x`` (``d = 1`` unless stated) with
every parameter substituted by a number, together with the verdict the theory predicts
(``"independent"`` or ``"dependent"``) and its evidence label.  :func:`family_matrix`
lambdifies a family and returns the ``m x (number of functions)`` matrix of its values at given
points; the rank verdict itself (column normalisation, singular values, thresholds) belongs to
``numerics`` and to the tests.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from theory.core._validate import check_array, check_choice, check_int, check_real
from theory.moe._identities import gate_expert_symbols
from theory.moe._sigmoid import sigma

__all__ = [
    "Family",
    "family_function",
    "family_matrix",
    "family_names",
    "rank_family",
]


@dataclass(frozen=True)
class Family:
    """A family of functions of ``x`` with its predicted linear-(in)dependence verdict.

    Attributes
    ----------
    name : str
        Registry key.
    functions : tuple of sympy.Expr
        The members, parameters substituted.
    members : tuple of str
        Human-readable name of each member, e.g. ``"du/da0"``.
    variables : tuple of sympy.Symbol
        The input coordinates ``x`` (length d).
    expected : str
        ``"independent"`` or ``"dependent"``.
    label : str
        Evidence label of the verdict.
    section : str
        Spec section.
    params : tuple of (str, float)
        The substituted parameter values.
    """

    name: str
    functions: tuple[sp.Expr, ...]
    members: tuple[str, ...]
    variables: tuple[sp.Symbol, ...]
    expected: str
    label: str
    section: str
    params: tuple[tuple[str, float], ...]

    @property
    def size(self) -> int:
        """Number of functions in the family."""
        return len(self.functions)


def _q(v: float) -> sp.Expr:
    """Exact rational for a decimal parameter (1.2 -> 6/5), so substitutions stay exact."""
    return sp.Rational(repr(float(v)))


_ACTS = ("gelu", "tanh")


def _act(name: str, z: sp.Expr) -> sp.Expr:
    if name == "gelu":
        return z * (1 + sp.erf(z / sp.sqrt(2))) / 2
    return sp.tanh(z)


def _act_iv(act: str) -> None:
    check_choice("act", act, _ACTS)


# --- softmax local function u and sigmoid local function v in d = 1 (§6.2, §6.3) ------------

_DEF_SOFT = {"A": 0.3, "b": 0.5, "a": 1.2, "a0": -0.7}


def _softmax_family(which: str, A: float, b: float, a: float, a0: float):
    sy = gate_expert_symbols(1, False)
    (x,), (bs,), (as_,), a0s = sy["x"], sy["b"], sy["a"], sy["a0"]
    As = sy["A"][0, 0]
    u = sp.exp(As * x**2 + bs * x) * (as_ * x + a0s)
    D = sp.diff
    sets = {
        "P1": ((D(u, bs, a0s), "d2u/db da0"), (D(u, as_), "du/da")),
        "P2": ((D(u, As), "du/dA"), (D(u, bs, 2), "d2u/db2")),
        "P3": ((D(u, As, a0s), "d2u/dA da0"), (D(u, bs, as_), "d2u/db da")),
        "P4": ((u, "u"), (D(u, as_), "du/da"), (D(u, a0s), "du/da0")),
        "P1_augmented": (
            (D(u, As), "du/dA"),
            (D(u, bs), "du/db"),
            (D(u, as_), "du/da"),
            (D(u, a0s), "du/da0"),
            (D(u, bs, a0s), "d2u/db da0"),
        ),
    }
    subs = {As: _q(A), bs: _q(b), as_: _q(a), a0s: _q(a0)}
    fns, names = zip(*sets[which], strict=True)
    return tuple(f.subs(subs) for f in fns), tuple(names), (x,)


def _s1_family(which: str, c: float, a: float, a0: float):
    sy = gate_expert_symbols(1, False)
    (x,), (bs,), (as_,), a0s, cs = sy["x"], sy["b"], sy["a"], sy["a0"], sy["c"]
    As = sy["A"][0, 0]
    v = sigma(As * x**2 + bs * x + cs) * (as_ * x + a0s)
    D = sp.diff
    items: tuple[tuple[Any, str], ...]
    if which == "S1":
        items = ((D(v, cs), "dv/dc"), (D(v, as_), "dv/da"), (D(v, a0s), "dv/da0"))
    else:
        items = ((D(v, bs, a0s), "d2v/db da0"), (D(v, as_), "dv/da"))
    subs = {As: 0, bs: 0, cs: _q(c), as_: _q(a), a0s: _q(a0)}
    fns, names = zip(*items, strict=True)
    return tuple(f.subs(subs) for f in fns), tuple(names), (x,)


def _negative_control(d: int, a: Sequence[float], a0: float, A_diag: float, A_off: float):
    sy = gate_expert_symbols(d, True)
    x, A, free, asy, a0s = sy["x"], sy["A"], sy["A_free"], sy["a"], sy["a0"]
    xv = sp.Matrix(x)
    u = sp.exp((xv.T * A * xv)[0, 0]) * (sum(ak * xk for ak, xk in zip(asy, x, strict=True)) + a0s)
    fns, names = [], []
    for (k, l), sym in free.items():
        fns.append(sp.diff(u, sym))
        names.append(f"du/dA{k + 1}{l + 1}")
    for k, ak in enumerate(asy):
        fns.append(sp.diff(u, ak))
        names.append(f"du/da{k + 1}")
    fns.append(sp.diff(u, a0s))
    names.append("du/da0")
    for (k, l), sym in free.items():
        fns.append(sp.diff(u, sym, a0s))
        names.append(f"d2u/dA{k + 1}{l + 1} da0")
    subs = {ak: _q(av) for ak, av in zip(asy, a, strict=True)} | {a0s: _q(a0)}
    subs |= {sym: _q(A_diag if k == l else A_off) for (k, l), sym in free.items()}
    return tuple(f.subs(subs) for f in fns), tuple(names), tuple(x)


def _linear_bias():
    x, a, a0 = sp.symbols("x a a0", real=True)
    h = a * x + a0
    fns = (sp.diff(h, a), sp.diff(h, a0), x * sp.diff(h, a0))
    return fns, ("dh/da", "dh/da0", "x dh/da0"), (x,)


def _inner_bias(act: str, w: float, u: float, v: float):
    x = sp.Symbol("x", real=True)
    ws, us, vs = sp.symbols("w u v", real=True)
    h = ws * _act(act, us * x + vs)
    fns = (sp.diff(h, us), x * sp.diff(h, vs))
    subs = {ws: _q(w), us: _q(u), vs: _q(v)}
    return tuple(f.subs(subs) for f in fns), ("dh/du", "x dh/dv"), (x,)


def _bias_free(act: str, atoms: Sequence[tuple[float, float]], extended: bool):
    x = sp.Symbol("x", real=True)
    ws, us = sp.Symbol("w", real=True), sp.Symbol("u", positive=True)
    h = ws * _act(act, us * x)
    hw, hu, huu = sp.diff(h, ws), sp.diff(h, us), sp.diff(h, us, 2)
    base = [(hw, "dh/dw"), (hu, "dh/du"), (huu, "d2h/du2"), (x * hw, "x dh/dw"),
            (x * hu, "x dh/du")]
    if extended:
        base += [(x**2 * hw, "x^2 dh/dw"), (x**2 * hu, "x^2 dh/du")]
    fns, names = [], []
    for j, (w, u) in enumerate(atoms):
        subs = {ws: _q(w), us: _q(u)}
        for f, nm in base:
            fns.append(f.subs(subs))
            names.append(f"{nm} [atom {j + 1}]")
    return tuple(fns), tuple(names), (x,)


def _input_independent(eta1: float, eta2: float):
    x = sp.Symbol("x", real=True)
    eta = sp.Symbol("eta", real=True)
    c = sp.sin(eta) + eta**3  # a generic smooth c(eta); its derivative is constant in x
    cp = sp.diff(c, eta)
    fns = (cp.subs(eta, _q(eta1)) + 0 * x, cp.subs(eta, _q(eta2)) + 0 * x)
    return fns, ("c'(eta1)", "c'(eta2)"), (x,)


_DEF_DENSE = ((0.8, 0.5, -0.3, 1.5, 0.7), (-0.6, 1.1, 0.4, -1.2, 0.9))


_SCORES = ("full", "partial", "linear")


def _dense(atoms: Sequence[Sequence[float]], reflected: bool, score: str):
    x = sp.Symbol("x", real=True)
    A, b, c, a, a0 = sp.symbols("A b c a a0", real=True)
    s = A * x**2 + b * x + c
    h = a * x + a0
    v = sigma(s) * h
    gate_pars = {"full": ((A, "dv/dA"), (b, "dv/db")), "partial": ((A, "dv/dA"),),
                 "linear": ((b, "dv/db"),)}[score]
    base = [(sp.diff(v, p), nm) for p, nm in gate_pars]
    base += [(sp.diff(v, c), "dv/dc"), (sp.diff(v, a), "dv/da"), (sp.diff(v, a0), "dv/da0")]
    # the score class switches off the absent gate coefficients (A for linear, b for partial)
    rows: list[list[float]] = [list(at) for at in atoms]
    for at in rows:
        if score == "partial":
            at[1] = 0.0
        elif score == "linear":
            at[0] = 0.0
    if reflected:
        rows[1][:3] = [-rows[0][0], -rows[0][1], -rows[0][2]]
    fns, names = [], []
    for j, (Av, bv, cv, av, a0v) in enumerate(rows):
        subs = {A: _q(Av), b: _q(bv), c: _q(cv), a: _q(av), a0: _q(a0v)}
        for f, nm in base:
            fns.append(f.subs(subs))
            names.append(f"{nm} [atom {j + 1}]")
    return tuple(fns), tuple(names), (x,)


_REGISTRY: dict[str, tuple[str, str, str]] = {
    # name: (expected verdict, evidence label, section)
    "P1": ("dependent", "MATH", "§6.2 P1, §6.4"),
    "P2": ("dependent", "MATH", "§6.2 P2, §6.4"),
    "P3": ("dependent", "MATH", "§6.2 P3, §6.4"),
    "P4": ("dependent", "MATH", "§6.2 P4, §6.4"),
    "S1": ("dependent", "MATH", "§6.3 S1 (first item), §6.4"),
    "S1_b": ("dependent", "MATH", "§6.3 S1 (second item), §6.4"),
    "negative_control": ("independent", "MATH", "§6.2 negative control, §6.4"),
    "P1_augmented": ("dependent", "MATH", "§6.2 (with b, P1), C2"),
    "linear_expert_bias": ("dependent", "MATH", "§3.4, §6.4"),
    "inner_bias": ("dependent", "MATH", "§3.4, §6.4"),
    "bias_free": ("independent", "MATH", "§3.4 (RELATED:2505.10860 classification), §6.4"),
    "gelu_extended": ("dependent", "MATH", "§6.4 (GELU identity)"),
    "input_independent": ("dependent", "MATH", "§3.4, §6.4"),
    "dense_S2": ("independent", "MATH", "§6.3 S2, §6.4"),
    "dense_S2_reflected": ("dependent", "MATH", "§2 item 3, §6.4"),
}


def family_names() -> tuple[str, ...]:
    """Return the names accepted by :func:`rank_family`.

    Returns
    -------
    tuple of str
        Registry keys, in the order of sigmoid_moe.md §6.4.

    Notes
    -----
    sigmoid_moe.md §6.4 [MATH].
    """
    return tuple(_REGISTRY)


def _atoms_iv(atoms, act: str) -> tuple[tuple[float, float], ...]:
    try:
        out = tuple((float(w), float(u)) for w, u in atoms)
    except (TypeError, ValueError):
        raise ValueError(f"atoms must be a sequence of (w, u) pairs, got {atoms!r}") from None
    if not out:
        raise ValueError("atoms must contain at least one (w, u) pair, got none")
    for w, u in out:
        check_real("w", w)
        check_real("u", u)
        if w == 0:
            raise ValueError(f"w must be non-zero (w = 0 makes dh/du vanish), got {w}")
        if u <= 0:
            raise ValueError(f"u must be > 0 (the (w, u) ~ (-w, -u) symmetry of {act} and the "
                             f"§6.5 convention restrict u > 0), got {u}")
    us = [u for _, u in out]
    if len(set(us)) != len(us):
        raise ValueError(f"atoms must have distinct u (equal u give identical families), got {us}")
    return out


@functools.cache
def _build_family(name: str, key: tuple) -> Family:
    kw = dict(key)
    if name in ("P1", "P2", "P3", "P4", "P1_augmented"):
        fns, names, xs = _softmax_family(name, kw["A"], kw["b"], kw["a"], kw["a0"])
    elif name in ("S1", "S1_b"):
        fns, names, xs = _s1_family(name, kw["c"], kw["a"], kw["a0"])
    elif name == "negative_control":
        fns, names, xs = _negative_control(kw["d"], kw["a"], kw["a0"], kw["A_diag"], kw["A_off"])
    elif name == "linear_expert_bias":
        fns, names, xs = _linear_bias()
    elif name == "inner_bias":
        fns, names, xs = _inner_bias(kw["act"], kw["w"], kw["u"], kw["v"])
    elif name in ("bias_free", "gelu_extended"):
        fns, names, xs = _bias_free(kw["act"], kw["atoms"], name == "gelu_extended")
    elif name == "input_independent":
        fns, names, xs = _input_independent(kw["eta1"], kw["eta2"])
    else:
        fns, names, xs = _dense(kw["atoms"], name == "dense_S2_reflected", kw["score"])
    expected, label, section = _REGISTRY[name]
    if name == "dense_S2_reflected" and kw["score"] == "partial":
        # §2 item 3: the partially quadratic score stays full rank unless h1 is proportional to
        # h2 (then sigma'(s1) (x^2 h, h) of both atoms coincide up to scale)
        (_, _, _, a1, b1), (_, _, _, a2, b2) = kw["atoms"]
        expected = "dependent" if a1 * b2 == a2 * b1 else "independent"
    params = tuple((k, v) for k, v in key)
    return Family(name, tuple(fns), tuple(names), tuple(xs), expected, label, section, params)


def _rank_family_iv(name: str, params: dict) -> tuple:
    check_choice("name", name, tuple(sorted(_REGISTRY)))
    allowed: dict[str, Any]
    if name in ("P1", "P2", "P3", "P4", "P1_augmented"):
        allowed = dict(_DEF_SOFT)
    elif name in ("S1", "S1_b"):
        allowed = {"c": 0.4, "a": 1.2, "a0": -0.7}
    elif name == "negative_control":
        allowed = {"d": 1, "a": None, "a0": -0.7, "A_diag": 0.3, "A_off": 0.2}
    elif name == "linear_expert_bias":
        allowed = {}
    elif name == "inner_bias":
        allowed = {"act": "gelu", "w": 1.2, "u": 0.9, "v": 0.3}
    elif name in ("bias_free", "gelu_extended"):
        allowed = {"act": "gelu" if name == "gelu_extended" else "tanh",
                   "atoms": ((1.2, 0.5), (-0.8, 2.0))}
    elif name == "input_independent":
        allowed = {"eta1": 0.4, "eta2": -1.3}
    else:
        allowed = {"atoms": _DEF_DENSE, "score": "full"}
    unknown = set(params) - set(allowed)
    if unknown:
        raise ValueError(f"parameters of family {name!r} must be among {sorted(allowed)}, got "
                         f"unknown {sorted(unknown)}")
    kw = allowed | params
    if "act" in kw:
        _act_iv(kw["act"])
        if name == "gelu_extended" and kw["act"] != "gelu":
            raise ValueError(f"act must be 'gelu' for the GELU extended family, got {kw['act']!r}")
    if "atoms" in kw and name in ("bias_free", "gelu_extended"):
        kw["atoms"] = _atoms_iv(kw["atoms"], kw["act"])
    elif "atoms" in kw:
        atoms = tuple(tuple(check_real("atom parameter", v) for v in at) for at in kw["atoms"])
        if len(atoms) != 2 or any(len(at) != 5 for at in atoms):
            raise ValueError("atoms must be two (A, b, c, a, a0) tuples for the dense family, got "
                             f"{kw['atoms']!r}")
        check_choice("score", kw["score"], _SCORES)
        if name == "dense_S2":
            g1, g2 = np.array(atoms[0][:3]), np.array(atoms[1][:3])
            g1[{"full": [], "partial": [1], "linear": [0]}[kw["score"]]] = 0.0
            g2[{"full": [], "partial": [1], "linear": [0]}[kw["score"]]] = 0.0
            if np.array_equal(g1, -g2) or np.array_equal(g1, g2):
                raise ValueError("dense_S2 needs two distinct, non-reflected gates; got gates "
                                 f"{tuple(g1)} and {tuple(g2)} (use dense_S2_reflected for "
                                 "s2 = -s1)")
            if g1[0] == 0 and g1[1] == 0 or g2[0] == 0 and g2[1] == 0:
                raise ValueError("dense_S2 needs non-constant gates (A, b) != (0, 0), got "
                                 f"{tuple(g1)}, {tuple(g2)}")
        if any(at[3] == 0 and at[4] == 0 for at in atoms):
            raise ValueError("experts must be non-zero, (a, a0) != (0, 0)")
        kw["atoms"] = atoms
    if name == "negative_control":
        d = kw["d"] = check_int("d", kw["d"], low=1, high=3)
        a = kw["a"] if kw["a"] is not None else (1.2, -0.9, 0.6)[:d]
        a = tuple(check_real("a", v) for v in a)
        if len(a) != d or all(v == 0 for v in a):
            raise ValueError(f"a must be a non-zero vector of length d = {d}, got {a}")
        kw["a"] = a
    for k in ("A", "b", "a", "a0", "c", "w", "u", "v", "eta1", "eta2", "A_diag", "A_off"):
        if k in kw and not (name == "negative_control" and k == "a"):
            kw[k] = check_real(k, kw[k])
    if name in ("P1", "P2", "P3", "P4", "P1_augmented", "S1", "S1_b") and kw["a"] == 0:
        raise ValueError("a must be non-zero (the expert slope), got 0")
    if name == "input_independent" and kw["eta1"] == kw["eta2"]:
        raise ValueError(f"eta1 and eta2 must differ, got {kw['eta1']}")
    return tuple(sorted(kw.items()))


def rank_family(name: str, **params) -> Family:
    """Build one function family of sigmoid_moe.md §6.4 with its expected verdict.

    Parameters
    ----------
    name : str
        One of :func:`family_names`:

        * ``"P1"``, ``"P2"``, ``"P3"``, ``"P4"``: the two (three) sides of each softmax
          identity of §6.2 as functions of x (dependent); params ``A, b, a, a0``.
        * ``"S1"``: ``{dv/dc, dv/da, dv/da0}`` at a constant sigmoid gate; ``"S1_b"``:
          ``{d2v/db da0, dv/da}`` (dependent); params ``c, a, a0``.
        * ``"negative_control"``: monomial score, symmetric A indexed ``k <= l``:
          ``{du/dA_kl, du/da_k, du/da0, d2u/dA_kl da0}`` (independent); params ``d`` (1-3),
          ``a`` (length d, non-zero), ``a0``, ``A_diag``, ``A_off``.
        * ``"P1_augmented"``: first-order set with b plus ``d2u/db da0`` (dependent).
        * ``"linear_expert_bias"``: ``{dh/da, dh/da0, x dh/da0}`` (dependent).
        * ``"inner_bias"``: ``w act(ux + v)``: ``{dh/du, x dh/dv}`` (dependent); params
          ``act`` ("gelu" | "tanh"), ``w, u, v``.
        * ``"bias_free"``: ``w act(ux)`` linear-gate family per atom ``{dh/dw, dh/du,
          d2h/du2, x dh/dw, x dh/du}`` (independent); params ``act``, ``atoms`` (sequence of
          ``(w, u)``, ``u > 0``, ``w != 0``, distinct u); default two atoms
          ``(1.2, 0.5), (-0.8, 2)``.
        * ``"gelu_extended"``: as ``bias_free`` with ``x^2 dh/dw, x^2 dh/du`` added, GELU only
          (dependent through the exact identity of §6.4).
        * ``"input_independent"``: ``{c'(eta1), c'(eta2)}`` (dependent).
        * ``"dense_S2"``: sigmoid, fully quadratic score, linear expert, two distinct
          non-reflected atoms ``(A, b, c, a, a0)``: ``{dv/dA, dv/db, dv/dc, dv/da, dv/da0}`` per
          atom (independent); ``"dense_S2_reflected"``: the same with atom 2's gate replaced by
          ``-s1`` (dependent, rank deficiency 2).  Param ``score``: ``"full"`` (default,
          ``A x^2 + b x + c``), ``"partial"`` (``A x^2 + c``; b is set to 0 and ``dv/db``
          dropped) or ``"linear"`` (``b x + c``; A set to 0, ``dv/dA`` dropped).  Reflected
          verdicts (§2 item 3): full -> dependent (deficiency 2), linear -> dependent
          (deficiency 1), partial -> independent unless ``h1`` is proportional to ``h2``.
    **params
        Family parameters (see above); defaults are generic values.

    Returns
    -------
    Family
        Functions of ``x`` with parameters substituted, the expected verdict and evidence label.

    Raises
    ------
    ValueError
        Unknown family or parameter, non-finite values, ``u <= 0``, ``w == 0``, equal atoms,
        reflected or constant gates in ``dense_S2``.

    Notes
    -----
    sigmoid_moe.md §6.4 [MATH] (the verdicts follow from §6.2, §6.3, §3.4; the published
    classification behind ``bias_free`` is [RELATED:2505.10860]).  Verdict thresholds
    (§6.4): ``sigma_min / sigma_max > 1e-6`` independent, ``< 1e-12`` dependent, after
    normalising columns, at ``m >= 20 x size`` points.

    Examples
    --------
    >>> fam = rank_family("dense_S2_reflected")
    >>> fam.size, fam.expected
    (10, 'dependent')
    """
    key = _rank_family_iv(name, params)
    return _build_family(name, key)


def _np_erf(z):
    return np.frompyfunc(math.erf, 1, 1)(z).astype(np.float64)


@functools.cache
def _lambdified_family(fam: Family) -> Callable:
    return sp.lambdify(list(fam.variables), list(fam.functions),
                       modules=[{"erf": _np_erf}, "numpy"])


def family_function(fam: Family) -> Callable[[np.ndarray], np.ndarray]:
    """Return a numpy callable ``f(points) -> (m, size)`` for a family.

    Parameters
    ----------
    fam : Family
        A family from :func:`rank_family`.

    Returns
    -------
    callable
        See :func:`family_matrix`.

    Notes
    -----
    sigmoid_moe.md §6.4 step 1 [MATH].
    """
    if not isinstance(fam, Family):
        raise ValueError(f"fam must be a Family from rank_family, got {type(fam).__name__}")
    fn = _lambdified_family(fam)
    d = len(fam.variables)

    def evaluate(points) -> np.ndarray:
        pts = _points_iv(points, d)
        cols = fn(*[pts[:, k] for k in range(d)])
        m = pts.shape[0]
        return np.column_stack(
            [np.broadcast_to(np.asarray(col, dtype=np.float64), (m,)) for col in cols]
        )

    return evaluate


def _points_iv(points, d: int) -> np.ndarray:
    pts = check_array("points", points)
    if d == 1 and pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] != d or pts.shape[0] < 1:
        raise ValueError(f"points must have shape (m,) or (m, 1) for d = 1 and (m, {d}) "
                         f"otherwise, with m >= 1; got {np.shape(points)} for d = {d}")
    return pts


def family_matrix(fam: Family, points) -> np.ndarray:
    """Evaluate a family at points: the ``m x size`` matrix of the rank test.

    Parameters
    ----------
    fam : Family
        A family from :func:`rank_family`.
    points : array_like, shape (m,) or (m, d)
        Evaluation points (e.g. uniform on ``[-2, 2]^d``).

    Returns
    -------
    ndarray, shape (m, fam.size)
        Column j holds ``fam.functions[j]`` at the points (not normalised).

    Notes
    -----
    sigmoid_moe.md §6.4 step 1 [MATH]; normalisation and singular values are the caller's.

    Examples
    --------
    >>> fam = rank_family("linear_expert_bias")
    >>> family_matrix(fam, [0.5, -1.0]).tolist()
    [[0.5, 1.0, 0.5], [-1.0, 1.0, -1.0]]
    """
    return family_function(fam)(points)
