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
    components = tables.energy_by_component(result)
    if components is not None:
        dense = ""
        if s.get("dense_energy_j") is not None and s.get("energy_gain") is not None:
            dense_j, gain = float(s["dense_energy_j"]), float(s["energy_gain"])
            dense = f"; dense baseline {dense_j:.4g} J ({gain:.2f}x more)"
        out += [
            "",
            "## Energy",
            "",
            f"{float(s['energy_j']):.4g} J, {float(s['avg_power_w']):.3g} W, "
            f"{float(s['gflops_per_w']):.3g} GFLOPS/W{dense}.",
            "",
            "| component | energy (J) | share | dense baseline (J) |",
            "|---|---:|---:|---:|",
        ]
        for r in components.to_dict("records"):
            d = r.get("dense_energy_j")
            d_text = "-" if d is None or d != d else f"{d:.4g}"
            name, joules = _md(r["component"]), r["sparse_energy_j"]
            out.append(f"| {name} | {joules:.4g} | {r['share']:.1%} | {d_text} |")
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
    for r in top.to_dict("records"):
        u = r["utilisation"]
        util = "-" if u != u else f"{u:.1%}"
        out.append(
            f"| {_md(r['op'])} | {_md(r['kind'])} | {_md(r['mode'])} | {float(r['cycles']):,.0f} | "
            f"{float(r['cycles']) / total_cycles:.1%} | {util} |"
        )
    layers = tables.layer_table(result)
    out += [
        "",
        f"{len(ops)} ops in {len(layers)} layers. Files: `ops.csv` (one row per op; columns in the README), "
        "`summary.json`, `report.html` (plots).",
    ]
    return "\n".join(out) + "\n"
