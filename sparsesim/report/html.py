"""report.html: one self-contained page per run. Inline CSS, the charts as Vega-Lite specs rendered by the
Vega libraries inlined in the page (see `vega`), a few lines of script to sort tables. Nothing is fetched, so
it works offline and can be mailed or archived as one file.

What the page shows, chosen by what the run recorded: the headline numbers (cycles or latency, speedup,
energy, power, GFLOPS/W); speedup vs the dense baseline with the ideal and array bounds and the ablations;
per-layer cycles stacked by pass (sat) or latency (mobile); GEMM utilisation; DRAM bandwidth over time; the
run and its dense baseline side by side per pass and per layer; energy by pass and by component; the
ablation table (`--ablate`); the sensitivity tornado (when the summary has `sensitivity`); the per-layer and
per-op tables; the architecture; and the resolved workload.
"""

from __future__ import annotations

import datetime as _dt
import math
from html import escape
from typing import Any

import pandas as pd

from .. import __version__
from . import charts, tables, vega
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
div.chart { min-height: 40px; }
.headline { display: flex; flex-wrap: wrap; gap: 10px 28px; margin: 12px 0 4px; }
.headline div { display: flex; flex-direction: column; }
.headline b { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
.headline span { color: var(--muted); font-size: 12px; }
pre.yaml { background: #f7f7f7; border: 1px solid var(--rule); padding: 10px 14px; overflow: auto;
           max-height: 640px; font-size: 12.5px; }
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


def figure(chart: Any, caption: str, fig_id: str, chart_id: str) -> str:
    """An Altair chart in a figure with its caption (rendered when the page loads)."""
    return (
        f'<figure class="plot" id="{escape(fig_id)}"><div class="scroll">{vega.embed(chart, chart_id)}</div>'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def page(title: str, body: str, *, with_charts: bool = True) -> str:
    """The whole page; with charts, the Vega libraries and the renderer are inlined after the body."""
    scripts = vega.script() + "\n" if with_charts else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
        f"<script>{SORT_SCRIPT}</script>\n{scripts}</body></html>\n"
    )


# ----------------------------------------------------------------------------------------------- sections
def headline(result: Any) -> list[tuple[str, str]]:
    """(label, value) of the numbers a reader looks for first; energy only when the run modelled it."""
    s = result.summary
    out: list[tuple[str, str]] = []

    def add(key: str, label: str, fmt: str) -> None:
        v = s.get(key)
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            out.append((label, fmt.format(v)))

    if result.target == "mobile":
        add("latency_ms", "latency", "{:.3f} ms")
    add("total_cycles", "cycles" + (" per iteration" if s.get("task") == "train" else ""), "{:,.0f}")
    add("speedup", "speedup vs dense", "{:.3f}x")
    if tables.energy_modelled(result):
        add("energy_j", "energy" + (" per iteration" if s.get("task") == "train" else ""), "{:.4g} J")
        add("avg_power_w", "average power", "{:.3g} W")
        add("gflops_per_w", "efficiency", "{:.3g} GFLOPS/W")
        add("energy_gain", "energy vs dense", "{:.2f}x less")
    return out


def headline_html(items: list[tuple[str, str]]) -> str:
    cells = "".join(f"<div><b>{escape(v)}</b><span>{escape(k)}</span></div>" for k, v in items)
    return f'<div class="headline" id="headline">{cells}</div>'


def sparse_dense_section(result: Any) -> str:
    frame = tables.per_pass_sparse_dense(result)
    if frame is None:
        return ""
    chart = charts.sparse_vs_dense_chart(result)
    has_energy = "sparse_energy_j" in frame.columns
    fmt = {
        "speedup": "{:.3f}x",
        "energy_gain": "{:.2f}x",
        "sparse_energy_j": "{:.4g}",
        "dense_energy_j": "{:.4g}",
    }
    note = (
        "Per pass, the summed cycles of the run's ops and of its dense baseline's ops"
        + (" and their energy (static energy is not split by pass; see Energy)" if has_energy else "")
        + ". Ops of different engines overlap in time, so the sums exceed the run's total cycles. "
        "Per layer: the layer table below has the dense cycles" + (" and energy" if has_energy else "") + "."
    )
    return (
        '<section id="dense"><h2>Sparse vs dense</h2>'
        + figure(chart, note, "fig-sparse-dense", "chart-sparse-dense")
        + frame_table(frame, formats=fmt, table_id="pass-table")
        + "</section>"
    )


def energy_section(result: Any) -> str:
    by_group = tables.energy_by_group(result)
    by_component = tables.energy_by_component(result)
    if by_group is None or by_component is None:
        return ""
    s = result.summary
    group = str(by_group.columns[0])
    fmt = {"sparse_energy_j": "{:.4g}", "dense_energy_j": "{:.4g}", "share": "{:.1%}"}
    parts = [
        '<section id="energy"><h2>Energy</h2>',
        f'<p class="note">{escape(str(s.get("energy_model") or ""))}. Energy of each op is in ops.csv '
        "(<code>energy_j</code>); the run's static energy is its own row. Sparse vs dense: the run and its "
        "dense baseline.</p>",
        figure(
            charts.energy_chart(result),
            f"Energy by {group} and by component (summary energy_breakdown), the run and its dense baseline.",
            "fig-energy",
            "chart-energy",
        ),
        '<div class="grid"><div><h3>By component</h3>'
        + frame_table(by_component, formats=fmt, table_id="energy-component-table")
        + f"</div><div><h3>By {escape(group)}</h3>"
        + frame_table(by_group, formats=fmt, table_id="energy-group-table")
        + "</div></div>",
    ]
    actions = result.extras.get("energy_actions")
    if actions:
        frame = pd.DataFrame(actions)
        cols = [
            c
            for c in ("action", "component", "energy_per_action", "unit", "count", "energy_j", "source")
            if c in frame.columns
        ]
        parts.append(
            '<h3>Actions</h3><p class="note">Energy per action (per second for static power), the count the '
            "simulation recorded, and the source of each value.</p>"
            + frame_table(
                frame[cols],
                formats={"energy_per_action": "{:.4g}", "energy_j": "{:.4g}", "count": "{:,.0f}"},
                table_id="energy-action-table",
            )
        )
    parts.append("</section>")
    return "".join(parts)


def ablation_section(result: Any) -> str:
    s = result.summary
    ablation = s.get("ablation") or {}
    if not ablation:
        return ""
    cycles = s.get("ablation_total_cycles") or {}
    energy = s.get("ablation_energy_j") or {}
    rows = []
    for name, speedup in ablation.items():
        row: dict[str, Any] = {
            "ablation": f"{name} off" if result.target == "sat" else name,
            "speedup vs dense": math.nan if speedup is None else float(speedup),
        }
        if cycles:
            c = cycles.get(name)
            row["total cycles"] = c
            total = s.get("total_cycles")
            row["cycles vs this run"] = float(c) / float(total) if c is not None and total else math.nan
        if energy and tables.energy_modelled(result):
            e = energy.get(name)
            row["energy_j"] = e
            row["energy vs this run"] = float(e) / float(s["energy_j"]) if e is not None else math.nan
        rows.append(row)
    frame = pd.DataFrame(rows)
    fmt = {
        "speedup vs dense": "{:.3f}x",
        "cycles vs this run": "{:.3f}x",
        "energy_j": "{:.4g}",
        "energy vs this run": "{:.3f}x",
    }
    base = s.get("ablation_baseline")
    note = (
        f"{ablation_title(result.target).capitalize()}, each simulated with the same workload"
        + (f"; speedups are against the {base}" if base else "")
        + f". This run: {float(s['speedup']):.3f}x."
        if not _is_missing(s.get("speedup"))
        else ablation_title(result.target).capitalize() + "."
    )
    return (
        '<section id="ablation"><h2>Ablation</h2>'
        f'<p class="note">{escape(note)}</p>'
        + frame_table(frame, formats=fmt, table_id="ablation-table")
        + "</section>"
    )


def sensitivity_section(result: Any) -> str:
    table = tables.sensitivity_table(result)
    if table is None:
        return ""
    chart = charts.sensitivity_chart(result)
    fig = (
        figure(
            chart,
            "Each uncertain parameter of the preset set to the low and the high end of its plausible range, "
            "the others as in this run; bars run from this run's value (black line) to the value there, "
            "the largest swing on top.",
            "fig-sensitivity",
            "chart-sensitivity",
        )
        if chart is not None
        else ""
    )
    fmt = {
        "speedup_low": "{:.3f}x",
        "speedup_high": "{:.3f}x",
        "energy_j_low": "{:.4g}",
        "energy_j_high": "{:.4g}",
        "energy_swing_j": "{:.4g}",
        "low": "{:.4g}",
        "high": "{:.4g}",
        "baseline": "{:.4g}",
    }
    return (
        '<section id="sensitivity"><h2>Sensitivity</h2>'
        + fig
        + frame_table(table, formats=fmt, table_id="sensitivity-table")
        + "</section>"
    )


# ------------------------------------------------------------------------------------------------- page
def report_html(result: Any, workload_yaml: str | None = None) -> str:
    """The page of a run; `workload_yaml` (the resolved workload) is shown at the end when given."""
    with vega.building():
        return _report_html(result, workload_yaml)


def _report_html(result: Any, workload_yaml: str | None) -> str:
    s = result.summary
    figs: list[str] = []
    notes: list[str] = []
    sp = charts.speedup_chart(result)
    if sp is not None:
        bound = "" if _is_missing(s.get("ideal_speedup")) else " and the ideal bound"
        abl = f"; grey: {ablation_title(result.target)}" if s.get("ablation") else ""
        figs.append(
            figure(
                sp,
                f"Speedup over the dense baseline; dashed: dense (1x){bound}{abl}.",
                "fig-speedup",
                "chart-speedup",
            )
        )
    if result.target == "mobile":
        figs.append(
            figure(
                charts.latency_per_layer_chart(result),
                "Per-layer latency (cycles at the reference clock), in program order; fused ops take 0.",
                "fig-latency-per-layer",
                "chart-latency-per-layer",
            )
        )
    else:
        figs.append(
            figure(
                charts.cycles_per_layer_chart(result),
                "Per-layer cycles, in program order; the black tick is the dense baseline's total. Ops of "
                "different engines overlap in time, so the bars add up to more than the run's total cycles.",
                "fig-cycles-per-layer",
                "chart-cycles-per-layer",
            )
        )
    ut = charts.utilisation_chart(result)
    if ut is not None:
        figs.append(
            figure(
                ut,
                "Useful MACs / (cycles x peak MACs per cycle) of each layer's GEMMs, per pass (layers "
                "without GEMMs omitted).",
                "fig-utilisation",
                "chart-utilisation",
            )
        )
    bw = charts.bandwidth_chart(result)
    if bw is not None:
        figs.append(
            figure(
                bw,
                "DRAM bandwidth over time from the simulation's events, averaged per time bin; the strip "
                "shows which pass the PE array is running.",
                "fig-dram-bandwidth",
                "chart-dram-bandwidth",
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

    layers = tables.layer_table(result)
    layer_fmt = {
        "share": "{:.1%}",
        "utilisation": "{:.1%}",
        "speedup": "{:.3f}x",
        "energy_j": "{:.4g}",
        "dense energy_j": "{:.4g}",
    }
    ops_shown, truncated = tables.top_ops(result.ops, MAX_OPS_SHOWN)
    op_cols = [c for c in OP_COLUMNS if c in ops_shown.columns]
    if "energy_j" in ops_shown.columns and tables.energy_modelled(result):
        op_cols.append("energy_j")
    ops_note = (
        f"The {len(ops_shown)} longest of {len(result.ops)} ops; all of them are in ops.csv."
        if truncated
        else f"All {len(result.ops)} ops in program order (also in ops.csv)."
    )
    sections = {
        "dense": sparse_dense_section(result),
        "energy": energy_section(result),
        "ablation": ablation_section(result),
        "sensitivity": sensitivity_section(result),
    }
    arch_table = result.extras.get("arch_table")
    nav = [("summary", "summary"), ("plots", "plots")]
    nav += [(k, {"dense": "sparse vs dense"}.get(k, k)) for k, v in sections.items() if v]
    nav += [("layers", "layers"), ("ops", "ops")]
    nav += [("arch", "architecture")] if arch_table else []
    nav += [("workload", "workload")] if workload_yaml else []
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<header><h1>{escape(result.name)} on {escape(result.target)}</h1>",
        f'<p class="sub">{escape(context_line(result))}</p>',
        headline_html(headline(result)),
        "<nav>" + "".join(f'<a href="#{k}">{escape(v)}</a>' for k, v in nav) + "</nav></header>",
        '<section id="summary"><h2>Summary</h2><div class="grid"><div>'
        + kv_table(rows)
        + "</div>"
        + "".join(side)
        + "</div></section>",
        '<section id="plots"><h2>Plots</h2>'
        + "".join(figs)
        + "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
        + "</section>",
        *(v for v in sections.values() if v),
        f'<section id="layers"><h2>Per layer</h2><p class="note">{len(layers)} layers, in program order; '
        "click a column to sort.</p>"
        + frame_table(layers, formats=layer_fmt, index=True, table_id="layer-table")
        + "</section>",
        f'<section id="ops"><h2>Ops</h2><p class="note">{escape(ops_note)}</p>'
        + frame_table(
            ops_shown[op_cols],
            formats={"utilisation": "{:.1%}", "density": "{:.3g}", "energy_j": "{:.4g}"},
            table_id="op-table",
        )
        + "</section>",
    ]
    if arch_table:
        body.append(
            '<section id="arch"><h2>Architecture</h2>'
            + frame_table(pd.DataFrame(arch_table), table_id="arch-table")
            + "</section>"
        )
    if workload_yaml:
        body.append(
            '<section id="workload"><h2>Workload</h2><p class="note">The resolved workload this run '
            'simulated (also in <a href="workload.yaml">workload.yaml</a>).</p>'
            f'<pre class="yaml" id="workload-yaml">{escape(workload_yaml)}</pre></section>'
        )
    body.append(
        f'<footer><p>sparsesim {escape(__version__)}, {stamp}. Data: <a href="ops.csv">ops.csv</a> '
        '(one row per op), <a href="summary.json">summary.json</a>'
        + (', <a href="baseline_ops.csv">baseline_ops.csv</a>' if result.baseline is not None else "")
        + (', <a href="timeline.csv">timeline.csv</a>' if result.timeline is not None else "")
        + ". Charts: Vega-Lite, rendered by Vega in this page.</p></footer>"
    )
    return page(f"sparsesim: {result.name} on {result.target}", "\n".join(body))
