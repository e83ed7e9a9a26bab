"""The three one-layer attention models as sympy expressions, and their exact derivatives.

prompt_attention.md §4 (models) and §5 (derivatives, [MATH]).  For a small symbolic sequence
length ``T`` and dimension ``d`` every model is an explicit expression in the entries of
``X``, of the trainable parameters and of the softmax shift symbols.  Derivatives are taken
by ``sympy.diff`` (:func:`model_derivative`, the generic definition) and the closed forms of
§5 are built separately (:func:`model_closed_form`); :func:`verify_closed_form` checks that
they agree symbolically, and :func:`lambdify_model` evaluates either numerically (numpy) or
at high precision (mpmath).

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
        vectors), ``(("W", W), ("w", w))`` for SA (``W`` is ``d x d``).
    shifts : tuple of sympy.Symbol
        Softmax shift symbols (one for PA, ``T`` for SA, none for LIN).
    f : sympy.Expr
        The model output.
    scale : sympy.Expr
        Temperature ``tau`` (PA) or ``lin_scale`` (LIN); 1 for SA.
    pooling : str
        ``"mean"`` or ``"first"`` for SA, ``""`` otherwise.
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
    for name, value in (("T", T), ("d", d)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if T * d > 64:  # type: ignore[operator]
        raise ValueError(f"T*d must be <= 64 for symbolic models, got T={T}, d={d}")
    return int(T), int(d)  # type: ignore[call-overload]


def _token_matrix(T: int, d: int) -> sp.Matrix:
    return sp.Matrix(T, d, lambda t, j: sp.Symbol(f"x_{t}_{j}", real=True))


def _vector(name: str, d: int) -> sp.Matrix:
    return sp.Matrix(d, 1, lambda j, _: sp.Symbol(f"{name}_{j}", real=True))


def _softmax(z: sp.Matrix, shift: sp.Symbol) -> sp.Matrix:
    e = z.applyfunc(lambda zi: sp.exp(zi - shift))
    total = sum(e)
    return e / total


def _temperature(temperature: str, d: int) -> sp.Expr:
    if temperature == "1":
        return sp.Integer(1)
    if temperature == "1/sqrt(d)":
        return 1 / sp.sqrt(d)
    raise ValueError(f"temperature must be '1' or '1/sqrt(d)', got {temperature!r}")


@functools.cache
def pa_model(T: int, d: int, *, temperature: str = "1") -> SymbolicModel:
    """Softmax prompt-attention ``f = w^T X^T S(tau X q)``.

    Parameters
    ----------
    T, d : int
        Sequence length and dimension (``T d <= 64``).
    temperature : {"1", "1/sqrt(d)"}, default "1"
        Score factor ``tau`` (switch ``pa.temperature`` [INFERRED]).

    Returns
    -------
    SymbolicModel

    Notes
    -----
    prompt_attention.md §4.2 [MATH for the model as defined; the form follows
    RELATED:2306.13596]; the prompt does not attend to itself
    (``pa.prompt_self_attention = False`` [UNKNOWN]); that switch is not modelled here.

    Examples
    --------
    >>> m = pa_model(2, 1)
    >>> len(m.symbols)
    5
    """
    T, d = _size_iv(T, d)
    X, q, w = _token_matrix(T, d), _vector("q", d), _vector("w", d)
    m = sp.Symbol("m", real=True)
    tau = _temperature(temperature, d)
    s = _softmax(tau * X * q, m)
    f = (w.T * X.T * s)[0, 0]
    return SymbolicModel("PA", T, d, X, (("q", q), ("w", w)), (m,), f, tau)


@functools.cache
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
    T, d = _size_iv(T, d)
    if lin_scale not in ("1/T", "1"):
        raise ValueError(f"lin_scale must be '1/T' or '1', got {lin_scale!r}")
    c = sp.Rational(1, T) if lin_scale == "1/T" else sp.Integer(1)
    X, q, w = _token_matrix(T, d), _vector("q", d), _vector("w", d)
    f = c * (w.T * X.T * X * q)[0, 0]
    return SymbolicModel("LIN", T, d, X, (("q", q), ("w", w)), (), f, c)


@functools.cache
def sa_model(T: int, d: int, *, sa_pooling: str = "mean") -> SymbolicModel:
    """Softmax self-attention pooled over output tokens, ``f = p^T S_row(X W X^T) X w``.

    Parameters
    ----------
    T, d : int
        Sequence length and dimension (``T d <= 64``).
    sa_pooling : {"mean", "first"}, default "mean"
        ``p = 1/T`` (mean pooling) or ``p = e_1`` (first output token); switch
        ``pa.sa_pooling`` [INFERRED].  ``"sa_then_pa"`` is not modelled symbolically.

    Returns
    -------
    SymbolicModel

    Notes
    -----
    prompt_attention.md §4.4.  Row ``i`` of ``X W X^T`` has entries ``x_i^T W x_j``.
    """
    T, d = _size_iv(T, d)
    if sa_pooling not in ("mean", "first"):
        raise ValueError(f"sa_pooling must be 'mean' or 'first', got {sa_pooling!r}")
    X, w = _token_matrix(T, d), _vector("w", d)
    W = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"W_{a}_{b}", real=True))
    shifts = tuple(sp.Symbol(f"m_{i}", real=True) for i in range(T))
    scores = X * W * X.T
    v = X * w
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
    if name not in allowed:
        raise ValueError(f"name must be one of {allowed}, got {name!r}")


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


def _pa_closed(model: SymbolicModel, name: str) -> sp.Matrix:
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


def _sa_closed(model: SymbolicModel, name: str) -> sp.Matrix:
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
    Xa = np.ascontiguousarray(X, dtype=np.float64)
    if Xa.shape != (model.T, model.d):
        raise ValueError(f"X must have shape ({model.T}, {model.d}), got {Xa.shape}")
    out = [Xa]
    for key, sym in model.params:
        if key not in values:
            raise ValueError(f"missing parameter {key!r} (model {model.kind})")
        arr = np.ascontiguousarray(values[key], dtype=np.float64)
        if arr.size != len(sym):
            raise ValueError(f"{key} must have {len(sym)} entries, got {arr.size}")
        out.append(arr.reshape(sym.shape))
    for a in out:
        if not np.all(np.isfinite(a)):
            raise ValueError("X and the parameters must be finite")
    extra = set(values) - {k for k, _ in model.params}
    if extra:
        raise ValueError(f"unknown parameters {sorted(extra)} for model {model.kind}")
    return out


def _numeric_shifts(model: SymbolicModel, arrays: list) -> list[float]:
    if model.kind == "PA":
        X, q = arrays[0], arrays[1]
        tau = float(model.scale)
        return [float(np.max(tau * (X @ q)))]
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
    if backend not in ("numpy", "mpmath"):
        raise ValueError(f"backend must be 'numpy' or 'mpmath', got {backend!r}")
    if not isinstance(dps, int) or dps < 15:
        raise ValueError(f"dps must be an integer >= 15, got {dps!r}")
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
