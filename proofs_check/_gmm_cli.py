"""``proofs-check gmm``: asymptotic test error of linear heads on a two-class Gaussian mixture.

Normalisation of gmm_asymptotics.md §1.1 (Mignacco): x = y v/√d + √Δ z, α = n/d, penalty
(λ/2)‖w‖².  Max-margin uses §6 (standard normalisation, r = 1/√Δ, no λ).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import theory.gmm as tg

__all__ = ["add_gmm_parser", "run_gmm"]

LOSSES = ("square", "logistic", "hinge", "max-margin")


def _float_list(name: str):
    def parse(text: str) -> list[float]:
        try:
            values = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            msg = f"{name} must be a number or comma-separated numbers, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if not values or not all(math.isfinite(v) for v in values):
            raise argparse.ArgumentTypeError(f"{name} must hold finite numbers, got {text!r}")
        return values

    return parse


def add_gmm_parser(sub: Any) -> None:
    """Register the ``gmm`` sub-command on an argparse sub-parser collection."""
    g = sub.add_parser("gmm", help="asymptotic error of a linear head on a Gaussian mixture")
    g.add_argument("--loss", required=True, choices=LOSSES)
    g.add_argument("--alpha", required=True, type=_float_list("--alpha"),
                   help="sample ratio n/d, > 0 (comma-separated list: learning curve)")
    g.add_argument("--lam", type=_float_list("--lam"), default=None,
                   help="ridge penalty λ >= 0 (comma-separated list: regularisation path); "
                        "not for max-margin")
    g.add_argument("--delta", required=True, type=float, help="noise variance Δ > 0 (SNR r = 1/√Δ)")
    g.add_argument("--p", type=float, default=0.5, help="P(y = +1) in (0, 1) (default 0.5)")
    g.add_argument("--intercept", choices=("auto", "yes", "no"), default="auto",
                   help="fit a bias b (auto: only when p != 0.5)")
    g.add_argument("--precision", choices=("fast", "high"), default="fast")
    g.add_argument("--json", action="store_true", help="machine-readable output")


def _row(fp: tg.GMMFixedPoint) -> dict[str, Any]:
    return {
        "alpha": fp.alpha, "lam": fp.lam, "delta": fp.delta, "p": fp.p, "eps_g": float(fp.eps_g),
        "m": float(fp.m), "q": float(fp.q), "V": float(fp.V), "b": float(fp.b),
        "iterations": int(fp.iterations), "residual": float(fp.residual), "converged": bool(fp.converged),
    }


def run_gmm(args: argparse.Namespace) -> int:
    """Solve the requested points and print them; returns the exit status."""
    if not args.delta > 0 or not math.isfinite(args.delta):
        raise ValueError(f"--delta must be finite and > 0, got {args.delta}")
    if not 0 < args.p < 1:
        raise ValueError(f"--p must lie in (0, 1), got {args.p}")
    for a in args.alpha:
        if a <= 0:
            raise ValueError(f"--alpha must be > 0, got {a}")
    rows: list[dict[str, Any]] = []
    if args.loss == "max-margin":
        if args.lam is not None:
            raise ValueError("--lam does not apply to --loss max-margin (it is the λ → 0⁺ limit)")
        if args.p != 0.5:
            raise ValueError(f"--p must be 0.5 for max-margin (§6 assumes balanced classes), got {args.p}")
        r = 1 / math.sqrt(args.delta)
        for a in args.alpha:
            sol = tg.maxmargin_solution(r, a, precision=args.precision)
            rows.append({"alpha": a, "delta": args.delta, "r": r, "eps_g": float(sol.eps_g),
                         "rho": float(sol.rho), "kappa": float(sol.kappa),
                         "alpha_star": float(sol.alpha_star)})
    else:
        if args.lam is None:
            raise ValueError(f"--lam is required for --loss {args.loss}")
        for lam in args.lam:
            if lam < 0:
                raise ValueError(f"--lam must be >= 0, got {lam}")
        intercept = {"auto": args.p != 0.5, "yes": True, "no": False}[args.intercept]
        kw = dict(delta=args.delta, p=args.p, intercept=intercept, precision=args.precision)
        if len(args.lam) > 1 and len(args.alpha) > 1:
            raise ValueError("give a list for --alpha or for --lam, not both")
        if len(args.lam) > 1:
            fps = tg.regularisation_path(args.loss, args.lam, alpha=args.alpha[0], **kw)
        else:
            fps = tg.learning_curve(args.loss, args.alpha, lam=args.lam[0], **kw)
        rows = [_row(fp) for fp in fps]
    if args.json:
        print(json.dumps({"loss": args.loss, "precision": args.precision,
                          "normalisation": "Mignacco (gmm_asymptotics.md §1.1)", "points": rows}, indent=2))
        return 0
    cols = list(rows[0])
    r = 1 / math.sqrt(args.delta)
    print(f"# {args.loss} loss, Δ = {args.delta:g} (r = {r:.6g}), precision {args.precision}")
    print("  ".join(f"{c:>12}" for c in cols))
    for row in rows:
        print("  ".join(f"{v:>12.6g}" if isinstance(v, float) else f"{v!s:>12}" for v in row.values()))
    return 0
