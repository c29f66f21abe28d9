"""SLR crossing registers in the RTL array (rtl/array.py PEArray; docs/fpga.md, "Floorplan"): split by the
floorplan (sparsesim.fpga.floorplan.plan -> Floorplan.slr_columns -> ArrayConfig.slr_columns), the array's
tile and sequence cycles equal the simulator's with `slr_latency_cycles` for that many crossings, and the same
array without the registers is off by exactly that latency, so the check can fail. Amaranth's simulator."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from amaranth.back import verilog
from rtl_amsim import run_array
from rtl_plan import Plan, Scoreboard, array_plan, random_sequence, split_tiles
from sparsesim.rtl.array import SparseArray
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga import floorplan
from sparsesim.sat.timing import Mode

pytestmark = pytest.mark.rtl


def split(cfg: ArrayConfig, cell_luts: int, rest_luts: int) -> ArrayConfig:
    """`cfg` split where the floorplan puts its SLR boundaries for a PE cell / rest of that many LUTs (inflated
    so that a small array needs several SLRs)."""
    fp = floorplan.plan(cfg, {"lut": cell_luts, "dsp": 2}, {"lut": rest_luts, "dsp": 0})
    return dataclasses.replace(cfg, slr_columns=fp.slr_columns)


# 2 x 8 in two SLRs, 3 + 5 columns: SLR0 holds (197,040 - 78,816) / 38,000 = 3.1 columns, SLR1 5.2. Short WS
# tiles make the bank scan decide on tokens beyond the boundary (its copy in SLR0, `scan_far`).
TWO = split(ArrayConfig(rows=2, cols=8, multipliers=2, max_m=4, precision="fp16"), 19_000, 78_816)
# 2 x 3 in three SLRs, a column each (120,000 LUTs a column): OS drains started from flags seen ahead.
THREE = split(ArrayConfig(rows=2, cols=3, multipliers=2, max_m=4, precision="fp16"), 60_000, 1_000)


def test_the_floorplan_splits_the_small_arrays():
    assert TWO.slr_columns == (3, 5) and TWO.slr_crossings == 1
    assert THREE.slr_columns == (1, 1, 1) and THREE.slr_crossings == 2
    # out through each boundary and back, one register each (hand count, not floorplan's function)
    assert TWO.timing_params().slr_latency_cycles == 2
    assert THREE.timing_params().slr_latency_cycles == 4
    assert dataclasses.replace(THREE, slr_columns=()).timing_params().slr_latency_cycles == 0
    with pytest.raises(ValueError, match="slr_columns"):
        ArrayConfig(rows=2, cols=3, slr_columns=(1, 1))


def test_the_crossing_registers_are_where_the_pblocks_look():
    """Every crossing register is named for its receiving SLR, which the XDC's pblock of that SLR collects;
    the rows' links into SLR1 and SLR2 and the results back into SLR0 are among them."""
    text = verilog.convert(SparseArray(THREE), name="top")
    names = set(re.findall(rf"\b{floorplan.CROSSING_NAME}(\d)_(\w+?)\b", text))
    assert {("1", "tok0"), ("2", "tok1"), ("1", "wr_data2"), ("2", "wr_data2"), ("0", "psum2"),
            ("1", "psum2"), ("0", "chain1"), ("0", "flag")} <= names  # fmt: skip
    fp = floorplan.plan(THREE, {"lut": 60_000, "dsp": 2}, {"lut": 1_000, "dsp": 0})
    xdc = floorplan.pblock_xdc(fp)
    for s in {s for s, _ in names}:
        assert f"[get_pblocks pblock_slr{s}] [get_cells -hierarchical -filter {{IS_PRIMITIVE && NAME =~ " \
               f"core/array/array/{floorplan.CROSSING_NAME}{s}_*}}]" in xdc  # fmt: skip
    assert "NAME !~ core/array/array/xin_slr*" in xdc  # not in the rest's SLR0 pblock by the wildcard


def sequence_cycles(plan: Plan, out: dict) -> list[int]:
    """Each sequence's measured cycles: cycle 0 (WS the first weight-row write, OS the first beat) to the
    cycle its last result leaves, inclusive."""
    li = si = 0
    totals = []
    for seq in plan.sequences:
        n = len(seq.tiles)
        base = out["load"][li] if seq.mode.dataflow == "ws" else out["start"][si]
        li += n if seq.mode.dataflow == "ws" else 0
        si += n
        totals.append(out["done"][si - 1] - base + 1)
    return totals


def short_ws_plan(cfg: ArrayConfig) -> Plan:
    rng = np.random.default_rng(5)
    return Plan(cfg, [random_sequence(rng, cfg, Mode("ws"), 8, "short", n_max=3),
                      random_sequence(rng, cfg, Mode("os"), 2),
                      random_sequence(rng, cfg, Mode("ws", 1, 2), 6, "short", n_max=2)])  # fmt: skip


@pytest.mark.parametrize(("cfg", "plan"), [(TWO, short_ws_plan), (THREE, lambda c: array_plan(c, seed=3, size="small"))],
                         ids=["2x8-two-slrs", "2x3-three-slrs"])
def test_split_array_cycles_are_the_simulators(cfg, plan):
    plan = plan(cfg)
    out = run_array(SparseArray(cfg), plan)
    sb = Scoreboard(cfg)
    sb.check_values(plan, split_tiles(out["results"], cfg))
    sb.check_timing(plan, out["load"], out["start"], out["done"])  # tiles, sequence totals, switches
    assert not sb.mismatches, "\n".join(sb.mismatches[:10])
    assert sb.tiles_checked == sb.timing_checked == len(plan.tiles())

    # The same array without the registers: every sequence exactly the crossing latency shorter, and the
    # scoreboard with the split's timing reports it.
    flat = dataclasses.replace(cfg, slr_columns=())
    out_flat = run_array(SparseArray(flat), plan)
    latency = 2 * cfg.slr_crossings
    assert [a - b for a, b in zip(sequence_cycles(plan, out), sequence_cycles(plan, out_flat), strict=True)] == [
        latency] * len(plan.sequences)  # fmt: skip
    sb_flat = Scoreboard(cfg)
    sb_flat.check_timing(plan, out_flat["load"], out_flat["start"], out_flat["done"])
    assert any("simulator's query says" in m for m in sb_flat.mismatches)
