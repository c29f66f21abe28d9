"""Whole GEMM ops of the tiny-CNN workload through the RTL op engine (descriptor -> sequencer -> AXI4 DMAs ->
array -> AXI4 writes) on the 4x4 FP16 array in Verilator:

- with the HDL DRAM model (latency and bandwidth of the simulator's architecture): every op's results bit
  for bit equal to sparsesim.sat.numerics (partial sums added in the engine's out buffer), the array's
  cycles equal to the mapping's `array_cycles`, each AXI port's beats equal to the mapping's block loads
  and each operand read as often as the scheduler's traffic says, the op's cycles within 2 % of the
  simulator's op duration with DRAM (`OpPlan.alone_cycles`), and the cycles before the array's first action
  and after its last result equal to the simulator's DRAM latency + op engine stages (the architecture's
  op_issue/op_fill/op_accumulate/op_writeback/op_response cycles);
- with cocotbext-axi's AxiRam and random back-pressure on every channel: the AXI4 burst rules, the beats
  each port moves against the ops' tile streams, the results again, and the op engine's issue and
  response stages one by one against the simulator's.

The 16x16 FP16 array through the engine: six ops in CI with every check above (its activation words packed in
DRAM, E elements per lane, two 1,024-bit beats a line); `tox -e rtl-full`: all 13 ops with every check,
the 2:8 ones too (an activation word of two beats, the port's limit, docs/pe_array.md: the simulator models
the first pass over each block at the port's rate, and which of those waits fall before the array's first
action). The 16x32 preset array, `tox -e rtl-full`: all 13 ops with every check (every op's words wider
than a beat).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rtl_opengine import (
    BLOCKED_OPS,
    ENGINE_OPS,
    mismatches,
    n_scale,
    run_axi_protocol,
    run_engine_ops,
    run_repeat_ops,
    stage_mismatches,
)
from rtl_ops import QUICK_OPS, WORKLOAD, op_run, op_runs, workload_ops
from sparsesim.rtl.config import ArrayConfig
from test_ops import preset_config

ROOT = Path(__file__).resolve().parents[2]
CFG = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")
# A WS 2:4 op, an OS dense op without interleave and an OS op with interleave, N cut further: the protocol
# bench samples every cycle from Python.
AXI_OPS = [("conv3:FF", "ws", True, 24), ("conv2:BP", "os", False, 8), ("fc:FF", "os", True, 32)]


def _runs(ops_list):
    """OpRuns of (op, dataflow, interleave, N cut) of the shipped workload or (workload, op, ...) entries."""
    return op_runs(CFG, [op if op[0].endswith(".yaml") else (WORKLOAD, *op) for op in ops_list], ROOT)


@pytest.mark.rtl
def test_op_engine_4x4_verilator():
    """Both benches in one test: they share one Verilator model (op_engine_tb), which two pytest-xdist
    workers must not build at the same time in the same folder."""
    check_ops_from_dram()
    check_axi_protocol()
    check_repeat()


def check_ops_from_dram():
    rows = run_engine_ops(CFG, _runs(ENGINE_OPS + BLOCKED_OPS))
    for row in rows:
        print(row)
    assert len(rows) == len(ENGINE_OPS) + len(BLOCKED_OPS) == 17
    assert {row["order"] for row in rows} == {"a_resident", "b_resident", "c_resident"}
    assert any(max(row["rtl_reads"].values()) > 1 for row in rows)  # some operand read more than once
    assert {row["mapping"].split()[1] for row in rows} >= {"dense", "2:4", "2:8", "1:4"}
    for row in rows:
        assert row["dram_modelled"] is True and row["one_beat_words"] is True, row
        # results bit-exact, array cycles identical, the beats of the mapping's block loads, each operand read
        # as often as the scheduler's traffic counts, op cycles within 2 %, and the cycles before and after
        # the array's exactly DRAM latency + the simulator's op engine stages (SatArch.op_*_cycles)
        assert mismatches(row) == [], row


def check_axi_protocol():
    board = run_axi_protocol(CFG, _runs(AXI_OPS), pause=0.3)
    print({k: v for k, v in board.items() if k != "run"})
    assert board["errors"] == []
    assert board["boundary_cuts"] > 0  # some burst was cut at a 4 KiB boundary: the rule was exercised
    assert all(n == 0 for n in board["results_checked"].values())
    assert len(board["results_checked"]) == len(AXI_OPS)
    # the op engine's issue and response stages one by one, under random back-pressure, equal to the
    # simulator's (with the DRAM-model bench's exact prologue and epilogue this pins the fill and write-back
    # stages too)
    assert stage_mismatches(CFG, _runs(AXI_OPS), board["stages"]) == [], board["stages"]


def check_repeat():
    """repeat = 2 in one descriptor (WS with 9 n-blocks, OS): both operand sets' results bit-exact."""
    ops = workload_ops(str(ROOT / WORKLOAD))
    pairs = []
    for name, df, il, n in (("conv2:BP", "ws", True, 144), ("fc:FF", "os", True, 32)):
        pairs.append(tuple(op_run(CFG, name, ops[name], dataflow=df, n_cut=n, interleave=il, seed=s) for s in (0, 1)))
    got = run_repeat_ops(CFG, pairs)
    print(got)
    assert "error" not in got, got
    assert len(got) == 2 and all(v == [0, 0] for v in got.values()), got


SIXTEEN = ArrayConfig(rows=16, cols=16, multipliers=2, max_m=8, precision="fp16")
# The 16x16 ops CI runs through the engine, as bench/rtl_vs_sim.py runs them (N 4x less cut than on the 4x4
# array): 3x3 conv FF 2:4 in WS and OS, a dense BP in OS without interleave, a linear layer's FF in OS with
# interleave, 1:4 in WS and in OS without interleave; ops of 100-1,300 cycles (the Verilator build is the cost).
SIXTEEN_CI_OPS = [QUICK_OPS[i] for i in (0, 1, 3, 8, 11, 12)]


def _sixteen_rows(ops_list):
    rows = run_engine_ops(SIXTEEN, op_runs(SIXTEEN, ops_list, ROOT, n_scale=n_scale(SIXTEEN)))
    for row in rows:
        print(row)
    assert len(rows) == len(ops_list)
    return rows


@pytest.mark.rtl
def test_op_engine_16x16_verilator():
    """The 16x16 array through the whole engine with the DRAM model: its activation words packed in DRAM
    (E elements per lane, lines of 2,048 bits = two 1,024-bit beats, unpacked by the block buffer), and the
    same checks as on the 4x4 array: results bit-exact, array cycles identical, each port's beats the
    mapping's block loads, op cycles within 2 %, and, the words of these modes being one beat each, the
    cycles before and after the array's exactly DRAM latency + the op engine's stages."""
    rows = _sixteen_rows(SIXTEEN_CI_OPS)
    assert {row["mapping"].split()[0] for row in rows} == {"ws", "os"}
    for row in rows:
        assert row["one_beat_words"] is True, row
        assert mismatches(row) == [], row


@pytest.mark.rtl_full
def test_op_engine_16x16_all_ops():
    """Every engine op on the 16x16 array, with the same checks as in CI. Where a mode's activation word is
    wider than a port's beat (2:8: E = MMAX = 8, 2,048 bits, two beats of the 1,024-bit port) the first pass
    over each activation block runs at half a word per cycle, which the simulator models
    (`GemmMapping.stream_wait_cycles`; of those, the waits before the array's first action,
    `stream_wait_lead_cycles`, with the cycles before the array): array cycles identical, and the cycles
    before and after the array exactly DRAM latency + the op engine's stages + those first waits
    (docs/pe_array.md, "16x16 through the engine")."""
    rows = _sixteen_rows(ENGINE_OPS)
    assert any(not row["one_beat_words"] for row in rows)
    for row in rows:
        assert mismatches(row) == [], row


@pytest.mark.rtl_full
def test_op_engine_16x32_preset_all_ops():
    """Every engine op on the 16x32 preset array (bench/rtl_vs_sim.py --arrays 16x32): its weight words two
    beats, its 2:4 and 1:4 activation words two and its 2:8 ones four, so every op waits in its blocks'
    first passes (WS tiles with two weight banks alternating between a short and a long interval); every
    check of CI, the array's cycles and the cycles before and after it identical to the simulator's
    (docs/pe_array.md)."""
    cfg = preset_config()
    rows = run_engine_ops(cfg, op_runs(cfg, ENGINE_OPS, ROOT, n_scale=n_scale(cfg)))
    assert len(rows) == len(ENGINE_OPS)
    assert not any(row["one_beat_words"] for row in rows)
    for row in rows:
        assert mismatches(row) == [], row
