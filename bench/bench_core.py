"""Core Monte Carlo: compiled oracle-error counter vs a vectorised NumPy reference."""

import numpy as np

from bench._timing import best_of
from numerics.core import oracle_error_count


def _numpy_reference(mu, n, rng, chunk=65536):
    errors = 0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        y = np.where(rng.random(m) < 0.5, 1.0, -1.0)
        x = y[:, None] * mu + rng.standard_normal((m, mu.size))
        errors += int(np.count_nonzero(y * (x @ mu) < 0))
    return errors


def run():
    mu = np.full(16, 0.25)
    n = 4_000_000
    oracle_error_count(mu, 1000, rng=0)  # compile (or load the cache) outside the timing
    t = best_of({
        "numba": lambda: oracle_error_count(mu, n, rng=1),
        "numpy": lambda: _numpy_reference(mu, n, np.random.default_rng(1)),
        "normals": lambda: np.random.default_rng(2).standard_normal(n * mu.size),
    })
    return [
        f"oracle error count, n={n:.0e}, d={mu.size}: numba {t['numba']:.3f} s, "
        f"numpy {t['numpy']:.3f} s -> speed-up x{t['numpy'] / t['numba']:.1f}",
        f"drawing the same n*d normals single-threaded: {t['normals']:.3f} s "
        f"-> compiled throughput x{t['normals'] / t['numba']:.2f} of the draw floor",
    ]
