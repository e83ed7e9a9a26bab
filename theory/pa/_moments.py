"""Population moments of the contextual mixture (prompt_attention.md §6.1, [MATH]).

The four moments ``E[y x_bar(0)]``, ``E[y C_hat(X)]``, ``E[C_hat(X)]`` and
``E[x_bar(0) x_bar(0)^T]`` are *derived* here from the definitions for a small symbolic
``(T, d)``: the label ``y`` and the noise ``z`` are symbols, the moments of ``y``
(Rademacher) and of ``z`` (standard normal) are substituted monomial by monomial, and the
relevant set ``R`` is averaged exactly (uniform ``K``-subsets, or independent positions
for ``relevant_count = "binomial"``).  The closed forms are built by one function,
:func:`_closed_forms`, used both on sympy matrices (symbolic check) and on numpy column
vectors (numeric evaluation, :func:`population_moments`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

from theory.core._validate import check_choice, check_int, check_real, check_vector

__all__ = [
    "PopulationMoments",
    "derive_population_moments",
    "population_moments",
    "verify_population_moments",
]


class PopulationMoments(NamedTuple):
    """The four moments of §6.1 (sympy matrices or numpy arrays).

    Attributes
    ----------
    y_xbar : column vector ``E[y x_bar(0)]`` (item 1)
    y_chat : matrix ``E[y C_hat(X)]`` (item 2)
    chat : matrix ``E[C_hat(X)]`` (item 3)
    xbar_outer : matrix ``E[x_bar(0) x_bar(0)^T]`` (item 4)
    """

    y_xbar: Any
    y_chat: Any
    chat: Any
    xbar_outer: Any


def _kappa_moments(zeta: Any, T: int, relevant_count: str) -> tuple[Any, Any, Any]:
    """``E[kappa^2]``, ``E[(1 - kappa)^2]``, ``E[kappa (1 - kappa)]`` for ``kappa = |R|/T``."""
    if relevant_count == "fixed":
        return zeta**2, (1 - zeta) ** 2, zeta * (1 - zeta)
    v = zeta * (1 - zeta) / T  # Var(kappa) for |R| ~ Binomial(T, zeta)
    return zeta**2 + v, (1 - zeta) ** 2 + v, zeta * (1 - zeta) - v


def _closed_forms(zeta: Any, T: int, q: Any, w: Any, mu: Any, sigma: Any, eye: Any,
                  relevant_count: str) -> PopulationMoments:
    # Works for sympy column matrices and for numpy (d, 1) arrays alike.
    k2, l2, kl = _kappa_moments(zeta, T, relevant_count)
    a = q - mu
    y_xbar = zeta * w
    y_chat = kl * (a @ w.T + w @ a.T)
    inv_T = sp.Rational(1, T) if isinstance(zeta, sp.Basic) else 1.0 / T
    chat = kl * (a @ a.T + w @ w.T) + sigma**2 * (1 - inv_T) * eye
    xbar_outer = (k2 * (q @ q.T + w @ w.T) + l2 * (mu @ mu.T) + kl * (q @ mu.T + mu @ q.T)
                  + sigma**2 * inv_T * eye)
    return PopulationMoments(y_xbar, y_chat, chat, xbar_outer)


def _moments_iv(zeta: Any, T: Any, sigma: Any, relevant_count: Any) -> tuple[float, int, float]:
    T = check_int("T", T, low=1)
    zeta = check_real("zeta", zeta, low=0.0, high=1.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    check_choice("relevant_count", relevant_count, ("fixed", "binomial"))
    return zeta, T, sigma


def _column(name: str, v: Any, d: int | None) -> np.ndarray:
    return check_vector(name, v, dim=d)[:, None]


def population_moments(zeta: float, q_star: Any, w_star: Any, mu_irr: Any = None, *,
                       sigma: float, T: int,
                       relevant_count: str = "fixed") -> PopulationMoments:
    """Closed forms of the four population moments of §6.1, evaluated numerically.

    Parameters
    ----------
    zeta : float
        Sparsity in ``(0, 1]`` (for ``"fixed"`` it is ``K/T``).
    q_star, w_star : array_like, shape (d,)
        Context and label vectors (any angle between them).
    mu_irr : array_like, shape (d,), optional
        Mean of the irrelevant tokens (default 0).
    sigma : float
        Noise level, ``> 0``.
    T : int
        Sequence length, ``>= 1``.
    relevant_count : {"fixed", "binomial"}, default "fixed"
        Law of the relevant set (switch ``pa.relevant_count`` [INFERRED]).

    Returns
    -------
    PopulationMoments
        ``y_xbar`` shape ``(d,)``; the three matrices shape ``(d, d)``.

    Notes
    -----
    prompt_attention.md §6.1 items 1-4, Variant A [MATH]:
    ``E[y x_bar] = zeta w*``; ``E[y C_hat] = F [(q* - mu) w*^T + w* (q* - mu)^T]``;
    ``E[C_hat] = F [(q* - mu)(q* - mu)^T + w* w*^T] + sigma^2 (1 - 1/T) I``;
    ``E[x_bar x_bar^T] = E[k^2](q* q*^T + w* w*^T) + E[(1-k)^2] mu mu^T
    + E[k(1-k)](q* mu^T + mu q*^T) + (sigma^2/T) I`` with ``k = |R|/T``.
    For ``"fixed"``, ``k = zeta`` and ``F = zeta (1 - zeta)``; for ``"binomial"``,
    ``F = E[k(1-k)] = zeta (1 - zeta)(1 - 1/T)`` and ``E[k^2] = zeta^2 + zeta(1-zeta)/T``
    (item 4 in the binomial case is derived in this module, [MATH], and checked by
    :func:`verify_population_moments`).  Variant D: pass the expected irrelevant mean.

    Examples
    --------
    >>> m = population_moments(0.5, [1.0, 0.0], [0.0, 2.0], sigma=1.0, T=4)
    >>> m.y_chat.round(3).tolist()
    [[0.0, 0.5], [0.5, 0.0]]
    """
    zeta, T, sigma = _moments_iv(zeta, T, sigma, relevant_count)
    q = _column("q_star", q_star, None)
    d = q.shape[0]
    w = _column("w_star", w_star, d)
    mu = np.zeros((d, 1)) if mu_irr is None else _column("mu_irr", mu_irr, d)
    out = _closed_forms(zeta, T, q, w, mu, sigma, np.eye(d), relevant_count)
    return PopulationMoments(out.y_xbar.ravel(), *out[1:])


def _expectation_operator(y: sp.Symbol, zs: list[sp.Symbol]) -> Callable[[sp.Expr], sp.Expr]:
    """``E`` over ``y`` Rademacher and i.i.d. standard normal ``zs``, monomial by monomial."""

    def normal_moment(k: int) -> int:
        return 0 if k % 2 else math.prod(range(k - 1, 0, -2))

    gens = [y, *zs]

    def expect(expr: sp.Expr) -> sp.Expr:
        expr = sp.expand(expr)
        if expr == 0:
            return sp.Integer(0)
        poly = sp.Poly(expr, *gens)
        total = sp.Integer(0)
        for powers, coeff in poly.terms():
            factor = 0 if powers[0] % 2 else 1
            for k in powers[1:]:
                if factor == 0:
                    break
                factor *= normal_moment(k)
            if factor:
                total += coeff * factor
        return total

    return expect


def _symbols(d: int) -> dict[str, Any]:
    vec = lambda n: sp.Matrix(d, 1, lambda j, _: sp.Symbol(f"{n}_{j}", real=True))  # noqa: E731
    return {
        "q_star": vec("qs"),
        "w_star": vec("ws"),
        "mu_irr": vec("mu"),
        "sigma": sp.Symbol("sigma", positive=True),
        "zeta": sp.Symbol("zeta", positive=True),
    }


def _derive_iv(T: Any, d: Any, K: Any, relevant_count: Any) -> tuple[int, int, int | None]:
    T, d = check_int("T", T, low=1), check_int("d", d, low=1)
    if T * d > 16:
        raise ValueError(f"T*d must be <= 16 for the symbolic derivation, got T={T}, d={d}")
    if check_choice("relevant_count", relevant_count, ("fixed", "binomial")) == "fixed":
        K = check_int("K", K, low=1, high=T)
    return T, d, K


def derive_population_moments(T: int, d: int, *, K: int | None = None,
                              relevant_count: str = "fixed"
                              ) -> tuple[PopulationMoments, PopulationMoments, dict[str, Any]]:
    """Derive the §6.1 moments from the definitions, and build the closed forms.

    Parameters
    ----------
    T, d : int
        Sequence length and dimension (``T d <= 16``).
    K : int, optional
        Number of relevant tokens (required for ``"fixed"``; ``zeta = K/T``).
    relevant_count : {"fixed", "binomial"}, default "fixed"
        For ``"binomial"`` ``zeta`` stays a positive symbol.

    Returns
    -------
    derived : PopulationMoments
        Moments computed from ``x_t = q* + y w* + sigma z_t`` (``t`` in ``R``),
        ``x_t = mu + sigma z_t`` (otherwise), averaging ``y``, ``z`` and ``R`` exactly.
    closed : PopulationMoments
        The closed forms of §6.1 in the same symbols.
    symbols : dict
        ``q_star``, ``w_star``, ``mu_irr`` (sympy column vectors), ``sigma``, ``zeta``.

    Notes
    -----
    prompt_attention.md §6.1 [MATH]; moments substituted: ``E[y] = 0``, ``E[y^2] = 1``
    (``y`` Rademacher), ``z`` entries i.i.d. ``N(0, 1)`` (all moments).
    """
    T, d, K = _derive_iv(T, d, K, relevant_count)
    sy = _symbols(d)
    q, w, mu, sigma = sy["q_star"], sy["w_star"], sy["mu_irr"], sy["sigma"]
    y = sp.Symbol("y", real=True)
    Z = sp.Matrix(T, d, lambda t, j: sp.Symbol(f"z_{t}_{j}", real=True))
    expect = _expectation_operator(y, list(Z))
    if relevant_count == "fixed":
        assert K is not None  # guaranteed by _derive_iv
        zeta: Any = sp.Rational(K, T)
        subsets = [(set(R), sp.Rational(1, math.comb(T, K)))
                   for R in itertools.combinations(range(T), K)]
    else:
        zeta = sy["zeta"]
        subsets = [
            (set(R), zeta ** len(R) * (1 - zeta) ** (T - len(R)))
            for k in range(T + 1) for R in itertools.combinations(range(T), k)
        ]
    acc = [sp.zeros(d, 1), sp.zeros(d, d), sp.zeros(d, d), sp.zeros(d, d)]
    for R, weight in subsets:
        rows = [(q + y * w if t in R else mu) + sigma * Z[t, :].T for t in range(T)]
        xbar = sum(rows, sp.zeros(d, 1)) / T
        gram = sum((r * r.T for r in rows), sp.zeros(d, d)) / T
        chat = gram - xbar * xbar.T
        for i, M in enumerate((y * xbar, y * chat, chat, xbar * xbar.T)):
            acc[i] += weight * M.applyfunc(expect)
    derived = PopulationMoments(*(M.applyfunc(sp.expand) for M in acc))
    closed = _closed_forms(zeta, T, q, w, mu, sigma, sp.eye(d), relevant_count)
    return derived, closed, sy


def verify_population_moments(T: int, d: int, *, K: int | None = None,
                              relevant_count: str = "fixed") -> dict[str, bool]:
    """Check symbolically that each derived moment equals its closed form.

    Parameters
    ----------
    T, d, K, relevant_count
        As in :func:`derive_population_moments`.

    Returns
    -------
    dict of str to bool
        One entry per moment name of :class:`PopulationMoments`.

    Examples
    --------
    >>> verify_population_moments(2, 2, K=1)
    {'y_xbar': True, 'y_chat': True, 'chat': True, 'xbar_outer': True}
    """
    derived, closed, _ = derive_population_moments(T, d, K=K, relevant_count=relevant_count)
    out = {}
    for name, a, b in zip(PopulationMoments._fields, derived, closed, strict=True):
        out[name] = all(sp.expand(e) == 0 for e in (a - b))
    return out
