"""Compiled samplers, ERM solvers and exact errors for the two-class Gaussian mixture.

Spec: ``gmm_asymptotics.md`` (§1 normalisations, §6 item 6, §8 pitfalls 7-8, §9 Monte Carlo
numerics).  Kernels (``@njit``, float64, no Python objects) live in the ``_``-prefixed
modules and can be called from other ``@njit`` code; the functions here validate input,
allocate and call them.

Scalings (pitfall 3 of §8):

- Mignacco (§1.1), score ``w.x / sqrt(d) + b``: :func:`fit_ridge`, :func:`fit_logistic`,
  :func:`fit_hinge`; error :func:`conditional_error_mignacco` with ``m = v.w/d``,
  ``q = Delta ||w||^2 / d``.
- Standard (§1.2), score ``<w, x> + b``: :func:`fit_ridge_standard` (``lam_r``),
  :func:`fit_max_margin`, :func:`fit_mean_difference`; error :func:`conditional_error`.

Data: :func:`sample_mixture` (``x = y mu + sigma z``) and :func:`sample_mignacco`
(``x = y v/sqrt(d) + sqrt(Delta) z``), seeded per chunk.  :func:`simulate_fits` runs
``R`` replicates (sample, fit, exact conditional error) in parallel, bit-for-bit
independent of the number of threads.
"""

from ._batch import METHODS, ReplicateFits, replicate_data, simulate_fits
from ._errors import (
    conditional_error,
    conditional_error_mignacco,
    error_from_order_parameters,
    order_parameters_mignacco,
)
from ._logistic import fit_logistic
from ._ridge import fit_mean_difference, fit_ridge, fit_ridge_standard
from ._sampling import mignacco_to_standard, sample_mignacco, sample_mixture
from ._svm import fit_hinge, fit_max_margin

__all__ = [
    "METHODS",
    "ReplicateFits",
    "conditional_error",
    "conditional_error_mignacco",
    "error_from_order_parameters",
    "fit_hinge",
    "fit_logistic",
    "fit_max_margin",
    "fit_mean_difference",
    "fit_ridge",
    "fit_ridge_standard",
    "mignacco_to_standard",
    "order_parameters_mignacco",
    "replicate_data",
    "sample_mignacco",
    "sample_mixture",
    "simulate_fits",
]
