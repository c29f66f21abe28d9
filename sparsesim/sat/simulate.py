"""Simulate a workload on the SAT-style accelerator and its dense baseline (what `sparsesim run` calls).

    arch = resolve(workload.accelerator)            # sparsesim.sat.arch
    schedule = build_schedule(opgraph, arch, graph)  # sparsesim.sat.schedule (the mapping)
    times = Machine(schedule).run()                  # sparsesim.sat.engines (SimPy)
    -> per-op table (results.OPS_COLUMNS + stall_* columns) and a summary

`simulate_ops` runs one OpGraph; `run_workload` runs the workload, its dense baseline (same model and
accelerator, sparsity dense) and, with `ablate`, the workload with each dataflow optimisation off in turn.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import front_cache
from ..energy.model import annotate, sat_energy, table_for_accelerator
from ..energy.model import gain as energy_gain
from ..energy.tables import EnergyTable
from ..graph.lower import GemmOp, OpGraph, PruneOp, UpdateOp, VectorOp
from ..pipeline import Prepared, Progress, _silent
from ..results import OPS_COLUMNS, RunResult
from ..summary import Summary
from . import timing
from .arch import SatArch, check_workload_sparsity, resolve
from .engines import Machine, OpTimes
from .schedule import MappingCache, Schedule, build_schedule, mapping_cache

if TYPE_CHECKING:
    from ..spec import Workload

STALL_COLUMNS: dict[str, str] = {
    "stall_pipeline": "array pipeline fill/drain and weight-load bubbles (timing contract), incl. the drain "
    "before the next op, which may switch dataflow or N:M mode",
    "stall_accumulate": "OS beats waiting for the FP adder (interleave mapping off)",
    "stall_onchip": "waiting for on-chip buffer ports, bank conflicts, the address generator, partial-sum "
    "read-modify-write, or the vector/update engines' ports (sparsesim.sat.onchip)",
    "stall_weights_not_ready": "GEMM waiting for the SORE to generate its N:M weights (pre-generation off)",
    "stall_dram_contention": "DRAM slowed by other engines' concurrent traffic (beyond memory_cycles)",
}
EXTRA_COLUMNS: dict[str, str] = {
    "dataflow": "GEMMs: ws or os",
    "transposed": "GEMMs: ran as C^T = B^T A^T (dense only)",
    "order": "GEMMs: loop order over on-chip blocks (a_resident, b_resident, c_resident)",
    "block": "GEMMs: on-chip block Mb x Nb x Kb (dims as run)",
    "tiles": "GEMMs: array tiles",
    "array_cycles": "GEMMs: the array's cycles for the tile sequence alone (timing contract)",
    "note": "anything unusual (e.g. an N:M layer run dense)",
}
OPTIMISATIONS = ("interleave", "pregenerate", "offline_schedule")
# What the SAT-style array can exploit: N:M along the reduction (its PEs pick N of every M activations).
# Group, block and unstructured masks have no N:M structure for it to skip, so a run would be a dense run in
# disguise: they are refused (run them on target mobile, whose kernels use them) rather than lowered.


@dataclass
class SimResult:
    """One simulated iteration (or inference) of one OpGraph."""

    arch: SatArch
    schedule: Schedule
    times: dict[str, OpTimes]
    ops: pd.DataFrame
    summary: Summary
    timeline: pd.DataFrame | None
    wall_seconds: float
    energy: Any = None  # sparsesim.energy.model.EnergyReport, once computed

    @property
    def total_cycles(self) -> int:
        return int(self.summary["total_cycles"])


# ------------------------------------------------------------------------------------------------ one run
def simulate_ops(
    ops: OpGraph,
    arch: SatArch,
    *,
    graph: Any = None,
    record_timeline: bool = False,
    progress: Progress | None = None,
    label: str = "simulating",
    mappings: MappingCache | None = None,
) -> SimResult:
    """Schedule and simulate one OpGraph on `arch`. `graph` (the LayerGraph) gives raw tensor sizes;
    `progress(label, done=, total=)` follows the ops as they complete; `mappings`: GEMM mappings already
    made on `arch` (sat.schedule.MappingCache)."""
    t0 = time.perf_counter()
    schedule = build_schedule(ops, arch, graph, cache=mappings)
    feed = None if progress is None else (lambda done, total: progress(label, done=done, total=total))
    machine = Machine(schedule, record_timeline=record_timeline, on_op_done=feed)
    times = machine.run()
    rows = _op_rows(schedule, times, arch)
    summary = _summary(schedule, rows, arch)
    table = pd.DataFrame(rows, columns=list(OPS_COLUMNS) + list(STALL_COLUMNS) + list(EXTRA_COLUMNS))
    timeline = None
    if machine.timeline is not None:
        timeline = pd.DataFrame(machine.timeline, columns=["cycle", "dram_bytes_per_cycle", "dram_flows"])
    return SimResult(arch, schedule, times, table, summary, timeline, time.perf_counter() - t0)


def _int_split(total: int, fixed: dict[str, int], floats: dict[str, float]) -> dict[str, int]:
    """Round `floats` to integers that, with `fixed`, sum exactly to `total` (largest remainder)."""
    target = total - sum(fixed.values())
    vals = {k: max(0.0, v) for k, v in floats.items()}
    scale = sum(vals.values())
    if target <= 0 or scale <= 0:
        out = dict.fromkeys(floats, 0)
        if floats and target > 0:
            out[next(iter(floats))] = target
        return out
    want = {k: v * target / scale for k, v in vals.items()}
    out = {k: math.floor(v) for k, v in want.items()}
    for k in sorted(want, key=lambda k: want[k] - out[k], reverse=True)[: target - sum(out.values())]:
        out[k] += 1
    return out


def _op_rows(schedule: Schedule, times: dict[str, OpTimes], arch: SatArch) -> list[dict[str, Any]]:
    bw, lat = arch.dram_bytes_per_cycle, arch.dram_latency_cycles
    peak = arch.peak_macs_per_cycle
    rows = []
    for name in schedule.order:
        op = schedule.ops[name]
        plan = schedule.plans[name]
        t = times[name]
        start, end = round(t.start), round(t.end)
        if plan.fused_into:
            mem, stalls = 0, dict.fromkeys(STALL_COLUMNS, 0)
            work = 0
        else:
            busy = plan.busy_cycles
            mem_f = (
                lat + plan.prologue_stage_cycles + plan.prologue_bytes / bw
                + max(plan.steady_floor_cycles, plan.steady_bytes / bw) - busy
                + lat + plan.epilogue_stage_cycles + plan.epilogue_bytes / bw
            )  # fmt: skip
            contention_f = (t.end - t.start) - busy - mem_f - t.weights_wait
            fixed = {
                "work": plan.work_cycles,
                "stall_pipeline": plan.pipeline_cycles,
                "stall_accumulate": plan.accumulate_cycles,
                "stall_onchip": plan.onchip_cycles,
            }
            parts = _int_split(
                end - start,
                fixed,
                {
                    "memory": mem_f,
                    "stall_weights_not_ready": t.weights_wait,
                    "stall_dram_contention": contention_f,
                },
            )
            work, mem = plan.work_cycles, parts["memory"]
            stalls = {
                "stall_pipeline": plan.pipeline_cycles,
                "stall_accumulate": plan.accumulate_cycles,
                "stall_onchip": plan.onchip_cycles,
                "stall_weights_not_ready": parts["stall_weights_not_ready"],
                "stall_dram_contention": parts["stall_dram_contention"],
            }
        cycles = end - start
        g = plan.gemm
        rec: dict[str, Any] = {
            "op": name,
            "layer": op.layer,
            "pass": op.pass_,
            "kind": op.kind,
            "engine": plan.engine,
            "mode": plan.mode,
            "m": 0, "n": 0, "k": 0, "repeat": 1,
            "elements": 0,
            "macs": 0,
            "density": 1.0,
            "start_cycle": start,
            "end_cycle": end,
            "cycles": cycles,
            "compute_cycles": work,
            "memory_cycles": mem,
            "stall_cycles": sum(stalls.values()),
            "dram_bytes": plan.dram_bytes,
            "utilisation": np.nan,
            "energy_j": np.nan,
            **stalls,
            "dataflow": None, "transposed": None, "order": None, "block": None, "tiles": 0,
            "array_cycles": 0, "note": "",
        }  # fmt: skip
        if isinstance(op, GemmOp):
            rec.update(
                m=op.m, n=op.n, k=op.k, repeat=op.repeat, elements=op.m * op.n * op.repeat, macs=op.macs,
                density=op.density,
                utilisation=op.useful_macs / (cycles * peak) if cycles else np.nan,
            )  # fmt: skip
            if g is not None:
                rec.update(
                    dataflow=g.dataflow, transposed=g.transposed, order=g.order,
                    block="x".join(str(v) for v in g.block), tiles=g.tiles, array_cycles=g.array_cycles,
                    note=g.note,
                )  # fmt: skip
        elif isinstance(op, VectorOp):
            rec["elements"] = op.elements
        elif isinstance(op, UpdateOp):
            rec["elements"] = op.params
        elif isinstance(op, PruneOp):
            rec["elements"] = op.elements
            rec["density"] = op.n / op.m
        rows.append(rec)
    return rows


def _summary(schedule: Schedule, rows: list[dict[str, Any]], arch: SatArch) -> Summary:
    total = max((r["end_cycle"] for r in rows), default=0)
    seconds = total / (arch.clock_mhz * 1e6)
    gemms = [r for r in rows if r["kind"] == "gemm"]
    useful = float(sum(r["macs"] * r["density"] for r in gemms))
    macs = float(sum(r["macs"] for r in gemms))
    dram = float(sum(r["dram_bytes"] for r in rows))
    per_pass: dict[str, int] = {}
    engine_busy = dict.fromkeys(("pe_array", "vector", "wu_engine", "sorter"), 0)
    causes = dict.fromkeys(("memory", *STALL_COLUMNS), 0)
    for r in rows:
        per_pass[r["pass"]] = per_pass.get(r["pass"], 0) + r["cycles"]
        engine_busy[r["engine"]] += (
            r["compute_cycles"] + r["stall_pipeline"] + r["stall_accumulate"] + r["stall_onchip"]
        )
        causes["memory"] += r["memory_cycles"]
        for c in STALL_COLUMNS:
            causes[c] += r[c]
    per_pass = {p: per_pass[p] for p in ("FF", "BP", "WU", "UPD", "GEN") if p in per_pass}
    return {
        "total_cycles": total,
        "seconds_simulated": seconds,
        "clock_mhz": arch.clock_mhz,
        "cycles_per_pass": per_pass,
        "utilisation": useful / (total * arch.peak_macs_per_cycle) if total else 0.0,
        "dram_bytes": dram,
        "dram_bandwidth_gbs": dram / seconds / 1e9 if seconds else 0.0,
        "effective_tflops": 2 * useful / seconds / 1e12 if seconds else 0.0,
        "dense_equivalent_tflops": 2 * macs / seconds / 1e12 if seconds else 0.0,
        "macs": macs,
        "useful_macs": useful,
        "stall_cycles_by_cause": causes,
        "engine_busy_cycles": engine_busy,
        "engine_utilisation": {e: (b / total if total else 0.0) for e, b in engine_busy.items()},
        "array_bound_cycles": _array_bound_cycles(schedule, arch),
    }


def _array_bound_cycles(schedule: Schedule, arch: SatArch) -> float:
    """Cycles of the GEMMs alone at full array throughput (E reduction elements per PE per cycle)."""
    total = 0.0
    for plan in schedule.plans.values():
        g = plan.gemm
        if g is not None:
            e = timing.elements_per_cycle(arch.array, g.mode)
            total += g.repeat * g.m * g.n * g.k / (arch.rows * arch.cols * e)
    return total


# ------------------------------------------------------------------------------------------------ energy
def energy_table(wl: Workload, arch: SatArch) -> EnergyTable:
    """The energy table of the workload's accelerator: the XCVU9P, or an ASIC at `accelerator.technology`."""
    return table_for_accelerator(arch, wl.accelerator)


def _energy(wl: Workload, arch: SatArch, sim: SimResult, base: SimResult | None) -> Summary:
    """Fill energy_j of the run's (and the baseline's) ops table; the summary's energy keys."""
    table = energy_table(wl, arch)
    rep = sat_energy(sim, table)
    annotate(sim.ops, rep)
    brep = rep
    if base is not None:
        brep = sat_energy(base, table)
        annotate(base.ops, brep)
        base.summary.update(brep.summary())
    sim.summary.update(rep.summary())
    sim.energy = rep
    return {
        **rep.summary(),
        "dense_energy_j": brep.energy_j,
        "energy_gain": energy_gain(brep.energy_j, rep.energy_j),
        "engine_idle_cycles": rep.idle_cycles,
    }


# -------------------------------------------------------------------------------------------- a workload
def ideal_speedup(pattern: str, n: int | None, m: int | None, mode: str) -> tuple[float, str]:
    """The textbook speedup of N:M (summary `nm_formula_speedup`): every layer sparse, FF, BP and WU GEMMs
    equally costly when dense, and an array that runs N:M at M/N times its dense rate. Not a bound of a run:
    layers kept dense and the array's own N:M rate (`elements_per_cycle`) are left out; `run_workload`'s
    `ideal_speedup` includes both."""
    if pattern not in ("nm", "bdwp") or not n or not m:
        return 1.0, "1 (dense)"
    if mode == "infer":
        return m / n, "M/N (inference: FF only)"
    if pattern == "bdwp":
        return 3 / (2 * n / m + 1), "3/(2N/M+1) (BDWP: FF and BP sparse, WU dense)"
    return 3 / (n / m + 2), "3/(N/M+2) (FF sparse, BP and WU dense)"


def dense_layers_note(records: list[dict[str, Any]], limit: int = 8) -> str:
    """'kept dense: conv1 (first weight layer), fc (last weight layer)': the weight layers a sparse run left
    dense and why (from sparsesim.sparsity's per-layer records), at most `limit` names per reason."""
    by_reason: dict[str, list[str]] = {}
    for r in records:
        if r.get("pattern") == "dense":
            by_reason.setdefault(str(r.get("dense_reason") or "not selected"), []).append(str(r["layer"]))
    if not by_reason:
        return ""
    parts = []
    for reason, layers in by_reason.items():
        more = f" and {len(layers) - limit} more" if len(layers) > limit else ""
        names = ", ".join(layers[:limit]) + more
        parts.append(f"{names} ({reason})")
    total = sum(len(v) for v in by_reason.values())
    return f"{total} weight layer(s) kept dense, run at the dense rate: " + "; ".join(parts)


def dense_opgraph(prepared: Any) -> OpGraph:
    """The dense baseline's OpGraph from an already traced workload: equal to `prepare(wl, dense=True).ops`
    (tests check it) without tracing the model a second time."""
    from ..graph.lower import lower
    from ..pipeline import lowering_args

    return lower(prepared.graph, sparsity=None, **lowering_args(prepared.workload))


def _sensitivity(
    wl: Any, arch: SatArch, prepared: Any, dense_ops: OpGraph | None, summary: dict[str, Any], say: Progress
) -> list[dict[str, Any]]:
    """One-at-a-time study over the preset's uncertain parameters on the already prepared workload."""
    import dataclasses

    from ..sensitivity import Outcome, run_sensitivity, uncertain_from

    values = {f.name: getattr(arch, f.name) for f in dataclasses.fields(arch) if f.name != "sources"}

    def evaluate(name: str, value: float | int) -> Outcome:
        varied = dataclasses.replace(arch, **{name: value})
        sim = simulate_ops(prepared.ops, varied, graph=prepared.graph)
        base = sim if dense_ops is None else simulate_ops(dense_ops, varied, graph=prepared.graph)
        energy = sat_energy(sim, energy_table(wl, varied)).energy_j
        return Outcome(sim.total_cycles, base.total_cycles / sim.total_cycles, energy)

    baseline = Outcome(int(summary["total_cycles"]), float(summary["speedup"]), float(summary["energy_j"]))
    return run_sensitivity(uncertain_from(values, arch.sources), evaluate, baseline, say)


def run_workload(
    wl: Workload,
    *,
    progress: Progress | None = None,
    ablate: bool = False,
    sensitivity: bool = False,
    prepared: Prepared | None = None,
    dense: SimResult | None = None,
    gemm_memo: dict[str, MappingCache] | None = None,
    cache: bool | None = None,
) -> RunResult:
    """Simulate `wl` and its dense baseline; with `ablate`, also with each optimisation off in turn; with
    `sensitivity`, also with each uncertain preset parameter at the ends of its range (summary key
    `sensitivity`, sparsesim.sensitivity). `prepared`: the workload's front end when the caller already has
    it (the co-design search composes it from masks computed once per layer and choice); else built here.
    `dense`: the dense baseline's simulation of this workload on this array when the caller already has it
    (it depends on the model and the array only, so a search reuses it across N:M choices). `gemm_memo`:
    GEMM mappings kept across runs of the same model, per array (sat.schedule.mapping_cache). `cache`: the
    front-end cache (sparsesim.front_cache; None: on unless $SPARSESIM_NO_CACHE is set); the simulation
    reads the front end's shapes and densities only, which a cache entry holds without torch. With it, the
    GEMM mappings earlier runs made on this array are reused and the new ones stored (sat.stored_mappings)."""
    from ..pipeline import prepare

    say = progress or _silent
    t_start = time.perf_counter()
    arch = resolve(wl.accelerator)
    check_workload_sparsity(wl, arch)
    if prepared is None:
        prepared = prepare(wl, progress=progress, cache=cache)
    front_end = time.perf_counter() - t_start

    label = f"simulating {prepared.ops.number_of_nodes()} ops on a {arch.rows}x{arch.cols} array"
    mappings = mapping_cache(gemm_memo, arch)  # the run and its dense baseline share dense GEMMs' mappings
    stored = None
    if gemm_memo is None and front_cache.enabled(cache):  # a search keeps its own (gemm_memo)
        from .stored_mappings import Stored

        stored = Stored(mappings)  # the mappings earlier runs made on this array
    sim = simulate_ops(
        prepared.ops, arch, graph=prepared.graph, record_timeline=True, progress=say, label=label,
        mappings=mappings,
    )  # fmt: skip
    sparse = wl.sparsity.pattern != "dense"
    dense_ops = dense_opgraph(prepared) if sparse and (dense is None or sensitivity) else None
    if sparse and dense is not None:
        base = dense
    elif dense_ops is not None:
        base = simulate_ops(
            dense_ops, arch, graph=prepared.graph, progress=say, label="dense baseline", mappings=mappings
        )
    else:
        base = sim
    if stored is not None:
        stored.save()
    mode = wl.task.mode or "train"
    textbook, formula = ideal_speedup(wl.sparsity.pattern, wl.sparsity.n, wl.sparsity.m, mode)
    bound_sparse = sim.summary["array_bound_cycles"]
    ideal = base.summary["array_bound_cycles"] / bound_sparse if bound_sparse else 1.0
    kept_dense = dense_layers_note(prepared.prune.to_records()) if sparse else ""
    summary: Summary = {
        "model": wl.model.name,
        "task": mode,
        "batch_size": wl.task.batch_size,
        "pattern": wl.sparsity.pattern,
        "nm": f"{wl.sparsity.n}:{wl.sparsity.m}" if wl.sparsity.pattern in ("nm", "bdwp") else None,
        **sim.summary,
        "dense_total_cycles": base.total_cycles,
        "speedup": base.total_cycles / sim.total_cycles if sim.total_cycles else float("nan"),
        # The bound: every GEMM at the array's full rate in the mode it runs (N:M layers at M reduction
        # elements per PE per beat, layers kept dense at P), everything else free.
        "ideal_speedup": ideal,
        "ideal_speedup_formula": "GEMMs at full array rate, layers kept dense included"
        + (f"; {formula} = {textbook:.3f}x if every layer were sparse" if sparse else ""),
        "nm_formula_speedup": textbook,
        "array_bound_speedup": ideal,
        "note": kept_dense,
    }
    summary.update(_energy(wl, arch, sim, base if sparse else None))
    if mode == "infer":
        summary["latency_ms"] = sim.summary["seconds_simulated"] * 1e3
        summary["dense_latency_ms"] = base.summary["seconds_simulated"] * 1e3
    if ablate:
        ablation, ablation_cycles, ablation_energy = {}, {}, {}
        for name in OPTIMISATIONS:
            off = simulate_ops(
                prepared.ops, arch.with_optimisations(**{name: False}), graph=prepared.graph,
                progress=say, label=f"ablation: {name} off",
            )
            ablation[name] = base.total_cycles / off.total_cycles
            ablation_cycles[name] = off.total_cycles
            ablation_energy[name] = sat_energy(off, energy_table(wl, arch)).energy_j
        summary["ablation"] = ablation
        summary["ablation_total_cycles"] = ablation_cycles
        summary["ablation_energy_j"] = ablation_energy
        summary["ablation_baseline"] = "dense baseline with every optimisation on"
    if sensitivity:
        summary["sensitivity"] = _sensitivity(wl, arch, prepared, dense_ops, summary, say)
    summary["arch"] = arch.to_dict()
    summary["front_end_wall_seconds"] = front_end
    summary["simulation_wall_seconds"] = sim.wall_seconds
    summary["dense_simulation_wall_seconds"] = base.wall_seconds if sparse and dense is None else 0.0
    summary["wall_seconds"] = time.perf_counter() - t_start

    baseline = RunResult(
        name=f"{wl.resolved_name()} (dense baseline)", target="sat", summary=base.summary, ops=base.ops
    )
    return RunResult(
        name=wl.resolved_name(),
        target="sat",
        summary=summary,
        ops=sim.ops,
        timeline=sim.timeline,
        baseline=baseline,
        prepared=prepared,
        extras={
            "arch_table": arch.table(),
            "columns": {**OPS_COLUMNS, **STALL_COLUMNS, **EXTRA_COLUMNS},
            "energy_actions": sim.energy.action_rows(),
        },
    )
