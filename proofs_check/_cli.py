"""The ``proofs-check`` command line.

Exit status: 0 when nothing disagrees, 1 when a claim disagrees or fails to run (or a
``gmm`` point does not converge), 2 on a usage error (one line on stderr, never a
traceback), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from proofs_check._gmm_cli import add_gmm_parser, run_gmm
from proofs_check._registry import SCALES, Claim, find_claims, get_claim, registered_claims
from proofs_check._report import write_report
from proofs_check._result import CheckResult, package_versions
from proofs_check._runner import DEFAULT_SEED, default_jobs, run_claims
from theory.gmm import FixedPointError

__all__ = ["main"]


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--level must be a number in (0, 1), got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"--level must lie in (0, 1), got {text}")
    return value


def _nonneg_int(name: str, low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"{name} must be an integer >= {low}, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {value}")
        return value

    return parse


def _parser() -> _Parser:
    p = _Parser(prog="proofs-check", description="Check theorems about attention numerically.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ls = sub.add_parser("list", help="list the registered claims")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    sh = sub.add_parser("show", help="explain one claim")
    sh.add_argument("id")
    rn = sub.add_parser("run", help="run claims and print verdicts")
    rn.add_argument("ids", nargs="*", metavar="ID", help="claim ids or globs (default: all)")
    rn.add_argument("--scale", default="quick", help="quick (default) or full")
    rn.add_argument("--seed", type=_nonneg_int("--seed", 0), default=DEFAULT_SEED,
                    help=f"base seed (default {DEFAULT_SEED})")
    rn.add_argument("--jobs", type=_nonneg_int("--jobs", 1), default=None,
                    help=f"worker processes (default: cores = {default_jobs()})")
    rn.add_argument("--all", action="store_true",
                    help="with no ID, also run the xslow-tier claims (skipped by default)")
    rn.add_argument("--level", type=_level, default=0.95,
                    help="family-wise confidence level (default 0.95)")
    add_gmm_parser(sub)
    rn.add_argument("--report", metavar="DIR",
                    help="write a Markdown report (with log-log plots of rate claims) into DIR")
    rn.add_argument("--json", metavar="FILE",
                    help="write the results as JSON (kept up to date while running)")
    return p


def _report_lines(details: dict) -> list[str]:
    """Report-only lines a claim files under ``comparison`` or ``report`` (rate comparisons)."""
    out = []
    for key in ("comparison", "report"):
        lines = details.get(key)
        if isinstance(lines, list | tuple):
            out += [str(x) for x in lines]
    return out


def _cmd_list(args: argparse.Namespace) -> int:
    claims = registered_claims()
    if args.json:
        rows = [
            {"id": c.id, "subject": c.subject, "evidence": list(c.evidence), "title": c.title,
             "tier": c.tier}
            for c in claims
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(c.id) for c in claims), default=2)
    for c in claims:
        print(f"{c.id:<{width}}  {c.subject:<5}  {','.join(c.evidence):<24}  {c.title}")
    return 0


def _wrap(text: str) -> str:
    return "\n".join(textwrap.fill(par, 88, initial_indent="  ", subsequent_indent="  ")
                     for par in text.strip().split("\n\n")) if text else "  -"


def _cmd_show(args: argparse.Namespace) -> int:
    c: Claim = get_claim(args.id)
    recon = any(lab.split(":")[0] in ("INFERRED", "UNKNOWN") for lab in c.evidence)
    print(f"{c.id} — {c.title}")
    print(f"subject: {c.subject}    evidence: {', '.join(c.evidence)}"
          + ("    (rests on a reconstruction)" if recon else "") + f"    tier: {c.tier}")
    print("statement:\n" + _wrap(c.statement))
    print("formula:\n" + _wrap(c.formula))
    print("options:" + ("" if c.options else " none"))
    for k, v in c.options.items():
        print(f"  {k} = {v}")
    for scale in SCALES:
        sizes = ", ".join(f"{k}={v}" for k, v in c.sizes[scale].items())
        print(f"sizes ({scale}): {sizes or '-'}")
    if c.mutations:
        print("mutation tests: " + ", ".join(c.mutations))
    if c.known_discrepancy:
        print("known discrepancy:\n" + _wrap(c.known_discrepancy))
    return 0


def _write_json(path: str, payload: dict[str, Any]) -> None:
    tmp = f"{path}.partial"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _table(results: list[CheckResult]) -> str:
    rows = [("claim", "verdict", "predicted", "estimate", "interval", "level", "evidence")]
    for r in results:
        interval = f"[{r.ci_low:.5g}, {r.ci_high:.5g}]"
        lvl = "tol" if r.level is None else f"{100 * r.level:.4g}%"
        if "band" in r.details:
            lvl += " band"
        ev = ",".join(r.evidence) + (" (recon.)" if r.reconstruction else "")
        rows.append((r.claim_id, r.verdict, r.predicted_text(), f"{r.estimate:.6g}", interval, lvl, ev))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.scale not in SCALES:
        raise UsageError(f"--scale must be one of {', '.join(SCALES)}, got {args.scale!r}")
    claims = find_claims(args.ids)
    if not args.ids and not args.all:
        # Claims named explicitly (or by a glob) always run; a bare `run` leaves out the
        # xslow tier, whose quick scale still takes many minutes.
        skipped = [c.id for c in claims if c.tier == "xslow"]
        claims = [c for c in claims if c.tier != "xslow"]
        if skipped:
            print(f"proofs-check: skipping {len(skipped)} xslow claim(s) ({', '.join(skipped)}); "
                  "run them by id or with --all", file=sys.stderr)
    jobs = args.jobs or default_jobs()
    header = {
        "seed": args.seed, "scale": args.scale, "jobs": jobs, "level": args.level,
        "versions": package_versions(), "claims": [c.id for c in claims],
    }
    print(f"proofs-check: {len(claims)} claim(s), scale {args.scale}, seed {args.seed}, "
          f"jobs {jobs}, family level {args.level:g}", file=sys.stderr)
    partial: list[CheckResult] = []

    def progress(done: int, total: int, r: CheckResult) -> None:
        partial.append(r)
        print(f"[{done}/{total}] {r.claim_id}: {r.verdict} ({r.wall_time:.1f} s)",
              file=sys.stderr, flush=True)
        if args.json:
            _write_json(args.json, {**header, "complete": False, "results": [x.to_dict() for x in partial]})

    start = time.perf_counter()
    try:
        results = run_claims(claims, scale=args.scale, seed=args.seed, jobs=jobs, level=args.level,
                             progress=progress)
    except KeyboardInterrupt:
        print(f"proofs-check: interrupted; {len(partial)} finished claim(s) kept"
              + (f" in {args.json}" if args.json else ""), file=sys.stderr)
        return 130
    if args.json:
        _write_json(args.json, {**header, "complete": True, "results": [r.to_dict() for r in results]})
    if args.report:
        path = write_report(results, args.report)
        print(f"report written to {path}", file=sys.stderr)
    print(_table(results))
    print()
    for r in results:
        print(str(r))
        for line in _report_lines(r.details):
            print("    " + line)
    families = sorted({r.family for r in results if r.family.startswith("Holm")})
    if families:
        print("\nerror budget: " + families[0].split(": tested")[0])
    recon = [r.claim_id for r in results if r.reconstruction]
    if recon:
        print("rests on reconstructions ([INFERRED]/[UNKNOWN]): " + ", ".join(recon))
    counts = {v: sum(r.verdict == v for r in results) for v in ("agrees", "disagrees", "inconclusive")}
    print(f"{counts['agrees']} agrees, {counts['disagrees']} disagrees, "
          f"{counts['inconclusive']} inconclusive "
          f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    failed = counts["disagrees"] > 0 or any(r.reason.startswith("error:") for r in results)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``proofs-check``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        handler = {"list": _cmd_list, "show": _cmd_show, "run": _cmd_run, "gmm": run_gmm}[args.command]
        return handler(args)
    except FixedPointError as exc:
        print(f"proofs-check: error: fixed point did not converge: {' '.join(str(exc).split())}",
              file=sys.stderr)
        return 1
    except (UsageError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        print(f"proofs-check: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
