"""On-chip costs (sparsesim.sat.onchip): bank conflicts counted by hand, the ports' bound on ops, the switch
that keeps SCALE-Sim's architecture exact, and the mapper's dataflow choice under them."""

from __future__ import annotations

import dataclasses
import math

import pytest

from sparsesim.graph.lower import GemmOp, UpdateOp
from sparsesim.sat.arch import SatArch, resolve
from sparsesim.sat.onchip import Beat, Layout, gather_cost
from sparsesim.sat.schedule import build_schedule, map_gemm, plan_update
from sparsesim.sat.simulate import simulate_ops

WORD, BANKS, FP16 = 8, 32, 2  # the vcu1525 preset: URAM words of 8 B, a 256 B port


def test_contiguous_beat_reads_in_one_cycle():
    # 128 FP16 reduction elements of one pixel, word aligned: 256 B = one word from each of the 32 banks.
    cycles, runs, fetched = gather_cost(Layout("k", 1024, 1024, 1024), Beat(c=128, q=1), FP16, WORD, BANKS)
    assert (cycles, runs, fetched) == (1.0, 1.0, 256.0)


def test_strided_gather_serialises_on_two_banks():
    # 32 pixels of one channel, 64 channels per pixel: 128 B = 16 words apart, so word addresses 16 i land
    # in banks 0 and 16 only: 16 words per bank, 16 cycles; each pixel is its own run of one word.
    cycles, runs, fetched = gather_cost(Layout("n", 64, 64, 64), Beat(c=1, q=32), FP16, WORD, BANKS)
    assert (cycles, runs, fetched) == (16.0, 32.0, 32 * WORD)
    # Rotating each row of 32 banks by its index spreads the same words over all 32 banks.
    skewed = gather_cost(Layout("n", 64, 64, 64), Beat(c=1, q=32), FP16, WORD, BANKS, "skewed")
    assert skewed[0] == 1.0


def test_two_pixels_of_a_padded_pitch_do_not_conflict():
    # An OS beat reads 32 channels (8 words) of 2 pixels. At a pitch of 128 channels (32 words) both runs hit
    # banks 0-7: 2 cycles. With 64 B of padding (pitch 160 channels = 40 words) the second run is in banks 8-15.
    assert gather_cost(Layout("n", 128, 128, 128), Beat(c=32, q=2), FP16, WORD, BANKS)[0] == 2.0
    assert gather_cost(Layout("n", 128, 160, 160), Beat(c=32, q=2), FP16, WORD, BANKS)[0] == 1.0
    arch = resolve(None)
    assert arch.pitch("act", 128) == 160 and arch.pitch("act", 64) == 64  # 128 B is not a port multiple


def test_update_engine_bus_bounds_the_update():
    arch = resolve(None)
    op = UpdateOp(name="w:UPD", layer="w", params=1280, optimizer="sgd")
    plan = plan_update(op, arch, None)
    # 16 lanes: 80 cycles; but 10 B in and 10 B out per parameter over a 128 B/cycle bus: 100 cycles.
    assert plan.work_cycles == 80 and plan.busy_cycles == 100
    off = plan_update(op, dataclasses.replace(arch, onchip_costs=False), None)
    assert off.busy_cycles == 80


def test_switch_off_gives_the_array_alone(bdwp_tiny):
    arch = resolve(None)
    assert arch.onchip_costs and not SatArch.__dataclass_fields__["onchip_costs"].default
    off = dataclasses.replace(arch, onchip_costs=False)
    sched = build_schedule(bdwp_tiny.ops, off, bdwp_tiny.graph)
    for plan in sched.plans.values():
        assert plan.onchip_cycles == 0
        if plan.gemm is not None:
            assert plan.busy_cycles == plan.gemm.array_cycles
    on = simulate_ops(bdwp_tiny.ops, arch, graph=bdwp_tiny.graph)
    assert on.ops["stall_onchip"].sum() > 0


def test_narrow_out_port_makes_partial_sums_bind(bdwp_tiny):
    arch = resolve(None)
    base = simulate_ops(bdwp_tiny.ops, arch, graph=bdwp_tiny.graph)
    narrow = simulate_ops(
        bdwp_tiny.ops, dataclasses.replace(arch, out_port_bytes_per_cycle=16), graph=bdwp_tiny.graph
    )
    assert narrow.total_cycles > base.total_cycles
    assert narrow.ops["stall_onchip"].sum() > base.ops["stall_onchip"].sum()


def _alone(op: GemmOp, arch: SatArch, node) -> float:
    g = map_gemm(op, arch, node=node)
    bw, lat = arch.dram_bytes_per_cycle, arch.dram_latency_cycles
    steady = max(0, g.dram_bytes - g.prologue_bytes - g.epilogue_bytes)
    busy = g.array_cycles + g.onchip_cycles + g.stream_wait_cycles  # the waits for words wider than a beat
    # the op engine's stages: issue + fill before the array; after it write-back + response, and the out
    # buffer's add on WS ops and OS ops of several k-blocks
    fill = arch.op_fill_ws_cycles if g.dataflow == "ws" else arch.op_fill_os_cycles
    adds = g.dataflow == "ws" or g.block[2] < g.k
    stages = arch.op_issue_cycles + fill + arch.op_writeback_cycles + arch.op_response_cycles
    stages += arch.op_accumulate_cycles if adds else 0
    return 2 * lat + stages + (g.prologue_bytes + g.epilogue_bytes) / bw + max(busy, steady / bw, g.dram_port_cycles)


def test_mapper_picks_the_faster_dataflow_and_wu_runs_os(bdwp_tiny):
    arch = resolve(None)
    graph = bdwp_tiny.graph
    sched = build_schedule(bdwp_tiny.ops, arch, graph)
    wu_conv = 0
    for name, plan in sched.plans.items():
        op = sched.ops[name]
        if plan.gemm is None or not isinstance(op, GemmOp):
            continue
        node = graph.nodes[op.layer]
        times = {df: _alone(op, dataclasses.replace(arch, dataflow=df), node) for df in ("ws", "os")}
        assert _alone(op, arch, node) == pytest.approx(min(times.values()), rel=1e-9, abs=1), name
        if op.pass_ == "WU" and node.get("kind") == "conv" and op.m >= 16:
            # the WU reduction runs over pixels: a WS stream would gather one word per pixel
            assert plan.gemm.dataflow == "os", name
            assert times["os"] < times["ws"]
            wu_conv += 1
    assert wu_conv >= 2


def test_interleave_matters_with_the_auto_dataflow(bdwp_tiny):
    # a PE whose accumulating adder takes 4 cycles (the FP32-adder design): the preset's exact PE adds in one
    # cycle, so its OS PE has a single accumulator slot and nothing to interleave
    from sparsesim.spec import AcceleratorSpec

    arch = resolve(AcceleratorSpec(add_latency_cycles=4))
    on = simulate_ops(bdwp_tiny.ops, arch, graph=bdwp_tiny.graph)
    off = simulate_ops(bdwp_tiny.ops, arch.with_optimisations(interleave=False), graph=bdwp_tiny.graph)
    assert off.total_cycles > 1.2 * on.total_cycles
    wu = on.ops[(on.ops["pass"] == "WU") & (on.ops["kind"] == "gemm")]
    assert (wu["dataflow"] == "os").any()
    assert math.isclose(on.ops["stall_accumulate"].sum(), 0)


def test_resnet18_wu_gemm_is_not_at_the_arrays_peak():
    # layer1.0.conv1's weight gradient at batch 32: dW[64 x 576] = dY[64 x 32*56*56] . im2col(X)^T
    node = {
        "kind": "conv", "in_shapes": [(1, 64, 56, 56)], "out_shape": (1, 64, 56, 56),
        "kernel": (3, 3), "stride": (1, 1), "groups": 1,
    }  # fmt: skip
    op = GemmOp(
        name="layer1.0.conv1:WU", layer="layer1.0.conv1", pass_="WU", role="wgrad",
        m=64, n=576, k=32 * 56 * 56, repeat=1, a_kind="grad", b_kind="act", c_kind="wgrad",
    )  # fmt: skip
    from sparsesim.spec import AcceleratorSpec

    # the FP32-adder PE (L_add = 4: four OS accumulator slots per PE); the preset's exact PE has one slot,
    # its 16 x 32 OS tiles divide the 576 columns exactly
    arch = resolve(AcceleratorSpec(add_latency_cycles=4))
    g = map_gemm(op, arch, node=node)
    peak = op.macs / arch.peak_macs_per_cycle
    assert g.dataflow == "os"
    # OS tiles of 16 x 128 outputs: 576 columns fill 576 / 640 of them, so at most 90 % of the peak
    assert peak / (g.array_cycles + g.onchip_cycles) <= 576 / 640 + 1e-9
    ws = map_gemm(op, dataclasses.replace(arch, dataflow="ws"), node=node)
    # WS, either orientation, streams 32 pixels of one channel of X or dY per beat, 64 channels (128 B =
    # 16 words) apart: banks 0 and 16 only, 16 cycles a beat
    stream = max(ws.port_cycles["act"], ws.port_cycles["grad"])
    assert stream == pytest.approx(16 * ws.beat_cycles, rel=0.01)
    assert ws.array_cycles + ws.onchip_cycles > 5 * (g.array_cycles + g.onchip_cycles)
    off = map_gemm(op, dataclasses.replace(arch, onchip_costs=False), node=node)
    assert off.onchip_cycles == 0 and off.port_cycles == {}


def test_partial_sums_read_modify_write_across_k_tiles():
    # 2:8 FF of 32 filters over k = 256 (two WS k tiles of 16 rows x 8) and 1,000 columns: every tile writes
    # 32 x 1,000 FP32 partial sums (256,000 B over the 128 B/cycle write port: 2,000 cycles); the second k
    # tile reads the first's back (128,000 B) and the results leave for DRAM as FP16 (64,000 B): 1,500
    # cycles on the read port.
    op = GemmOp(
        name="fc:FF", layer="fc", pass_="FF", role="fwd", m=32, n=1000, k=256, repeat=1,
        a_kind="weight", b_kind="act", c_kind="act", pattern="nm", density=0.25, nm=(2, 8), mask="ff",
    )  # fmt: skip
    g = map_gemm(op, dataclasses.replace(resolve(None), dataflow="ws"))
    assert g.port_cycles["out_write"] == pytest.approx(2000)
    assert g.port_cycles["out_read"] == pytest.approx(1500)
    assert g.port_bytes["out_write"] == 256_000 and g.port_bytes["out_read"] == 192_000
