"""Expressivity construction that defeats LIN and uniform pooling (prompt_attention.md §10.1).

Variant C, ``T = 3``, ``<q*, w*> = 0``: the tokens for label ``y`` are
``{q* + y w*, -q* + y w*, -2 y w*}``.  Proved here by symbolic simplification, for generic
symbolic vectors in dimension ``d`` (``w*`` is made orthogonal to ``q*`` by construction):
``sum_t x_t = 0``; ``X^T X = 2 q* q*^T + 6 w* w*^T`` for both labels (so linear
prompt-attention is label-blind); and
``f_PA(X; Gamma q*, w*) = y ||w*||^2 (2 cosh c - 2) / (2 cosh c + 1)``, ``c = Gamma ||q*||^2``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from theory.core._validate import check_choice, check_int, check_real, check_vector

__all__ = [
    "construction_f_pa",
    "construction_identities",
    "construction_tokens",
    "verify_construction",
]


def construction_tokens(y: int, q_star: Any, w_star: Any) -> Any:
    """The three tokens of the §10.1 construction as rows (sympy or numpy).

    Parameters
    ----------
    y : {+1, -1}
        Label.
    q_star, w_star : sympy column matrices or array_like of shape (d,)
        Context and label vectors (orthogonal for the PA formula).

    Returns
    -------
    sympy.Matrix or ndarray, shape (3, d)
        Rows ``q* + y w*``, ``-q* + y w*``, ``-2 y w*``.

    Notes
    -----
    prompt_attention.md §10.1 [MATH] (Variant C).
    """
    check_choice("y", y, (1, -1))
    if isinstance(q_star, sp.MatrixBase):
        rows = [q_star + y * w_star, -q_star + y * w_star, -2 * y * w_star]
        return sp.Matrix.vstack(*(r.T for r in rows))
    q = check_vector("q_star", q_star)
    w = check_vector("w_star", w_star, dim=q.size)
    return np.stack([q + y * w, -q + y * w, -2.0 * y * w])


def construction_f_pa(y: int, c: float, *, w_norm: float) -> float:
    """``f_PA = y ||w*||^2 (2 cosh c - 2) / (2 cosh c + 1)`` with ``c = Gamma ||q*||^2``.

    Notes
    -----
    prompt_attention.md §10.1 [MATH]; computed as ``2 (cosh c - 1) / (2 cosh c + 1)`` with
    ``cosh c - 1 = 2 sinh^2(c/2)`` (no cancellation at small ``c``; overflow-safe).

    Examples
    --------
    >>> construction_f_pa(1, 0.0, w_norm=1.0)
    0.0
    """
    check_choice("y", y, (1, -1))
    c = abs(check_real("c", c))
    w_norm = check_real("w_norm", w_norm, low=0.0)
    if c > 700.0:
        ratio = 1.0 - 3.0 / (2.0 * math.cosh(min(c, 709.0)) + 1.0)
    else:
        cm1 = 2.0 * math.sinh(c / 2.0) ** 2
        ratio = 2.0 * cm1 / (2.0 * cm1 + 3.0)
    return y * w_norm**2 * ratio


def construction_identities(d: int = 3) -> dict[str, sp.Expr | sp.Matrix]:
    """Residuals of the §10.1 identities (each must simplify to zero).

    Parameters
    ----------
    d : int, default 3
        Dimension (``2 <= d <= 4``).  ``q*`` has generic real entries; ``w*`` is a
        generic combination orthogonal to ``q*`` (``w* = (I q*^T q* - q* q*^T) a`` for a
        generic ``a``), so ``<q*, w*> = 0`` holds identically.

    Returns
    -------
    dict
        ``"sum_tokens_+1"``, ``"sum_tokens_-1"`` (``sum_t x_t``), ``"gram_+1"``,
        ``"gram_-1"`` (``X^T X - 2 q* q*^T - 6 w* w*^T``), ``"gram_label_difference"``,
        ``"f_pa_+1"``, ``"f_pa_-1"`` (PA output minus the cosh formula, as an expression
        in ``Gamma``), ``"inner_product"`` (``<q*, w*>``).

    Notes
    -----
    prompt_attention.md §10.1 [MATH].  The linear model ``f_LIN`` depends on ``X`` only
    through ``X^T X``, so ``gram_label_difference = 0`` proves that LIN is exactly at
    chance; ``sum_tokens = 0`` does the same for uniform pooling.
    """
    d = check_int("d", d, low=2, high=4)
    q = sp.Matrix(sp.symbols(f"q0:{d}", real=True))
    a = sp.Matrix(sp.symbols(f"a0:{d}", real=True))
    w = ((q.T * q)[0, 0] * sp.eye(d) - q * q.T) * a
    gamma = sp.Symbol("Gamma", positive=True)
    qq, ww = (q.T * q)[0, 0], (w.T * w)[0, 0]
    c = gamma * qq
    out: dict[str, sp.Expr | sp.Matrix] = {"inner_product": sp.expand((q.T * w)[0, 0])}
    grams = {}
    for y in (1, -1):
        X = construction_tokens(y, q, w)
        out[f"sum_tokens_{y:+d}"] = (X.T * sp.ones(3, 1)).applyfunc(sp.expand)
        grams[y] = X.T * X
        out[f"gram_{y:+d}"] = (grams[y] - 2 * q * q.T - 6 * w * w.T).applyfunc(sp.expand)
        scores = X * (gamma * q)
        e = [sp.exp(sp.expand(s)) for s in scores]
        f = sum(ei * (X[t, :] * w)[0, 0] for t, ei in enumerate(e)) / sum(e)
        formula = y * ww * (2 * sp.cosh(c) - 2) / (2 * sp.cosh(c) + 1)
        # <q*, w*> = 0 holds identically, so the scores reduce to +-c and 0.
        out[f"f_pa_{y:+d}"] = f - formula
    out["gram_label_difference"] = (grams[1] - grams[-1]).applyfunc(sp.expand)
    return out


def verify_construction(d: int = 3) -> dict[str, bool]:
    """Simplify every residual of :func:`construction_identities` and report zeros.

    Examples
    --------
    >>> all(verify_construction(2).values())
    True
    """
    out = {}
    for name, expr in construction_identities(d).items():
        if isinstance(expr, sp.MatrixBase):
            out[name] = all(sp.simplify(e) == 0 for e in expr)
        else:
            e = sp.expand(expr)
            if name.startswith("f_pa"):
                e = sp.simplify(sp.expand(e.rewrite(sp.exp)))
            out[name] = sp.simplify(e) == 0
    return out
