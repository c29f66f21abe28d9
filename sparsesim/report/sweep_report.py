"""The Pareto view of a sweep: time vs cost per point with the Pareto front, as pareto.svg and pareto.html
(one offline page with the chart and the tables). Reads the sweep table only."""

from __future__ import annotations

import math
from html import escape
from typing import Any

import pandas as pd

from . import svg
from .html import frame_table, page

# Columns shown beside the axes in the page's tables, when present.
KEY_METRICS = (
    "speedup",
    "ideal_speedup",
    "utilisation",
    "total_cycles",
    "seconds_simulated",
    "latency_ms",
    "dram_bandwidth_gbs",
    "pes",
    "dsp",
)
LABELS = {
    "dsp": "DSP48E2 slices of the PE array",
    "pes": "PEs (rows x cols)",
    "seconds_simulated": "simulated time per iteration (s)",
    "latency_ms": "latency (ms)",
    "threads": "threads",
    "total_cycles": "cycles per iteration",
}


def _numeric(series: pd.Series) -> list[float]:
    return [
        float(v) if v is not None and not pd.isna(v) else math.nan
        for v in pd.to_numeric(series, errors="coerce")
    ]


def _log_scale(values: list[float]) -> bool:
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) >= 8


def pareto_outputs(
    sweep: Any, table: pd.DataFrame, x: str, y: str, groups: list[str]
) -> tuple[list[int], str, str]:
    """(point numbers on the front, pareto.html, pareto.svg) for columns `x` (cost) and `y` (time)."""
    ok = (table["status"] == "ok").to_list()
    xs = [v if good else math.nan for v, good in zip(_numeric(table[x]), ok)]
    ys = [v if good else math.nan for v, good in zip(_numeric(table[y]), ok)]
    front_rows = svg.pareto_front(xs, ys)
    axis_cols = [c for a in sweep.axes for c in a.paths if c in table.columns]
    pts = []
    for i in range(len(table)):
        row = table.iloc[i]
        desc = ", ".join(f"{c}={row[c]}" for c in axis_cols) or sweep.name
        tip = f"point {row['point']}: {desc}; {x}={svg.si(xs[i])}, {y}={svg.si(ys[i])}"
        pts.append(svg.ScatterPoint(xs[i], ys[i], groups[i] if i < len(groups) else "", tip))
    title = f"{sweep.name}: {y} vs {x}"
    chart = svg.scatter_chart(
        pts,
        front_rows,
        title=title,
        chart_id="chart-pareto",
        xlabel=LABELS.get(x, x),
        ylabel=LABELS.get(y, y),
        xlog=_log_scale(xs),
        ylog=_log_scale(ys),
        description=f"One point per sweep point; lower is better on both axes. Ringed: the Pareto front "
        f"({len(front_rows)} points).",
    )
    front_points = [int(table.iloc[i]["point"]) for i in front_rows]
    cols = ["point", "status", *axis_cols]
    cols += [c for c in (x, y, *KEY_METRICS) if c in table.columns and c not in cols]
    failed = table[table["status"] != "ok"]
    over = ", ".join(a.label for a in sweep.axes) or "no axes"
    body = [
        f"<header><h1>{escape(sweep.name)}</h1>",
        f'<p class="sub">{len(table)} points over {escape(over)}; base model '
        f"{escape(str(sweep.base.model.name))} on {escape(sweep.base.target)}. Data: "
        '<a href="sweep.csv">sweep.csv</a> (one row per point), points/ (one JSON record per point).</p>'
        "</header>",
        '<section id="pareto"><h2>Pareto front</h2>'
        f'<figure class="plot" id="fig-pareto"><div class="scroll">{chart}</div><figcaption>Lower is better '
        f"on both axes; hover a point for its settings. Ringed points are not beaten on both {escape(y)} "
        f"and {escape(x)} by any other point.</figcaption></figure>"
        + frame_table(table.iloc[front_rows][cols], formats=_formats(), table_id="front-table")
        + "</section>",
        '<section id="points"><h2>All points</h2><p class="note">Click a column to sort.</p>'
        + frame_table(table[cols], formats=_formats(), table_id="points-table")
        + "</section>",
    ]
    if len(failed):
        body.append(
            f'<section id="failed"><h2>Points not run or failed ({len(failed)})</h2>'
            + frame_table(failed[["point", "status", "error", *axis_cols]], table_id="failed-table")
            + "</section>"
        )
    return front_points, page(f"sparsesim sweep: {sweep.name}", "\n".join(body)), chart


def _formats() -> dict[str, str]:
    return {
        "speedup": "{:.3f}x",
        "ideal_speedup": "{:.3f}x",
        "utilisation": "{:.1%}",
        "seconds_simulated": "{:.6g}",
        "latency_ms": "{:.4g}",
        "dram_bandwidth_gbs": "{:.2f}",
    }
