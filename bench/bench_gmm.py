"""Gaussian-mixture fixed point: fast (float64) vs high-precision (mpmath) mode, learning curve."""

import time

import numpy as np

import theory.gmm as tg

# (loss, alpha, delta, lam, p): balanced and imbalanced points of the G1/G7 grid.
_GRID = (
    ("square", 0.5, 0.5, 0.1, 0.5),
    ("square", 2.0, 1.0, 0.1, 0.3),
    ("logistic", 2.0, 1.0, 0.5, 0.5),
    ("logistic", 1.0, 0.5, 0.1, 0.3),
    ("hinge", 2.0, 1.0, 0.1, 0.3),
    ("hinge", 4.0, 2.0, 1.0, 0.5),
)
_TOL = 1e-8


def _solve(loss, alpha, delta, lam, p, **kw):
    return tg.solve_fixed_point(loss, alpha=alpha, delta=delta, lam=lam, p=p, intercept=p != 0.5, **kw)


def run():
    lines = []
    worst, t_fast, t_high = 0.0, 0.0, 0.0
    per_loss = {}
    for loss, alpha, delta, lam, p in _GRID:
        _solve(loss, alpha, delta, lam, p)  # warm caches outside the timing
        start = time.perf_counter()
        fast = _solve(loss, alpha, delta, lam, p)
        tf = time.perf_counter() - start
        start = time.perf_counter()
        high = _solve(loss, alpha, delta, lam, p, precision="high", dps=30)
        th = time.perf_counter() - start
        gap = abs(float(fast.eps_g) - float(high.eps_g))
        worst = max(worst, gap)
        t_fast += tf
        t_high += th
        per_loss.setdefault(loss, []).append((gap, tf, th))
    for loss, rows in per_loss.items():
        gaps, tf, th = zip(*rows, strict=True)
        lines.append(
            f"{loss}: {len(rows)} points, max |eps_fast - eps_high| = {max(gaps):.2e}, "
            f"fast {1e3 * sum(tf):.1f} ms, high (mpmath, 30 digits) {1e3 * sum(th):.1f} ms "
            f"-> high/fast x{sum(th) / sum(tf):.1f}"
        )
    verdict = "ok" if worst <= _TOL else f"EXCEEDS {_TOL:.0e}"
    lines.append(
        f"all {len(_GRID)} points: max |delta eps_g| = {worst:.2e} ({verdict}, bound {_TOL:.0e}); "
        f"fast {t_fast:.3f} s vs high {t_high:.3f} s -> high precision costs x{t_high / t_fast:.1f}"
    )
    alphas = np.linspace(0.2, 5.0, 50)
    tg.learning_curve("logistic", alphas[:2], delta=1.0, lam=0.1)  # warm-up
    start = time.perf_counter()
    curve = tg.learning_curve("logistic", alphas, delta=1.0, lam=0.1)
    elapsed = time.perf_counter() - start
    lines.append(
        f"logistic learning curve, 50 alphas in [0.2, 5], delta=1, lam=0.1, fast mode with warm "
        f"starts: {elapsed:.2f} s ({1e3 * elapsed / len(alphas):.1f} ms/point); "
        f"eps_g from {float(curve[0].eps_g):.4f} to {float(curve[-1].eps_g):.4f}"
    )
    return lines
