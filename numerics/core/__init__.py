"""Core compiled numerics shared by every subject."""

from numerics.core._mixture import oracle_error_count
from numerics.core._random import (
    as_generator,
    as_seed_sequence,
    chunk_generators,
    chunk_sizes,
    get_thread_count,
    kernel_seeds,
    map_chunks,
    set_thread_count,
)
from numerics.core._softmax import central_difference_step, softmax, softmax_jacobian_fd

__all__ = [
    "as_generator",
    "as_seed_sequence",
    "central_difference_step",
    "chunk_generators",
    "chunk_sizes",
    "get_thread_count",
    "kernel_seeds",
    "map_chunks",
    "oracle_error_count",
    "set_thread_count",
    "softmax",
    "softmax_jacobian_fd",
]
