"""Console summary of a run (reads RunResult.summary only), and the summary fields every report shows."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..results import RunResult

# (key, label, format); keys a target does not produce are skipped. summary.md and report.html show the same.
SUMMARY_FIELDS: list[tuple[str, str, str]] = [
    ("total_cycles", "total cycles", "{:,.0f}"),
    ("seconds_simulated", "time at clock", "{:.6f} s"),
    ("latency_ms", "latency", "{:.3f} ms"),
    ("clock_mhz", "clock", "{:.0f} MHz"),
    ("utilisation", "PE utilisation", "{:.1%}"),
    ("dram_bytes", "DRAM traffic", "{:,.0f} bytes"),
    ("dram_bandwidth_gbs", "achieved DRAM bandwidth", "{:.2f} GB/s"),
    ("effective_tflops", "effective throughput", "{:.3f} TFLOPS"),
    ("effective_gflops", "effective throughput", "{:.2f} GFLOPS"),
    ("dense_total_cycles", "dense baseline cycles", "{:,.0f}"),
    ("dense_latency_ms", "dense baseline latency", "{:.3f} ms"),
    ("speedup", "speedup vs dense", "{:.3f}x"),
    ("ideal_speedup", "ideal bound", "{:.3f}x"),
    ("array_bound_speedup", "array-bound speedup", "{:.3f}x"),
    ("wall_seconds", "wall time", "{:.2f} s"),
]
# Labels that depend on the target.
_MOBILE_LABELS = {"utilisation": "core utilisation"}
# What the context line of a report names (model, task, ...), in order.
CONTEXT_KEYS = ("model", "task", "batch_size", "pattern", "nm", "soc", "threads")


def label_of(key: str, label: str, target: str) -> str:
    return _MOBILE_LABELS.get(key, label) if target == "mobile" else label


def format_value(value: Any, fmt: str) -> str:
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def summary_rows(result: RunResult) -> list[tuple[str, str, str]]:
    """(key, label, formatted value) for each summary field the run has; the ideal bound names its formula."""
    s = result.summary
    rows = []
    for key, label, fmt in SUMMARY_FIELDS:
        value = s.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        text = format_value(value, fmt)
        if key == "ideal_speedup" and s.get("ideal_speedup_formula"):
            text += f" from {s['ideal_speedup_formula']}"
        rows.append((key, label_of(key, label, result.target), text))
    return rows


def ablation_title(target: str) -> str:
    if target == "sat":
        return "speedup vs dense with one optimisation off"
    return "speedup vs dense in each ablation"


def context_line(result: RunResult) -> str:
    """'model resnet50, task train, batch_size 32, pattern bdwp, nm 2:8' from the summary."""
    s = result.summary
    parts = [f"{k} {s.get(k)}" for k in CONTEXT_KEYS if s.get(k) not in (None, "")]
    return ", ".join(parts)


def summary_text(result: RunResult) -> str:
    s = result.summary
    lines = [f"{result.name} on {result.target}"]
    for _key, label, text in summary_rows(result):
        lines.append(f"  {label:<28} {text}")
    per_pass = s.get("cycles_per_pass") or {}
    if per_pass:
        lines.append("  cycles per pass:")
        for name, cycles in per_pass.items():
            lines.append(f"    {name:<26} {cycles:,.0f}")
    ablation = s.get("ablation") or {}
    if ablation:
        lines.append(f"  {ablation_title(result.target)}:")
        for name, value in ablation.items():
            lines.append(f"    {name:<26} {value:.3f}x")
    if s.get("output_dir"):
        lines.append(f"  outputs in {s['output_dir']}")
    return "\n".join(lines) + "\n"
