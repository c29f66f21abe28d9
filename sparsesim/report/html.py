"""report.html: one self-contained page per run (inline CSS, inline SVG charts, a few lines of inline script
to sort tables). No external fetches, so it works offline and can be mailed or archived as one file.

Charts, chosen by what the run recorded:
- speedup vs the dense baseline, with the ideal bound, the array-bound speedup and ablations when present;
- sat: cycles per layer stacked by pass (FF/BP/WU/UPD/GEN), the dense baseline as a tick per layer;
  mobile: latency per layer, sparse vs the dense baseline;
- GEMM utilisation per layer (per pass);
- DRAM bandwidth over time from `RunResult.timeline`, with the pass the PE array runs as a strip below.
"""

from __future__ import annotations

import datetime as _dt
import math
from html import escape
from typing import Any

import pandas as pd

from .. import __version__
from . import svg, tables
from .text import ablation_title, context_line, summary_rows

OP_COLUMNS = (
    "op",
    "kind",
    "engine",
    "mode",
    "m",
    "n",
    "k",
    "repeat",
    "macs",
    "density",
    "start_cycle",
    "cycles",
    "compute_cycles",
    "memory_cycles",
    "stall_cycles",
    "dram_bytes",
    "utilisation",
)
MAX_OPS_SHOWN = 300

CSS = """
:root { --ink: #222; --muted: #666; --rule: #ddd; --accent: #4e79a7; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
p.sub, p.note, figcaption, footer { color: var(--muted); }
nav a { margin-right: 12px; color: var(--accent); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--rule); text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.t { text-align: left; }
th { background: #f6f6f6; position: sticky; top: 0; }
table.sortable th { cursor: pointer; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; }
table.kv td:first-child { color: var(--muted); }
.grid { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure.plot { margin: 16px 0; }
.scroll { overflow-x: auto; max-width: 100%; }
.tablewrap { overflow: auto; max-height: 640px; border: 1px solid var(--rule); }
svg.chart { display: block; background: #fff; }
svg.chart .mark:hover { opacity: 0.75; }
"""

SORT_SCRIPT = """
(function () {
  "use strict";
  function value(cell) {
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent : v;
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table");
      var body = table.tBodies[0];
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a.cells[col]), y = value(b.cells[col]);
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
"""


# ------------------------------------------------------------------------------------------------ helpers
def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def cell(v: Any, *, fmt: str | None = None) -> str:
    """A table cell; numbers keep their raw value in data-v so that sorting is numeric."""
    if _is_missing(v) or (not isinstance(v, str | bool) and pd.isna(v)):
        return '<td data-v="">-</td>'
    if isinstance(v, bool) or not isinstance(v, int | float):
        return f'<td class="t">{escape(str(v))}</td>'
    if fmt:
        text = fmt.format(v)
    elif isinstance(v, int) or float(v).is_integer():
        text = f"{int(v):,}"
    else:
        text = f"{v:.4g}"
    return f'<td data-v="{v!r}">{escape(text)}</td>'


def frame_table(
    df: pd.DataFrame, *, formats: dict[str, str] | None = None, index: bool = False, table_id: str = ""
) -> str:
    formats = formats or {}
    cols = list(df.columns)
    head = ([escape(str(df.index.name or ""))] if index else []) + [escape(str(c)) for c in cols]
    rows = []
    for idx, rec in zip(df.index, df.itertuples(index=False, name=None)):
        cells = [cell(str(idx))] if index else []
        cells += [cell(_py(v), fmt=formats.get(c)) for c, v in zip(cols, rec)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    tid = f' id="{escape(table_id)}"' if table_id else ""
    return (
        f'<div class="tablewrap"><table class="data sortable"{tid}><thead><tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _py(v: Any) -> Any:
    """numpy scalars -> Python scalars."""
    return v.item() if hasattr(v, "item") and not isinstance(v, str) else v


def kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def figure(chart: str, caption: str, fig_id: str) -> str:
    return (
        f'<figure class="plot" id="{escape(fig_id)}"><div class="scroll">{chart}</div>'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
        f"<script>{SORT_SCRIPT}</script>\n</body></html>\n"
    )


# ------------------------------------------------------------------------------------------------ charts
def speedup_chart(result: Any) -> str | None:
    s = result.summary
    if _is_missing(s.get("speedup")):
        return None
    labels, values, colors = ["achieved"], [float(s["speedup"])], [svg.PALETTE[0]]
    if not _is_missing(s.get("array_bound_speedup")):
        labels.append("array bound (GEMMs at full rate)")
        values.append(float(s["array_bound_speedup"]))
        colors.append("#a0cbe8")
    for name, v in (s.get("ablation") or {}).items():
        labels.append(name if result.target != "sat" else f"{name} off")
        values.append(float(v) if v is not None else math.nan)
        colors.append("#bab0ac")
    vlines = [(1.0, "dense = 1", "#555")]
    if not _is_missing(s.get("ideal_speedup")):
        formula = s.get("ideal_speedup_formula") or ""
        vlines.append((float(s["ideal_speedup"]), f"ideal bound {formula}".strip(), "#e15759"))
    desc = "Speedup of the sparse run over the dense baseline (same model and hardware)"
    if s.get("ablation"):
        desc += f"; grey: {ablation_title(result.target)}"
    return svg.hbar_chart(
        labels,
        values,
        title="Speedup vs dense",
        chart_id="chart-speedup",
        xlabel="speedup (x)",
        colors=colors,
        vlines=vlines,
        suffix="x",
        description=desc,
    )


def cycles_per_layer_chart(result: Any) -> str:
    cyc = tables.cycles_by_layer_and_pass(result.ops)
    layers = list(cyc.index)
    series = {p: [float(v) for v in cyc[p]] for p in cyc.columns}
    dense = tables.dense_cycles_by_layer(result, layers)
    return svg.bar_chart(
        layers,
        series,
        title="Cycles per layer, stacked by pass",
        chart_id="chart-cycles-per-layer",
        ylabel="cycles (sum over the layer's ops)",
        stacked=True,
        colors=svg.PASS_COLORS,
        markers=("dense baseline", dense) if dense is not None else None,
        unit=" cycles",
        description="Cycles of each layer's ops per pass; the black tick is the dense baseline's total.",
    )


def latency_per_layer_chart(result: Any) -> str:
    clock_mhz = float(result.summary.get("clock_mhz") or 1.0)
    cyc = tables.cycles_by_layer_and_pass(result.ops).sum(axis=1)
    layers = list(cyc.index)
    series = {"sparse": [float(v) / clock_mhz for v in cyc]}
    dense = tables.dense_cycles_by_layer(result, layers)
    if dense is not None:
        series["dense baseline"] = [v / clock_mhz for v in dense]
    keep = [i for i in range(len(layers)) if any((vals[i] or 0) > 0 for vals in series.values())]
    layers = [layers[i] for i in keep]
    series = {k: [v[i] for i in keep] for k, v in series.items()}
    return svg.bar_chart(
        layers,
        series,
        title="Latency per layer, sparse vs dense",
        chart_id="chart-latency-per-layer",
        ylabel="latency (µs)",
        stacked=False,
        colors={"sparse": svg.PALETTE[0], "dense baseline": "#bab0ac"},
        unit=" µs",
        description="Time of each layer's ops (cycles at the reference clock); fused ops take 0.",
    )


def utilisation_chart(result: Any) -> str | None:
    util = tables.gemm_utilisation_by_layer_and_pass(result.ops)
    if util.empty or util.shape[1] == 0:
        return None
    what = "Core" if result.target == "mobile" else "PE"
    overall = result.summary.get("utilisation")
    hlines = []
    if not _is_missing(overall):
        hlines.append((float(overall), f"whole run {float(overall):.1%}", "#555"))
    return svg.bar_chart(
        list(util.index),
        {p: [float(v) for v in util[p]] for p in util.columns},
        title=f"{what} utilisation per layer (GEMMs)",
        chart_id="chart-utilisation",
        ylabel="utilisation",
        stacked=False,
        colors=svg.PASS_COLORS,
        ymax=1.0,
        fmt=lambda v: f"{v:.0%}",
        hlines=hlines,
        description="Useful MACs / (cycles x peak MACs per cycle) of each layer's GEMMs, per pass.",
    )


def bandwidth_chart(result: Any) -> str | None:
    tl = result.timeline
    needed = {"cycle", "dram_bytes_per_cycle"}
    if tl is None or len(tl) == 0 or not needed <= set(tl.columns):
        return None
    s = result.summary
    clock_mhz = float(s.get("clock_mhz") or 1.0)
    end = float(s.get("total_cycles") or result.ops["end_cycle"].max())
    edges, rate = tables.bin_timeline(tl, end, bins=min(400, max(50, len(tl) // 4)))
    us = edges / clock_mhz
    unit, per_us = next(
        (u, f) for u, f in (("s", 1e-6), ("ms", 1e-3), ("µs", 1.0)) if us[-1] * f >= 10 or u == "µs"
    )
    t = us * per_us
    gbs = rate * clock_mhz / 1e3  # bytes/cycle x cycles/us = bytes/us = 1e-3 GB/s
    hlines = []
    peak = (s.get("arch") or {}).get("dram_bandwidth_gbs")
    if not _is_missing(peak):
        hlines.append((float(peak), f"DRAM peak {float(peak):.1f} GB/s", "#e15759"))
    if not _is_missing(s.get("dram_bandwidth_gbs")):
        avg = float(s["dram_bandwidth_gbs"])
        hlines.append((avg, f"average {avg:.1f} GB/s", "#555"))
    spans = tables.engine_strip(result.ops)
    strip = [
        (a / clock_mhz * per_us, b / clock_mhz * per_us, svg.PASS_COLORS.get(p, "#999")) for a, b, p in spans
    ]
    passes = list(dict.fromkeys(p for _, _, p in spans))
    bin_width = (t[1] - t[0]) if len(t) > 1 else 0.0
    return svg.area_chart(
        list(t),
        [float(v) for v in gbs],
        title="DRAM bandwidth over time",
        chart_id="chart-dram-bandwidth",
        xlabel=f"time ({unit})",
        ylabel="DRAM bandwidth (GB/s)",
        hlines=hlines,
        strip=strip,
        strip_legend=[(f"PE array: {p}", svg.PASS_COLORS.get(p, "#999")) for p in passes],
        strip_label="PE array",
        unit=unit,
        description=f"Bytes per second moved by all engines, averaged over bins of {bin_width:.3g} {unit}.",
    )


# ------------------------------------------------------------------------------------------------- page
def report_html(result: Any) -> str:
    s = result.summary
    charts: list[str] = []
    notes: list[str] = []
    sp = speedup_chart(result)
    if sp:
        bound = "" if _is_missing(s.get("ideal_speedup")) else " and the ideal bound"
        charts.append(
            figure(sp, f"Speedup over the dense baseline; dashed: dense (1x){bound}.", "fig-speedup")
        )
    if result.target == "mobile":
        charts.append(
            figure(
                latency_per_layer_chart(result),
                "Per-layer latency, in program order.",
                "fig-latency-per-layer",
            )
        )
    else:
        charts.append(
            figure(
                cycles_per_layer_chart(result),
                "Per-layer cycles, in program order. Ops of "
                "different engines overlap in time, so the bars add up to more than the run's "
                "total cycles.",
                "fig-cycles-per-layer",
            )
        )
    ut = utilisation_chart(result)
    if ut:
        charts.append(
            figure(
                ut, "GEMM utilisation per layer and pass (layers without GEMMs omitted).", "fig-utilisation"
            )
        )
    bw = bandwidth_chart(result)
    if bw:
        charts.append(
            figure(
                bw,
                "DRAM bandwidth over time from the simulation's events; the strip shows "
                "which pass the PE array is running.",
                "fig-dram-bandwidth",
            )
        )
    else:
        notes.append("This run recorded no timeline, so there is no bandwidth-over-time chart.")

    rows = [(label, text) for _, label, text in summary_rows(result)]
    side: list[str] = []
    per_pass = s.get("cycles_per_pass") or {}
    total_pass = sum(float(v) for v in per_pass.values()) or 1.0
    if per_pass:
        side.append(
            "<div><h3>Cycles per pass</h3>"
            + kv_table([(p, f"{float(c):,.0f} ({float(c) / total_pass:.1%})") for p, c in per_pass.items()])
            + "</div>"
        )
    causes = s.get("stall_cycles_by_cause") or {}
    if causes:
        side.append(
            "<div><h3>Non-compute cycles by cause</h3>"
            + kv_table([(k, f"{float(v):,.0f}") for k, v in causes.items()])
            + "</div>"
        )
    engines = s.get("engine_utilisation") or {}
    if engines:
        side.append(
            "<div><h3>Engine busy fraction</h3>"
            + kv_table([(k, f"{float(v):.1%}") for k, v in engines.items()])
            + "</div>"
        )
    ablation = s.get("ablation") or {}
    if ablation:
        side.append(
            f"<div><h3>{escape(ablation_title(result.target))}</h3>"
            + kv_table([(k, f"{float(v):.3f}x") for k, v in ablation.items()])
            + "</div>"
        )

    layers = tables.layer_table(result)
    layer_fmt = {"share": "{:.1%}", "utilisation": "{:.1%}", "speedup": "{:.3f}x"}
    ops_shown, truncated = tables.top_ops(result.ops, MAX_OPS_SHOWN)
    op_cols = [c for c in OP_COLUMNS if c in ops_shown.columns]
    ops_note = (
        f"The {len(ops_shown)} longest of {len(result.ops)} ops; all of them are in ops.csv."
        if truncated
        else f"All {len(result.ops)} ops in program order (also in ops.csv)."
    )
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<header><h1>{escape(result.name)} on {escape(result.target)}</h1>",
        f'<p class="sub">{escape(context_line(result))}</p>',
        '<nav><a href="#summary">summary</a><a href="#plots">plots</a><a href="#layers">layers</a>'
        '<a href="#ops">ops</a>'
        + ('<a href="#arch">architecture</a>' if result.extras.get("arch_table") else "")
        + "</nav></header>",
        '<section id="summary"><h2>Summary</h2><div class="grid"><div>'
        + kv_table(rows)
        + "</div>"
        + "".join(side)
        + "</div></section>",
        '<section id="plots"><h2>Plots</h2>'
        + "".join(charts)
        + "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
        + "</section>",
        f'<section id="layers"><h2>Per layer</h2><p class="note">{len(layers)} layers, in program order; '
        "click a column to sort.</p>"
        + frame_table(layers, formats=layer_fmt, index=True, table_id="layer-table")
        + "</section>",
        f'<section id="ops"><h2>Ops</h2><p class="note">{escape(ops_note)}</p>'
        + frame_table(
            ops_shown[op_cols], formats={"utilisation": "{:.1%}", "density": "{:.3g}"}, table_id="op-table"
        )
        + "</section>",
    ]
    arch_table = result.extras.get("arch_table")
    if arch_table:
        body.append(
            '<section id="arch"><h2>Architecture</h2>'
            + frame_table(pd.DataFrame(arch_table), table_id="arch-table")
            + "</section>"
        )
    body.append(
        f'<footer><p>sparsesim {escape(__version__)}, {stamp}. Data: <a href="ops.csv">ops.csv</a> '
        '(one row per op), <a href="summary.json">summary.json</a>'
        + (', <a href="baseline_ops.csv">baseline_ops.csv</a>' if result.baseline is not None else "")
        + (', <a href="timeline.csv">timeline.csv</a>' if result.timeline is not None else "")
        + ".</p></footer>"
    )
    return page(f"sparsesim: {result.name} on {result.target}", "\n".join(body))
