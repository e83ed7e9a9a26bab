"""Precise asymptotics of linear classifiers on a two-class Gaussian mixture.

Implements gmm_asymptotics.md §1-§6: normalisations and maps (§1), the replica fixed point of
ERM with square, logistic and hinge losses, ridge penalty, intercept and class imbalance (§2-§5),
square-loss closed forms, limits and the Marchenko-Pastur form (§3), the exact finite-n
mean-difference error (§3.5), and the max-margin classifier via CGMT (§6).  Fast evaluators use
float64; ``precision="high"`` uses mpmath at ``dps`` (>= 30) digits.  Symbolic derivations
(sympy) live in ``_symbolic``.
"""

from theory.gmm._channel import (
    LOSSES,
    HingeMoments,
    bias_equation,
    bias_equation_without_y,
    channel_hats,
    hinge_truncated_moments,
    hinge_truncated_moments_quadrature,
)
from theory.gmm._conventions import (
    delta_from_snr,
    gaussian_tail,
    generalisation_error,
    lam_mignacco_from_ridge,
    lam_mignacco_from_standard,
    lam_ridge_from_mignacco,
    lam_standard_from_mignacco,
    psi_from_alpha,
    snr_from_delta,
)
from theory.gmm._fixed_point import (
    FixedPointError,
    GMMFixedPoint,
    learning_curve,
    regularisation_path,
    solve_bias,
    solve_fixed_point,
)
from theory.gmm._maxmargin import (
    MaxMarginSolution,
    maxmargin_kappa,
    maxmargin_solution,
    positive_part_moment,
    separability_threshold,
)
from theory.gmm._mean_difference import (
    mean_difference_error_finite,
)
from theory.gmm._square import (
    SquareClosedForm,
    interpolation_peak_deviation,
    least_squares_error,
    least_squares_error_standard,
    mean_difference_error,
    mean_difference_error_limit,
    min_norm_error,
    min_norm_error_standard,
    mp_stieltjes,
    mp_stieltjes_derivative,
    ridge_error_standard,
    square_closed_form,
)
from theory.gmm._symbolic import (
    SQUARE_SYMBOLS,
    channel_equations_symbolic,
    hinge_moments_symbolic,
    mp_stieltjes_derivative_symbolic,
    positive_part_moment_symbolic,
    square_closed_form_symbolic,
    square_lambda_limits_symbolic,
    square_v_polynomial,
)

__all__ = [
    "FixedPointError",
    "GMMFixedPoint",
    "HingeMoments",
    "LOSSES",
    "MaxMarginSolution",
    "SQUARE_SYMBOLS",
    "SquareClosedForm",
    "bias_equation",
    "bias_equation_without_y",
    "channel_equations_symbolic",
    "channel_hats",
    "delta_from_snr",
    "gaussian_tail",
    "generalisation_error",
    "hinge_moments_symbolic",
    "hinge_truncated_moments",
    "hinge_truncated_moments_quadrature",
    "interpolation_peak_deviation",
    "lam_mignacco_from_ridge",
    "lam_mignacco_from_standard",
    "lam_ridge_from_mignacco",
    "lam_standard_from_mignacco",
    "learning_curve",
    "least_squares_error",
    "least_squares_error_standard",
    "maxmargin_kappa",
    "maxmargin_solution",
    "mean_difference_error",
    "mean_difference_error_finite",
    "mean_difference_error_limit",
    "min_norm_error",
    "min_norm_error_standard",
    "mp_stieltjes",
    "mp_stieltjes_derivative",
    "mp_stieltjes_derivative_symbolic",
    "positive_part_moment",
    "positive_part_moment_symbolic",
    "psi_from_alpha",
    "regularisation_path",
    "ridge_error_standard",
    "separability_threshold",
    "snr_from_delta",
    "solve_bias",
    "solve_fixed_point",
    "square_closed_form",
    "square_closed_form_symbolic",
    "square_lambda_limits_symbolic",
    "square_v_polynomial",
]
