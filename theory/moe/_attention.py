"""One self-attention row written as a quadratic-gate mixture of experts (sigmoid_moe.md §2).

Two routes to the same function:

* the *direct* form ``SA(X) = softmax_row(X W_Q W_K^T X^T / sqrt(d_k)) X W_V`` (and the
  element-wise sigmoid variant with bias ``beta = -log N``);
* the *MoE* form, with the flattened input ``Xbar = (x_1^T, ..., x_N^T)^T``, the selectors
  ``E_j = e_j^T kron I_d`` and the gate matrices ``M_ij = E_i^T W_Q W_K^T E_j / sqrt(d_k)``:
  row i is ``sum_j gate_j(Xbar^T M_ij Xbar) W_V^T E_j Xbar``.

Both are available symbolically (sympy; :func:`verify_attention_moe` proves equality for tiny
sizes) and as numpy evaluators (numpy is used only to evaluate these formulas).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import sympy as sp

from theory.core._validate import check_array, check_choice, check_int, check_real
from theory.moe._identities import _is_zero
from theory.moe._sigmoid import sigma

__all__ = [
    "attention_moe_matrices",
    "attention_rows",
    "attention_rows_lambdified",
    "attention_rows_moe",
    "attention_symbols",
    "attention_symbolic",
    "selector",
    "verify_attention_moe",
]

_GATES = ("softmax", "sigmoid")


def _size_iv(**sizes: int) -> None:
    for key, val in sizes.items():
        check_int(key, val, low=1)


def _gate_iv(gate: str) -> None:
    check_choice("gate", gate, _GATES)


def _beta_value(gate: str, beta: float | None, N: int):
    if gate == "softmax":
        if beta is not None:
            raise ValueError(f"beta applies to the sigmoid gate only, got beta={beta!r} with "
                             "gate='softmax' (a shared bias cancels in the softmax)")
        return None
    if beta is None:
        return -math.log(N)
    return check_real("beta", beta)


# ---------------------------------------------------------------------------------------------
# symbolic side


@functools.cache
def attention_symbols(N: int, d: int, d_k: int, d_v: int) -> dict[str, sp.Matrix]:
    """Return real symbol matrices ``X (N x d)``, ``W_Q, W_K (d x d_k)``, ``W_V (d x d_v)``.

    Parameters
    ----------
    N, d, d_k, d_v : int
        Number of tokens, token dimension, key dimension, value dimension (all >= 1).

    Returns
    -------
    dict
        Keys ``"X"``, ``"W_Q"``, ``"W_K"``, ``"W_V"`` mapping to sympy Matrices of real
        symbols.

    Notes
    -----
    Notation of sigmoid_moe.md §2 [MATH].
    """
    _size_iv(N=N, d=d, d_k=d_k, d_v=d_v)

    def mat(name: str, r: int, c: int) -> sp.Matrix:
        return sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True))

    return {
        "X": mat("X", N, d),
        "W_Q": mat("Q", d, d_k),
        "W_K": mat("K", d, d_k),
        "W_V": mat("V", d, d_v),
    }


def selector(j: int, N: int, d: int) -> sp.Matrix:
    """Return the token selector ``E_j = e_j^T kron I_d`` (a ``d x N d`` 0/1 matrix).

    Parameters
    ----------
    j : int
        Token index, ``0 <= j < N``.
    N, d : int
        Number of tokens and token dimension.

    Returns
    -------
    sympy.Matrix
        ``E_j`` with ``E_j Xbar = x_j``.

    Notes
    -----
    sigmoid_moe.md §2 [MATH].
    """
    _size_iv(N=N, d=d)
    j = check_int("j", j, low=0, high=N - 1)
    e = sp.zeros(1, N)
    e[0, j] = 1
    return sp.kronecker_product(e, sp.eye(d))


def _expand_exponents(expr: sp.Expr) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, sp.exp), lambda e: sp.exp(sp.expand(e.args[0])))


def attention_symbolic(
    N: int,
    d: int,
    d_k: int,
    d_v: int,
    *,
    gate: str = "softmax",
    form: str = "direct",
    symmetrize: bool = False,
    beta: sp.Expr | None = None,
    mutation: str | None = None,
) -> sp.Matrix:
    """Build all rows of one attention head symbolically, in the direct or the MoE form.

    Parameters
    ----------
    N, d, d_k, d_v : int
        Sizes (>= 1).
    gate : {"softmax", "sigmoid"}
        Row-normalised softmax or element-wise sigmoid with a shared bias.
    form : {"direct", "moe"}
        ``"direct"``: ``gate(X W_Q W_K^T X^T / sqrt(d_k)) X W_V``; ``"moe"``: the quadratic-gate
        MoE with scores ``Xbar^T M_ij Xbar`` and experts ``W_V^T E_j Xbar``.
    symmetrize : bool
        In the MoE form, replace ``M_ij`` by ``sym(M_ij) = (M_ij + M_ij^T)/2``.
    beta : sympy expression, optional
        Sigmoid bias (default ``-log N``); not allowed with the softmax.
    mutation : {None, "swap_qk"}
        ``"swap_qk"`` builds the MoE form with ``W_K W_Q^T`` in place of ``W_Q W_K^T`` (i.e.
        ``M_ji^T``), a deliberately wrong variant for mutation tests.

    Returns
    -------
    sympy.Matrix
        ``N x d_v`` matrix whose row i is ``SA_i`` (or ``SSA_i``).

    Notes
    -----
    sigmoid_moe.md §2 [MATH]; claim C1.  Exponent arguments are expanded so that both forms
    share a canonical representation.
    """
    _size_iv(N=N, d=d, d_k=d_k, d_v=d_v)
    _gate_iv(gate)
    check_choice("mutation", mutation, (None, "swap_qk"))
    check_choice("form", form, ("direct", "moe"))
    if gate == "softmax" and beta is not None:
        raise ValueError(f"beta applies to the sigmoid gate only, got beta={beta!r}")
    b = -sp.log(N) if beta is None else sp.sympify(beta)
    sy = attention_symbols(N, d, d_k, d_v)
    X, WQ, WK, WV = sy["X"], sy["W_Q"], sy["W_K"], sy["W_V"]
    scale = 1 / sp.sqrt(d_k)
    if form == "direct":
        scores = (X * WQ * WK.T * X.T) * scale
        values = X * WV  # row j = (W_V^T x_j)^T
        experts = [[values[j, :].T for j in range(N)] for _ in range(N)]
    else:
        xbar = X.reshape(N * d, 1)  # row-major flattening: (x_1^T, ..., x_N^T)^T
        E = [selector(j, N, d) for j in range(N)]
        scores = sp.zeros(N, N)
        for i in range(N):
            for j in range(N):
                core = WK * WQ.T if mutation == "swap_qk" else WQ * WK.T
                M = E[i].T * core * E[j] * scale
                if symmetrize:
                    M = (M + M.T) / 2
                scores[i, j] = (xbar.T * M * xbar)[0, 0]
        experts = [[WV.T * E[j] * xbar for j in range(N)] for _ in range(N)]
    out = sp.zeros(N, d_v)
    for i in range(N):
        if gate == "softmax":
            den = sum(sp.exp(sp.expand(scores[i, l])) for l in range(N))
            weights = [sp.exp(sp.expand(scores[i, j])) / den for j in range(N)]
        else:
            weights = [sigma(sp.expand(scores[i, j]) + b) for j in range(N)]
        row = sum((weights[j] * experts[i][j] for j in range(N)), sp.zeros(d_v, 1))
        out[i, :] = row.T
    return out


def verify_attention_moe(
    N: int,
    d: int,
    d_k: int,
    d_v: int,
    *,
    gate: str = "softmax",
    symmetrize: bool = False,
    mutation: str | None = None,
) -> bool:
    """Return True iff the direct and the MoE forms agree symbolically (every entry).

    Parameters
    ----------
    N, d, d_k, d_v : int
        Sizes; keep them tiny (e.g. ``N = 2, d = 2, d_k = 1, d_v = 1``), simplification cost
        grows quickly.
    gate : {"softmax", "sigmoid"}
        Gate of both forms.
    symmetrize : bool
        Use ``sym(M_ij)`` in the MoE form.
    mutation : {None, "swap_qk"}
        Deliberately wrong MoE form (see :func:`attention_symbolic`); must give False for
        ``d >= 2`` (for ``d = d_k = 1``, ``W_Q W_K^T`` is a symmetric scalar and the swap is a
        no-op).

    Returns
    -------
    bool
        Whether ``simplify(direct - moe) == 0`` entrywise.

    Notes
    -----
    sigmoid_moe.md §2 and §2 item 1 (sym(M_ij) gives the same scores); claim C1 [MATH].

    Examples
    --------
    >>> verify_attention_moe(2, 1, 1, 1, gate="sigmoid", symmetrize=True)
    True
    """
    direct = attention_symbolic(N, d, d_k, d_v, gate=gate, form="direct")
    moe = attention_symbolic(
        N, d, d_k, d_v, gate=gate, form="moe", symmetrize=symmetrize, mutation=mutation
    )
    diff = (direct - moe).applyfunc(lambda e: _expand_exponents(sp.expand(e)))
    return all(_is_zero(entry) for entry in diff)


@functools.cache
def _lambdified(N: int, d: int, d_k: int, d_v: int, gate: str, form: str, symmetrize: bool):
    sy = attention_symbols(N, d, d_k, d_v)
    beta = sp.Symbol("beta", real=True)
    expr = attention_symbolic(
        N, d, d_k, d_v, gate=gate, form=form, symmetrize=symmetrize,
        beta=beta if gate == "sigmoid" else None,
    )
    args = [list(sy["X"]), list(sy["W_Q"]), list(sy["W_K"]), list(sy["W_V"]), beta]
    return sp.lambdify(args, expr, modules="numpy", cse=True)


def attention_rows_lambdified(
    N: int,
    d: int,
    d_k: int,
    d_v: int,
    *,
    gate: str = "softmax",
    form: str = "moe",
    symmetrize: bool = False,
) -> Callable[..., np.ndarray]:
    """Lambdify :func:`attention_symbolic` into a numpy function.

    Parameters
    ----------
    N, d, d_k, d_v : int
        Sizes.
    gate, form, symmetrize
        As in :func:`attention_symbolic`.

    Returns
    -------
    callable
        ``f(X, W_Q, W_K, W_V, beta=None) -> ndarray (N, d_v)``; ``beta`` defaults to
        ``-log N`` for the sigmoid and must be None for the softmax.

    Notes
    -----
    sigmoid_moe.md §2 [MATH].  The symbolic softmax is not max-shifted, so keep scores moderate
    (|score| < 700); :func:`attention_rows` is the stable evaluator.
    """
    _size_iv(N=N, d=d, d_k=d_k, d_v=d_v)
    _gate_iv(gate)
    fn = _lambdified(int(N), int(d), int(d_k), int(d_v), gate, form, bool(symmetrize))

    def evaluate(X, W_Q, W_K, W_V, beta=None):
        X, W_Q, W_K, W_V = _arrays_iv(X, W_Q, W_K, W_V)
        if X.shape != (N, d) or W_Q.shape != (d, d_k) or W_V.shape != (d, d_v):
            raise ValueError(f"shapes must be X ({N}, {d}), W_Q/W_K ({d}, {d_k}), "
                             f"W_V ({d}, {d_v}); got {X.shape}, {W_Q.shape}, {W_V.shape}")
        bval = _beta_value(gate, beta, N)
        out = fn(X.ravel(), W_Q.ravel(), W_K.ravel(), W_V.ravel(), 0.0 if bval is None else bval)
        return np.asarray(out, dtype=np.float64)

    return evaluate


# ---------------------------------------------------------------------------------------------
# numeric side


def _arrays_iv(X, W_Q, W_K, W_V):
    X, W_Q = check_array("X", X, ndim=2), check_array("W_Q", W_Q, ndim=2)
    W_K, W_V = check_array("W_K", W_K, ndim=2), check_array("W_V", W_V, ndim=2)
    d = X.shape[1]
    if W_Q.shape[0] != d or W_K.shape[0] != d or W_V.shape[0] != d:
        raise ValueError(f"W_Q, W_K, W_V must have {d} rows (the token dimension of X), got "
                         f"{W_Q.shape[0]}, {W_K.shape[0]}, {W_V.shape[0]}")
    if W_Q.shape != W_K.shape:
        raise ValueError(f"W_Q and W_K must have the same shape, got {W_Q.shape} and {W_K.shape}")
    return X, W_Q, W_K, W_V


def _gate_weights(scores: np.ndarray, gate: str, beta: float | None) -> np.ndarray:
    if gate == "softmax":
        z = scores - scores.max(axis=-1, keepdims=True)  # max-subtraction
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
    z = scores + beta
    ez = np.exp(-np.abs(z))  # stable sigmoid on both tails
    return np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))


def attention_rows(X, W_Q, W_K, W_V, *, gate: str = "softmax", beta: float | None = None):
    """Evaluate one attention head directly (numpy).

    Parameters
    ----------
    X : array_like, shape (N, d)
        Tokens as rows.
    W_Q, W_K : array_like, shape (d, d_k)
        Query and key maps.
    W_V : array_like, shape (d, d_v)
        Value map.
    gate : {"softmax", "sigmoid"}
        Row softmax, or element-wise sigmoid with bias ``beta``.
    beta : float, optional
        Sigmoid bias, default ``-log N``; must be None for the softmax.

    Returns
    -------
    ndarray, shape (N, d_v)
        Row i is ``SA_i`` (softmax) or ``SSA_i`` (sigmoid).

    Notes
    -----
    Direct form of sigmoid_moe.md §2 [MATH]; the sigmoid bias ``-log N`` follows arXiv
    2409.04431 as quoted in §1.2 item 6.
    """
    X, W_Q, W_K, W_V = _arrays_iv(X, W_Q, W_K, W_V)
    _gate_iv(gate)
    bval = _beta_value(gate, beta, X.shape[0])
    scores = X @ W_Q @ W_K.T @ X.T / math.sqrt(W_Q.shape[1])
    return _gate_weights(scores, gate, bval) @ (X @ W_V)


def attention_moe_matrices(W_Q, W_K, N: int, *, symmetrize: bool = False) -> np.ndarray:
    """Return the gate matrices ``M_ij = E_i^T W_Q W_K^T E_j / sqrt(d_k)`` (numpy).

    Parameters
    ----------
    W_Q, W_K : array_like, shape (d, d_k)
        Query and key maps.
    N : int
        Number of tokens.
    symmetrize : bool
        Return ``sym(M_ij)`` instead.

    Returns
    -------
    ndarray, shape (N, N, N d, N d)
        ``M[i, j]`` is the ``D x D`` matrix of the quadratic score of expert j in row i.

    Notes
    -----
    sigmoid_moe.md §2 and §2 item 1 [MATH].
    """
    _size_iv(N=N)
    W_Q = check_array("W_Q", W_Q, ndim=2)
    W_K = check_array("W_K", W_K, shape=W_Q.shape)
    d, d_k = W_Q.shape
    eye_d = np.eye(d)
    sel = [np.kron(np.eye(N)[j][None, :], eye_d) for j in range(N)]  # E_j, d x D
    core = W_Q @ W_K.T / math.sqrt(d_k)
    M = np.empty((N, N, N * d, N * d))
    for i in range(N):
        for j in range(N):
            m = sel[i].T @ core @ sel[j]
            M[i, j] = 0.5 * (m + m.T) if symmetrize else m
    return M


def attention_rows_moe(
    X,
    W_Q,
    W_K,
    W_V,
    *,
    gate: str = "softmax",
    beta: float | None = None,
    symmetrize: bool = False,
) -> np.ndarray:
    """Evaluate one attention head through its MoE form (numpy).

    Parameters
    ----------
    X, W_Q, W_K, W_V, gate, beta
        As in :func:`attention_rows`.
    symmetrize : bool
        Use ``sym(M_ij)``; the result must not change.

    Returns
    -------
    ndarray, shape (N, d_v)
        Row i is ``sum_j gate_j(Xbar^T M_ij Xbar) W_V^T E_j Xbar``.

    Notes
    -----
    MoE form of sigmoid_moe.md §2 [MATH]: N experts per row, linear without bias, with pure
    quadratic scores; claim C1 compares it with :func:`attention_rows` to 1e-12.
    """
    X, W_Q, W_K, W_V = _arrays_iv(X, W_Q, W_K, W_V)
    _gate_iv(gate)
    N, d = X.shape
    bval = _beta_value(gate, beta, N)
    xbar = X.reshape(-1)
    M = attention_moe_matrices(W_Q, W_K, N, symmetrize=symmetrize)
    scores = np.einsum("a,ijab,b->ij", xbar, M, xbar)
    experts = np.stack([W_V.T @ xbar[j * d:(j + 1) * d] for j in range(N)])  # W_V^T E_j Xbar
    return _gate_weights(scores, gate, bval) @ experts
