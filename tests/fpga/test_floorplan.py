"""The SLR floorplan (sparsesim/fpga/floorplan.py), its pblocks in the build's XDC, and the crossing latency
in the simulator's timing (`slr_latency_cycles`, sparsesim.sat.timing / arch)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga import floorplan
from sparsesim.sat import arch, schedule, timing
from sparsesim.sat.timing import ArrayParams, Mode, TileShape

SLR_LUTS = 1_182_240 // 3  # DS890: XCVU9P 1,182,240 LUTs in 3 SLRs
BUDGET = 0.5


def test_an_slr_is_a_third_of_the_device():
    assert floorplan.SLR_RESOURCES["lut"] == SLR_LUTS == 394_080
    assert floorplan.SLR_RESOURCES["dsp"] == 6_840 // 3


def test_the_preset_array_spans_three_slrs():
    """16 x 32 with the PE cell and the rest as measured (docs/fpga.md: 1,864 LUT and 2 DSP per cell, the
    rest 31,326 LUT): 954 k LUTs of array need all three SLRs, even at the device's capacity."""
    cfg = ArrayConfig(rows=16, cols=32, precision="fp16")
    fp = floorplan.plan(cfg, {"lut": 1864, "dsp": 2}, {"lut": 31326, "dsp": 0})
    assert [g.slr for g in fp.groups] == [0, 1, 2]
    assert sum(g.count for g in fp.groups) == 32
    assert [g.first for g in fp.groups] == [0, fp.groups[0].count, fp.groups[0].count + fp.groups[1].count]
    assert max(g.count for g in fp.groups) - min(g.count for g in fp.groups) <= 2  # balanced
    assert not fp.within_budget
    assert fp.crossings == 2
    # out through two boundaries and back, one register each
    assert fp.latency_cycles == 4
    assert arch.resolve().slr_latency_cycles == fp.latency_cycles == arch.resolve().array.slr_latency_cycles


def test_a_two_slr_split_by_hand():
    """4 x 10 cells of 8,000 LUTs = 32,000 LUTs a column. SLR0 has room for (197,040 - 10,000) / 32,000 =
    5.8 columns at the 50 % budget, SLR1 for 6.2: two SLRs, 10 columns in proportion 5.8 : 6.2 -> 5 + 5."""
    cfg = ArrayConfig(rows=4, cols=10, precision="int8")
    fp = floorplan.plan(cfg, {"lut": 8000, "dsp": 1}, {"lut": 10_000, "dsp": 0})
    assert [(g.slr, g.first, g.count) for g in fp.groups] == [(0, 0, 5), (1, 5, 5)]
    assert fp.within_budget and fp.crossings == 1 and fp.latency_cycles == 2
    pct = fp.to_dict()["slr_percent"]
    assert pct["0"]["lut"] == pytest.approx(100 * (5 * 32_000 + 10_000) / SLR_LUTS, abs=0.01)
    assert all(v["lut"] <= 100 * BUDGET for v in pct.values())
    xdc = floorplan.pblock_xdc(fp)
    placed = {}
    for slr, names in re.findall(r"add_cells_to_pblock \[get_pblocks pblock_slr(\d)\] \[get_cells \{([^}]*)\}\]", xdc):
        for name in names.split():
            r, c = re.fullmatch(r"core/array/array/pe_(\d+)_(\d+)", name).groups()
            assert (int(r), int(c)) not in placed, name
            placed[int(r), int(c)] = int(slr)
    assert placed == {(r, c): (0 if c < 5 else 1) for r in range(4) for c in range(10)}
    assert "IS_PRIMITIVE && NAME =~ core/* && NAME !~ core/array/array/pe_*" in xdc  # the rest, by leaf cells
    assert "resize_pblock [get_pblocks pblock_slr1] -add SLR1" in xdc
    assert "pblock_slr2" not in xdc
    assert fp.wires_per_crossing > 0


def test_a_small_array_stays_in_one_slr():
    cfg = ArrayConfig(rows=2, cols=2, precision="int8")
    fp = floorplan.plan(cfg, {"lut": 500, "dsp": 2}, {"lut": 3000, "dsp": 0})
    assert [(g.slr, g.count) for g in fp.groups] == [(0, 2)]
    assert fp.crossings == 0 and fp.latency_cycles == 0 and fp.wires_per_crossing == 0


# ------------------------------------------------------------------------------------- simulator's timing
def test_slr_latency_is_added_once_per_sequence():
    """A hand-worked WS tile: 2 x 2, P = 2, L_mul = L_add = 1, n = 3: the stream starts 1 cycle after the
    load, the last result leaves (C-1) + (L_mul + L_add) + R x L_add = 5 cycles after the last beat, so the
    tile ends in cycle 1 + 3 - 1 + 5 = 8: 9 cycles, plus the crossing registers' 4."""
    base = ArrayParams(rows=2, cols=2, multipliers=2, max_m=4, mul_latency=1, add_latency=1)
    slr = ArrayParams(rows=2, cols=2, multipliers=2, max_m=4, mul_latency=1, add_latency=1, slr_latency_cycles=4)
    ws, os_ = Mode("ws"), Mode("os")
    assert timing.tile_cycles(base, ws, TileShape(2, 3, 4)) == 9
    assert timing.tile_cycles(slr, ws, TileShape(2, 3, 4)) == 13
    # sequences: once, not per tile
    for count in (1, 5, 40):
        assert timing.run_cycles(slr, ws, TileShape(2, 3, 4), count) == timing.run_cycles(
            base, ws, TileShape(2, 3, 4), count) + 4  # fmt: skip
        assert timing.run_cycles(slr, os_, TileShape(2, 2, 8), count) == timing.run_cycles(
            base, os_, TileShape(2, 2, 8), count) + 4  # fmt: skip
    assert timing.ws_runs_cycles(slr, [(3, 7), (5, 2)]) == timing.ws_runs_cycles(base, [(3, 7), (5, 2)]) + 4
    assert timing.os_runs_cycles(slr, os_, [(8, 3)]) == timing.os_runs_cycles(base, os_, [(8, 3)]) + 4
    with pytest.raises(ValueError, match="slr_latency_cycles"):
        ArrayParams(rows=2, cols=2, multipliers=2, max_m=4, mul_latency=1, add_latency=1, slr_latency_cycles=-1)


def test_the_simulators_gemm_cycles_include_it():
    p = arch.resolve().array
    assert p.slr_latency_cycles == 4
    core = dataclasses.replace(p, slr_latency_cycles=0)
    for mode in (Mode("ws", 2, 8), Mode("os")):
        with_slr = schedule._compute_cached(p, mode, 64, 200, 256, 1, 128, 256)[0]
        without = schedule._compute_cached(core, mode, 64, 200, 256, 1, 128, 256)[0]
        assert with_slr - without == 4, mode


def test_the_rtl_timing_has_the_crossings_of_its_split():
    """An array in one SLR has no crossing registers: its timing parameters (what the benches check) keep 0;
    split as the floorplan splits the preset (three SLRs), 2 boundaries out and back, 4 (the RTL's cycles
    against these: tests/rtl/test_array_slr.py)."""
    assert ArrayConfig(rows=16, cols=32).timing_params().slr_latency_cycles == 0
    cfg = ArrayConfig(rows=16, cols=32, precision="fp16")
    fp = floorplan.plan(cfg, {"lut": 1864, "dsp": 2}, {"lut": 31326, "dsp": 0})
    split = dataclasses.replace(cfg, slr_columns=fp.slr_columns)
    assert len(split.slr_columns) == 3 and sum(split.slr_columns) == 32
    assert split.timing_params().slr_latency_cycles == 4 == arch.resolve().slr_latency_cycles


# ------------------------------------------------------------------------------------------ the build tree
def test_the_built_xdc_has_pblocks_on_the_cells(tiny_tree_estimated):
    t = tiny_tree_estimated
    assert t.code == 0, t.stderr
    xdc = (t.tree / "sparsesim_vcu1525.xdc").read_text()
    assert "create_pblock pblock_slr0" in xdc and "resize_pblock [get_pblocks pblock_slr0] -add SLR0" in xdc
    config = json.loads((t.tree / "config.json").read_text())
    fp = config["floorplan"]
    assert fp["crossings"] == 0 and fp["latency_cycles"] == 0  # 2 x 2 fits one SLR
    # the pblock's cell names exist in the elaborated top: core -> array (SparseArray) -> array (PEArray)
    verilog = (t.tree / "sparsesim_vcu1525.v").read_text()
    for r in range(2):
        for c in range(2):
            assert re.search(rf"sparse_array_cell \\?pe_{r}_{c}\b", verilog), (r, c)
    assert re.search(r"\\?sparsesim_vcu1525\.core\.array\.array\b", verilog)


def test_a_workload_sets_it_for_its_own_array():
    from sparsesim.spec import AcceleratorSpec

    a = arch.resolve(AcceleratorSpec(rows=4, cols=4, slr_latency_cycles=0))
    assert a.slr_latency_cycles == 0 == a.array.slr_latency_cycles
    assert a.sources["slr_latency_cycles"] == arch.WORKLOAD
    with pytest.raises(ValueError):
        AcceleratorSpec(slr_latency_cycles=-1)
