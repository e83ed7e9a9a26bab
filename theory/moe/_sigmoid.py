"""The logistic sigmoid and its derivatives as sympy expressions (sigmoid_moe.md §6.1).

``sigma(z) = 1 / (1 + exp(-z))`` is written out explicitly (not as a sympy function class) so
that ``sympy.diff`` produces the derivatives from the definition and the closed forms
``sigma' = sigma (1 - sigma)`` and ``sigma'' = sigma (1 - sigma)(1 - 2 sigma)`` are checked
against them rather than assumed.
"""

from __future__ import annotations

import sympy as sp

from theory.core._validate import check_int

__all__ = ["logit", "sigma", "sigma_derivative"]


def sigma(z: sp.Expr) -> sp.Expr:
    """Return the logistic sigmoid ``1 / (1 + exp(-z))`` of a sympy expression.

    Parameters
    ----------
    z : sympy.Expr
        Argument (a score).

    Returns
    -------
    sympy.Expr
        ``1 / (1 + exp(-z))``.

    Notes
    -----
    Definition of sigmoid_moe.md §2 and §6.1 [MATH].

    Examples
    --------
    >>> import sympy as sp
    >>> sigma(sp.Integer(0))
    1/2
    """
    z = sp.sympify(z)
    return 1 / (1 + sp.exp(-z))


def sigma_derivative(z: sp.Expr, order: int = 1) -> sp.Expr:
    """Return the ``order``-th derivative of the sigmoid, evaluated at ``z``.

    Parameters
    ----------
    z : sympy.Expr
        Argument.
    order : int, optional
        Derivative order, ``order >= 0`` (default 1).

    Returns
    -------
    sympy.Expr
        ``sigma^{(order)}(z)``, obtained with ``sympy.diff`` of the definition.

    Notes
    -----
    sigmoid_moe.md §6.1 [MATH]; the closed forms are verified by
    ``verify_identity("sigma_prime")`` and ``verify_identity("sigma_second")``.
    """
    order = check_int("order", order, low=0)
    t = sp.Dummy("t", real=True)
    return sp.diff(sigma(t), t, order).subs(t, sp.sympify(z))


def logit(p: sp.Expr) -> sp.Expr:
    """Return ``log(p / (1 - p))``, the inverse of :func:`sigma` on (0, 1).

    Parameters
    ----------
    p : sympy.Expr
        Probability-valued expression.

    Returns
    -------
    sympy.Expr
        ``log(p / (1 - p))``.

    Notes
    -----
    Used for the constant-gate split ``c1 = c2 = logit(sigma(c) / 2)`` of sigmoid_moe.md §6.3
    S3 [MATH].
    """
    p = sp.sympify(p)
    return sp.log(p / (1 - p))
