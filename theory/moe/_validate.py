"""Guards against the set-ups the theory excludes (sigmoid_moe.md §2 items 1-3, §3.1).

* under-specified fits (k < k*);
* an asymmetric ``A`` where the symmetric parametrisation is required (only ``sym(A)`` is
  identifiable);
* true sigmoid gates with ``s_l = -s_j`` (the reflection trap: exactly non-identifiable) or
  ``s_l = s_j`` (identical gates merge into one atom).
"""

from __future__ import annotations

import numpy as np

from theory.core._validate import check_array, check_int, check_real

__all__ = ["check_over_specification", "check_sigmoid_truth", "check_symmetric_gate"]


def check_over_specification(k: int, k_star: int) -> str:
    """Classify a fit as exact- or over-specified; reject under-specified fits.

    Parameters
    ----------
    k : int
        Number of fitted atoms, ``k >= 1``.
    k_star : int
        True number of atoms, ``k_star >= 1``.

    Returns
    -------
    str
        ``"exact"`` if ``k == k_star``, ``"over"`` if ``k > k_star``.

    Raises
    ------
    ValueError
        If ``k < k_star``.

    Notes
    -----
    sigmoid_moe.md §3.1: the theory covers exact (k = k*) and over-specified (k > k*) fits
    [RELATED:2505.10860].

    Examples
    --------
    >>> check_over_specification(3, 2)
    'over'
    """
    k, k_star = check_int("k", k, low=1), check_int("k_star", k_star, low=1)
    if k < k_star:
        raise ValueError(f"k must be >= k_star = {k_star}, got k = {k}: an under-specified fit "
                         "cannot reach f_G*, so no Voronoi-loss rate applies (the theory covers "
                         "k = k* and k > k* only)")
    return "exact" if k == k_star else "over"


def check_symmetric_gate(A, *, atol: float = 0.0) -> np.ndarray:
    """Require a symmetric gate matrix ``A`` (the identifiable parametrisation).

    Parameters
    ----------
    A : array_like, shape (d, d) or (k, d, d)
        One gate matrix or a stack of them.
    atol : float, optional
        Tolerance on ``max |A - A^T|`` (default 0: exact symmetry).

    Returns
    -------
    ndarray
        ``A`` as float64.

    Raises
    ------
    ValueError
        If ``A`` is not square or ``max |A - A^T| > atol``; the message explains that only
        ``sym(A)`` is identifiable.

    Notes
    -----
    sigmoid_moe.md §2 item 1 [MATH]: ``x^T A x`` depends only on ``sym(A) = (A + A^T)/2``.
    """
    a = check_array("A", A)
    atol = check_real("atol", atol, low=0.0)
    if a.ndim not in (2, 3) or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"A must have shape (d, d) or (k, d, d), got {a.shape}")
    skew = float(np.max(np.abs(a - np.swapaxes(a, -1, -2)))) if a.size else 0.0
    if skew > atol:
        raise ValueError(f"A must be symmetric (max |A - A^T| <= {atol}), got max |A - A^T| = "
                         f"{skew:.3g}: x^T A x depends only on sym(A) = (A + A^T)/2, so the skew "
                         "part is unidentifiable and parameter losses on A are meaningless; "
                         "pass sym(A)")
    return a


def check_sigmoid_truth(A, b=None, c=None, *, atol: float = 0.0) -> None:
    """Reject true sigmoid gates that are reflected (``s_l = -s_j``) or identical.

    Parameters
    ----------
    A : array_like, shape (k, d, d)
        Symmetric gate matrices of the true atoms.
    b : array_like, shape (k, d), optional
        Linear gate terms (None for the partially quadratic score).
    c : array_like, shape (k,)
        Intercepts.
    atol : float, optional
        Tolerance for "equal" gate parameters (default 0: exact).

    Raises
    ------
    ValueError
        If ``A`` is not symmetric, shapes disagree, or two atoms have ``(A_l, b_l, c_l) =
        -(A_j, b_j, c_j)`` (the sigmoid reflection trap: exact non-identifiability, singular
        Jacobian) or ``(A_l, b_l, c_l) = (A_j, b_j, c_j)`` (identical gates merge).

    Notes
    -----
    sigmoid_moe.md §2 item 3 and §6.5 [MATH]: ``sigma(-s) = 1 - sigma(s)`` makes
    ``sigma(s1) h1 + sigma(-s1) h2 = h2 + sigma(s1)(h1 - h2)`` exactly, and both atoms' gate
    derivatives carry the same factor ``sigma'(s1)``.
    """
    a = check_symmetric_gate(A, atol=atol)
    if a.ndim != 3:
        raise ValueError(f"A must have shape (k, d, d) (one matrix per true atom), got {a.shape}")
    k, d, _ = a.shape
    if c is None:
        raise ValueError("c must be given (the intercepts of the true gates), got None")
    cc = check_array("c", c).reshape(-1)
    if cc.shape != (k,):
        raise ValueError(f"c must have shape ({k},), got {np.shape(c)}")
    parts = [a.reshape(k, -1)]
    if b is not None:
        parts.append(check_array("b", b, shape=(k, d)))
    parts.append(cc[:, None])
    g = np.concatenate(parts, axis=1)
    for j in range(k):
        for l in range(j + 1, k):
            if np.max(np.abs(g[l] + g[j])) <= atol:
                raise ValueError(
                    f"true sigmoid gates must not be reflected, got s_{l + 1} = -s_{j + 1}: "
                    "sigma(-s) = 1 - sigma(s) makes sigma(s1) h1 + sigma(s2) h2 = h2 + "
                    "sigma(s1)(h1 - h2) exactly (one gated atom plus an ungated expert), so the "
                    "parameters are not identifiable and the Jacobian is singular (§2 item 3); "
                    "choose a truth without s2 = -s1")
            if np.max(np.abs(g[l] - g[j])) <= atol:
                raise ValueError(
                    f"true sigmoid gates must be distinct, got s_{l + 1} = s_{j + 1}: "
                    "sigma(s) h1 + sigma(s) h2 = sigma(s)(h1 + h2), the two atoms are one atom")
