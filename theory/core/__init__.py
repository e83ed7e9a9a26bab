"""Core theory shared by every subject: softmax calculus and Gaussian tails."""

from theory.core._gaussian import gaussian_tail, gaussian_tail_mp, oracle_error, oracle_error_mp
from theory.core._softmax import (
    softmax_jacobian_closed_form,
    softmax_jacobian_derived,
    softmax_jacobian_function,
    softmax_symbols,
    verify_softmax_jacobian,
)

__all__ = [
    "gaussian_tail",
    "gaussian_tail_mp",
    "oracle_error",
    "oracle_error_mp",
    "softmax_jacobian_closed_form",
    "softmax_jacobian_derived",
    "softmax_jacobian_function",
    "softmax_symbols",
    "verify_softmax_jacobian",
]
