"""Compiled Monte Carlo simulators and estimators (numpy + numba).

Subpackages, one per subject:

- :mod:`numerics.core`: softmax kernels, mixture sampler, random-stream helpers;
- :mod:`numerics.gmm`: two-class mixture samplers, ERM solvers (ridge, logistic, hinge,
  max-margin), exact conditional errors, the replicate driver;
- :mod:`numerics.moe`: regression MoE models, the Levenberg–Marquardt fitter, Voronoi
  losses, rank tests;
- :mod:`numerics.pa`: contextual-mixture samplers, the span simulator, prompt-attention
  models and gradients, heads, the Bayes rule, the three-step algorithm, training.
"""

from numerics import core, gmm, moe, pa
from numerics.core import as_generator, kernel_seeds

__all__ = ["as_generator", "core", "gmm", "kernel_seeds", "moe", "pa"]
