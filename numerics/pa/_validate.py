"""Input validation specific to the prompt-attention numerics (prompt_attention.md §2-§3).

Every public function of :mod:`numerics.pa` validates its arguments inside its own
``_<name>_iv`` function with the layer's primitives (:mod:`numerics.core._validate`:
``check_int``, ``check_real``, ``check_choice``, ``check_vector``, ``check_array``) and seeds
through :func:`numerics.core.as_generator` / :func:`numerics.core.as_seed_sequence`.  This
module keeps what only prompt attention needs: the option codes handed to the kernels and
the joint check of the sparsity ``zeta`` and the length ``T``.
"""

from __future__ import annotations

from numerics.core._validate import check_choice, check_int, check_real

_VARIANTS = {"A": 0, "B": 1, "D": 2}
_COUNTS = {"fixed": 0, "binomial": 1}
_LOSSES = {"correlation": 0, "squared": 1, "logistic": 2}
_DEBIAS = ("project", "intercept", "none")


def check_zeta_T(zeta, T, relevant_count: str) -> tuple[float, int, int]:
    """Validate the sparsity ``zeta`` and length ``T``; return ``(zeta, T, K)``.

    With ``relevant_count="fixed"`` the number of relevant tokens ``K = zeta*T`` must be an
    integer (within 1e-9); with ``"binomial"`` ``K`` is returned as ``-1``.
    """
    T = check_int("T", T, low=1)
    zeta = check_real("zeta", zeta, low=0.0, high=1.0, low_open=True)
    check_choice("relevant_count", relevant_count, _COUNTS)
    if relevant_count == "fixed":
        kf = zeta * T
        K = int(round(kf))
        if abs(kf - K) > 1e-9 or K < 1:
            raise ValueError(
                f"zeta*T must be an integer in [1, T] when relevant_count='fixed', "
                f"got zeta*T = {kf!r} (zeta={zeta}, T={T})"
            )
        return zeta, T, K
    return zeta, T, -1


def chunk_bounds(n: int, chunk: int) -> tuple[list[int], list[int]]:
    """Start and stop indices of consecutive chunks of ``chunk`` items covering ``n``."""
    starts = list(range(0, n, chunk))
    return starts, [min(n, s + chunk) for s in starts]
