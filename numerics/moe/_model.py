"""Regression mixtures of experts with sigmoid or softmax quadratic gates (compiled).

The model (spec ``sigmoid_moe.md`` §3.1) for ``k`` atoms, input ``x`` in R^d:

* sigmoid: ``f(x) = sum_i sigma(s_i(x)) h(x, eta_i)``;
* softmax: ``f(x) = sum_i softmax(s(x))_i h(x, eta_i)``, the last atom pinned (its gate
  parameters are 0 and are not part of the parameter vector, §2 item 2).

Scores are linear in their parameters, ``s_i(x) = g_i . phi(x)``, which is what makes
``d >= 1`` cheap: only the feature map ``phi`` depends on the score kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from numerics.core._validate import check_array, check_choice, check_int, check_real, check_vector

__all__ = ["MoEModel"]

# Integer codes handed to the kernels.
GATE_CODES = {"sigmoid": 0, "softmax": 1}
SCORE_CODES = {"full": 0, "partial": 1, "linear": 2}
EXPERT_CODES = {"linear": 0, "poly": 1, "hidden": 2, "hidden_nw": 3, "constant": 4}
ACT_CODES = {"relu": 0, "gelu": 1, "tanh": 2, "sigmoid": 3}

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ----------------------------------------------------------------------------- kernels
@njit(cache=True, error_model="numpy", inline="always")
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True, error_model="numpy", inline="always")
def _act(code, z):
    """Return (act(z), act'(z))."""
    if code == 0:
        if z > 0.0:
            return z, 1.0
        return 0.0, 0.0
    if code == 1:
        cdf = 0.5 * (1.0 + math.erf(z * _SQRT_HALF))
        return z * cdf, cdf + z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if code == 2:
        t = math.tanh(z)
        return t, 1.0 - t * t
    s = _sigmoid(z)
    return s, s * (1.0 - s)


@njit(cache=True, error_model="numpy", inline="always")
def _score_features(x, t, score, out):
    """Fill ``out`` with phi(x_t): [(2 - delta_kl) x_k x_l for k <= l], [x], 1."""
    d = x.shape[1]
    q = 0
    if score != 2:
        for a in range(d):
            for b in range(a, d):
                out[q] = (1.0 if a == b else 2.0) * x[t, a] * x[t, b]
                q += 1
    if score != 1:
        for a in range(d):
            out[q] = x[t, a]
            q += 1
    out[q] = 1.0


@njit(cache=True, error_model="numpy", inline="always")
def _expert(x, t, theta, eo, pe, expert, act, dh, i):
    """Return h(x_t, eta) for eta = theta[eo:eo+pe]; fill dh[i] with dh/deta.

    Rows and offsets instead of slices: array views cost reference counting per point.
    """
    d = x.shape[1]
    if expert == 0:  # u . x + v
        h = theta[eo + d]
        for a in range(d):
            h += theta[eo + a] * x[t, a]
            dh[i, a] = x[t, a]
        dh[i, d] = 1.0
        return h
    if expert == 1:  # sum_r v_r x^r (d = 1)
        h = 0.0
        pw = 1.0
        for r in range(pe):
            h += theta[eo + r] * pw
            dh[i, r] = pw
            pw *= x[t, 0]
        return h
    if expert == 2:  # w act(u . x)
        z = 0.0
        for a in range(d):
            z += theta[eo + 1 + a] * x[t, a]
        g, gp = _act(act, z)
        dh[i, 0] = g
        for a in range(d):
            dh[i, 1 + a] = theta[eo] * gp * x[t, a]
        return theta[eo] * g
    if expert == 3:  # act(u . x)
        z = 0.0
        for a in range(d):
            z += theta[eo + a] * x[t, a]
        g, gp = _act(act, z)
        for a in range(d):
            dh[i, a] = gp * x[t, a]
        return g
    dh[i, 0] = 1.0  # constant
    return theta[eo]


@njit(cache=True, error_model="numpy", inline="always")
def _model_point(x, t, theta, k, gate, score, expert, act, pg, pe, want_jac, phi, s, h, dh,
                 jrow):
    """f(x_t) and (if want_jac) df/dtheta into jrow; buffers phi (pg,), s, h (k,), dh (k, pe)."""
    _score_features(x, t, score, phi)
    stride = pg + pe
    for i in range(k):
        off = i * stride
        if gate == 0 or i < k - 1:
            acc = 0.0
            for q in range(pg):
                acc += theta[off + q] * phi[q]
            s[i] = acc
            eoff = off + pg
        else:
            s[i] = 0.0
            eoff = off
        h[i] = _expert(x, t, theta, eoff, pe, expert, act, dh, i)
    f = 0.0
    if gate == 0:
        for i in range(k):
            sg = _sigmoid(s[i])
            f += sg * h[i]
            if want_jac:
                off = i * stride
                dsg = sg * (1.0 - sg) * h[i]
                for q in range(pg):
                    jrow[off + q] = dsg * phi[q]
                for r in range(pe):
                    jrow[off + pg + r] = sg * dh[i, r]
        return f
    m = s[0]
    for i in range(1, k):
        if s[i] > m:
            m = s[i]
    tot = 0.0
    for i in range(k):
        s[i] = math.exp(s[i] - m)  # s now holds un-normalised weights
        tot += s[i]
    for i in range(k):
        s[i] /= tot
        f += s[i] * h[i]
    if want_jac:
        for i in range(k):
            off = i * stride
            if i < k - 1:
                dg = s[i] * (h[i] - f)
                for q in range(pg):
                    jrow[off + q] = dg * phi[q]
                eoff = off + pg
            else:
                eoff = off
            for r in range(pe):
                jrow[eoff + r] = s[i] * dh[i, r]
    return f


@njit(cache=True, error_model="numpy")
def _model_eval_kernel(x, theta, k, gate, score, expert, act, pg, pe, want_jac, f_out, j_out):
    n = x.shape[0]
    phi = np.empty(pg)
    s = np.empty(k)
    h = np.empty(k)
    dh = np.empty((k, pe))
    jrow = np.zeros(theta.shape[0])
    for t in range(n):
        f_out[t] = _model_point(
            x, t, theta, k, gate, score, expert, act, pg, pe, want_jac, phi, s, h, dh, jrow
        )
        if want_jac:
            for q in range(theta.shape[0]):
                j_out[t, q] = jrow[q]


# ----------------------------------------------------------------------------- Python side
def _model_iv(gate, score, expert, act, degree, d):
    check_choice("gate", gate, GATE_CODES)
    check_choice("score", score, SCORE_CODES)
    check_choice("expert", expert, EXPERT_CODES)
    check_choice("act", act, ACT_CODES)
    check_int("d", d, low=1)
    check_int("degree", degree, low=0)
    if expert == "poly" and d != 1:
        raise ValueError(f"polynomial experts are implemented for d = 1 only, got d = {d}")


@dataclass(frozen=True)
class MoEModel:
    """A (gate, score, expert) combination and its flat parameter layout.

    Parameters
    ----------
    gate : {"sigmoid", "softmax"}
        Sigmoid gate ``sigma(s_i(x))`` or softmax over atoms with the last atom pinned.
    score : {"full", "partial", "linear"}
        ``x'Ax + b'x + c`` (fully quadratic), ``x'Ax + c`` (partially quadratic) or
        ``b'x + c`` (linear gate).  ``A`` is symmetric and stored by its free entries
        ``A_kl, k <= l`` (row-major); its feature is ``(2 - delta_kl) x_k x_l``.
    expert : {"linear", "poly", "hidden", "hidden_nw", "constant"}
        ``u'x + v``; ``sum_r v_r x^r`` (d = 1, ``r = 0..degree``); ``w act(u'x)``;
        ``act(u'x)`` (no output weight, used by C7); a constant ``v``.
    act : {"relu", "gelu", "tanh", "sigmoid"}, default "tanh"
        Activation of the one-hidden-unit experts.
    degree : int, default 2
        Degree of polynomial experts.
    d : int, default 1
        Input dimension.

    Notes
    -----
    Models of spec §3.1 ([RELATED:2405.13997] for sigmoid linear gates, quadratic scores
    [INFERRED]; expert families [RELATED:2505.10860]).

    Flat parameter layout for ``k`` atoms: atom ``i`` occupies
    ``theta[i*(pg+pe) : (i+1)*(pg+pe)] = [gate_i, eta_i]`` with
    gate ``[A_kl (k<=l), b, c]`` (``[A, c]`` partial, ``[b, c]`` linear) and
    expert ``[u, v]`` (linear), ``[v_0..v_degree]`` (poly), ``[w, u]`` (hidden), ``[u]``
    (hidden_nw), ``[v]`` (constant).  With the softmax gate the last atom has no gate block
    (pinned at ``A = 0, b = 0, c = 0``), so ``p = k (pg + pe) - pg``.

    Layouts for d = 1 (atom ``i``; ``pg``, ``pe``)::

        sigmoid, full,    linear    : a_i, b_i, c_i, u_i, v_i          (3, 2)
        sigmoid, partial, linear    : a_i, c_i, u_i, v_i               (2, 2)   C5, C6, C8
        sigmoid, linear,  linear    : b_i, c_i, u_i, v_i               (2, 2)
        sigmoid, full,    hidden_nw : a_i, b_i, c_i, u_i               (3, 1)   C7
        sigmoid, *,       hidden    : gate_i, w_i, u_i                 (., 2)
        sigmoid, *,       poly      : gate_i, v_i0, ..., v_i,degree    (., degree + 1)
        sigmoid, *,       constant  : gate_i, v_i                      (., 1)
        softmax, full,    linear    : a_i, b_i, c_i, u_i, v_i (i < k); u_k, v_k   C9
        softmax, partial, linear    : a_i, c_i, u_i, v_i (i < k); u_k, v_k        C5, C10

    For d > 1, ``a`` is replaced by ``A_11, A_12, ..., A_1d, A_22, ..., A_dd`` and ``b``,
    ``u`` by vectors of length d.

    Examples
    --------
    >>> m = MoEModel("softmax", "full", "linear")
    >>> m.n_gate, m.n_expert, m.n_params(3)
    (3, 2, 12)
    """

    gate: str
    score: str
    expert: str
    act: str = "tanh"
    degree: int = 2
    d: int = 1

    def __post_init__(self):
        _model_iv(self.gate, self.score, self.expert, self.act, self.degree, self.d)

    # layout -------------------------------------------------------------------
    @property
    def n_quad(self) -> int:
        """Number of free entries of ``A`` in the score (0 for the linear gate)."""
        return 0 if self.score == "linear" else self.d * (self.d + 1) // 2

    @property
    def n_lin(self) -> int:
        """Number of entries of ``b`` in the score (0 for the partially quadratic score)."""
        return 0 if self.score == "partial" else self.d

    @property
    def n_gate(self) -> int:
        """Gate parameters per free atom, ``pg``."""
        return self.n_quad + self.n_lin + 1

    @property
    def n_expert(self) -> int:
        """Expert parameters per atom, ``pe``."""
        d = self.d
        return {"linear": d + 1, "poly": self.degree + 1, "hidden": d + 1, "hidden_nw": d,
                "constant": 1}[self.expert]

    @property
    def codes(self) -> tuple[int, int, int, int]:
        """Integer codes (gate, score, expert, act) passed to the kernels."""
        return (GATE_CODES[self.gate], SCORE_CODES[self.score], EXPERT_CODES[self.expert],
                ACT_CODES[self.act])

    def n_params(self, k: int) -> int:
        """Length of the flat parameter vector for ``k`` atoms."""
        k = check_int("k", k, low=1)
        p = k * (self.n_gate + self.n_expert)
        return p - self.n_gate if self.gate == "softmax" else p

    def n_atoms(self, theta) -> int:
        """Return the number of atoms ``k`` of a flat vector (ValueError if none fits)."""
        p = np.shape(theta)[0] if np.ndim(theta) == 1 else -1
        stride = self.n_gate + self.n_expert
        extra = self.n_gate if self.gate == "softmax" else 0
        if p < 1 or (p + extra) % stride != 0 or (p + extra) // stride < 1:
            minus = f" - {extra}" if extra else ""
            raise ValueError(
                f"theta must be a 1-D vector of length k*{stride}{minus} for some k >= 1, "
                f"got shape {np.shape(theta)}"
            )
        return (p + extra) // stride

    def unpack(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """Split a flat vector into gates ``(k, pg)`` and experts ``(k, pe)``.

        The pinned softmax atom gets an all-zero gate row.
        """
        theta = check_vector("theta", theta)
        k = self.n_atoms(theta)
        pg, pe = self.n_gate, self.n_expert
        gates = np.zeros((k, pg))
        experts = np.empty((k, pe))
        for i in range(k):
            off = i * (pg + pe)
            if self.gate == "sigmoid" or i < k - 1:
                gates[i] = theta[off : off + pg]
                off += pg
            experts[i] = theta[off : off + pe]
        return gates, experts

    def pack(self, gates, experts) -> np.ndarray:
        """Inverse of :meth:`unpack` (the pinned softmax gate row must be zero)."""
        gates = np.atleast_2d(np.asarray(gates, dtype=np.float64))
        experts = np.atleast_2d(np.asarray(experts, dtype=np.float64))
        k = gates.shape[0]
        if gates.shape != (k, self.n_gate) or experts.shape != (k, self.n_expert):
            raise ValueError(
                f"gates and experts must have shapes (k, {self.n_gate}) and (k, {self.n_expert}),"
                f" got {gates.shape} and {experts.shape}"
            )
        if self.gate == "softmax" and np.any(gates[-1] != 0.0):
            raise ValueError(
                f"the last softmax atom is pinned: its gate row must be 0, got {gates[-1]}"
            )
        parts = []
        for i in range(k):
            if self.gate == "sigmoid" or i < k - 1:
                parts.append(gates[i])
            parts.append(experts[i])
        out = np.concatenate(parts)
        if not np.all(np.isfinite(out)):
            raise ValueError("gates and experts must be finite")
        return out

    def gate_vector(self, A=None, b=None, c: float = 0.0) -> np.ndarray:
        """Gate block ``[A_kl (k<=l), b, c]`` from a symmetric matrix ``A`` and ``b``.

        Raises ValueError for an asymmetric ``A``: ``x'Ax`` only sees ``(A + A')/2``, so the
        skew part would be unidentifiable (spec §2 item 1).
        """
        d = self.d
        parts = []
        if self.n_quad:
            A = np.zeros((d, d)) if A is None else check_array("A", A, shape=(d, d))
            if not np.allclose(A, A.T, rtol=0.0, atol=1e-14 * (1.0 + np.abs(A).max())):
                raise ValueError(
                    "A must be symmetric: x'Ax depends only on (A + A')/2, so an asymmetric A "
                    "has an unidentifiable skew part (spec §2 item 1); pass (A + A.T)/2"
                )
            parts.append(A[np.triu_indices(d)])
        elif A is not None:
            raise ValueError(f"score {self.score!r} has no quadratic term; got A = {A}")
        if self.n_lin:
            b = np.zeros(d) if b is None else check_array("b", b).reshape(-1)
            if b.shape != (d,):
                raise ValueError(f"b must be a vector of length {d}, got {b}")
            parts.append(b)
        elif b is not None:
            raise ValueError(f"score {self.score!r} has no linear term; got b = {b}")
        parts.append(np.array([check_real("c", c)]))
        return np.concatenate(parts)

    def split_gate(self, gates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split gate rows ``(k, pg)`` into the A part, the b part and c.

        The A part is returned with off-diagonal entries scaled by sqrt(2), so that its
        Euclidean norm is the Frobenius norm of the symmetric matrix.
        """
        gates = np.atleast_2d(gates)
        nq, nl = self.n_quad, self.n_lin
        A = gates[:, :nq].copy()
        if nq:
            iu = np.triu_indices(self.d)
            A[:, iu[0] != iu[1]] *= math.sqrt(2.0)
        return A, gates[:, nq : nq + nl].copy(), gates[:, nq + nl].copy()

    # evaluation ----------------------------------------------------------------
    def evaluate(self, theta, x) -> np.ndarray:
        """Regression function ``f_G(x)`` at the rows of ``x`` (compiled).

        Parameters
        ----------
        theta : array_like, shape (p,)
            Flat parameter vector.
        x : array_like, shape (n,) for d = 1 or (n, d)
            Inputs.

        Returns
        -------
        ndarray, shape (n,)
        """
        f, _ = self._run(theta, x, False)
        return f

    def jacobian(self, theta, x) -> tuple[np.ndarray, np.ndarray]:
        """``f_G(x)`` and the analytic Jacobian ``df/dtheta`` of shape (n, p) (compiled)."""
        return self._run(theta, x, True)

    def _run(self, theta, x, want_jac):
        theta = check_vector("theta", theta)
        k = self.n_atoms(theta)
        x = as_design(x, self.d)
        g, s, e, a = self.codes
        f = np.empty(x.shape[0])
        jac = np.empty((x.shape[0], theta.shape[0]) if want_jac else (1, 1))
        _model_eval_kernel(x, theta, k, g, s, e, a, self.n_gate, self.n_expert, want_jac, f, jac)
        return f, (jac if want_jac else None)


def as_design(x, d):
    """Coerce inputs to a finite C-contiguous float64 array of shape (n, d), n >= 1."""
    x = check_array("x", x)
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d or x.shape[0] < 1:
        raise ValueError(f"x must have shape (n,) or (n, {d}) with n >= 1, got {x.shape}")
    return x


# ----------------------------------------------------------------------------- numpy reference
def _score_features_np(model: MoEModel, x: np.ndarray) -> np.ndarray:
    cols = []
    if model.n_quad:
        for a in range(model.d):
            for b in range(a, model.d):
                cols.append((1.0 if a == b else 2.0) * x[:, a] * x[:, b])
    if model.n_lin:
        cols.extend(x[:, a] for a in range(model.d))
    cols.append(np.ones(x.shape[0]))
    return np.stack(cols, axis=1)


def _act_np(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0.0).astype(np.float64)
    if name == "gelu":
        erf = np.vectorize(math.erf, otypes=[np.float64])
        cdf = 0.5 * (1.0 + erf(z * _SQRT_HALF))
        return z * cdf, cdf + z * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t * t
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return s, s * (1.0 - s)


def _expert_np(model: MoEModel, x: np.ndarray, eta: np.ndarray):
    n = x.shape[0]
    if model.expert == "linear":
        dh = np.concatenate([x, np.ones((n, 1))], axis=1)
        return dh @ eta, dh
    if model.expert == "poly":
        dh = x[:, :1] ** np.arange(model.degree + 1)
        return dh @ eta, dh
    if model.expert == "hidden":
        g, gp = _act_np(model.act, x @ eta[1:])
        return eta[0] * g, np.concatenate([g[:, None], eta[0] * gp[:, None] * x], axis=1)
    if model.expert == "hidden_nw":
        g, gp = _act_np(model.act, x @ eta)
        return g, gp[:, None] * x
    return np.full(n, eta[0]), np.ones((n, 1))


def reference_jacobian(model: MoEModel, theta, x) -> tuple[np.ndarray, np.ndarray]:
    """Plain-numpy ``f_G(x)`` and ``df/dtheta``: an independent route to the compiled kernel.

    Also the model that a scipy benchmark would evaluate without numba.

    Parameters
    ----------
    model : MoEModel
    theta : array_like, shape (p,)
    x : array_like, shape (n,) or (n, d)

    Returns
    -------
    f : ndarray, shape (n,)
    jac : ndarray, shape (n, p)
    """
    theta = check_vector("theta", theta)
    x = as_design(x, model.d)
    gates, experts = model.unpack(theta)
    k = gates.shape[0]
    phi = _score_features_np(model, x)
    s = phi @ gates.T  # (n, k); the pinned softmax row is zero
    hs, dhs = zip(*(_expert_np(model, x, experts[i]) for i in range(k)), strict=True)
    h = np.stack(hs, axis=1)
    if model.gate == "sigmoid":
        w = 0.5 * (1.0 + np.tanh(0.5 * s))
        f = np.sum(w * h, axis=1)
        dgate = (w * (1.0 - w) * h)  # df/ds_i
    else:
        z = np.exp(s - s.max(axis=1, keepdims=True))
        w = z / z.sum(axis=1, keepdims=True)
        f = np.sum(w * h, axis=1)
        dgate = w * (h - f[:, None])
    cols = []
    for i in range(k):
        if model.gate == "sigmoid" or i < k - 1:
            cols.append(dgate[:, i : i + 1] * phi)
        cols.append(w[:, i : i + 1] * dhs[i])
    return f, np.concatenate(cols, axis=1)
