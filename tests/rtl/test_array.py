"""The PE array against numerics (bit for bit), torch (within numerics.fp_error_bound; exact for INT8) and the
timing contract (every tile's measured load/start/end cycle == sparsesim.sat.timing): in Amaranth's simulator
for tiny configurations, and with the cocotb bench tb_array.py on Verilator (4x4, FP16 and INT8) and Icarus
(2x2). The 16x16 configuration is in test_array_full.py (marker rtl_full only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rtl_amsim import run_array
from rtl_plan import Plan, Scoreboard, array_plan, random_sequence, split_tiles
from rtl_runner import run_cocotb
from sparsesim.rtl.array import SparseArray
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.export import array_verilog
from sparsesim.rtl.host import decode_results
from sparsesim.rtl.toolchain import build_root

from sparsesim.sat.timing import Mode

pytestmark = pytest.mark.rtl


# ------------------------------------------------------------------------------------ Amaranth's simulator
@pytest.mark.parametrize(
    "cfg",
    [
        ArrayConfig(rows=2, cols=3, multipliers=2, max_m=4, precision="fp16", mul_latency=1, add_latency=3),
        ArrayConfig(rows=3, cols=1, multipliers=1, max_m=2, precision="fp16", mul_latency=3, add_latency=2),
        ArrayConfig(rows=2, cols=3, multipliers=2, max_m=4, precision="fp16", accumulator="exact"),
        ArrayConfig(rows=3, cols=2, multipliers=1, max_m=2, precision="fp16", accumulator="exact", add_latency=2),
        ArrayConfig(rows=1, cols=1, multipliers=1, max_m=1, precision="int8"),
        ArrayConfig(rows=2, cols=2, multipliers=4, max_m=8, precision="int8", mul_latency=2, add_latency=3),
    ],
    ids=lambda c: f"{c.rows}x{c.cols}P{c.multipliers}M{c.max_m}-{c.precision}{'x' if c.exact else ''}"
    f"-L{c.mul_latency}{c.add_latency}",
)
def test_array_amaranth_sim_odd_shapes_and_latencies(cfg):
    """Shapes and pipeline depths the cocotb builds do not cover (1-wide arrays, P = 1, other latencies)."""
    plan = array_plan(cfg, seed=cfg.rows * 7 + cfg.add_latency, size="small")
    out = run_array(SparseArray(cfg), plan)
    sb = Scoreboard(cfg)
    sb.check_values(plan, split_tiles(out["results"], cfg))
    sb.check_timing(plan, out["load"], out["start"], out["done"])
    assert sb.tiles_checked == len(plan.tiles()) and sb.timing_checked == len(plan.tiles())
    assert not sb.mismatches, "\n".join(sb.mismatches[:10])


def test_array_ws_after_os_no_interleave_deep_skew_line():
    """Regression (the 16x16 FP32-adder array in `rtl_full` raised a WS tile's `done` far too early): row r's
    WS skew line is r*L_add deep. When (R-1)*L_add exceeds an OS no-interleave tile's tail (last beat to the
    last PE, the PE pipeline, an R-cycle drain), the OS tokens were still in that line when the next WS tile
    switched the cells to it, and the stale `last` ended the WS tile. A 4x2 array with L_add = 6 has that
    proportion (18 skew cycles against a 17-cycle tail) at a fraction of the 16x16 build's cost."""
    cfg = ArrayConfig(rows=4, cols=2, multipliers=1, max_m=2, precision="fp16", accumulator="fp32",
                      mul_latency=1, add_latency=6)
    rng = np.random.default_rng(1)
    plan = Plan(cfg, [random_sequence(rng, cfg, Mode("os", interleave=False), 1, k_steps_max=1),
                      random_sequence(rng, cfg, Mode("ws"), 2),
                      random_sequence(rng, cfg, Mode("os", interleave=False), 2, k_steps_max=2),
                      random_sequence(rng, cfg, Mode("ws", 1, 2), 2)])
    out = run_array(SparseArray(cfg), plan, max_cycles=5_000)
    sb = Scoreboard(cfg)
    sb.check_values(plan, split_tiles(out["results"], cfg))
    sb.check_timing(plan, out["load"], out["start"], out["done"])
    assert not sb.mismatches, "\n".join(sb.mismatches[:10])
    assert sb.tiles_checked == sb.timing_checked == len(plan.tiles())


def test_scoreboard_catches_wrong_values_and_cycles():
    """The checks can fail: one flipped result bit, one result off by more than the torch bound, one lost
    beat, one event a cycle late, each is reported."""
    cfg = ArrayConfig(rows=2, cols=2, multipliers=2, max_m=4, precision="fp16", mul_latency=1, add_latency=2)
    plan = array_plan(cfg, seed=4, size="small")
    out = run_array(SparseArray(cfg), plan)
    words, loads, starts, dones = out["results"], out["load"], out["start"], out["done"]

    def mismatches(words=words, loads=loads, starts=starts, dones=dones, beats=None):
        sb = Scoreboard(cfg)
        sb.check_values(plan, beats if beats is not None else split_tiles(words, cfg))
        sb.check_timing(plan, loads, starts, dones)
        return sb.mismatches

    assert mismatches() == []
    assert any("numerics" in m for m in mismatches(words=[words[0] ^ 1, *words[1:]]))
    tiles = split_tiles(words, cfg)
    assert any("beats" in m for m in mismatches(beats=[tiles[0][:-1], *tiles[1:]]))
    assert any("timing says" in m for m in mismatches(dones=[dones[0] + 1, *dones[1:]]))
    assert any("timing says" in m for m in mismatches(loads=[loads[0], loads[1] - 1, *loads[2:]]))
    last = plan.sequences[-1]  # the whole last sequence one cycle late: only its start after the switch is wrong
    n, n_ws = len(last.tiles), len(last.tiles) if last.mode.dataflow == "ws" else 0
    late = mismatches(loads=loads[: len(loads) - n_ws] + [c + 1 for c in loads[len(loads) - n_ws :]],
                      starts=starts[:-n] + [c + 1 for c in starts[-n:]], dones=dones[:-n] + [c + 1 for c in dones[-n:]])
    assert len(late) == 1 and "switch_delay" in late[0]
    # torch: a result replaced by a value 1e-3 away (numerics is bypassed by checking torch alone).
    sb = Scoreboard(cfg)
    tile = plan.tiles()[0]
    good = decode_results(cfg, tile, tiles[0])
    bad = good.copy()
    bad.view(np.float32)[0, 0] += np.float32(1e-3) * max(1.0, abs(float(bad.view(np.float32)[0, 0])))
    sb._check_torch("t", tile, good)
    assert sb.mismatches == []
    sb._check_torch("t", tile, bad)
    assert sb.mismatches and "torch" in sb.mismatches[0]


# ------------------------------------------------------------------------------------ cocotb benches
CI_CONFIGS = [
    ("verilator", ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16"), "ci"),
    ("verilator", ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="int8"), "ci"),
    ("icarus", ArrayConfig(rows=2, cols=2, multipliers=2, max_m=8, precision="fp16"), "small"),
]
def run_array_bench(sim: str, cfg: ArrayConfig, size: str) -> dict:
    verilog = array_verilog(cfg, build_root() / "verilog" / cfg.name())
    data = run_cocotb(sim, Path(verilog), "sparse_array", "tb_array", cfg.name(),
                      {"config": cfg.to_dict(), "seed": 1, "size": size})
    run = data["_run"]
    full = data.get("full_streams", {})
    assert run["tests"] == 2 and run["failed"] == 0, (
        f"{run['failed']} of {run['tests']} cocotb tests failed; mismatches: "
        f"{full.get('mismatches', [])[:5]} {data.get('random_stalls', {}).get('mismatches', [])[:5]}; log: {run['log']}"
    )
    assert full["tiles_checked"] == full["timing_checked"] > 0
    print(f"\n{sim} {cfg.name()}: build {run['build_s']:.1f} s, tests {run['test_s']:.1f} s, "
          f"{full['cycles']} cycles at {full['cycles_per_s']:.0f} cycles/s, {full['tiles_checked']} tiles")
    return data


@pytest.mark.parametrize(("sim", "cfg", "size"), CI_CONFIGS, ids=lambda x: getattr(x, "precision", x))
def test_array_cocotb(sim, cfg, size):
    run_array_bench(sim, cfg, size)
