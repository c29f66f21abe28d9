"""summary.md: the run's key numbers as Markdown (reads RunResult only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import tables
from .text import ablation_title, context_line, summary_rows

if TYPE_CHECKING:
    from ..results import RunResult

TOP_OPS = 10


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|")


def summary_markdown(result: RunResult) -> str:
    s = result.summary
    out = [f"# {_md(result.name)} on {result.target}", ""]
    ctx = context_line(result)
    if ctx:
        out += [ctx, ""]
    out += ["| metric | value |", "|---|---|"]
    out += [f"| {label} | {_md(text)} |" for _, label, text in summary_rows(result)]
    per_pass = s.get("cycles_per_pass") or {}
    if per_pass:
        total = sum(float(v) for v in per_pass.values()) or 1.0
        out += ["", "## Cycles per pass", "", "| pass | cycles | share |", "|---|---:|---:|"]
        out += [f"| {p} | {float(c):,.0f} | {float(c) / total:.1%} |" for p, c in per_pass.items()]
    ablation = s.get("ablation") or {}
    if ablation:
        title = ablation_title(result.target).capitalize()
        out += ["", f"## {title}", "", "| ablation | speedup |", "|---|---:|"]
        out += [f"| {_md(k)} | {float(v):.3f}x |" for k, v in ablation.items()]
    ops = result.ops
    total_cycles = float(ops["cycles"].sum()) or 1.0
    top = ops.sort_values("cycles", ascending=False, kind="stable").head(TOP_OPS)
    out += [
        "",
        f"## The {len(top)} longest ops",
        "",
        "| op | kind | mode | cycles | share of op cycles | utilisation |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in top.itertuples(index=False):
        util = "-" if r.utilisation != r.utilisation else f"{r.utilisation:.1%}"
        out.append(
            f"| {_md(r.op)} | {_md(r.kind)} | {_md(r.mode)} | {float(r.cycles):,.0f} | "
            f"{float(r.cycles) / total_cycles:.1%} | {util} |"
        )
    layers = tables.layer_table(result)
    out += [
        "",
        f"{len(ops)} ops in {len(layers)} layers. Files: `ops.csv` (one row per op; columns in the README), "
        "`summary.json`, `report.html` (plots).",
    ]
    return "\n".join(out) + "\n"
