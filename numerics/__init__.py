"""Compiled Monte Carlo simulators and estimators (numpy + numba).

Subpackages, one per subject:

- :mod:`numerics.core`: softmax kernels, mixture sampler, random-stream helpers;
- :mod:`numerics.moe`: regression MoE models, the Levenberg–Marquardt fitter, Voronoi
  losses, rank tests;
- :mod:`numerics.pa`: contextual-mixture samplers, the span simulator, prompt-attention
  models and gradients, heads, the Bayes rule, the three-step algorithm, training.
"""

from numerics import core, moe, pa
from numerics.core import as_generator, kernel_seeds

__all__ = ["as_generator", "core", "kernel_seeds", "moe", "pa"]
