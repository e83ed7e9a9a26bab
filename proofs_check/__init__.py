"""Claims, statistics of verdicts, the registry and the command line.

The public surface: run claims (:func:`run_claims`), look them up (:func:`find_claims`),
register new ones (:func:`claim`), and the evidence and interval types a claim uses.
"""

from proofs_check._evidence import (
    BandEvidence,
    BootstrapEvidence,
    CompositeEvidence,
    Evidence,
    ExactEvidence,
    LabelEvidence,
    MeanEvidence,
    OrderEvidence,
    ProportionEvidence,
    RetryKSEvidence,
    WelchEvidence,
    float_tolerance,
)
from proofs_check._family import holm
from proofs_check._intervals import (
    bca_interval,
    binomial_pvalue,
    bootstrap_distribution,
    bootstrap_pvalue,
    clopper_pearson_interval,
    jackknife_acceleration,
    percentile_interval,
    t_interval,
    t_pvalue,
    wilson_interval,
    wilson_pvalue,
)
from proofs_check._rates import RateEvidence, loglog_slope
from proofs_check._registry import Claim, claim, find_claims, get_claim, registered_claims
from proofs_check._result import CheckResult
from proofs_check._runner import DEFAULT_SEED, RunContext, SerialExecutor, make_executor, run_claims

__all__ = [
    "DEFAULT_SEED",
    "BandEvidence",
    "BootstrapEvidence",
    "CheckResult",
    "Claim",
    "CompositeEvidence",
    "Evidence",
    "ExactEvidence",
    "LabelEvidence",
    "MeanEvidence",
    "OrderEvidence",
    "ProportionEvidence",
    "RateEvidence",
    "RetryKSEvidence",
    "RunContext",
    "SerialExecutor",
    "WelchEvidence",
    "bca_interval",
    "binomial_pvalue",
    "bootstrap_distribution",
    "bootstrap_pvalue",
    "claim",
    "clopper_pearson_interval",
    "find_claims",
    "float_tolerance",
    "get_claim",
    "holm",
    "jackknife_acceleration",
    "loglog_slope",
    "make_executor",
    "percentile_interval",
    "registered_claims",
    "run_claims",
    "t_interval",
    "t_pvalue",
    "wilson_interval",
    "wilson_pvalue",
]
