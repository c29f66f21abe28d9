"""Whole GEMM ops of the tiny-CNN workloads (3x3 conv FF/BP/WU, 1x1 conv, linear; dense, 2:4, 2:8 and 1:4; WS,
OS with and without interleave; M and K real, N cut) on Verilator: every op's results bit for bit equal to
sparsesim.sat.numerics, and the array's measured op cycles equal to the simulator's array cycles for the same
mapping (`GemmMapping.array_cycles`). CI: the 4x4 array on every op of rtl_ops.QUICK_OPS and the 16x16 array on
a few (SIXTEEN_OPS); `tox -e rtl-full`: the 16x32 preset array on every op."""

from __future__ import annotations

from pathlib import Path

import pytest
from rtl_ops import QUICK_OPS, SIXTEEN_OPS, op_runs, run_ops
from sparsesim.rtl.config import ArrayConfig

from sparsesim.sat.arch import resolve

ROOT = Path(__file__).resolve().parents[2]


def check_ops(cfg: ArrayConfig, ops_list, *, n_scale: int = 1) -> list[dict]:
    rows = run_ops(cfg, op_runs(cfg, ops_list, ROOT, n_scale=n_scale))
    for row in rows:
        print(row)
    assert len(rows) == len(ops_list)
    for row in rows:
        assert "error" not in row, row
        assert row["results_differing_from_numerics"] == 0, row
        assert row["rtl_array_cycles"] == row["sim_array_cycles"], row
    return rows


def assert_covers(rows: list[dict], patterns: set[str]) -> None:
    """The set covers what it claims: both dataflows, the N:M patterns and dense, OS without interleave."""
    maps = {r["mapping"] for r in rows}
    assert any(m.startswith("ws") for m in maps) and any(m.startswith("os") for m in maps)
    for pattern in patterns:
        assert any(pattern in m for m in maps), (pattern, maps)
    assert any("no-interleave" in m for m in maps)


@pytest.mark.rtl
def test_ops_4x4_fp16_verilator():
    rows = check_ops(ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16"), QUICK_OPS)
    assert_covers(rows, {"dense", "2:4", "2:8", "1:4"})


@pytest.mark.rtl
def test_ops_16x16_fp16_verilator():
    rows = check_ops(ArrayConfig(rows=16, cols=16, multipliers=2, max_m=8, precision="fp16"), SIXTEEN_OPS)
    assert_covers(rows, {"dense", "2:8"})


def preset_config() -> ArrayConfig:
    """The preset array (sparsesim.sat.arch.resolve(): 16x32, P, MMAX, precision and depths as shipped)."""
    arch = resolve()
    return ArrayConfig(
        rows=arch.rows, cols=arch.cols, multipliers=arch.multipliers_per_pe, max_m=arch.max_m,
        precision=arch.precision, mul_latency=arch.mul_latency_cycles, add_latency=arch.add_latency_cycles,
    )  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.rtl_full
def test_ops_16x32_preset_verilator():
    cfg = preset_config()
    assert (cfg.rows, cfg.cols) == (16, 32)
    rows = check_ops(cfg, QUICK_OPS, n_scale=4)
    assert_covers(rows, {"dense", "2:4", "2:8", "1:4"})
