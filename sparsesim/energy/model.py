"""Energy of a run: counts x energy per action (Accelergy style), per op and per component.

`sat_energy(sim, table)` and `mobile_energy(ops, summary, soc)` return an `EnergyReport`: the energy of every
op (its dynamic actions), the run-level energy drawn over time (device static power, DRAM background, the
clock tree on every flip-flop each cycle: `static_j`), the totals per component and per action. By
construction `sum(op_j) + static_j == energy_j` (tests check it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..summary import EnergySummary
from .actions import engine_idle_cycles, mobile_op_counts, sat_op_counts
from .tables import EnergyTable, asic_table, fpga_table, mobile_table

COMPONENTS = ("compute", "onchip", "dram", "static")


@dataclass
class EnergyReport:
    table: EnergyTable
    op_j: list[float]  # per op, in the order of the ops table
    static_j: float
    seconds: float
    counts: dict[str, float]  # action -> total count over the run (power actions: seconds)
    by_action_j: dict[str, float]
    by_component_j: dict[str, float]
    useful_flops: float
    idle_cycles: dict[str, float] = field(default_factory=dict)

    @property
    def energy_j(self) -> float:
        return float(sum(self.op_j) + self.static_j)

    @property
    def dynamic_energy_j(self) -> float:
        """The energy of the ops' actions alone: without device static power, DRAM background and clock
        tree, i.e. the part that rests on the cited per-action coefficients only."""
        return float(sum(self.op_j))

    def summary(self) -> EnergySummary:
        e, dyn = self.energy_j, self.dynamic_energy_j
        return {
            "energy_j": e,
            "avg_power_w": e / self.seconds if self.seconds else float("nan"),
            "gflops_per_w": self.useful_flops / e / 1e9 if e else float("nan"),
            "energy_breakdown": dict(self.by_component_j),
            "static_energy_j": self.static_j,
            "dynamic_energy_j": dyn,
            "dynamic_gflops_per_w": self.useful_flops / dyn / 1e9 if dyn else float("nan"),
            "energy_model": self.table.description,
            "energy_by_action_j": dict(self.by_action_j),
        }

    def action_rows(self) -> list[dict[str, Any]]:
        """One row per action: energy per action, count, energy, component, source."""
        rows = []
        for a, c in self.table.actions.items():
            rows.append(
                {"action": a, "component": self.table.components[a], "energy_per_action": c.value,
                 "unit": "J" if c.unit == "J" else "W", "count": self.counts.get(a, 0.0),
                 "energy_j": self.by_action_j.get(a, 0.0), "source": str(c.source),
                 "derivation": c.derivation, "plausible": list(c.plausible) if c.plausible else None}
            )  # fmt: skip
        return rows


def _accumulate(per_op: list[Mapping[str, float]], table: EnergyTable) -> tuple[list[float], dict, dict]:
    op_j, totals, by_action = [], {}, {}
    for counts in per_op:
        e = 0.0
        for a, n in counts.items():
            ea = n * table.energy(a)
            e += ea
            totals[a] = totals.get(a, 0.0) + n
            by_action[a] = by_action.get(a, 0.0) + ea
        op_j.append(e)
    return op_j, totals, by_action


def sat_table_for(arch: Any, technology_nm: float | None, *, static_power_w: float | None = None,
                  clock_energy_fj_per_ff: float | None = None,
                  accumulator: str | None = None) -> EnergyTable:  # fmt: skip
    """The XCVU9P table, or the ASIC projection at `technology_nm`; the two time-proportional estimates
    (device static power, clock energy per flip-flop) replaced when given; `accumulator` the PE design
    (default the preset's: exact accumulation for FP16)."""
    user = {"static_power_w": static_power_w, "clock_energy_fj_per_ff": clock_energy_fj_per_ff,
            "accumulator": accumulator}  # fmt: skip
    if technology_nm is None:
        return fpga_table(arch, **user)
    return asic_table(arch, float(technology_nm), **user)


# The `accelerator` fields that pick or adjust the energy table rather than the architecture.
ACCELERATOR_ENERGY_FIELDS = ("technology", "static_power_w", "clock_energy_fj_per_ff")


def table_for_accelerator(arch: Any, accel: Any) -> EnergyTable:
    """The table a workload's `accelerator` section asks for (technology, static_power_w,
    clock_energy_fj_per_ff)."""
    return sat_table_for(
        arch, accel.technology, static_power_w=getattr(accel, "static_power_w", None),
        clock_energy_fj_per_ff=getattr(accel, "clock_energy_fj_per_ff", None),
    )  # fmt: skip


def sat_energy(sim: Any, table: EnergyTable) -> EnergyReport:
    """Energy of one simulated OpGraph (`sparsesim.sat.simulate.SimResult`)."""
    s, arch = sim.schedule, sim.arch
    acc = table.resources.get("accumulator")
    per_op = [sat_op_counts(s.ops[name], s.plans[name], arch, acc) for name in sim.ops["op"]]
    op_j, counts, by_action = _accumulate(per_op, table)
    total_cycles = float(sim.summary["total_cycles"])
    seconds = float(sim.summary["seconds_simulated"])
    static_j = 0.0
    ffs = float(table.resources["flip_flops"])
    counts["clock_ff_cycle"] = ffs * total_cycles
    by_action["clock_ff_cycle"] = counts["clock_ff_cycle"] * table.energy("clock_ff_cycle")
    for a in ("device_static", "dram_background"):
        counts[a] = seconds
        by_action[a] = seconds * table.energy(a)
    static_j = by_action["clock_ff_cycle"] + by_action["device_static"] + by_action["dram_background"]
    comp = dict.fromkeys(COMPONENTS, 0.0)
    for a, e in by_action.items():
        comp[table.components[a]] += e
    useful = 2.0 * float(sim.summary["useful_macs"])
    idle = engine_idle_cycles(sim.ops.to_dict("records"), total_cycles)
    return EnergyReport(table, op_j, static_j, seconds, counts, by_action, comp, useful, idle)


def annotate(ops: Any, report: EnergyReport) -> None:
    """Fill the ops table's energy_j column (in place)."""
    ops["energy_j"] = np.asarray(report.op_j, dtype=float)


def mobile_energy(ops: Any, summary: Mapping[str, Any], soc: Any) -> EnergyReport:
    """Energy of a mobile run from its per-op table, plus the DRAM's background power over the run (the
    SoC's own static and idle power is not modelled)."""
    table = mobile_table(soc)
    per_op = [mobile_op_counts(r) for r in ops.to_dict("records")]
    op_j, counts, by_action = _accumulate(per_op, table)
    seconds = float(summary.get("seconds_simulated", 0.0))
    counts["dram_background"] = seconds
    by_action["dram_background"] = seconds * table.energy("dram_background")
    static_j = by_action["dram_background"]
    comp = dict.fromkeys(COMPONENTS, 0.0)
    for a, e in by_action.items():
        comp[table.components[a]] += e
    useful = 2.0 * float(summary.get("useful_macs", 0.0))
    return EnergyReport(table, op_j, static_j, seconds, counts, by_action, comp, useful)


def gain(dense_j: float, sparse_j: float) -> float:
    return dense_j / sparse_j if sparse_j > 0 and math.isfinite(dense_j) else float("nan")
