"""The Pareto view of a sweep: time vs cost per point with the Pareto front, as pareto.html (one offline page:
the interactive chart and the tables) and pareto.svg (the chart alone, rendered by vl-convert). Reads the
sweep table only."""

from __future__ import annotations

import math
from html import escape
from typing import Any

import pandas as pd

from . import charts, tables, vega
from .html import figure, frame_table, page

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


def _si(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.4g}"


def pareto_chart(
    points: pd.DataFrame, x_label: str, y_label: str, *, xlog: bool, ylog: bool, title: str
) -> Any:
    """Points (columns point, group, x, y, settings, front) coloured by group; the front joined by a step
    line and ringed. Zoom and pan with the mouse; click a legend entry to pick out its group."""
    import altair as alt

    groups = list(dict.fromkeys(points["group"]))
    pick = alt.selection_point(fields=["group"], bind="legend")

    def axis(name: str, label: str, log: bool) -> Any:
        kind = alt.X if name == "x" else alt.Y
        scale = alt.Scale(type="log" if log else "linear", zero=False, padding=16)  # points off the frame
        return kind(f"{name}:Q", title=label, scale=scale)

    base = alt.Chart(points)
    dots = (
        base.mark_point(filled=True, size=70, opacity=0.9)
        .encode(
            x=axis("x", x_label, xlog),
            y=axis("y", y_label, ylog),
            color=alt.Color("group:N", sort=groups, title=None, scale=alt.Scale(range=list(charts.PALETTE))),
            opacity=alt.when(pick).then(alt.value(0.9)).otherwise(alt.value(0.15)),
            tooltip=[
                alt.Tooltip("point:Q", title="point"),
                alt.Tooltip("settings:N", title="settings"),
                alt.Tooltip("x_text:N", title=x_label),
                alt.Tooltip("y_text:N", title=y_label),
            ],
        )
        .add_params(pick)
        .properties(name="data_points")
    )
    front = points[points["front"]].sort_values(["x", "y"])
    line = (
        alt.Chart(front)
        .mark_line(interpolate="step-after", color="#333333", strokeDash=[4, 3], strokeWidth=1.5)
        .encode(x=axis("x", x_label, xlog), y=axis("y", y_label, ylog), order=alt.Order("x:Q"))
    )
    rings = (
        alt.Chart(front)
        .mark_point(filled=False, size=190, color="#111111", strokeWidth=2)
        .encode(x=axis("x", x_label, xlog), y=axis("y", y_label, ylog), tooltip=[alt.Tooltip("settings:N")])
        .properties(name="data_front")
    )
    return alt.layer(line, dots, rings).properties(title=title, width=640, height=400).interactive()


def pareto_outputs(
    sweep: Any, table: pd.DataFrame, x: str, y: str, groups: list[str]
) -> tuple[list[int], str, str]:
    """(point numbers on the front, pareto.html, pareto.svg) for columns `x` (cost) and `y` (time)."""
    with vega.building():
        return _pareto_outputs(sweep, table, x, y, groups)


def _pareto_outputs(
    sweep: Any, table: pd.DataFrame, x: str, y: str, groups: list[str]
) -> tuple[list[int], str, str]:
    ok = (table["status"] == "ok").to_list()
    xs = [v if good else math.nan for v, good in zip(_numeric(table[x]), ok)]
    ys = [v if good else math.nan for v, good in zip(_numeric(table[y]), ok)]
    front_rows = tables.pareto_front(xs, ys)
    axis_cols = [c for a in sweep.axes for c in a.paths if c in table.columns]
    rows = []
    on_front = set(front_rows)
    for i in range(len(table)):
        if not (math.isfinite(xs[i]) and math.isfinite(ys[i])):
            continue  # failed or skipped points, and points without a value: listed in the tables only
        row = table.iloc[i]
        rows.append(
            {
                "point": int(row["point"]),
                "group": groups[i] if i < len(groups) else "",
                "x": xs[i],
                "y": ys[i],
                "x_text": _si(xs[i]),
                "y_text": _si(ys[i]),
                "settings": ", ".join(f"{c}={row[c]}" for c in axis_cols) or sweep.name,
                "front": i in on_front,
            }
        )
    points = pd.DataFrame(rows, columns=["point", "group", "x", "y", "x_text", "y_text", "settings", "front"])
    title = f"{sweep.name}: {y} vs {x}"
    chart = pareto_chart(
        points, LABELS.get(x, x), LABELS.get(y, y), xlog=_log_scale(xs), ylog=_log_scale(ys), title=title
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
        + figure(
            chart,
            f"Lower is better on both axes; hover a point for its settings, drag to pan, scroll to zoom, "
            f"click a legend entry to pick out its group. Ringed ({len(front_rows)}): the points no other "
            f"point beats on both {y} and {x}.",
            "fig-pareto",
            "chart-pareto",
        )
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
    return front_points, page(f"sparsesim sweep: {sweep.name}", "\n".join(body)), vega.to_svg(chart)


def _formats() -> dict[str, str]:
    return {
        "speedup": "{:.3f}x",
        "ideal_speedup": "{:.3f}x",
        "utilisation": "{:.1%}",
        "seconds_simulated": "{:.6g}",
        "latency_ms": "{:.4g}",
        "dram_bandwidth_gbs": "{:.2f}",
    }
