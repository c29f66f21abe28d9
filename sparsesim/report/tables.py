"""Views of a RunResult for the reports: per-layer aggregates of the per-op table, the DRAM timeline in time
bins, the PE array's activity. Pure reads (sums, weighted means, bins) of what the simulator recorded; nothing
here models hardware.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

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
