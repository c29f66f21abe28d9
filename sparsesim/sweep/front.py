"""The results: sweep.csv (one row per point: axis values, cost columns and the flattened summary) and the
Pareto front with its plot (sparsesim.report.sweep_report)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import atomic_write_text
from .points import Point, Sweep, _display, describe
from .spec import FLATTEN


@dataclass
class SweepOutcome:
    sweep: Sweep
    points: list[Point]
    records: dict[int, dict[str, Any]]  # point index -> record (cached or new; absent for skipped points)
    table: pd.DataFrame
    front: list[int]  # point indices on the Pareto front
    pareto_axes: tuple[str, str]
    ran: int
    cached: int
    workers: int
    wall_seconds: float
    files: list[Path]
    notes: list[str]


def flat_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """Scalar summary values, with the sections in FLATTEN as `section.key` columns."""
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if isinstance(v, dict):
            if k in FLATTEN:
                for kk, vv in v.items():
                    if isinstance(vv, list):
                        vv = " ".join(map(str, vv))
                    if not isinstance(vv, dict):
                        out[f"{k}.{kk}"] = vv
        elif isinstance(v, list):
            if len(v) <= 16 and all(not isinstance(x, dict | list) for x in v):
                out[k] = " ".join(map(str, v))
        else:
            out[k] = v
    return out


def cost_columns(summary: dict[str, Any]) -> dict[str, Any]:
    """pes = rows x cols; dsp = DSP48E2 slices of the PE array (SatArch.array_dsp: one per multiplier; the
    sorter, vector and update lanes are not counted). Empty for targets without an array (mobile)."""
    arch = summary.get("arch") or {}
    if not all(isinstance(arch.get(k), int | float) for k in ("rows", "cols", "dsp")):
        return {}
    return {"pes": int(arch["rows"]) * int(arch["cols"]), "dsp": int(arch["dsp"])}


def build_table(sweep: Sweep, points: list[Point], records: dict[int, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for p in points:
        rec = records.get(p.index)
        row: dict[str, Any] = {"point": p.index, "hash": p.key or ""}
        if rec is None:
            row.update(status="skipped", error=p.error or "")
        else:
            row.update(status=rec.get("status", ""), error=rec.get("error") or "")
        row.update({path: _display(v) for path, v in p.values.items()})
        summary = (rec or {}).get("summary") or {}
        row.update(cost_columns(summary))
        row.update(flat_metrics(summary))
        rows.append(row)
    return pd.DataFrame(rows)


def finish(
    sweep: Sweep,
    points: list[Point],
    records: dict[int, dict[str, Any]],
    cached: int,
    ran: int,
    workers: int,
    elapsed: float,
) -> SweepOutcome:
    from ..report import sweep_report

    table = build_table(sweep, points, records)
    notes = [f"skipped point {p.index} ({describe(p.values)}): {p.error}" for p in points if p.key is None]
    x, y = sweep.pareto.x or sweep.default_pareto()[0], sweep.pareto.y or sweep.default_pareto()[1]
    sweep.output.mkdir(parents=True, exist_ok=True)
    csv_path = sweep.output / "sweep.csv"
    atomic_write_text(csv_path, table.to_csv(index=False))
    files = [csv_path]
    front: list[int] = []
    missing = [c for c in (x, y) if c not in table.columns]
    if missing:
        notes.append(
            f"pareto: no column {', '.join(repr(m) for m in missing)} in sweep.csv, so no Pareto plot "
            f"(set pareto.x / pareto.y to columns of sweep.csv)"
        )
    else:
        groups = _groups(sweep, points, table)
        front, page, chart = sweep_report.pareto_outputs(sweep, table, x, y, groups)
        for name, text in (("pareto.html", page), ("pareto.svg", chart)):
            atomic_write_text(sweep.output / name, text)
            files.append(sweep.output / name)
    return SweepOutcome(
        sweep, points, records, table, front, (x, y), ran, cached, workers, elapsed, files, notes
    )


def _groups(sweep: Sweep, points: list[Point], table: pd.DataFrame) -> list[str]:
    chosen = sweep.pareto.color
    if chosen and not any(chosen in a.paths or chosen == a.label for a in sweep.axes):
        if chosen in table.columns:
            return [f"{chosen}={v}" for v in table[chosen]]
        return [sweep.name] * len(points)
    return [sweep.color_of(p) for p in points]
