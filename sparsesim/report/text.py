"""Console summary of a run (reads RunResult.summary only)."""

from __future__ import annotations

from typing import Any

# (key, label, format); keys a target does not produce are skipped.
_LINES: list[tuple[str, str, str]] = [
    ("total_cycles", "total cycles", "{:,.0f}"),
    ("seconds_simulated", "time at clock", "{:.6f} s"),
    ("latency_ms", "latency", "{:.3f} ms"),
    ("clock_mhz", "clock", "{:.0f} MHz"),
    ("utilisation", "PE utilisation", "{:.1%}"),
    ("dram_bytes", "DRAM traffic", "{:,.0f} bytes"),
    ("dram_bandwidth_gbs", "achieved DRAM bandwidth", "{:.2f} GB/s"),
    ("effective_tflops", "effective throughput", "{:.3f} TFLOPS"),
    ("dense_total_cycles", "dense baseline cycles", "{:,.0f}"),
    ("dense_latency_ms", "dense baseline latency", "{:.3f} ms"),
    ("speedup", "speedup vs dense", "{:.3f}x"),
    ("ideal_speedup", "ideal bound 3/(2N/M+1)", "{:.3f}x"),
    ("wall_seconds", "wall time", "{:.2f} s"),
]


def summary_text(result: Any) -> str:
    s = result.summary
    lines = [f"{result.name} on {result.target}"]
    for key, label, fmt in _LINES:
        value = s.get(key)
        if value is None:
            continue
        try:
            lines.append(f"  {label:<28} {fmt.format(value)}")
        except (TypeError, ValueError):
            lines.append(f"  {label:<28} {value}")
    per_pass = s.get("cycles_per_pass") or {}
    if per_pass:
        lines.append("  cycles per pass:")
        for name, cycles in per_pass.items():
            lines.append(f"    {name:<26} {cycles:,.0f}")
    ablation = s.get("ablation") or {}
    if ablation:
        lines.append("  speedup vs dense with one optimisation off:")
        for name, value in ablation.items():
            lines.append(f"    {name:<26} {value:.3f}x")
    if s.get("output_dir"):
        lines.append(f"  outputs in {s['output_dir']}")
    return "\n".join(lines) + "\n"
