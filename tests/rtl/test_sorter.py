"""The sparse-weight generator lane (TopNSorter) in Amaranth's simulator: its indices equal a torch stable-sort
top-N and sparsesim's nm_mask over the same groups (same tie rule), values travel with their indices, a group
takes M cycles, and back-pressure on the output holds the lane."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from sorter_ref import nm_topn, random_groups, to_bits, torch_topn
from sparsesim.rtl.sorter import TopNSorter

pytestmark = pytest.mark.rtl


def run_sorter(dut: TopNSorter, groups_bits: np.ndarray, n: int, *, ready_prob: float = 1.0, seed: int = 0):
    """Stream the groups (one value per cycle, no gaps); returns (indices [G, n], values [G, n], cycles)."""
    rng = np.random.default_rng(seed)
    flat = groups_bits.reshape(-1)
    count, m = groups_bits.shape
    out_idx, out_val, done_cycles = [], [], []

    async def bench(ctx):
        ctx.set(dut.n, n)
        ctx.set(dut.log2m, m.bit_length() - 1)
        i = cyc = 0
        while len(out_idx) < count:
            ctx.set(dut.din.valid, i < flat.size)
            ctx.set(dut.din.payload, int(flat[i]) if i < flat.size else 0)
            ctx.set(dut.dout.ready, bool(rng.random() < ready_prob))
            if ctx.get(dut.dout.valid) and ctx.get(dut.dout.ready):
                out_idx.append([ctx.get(dut.dout.payload.indices[s]) for s in range(n)])
                out_val.append([ctx.get(dut.dout.payload.values[s]) for s in range(n)])
                done_cycles.append(cyc)
            if i < flat.size and ctx.get(dut.din.ready):
                i += 1
            await ctx.tick()
            cyc += 1
            assert cyc < 4 * flat.size + 100

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(out_idx), np.array(out_val), done_cycles


@pytest.mark.parametrize("fmt", ["fp16", "int8", "fp32"])
def test_sorter_matches_torch_and_nm_mask(fmt):
    dut = TopNSorter(n_max=4, max_m=8, fmt=fmt)
    rng = np.random.default_rng(len(fmt))
    for n, m in ((2, 4), (1, 4), (2, 8), (1, 8), (4, 8), (3, 8), (1, 2), (1, 1)):
        groups = random_groups(rng, 60 if fmt == "fp16" else 24, m, fmt)
        idx, vals, done = run_sorter(dut, to_bits(groups, fmt), n)
        np.testing.assert_array_equal(idx, torch_topn(groups, n), err_msg=f"{fmt} {n}:{m} vs torch")
        np.testing.assert_array_equal(idx, nm_topn(groups, n), err_msg=f"{fmt} {n}:{m} vs nm_mask")
        np.testing.assert_array_equal(vals, np.take_along_axis(to_bits(groups, fmt), idx, axis=1))
        # M cycles per group, back to back: group g's result is out the cycle after its last value.
        assert done == [(g + 1) * m for g in range(len(groups))], (n, m)


def test_sorter_output_backpressure_holds_the_lane():
    dut = TopNSorter(n_max=2, max_m=8, fmt="fp16")
    rng = np.random.default_rng(9)
    groups = random_groups(rng, 40, 8, "fp16")
    idx, _, _ = run_sorter(dut, to_bits(groups, "fp16"), 2, ready_prob=0.3, seed=3)
    np.testing.assert_array_equal(idx, torch_topn(groups, 2))


def test_tie_rule_examples():
    """The nm.py docstring's example: |w| = [3, 1, 3, 3], N = 2 keeps positions 0 and 2."""
    groups = np.array([[3, 1, 3, -3], [-0.0, 0.0, 0.0, -0.0], [1, 2, 2, 1]], dtype=np.float16)
    idx, _, _ = run_sorter(TopNSorter(n_max=2, max_m=4), to_bits(groups, "fp16"), 2)
    assert idx.tolist() == [[0, 2], [0, 1], [1, 2]]
    np.testing.assert_array_equal(idx, torch_topn(groups, 2))


@pytest.mark.parametrize("fmt", ["fp16", "int8"])
def test_sorter_cocotb_icarus(fmt):
    from pathlib import Path

    from rtl_runner import run_cocotb
    from sparsesim.rtl.export import sorter_verilog
    from sparsesim.rtl.toolchain import build_root

    key = f"sorter_n4_m8_{fmt}"
    verilog = sorter_verilog(build_root() / "verilog" / key, n_max=4, max_m=8, fmt=fmt)
    data = run_cocotb("icarus", Path(verilog), "sparse_weight_lane", "tb_sorter", key,
                      {"n_max": 4, "max_m": 8, "fmt": fmt, "seed": 5, "groups": 60})
    run = data["_run"]
    assert run["tests"] == 1 and run["failed"] == 0, (data.get("sorter"), run["log"])
    assert data["sorter"]["groups"] == 6 * 60
