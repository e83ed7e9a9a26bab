"""Core compiled numerics shared by every subject."""

from numerics.core._mixture import oracle_error_count
from numerics.core._random import as_generator, kernel_seeds, set_thread_count
from numerics.core._softmax import central_difference_step, softmax, softmax_jacobian_fd

__all__ = [
    "as_generator",
    "central_difference_step",
    "kernel_seeds",
    "oracle_error_count",
    "set_thread_count",
    "softmax",
    "softmax_jacobian_fd",
]
