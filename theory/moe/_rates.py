"""Implied rates, sample complexities and theorem tables (sigmoid_moe.md §4, §5).

The Voronoi losses put exponent 1 on exactly specified cells and exponent 2 (D1, D3) or
``r`` / ``r/2`` (D2) on over-specified cells, while every loss itself decays like
``(log n / n)^{1/2}``.  A parameter that enters a loss with exponent ``e`` therefore converges
at ``n^{-1/(2e)}`` (up to logarithms) and needs ``n ~ eps^{-2e}`` samples for error ``eps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.core._validate import check_choice, check_int
from theory.moe._rsystem import r_value

__all__ = [
    "ImpliedRate",
    "Theorem",
    "implied_rate",
    "implied_rates_table",
    "theorem",
    "theorem_table",
]

_LOSSES = ("D1", "D2", "D3", "D4")
_SPECS = ("exact", "over")
_D2_SLOW = ("eta1", "nu")  # enter D2 with exponent r/2
_D2_SLOWER = ("beta1", "eta0", "expert")  # enter D2 with exponent r
_LABEL = {
    "D1": "RELATED:2505.10860 (Thm 1, A1); quadratic-score version INFERRED",
    "D2": "RELATED:2505.10860 (Thm 2, A2); quadratic-score version INFERRED",
    "D3": "RELATED:2505.10860 (Thm 3, A3); quadratic-score adaptation INFERRED (T1)",
    "D4": "RELATED:2505.10860 (Thm 4, A4); quadratic-score adaptation INFERRED (T3)",
}


@dataclass(frozen=True)
class ImpliedRate:
    """One row of the implied-rates table of sigmoid_moe.md §4.

    Attributes
    ----------
    loss : str
        ``"D1"``, ``"D2"``, ``"D3"`` or ``"D4"``.
    specification : str
        ``"exact"`` (|A_j| = 1) or ``"over"`` (|A_j| > 1).
    parameter : str
        ``"loss"`` (the aggregate loss), ``"all"`` (every parameter of the cell), or for D2
        over-specified: ``"eta1"``, ``"nu"``, ``"beta1"``, ``"eta0"``, ``"expert"``.
    cell_size : int or None
        ``|A_j|`` when the rate depends on it (D2 over-specified), else None.
    rate_exponent : sympy.Rational
        ``a`` in ``error = O~_P(n^{-a})``.
    sample_complexity : sympy.Rational
        ``k`` in ``n ~ eps^{-k}`` (``k = 1/a``).
    label : str
        Evidence label.
    """

    loss: str
    specification: str
    parameter: str
    cell_size: int | None
    rate_exponent: sp.Rational
    sample_complexity: sp.Rational
    label: str

    @property
    def slope(self) -> sp.Rational:
        """Predicted log-log slope of the error against n (``-rate_exponent``)."""
        return -self.rate_exponent


def _implied_rate_iv(loss, specification, parameter, cell_size):
    check_choice("loss", loss, _LOSSES)
    check_choice("specification", specification, _SPECS)
    allowed = ("loss", "all")
    if loss == "D2" and specification == "over":
        allowed = ("loss", *_D2_SLOW, *_D2_SLOWER)
    if parameter not in allowed:
        raise ValueError(f"parameter must be one of {allowed} for {loss} {specification}-"
                         f"specified, got {parameter!r}")
    need_m = loss == "D2" and specification == "over" and parameter != "loss"
    if need_m:
        if isinstance(cell_size, bool) or not isinstance(cell_size, int) or cell_size < 2:
            raise ValueError(f"cell_size must be an integer >= 2 (|A_j| of an over-specified "
                             f"cell) for D2 over-specified rates, got {cell_size!r}")
        rv = r_value("r2", cell_size)
        if not rv.exact:
            raise ValueError(f"cell_size must be 2 or 3: r2({cell_size}) is only known to be "
                             f">= {rv.value}, so the rate is only bounded, got {cell_size}")
    elif cell_size is not None:
        check_int("cell_size", cell_size, low=1)
    if specification == "exact" and cell_size not in (None, 1):
        raise ValueError(f"cell_size must be 1 (or None) for an exactly specified cell, got "
                         f"{cell_size}")
    if specification == "over" and cell_size == 1:
        raise ValueError("cell_size must be >= 2 for an over-specified cell, got 1")
    return need_m


def implied_rate(
    loss: str, specification: str, *, parameter: str = "all", cell_size: int | None = None
) -> ImpliedRate:
    """Return the predicted convergence exponent of a parameter (or of a loss).

    Parameters
    ----------
    loss : {"D1", "D2", "D3", "D4"}
        Voronoi loss of sigmoid_moe.md §4.
    specification : {"exact", "over"}
        Exactly (|A_j| = 1) or over-specified (|A_j| > 1) cell.
    parameter : str, optional
        ``"all"`` (default; every parameter of the cell), ``"loss"`` (the aggregate loss), or
        for D2 over-specified ``"eta1"``, ``"nu"`` (rate ``n^{-1/r}``), ``"beta1"``, ``"eta0"``,
        ``"expert"`` (rate ``n^{-1/(2r)}``), with ``r = r2(|A_j|)``.
    cell_size : int, optional
        ``|A_j|``; required (2 or 3) for the D2 over-specified parameter rates.

    Returns
    -------
    ImpliedRate
        Exponent ``a`` of ``n^{-a}``, sample complexity ``eps^{-1/a}``, label.

    Raises
    ------
    ValueError
        Unknown loss/specification/parameter; missing cell size for D2; ``|A_j| >= 4`` for D2
        (``r2`` is only bounded below there).

    Notes
    -----
    Implied-rates table of sigmoid_moe.md §4: every loss is ``O_P((log n/n)^{1/2})``; a term
    with exponent e gives ``n^{-1/(2e)}``.  D1, D3: exact 1/2, over 1/4 (``eps^{-4}``); D2: exact
    1/2, over ``eta1, nu``: ``1/r``, ``beta1, eta0``: ``1/(2r)`` (``eps^{-12}`` for ``r = 6``);
    D4: 1/2 everywhere (``eps^{-2}``, no over-specified cells w.r.t. the limit).  Labels
    [RELATED:2505.10860] for the linear-gate results, [INFERRED] for the quadratic-score
    adaptation.

    Examples
    --------
    >>> implied_rate("D2", "over", parameter="expert", cell_size=3).slope
    -1/12
    """
    need_m = _implied_rate_iv(loss, specification, parameter, cell_size)
    half = sp.Rational(1, 2)
    if parameter == "loss" or specification == "exact" or loss == "D4":
        a = half
    elif loss in ("D1", "D3"):
        a = sp.Rational(1, 4)
    else:
        if cell_size is None:  # guarded by _implied_rate_iv for over-specified D2
            raise ValueError("cell_size is required for an over-specified D2 rate")
        r = r_value("r2", cell_size).value
        a = sp.Rational(1, r) if parameter in _D2_SLOW else sp.Rational(1, 2 * r)
    m = cell_size if need_m else (1 if specification == "exact" and cell_size == 1 else None)
    return ImpliedRate(loss, specification, parameter, m, a, 1 / a, _LABEL[loss])


def implied_rates_table() -> tuple[ImpliedRate, ...]:
    """Return every row of the implied-rates table (D2 for |A_j| = 2 and 3).

    Returns
    -------
    tuple of ImpliedRate
        Rows in the order of sigmoid_moe.md §4.

    Notes
    -----
    sigmoid_moe.md §4, "Implied rates" [RELATED:2505.10860 / INFERRED, per row].
    """
    rows = []
    for loss in _LOSSES:
        rows.append(implied_rate(loss, "exact"))
        if loss == "D2":
            for m in (2, 3):
                for par in (*_D2_SLOW, *_D2_SLOWER):
                    rows.append(implied_rate(loss, "over", parameter=par, cell_size=m))
        else:
            rows.append(implied_rate(loss, "over"))
    return tuple(rows)


@dataclass(frozen=True)
class Theorem:
    """One theorem record of sigmoid_moe.md §5.

    Attributes
    ----------
    id : str
        ``"A1"``-``"A7"`` (results of related papers) or ``"T0"``-``"T4"`` (what 2502.00281
        most likely proves).
    source : str
        Paper and theorem.
    gate, score, regime, experts : str
        Setting (empty where the spec does not split it).
    result : str
        The stated result.
    label : str
        Evidence label.
    """

    id: str
    source: str
    gate: str
    score: str
    regime: str
    experts: str
    result: str
    label: str


_THEOREMS = (
    Theorem("A1", "2505.10860 Thm 1", "softmax", "linear", "", "strongly identifiable",
            "Gaussian MoE, MLE: D1 = O_P((log n/n)^{1/2}); exact O~(n^{-1/2}), "
            "over-specified O~(n^{-1/4})",
            "RELATED:2505.10860"),
    Theorem("A2", "2505.10860 Thm 2", "softmax", "linear", "", "linear",
            "Gaussian MoE, MLE: D2 = O_P((log n/n)^{1/2}); rates of the implied-rates table "
            "(r2(|A_j|))",
            "RELATED:2505.10860"),
    Theorem("A3", "2505.10860 Thm 3", "normalised sigmoid", "linear", "sparse",
            "strongly identifiable",
            "D3 = O_P((log n/n)^{1/2}); same rates as softmax (no clear advantage)",
            "RELATED:2505.10860"),
    Theorem("A4", "2505.10860 Thm 4", "normalised sigmoid", "linear", "dense",
            "weakly identifiable (linear allowed)",
            "inf D4 = O_P((log n/n)^{1/2}); every routed expert O~(n^{-1/2}); eps^{-2}",
            "RELATED:2505.10860"),
    Theorem("A5", "2405.13997 (summaries)", "sigmoid", "linear", "", "ReLU/GELU, polynomial",
            "regression rate O~(n^{-1/2}); sigmoid faster than softmax (table entries UNKNOWN)",
            "RELATED:2405.13997"),
    Theorem("A6", "2410.11222 (abstract, summary)", "softmax", "quadratic", "", "",
            "monomial gate more sample-efficient than polynomial gate; non-linear experts "
            "faster than linear (exact rates UNKNOWN)", "RELATED:2410.11222"),
    Theorem("A7", "2402.02952 (as summarised by 2505.10860)", "softmax", "linear",
            "", "sigmoid/GELU networks; polynomial",
            "least squares: network experts: polynomial rates; polynomial experts "
            "(linear included): "
            "exponential-order sample complexity", "RELATED:2402.02952"),
    Theorem("T0", "2502.00281 (reconstruction)", "sigmoid", "full or partial", "any",
            "Lipschitz, bounded",
            "||f_Ghat - f_G*||_L2 = O_P(sqrt(log n/n)); dense regime: limit f_Gcheck",
            "INFERRED"),
    Theorem("T1", "2502.00281 (reconstruction)", "sigmoid", "full or partial", "sparse",
            "strongly identifiable",
            "L3-type loss O_P(sqrt(log n/n)): exact O~(n^{-1/2}), over O~(n^{-1/4}); comparable "
            "to softmax", "INFERRED"),
    Theorem("T2", "2502.00281 (reconstruction)", "sigmoid", "full vs partial", "sparse",
            "weakly identifiable (linear, polynomial)",
            "full score keeps the S1 interaction (slow, r-type rates); partial score faster "
            "(low confidence)", "INFERRED"),
    Theorem("T3", "2502.00281 (reconstruction)", "sigmoid", "full or partial", "dense",
            "weakly identifiable (linear, polynomial)",
            "L4-type loss O_P(sqrt(log n/n)): every parameter O~(n^{-1/2}), eps^{-2}",
            "INFERRED"),
    Theorem("T4", "2502.00281 (reconstruction)", "softmax", "polynomial / monomial",
            "over-specified", "strongly identifiable / linear",
            "strongly identifiable: n^{-1/2}, n^{-1/4}, eps^{-4}; linear: much slower, worst "
            "with the polynomial gate", "INFERRED"),
)


def theorem_table() -> tuple[Theorem, ...]:
    """Return the theorem records A1-A7 and T0-T4.

    Returns
    -------
    tuple of Theorem
        In the order of sigmoid_moe.md §5.1 and §5.2.

    Notes
    -----
    sigmoid_moe.md §5.1 [RELATED:...] and §5.2 [INFERRED].
    """
    return _THEOREMS


def theorem(id: str) -> Theorem:
    """Return one theorem record by its id.

    Parameters
    ----------
    id : str
        ``"A1"``-``"A7"`` or ``"T0"``-``"T4"``.

    Returns
    -------
    Theorem
        The record.

    Notes
    -----
    sigmoid_moe.md §5.
    """
    for t in _THEOREMS:
        if t.id == id:
            return t
    raise ValueError(f"id must be one of {[t.id for t in _THEOREMS]}, got {id!r}")
