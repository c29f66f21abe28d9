"""Views of a RunResult for the reports: per-layer aggregates of the per-op table, the DRAM timeline in time
bins, the PE array's activity. Pure reads (sums, weighted means, bins) of what the simulator recorded; nothing
here models hardware.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..results import RunResult

PASSES = ("FF", "BP", "WU", "UPD", "GEN")


def layer_order(ops: pd.DataFrame) -> list[str]:
    """Layers in the order they first appear in the op table (program order: the forward pass)."""
    return list(dict.fromkeys(str(v) for v in ops["layer"]))


def passes_present(ops: pd.DataFrame) -> list[str]:
    seen = set(ops["pass"].astype(str))
    return [p for p in PASSES if p in seen] + sorted(seen - set(PASSES))


def cycles_by_layer_and_pass(ops: pd.DataFrame) -> pd.DataFrame:
    """Summed op cycles, one row per layer (program order), one column per pass present."""
    frame = ops.assign(layer=ops["layer"].astype(str), cycles=ops["cycles"].astype(float))
    table = frame.groupby(["layer", "pass"])["cycles"].sum().unstack("pass", fill_value=0.0)
    return table.reindex(index=layer_order(ops), columns=passes_present(ops), fill_value=0.0)


def gemm_utilisation_by_layer_and_pass(ops: pd.DataFrame) -> pd.DataFrame:
    """Utilisation of each layer's GEMMs per pass: the op utilisations weighted by their cycles (so a layer's
    value is its useful MACs over its cycles at peak, as for one op). NaN where a layer has no GEMM."""
    g = ops[(ops["kind"] == "gemm") & ops["utilisation"].notna() & (ops["cycles"] > 0)]
    if g.empty:
        return pd.DataFrame(index=layer_order(ops))
    g = g.assign(layer=g["layer"].astype(str), weighted=g["utilisation"] * g["cycles"])
    sums = g.groupby(["layer", "pass"])[["weighted", "cycles"]].sum()
    util = (sums["weighted"] / sums["cycles"]).unstack("pass")
    cols = [p for p in passes_present(ops) if p in util.columns]
    return util.reindex(index=[layer for layer in layer_order(ops) if layer in util.index], columns=cols)


def layer_table(result: RunResult) -> pd.DataFrame:
    """One row per layer: cycles per pass, total, share, GEMM utilisation, DRAM bytes, and the dense
    baseline's cycles and the layer's speedup when a baseline exists."""
    ops = result.ops
    cyc = cycles_by_layer_and_pass(ops)
    out = pd.DataFrame(index=cyc.index)
    for p in cyc.columns:
        out[f"{p} cycles"] = cyc[p]
    out["cycles"] = cyc.sum(axis=1)
    total = float(out["cycles"].sum())
    out["share"] = out["cycles"] / total if total else 0.0
    g = ops[(ops["kind"] == "gemm") & ops["utilisation"].notna() & (ops["cycles"] > 0)]
    if not g.empty:
        g = g.assign(layer=g["layer"].astype(str), weighted=g["utilisation"] * g["cycles"])
        sums = g.groupby("layer")[["weighted", "cycles"]].sum()
        out["utilisation"] = (sums["weighted"] / sums["cycles"]).reindex(out.index)
    out["dram_bytes"] = ops.assign(layer=ops["layer"].astype(str)).groupby("layer")["dram_bytes"].sum()
    if result.baseline is not None:
        b = result.baseline.ops
        dense = b.assign(layer=b["layer"].astype(str)).groupby("layer")["cycles"].sum()
        out["dense cycles"] = dense.reindex(out.index)
        out["speedup"] = out["dense cycles"] / out["cycles"].where(out["cycles"] > 0)
    if energy_modelled(result):
        out["energy_j"] = ops.assign(layer=ops["layer"].astype(str)).groupby("layer")["energy_j"].sum()
        if result.baseline is not None and energy_modelled(result.baseline):
            b = result.baseline.ops
            dense_j = b.assign(layer=b["layer"].astype(str)).groupby("layer")["energy_j"].sum()
            out["dense energy_j"] = dense_j.reindex(out.index)
    out.index.name = "layer"
    return out


def dense_cycles_by_layer(result: RunResult, layers: list[str]) -> list[float] | None:
    if result.baseline is None:
        return None
    b = result.baseline.ops
    dense = b.assign(layer=b["layer"].astype(str)).groupby("layer")["cycles"].sum()
    return [float(dense.get(layer, math.nan)) for layer in layers]


def bin_timeline(timeline: pd.DataFrame, end_cycle: float, bins: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """The DRAM rate recorded at each reallocation (a step function of the cycle) as its average over `bins`
    equal time bins: returns (edges in cycles, average bytes per cycle per bin); exact, it integrates the
    steps."""
    t = timeline["cycle"].to_numpy(dtype=float)
    r = timeline["dram_bytes_per_cycle"].to_numpy(dtype=float)
    end = max(float(end_cycle), float(t.max()) if len(t) else 0.0, 1.0)
    edges = np.linspace(0.0, end, max(1, bins) + 1)
    if len(t) == 0:
        return edges, np.zeros(len(edges) - 1)
    # Several rows at one cycle: the last is the rate that holds from there on.
    keep = np.r_[t[1:] != t[:-1], True]
    t, r = t[keep], r[keep]
    knots = np.r_[0.0, t, end] if t[0] > 0 else np.r_[t, end]
    rates = np.r_[0.0, r] if t[0] > 0 else r
    cum = np.r_[0.0, np.cumsum(rates * np.diff(knots))]
    at_edges = np.interp(edges, knots, cum)
    return edges, np.diff(at_edges) / np.diff(edges)


def engine_strip(ops: pd.DataFrame, engine: str = "pe_array") -> list[tuple[float, float, str]]:
    """(start, end, pass) spans when `engine` ran an op, adjacent spans of one pass merged."""
    rows = ops[(ops["engine"] == engine) & (ops["end_cycle"] > ops["start_cycle"])]
    rows = rows.sort_values("start_cycle")
    spans: list[tuple[float, float, str]] = []
    for start, end, p in zip(rows["start_cycle"], rows["end_cycle"], rows["pass"].astype(str)):
        if spans and spans[-1][2] == p and start <= spans[-1][1] + 1e-9:
            spans[-1] = (spans[-1][0], max(spans[-1][1], float(end)), p)
        else:
            spans.append((float(start), float(end), p))
    return spans


def top_ops(ops: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, bool]:
    """All ops in program order when there are at most `limit`, else the `limit` longest (and True)."""
    if len(ops) <= limit:
        return ops, False
    return ops.sort_values("cycles", ascending=False, kind="stable").head(limit), True


# ------------------------------------------------------------------------------------- chart frames
RUNS = ("sparse", "dense baseline")


def long_frame(wide: pd.DataFrame, index_name: str, column_name: str, value_name: str) -> pd.DataFrame:
    """A (row x column) table as one row per cell: index_name, column_name, value_name."""
    out = wide.copy()
    out.index = [str(i) for i in out.index]
    out.columns = [str(c) for c in out.columns]
    out.index.name, out.columns.name = index_name, column_name
    return out.stack(future_stack=True).rename(value_name).reset_index()


def latency_by_layer(result: Any) -> pd.DataFrame:
    """mobile: (layer, run, latency_us) of the run and its dense baseline; layers where both are 0 omitted."""
    clock_mhz = float(result.summary.get("clock_mhz") or 1.0)
    cyc = cycles_by_layer_and_pass(result.ops).sum(axis=1)
    layers = [str(v) for v in cyc.index]
    wide = pd.DataFrame({"sparse": cyc.to_numpy(dtype=float) / clock_mhz}, index=layers)
    dense = dense_cycles_by_layer(result, layers)
    if dense is not None:
        wide["dense baseline"] = np.asarray(dense, dtype=float) / clock_mhz
    wide = wide[(wide.fillna(0.0) > 0).any(axis=1)]
    return long_frame(wide, "layer", "run", "latency_us").dropna(subset=["latency_us"])


def bandwidth_view(result: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str] | None:
    """The timeline as DRAM GB/s per time bin (start, end, gbs), reference lines (line, gbs, color: the DRAM
    peak of the arch and the run's average), the PE array's pass over time (start, end, pass) and the time
    unit; None without a timeline."""
    tl = result.timeline
    if tl is None or len(tl) == 0 or not {"cycle", "dram_bytes_per_cycle"} <= set(tl.columns):
        return None
    s = result.summary
    clock_mhz = float(s.get("clock_mhz") or 1.0)
    end = float(s.get("total_cycles") or result.ops["end_cycle"].max())
    edges, rate = bin_timeline(tl, end, bins=min(400, max(50, len(tl) // 4)))
    us = edges / clock_mhz
    unit, per_us = next(
        (u, f) for u, f in (("s", 1e-6), ("ms", 1e-3), ("µs", 1.0)) if us[-1] * f >= 10 or u == "µs"
    )
    t = us * per_us
    bins = pd.DataFrame({"start": t[:-1], "end": t[1:], "gbs": rate * clock_mhz / 1e3, "floor": 0.0})  # GB/s
    refs = []
    peak = (s.get("arch") or {}).get("dram_bandwidth_gbs")
    if peak is not None and math.isfinite(float(peak)):
        refs.append({"line": f"DRAM peak {float(peak):.1f} GB/s", "gbs": float(peak), "color": "#e15759"})
    avg = s.get("dram_bandwidth_gbs")
    if avg is not None and math.isfinite(float(avg)):
        refs.append({"line": f"average {float(avg):.1f} GB/s", "gbs": float(avg), "color": "#555555"})
    spans = pd.DataFrame(
        [(a / clock_mhz * per_us, b / clock_mhz * per_us, p) for a, b, p in engine_strip(result.ops)],
        columns=["start", "end", "pass"],
    )
    return bins, pd.DataFrame(refs, columns=["line", "gbs", "color"]), spans, unit


def energy_modelled(result: Any) -> bool:
    """True when the run has a finite energy for the run and every op (the energy model ran)."""
    e = result.summary.get("energy_j")
    ops = result.ops
    return (
        e is not None
        and math.isfinite(float(e))
        and "energy_j" in ops.columns
        and bool(ops["energy_j"].notna().all())
    )


def _energy_of(run: Any) -> bool:
    return run is not None and energy_modelled(run)


def per_pass_sparse_dense(result: Any) -> pd.DataFrame | None:
    """One row per pass: the summed op cycles of the run and of its dense baseline and their ratio; the
    energy of both and their ratio when both have one. None without a baseline."""
    if result.baseline is None:
        return None
    a, b = result.ops, result.baseline.ops
    passes = list(dict.fromkeys([*passes_present(a), *passes_present(b)]))
    out = pd.DataFrame(index=pd.Index(passes, name="pass"))
    out["sparse_cycles"] = a.groupby(a["pass"].astype(str))["cycles"].sum().reindex(passes, fill_value=0)
    out["dense_cycles"] = b.groupby(b["pass"].astype(str))["cycles"].sum().reindex(passes, fill_value=0)
    out["speedup"] = out["dense_cycles"] / out["sparse_cycles"].where(out["sparse_cycles"] > 0)
    if _energy_of(result) and _energy_of(result.baseline):
        out["sparse_energy_j"] = (
            a.groupby(a["pass"].astype(str))["energy_j"].sum().reindex(passes, fill_value=0.0)
        )
        out["dense_energy_j"] = (
            b.groupby(b["pass"].astype(str))["energy_j"].sum().reindex(passes, fill_value=0.0)
        )
        out["energy_gain"] = out["dense_energy_j"] / out["sparse_energy_j"].where(out["sparse_energy_j"] > 0)
    return out.reset_index()


def long_runs(frame: pd.DataFrame, value: str, key: str = "pass") -> pd.DataFrame:
    """(key, run, value) from the columns sparse_<value> and dense_<value> of a side-by-side frame."""
    rows = []
    for rec in frame.to_dict("records"):
        for run, col in zip(RUNS, (f"sparse_{value}", f"dense_{value}")):
            if col in rec and rec[col] is not None and not pd.isna(rec[col]):
                rows.append({key: str(rec[key]), "run": run, value: float(rec[col])})
    return pd.DataFrame(rows, columns=[key, "run", value])


def energy_by_group(result: Any) -> pd.DataFrame | None:
    """The op energy summed by pass (by op kind when the run has one pass), plus the static energy as its own
    row: columns (pass or kind, sparse_energy_j, dense_energy_j, share of the run). None without energy."""
    if not energy_modelled(result):
        return None
    ops = result.ops
    group = "pass" if len(passes_present(ops)) > 1 else "kind"
    order = passes_present(ops) if group == "pass" else list(dict.fromkeys(ops["kind"].astype(str)))
    dense = result.baseline if _energy_of(result.baseline) else None
    if dense is not None:
        order += [g for g in dict.fromkeys(dense.ops[group].astype(str)) if g not in order]
    out = pd.DataFrame(index=pd.Index(order, name=group))
    out["sparse_energy_j"] = (
        ops.groupby(ops[group].astype(str))["energy_j"].sum().reindex(order, fill_value=0.0)
    )
    static = {"sparse_energy_j": float(result.summary.get("static_energy_j") or 0.0)}
    if dense is not None:
        b = dense.ops
        out["dense_energy_j"] = (
            b.groupby(b[group].astype(str))["energy_j"].sum().reindex(order, fill_value=0.0)
        )
        static["dense_energy_j"] = float(dense.summary.get("static_energy_j") or 0.0)
    out.loc["static"] = static
    out["share"] = out["sparse_energy_j"] / float(result.summary["energy_j"])
    return out.reset_index()


def energy_by_component(result: Any) -> pd.DataFrame | None:
    """The summary's energy_breakdown (compute, onchip, dram, static, ...) of the run and its dense baseline:
    columns (component, sparse_energy_j, dense_energy_j, share of the run). None without energy."""
    mine = result.summary.get("energy_breakdown")
    if not energy_modelled(result) or not mine:
        return None
    out = pd.DataFrame(index=pd.Index([str(k) for k in mine], name="component"))
    out["sparse_energy_j"] = [float(v) for v in mine.values()]
    theirs = result.baseline.summary.get("energy_breakdown") if _energy_of(result.baseline) else None
    if theirs:
        extra = [str(k) for k in theirs if str(k) not in out.index]
        out = out.reindex([*out.index, *extra], fill_value=0.0)
        out["dense_energy_j"] = [float(theirs.get(k, 0.0)) for k in out.index]
    out["share"] = out["sparse_energy_j"] / float(result.summary["energy_j"])
    return out.reset_index()


SENSITIVITY_COLUMNS = (
    "parameter",
    "source",
    "low",
    "high",
    "baseline",
    "total_cycles_low",
    "total_cycles_high",
    "speedup_low",
    "speedup_high",
    "energy_j_low",
    "energy_j_high",
)


def sensitivity_table(result: Any) -> pd.DataFrame | None:
    """The summary's `sensitivity` rows (one per uncertain parameter) with the swings of total cycles and
    energy, sorted by the cycles swing; None when the run did not vary its parameters."""
    rows = result.summary.get("sensitivity")
    if not rows:
        return None
    frame = pd.DataFrame(list(rows))
    frame = frame[[c for c in SENSITIVITY_COLUMNS if c in frame.columns]]
    frame["cycles_swing"] = (frame["total_cycles_high"] - frame["total_cycles_low"]).abs()
    if {"energy_j_low", "energy_j_high"} <= set(frame.columns):
        frame["energy_swing_j"] = (frame["energy_j_high"] - frame["energy_j_low"]).abs()
    return frame.sort_values("cycles_swing", ascending=False, kind="stable").reset_index(drop=True)


def sensitivity_view(result: Any) -> dict[str, pd.DataFrame] | None:
    """Tornado frames: for total_cycles (and energy_j when every row has finite energies and so does the
    run), one row per parameter and end of its range: the value there, the run's value, the swing."""
    table = sensitivity_table(result)
    if table is None:
        return None
    s = result.summary
    out = {}
    for value, swing, run_value in (
        ("total_cycles", "cycles_swing", s.get("total_cycles")),
        ("energy_j", "energy_swing_j", s.get("energy_j")),
    ):
        cols = [f"{value}_low", f"{value}_high"]
        if not set(cols) <= set(table.columns) or run_value is None or not math.isfinite(float(run_value)):
            continue
        if not np.isfinite(table[cols].to_numpy(dtype=float)).all():
            continue
        rows = []
        for rec in table.to_dict("records"):
            for end in ("low", "high"):
                rows.append(
                    {
                        "parameter": str(rec["parameter"]),
                        "source": str(rec.get("source", "")),
                        "end": f"{end} end of the range",
                        "parameter_value": rec.get(end),
                        value: float(rec[f"{value}_{end}"]),
                        "run_value": float(run_value),
                        "swing": float(rec[swing]),
                    }
                )
        out[value] = pd.DataFrame(rows)
    return out or None


def pareto_front(xs: list[float], ys: list[float]) -> list[int]:
    """Indices of the points no other point beats on both axes (lower x and lower y are better), by x."""
    order = sorted(
        (i for i in range(len(xs)) if math.isfinite(xs[i]) and math.isfinite(ys[i])),
        key=lambda i: (xs[i], ys[i]),
    )
    front: list[int] = []
    best = math.inf
    for i in order:
        if ys[i] < best:
            front.append(i)
            best = ys[i]
    return front
