"""Sigmoid- and softmax-gated regression mixtures of experts: samplers, LM fits, losses.

Spec ``sigmoid_moe.md`` §3-§4, §6.4, §7.4.  Models and flat parameter layouts:
:class:`MoEModel`; data on the paired, nested streams: :func:`sample_regression`; compiled
Levenberg-Marquardt fits: :func:`fit_lm`, :func:`fit_lm_batch`; Voronoi losses and the
least-squares losses F_sup, merge-and-match and SM; conditioning and rank diagnostics.
Template B (§7.3), the Gaussian MoE with shared and routed experts: :class:`TemplateB`,
:func:`sample_template_b`, the EM fitter :func:`fit_em` and its losses
:func:`template_b_loss`.
"""

from numerics.moe._diagnostics import (
    RankTest,
    function_l2_error,
    jacobian_singular_values,
    rank_test,
)
from numerics.moe._em import (
    EMFit,
    TemplateB,
    fit_em,
    fit_em_many,
    sample_template_b,
    template_b_start,
    template_b_truth,
)
from numerics.moe._em_losses import template_b_cells, template_b_loss, template_b_loss_parts
from numerics.moe._lm import BatchFit, FitResult, LeastSquaresProblem, fit_lm, fit_lm_batch
from numerics.moe._losses import (
    cap_losses,
    fiber_sup_loss,
    merge_match_loss,
    merged_softmax_loss,
    r2_exponent,
    voronoi_cells,
    voronoi_loss_d1,
    voronoi_loss_d2,
    voronoi_loss_d3,
    voronoi_loss_d4,
)
from numerics.moe._model import MoEModel, reference_jacobian
from numerics.moe._sampler import (
    check_truth,
    generic_box,
    perturb_starts,
    sample_regression,
    start_rng,
)

__all__ = [
    "BatchFit",
    "EMFit",
    "FitResult",
    "LeastSquaresProblem",
    "MoEModel",
    "RankTest",
    "TemplateB",
    "cap_losses",
    "check_truth",
    "fiber_sup_loss",
    "fit_em",
    "fit_em_many",
    "fit_lm",
    "fit_lm_batch",
    "function_l2_error",
    "generic_box",
    "jacobian_singular_values",
    "merge_match_loss",
    "merged_softmax_loss",
    "perturb_starts",
    "r2_exponent",
    "rank_test",
    "reference_jacobian",
    "sample_regression",
    "sample_template_b",
    "start_rng",
    "template_b_cells",
    "template_b_loss",
    "template_b_loss_parts",
    "template_b_start",
    "template_b_truth",
    "voronoi_cells",
    "voronoi_loss_d1",
    "voronoi_loss_d2",
    "voronoi_loss_d3",
    "voronoi_loss_d4",
]
