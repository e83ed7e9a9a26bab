"""Symbolic theory of sigmoid vs softmax self-attention as a mixture of experts.

Spec: sigmoid_moe.md.  One attention row as a quadratic-gate MoE (§2); sigma and its
derivatives, the gate-expert identities P1-P4, S1, S3 and the reflection identities (§6.1-§6.3);
the function families of the rank test (§6.4); the r(m) polynomial system (§4); the
implied-rates and theorem tables (§4, §5); guards against excluded set-ups (§2, §3.1).
"""

from theory.moe._attention import (
    attention_moe_matrices,
    attention_rows,
    attention_rows_lambdified,
    attention_rows_moe,
    attention_symbolic,
    attention_symbols,
    selector,
    verify_attention_moe,
)
from theory.moe._families import (
    Family,
    family_function,
    family_matrix,
    family_names,
    rank_family,
)
from theory.moe._identities import (
    IdentityInfo,
    gate_expert_symbols,
    identity,
    identity_info,
    identity_names,
    verify_identity,
)
from theory.moe._rates import (
    ImpliedRate,
    Theorem,
    implied_rate,
    implied_rates_table,
    theorem,
    theorem_table,
)
from theory.moe._rsystem import (
    RValue,
    r1_two_atom_reduction,
    r1_two_atoms,
    r1_two_atoms_solvable,
    r1_witness,
    r_system,
    r_system_residuals,
    r_value,
    solves_r_system,
)
from theory.moe._sigmoid import logit, sigma, sigma_derivative
from theory.moe._validate import (
    check_over_specification,
    check_sigmoid_truth,
    check_symmetric_gate,
)

__all__ = [
    "Family",
    "IdentityInfo",
    "ImpliedRate",
    "RValue",
    "Theorem",
    "attention_moe_matrices",
    "attention_rows",
    "attention_rows_lambdified",
    "attention_rows_moe",
    "attention_symbolic",
    "attention_symbols",
    "check_over_specification",
    "check_sigmoid_truth",
    "check_symmetric_gate",
    "family_function",
    "family_matrix",
    "family_names",
    "gate_expert_symbols",
    "identity",
    "identity_info",
    "identity_names",
    "implied_rate",
    "implied_rates_table",
    "logit",
    "r1_two_atom_reduction",
    "r1_two_atoms",
    "r1_two_atoms_solvable",
    "r1_witness",
    "r_system",
    "r_system_residuals",
    "r_value",
    "rank_family",
    "selector",
    "sigma",
    "sigma_derivative",
    "solves_r_system",
    "theorem",
    "theorem_table",
    "verify_attention_moe",
    "verify_identity",
]
