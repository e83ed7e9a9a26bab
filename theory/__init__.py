"""Symbolic and high-precision theory (sympy + mpmath).

Subpackages, one per subject:

- :mod:`theory.core`: softmax calculus, Gaussian tails;
- :mod:`theory.gmm`: precise asymptotics of linear classifiers on a two-class Gaussian
  mixture (fixed points, square-loss closed forms, Marchenko–Pastur, max-margin);
- :mod:`theory.pa`: prompt-attention on a contextual mixture (models and derivatives,
  expectation identities, attention statistics, known-prompt errors, Bayes limit);
- :mod:`theory.moe`: sigmoid vs softmax attention as a mixture of experts (identities,
  identifiability families, the r(m) system, rate tables).

The most used names are re-exported here.
"""

from theory import core, gmm, moe, pa
from theory.core import gaussian_tail, gaussian_tail_mp, oracle_error, oracle_error_mp

__all__ = ["core", "gaussian_tail", "gaussian_tail_mp", "gmm", "moe", "oracle_error", "oracle_error_mp", "pa"]
