"""The report's charts, as Vega-Altair charts built from the run's tables (never from the simulator).

Each function takes a RunResult (or a frame) and returns an Altair chart, or None when the run did not record
what the chart shows. The frames the charts plot come from `tables` (pure reads of the per-op table and the
summary), so the tests can compare a chart's data with the run's numbers. Marks that draw data are named
`data_<what>` (see `vega`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from . import tables
from .vega import PASS_COLORS, RUN_COLORS, scale

PALETTE = (  # Tableau 10
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
LAYER_PX = 14  # our choice: width per layer of a per-layer chart (ResNet-50's layers stay legible, scrolling)


def _alt() -> Any:
    import altair as alt

    return alt


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _layer_axis(layers: list[str]) -> Any:
    alt = _alt()
    return alt.X("layer:N", sort=layers, title=None, axis=alt.Axis(labelAngle=-60, labelLimit=180))


def _width(n: int, per: float = LAYER_PX, least: int = 560) -> int:
    return int(max(least, n * per))


# ------------------------------------------------------------------------------------------------ speedup
def speedup_frame(result: Any) -> pd.DataFrame:
    """One row per bar: the achieved speedup, the array-bound speedup, one per ablation."""
    s = result.summary
    rows = [{"bar": "achieved", "kind": "achieved", "speedup": float(s["speedup"])}]
    if not _missing(s.get("array_bound_speedup")):
        bound = float(s["array_bound_speedup"])
        rows.append({"bar": "array bound (GEMMs at full rate)", "kind": "array bound", "speedup": bound})
    for name, v in (s.get("ablation") or {}).items():
        label = f"{name} off" if result.target == "sat" else name
        rows.append({"bar": label, "kind": "ablation", "speedup": math.nan if v is None else float(v)})
    frame = pd.DataFrame(rows)
    frame["label"] = [("n/a" if math.isnan(v) else f"{v:.3f}x") for v in frame["speedup"]]
    return frame


def speedup_chart(result: Any) -> Any | None:
    alt = _alt()
    s = result.summary
    if _missing(s.get("speedup")):
        return None
    frame = speedup_frame(result)
    refs = [{"line": "dense = 1", "speedup": 1.0}]
    if not _missing(s.get("ideal_speedup")):
        formula = s.get("ideal_speedup_formula") or ""
        refs.append({"line": f"ideal bound {formula}".strip(), "speedup": float(s["ideal_speedup"])})
    ref = pd.DataFrame(refs)
    ref["label"] = [f"{v:.3f}x" for v in ref["speedup"]]
    order = list(frame["bar"])
    top = 1.15 * max([1.0, *frame["speedup"].dropna(), *ref["speedup"]])
    kinds = {"achieved": PALETTE[0], "array bound": "#a0cbe8", "ablation": "#bab0ac"}
    y = alt.Y("bar:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=y,
            # room right of the longest bar for its label
            x=alt.X("speedup:Q", title="speedup vs dense (x)", scale=alt.Scale(domain=[0, top])),
            color=alt.Color("kind:N", scale=alt.Scale(**scale(kinds, list(kinds))), legend=None),
            tooltip=[alt.Tooltip("bar:N", title="bar"), alt.Tooltip("label:N", title="speedup")],
        )
        .properties(name="data_speedup")
    )
    text = (
        alt.Chart(frame)
        .mark_text(align="left", dx=4, fontSize=10)
        .encode(y=y, x=alt.X("speedup:Q"), text=alt.Text("label:N"))
    )
    ref_colors = {r["line"]: ("#555555" if r["line"] == "dense = 1" else "#e15759") for r in refs}
    rules = (
        alt.Chart(ref)
        .mark_rule(strokeDash=[5, 3], strokeWidth=1.5)
        .encode(
            x=alt.X("speedup:Q"),
            color=alt.Color(
                "line:N",
                scale=alt.Scale(**scale(ref_colors, list(ref["line"]))),
                legend=alt.Legend(title=None, orient="bottom", labelLimit=600),
            ),
            tooltip=[alt.Tooltip("line:N", title="line"), alt.Tooltip("label:N", title="speedup")],
        )
    )
    return (
        alt.layer(bars, text, rules)
        .resolve_scale(color="independent")
        .properties(title="Speedup vs dense", width=520, height=max(60, 26 * len(frame)))
    )


# -------------------------------------------------------------------------------------------- per layer
def cycles_per_layer_chart(result: Any) -> Any:
    """sat: cycles per layer stacked by pass; the dense baseline's total as a tick per layer."""
    alt = _alt()
    cyc = tables.cycles_by_layer_and_pass(result.ops)
    layers = [str(v) for v in cyc.index]
    long = tables.long_frame(cyc, "layer", "pass", "cycles")
    long = long[long["cycles"] > 0]
    passes = [str(p) for p in cyc.columns]
    dense = tables.dense_cycles_by_layer(result, layers)
    domain = passes + (["dense baseline"] if dense is not None else [])
    colors = {**PASS_COLORS, "dense baseline": "#111111"}
    color_scale = alt.Scale(**scale(colors, domain))
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=_layer_axis(layers),
            y=alt.Y("cycles:Q", stack="zero", title="cycles (sum over the layer's ops)"),
            color=alt.Color("pass:N", scale=color_scale, sort=domain, title=None),
            order=alt.Order("pass_order:Q"),
            tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("pass:N"), alt.Tooltip("cycles:Q", format=",.0f")],
        )
        .transform_calculate(pass_order=f"indexof({domain!r}, datum.pass)")
        .properties(name="data_cycles")
    )
    layered = [bars]
    if dense is not None:
        d = pd.DataFrame({"layer": layers, "dense_cycles": dense, "series": "dense baseline"})
        d = d[d["dense_cycles"] > 0]
        layered.append(
            alt.Chart(d)
            .mark_tick(thickness=2)
            .encode(
                x=_layer_axis(layers),
                y=alt.Y("dense_cycles:Q"),
                color=alt.Color("series:N", scale=color_scale, sort=domain, title=None),
                tooltip=[
                    alt.Tooltip("layer:N"),
                    alt.Tooltip("dense_cycles:Q", title="dense baseline cycles", format=",.0f"),
                ],
            )
            .properties(name="data_dense")
        )
    return alt.layer(*layered).properties(
        title="Cycles per layer, stacked by pass", width=_width(len(layers)), height=280
    )


def latency_per_layer_chart(result: Any) -> Any:
    """mobile: latency per layer, sparse and dense side by side (layers where both take 0 left out)."""
    alt = _alt()
    frame = tables.latency_by_layer(result)
    layers = list(dict.fromkeys(frame["layer"]))
    runs = list(dict.fromkeys(frame["run"]))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=_layer_axis(layers),
            xOffset=alt.XOffset("run:N", sort=runs),
            y=alt.Y("latency_us:Q", title="latency (µs)"),
            color=alt.Color("run:N", scale=alt.Scale(**scale(RUN_COLORS, runs)), title=None),
            tooltip=[
                alt.Tooltip("layer:N"),
                alt.Tooltip("run:N"),
                alt.Tooltip("latency_us:Q", title="latency (µs)", format=".4g"),
            ],
        )
        .properties(
            name="data_latency",
            title="Latency per layer, sparse vs dense",
            width=_width(len(layers), per=LAYER_PX * max(1, len(runs))),
            height=280,
        )
    )


def utilisation_chart(result: Any) -> Any | None:
    alt = _alt()
    util = tables.gemm_utilisation_by_layer_and_pass(result.ops)
    if util.empty or util.shape[1] == 0:
        return None
    layers = [str(v) for v in util.index]
    passes = [str(p) for p in util.columns]
    long = tables.long_frame(util, "layer", "pass", "utilisation").dropna(subset=["utilisation"])
    what = "Core" if result.target == "mobile" else "PE"
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=_layer_axis(layers),
            xOffset=alt.XOffset("pass:N", sort=passes),
            y=alt.Y(
                "utilisation:Q",
                title="utilisation",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            color=alt.Color("pass:N", scale=alt.Scale(**scale(PASS_COLORS, passes)), title=None),
            tooltip=[
                alt.Tooltip("layer:N"),
                alt.Tooltip("pass:N"),
                alt.Tooltip("utilisation:Q", format=".1%"),
            ],
        )
        .properties(name="data_utilisation")
    )
    layered = [bars]
    overall = result.summary.get("utilisation")
    if not _missing(overall):
        ref = pd.DataFrame({"utilisation": [float(overall)], "label": [f"whole run {float(overall):.1%}"]})
        rule = (
            alt.Chart(ref)
            .mark_rule(strokeDash=[5, 3], color="#555555")
            .encode(y=alt.Y("utilisation:Q"), tooltip=[alt.Tooltip("label:N")])
        )
        label = rule.mark_text(align="right", dy=-5, fontSize=10, color="#555555").encode(
            x=alt.XValue(_width(len(layers), per=LAYER_PX * len(passes))), text=alt.Text("label:N")
        )
        layered += [rule, label]
    return alt.layer(*layered).properties(
        title=f"{what} utilisation per layer (GEMMs)",
        width=_width(len(layers), per=LAYER_PX * len(passes)),
        height=260,
    )


# ------------------------------------------------------------------------------------------- over time
def bandwidth_chart(result: Any) -> Any | None:
    """DRAM bandwidth over time from the timeline, in time bins; under it, what the PE array runs."""
    alt = _alt()
    view = tables.bandwidth_view(result)
    if view is None:
        return None
    bins, refs, spans, unit = view
    end = float(bins["end"].max())
    x_scale = alt.Scale(domain=[0, end], nice=False)
    area = (
        alt.Chart(bins)
        .mark_rect(color=PALETTE[0], opacity=0.6)
        .encode(
            x=alt.X("start:Q", scale=x_scale, title=None),
            x2=alt.X2("end"),
            y=alt.Y("gbs:Q", title="DRAM bandwidth (GB/s)"),
            y2=alt.Y2("floor"),  # each bin a rectangle from 0 up to its average
            tooltip=[
                alt.Tooltip("start:Q", title=f"from ({unit})", format=".4g"),
                alt.Tooltip("end:Q", title=f"to ({unit})", format=".4g"),
                alt.Tooltip("gbs:Q", title="GB/s (bin average)", format=".3g"),
            ],
        )
        .properties(name="data_bandwidth")
    )
    layered = [area]
    if len(refs):
        layered.append(
            alt.Chart(refs)
            .mark_rule(strokeDash=[5, 3], strokeWidth=1.5)
            .encode(
                y=alt.Y("gbs:Q"),
                color=alt.Color(
                    "line:N",
                    scale=alt.Scale(**scale(dict(zip(refs["line"], refs["color"])), list(refs["line"]))),
                    legend=alt.Legend(title=None),
                ),
                tooltip=[alt.Tooltip("line:N")],
            )
        )
    top = alt.layer(*layered).properties(width=760, height=240)
    if not len(spans):
        return top.properties(title="DRAM bandwidth over time")
    passes = list(dict.fromkeys(spans["pass"]))
    strip = (
        alt.Chart(spans)
        .mark_rect()
        .encode(
            x=alt.X("start:Q", scale=x_scale, title=f"time ({unit})"),
            x2=alt.X2("end"),
            color=alt.Color(
                "pass:N",
                scale=alt.Scale(**scale(PASS_COLORS, passes)),
                legend=alt.Legend(title="PE array runs"),
            ),
            tooltip=[
                alt.Tooltip("pass:N"),
                alt.Tooltip("start:Q", format=".4g"),
                alt.Tooltip("end:Q", format=".4g"),
            ],
        )
        .properties(name="data_strip", width=760, height=14)
    )
    return (
        alt.vconcat(top, strip, spacing=4)
        .resolve_scale(color="independent", x="shared")
        .properties(title="DRAM bandwidth over time")
    )


# ------------------------------------------------------------------------------------- sparse vs dense
def _grouped(frame: pd.DataFrame, group: str, value: str, title: str, fmt: str, axis_title: str) -> Any:
    alt = _alt()
    groups = list(dict.fromkeys(frame[group]))
    runs = list(dict.fromkeys(frame["run"]))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{group}:N", sort=groups, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("run:N", sort=runs),
            y=alt.Y(f"{value}:Q", title=axis_title),
            color=alt.Color("run:N", scale=alt.Scale(**scale(RUN_COLORS, runs)), title=None),
            tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip("run:N"), alt.Tooltip(f"{value}:Q", format=fmt)],
        )
        .properties(name=f"data_{value}", title=title, width=max(220, 70 * len(groups)), height=220)
    )


def sparse_vs_dense_chart(result: Any) -> Any | None:
    """Per pass, the run and its dense baseline side by side: op cycles, and energy when it was modelled."""
    alt = _alt()
    frame = tables.per_pass_sparse_dense(result)
    if frame is None:
        return None
    cyc = tables.long_runs(frame, "cycles")
    charts = [_grouped(cyc, "pass", "cycles", "Cycles per pass", ",.0f", "cycles (sum over the pass's ops)")]
    if "sparse_energy_j" in frame.columns:
        energy = tables.long_runs(frame, "energy_j")
        charts.append(_grouped(energy, "pass", "energy_j", "Energy per pass", ".4g", "energy (J)"))
    return alt.hconcat(*charts, spacing=32).properties(title="Sparse vs dense")


def energy_chart(result: Any) -> Any | None:
    """Energy by pass (or, with one pass, by op kind; static energy as its own bar) and by component, the
    run and its dense baseline side by side."""
    alt = _alt()
    by_group = tables.energy_by_group(result)
    by_component = tables.energy_by_component(result)
    if by_group is None or by_component is None:
        return None
    group = str(by_group.columns[0])
    return alt.hconcat(
        _grouped(
            tables.long_runs(by_group, "energy_j", key=group),
            group,
            "energy_j",
            f"By {group}",
            ".4g",
            "energy (J)",
        ).properties(name="data_energy_group"),
        _grouped(
            tables.long_runs(by_component, "energy_j", key="component"),
            "component",
            "energy_j",
            "By component",
            ".4g",
            "energy (J)",
        ).properties(name="data_energy_component"),
        spacing=32,
    ).properties(title="Energy per " + ("iteration" if result.summary.get("task") == "train" else "run"))


# ----------------------------------------------------------------------------------------- sensitivity
def tornado_chart(
    frame: pd.DataFrame, baseline: float, *, value: str, title: str, axis_title: str, fmt: str
) -> Any:
    """One bar per parameter and end of its range, from the run's value to the value at that end; the
    parameters sorted by swing (largest on top)."""
    alt = _alt()
    order = list(dict.fromkeys(frame.sort_values("swing", ascending=False, kind="stable")["parameter"]))
    ends = list(dict.fromkeys(frame["end"]))
    ref = pd.DataFrame({value: [baseline], "label": [f"this run {baseline:{fmt}}"]})
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("parameter:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X(f"{value}:Q", title=axis_title, scale=alt.Scale(zero=False)),
            x2=alt.X2("run_value"),
            color=alt.Color(
                "end:N",
                scale=alt.Scale(**scale({e: c for e, c in zip(ends, ("#4e79a7", "#e15759"))}, ends)),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("parameter:N"),
                alt.Tooltip("source:N"),
                alt.Tooltip("end:N"),
                alt.Tooltip("parameter_value:Q", title="parameter value", format=".4g"),
                alt.Tooltip(f"{value}:Q", format=fmt),
                alt.Tooltip("swing:Q", format=fmt),
            ],
        )
        .properties(name=f"data_tornado_{value}")
    )
    rule = (
        alt.Chart(ref)
        .mark_rule(color="#111111", strokeWidth=1.5)
        .encode(x=alt.X(f"{value}:Q"), tooltip=[alt.Tooltip("label:N")])
    )
    return alt.layer(bars, rule).properties(title=title, width=420, height=max(60, 22 * len(order)))


def sensitivity_chart(result: Any) -> Any | None:
    alt = _alt()
    view = tables.sensitivity_view(result)
    if view is None:
        return None
    s = result.summary
    charts = [
        tornado_chart(
            view["total_cycles"],
            float(s["total_cycles"]),
            value="total_cycles",
            title="Swing of total cycles",
            axis_title="total cycles",
            fmt=",.0f",
        )
    ]
    if "energy_j" in view:
        charts.append(
            tornado_chart(
                view["energy_j"],
                float(s["energy_j"]),
                value="energy_j",
                title="Swing of energy",
                axis_title="energy (J)",
                fmt=".4g",
            )
        )
    return (
        alt.hconcat(*charts, spacing=40)
        .resolve_scale(color="shared")
        .properties(title="Sensitivity to the preset's uncertain parameters")
    )
