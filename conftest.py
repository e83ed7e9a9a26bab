"""Shared pytest configuration: hypothesis profiles and mpmath hygiene."""

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

# `dev`: deterministic and quick; JIT compilation makes per-example deadlines meaningless.
settings.register_profile(
    "dev",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
# `ci`: more examples, still derandomised so that CI is reproducible.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _reset_mpmath():
    """Restore mpmath's global precision after every test (library code must scope it)."""
    dps, prec = mpmath.mp.dps, mpmath.mp.prec
    yield
    mpmath.mp.prec = prec
    mpmath.mp.dps = dps


# ``python -m proofs_check`` entry point: importing it would run the command line.
collect_ignore = ["proofs_check/__main__.py"]
