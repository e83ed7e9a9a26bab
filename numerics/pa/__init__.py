"""Compiled Monte Carlo for prompt-attention on the contextual mixture.

Implements prompt_attention.md §3 (samplers), §4-§5 (models and exact derivatives), §7 and §11
(attention statistics, exact low-dimensional span simulation), §8 (heads, conditional errors,
Bayes rule with the relevant set unknown), §9 (three-step algorithm) and §10.2 (restart
training).  Only numpy, numba and the standard library are imported.
"""

from numerics.pa._algorithm import (
    GradientMoments,
    ThreeStepResult,
    gradient_moments,
    three_step_algorithm,
)
from numerics.pa._bayes import bayes_log_odds, log_elementary_symmetric
from numerics.pa._heads import (
    attention_outputs,
    conditional_error_variant_b,
    least_squares_head,
    mean_difference_fits,
    mean_difference_head,
    noiseless_attention_stats,
    oracle_error_from_stats,
    pa_test_error,
    ridge_head,
)
from numerics.pa._models import (
    central_difference_gradient,
    central_difference_hessian,
    central_difference_jacobian,
    lin_forward,
    lin_grads,
    pa_forward,
    pa_grads,
    pa_hessian,
    sa_forward,
    sa_grads,
    sa_pa_forward,
    sa_pa_grads,
    softmax,
    softmax_jacobian,
)
from numerics.pa._sampler import sample_contextual_mixture
from numerics.pa._span import SpanStatistics, span_basis, span_statistics, span_statistics_numpy
from numerics.pa._training import TrainResult, train_attention

__all__ = [
    "GradientMoments",
    "SpanStatistics",
    "ThreeStepResult",
    "TrainResult",
    "attention_outputs",
    "bayes_log_odds",
    "central_difference_gradient",
    "central_difference_hessian",
    "central_difference_jacobian",
    "conditional_error_variant_b",
    "gradient_moments",
    "least_squares_head",
    "lin_forward",
    "lin_grads",
    "log_elementary_symmetric",
    "mean_difference_fits",
    "mean_difference_head",
    "noiseless_attention_stats",
    "oracle_error_from_stats",
    "pa_forward",
    "pa_grads",
    "pa_hessian",
    "pa_test_error",
    "ridge_head",
    "sa_forward",
    "sa_grads",
    "sa_pa_forward",
    "sa_pa_grads",
    "sample_contextual_mixture",
    "softmax",
    "softmax_jacobian",
    "span_basis",
    "span_statistics",
    "span_statistics_numpy",
    "three_step_algorithm",
    "train_attention",
]
