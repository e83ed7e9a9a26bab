"""The first gradient steps from the origin (prompt_attention.md §6.2, §6.3, C14).

Head step (§6.2): law of ``(1/n) sum_i y_i x_bar_i(0)``, the leading-order cosine with
``w*`` and the sample size ``n*`` at which it reaches a target.  Prompt step at ``q = 0``
(§6.3): mean of ``g_hat(w) = (1/n) sum_i y_i C_hat(X_i) w``, its exact noise variance off
the signal span, the exact ``tr Cov(Y)`` for the oracle head with ``E[nu^2]``, and the
alignment approximation.  Closed forms are plain floats (``math``); the two exact second
moments are also derived symbolically from the definitions for small ``T`` and ``d``
(:func:`derive_nu_second_moment`, :func:`derive_trace_cov`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from theory.core._validate import check_choice, check_int, check_real, check_vector
from theory.pa._moments import _expectation_operator

__all__ = [
    "LABEL_LAWS",
    "derive_nu_second_moment",
    "derive_nu_variance",
    "derive_trace_cov",
    "head_step_cos",
    "head_step_moments",
    "head_step_n_star",
    "nu_second_moment",
    "nu_variance",
    "prompt_alignment",
    "prompt_gradient_mean",
    "prompt_gradient_noise_variance",
    "prompt_gradient_signal",
    "prompt_gradient_trace_cov",
    "prompt_step_cos",
    "prompt_step_n_star",
]

#: Label laws of the prompt-step sample mean: i.i.d. Rademacher (the spec's §6.3) or a
#: label-balanced split (fixed labels with mean zero, as claim ``pa.c14`` draws them).
LABEL_LAWS = ("rademacher", "balanced")


def _common_iv(zeta: Any, sigma: Any, T: Any) -> tuple[float, float, int]:
    return (check_real("zeta", zeta, low=0.0, low_open=True, high=1.0),
            check_real("sigma", sigma, low=0.0, low_open=True), check_int("T", T, low=1))


# ----------------------------------------------------------------------------- §6.2


def head_step_moments(zeta: float, q_star: Any, w_star: Any, mu_irr: Any = None, *,
                      sigma: float, T: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and per-coordinate variance of the first head step ``(1/n) sum y_i x_bar_i(0)``.

    Parameters
    ----------
    zeta : float
        Sparsity ``K/T`` in ``(0, 1]`` (fixed relevant count).
    q_star, w_star : array_like, shape (d,)
    mu_irr : array_like, shape (d,), optional
        Irrelevant mean (default 0).
    sigma : float
        Noise level ``> 0``.
    T, n : int
        Sequence length and split size.

    Returns
    -------
    mean : ndarray, shape (d,)
        ``zeta w*``.
    var : ndarray, shape (d,)
        ``(zeta q* + (1 - zeta) mu)_j^2 / n + sigma^2 / (n T)``.

    Notes
    -----
    prompt_attention.md §6.2 [MATH]: the step equals
    ``zeta w* + y_bar (zeta q* + (1 - zeta) mu) + sigma / sqrt(n T) g`` exactly in law,
    ``y_bar`` the mean of ``n`` Rademacher labels (variance ``1/n``), ``g ~ N(0, I)``
    independent of ``y_bar``.  Balanced labels ``P(y = 1) = 1/2``.
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    n = check_int("n", n, low=1)
    q = check_vector("q_star", q_star)
    w = check_vector("w_star", w_star, dim=q.size)
    mu = np.zeros_like(q) if mu_irr is None else check_vector("mu_irr", mu_irr, dim=q.size)
    drift = zeta * q + (1.0 - zeta) * mu
    return zeta * w, drift**2 / n + sigma**2 / (n * T)


def head_step_cos(zeta: float, *, w_norm: float, q_norm: float, sigma: float, d: int, T: int,
                  n: float, balanced: bool = False) -> float:
    """Leading-order ``cos(w1, w*)`` of the first head step (``mu_irr = 0``, ⊥).

    Parameters
    ----------
    zeta : float
        Sparsity in ``(0, 1]``.
    w_norm, q_norm : float
        ``||w*|| > 0`` and ``||q*|| >= 0``.
    sigma : float
        Noise level ``> 0``.
    d, T : int
        Dimension and sequence length.
    n : float
        Split size ``> 0`` (real, so that it can be interpolated).
    balanced : bool, default False
        Label-balanced split (``y_bar = 0``): drop the ``zeta^2 ||q*||^2 / n`` term.

    Returns
    -------
    float
        ``zeta ||w*|| / sqrt(zeta^2 ||w*||^2 + zeta^2 ||q*||^2 / n + sigma^2 d / (n T))``.

    Notes
    -----
    prompt_attention.md §6.2 [MATH, leading order].

    Examples
    --------
    >>> kw = dict(zeta=0.2, w_norm=1.0, sigma=1.0, d=100, T=20)
    >>> n_star = head_step_n_star(0.9, **kw)
    >>> round(head_step_cos(q_norm=3.0, n=n_star, balanced=True, **kw), 12)
    0.9
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    w_norm = check_real("w_norm", w_norm, low=0.0, low_open=True)
    q_norm = check_real("q_norm", q_norm, low=0.0)
    d = check_int("d", d, low=1)
    n = check_real("n", n, low=0.0, low_open=True)
    ctx = 0.0 if balanced else zeta**2 * q_norm**2 / n
    s = zeta * w_norm
    return s / math.sqrt(s**2 + ctx + sigma**2 * d / (n * T))


def head_step_n_star(c: float, *, zeta: float, w_norm: float, sigma: float, d: int,
                     T: int) -> float:
    """Split size at which the balanced head step reaches ``cos(w1, w*) = c``.

    Parameters
    ----------
    c : float
        Target cosine in ``(0, 1)``.
    zeta, w_norm, sigma, d, T
        As in :func:`head_step_cos`.

    Returns
    -------
    float
        ``n* = c^2 / (1 - c^2) * sigma^2 d / (T zeta^2 ||w*||^2)``.

    Notes
    -----
    prompt_attention.md §12 claim C14 [MATH for the leading-order formula; as the paper's
    bound INFERRED]; inverse of :func:`head_step_cos` with ``balanced=True``.
    """
    c = check_real("c", c, low=0.0, high=1.0, low_open=True, high_open=True)
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    w_norm = check_real("w_norm", w_norm, low=0.0, low_open=True)
    d = check_int("d", d, low=1)
    return c**2 / (1.0 - c**2) * sigma**2 * d / (T * zeta**2 * w_norm**2)


# ----------------------------------------------------------------------------- §6.3


def _kappa_var_factor(zeta: float, T: int | None, relevant_count: str) -> float:
    if check_choice("relevant_count", relevant_count, ("fixed", "binomial")) == "fixed":
        return zeta * (1.0 - zeta)
    if T is None:
        raise ValueError("T must be given when relevant_count='binomial', got None")
    return zeta * (1.0 - zeta) * (1.0 - 1.0 / check_int("T", T, low=1))


def prompt_gradient_mean(zeta: float, q_star: Any, w_star: Any, w: Any, mu_irr: Any = None,
                         *, T: int | None = None,
                         relevant_count: str = "fixed") -> np.ndarray:
    """Mean of the prompt gradient ``g_hat(w) = (1/n) sum_i y_i C_hat(X_i) w`` at ``q = 0``.

    Parameters
    ----------
    zeta : float
        Sparsity in ``(0, 1]``.
    q_star, w_star, w : array_like, shape (d,)
        Context, label vector and the (independent) head.
    mu_irr : array_like, shape (d,), optional
        Irrelevant mean (default 0).
    T : int, optional
        Needed for ``relevant_count = "binomial"``.
    relevant_count : {"fixed", "binomial"}, default "fixed"

    Returns
    -------
    ndarray, shape (d,)
        ``F [(q* - mu) <w*, w> + w* <q* - mu, w>]`` with ``F = zeta (1 - zeta)`` (fixed) or
        ``zeta (1 - zeta)(1 - 1/T)`` (binomial).

    Notes
    -----
    prompt_attention.md §6.3 item 1 = §6.1 item 2 applied to ``w`` [MATH].  It is the
    negative loss gradient for the correlation loss; the other losses of §4.6 give the same
    direction at ``f = 0`` up to a positive factor.
    """
    zeta = check_real("zeta", zeta, low=0.0, low_open=True, high=1.0)
    F = _kappa_var_factor(zeta, T, relevant_count)
    q = check_vector("q_star", q_star)
    ws = check_vector("w_star", w_star, dim=q.size)
    wv = check_vector("w", w, dim=q.size)
    mu = np.zeros_like(q) if mu_irr is None else check_vector("mu_irr", mu_irr, dim=q.size)
    a = q - mu
    return F * (a * float(ws @ wv) + ws * float(a @ wv))


def prompt_gradient_noise_variance(zeta: float, q_star: Any, w_star: Any, w: Any,
                                   mu_irr: Any = None, *, sigma: float, T: int,
                                   n: int = 1) -> float:
    """Exact variance of ``e^T g_hat(w)`` along a unit ``e`` orthogonal to q*, w*, mu, w.

    Parameters
    ----------
    zeta : float
        Sparsity ``K/T`` in ``(0, 1]`` (fixed relevant count).
    q_star, w_star, w : array_like, shape (d,)
    mu_irr : array_like, optional
    sigma : float
        Noise level ``> 0``.
    T : int
        Sequence length.
    n : int, default 1
        Split size (``n = 1`` gives the per-sample variance ``V_1`` for ``w = w*``).

    Returns
    -------
    float
        ``sigma^2/(n T) [sigma^2 ||w||^2 (1 - 1/T)
        + zeta (1 - zeta)(<q* - mu, w>^2 + <w*, w>^2)]``.

    Notes
    -----
    prompt_attention.md §6.3 item 2 [MATH].  (The identity needs ``d`` large enough for
    such an ``e`` to exist.)
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    n = check_int("n", n, low=1)
    q = check_vector("q_star", q_star)
    ws = check_vector("w_star", w_star, dim=q.size)
    wv = check_vector("w", w, dim=q.size)
    mu = np.zeros_like(q) if mu_irr is None else check_vector("mu_irr", mu_irr, dim=q.size)
    a = q - mu
    inner = sigma**2 * float(wv @ wv) * (1.0 - 1.0 / T) + zeta * (1.0 - zeta) * (
        float(a @ wv) ** 2 + float(ws @ wv) ** 2)
    return sigma**2 / (n * T) * inner


def nu_second_moment(zeta: float, *, w_norm: float, sigma: float, T: int) -> float:
    """``E[nu^2]`` for the empirical variance ``nu`` of the tokens' ``w*``-coordinates.

    Parameters
    ----------
    zeta : float
        Sparsity ``K/T`` in ``(0, 1]``.
    w_norm : float
        ``||w*|| >= 0``.
    sigma : float
        Noise level ``> 0``.
    T : int
        Sequence length.

    Returns
    -------
    float
        ``[A^4 + 6 A^2 s^2 + 3 s^4 + 2 (A^2 + s^2) s^2 (T - 2) + s^4 T (T - 2)] / T^2`` with
        ``s = sigma``, ``A^2 = T zeta (1 - zeta) ||w*||^2``.

    Notes
    -----
    prompt_attention.md §6.3 item 3 [MATH]; ``T nu / sigma^2`` is non-central chi-square
    with ``T - 1`` degrees of freedom and non-centrality ``A^2 / sigma^2``.  Checked against
    :func:`derive_nu_second_moment` (exact, small ``T``) and Monte Carlo in the tests.

    Examples
    --------
    >>> round(nu_second_moment(0.5, w_norm=0.0, sigma=1.0, T=2), 6)  # chi2_1^2 / 4
    0.75
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    A2 = T * zeta * (1.0 - zeta) * w_norm**2
    s2 = sigma**2
    return (A2**2 + 6 * A2 * s2 + 3 * s2**2 + 2 * (A2 + s2) * s2 * (T - 2)
            + s2**2 * T * (T - 2)) / T**2


def nu_variance(zeta: float, *, w_norm: float, sigma: float, T: int) -> float:
    """``Var(nu)`` for the empirical variance ``nu`` of the tokens' ``w*``-coordinates.

    Parameters as in :func:`nu_second_moment`.

    Returns
    -------
    float
        ``2 sigma^2 (2 A^2 + sigma^2 (T - 1)) / T^2`` with ``A^2 = T zeta (1 - zeta) ||w*||^2``;
        equal to :func:`nu_second_moment` minus ``E[nu]^2``,
        ``E[nu] = (A^2 + sigma^2 (T - 1)) / T``.

    Notes
    -----
    ``T nu / sigma^2`` is non-central chi-square with ``T - 1`` degrees of freedom and
    non-centrality ``A^2 / sigma^2`` (prompt_attention.md §6.3 item 3), whose variance is
    ``2 (T - 1) + 4 A^2 / sigma^2``.  This is the ``w*``-coordinate term of the prompt-step
    trace for label-balanced splits (``labels="balanced"`` in
    :func:`prompt_gradient_trace_cov`).  [MATH, a derivation of this toolkit; checked against
    :func:`derive_nu_variance` (exact, small ``T``).]

    Examples
    --------
    >>> nu_variance(0.5, w_norm=0.0, sigma=1.0, T=2)  # Var(chi2_1 / 2)
    0.5
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    A2 = T * zeta * (1.0 - zeta) * w_norm**2
    return 2.0 * sigma**2 * (2.0 * A2 + sigma**2 * (T - 1)) / T**2


def _labels_iv(labels: Any) -> str:
    return str(check_choice("labels", labels, LABEL_LAWS))


def prompt_gradient_signal(zeta: float, *, q_norm: float, w_norm: float) -> float:
    """``S = zeta (1 - zeta) ||q*|| ||w*||^2``, the mean of ``Y = y C_hat w*`` along ``u``.

    Notes
    -----
    prompt_attention.md §6.3 item 3 [MATH] (⊥, ``mu_irr = 0``, fixed relevant count).
    """
    zeta = check_real("zeta", zeta, low=0.0, low_open=True, high=1.0)
    q_norm = check_real("q_norm", q_norm, low=0.0)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    return zeta * (1.0 - zeta) * q_norm * w_norm**2


def prompt_gradient_trace_cov(zeta: float, *, q_norm: float, w_norm: float, sigma: float,
                              d: int, T: int, labels: str = "rademacher") -> float:
    """Exact ``tr Cov(Y)`` for ``Y = y C_hat(X) w*`` (oracle head, ⊥, ``mu_irr = 0``).

    Parameters
    ----------
    zeta : float
        Sparsity ``K/T`` in ``(0, 1]``.
    q_norm, w_norm : float
        ``||q*||`` and ``||w*||`` (``>= 0``).
    sigma : float
        Noise level ``> 0``.
    d, T : int
        Dimension (``>= 2``) and sequence length.
    labels : {"rademacher", "balanced"}
        The law of the labels in the sample mean ``g_hat = (1/n) sum_i Y_i``.
        ``"rademacher"`` (the spec's): i.i.d. labels, and the result is ``tr Cov(Y)``.
        ``"balanced"``: fixed labels with mean zero (a label-balanced split), and the result
        is ``n tr Cov(g_hat) = E_y tr Cov(Y | y)``.

    Returns
    -------
    float
        ``(d - 1) V_1 + sigma^2 zeta (1 - zeta) ||q*||^2 ||w*||^2 / T + ||w*||^2 m``,
        ``V_1 = (sigma^2 ||w*||^2 / T)[sigma^2 (1 - 1/T) + zeta (1 - zeta) ||w*||^2]``, with
        ``m = E[nu^2]`` (:func:`nu_second_moment`) for Rademacher labels and
        ``m = Var(nu)`` (:func:`nu_variance`) for balanced ones.

    Notes
    -----
    prompt_attention.md §6.3 item 3 [MATH] for ``labels="rademacher"``.  The balanced form
    is a derivation of this toolkit [MATH] (Variant A, ⊥, ``mu_irr = 0``, fixed ``K``; frame
    ``u``, ``w*-hat``, ``e_3..e_d``; ``v_t = <x_t, w*-hat>``):

    1. The map ``(y, xi) -> (-y, -xi)`` preserves the law of the data given ``R`` and sends
       ``v -> -v``.  It leaves ``u^T Y`` and ``e_j^T Y`` unchanged (``y`` times a form
       linear in ``v``) and flips ``w*-hat^T Y = y ||w*|| nu`` (``nu`` is even in ``v``).
       So given ``y`` the ``u``- and ``e_j``-coordinates have one law for both labels, and
       ``w*-hat^T Y | y`` is ``y ||w*|| nu`` with ``nu`` independent of ``y``.
    2. With i.i.d. labels, ``Var(w*-hat^T Y) = ||w*||^2 E[nu^2]``: it contains the
       between-label part ``||w*||^2 E[nu]^2`` (conditional means ``+-||w*|| E[nu]``).
    3. With balanced labels those conditional means cancel exactly in ``g_hat`` and only
       ``||w*||^2 Var(nu)`` is left; every other coordinate is unchanged by 1.

    The difference, ``||w*||^2 E[nu]^2``, is O(1) while the rest is O(d / T): the spec's
    form overstates the balanced ``n*`` by a factor that tends to 1 as ``d / T`` grows.
    Both are checked against :func:`derive_trace_cov` (exact, small sizes) and by Monte Carlo
    in the tests; claim ``pa.c14`` chooses between them with ``pa.c14_prompt_trace``.
    """
    zeta, sigma, T = _common_iv(zeta, sigma, T)
    q_norm = check_real("q_norm", q_norm, low=0.0)
    w_norm = check_real("w_norm", w_norm, low=0.0)
    d = check_int("d", d, low=2)
    labels = _labels_iv(labels)
    kv = zeta * (1.0 - zeta)
    V1 = sigma**2 * w_norm**2 / T * (sigma**2 * (1.0 - 1.0 / T) + kv * w_norm**2)
    moment = nu_second_moment if labels == "rademacher" else nu_variance
    m = moment(zeta, w_norm=w_norm, sigma=sigma, T=T)
    return (d - 1) * V1 + sigma**2 * kv * q_norm**2 * w_norm**2 / T + w_norm**2 * m


def prompt_alignment(signal: float, trace_cov: float, n: float) -> float:
    """Alignment approximation ``cos(g_hat, u) ~ S / sqrt(S^2 + tr Cov(Y) / n)``.

    Notes
    -----
    prompt_attention.md §6.3 item 3 [MATH for the moments; the cosine is a leading-order
    approximation].
    """
    signal = check_real("signal", signal, low=0.0)
    trace_cov = check_real("trace_cov", trace_cov, low=0.0)
    n = check_real("n", n, low=0.0, low_open=True)
    den = math.sqrt(signal**2 + trace_cov / n)
    if den == 0.0:
        raise ValueError("signal and trace_cov must not both be 0")
    return signal / den


def prompt_step_cos(zeta: float, *, q_norm: float, w_norm: float, sigma: float, d: int,
                    T: int, n: float, labels: str = "rademacher") -> float:
    """Predicted ``cos(g_hat(w*), u)`` of the oracle-head prompt step with ``n`` samples.

    Notes
    -----
    prompt_attention.md §6.3 item 3 [MATH moments, leading-order cosine]: combines
    :func:`prompt_gradient_signal`, :func:`prompt_gradient_trace_cov` and
    :func:`prompt_alignment`; ``labels`` as in :func:`prompt_gradient_trace_cov`.

    Examples
    --------
    >>> kw = dict(zeta=0.2, q_norm=3.0, w_norm=0.5, sigma=1.0, d=100, T=20)
    >>> round(prompt_step_cos(n=prompt_step_n_star(0.9, **kw), **kw), 12)
    0.9
    """
    S = prompt_gradient_signal(zeta, q_norm=q_norm, w_norm=w_norm)
    tr = prompt_gradient_trace_cov(zeta, q_norm=q_norm, w_norm=w_norm, sigma=sigma, d=d, T=T,
                                   labels=labels)
    return prompt_alignment(S, tr, n)


def prompt_step_n_star(c: float, *, zeta: float, q_norm: float, w_norm: float, sigma: float,
                       d: int, T: int, labels: str = "rademacher") -> float:
    """Split size at which :func:`prompt_step_cos` reaches ``c``: ``c^2 tr / ((1-c^2) S^2)``.

    Notes
    -----
    prompt_attention.md §12 claim C14, prompt side (§6.3 item 3) [MATH leading order;
    as the paper's bound INFERRED]; ``labels`` as in :func:`prompt_gradient_trace_cov`.
    """
    c = check_real("c", c, low=0.0, high=1.0, low_open=True, high_open=True)
    S = prompt_gradient_signal(zeta, q_norm=q_norm, w_norm=w_norm)
    if S == 0.0:
        raise ValueError("zeta (1 - zeta) ||q*|| ||w*||^2 must be > 0 for n* to exist")
    tr = prompt_gradient_trace_cov(zeta, q_norm=q_norm, w_norm=w_norm, sigma=sigma, d=d, T=T,
                                   labels=labels)
    return c**2 * tr / ((1.0 - c**2) * S**2)


# ------------------------------------------------------------ exact symbolic checks


def _sym_tokens(T: int, K: int, d: int, q_norm: sp.Expr, w_norm: sp.Expr, sigma: sp.Expr,
                y: sp.Symbol, Z: sp.Matrix) -> list[sp.Matrix]:
    # Frame e_1 = u, e_2 = w*-hat; R = first K positions (the law is exchangeable).
    rows = []
    for t in range(T):
        mean = sp.zeros(d, 1)
        if t < K:
            mean[0] = q_norm
            if d >= 2:
                mean[1] = y * w_norm
        rows.append(mean + sigma * Z[t, :].T)
    return rows


def _small_iv(T: Any, K: Any, d: Any, dmin: int) -> None:
    check_int("T", T, low=1)
    check_int("d", d, low=dmin)
    check_int("K", K, low=0, high=T)
    if T * d > 12:
        raise ValueError(f"T*d must be <= 12 for the exact derivation, got T={T}, d={d}")


def _sym_nu(T: int, K: int) -> tuple[sp.Expr, Any]:
    """``nu = (1/T) sum_t (v_t - v_bar)^2`` as an expression, and its expectation operator."""
    _small_iv(T, K, 1, 1)
    wn, sg = sp.symbols("w_norm sigma", positive=True)
    y = sp.Symbol("y", real=True)
    xi = sp.symbols(f"xi0:{T}", real=True)
    v = [(y * wn if t < K else 0) + sg * xi[t] for t in range(T)]
    vbar = sum(v) / T
    nu = sum((vt - vbar) ** 2 for vt in v) / T
    return nu, _expectation_operator(y, list(xi))


def derive_nu_second_moment(T: int, K: int) -> sp.Expr:
    """``E[nu^2]`` derived from its definition by exact Gaussian moments (small ``T``).

    Parameters
    ----------
    T : int
        Sequence length (``<= 12``).
    K : int
        Number of relevant tokens, ``0 <= K <= T``.

    Returns
    -------
    sympy.Expr
        In the positive symbols ``w_norm`` and ``sigma``.

    Notes
    -----
    Generic definition behind :func:`nu_second_moment` (prompt_attention.md §6.3 item 3,
    [MATH]): ``nu = (1/T) sum_t (v_t - v_bar)^2``, ``v_t = y ||w*|| 1{t in R} + sigma xi_t``.
    """
    nu, expect = _sym_nu(T, K)
    return sp.factor(expect(nu**2))


def derive_nu_variance(T: int, K: int) -> sp.Expr:
    """``Var(nu) = E[nu^2] - E[nu]^2`` derived from the definition (small ``T``).

    Parameters and symbols as in :func:`derive_nu_second_moment`; the exact counterpart of
    :func:`nu_variance`.
    """
    nu, expect = _sym_nu(T, K)
    return sp.factor(sp.expand(expect(nu**2) - expect(nu) ** 2))


def derive_trace_cov(T: int, K: int, d: int, labels: str = "rademacher") -> sp.Expr:
    """``tr Cov(y C_hat(X) w*)`` derived from the definition for small ``T``, ``d`` (⊥).

    Parameters
    ----------
    T : int
        Sequence length.
    K : int
        Number of relevant tokens.
    d : int
        Dimension ``>= 2`` (``T d <= 12``).
    labels : {"rademacher", "balanced"}
        ``"rademacher"``: ``y`` is a Rademacher variable.  ``"balanced"``: the covariance
        given ``y = +1``, which equals the one given ``y = -1`` by the symmetry in the notes
        of :func:`prompt_gradient_trace_cov` (the balanced split with both labels is checked
        by Monte Carlo in the tests).

    Returns
    -------
    sympy.Expr
        In the positive symbols ``q_norm``, ``w_norm``, ``sigma``.

    Notes
    -----
    Generic definition behind :func:`prompt_gradient_trace_cov` (prompt_attention.md §6.3
    item 3, [MATH]): ``E||Y||^2 - ||E Y||^2`` with ``y`` Rademacher and exact Gaussian
    moments, ``q* = ||q*|| e_1``, ``w* = ||w*|| e_2``, ``mu_irr = 0``.
    """
    _small_iv(T, K, d, 2)
    labels = _labels_iv(labels)
    qn, wn, sg = sp.symbols("q_norm w_norm sigma", positive=True)
    y = sp.Symbol("y", real=True)
    Z = sp.Matrix(T, d, lambda t, j: sp.Symbol(f"z_{t}_{j}", real=True))
    rows = _sym_tokens(T, K, d, qn, wn, sg, y, Z)
    xbar = sum(rows, sp.zeros(d, 1)) / T
    v = [(r.T * sp.Matrix([0, wn] + [0] * (d - 2)))[0, 0] for r in rows]
    vbar = sum(v) / T
    Y = y * sum(((r - xbar) * (vt - vbar) for r, vt in zip(rows, v, strict=True)),
                sp.zeros(d, 1)) / T
    if labels == "balanced":
        Y = Y.subs(y, 1)
    expect = _expectation_operator(y, list(Z))
    mean = Y.applyfunc(expect)
    second = expect((Y.T * Y)[0, 0])
    return sp.factor(sp.expand(second - (mean.T * mean)[0, 0]))
