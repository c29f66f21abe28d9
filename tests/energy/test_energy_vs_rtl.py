"""bench/energy_vs_rtl.py runs: the PE's sums equal numpy's, and its switching energy is within the stated
band of the analytical model's (Amaranth's simulator only: no external tools)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "energy_vs_rtl.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("energy_vs_rtl", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "case, accumulator, outputs",
    [(("fp16", (2, 4), 32), None, 1), (("fp16", (2, 4), 32), "fp32", 4), (("int8", None, 16), None, 1)],
)
def test_rtl_switching_energy_is_near_the_model(bench, case, accumulator, outputs):
    """One PE of each design (the preset's exact accumulation, the FP32-adder PE, INT8) against the energy
    table of that design; `outputs` = I = L_add interleaved outputs (FP32 adder: 4 stages, exact and INT32
    adds: 1)."""
    r = bench.run_case(*case, accumulator=accumulator)  # asserts the PE's results against numpy
    kept = case[1][0] / case[1][1] if case[1] else 1.0
    assert r["multiplies"] == case[2] * kept * outputs
    assert 0.6 < r["ratio"] < 1.5, r


@pytest.mark.parametrize("cfg", ["ARRAY"])
def test_whole_gemm_op_on_the_4x4_array_matches_the_model(bench, cfg):
    """A whole GEMM op (the tiny CNN's linear layer, WS, 8 tiles) on the 4 x 4 FP16 array in Amaranth's
    simulator, with the preset's exact-accumulation PE and with the FP32-adder PE: results bit for bit equal
    to numerics (run_op_case raises otherwise), the multiplies the array issued (counted from the trace: live
    lanes of every beat at every PE) equal to the model's count, and the switching energy of its multipliers,
    adders (and edge roundings) within 2x of the model's for the same op: a model that miscounts MACs, or the
    additions per MAC, by 2x fails."""
    r = bench.run_op_case("fc:FF", "ws", True, 8, cfg=getattr(bench, cfg))
    assert r["multiplies_rtl"] == r["multiplies"] > 0
    assert 0.5 < r["compute_ratio"] < 2.0, r
    assert 0.5 < r["rtl_pj_per_mult"] / r["model_pj_per_mult"] < 2.0, r
    # results leave the array once per output element and k-tile: the model's C writes, byte for byte
    assert r["rtl"]["out_bytes"] == r["model"]["out_bytes"]


def test_padded_os_tile_multiplies_are_counted(bench):
    """An OS op whose N (2) is smaller than the array's columns (4): the array runs every column of the
    tile, multiplying zeros in the padding, and returns a result word per column. The model counts what the
    array does (multiplies and result bytes equal to the trace's), where counting the op's real MACs would
    be half (the undercount this replaced)."""
    r = bench.run_op_case("conv3:FF", "os", True, 2)
    op_macs = 32 * 2 * 32 * 2 / 4  # M x N x K x N:M kept fraction (2:4)
    assert r["multiplies_rtl"] == r["multiplies"] == 2 * op_macs
    assert r["rtl"]["out_bytes"] == r["model"]["out_bytes"]
