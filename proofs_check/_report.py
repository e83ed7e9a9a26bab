"""Reports: a Markdown page per run, with log-log plots of every rate curve.

Plots need the ``plot`` extra (matplotlib); without it the page is written and says so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from proofs_check._result import CheckResult

__all__ = ["write_report"]


def _curves(details: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if "rate_curve" in details:
        yield prefix or "rate", details["rate_curve"]
    for name, sub in details.get("part_details", {}).items():
        yield from _curves(sub, f"{prefix}{name}" if not prefix else f"{prefix} / {name}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _plot(path: str, title: str, curves: list[tuple[str, dict[str, Any]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    for i, (name, c) in enumerate(curves):
        color = f"C{i}"
        n = np.asarray(c["sizes"])
        y = np.asarray(c["centres"])
        kept = np.asarray(c["kept"], dtype=int)
        ax.fill_between(n, c["q25"], c["q75"], color=color, alpha=0.15, linewidth=0)
        ax.plot(n, y, "o", color=color, mfc="white", label=f"{name}: {c['centre']} over replicates")
        ax.plot(n[kept], y[kept], "o", color=color)
        # Fitted line through the centroid of the kept points, with its 95% slope band.
        xk, yk = np.log(n[kept]), np.log(y[kept])
        x0, y0 = xk.mean(), yk.mean()
        xs = np.linspace(xk.min(), xk.max(), 50)
        lo, hi = c["slope_ci95"]
        ax.plot(np.exp(xs), np.exp(y0 + c["slope"] * (xs - x0)), "-", color=color,
                label=f"fit slope {c['slope']:.3f} [{lo:.3f}, {hi:.3f}]")
        band = np.stack([y0 + s * (xs - x0) for s in (lo, hi)])
        ax.fill_between(np.exp(xs), np.exp(band.min(0)), np.exp(band.max(0)), color=color, alpha=0.25)
        ax.plot(np.exp(xs), np.exp(y0 + c["theory_slope"] * (xs - x0)), "--", color=color, alpha=0.8,
                label=f"theorem slope {c['theory_slope']:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("metric")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(results: list[CheckResult], directory: str) -> str:
    """Write ``report.md`` (and one PNG per claim with rate curves) into ``directory``.

    Parameters
    ----------
    results : list of CheckResult
    directory : str
        Created if missing.

    Returns
    -------
    str
        Path of the Markdown page.
    """
    os.makedirs(directory, exist_ok=True)
    try:
        import matplotlib  # noqa: F401

        can_plot = True
    except ImportError:
        can_plot = False
    lines = ["# proofs-check report", ""]
    if results:
        r0 = results[0]
        lines += [f"seed {r0.seed}, scale {r0.scale}; versions: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(r0.versions.items())), ""]
    lines += ["| claim | verdict | predicted | estimate | interval | evidence |",
              "|---|---|---|---|---|---|"]
    for r in results:
        ev = ", ".join(r.evidence) + (" (reconstruction)" if r.reconstruction else "")
        lines.append(f"| `{r.claim_id}` | {r.verdict} | {r.predicted_text()} | {r.estimate:.6g} | "
                     f"[{r.ci_low:.5g}, {r.ci_high:.5g}] | {ev} |")
    lines.append("")
    for r in results:
        lines += [f"## `{r.claim_id}`: {r.title}", "", f"    {r}", ""]
        if r.family:
            lines += [f"Error budget: {r.family}.", ""]
        if r.options:
            lines += ["Options in force: " + ", ".join(f"`{k} = {v}`" for k, v in r.options.items()), ""]
        extra = [str(x) for key in ("comparison", "report")
                 if isinstance(r.details.get(key), list | tuple) for x in r.details[key]]
        if extra:
            lines += [f"- {x}" for x in extra] + [""]
        curves = list(_curves(r.details))
        if curves:
            if can_plot:
                png = f"{_slug(r.claim_id)}.png"
                _plot(os.path.join(directory, png), f"{r.claim_id} ({r.verdict})", curves)
                lines += [f"![{r.claim_id}]({png})", ""]
            else:
                lines += ["(plots need the `plot` extra: `pip install attention-proofs-check[plot]`)", ""]
            for name, c in curves:
                dropped = [s for i, s in enumerate(c["sizes"]) if i not in c["kept"]]
                lo, hi = c["slope_ci95"]
                lines.append(f"- {name}: slope {c['slope']:.4f} (95% CI [{lo:.4f}, {hi:.4f}]), theorem "
                             f"{c['theory_slope']:.4g}; sizes dropped as pre-asymptotic: {dropped or 'none'}")
            lines.append("")
    path = os.path.join(directory, "report.md")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path
