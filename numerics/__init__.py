"""Compiled Monte Carlo simulators and estimators (numpy + numba).

Subpackages, one per subject: :mod:`numerics.core` (softmax kernels, mixture sampler,
random-stream helpers).
"""

from numerics import core
from numerics.core import as_generator, kernel_seeds

__all__ = ["as_generator", "core", "kernel_seeds"]
