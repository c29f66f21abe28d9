"""Whole GEMM ops of the tiny-CNN workload (3x3 conv FF/BP/WU, 1x1 conv, linear; dense and 2:4; WS, OS with
and without interleave; M and K real, N cut) on the 4x4 FP16 array in Verilator: every op's results bit for
bit equal to sparsesim.sat.numerics, and the array's measured op cycles equal to the simulator's array cycles
for the same mapping (`GemmMapping.array_cycles`). The 16x16 array is in the rtl_full set."""

from __future__ import annotations

from pathlib import Path

import pytest
from rtl_ops import QUICK_OPS, WORKLOAD, op_run, run_ops, workload_ops
from sparsesim.rtl.config import ArrayConfig

ROOT = Path(__file__).resolve().parents[2]


def check_ops(cfg: ArrayConfig, ops_list) -> list[dict]:
    ops = workload_ops(str(ROOT / WORKLOAD))
    runs = [op_run(cfg, name, ops[name], dataflow=df, n_cut=n, interleave=il) for name, df, il, n in ops_list]
    rows = run_ops(cfg, runs)
    for row in rows:
        print(row)
    assert len(rows) == len(ops_list)
    for row in rows:
        assert "error" not in row, row
        assert row["results_differing_from_numerics"] == 0, row
        assert row["rtl_array_cycles"] == row["sim_array_cycles"], row
    # the set covers what it claims: both dataflows, sparse and dense, OS without interleave
    maps = {r["mapping"] for r in rows}
    assert any(m.startswith("ws") for m in maps) and any(m.startswith("os") for m in maps)
    assert any("2:4" in m for m in maps) and any("dense" in m for m in maps)
    assert any("no-interleave" in m for m in maps)
    return rows


@pytest.mark.rtl
def test_ops_4x4_fp16_verilator():
    check_ops(ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16"), QUICK_OPS)


@pytest.mark.rtl_full
def test_ops_16x16_fp16_verilator():
    cfg = ArrayConfig(rows=16, cols=16, multipliers=2, max_m=8, precision="fp16")
    check_ops(cfg, [(name, df, il, 4 * n) for name, df, il, n in QUICK_OPS])
