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


@pytest.mark.parametrize("case", [("fp16", (2, 4), 32), ("int8", None, 16)])
def test_rtl_switching_energy_is_near_the_model(bench, case):
    r = bench.run_case(*case)  # asserts the PE's results against numpy
    outputs = 4 if case[0] == "fp16" else 1  # I = L_add interleaved outputs (FP32 adder: 4 stages)
    kept = case[1][0] / case[1][1] if case[1] else 1.0
    assert r["multiplies"] == case[2] * kept * outputs
    assert 0.6 < r["ratio"] < 1.5, r


def test_whole_gemm_op_on_the_4x4_array_matches_the_model(bench):
    """A whole GEMM op (the tiny CNN's linear layer, WS, 8 tiles) on the 4 x 4 FP16 array in Amaranth's
    simulator: results bit for bit equal to numerics (run_op_case raises otherwise), the multiplies the
    array issued (counted from the trace: live lanes of every beat at every PE) equal to the model's count,
    and the switching energy of its multipliers and adders within 2x of the model's for the same op: a
    model that miscounts MACs, or the additions per MAC, by 2x fails."""
    r = bench.run_op_case("fc:FF", "ws", True, 8)
    assert r["multiplies_rtl"] == r["multiplies"] > 0
    assert 0.5 < r["compute_ratio"] < 2.0, r
    assert 0.5 < r["rtl_pj_per_mult"] / r["model_pj_per_mult"] < 2.0, r
    # results leave the array once per output element and k-tile: the model's C writes, byte for byte
    assert r["rtl"]["out_bytes"] == r["model"]["out_bytes"]
