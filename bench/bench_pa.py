"""Prompt-attention span simulator: (a, b, <w, x̄>) per sequence, compiled vs references.

Issue targets: throughput >= 1.5x the rate at which single-threaded
``Generator.standard_normal`` draws the same number of normals, and >= 3x a vectorised
NumPy implementation of the same statistics (both on 2 cores).
"""

import numpy as np

from bench._timing import best_of
from numerics.core import get_thread_count, set_thread_count
from numerics.pa import span_statistics, span_statistics_numpy


def run():
    d, T, zeta, n = 50, 20, 0.2, 400_000
    q_star = np.zeros(d)
    q_star[0] = 3.0
    w_star = np.zeros(d)
    w_star[1] = 1.0
    u = q_star / np.linalg.norm(q_star)
    prompt = 0.5 * u
    kw = dict(zeta=zeta, prompts=prompt[None, :], heads=w_star[None, :])
    span_statistics(1000, T, q_star, w_star, rng=0, **kw)  # compile / load the cache
    k = 2  # span{u, w*}: normals per token
    normals = n * T * k
    t = best_of({
        "numba": lambda: span_statistics(n, T, q_star, w_star, rng=1, **kw),
        "numba1": lambda: _one_thread(lambda: span_statistics(n, T, q_star, w_star, rng=1, **kw)),
        "numpy": lambda: span_statistics_numpy(n, T, q_star, w_star, rng=1, **kw),
        "normals": lambda: np.random.default_rng(2).standard_normal(normals),
        "normals_sfc": lambda: np.random.Generator(np.random.SFC64(2)).standard_normal(normals),
    }, rounds=3)
    return [
        f"span simulator, n={n:.0e} sequences, T={T}, k={k} ({normals:.1e} normals), "
        f"{get_thread_count()} threads:",
        f"compiled {t['numba']:.3f} s, vectorised NumPy {t['numpy']:.3f} s -> x{t['numpy'] / t['numba']:.2f}"
        " (target >= 3)",
        f"single-threaded standard_normal (default PCG64) of the same count {t['normals']:.3f} s -> "
        f"compiled throughput x{t['normals'] / t['numba']:.2f} of the draw floor (target >= 1.5)",
        f"same floor with the kernel's own bit generator (SFC64) {t['normals_sfc']:.3f} s -> "
        f"x{t['normals_sfc'] / t['numba']:.2f}; compiled on 1 thread {t['numba1']:.3f} s "
        f"({t['numba1'] / n * 1e9:.0f} ns/sequence, x{t['numba1'] / t['numba']:.2f} thread scaling)",
    ]


def _one_thread(f):
    n0 = get_thread_count()
    set_thread_count(1)
    try:
        return f()
    finally:
        set_thread_count(n0)
