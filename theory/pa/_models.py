"""The three one-layer attention models as sympy expressions, and their exact derivatives.

prompt_attention.md §4 (models) and §5 (derivatives, [MATH]).  For a small symbolic sequence
length ``T`` and dimension ``d`` every model is an explicit expression in the entries of
``X``, of the trainable parameters and of the softmax shift symbols.  Derivatives are taken
by ``sympy.diff`` (:func:`model_derivative`, the generic definition) and the closed forms of
§5 are built separately (:func:`model_closed_form`); :func:`verify_closed_form` checks that
they agree symbolically, and :func:`lambdify_model` evaluates either numerically (numpy) or
at high precision (mpmath).

Two switches change the models themselves (prompt_attention.md §4.1 and §4.4, both
reconstructions): ``pa.prompt_self_attention`` (the prompt also attends to itself, an extra
token ``x_0 = q`` after folding, see :func:`pa_model`) and ``pa.sa_pooling = "sa_then_pa"``
(prompt-attention pooling of the self-attention outputs, see :func:`sa_model`).

Max-subtraction: each softmax is written ``exp(z_t - m) / sum_l exp(z_l - m)`` with a free
shift symbol ``m``.  The expression does not depend on ``m`` (translation invariance), so its
derivatives in the parameters do not either; the numpy evaluator sets ``m = max_t z_t``.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from theory.core._validate import check_array, check_choice, check_int

__all__ = [
    "SymbolicModel",
    "derivative_mp",
    "lambdify_model",
    "lin_model",
    "model_closed_form",
    "model_derivative",
    "pa_model",
    "sa_model",
    "verify_closed_form",
]


@dataclass(frozen=True, eq=False)
class SymbolicModel:
    """A one-layer attention model written out for a fixed small ``(T, d)``.

    Attributes
    ----------
    kind : {"PA", "LIN", "SA"}
        Softmax prompt-attention, linear prompt-attention, softmax self-attention.
    T, d : int
        Sequence length and token dimension.
    X : sympy.Matrix
        ``T x d`` matrix of real symbols ``x_t_j`` (rows are tokens).
    params : tuple of (str, sympy.Matrix)
        Trainable parameters in order: ``(("q", q), ("w", w))`` for PA and LIN (column
        vectors), ``(("W", W), ("w", w))`` for SA with mean or first-token pooling (``W`` is
        ``d x d``) and ``(("W", W), ("q", q), ("w", w))`` for SA with ``"sa_then_pa"``.
    shifts : tuple of sympy.Symbol
        Softmax shift symbols (one for PA, ``T`` for SA, ``T + 1`` for ``"sa_then_pa"``
        (the last one for the pooling softmax), none for LIN).
    f : sympy.Expr
        The model output.
    scale : sympy.Expr
        Temperature ``tau`` (PA, and the pooling softmax of ``"sa_then_pa"``) or
        ``lin_scale`` (LIN); 1 for SA with mean or first-token pooling.
    pooling : str
        ``"mean"``, ``"first"`` or ``"sa_then_pa"`` for SA, ``""`` otherwise.
    prompt_self_attention : bool
        PA only: whether the prompt attends to itself (extra token ``x_0 = q``).
    """

    kind: str
    T: int
    d: int
    X: sp.Matrix
    params: tuple[tuple[str, sp.Matrix], ...]
    shifts: tuple[sp.Symbol, ...]
    f: sp.Expr
    scale: sp.Expr
    pooling: str = ""
    prompt_self_attention: bool = False

    def param(self, name: str) -> sp.Matrix:
        """Return the parameter matrix called ``name``."""
        for key, value in self.params:
            if key == name:
                return value
        names = [k for k, _ in self.params]
        raise ValueError(f"name must be one of {names}, got {name!r}")

    @property
    def symbols(self) -> list[sp.Symbol]:
        """All free symbols in evaluation order: X (row-major), params, shifts."""
        out = list(self.X)
        for _, value in self.params:
            out.extend(value)
        out.extend(self.shifts)
        return out


def _size_iv(T: object, d: object) -> tuple[int, int]:
    T, d = check_int("T", T, low=1), check_int("d", d, low=1)
    if T * d > 64:
        raise ValueError(f"T*d must be <= 64 for symbolic models, got T={T}, d={d}")
    return T, d


def _token_matrix(T: int, d: int) -> sp.Matrix:
    return sp.Matrix(T, d, lambda t, j: sp.Symbol(f"x_{t}_{j}", real=True))


def _vector(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(d, 1, lambda j, _: sp.Symbol(f"{name}_{j}", real=True))


def _softmax(z: sp.Matrix, shift: sp.Symbol) -> sp.Matrix:
    e = z.applyfunc(lambda zi: sp.exp(zi - shift))
    total = sum(e)
    return e / total


def _temperature(temperature: str, d: int) -> sp.Expr:
    if check_choice("temperature", temperature, ("1", "1/sqrt(d)")) == "1":
        return sp.Integer(1)
    return 1 / sp.sqrt(d)


def _prompt_tokens(X: sp.Matrix, q: sp.Matrix) -> sp.Matrix:
    """``X~ = [q^T; X]``: the tokens seen by a prompt that also attends to itself."""
    return sp.Matrix.vstack(q.T, X)


def pa_model(T: int, d: int, *, temperature: str = "1",
             prompt_self_attention: bool = False) -> SymbolicModel:
    """Softmax prompt-attention ``f = w^T X^T S(tau X q)``.

    Parameters
    ----------
    T, d : int
        Sequence length and dimension (``T d <= 64``).
    temperature : {"1", "1/sqrt(d)"}, default "1"
        Score factor ``tau`` (switch ``pa.temperature`` [INFERRED]).
    prompt_self_attention : bool, default False
        Switch ``pa.prompt_self_attention`` ([UNKNOWN] in the spec; the reading used when it
        is on is [INFERRED], see Notes).  ``True``: the softmax runs over ``T + 1`` entries,
        the prompt being token ``x_0 = q``, so ``f = w^T X~^T S(tau X~ q)`` with
        ``X~ = [q^T; X]``.

    Returns
    -------
    SymbolicModel

    Notes
    -----
    prompt_attention.md §4.2 [MATH for the model as defined; the form follows
    RELATED:2306.13596]; by default the prompt does not attend to itself (§1.3).

    Prompt self-attention (§4.1).  Before folding, the prompt token ``p`` scores itself
    ``<p, M p>`` with ``M = W_k W_q^T`` and adds the value ``<p, W_v h>`` (head ``h``).
    After folding ``q := M p`` and ``w := W_v h``, for an invertible ``M`` the extra score
    is ``q^T A q`` and the extra value ``q^T A w`` with ``A = M^{-T}``: the folded model
    needs the frozen matrix ``A``, which the spec does not give.  The toolkit takes
    ``A = I`` (identity key, query and value maps, as in the related code of §1.3), i.e. an
    extra token ``x_0 = p = q`` with score ``tau ||q||^2`` and value ``<q, w>`` [INFERRED].
    Because ``x_0`` depends on ``q``, the prompt gradient gains two terms (see
    :func:`model_closed_form`).

    Examples
    --------
    >>> m = pa_model(2, 1)
    >>> len(m.symbols)
    5
    >>> pa_model(2, 1, prompt_self_attention=True).f.has(m.param("q")[0] ** 2)
    True
    """
    # Validate before the cache: 1 == True and 2.0 == 2 would otherwise hit cached entries.
    T, d = _size_iv(T, d)
    if not isinstance(prompt_self_attention, bool):
        raise ValueError(
            f"prompt_self_attention must be True or False, got {prompt_self_attention!r}")
    _temperature(temperature, d)
    return _pa_model(T, d, temperature, prompt_self_attention)


@functools.cache
def _pa_model(T: int, d: int, temperature: str, prompt_self_attention: bool) -> SymbolicModel:
    X, q, w = _token_matrix(T, d), _vector("q", d), _vector("w", d)
    m = sp.Symbol("m", real=True)
    tau = _temperature(temperature, d)
    Xt = _prompt_tokens(X, q) if prompt_self_attention else X
    s = _softmax(tau * Xt * q, m)
    f = (w.T * Xt.T * s)[0, 0]
    return SymbolicModel("PA", T, d, X, (("q", q), ("w", w)), (m,), f, tau,
                         prompt_self_attention=prompt_self_attention)


def lin_model(T: int, d: int, *, lin_scale: str = "1/T") -> SymbolicModel:
    """Linear prompt-attention ``f = c w^T X^T X q`` with ``c = 1/T`` (or 1).

    Parameters
    ----------
    T, d : int
        Sequence length and dimension (``T d <= 64``).
    lin_scale : {"1/T", "1"}, default "1/T"
        Switch ``pa.lin_scale`` [INFERRED]; it does not change signs.

    Returns
    -------
    SymbolicModel

    Notes
    -----
    prompt_attention.md §4.3 [MATH for the model as defined].
    """
    # Validate before the cache (2.0 == 2 would otherwise hit a cached entry).
    T, d = _size_iv(T, d)
    check_choice("lin_scale", lin_scale, ("1/T", "1"))
    return _lin_model(T, d, lin_scale)


@functools.cache
def _lin_model(T: int, d: int, lin_scale: str) -> SymbolicModel:
    c = sp.Rational(1, T) if lin_scale == "1/T" else sp.Integer(1)
    X, q, w = _token_matrix(T, d), _vector("q", d), _vector("w", d)
    f = c * (w.T * X.T * X * q)[0, 0]
    return SymbolicModel("LIN", T, d, X, (("q", q), ("w", w)), (), f, c)


def sa_model(T: int, d: int, *, sa_pooling: str = "mean",
             temperature: str = "1") -> SymbolicModel:
    """Softmax self-attention pooled over output tokens, ``f = p^T S_row(X W X^T) X w``.

    Parameters
    ----------
    T, d : int
        Sequence length and dimension (``T d <= 64``).
    sa_pooling : {"mean", "first", "sa_then_pa"}, default "mean"
        ``p = 1/T`` (mean pooling), ``p = e_1`` (first output token), or prompt-attention
        pooling ``p = S(tau O q)`` of the outputs ``O = S_row(X W X^T) X`` with a trainable
        prompt ``q``; switch ``pa.sa_pooling`` [INFERRED].
    temperature : {"1", "1/sqrt(d)"}, default "1"
        Score factor ``tau`` of the pooling softmax; only with ``"sa_then_pa"``.

    Returns
    -------
    SymbolicModel

    Notes
    -----
    prompt_attention.md §4.4.  Row ``i`` of ``X W X^T`` has entries ``x_i^T W x_j``.

    ``"sa_then_pa"`` (the spec names the value and nothing else; this reading is
    [INFERRED]): a self-attention layer followed by the prompt-attention read-out of §4.2
    applied to its outputs ``o_i = X^T pi_i``,

        f = w^T O^T S(tau O q),   O = S_row(X W X^T) X,   parameters (W, q, w).

    It is the two-layer model "fine-tuned self-attention, then prompt-attention pooling".
    Special cases [MATH]: ``q = 0`` gives mean-pooled SA; ``W = 0`` gives
    ``<x_bar(0), w>`` for every ``q``; when ``S_row(X W X^T) = I`` (the limit of
    ``W = beta I``, ``beta -> oo``, for orthonormal tokens) it is PA, ``f_PA(X; q, w)``.

    Examples
    --------
    >>> [k for k, _ in sa_model(2, 1, sa_pooling="sa_then_pa").params]
    ['W', 'q', 'w']
    """
    T, d = _size_iv(T, d)
    check_choice("sa_pooling", sa_pooling, ("mean", "first", "sa_then_pa"))
    tau = _temperature(temperature, d)
    if sa_pooling != "sa_then_pa" and tau != 1:
        raise ValueError(
            f"temperature applies to sa_pooling='sa_then_pa' only, got {temperature!r} "
            f"with sa_pooling={sa_pooling!r}")
    return _sa_model(T, d, sa_pooling, temperature)


@functools.cache
def _sa_model(T: int, d: int, sa_pooling: str, temperature: str) -> SymbolicModel:
    tau = _temperature(temperature, d)
    X, w = _token_matrix(T, d), _vector("w", d)
    W = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"W_{a}_{b}", real=True))
    shifts = tuple(sp.Symbol(f"m_{i}", real=True) for i in range(T))
    scores = X * W * X.T
    v = X * w
    if sa_pooling == "sa_then_pa":
        q = _vector("q", d)
        pool = sp.Symbol("m_pool", real=True)
        O = sp.Matrix.vstack(*[(X.T * _softmax(scores[i, :].T, shifts[i])).T for i in range(T)])
        s = _softmax(tau * O * q, pool)
        f = (w.T * O.T * s)[0, 0]
        return SymbolicModel("SA", T, d, X, (("W", W), ("q", q), ("w", w)), shifts + (pool,),
                             f, tau, sa_pooling)
    rows = range(T) if sa_pooling == "mean" else range(1)
    f = sp.Integer(0)
    for i in rows:
        pi = _softmax(scores[i, :].T, shifts[i])
        f += (pi.T * v)[0, 0]
    if sa_pooling == "mean":
        f = f / T
    return SymbolicModel("SA", T, d, X, (("W", W), ("w", w)), shifts, f, sp.Integer(1),
                         sa_pooling)


def _flat(m: sp.Matrix) -> list[sp.Symbol]:
    return list(m)


def _names(model: SymbolicModel) -> tuple[str, ...]:
    p = [k for k, _ in model.params]
    names = [f"grad_{a}" for a in p]
    names += [f"hess_{a}{b}" for i, a in enumerate(p) for b in p[i:]]
    return tuple(names)


def _name_iv(model: SymbolicModel, name: str, closed: bool) -> None:
    allowed = _names(model)
    if closed:
        first = model.params[0][0]
        allowed = allowed + (f"grad_{first}_at_zero",)
        if model.kind == "SA":
            allowed = tuple(n for n in allowed if not n.startswith("hess"))
    check_choice("name", name, allowed)


def model_derivative(model: SymbolicModel, name: str) -> sp.Matrix:
    """Derivative of ``model.f`` computed by ``sympy.diff`` (the generic definition).

    Parameters
    ----------
    model : SymbolicModel
    name : str
        ``"grad_<p>"`` (same shape as parameter ``p``) or ``"hess_<p><r>"`` (matrix of
        ``d^2 f / dp_i dr_j`` over the flattened parameters), e.g. ``"grad_q"``,
        ``"hess_qq"``, ``"hess_qw"``, ``"grad_W"``.

    Returns
    -------
    sympy.Matrix

    Notes
    -----
    prompt_attention.md §5 [MATH]; the closed forms are in :func:`model_closed_form`.
    """
    _name_iv(model, name, closed=False)
    kind, rest = name.split("_", 1)
    if kind == "grad":
        p = model.param(rest)
        return p.applyfunc(lambda s: sp.diff(model.f, s))
    a, b = model.param(rest[0]), model.param(rest[1])
    fa = [sp.diff(model.f, s) for s in _flat(a)]
    return sp.Matrix(len(fa), len(b), lambda i, j: sp.diff(fa[i], list(b)[j]))


def _pa_self_closed(model: SymbolicModel, name: str) -> sp.Matrix:
    # Prompt self-attention: PA on X~ = [q^T; X], whose row 0 depends on q.  With
    # e_0 = first unit vector of R^(T+1): dz/dq = D = tau (X~ + e_0 q^T) (row 0 is
    # 2 tau q^T), dv/dq = e_0 w^T, d^2 z_0/dq^2 = 2 tau I.
    X, q, w = model.X, model.param("q"), model.param("w")
    tau, T, d = model.scale, model.T, model.d
    if name == "grad_q_at_zero":
        # s = 1/(T+1), x~_0 = 0: tau T/(T+1) [C_hat w + x_bar x_bar^T w/(T+1)] + w/(T+1)
        centre = sp.eye(T) - sp.ones(T, T) / T
        xbar = X.T * sp.ones(T, 1) / T
        chat_w = X.T * centre * X * w / T
        return (tau * sp.Rational(T, T + 1) * (chat_w + xbar * (xbar.T * w) / (T + 1))
                + w / (T + 1))
    Xt = _prompt_tokens(X, q)
    s = _softmax(tau * Xt * q, model.shifts[0])
    v = Xt * w
    sv = (s.T * v)[0, 0]
    g = sp.Matrix(T + 1, 1, lambda t, _: s[t] * (v[t] - sv))
    J = sp.diag(*s) - s * s.T
    if name == "grad_w":
        return Xt.T * s
    if name == "grad_q":
        return tau * Xt.T * g + tau * g[0] * q + s[0] * w
    e0 = sp.zeros(T + 1, 1)
    e0[0] = 1
    D = tau * (Xt + e0 * q.T)
    if name == "hess_qq":
        H = sp.diag(*g) - g * s.T - s * g.T
        cross = D.T * J * e0 * w.T
        return D.T * H * D + 2 * tau * g[0] * sp.eye(d) + cross + cross.T
    if name == "hess_qw":
        return D.T * J * Xt + s[0] * sp.eye(d)
    return sp.zeros(d, d)  # hess_ww: f is linear in w


def _pa_closed(model: SymbolicModel, name: str) -> sp.Matrix:
    if model.prompt_self_attention:
        return _pa_self_closed(model, name)
    X, q, w = model.X, model.param("q"), model.param("w")
    tau, T, d = model.scale, model.T, model.d
    s = _softmax(tau * X * q, model.shifts[0])
    v = X * w
    sv = (s.T * v)[0, 0]
    g = sp.Matrix(T, 1, lambda t, _: s[t] * (v[t] - sv))
    J = sp.diag(*s) - s * s.T
    if name == "grad_w":
        return X.T * s
    if name == "grad_q":
        return tau * X.T * g
    if name == "hess_qq":
        H = sp.diag(*g) - g * s.T - s * g.T
        return tau**2 * X.T * H * X
    if name == "hess_qw":
        return tau * X.T * J * X
    if name == "hess_ww":
        return sp.zeros(d, d)
    # grad_q_at_zero: tau * C_hat(X) w with C_hat = X^T (I - 11^T/T) X / T
    centre = sp.eye(T) - sp.ones(T, T) / T
    return tau * X.T * centre * X * w / T


def _lin_closed(model: SymbolicModel, name: str) -> sp.Matrix:
    X, q, w, c, d = model.X, model.param("q"), model.param("w"), model.scale, model.d
    M = X.T * X
    if name == "grad_q" or name == "grad_q_at_zero":
        return c * M * w
    if name == "grad_w":
        return c * M * q
    if name == "hess_qw":
        return c * M
    return sp.zeros(d, d)


def _sa_then_pa_closed(model: SymbolicModel, name: str) -> sp.Matrix:
    # f = w^T O^T S(tau O q), O = Pi X.  df/do_i = c_i = s_i w + tau g_i q (the PA token
    # gradient), and o_i = X^T S(X W^T x_i) gives grad_W = sum_i x_i (X^T J_i X c_i)^T.
    X, W, q, w, T = model.X, model.param("W"), model.param("q"), model.param("w"), model.T
    tau = model.scale
    centre = sp.eye(T) - sp.ones(T, T) / T
    if name == "grad_W_at_zero":
        # Pi = 11^T/T: every o_i = x_bar, s = 1/T, g = 0, c_i = w/T
        return (X.T * sp.ones(T, 1) / T) * (X.T * centre * X * w / T).T
    scores = X * W * X.T
    pis = [_softmax(scores[i, :].T, model.shifts[i]) for i in range(T)]
    O = sp.Matrix.vstack(*[(X.T * pi).T for pi in pis])
    s = _softmax(tau * O * q, model.shifts[T])
    u = O * w
    su = (s.T * u)[0, 0]
    g = sp.Matrix(T, 1, lambda i, _: s[i] * (u[i] - su))
    if name == "grad_w":
        return O.T * s
    if name == "grad_q":
        return tau * O.T * g
    out = sp.zeros(model.d, model.d)  # grad_W
    for i, pi in enumerate(pis):
        Ji = sp.diag(*pi) - pi * pi.T
        ci = s[i] * w + tau * g[i] * q
        out += X[i, :].T * (X.T * Ji * X * ci).T
    return out


def _sa_closed(model: SymbolicModel, name: str) -> sp.Matrix:
    if model.pooling == "sa_then_pa":
        return _sa_then_pa_closed(model, name)
    X, W, w, T = model.X, model.param("W"), model.param("w"), model.T
    v = X * w
    rows = range(T) if model.pooling == "mean" else range(1)
    weight = sp.Rational(1, T) if model.pooling == "mean" else sp.Integer(1)
    if name == "grad_W_at_zero":
        centre = sp.eye(T) - sp.ones(T, T) / T
        chat_w = X.T * centre * X * w / T
        pooled = sum((X[i, :].T for i in rows), sp.zeros(model.d, 1)) * weight
        return pooled * chat_w.T
    scores = X * W * X.T
    out = sp.zeros(model.d, model.d) if name == "grad_W" else sp.zeros(model.d, 1)
    for i in rows:
        pi = _softmax(scores[i, :].T, model.shifts[i])
        if name == "grad_W":
            Ji = sp.diag(*pi) - pi * pi.T
            out += X[i, :].T * (X.T * Ji * v).T
        else:  # grad_w
            out += X.T * pi
    return out * weight


def model_closed_form(model: SymbolicModel, name: str) -> sp.Matrix:
    """Closed form of a derivative, from prompt_attention.md §5 [MATH].

    Parameters
    ----------
    model : SymbolicModel
    name : str
        As in :func:`model_derivative`, plus ``"grad_q_at_zero"`` (PA, LIN) or
        ``"grad_W_at_zero"`` (SA): the gradient at ``q = 0`` / ``W = 0``, written without the
        parameter (``tau C_hat(X) w``, resp. ``x_pool (C_hat(X) w)^T``).  SA has no Hessian
        closed forms.

    Returns
    -------
    sympy.Matrix

    Notes
    -----
    PA (§5 item 2-3), with ``v = X w``, ``g = s * (v - <s, v> 1)``,
    ``H = diag(g) - g s^T - s g^T``: ``grad_w = X^T s``, ``grad_q = tau X^T g``,
    ``hess_qq = tau^2 X^T H X``, ``hess_qw = tau X^T J(s) X``, ``hess_ww = 0``; at ``q = 0``,
    ``grad_q = tau C_hat(X) w``.  LIN (§5 item 4).  SA (§5 item 5):
    ``grad_W = (1/T) sum_i x_i (X^T J_i v)^T``, ``grad_w = X^T Pi^T 1 / T``, and at ``W = 0``
    ``x_bar(0) (C_hat w)^T`` (``x_1 (C_hat w)^T`` for first-token pooling).  All [MATH].

    PA with prompt self-attention (``x_0 = q``, ``X~ = [q^T; X]``, ``s = S(tau X~ q)``,
    ``v = X~ w``, ``g``, ``H`` and ``J = J(s)`` as above on ``T + 1`` entries,
    ``D = tau (X~ + e_0 q^T)`` the Jacobian of the scores, ``e_0`` the first unit vector):
    ``grad_w = X~^T s``; ``grad_q = tau X~^T g + tau g_0 q + s_0 w``;
    ``hess_qq = D^T H D + 2 tau g_0 I + D^T J e_0 w^T + w e_0^T J D``;
    ``hess_qw = D^T J X~ + s_0 I``; ``hess_ww = 0``; at ``q = 0``
    ``grad_q = tau T/(T+1) [C_hat w + x_bar x_bar^T w / (T+1)] + w / (T+1)``, which is 0 at
    ``w = 0`` (gradient descent from the origin still moves ``w`` first, §5 item 6).

    SA with ``"sa_then_pa"`` pooling (``O = Pi X``, ``s = S(tau O q)``, ``u = O w``,
    ``g = s * (u - <s, u> 1)``, ``c_i = s_i w + tau g_i q``): ``grad_w = O^T s``,
    ``grad_q = tau O^T g``, ``grad_W = sum_i x_i (X^T J_i X c_i)^T``; at ``W = 0`` every
    ``o_i = x_bar(0)``, so ``grad_W = x_bar(0) (C_hat w)^T`` (as for mean pooling) and
    ``grad_q = 0``.  [MATH for the models as defined; the models are INFERRED readings.]
    """
    _name_iv(model, name, closed=True)
    if model.kind == "PA":
        return _pa_closed(model, name)
    if model.kind == "LIN":
        return _lin_closed(model, name)
    return _sa_closed(model, name)


def _at_zero(model: SymbolicModel, expr: sp.Matrix) -> sp.Matrix:
    first = model.params[0][1]
    return expr.subs({s: 0 for s in first})


def verify_closed_form(model: SymbolicModel, name: str, *,
                       closed_form: sp.Matrix | None = None) -> bool:
    """Return True iff ``sympy.diff`` and the closed form agree symbolically.

    Parameters
    ----------
    model : SymbolicModel
    name : str
        Any name accepted by :func:`model_closed_form`.  For ``"grad_<p>_at_zero"`` the
        sympy gradient is evaluated at ``p = 0`` first.
    closed_form : sympy.Matrix, optional
        The formula to check (default: :func:`model_closed_form`); a mutation test passes a
        wrong one.

    Returns
    -------
    bool
        Whether every entry of the difference simplifies to zero.

    Notes
    -----
    Both sides are rational in the exponentials ``exp(z_t - m)``.  Each entry of the
    difference is first evaluated at two random points (30 digits): a non-zero value
    refutes the identity at once.  Otherwise it is put over a common denominator and
    expanded (``sympy.cancel``), which proves it.  Keep ``T d`` small (``<= 8``).
    """
    target = model_closed_form(model, name) if closed_form is None else closed_form
    if name.endswith("_at_zero"):
        derived = _at_zero(model, model_derivative(model, name[: -len("_at_zero")]))
    else:
        derived = model_derivative(model, name)
    if target.shape != derived.shape:
        raise ValueError(f"closed_form must have shape {derived.shape}, got {target.shape}")
    zero_shift = {m: 0 for m in model.shifts}
    diff = (derived - target).subs(zero_shift)
    syms = [s for s in model.symbols if s not in zero_shift]
    # Cheap refutation first: a non-zero entry is almost surely non-zero at a random point
    # (evaluated at 30 digits); symbolic cancellation of a large non-zero rational function
    # can take minutes.  Entries that vanish numerically are then proved zero by cancel.
    rand = random.Random(20260101)
    points = [[mpmath.mpf(rand.uniform(-1.0, 1.0)) for _ in syms] for _ in range(2)]
    for entry in diff:
        e = sp.expand(entry)
        if e == 0:
            continue
        fn = sp.lambdify(syms, e, modules="mpmath")
        with mpmath.workdps(30):
            if any(abs(fn(*pt)) > mpmath.mpf(10) ** -20 for pt in points):
                return False
        if sp.cancel(sp.together(e)) != 0:
            return False
    return True


def _coerce_numeric(model: SymbolicModel, X: object, values: dict[str, object]) -> list:
    out = [check_array("X", X, shape=(model.T, model.d))]
    for key, sym in model.params:
        if key not in values:
            raise ValueError(f"missing parameter {key!r} (model {model.kind})")
        arr = check_array(key, values[key])
        if arr.size != len(sym):
            raise ValueError(f"{key} must have {len(sym)} entries, got {arr.size}")
        out.append(arr.reshape(sym.shape))
    extra = set(values) - {k for k, _ in model.params}
    if extra:
        raise ValueError(f"unknown parameters {sorted(extra)} for model {model.kind}")
    return out


def _numeric_shifts(model: SymbolicModel, arrays: list) -> list[float]:
    if model.kind == "PA" and model.prompt_self_attention:
        X, q = arrays[0], arrays[1]
        tau = float(model.scale)
        return [float(max(np.max(tau * (X @ q)), tau * float(q.ravel() @ q.ravel())))]
    if model.kind == "PA":
        X, q = arrays[0], arrays[1]
        tau = float(model.scale)
        return [float(np.max(tau * (X @ q)))]
    if model.kind == "SA" and model.pooling == "sa_then_pa":
        X, W, q = arrays[0], arrays[1], arrays[2]
        scores = X @ W @ X.T
        P = np.exp(scores - scores.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        tau = float(model.scale)
        return [float(np.max(scores[i])) for i in range(model.T)] + [
            float(np.max(tau * (P @ X @ q.ravel())))]
    if model.kind == "SA":
        X, W = arrays[0], arrays[1]
        scores = X @ W @ X.T
        rows = model.T if model.pooling == "mean" else 1
        return [float(np.max(scores[i])) if i < rows else 0.0 for i in range(model.T)]
    return []


def _tolist(a: object) -> object:
    if isinstance(a, mpmath.matrix):
        return a
    if hasattr(a, "tolist"):
        return a.tolist()
    return a


def lambdify_model(model: SymbolicModel, expr: sp.Expr | sp.Matrix | None = None, *,
                   backend: str = "numpy", dps: int = 30) -> Callable[..., object]:
    """Turn a model expression (default ``model.f``) into a numeric function.

    Parameters
    ----------
    model : SymbolicModel
    expr : sympy.Expr or sympy.Matrix, optional
        An expression in ``model.symbols`` (e.g. from :func:`model_derivative` or
        :func:`model_closed_form`); default the model output ``model.f``.
    backend : {"numpy", "mpmath"}, default "numpy"
        ``"numpy"`` returns float64 (scores shifted by their maximum); ``"mpmath"`` evaluates
        with ``dps`` digits and returns ``mpmath.mpf`` or ``mpmath.matrix``.
    dps : int, default 30
        Working precision of the mpmath backend (``>= 15``).

    Returns
    -------
    callable
        ``fn(X, **params)``, e.g. ``fn(X, q=q, w=w)`` or ``fn(X, W=W, w=w)``; numeric inputs
        are float arrays (or, for mpmath, anything ``mpmath.mpf`` accepts, as nested lists).
    """
    check_choice("backend", backend, ("numpy", "mpmath"))
    dps = check_int("dps", dps, low=15)
    target = model.f if expr is None else expr
    syms = model.symbols
    is_matrix = isinstance(target, sp.MatrixBase)
    if backend == "numpy":
        fn = sp.lambdify(syms, target, modules="numpy", cse=True)

        def evaluate(X: object, **values: object) -> object:
            arrays = _coerce_numeric(model, X, values)
            flat = [x for a in arrays for x in a.ravel()]
            out = fn(*flat, *_numeric_shifts(model, arrays))
            return np.asarray(out, dtype=np.float64) if is_matrix else float(out)

        return evaluate

    fn_mp = sp.lambdify(syms, target, modules="mpmath")

    def evaluate_mp(X: object, **values: object) -> object:
        # never lower the caller's precision (mpmath.diff raises it internally)
        with mpmath.workprec(max(mpmath.mp.prec, mpmath.libmp.dps_to_prec(dps))):
            Xm = mpmath.matrix(_tolist(X))
            if (Xm.rows, Xm.cols) != (model.T, model.d):
                raise ValueError(f"X must have shape ({model.T}, {model.d})")
            flat = [Xm[t, j] for t in range(model.T) for j in range(model.d)]
            for key, sym in model.params:
                if key not in values:
                    raise ValueError(f"missing parameter {key!r} (model {model.kind})")
                pm = mpmath.matrix(_tolist(values[key]))
                if pm.rows * pm.cols != len(sym):
                    raise ValueError(
                        f"{key} must have {len(sym)} entries, got {pm.rows * pm.cols}")
                if sym.shape[1] > 1:  # W: row-major
                    flat += [pm[a, b] for a in range(sym.shape[0]) for b in range(sym.shape[1])]
                else:
                    flat += [pm[j] for j in range(len(sym))]
            flat += [mpmath.mpf(0)] * len(model.shifts)
            out = fn_mp(*flat)
            if is_matrix:
                return mpmath.matrix(_tolist(out))
            return +out

    return evaluate_mp


def derivative_mp(model: SymbolicModel, param: str, X: object, *, dps: int = 30,
                  **values: object) -> mpmath.matrix:
    """Numerical gradient of ``model.f`` in parameter ``param`` by ``mpmath.diff``.

    Parameters
    ----------
    model : SymbolicModel
    param : str
        Parameter name (``"q"``, ``"w"`` or ``"W"``).
    X : array_like
        Tokens, shape ``(T, d)``.
    dps : int, default 30
        Digits of the result; the differentiation runs at ``dps + 20`` digits.
    **values
        All parameters of the model (e.g. ``q=..., w=...``).

    Returns
    -------
    mpmath.matrix
        Column of partial derivatives, in the row-major order of the parameter.

    Notes
    -----
    Independent route for the 30-digit derivative check of claim C1 (prompt_attention.md
    §12): compare with :func:`model_closed_form` evaluated by :func:`lambdify_model` with the
    mpmath backend.
    """
    model.param(param)
    f = lambdify_model(model, backend="mpmath", dps=dps + 20)
    with mpmath.workdps(dps + 20):
        base = {k: mpmath.matrix(_tolist(v)) for k, v in values.items()}
        p0 = base[param]
        n = p0.rows * p0.cols
        out = mpmath.matrix(n, 1)
        for idx in range(n):
            a, b = divmod(idx, p0.cols)

            def g(h: mpmath.mpf, a: int = a, b: int = b) -> mpmath.mpf:
                pm = p0.copy()
                pm[a, b] = p0[a, b] + h
                return f(X, **{**base, param: pm})

            out[idx] = mpmath.diff(g, 0)
    with mpmath.workdps(dps):
        return out.apply(lambda v: +v)
