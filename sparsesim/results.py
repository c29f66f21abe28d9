"""The results contract (docs/architecture.md, contract 5): what a run produces, whatever the target.

One tidy DataFrame per run with one row per op (an op belongs to one pass), a summary (a dict typed as
sparsesim.summary.Summary), and optionally a timeline of simulation events (for bandwidth-over-time plots).
Reports and sweeps only read these.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .summary import Summary

if TYPE_CHECKING:
    import networkx as nx

    from .pipeline import Prepared
    from .spec import Workload

# Column -> meaning. Every target fills every column (NaN where a quantity is not modelled).
OPS_COLUMNS: dict[str, str] = {
    "op": "op name, '<layer>:<pass>' (e.g. 'layer1.0.conv1:FF')",
    "layer": "the LayerGraph node the op comes from",
    "pass": "FF (forward), BP (data gradient), WU (weight gradient), UPD (weight update), "
    "GEN (sparse-weight generation)",
    "kind": "gemm, or the vector kind (act, norm, pool, softmax, add, col2im, update, prune, ...)",
    "engine": "unit that ran it (sat: pe_array, vector, wu_engine, sorter; mobile: cpu)",
    "mode": "how it ran: dataflow and N:M mode on sat (e.g. 'ws 2:8'), kernel name on mobile",
    "m": "GEMM rows of C (A rows); 0 for vector ops",
    "n": "GEMM columns of C; 0 for vector ops",
    "k": "GEMM reduction length; 0 for vector ops",
    "repeat": "independent GEMMs of that shape (conv groups, batch x heads); 1 for vector ops",
    "elements": "vector ops: elements processed; GEMMs: elements of C",
    "macs": "dense-equivalent multiply-accumulates",
    "density": "kept fraction of the sparse operand (1.0 dense)",
    "start_cycle": "cycle the op started (sat: on its engine; mobile: cumulative)",
    "end_cycle": "cycle the op finished",
    "cycles": "cycles the op took, = compute_cycles + memory_cycles + stall_cycles",
    "compute_cycles": "cycles its engine computed",
    "memory_cycles": "cycles it waited on DRAM (or caches on mobile)",
    "stall_cycles": "other stall cycles (see the stall_* columns for causes on sat)",
    "dram_bytes": "bytes read from and written to DRAM for this op",
    "utilisation": "useful MACs / (cycles x peak MACs per cycle) for GEMMs; NaN for vector ops",
    "energy_j": "energy of the op's actions in joules (docs/energy_model.md); the run's static energy is "
    "the summary's static_energy_j",
}


@dataclass
class RunResult:
    """One simulated run: `summary` (typed, sparsesim.summary.Summary), `ops` (one row per op, OPS_COLUMNS
    and the target's own columns), `timeline` (sat: DRAM traffic over time), `baseline` (the dense run on the
    same hardware), `prepared` (the front end's graphs: `graph`, `workload`). Jupyter shows it as tables."""

    name: str
    target: str  # sat | mobile
    summary: Summary
    ops: pd.DataFrame
    timeline: pd.DataFrame | None = None
    baseline: RunResult | None = None  # the dense run of the same model and hardware
    extras: dict[str, Any] = field(default_factory=dict)
    prepared: Prepared | None = field(default=None, repr=False)  # the front end's output (pipeline.prepare)

    @property
    def workload(self) -> Workload | None:
        return self.prepared.workload if self.prepared is not None else None

    @property
    def graph(self) -> nx.DiGraph | None:
        """The traced layer graph (sparsesim.graph.layergraph.LayerGraph, a networkx DiGraph)."""
        return self.prepared.graph if self.prepared is not None else None

    @property
    def energy(self) -> pd.DataFrame:
        """One row per energy action: component, energy per action, count, energy_j, source, derivation."""
        return pd.DataFrame(self.extras.get("energy_actions", []))

    def scalars(self) -> pd.Series:
        """The summary's single numbers and strings as a Series (key -> value)."""
        scalars = {k: v for k, v in self.summary.items() if not isinstance(v, dict | list)}
        return pd.Series(scalars, name=self.name, dtype=object)

    def _repr_html_(self) -> str:
        """Jupyter: the summary's scalars, then the first ops."""
        head = f"<b>{self.name}</b> ({self.target}): {len(self.ops)} ops"
        summary = self.scalars().to_frame("value").to_html()
        return f"{head}<br>{summary}<br>first ops:<br>{self.ops.head(10).to_html(index=False)}"

    def check(self) -> None:
        """Raise if the DataFrame breaks the contract (used by tests of every target)."""
        missing = [c for c in OPS_COLUMNS if c not in self.ops.columns]
        if missing:
            raise ValueError(f"ops table lacks columns {missing}")
        total = self.ops["compute_cycles"] + self.ops["memory_cycles"] + self.ops["stall_cycles"]
        bad = (self.ops["cycles"] - total).abs() > 1e-6
        if bad.any():
            raise ValueError(
                f"cycles != compute + memory + stall for ops {list(self.ops.loc[bad, 'op'][:5])}"
            )


def write_outputs(result: RunResult, folder: Path) -> list[Path]:
    """Write ops.csv, summary.json (and the baseline's ops) into `folder` (already created)."""
    written = []
    ops_path = folder / "ops.csv"
    result.ops.to_csv(ops_path, index=False)
    written.append(ops_path)
    if result.baseline is not None:
        base = folder / "baseline_ops.csv"
        result.baseline.ops.to_csv(base, index=False)
        written.append(base)
    if result.timeline is not None:
        tl = folder / "timeline.csv"
        result.timeline.to_csv(tl, index=False)
        written.append(tl)
    summary_path = folder / "summary.json"
    summary_path.write_text(json.dumps(jsonable(result.summary), indent=2) + "\n")
    written.append(summary_path)
    return written


def jsonable(obj: Any) -> Any:
    """Plain JSON types (NaN -> None) for summaries."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj
