"""The offline scheduler: tilings fit the buffers and cover the GEMM exactly, modes follow the sparsity,
the dataflow optimisations change what the timing contract says they change."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from sparsesim.errors import SpecError
from sparsesim.graph.lower import GemmOp, OpGraph, PruneOp
from sparsesim.sat import timing
from sparsesim.sat.arch import resolve
from sparsesim.sat.schedule import build_schedule, map_gemm, plan_gemm
from sparsesim.scalesim import arch_from_config, read_config
from sparsesim.spec import AcceleratorSpec


def _gemm(m, n, k, nm=None, pass_="FF", a_kind="weight", b_kind="act", repeat=1, name="g"):
    return GemmOp(
        name,
        "layer",
        pass_,
        "fwd",
        m=m,
        n=n,
        k=k,
        repeat=repeat,
        a_kind=a_kind,
        b_kind=b_kind,
        c_kind="act",
        pattern="bdwp" if nm else "dense",
        density=nm[0] / nm[1] if nm else 1.0,
        nm=nm,
    )


SHAPES = [
    (64, 100352, 576, (2, 8)),
    (512, 1568, 4608, (2, 8)),
    (1000, 32, 2048, None),
    (64, 576, 100352, None),
    (33, 77, 40, (1, 4)),
    (7, 5, 3, None),
    (256, 6272, 1024, (2, 4)),
]


def _check_mapping(arch, op, mp):
    p = arch.array
    # tile counts x tile MACs == op MACs, every tile fits the array
    assert sum(r.count * r.shape.m * r.shape.n * r.shape.k for r in mp.tile_runs) == op.macs
    for r in mp.tile_runs:
        timing.check_tile(p, mp.mode, r.shape)
    # every block fits its buffer (double-buffered: the two halves together)
    for buf, used in mp.buffer_bytes.items():
        assert used <= arch.buffer_bytes(buf) * 1.0001, (buf, used)
    # the array's cycles are the timing contract's for this tile sequence
    assert mp.array_cycles >= mp.beat_cycles + mp.accumulate_cycles
    assert mp.array_cycles >= max(timing.tile_cycles(p, mp.mode, r.shape) for r in mp.tile_runs)
    # DRAM bytes at least each operand once
    assert mp.dram_bytes > 0


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s[:3])))
@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"dataflow": "os"},
        {"act_buffer_kib": 64, "weight_buffer_kib": 16, "out_buffer_kib": 32, "grad_buffer_kib": 16},
    ],
    ids=["default", "os", "small-buffers"],
)
def test_tiles_fit_and_cover_the_gemm(shape, spec):
    arch = resolve(AcceleratorSpec(**spec))
    op = _gemm(*shape)
    mp = map_gemm(op, arch)
    _check_mapping(arch, op, mp)
    assert mp.mode.sparse == (op.nm is not None)
    if op.nm:
        assert (mp.mode.n, mp.mode.m) == op.nm and not mp.transposed
    naive = map_gemm(op, arch.with_optimisations(offline_schedule=False), naive=True)
    _check_mapping(arch, op, naive)
    assert naive.dataflow == (spec.get("dataflow") or "ws") and not naive.transposed


def test_ws_cycles_equal_the_sequence_when_blocks_are_even():
    arch = resolve(None)
    op = _gemm(64, 4096, 256, (2, 8))
    mp = map_gemm(op, arch)
    tiles = [r.shape for r in mp.tile_runs for _ in range(r.count)]
    assert len({t.n for t in tiles}) == 1
    # the SLR crossing registers add their latency once to the sequence (fpga/floorplan.py)
    end = timing.sequence(arch.array, mp.mode, tiles)[-1].end
    assert mp.array_cycles == end + 1 + arch.slr_latency_cycles


def test_sparse_gemms_run_nm_and_dense_ones_dense(bdwp_tiny):
    arch = resolve(None)
    sched = build_schedule(bdwp_tiny.ops, arch, bdwp_tiny.graph)
    n_sparse = 0
    for op in bdwp_tiny.ops.gemms():
        g = sched.plans[op.name].gemm
        _check_mapping(arch, op, g)
        if op.nm is not None:
            n_sparse += 1
            assert g.mode.sparse and (g.mode.n, g.mode.m) == op.nm == (2, 8)
            assert g.mode_text.endswith("2:8")
        else:
            assert not g.mode.sparse
    assert n_sparse == 4  # conv2, conv3: FF and BP (first and last layers dense)


def test_interleave_off_costs_what_timing_says_on_os():
    # A 4-cycle accumulating adder (the FP32-adder PE design's); the preset's exact adder takes one cycle,
    # so its one accumulator slot never waits and interleave changes nothing (checked last).
    arch = resolve(AcceleratorSpec(dataflow="os", add_latency_cycles=4))
    off = arch.with_optimisations(interleave=False)
    p = arch.array
    for shape in [(64, 512, 576, (2, 8)), (64, 576, 8192, None)]:
        op = _gemm(*shape)
        on_m, off_m = map_gemm(op, arch), map_gemm(op, off)
        assert on_m.accumulate_cycles == 0 and off_m.accumulate_cycles > 0
        assert not off_m.mode.interleave and off_m.array_cycles > on_m.array_cycles
        want = timing.os_runs_cycles(p, off_m.mode, [(r.shape.k, r.count) for r in off_m.tile_runs])
        assert off_m.array_cycles == want
        assert off_m.accumulate_cycles == sum(
            r.count * timing.os_accumulate_stall_cycles(p, off_m.mode, r.shape.k) for r in off_m.tile_runs
        )
    preset = resolve(AcceleratorSpec(dataflow="os"))
    op = _gemm(64, 576, 8192, None)
    assert map_gemm(op, preset).array_cycles == map_gemm(op, preset.with_optimisations(interleave=False)).array_cycles


def test_dram_bytes_follow_the_loop_order():
    arch = resolve(None)
    op = _gemm(64, 100352, 576, (2, 8))
    mp = map_gemm(op, arch)
    a_once = 64 * 576 * (2 / 8) * (2 + 3 / 8)  # values + 3-bit indices
    b_once = 576 * 100352 * 2
    assert mp.order == "a_resident" and mp.a_bytes == round(a_once)
    assert mp.b_bytes == b_once * math.ceil(64 / mp.block[0]) and mp.c_bytes == 64 * 100352 * 2
    # im2col is formed on chip: the raw input is read, not the kh*kw-times larger im2col matrix
    raw = 64 * 56 * 56 * 32
    assert map_gemm(op, arch, raw_in=raw).b_bytes == raw * 2


def test_pregeneration_off_puts_generation_on_demand(bdwp_tiny):
    arch = resolve(None)
    on = build_schedule(bdwp_tiny.ops, arch, bdwp_tiny.graph)
    off = build_schedule(bdwp_tiny.ops, arch.with_optimisations(pregenerate=False), bdwp_tiny.graph)
    gens = [op.name for op in bdwp_tiny.ops.ops() if isinstance(op, PruneOp)]
    assert gens and on.weight_deps == {}
    assert all(any(d.endswith(":UPD") for d in on.deps[g]) for g in gens)  # after the layer's update
    consumers = {g: gemm for gemm, gs in off.weight_deps.items() for g in gs}
    for g in gens:
        assert off.deps[g] == [] and consumers[g].split(":")[1] == ("FF" if g.endswith(".ff") else "BP")
        assert g in off.deps[g.split(":")[0] + ":UPD"]  # the update waits until the old weights were read


def test_update_waits_for_the_bp_gemm_and_backward_for_forward(bdwp_tiny):
    sched = build_schedule(bdwp_tiny.ops, resolve(None), bdwp_tiny.graph)
    assert "conv2:BP" in sched.deps["conv2:UPD"]
    assert sched.deps["fc:BP"]  # the loss gradient needs the forward pass


def test_unsupported_nm_is_a_spec_error():
    og = OpGraph(batch=1)
    og.add_op(_gemm(64, 64, 64, (4, 8)))
    with pytest.raises(SpecError, match="4:8"):
        build_schedule(og, resolve(None))
    sched = build_schedule(og, resolve(AcceleratorSpec(multipliers_per_pe=4)))
    assert sched.plans["g"].gemm.mode.n == 4


def test_nm_layer_with_k_not_a_multiple_of_m_runs_dense():
    mp = map_gemm(_gemm(32, 64, 12, (2, 8)), resolve(None))
    assert not mp.mode.sparse and "ran dense" in mp.note


def test_ws_stream_lengths_grouped_in_two_runs_stay_within_half_a_percent():
    """The scheduler times WS tiles of lengths q+1 and q as two runs; the hardware interleaves them per block.
    The error of that grouping is what docs/sat_model.md bounds."""
    import random

    p = resolve(None).array
    rng = random.Random(0)
    for _ in range(200):
        n, nb, per, reps = rng.randint(1, 2000), rng.choice([16, 64, 128, 512]), rng.randint(1, 8), rng.randint(1, 4)
        blocks = math.ceil(n / nb)
        q, r = divmod(n, blocks)
        lengths = ([q + 1] * r + [q] * (blocks - r)) * reps
        exact = timing.ws_runs_cycles(p, [(t, per) for t in lengths])
        grouped = timing.ws_runs_cycles(p, [(q + 1, r * per * reps), (q, (blocks - r) * per * reps)])
        assert abs(grouped - exact) <= 0.005 * exact


def test_a_shared_mapping_cache_gives_the_schedules_made_alone(bdwp_tiny):
    """The run and its dense baseline share GEMM mappings (sat.schedule.MappingCache): each schedule must be
    the one built without the cache, and the dense baseline must find the dense (WU) GEMMs already mapped."""
    from sparsesim.sat.schedule import MappingCache
    from sparsesim.sat.simulate import dense_opgraph

    arch = resolve(None)
    dense_ops = dense_opgraph(bdwp_tiny)
    cache = MappingCache(arch)
    shared = [build_schedule(ops, arch, bdwp_tiny.graph, cache=cache) for ops in (bdwp_tiny.ops, dense_ops)]
    after_sparse = len(cache.mappings)
    alone = [build_schedule(ops, arch, bdwp_tiny.graph) for ops in (bdwp_tiny.ops, dense_ops)]
    for a, b in zip(shared, alone):
        assert a.plans == b.plans and a.order == b.order
    reused = sum(op.nm is None for op in dense_ops.gemms() if op.pass_ == "WU")
    assert reused > 0 and len(cache.mappings) < after_sparse + len(list(dense_ops.gemms()))
    with pytest.raises(ValueError, match="another arch"):
        build_schedule(dense_ops, arch.with_optimisations(interleave=False), bdwp_tiny.graph, cache=cache)


def test_array_ops_carry_the_op_engines_stages_scalesim_none():
    """The preset's op engine stages (counted from rtl/opengine's registers; the RTL benches measure them):
    WS 9 + 3 before the array, OS 9 + 4 (the issue's 4 registers and the sequencer's 5 settle cycles); after
    it 1 + 1, and the out buffer's read register + its FP32 adder's 6 stages (7; INT32 adder: 1 + 1) on WS
    ops and OS ops of several k-blocks; a SCALE-Sim array has none."""
    op = _gemm(64, 512, 576)
    for df, before in (("ws", 12), ("os", 13)):
        arch = resolve(AcceleratorSpec(dataflow=df))
        mapping = map_gemm(op, arch)
        plan = plan_gemm(op, arch, mapping)
        after = 2 + (7 if df == "ws" or mapping.block[2] < mapping.k else 0)
        assert (plan.prologue_stage_cycles, plan.epilogue_stage_cycles) == (before, after)
        bare = dataclasses.replace(plan, prologue_stage_cycles=0, epilogue_stage_cycles=0)
        assert plan.alone_cycles(arch) == pytest.approx(bare.alone_cycles(arch) + before + after)
        # k in two blocks: the final sums pass the out buffer's adders on both dataflows
        halves = dataclasses.replace(mapping, block=(*mapping.block[:2], mapping.k // 2))
        assert plan_gemm(op, arch, halves).epilogue_stage_cycles == 9
        whole = dataclasses.replace(mapping, block=(*mapping.block[:2], mapping.k))
        assert plan_gemm(op, arch, whole).epilogue_stage_cycles == (9 if df == "ws" else 2)
    int8 = resolve(AcceleratorSpec(dataflow="ws", precision="int8"))
    assert plan_gemm(op, int8, map_gemm(op, int8)).epilogue_stage_cycles == 1 + 2 + 1
    sim = arch_from_config(read_config(Path(__file__).parent / "data" / "scalesim" / "ws32.cfg"))
    plan = plan_gemm(op, sim, map_gemm(op, sim))
    assert (plan.prologue_stage_cycles, plan.epilogue_stage_cycles) == (0, 0)
    stages = ("issue", "fill_ws", "fill_os", "writeback", "accumulate", "response")
    assert all(sim.sources[f"op_{t}_cycles"] for t in stages)


def test_op_engine_streams_and_its_ports_bound_the_steady_phase():
    """With the op engine (preset: dram_port_bytes > 0) an array op exposes no first-tile or last-tile bytes
    (the engine streams them; checked cycle for cycle against the RTL engine in tests/rtl), and each
    operand's stream through its own port bounds the op: the op takes at least its larger read operand's
    bytes over the port width, written out here from the mapping's bytes. Without the engine (port 0) the
    first tile's operands are exposed and no port bound applies."""
    op = _gemm(16, 4096, 256, nm=(2, 8))  # few output rows: each activation is used by one m-tile
    base = resolve()
    assert base.dram_port_bytes == 128 and base.op_engine_streams
    mp = map_gemm(op, base)
    plan = plan_gemm(op, base, mp)
    assert mp.prologue_bytes == mp.epilogue_bytes == 0 == plan.prologue_bytes == plan.epilogue_bytes
    def fixed(p):
        return 2 * base.dram_latency_cycles + p.prologue_stage_cycles + p.epilogue_stage_cycles

    assert plan.alone_cycles(base) >= fixed(plan) + max(mp.a_bytes, mp.b_bytes) / 128 - 1e-9
    # a narrow port binds: the steady phase is the activations' stream, not the array's work
    narrow = dataclasses.replace(base, dram_port_bytes=16)
    mp_n = map_gemm(op, narrow)
    plan_n = plan_gemm(op, narrow, mp_n)
    assert mp_n.dram_port_cycles >= max(mp_n.a_bytes, mp_n.b_bytes) / 16 - 1e-9 > plan_n.busy_cycles
    assert plan_n.alone_cycles(narrow) >= fixed(plan_n) + max(mp_n.a_bytes, mp_n.b_bytes) / 16 - 1e-9
    # no op engine: the first tile's operands and the last results are exposed, no port bound
    plain = dataclasses.replace(base, dram_port_bytes=0)
    mp_p = map_gemm(op, plain)
    assert mp_p.prologue_bytes > 0 and mp_p.epilogue_bytes > 0 and mp_p.dram_port_cycles == 0
