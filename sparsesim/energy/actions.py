"""Action counts of a simulated run, read from the schedule the simulator ran (no second timing model).

Per op of the SAT-style accelerator (`sat_op_counts`):

- PE array, GEMMs: what the array issues for the op's tile sequence (`issued_work`), from the tile shapes
  and the array's geometry: multiplies = the live lanes of every beat at every PE (N per M-group in N:M
  mode: only kept weights reach a multiplier, each taking its activation through an M:1 index select; every
  element dense, pruned zeros included), counted over every PE a beat reaches, so the padding of a tile
  smaller than the array is counted (an OS tile runs all rows x columns x accumulator slots, a WS beat passes
  all columns: the RTL multiplies there too, by zeros); additions = the P-input tree's P - 1 adds and the
  accumulation add per PE beat (WS: the partial-sum chain's add in every row); results = the words the array
  emits (every column of every result beat; with exact accumulation each one is rounded at the edge);
  buffer traffic from the tile sequence: every array tile reads its A block (compressed for N:M) and its B
  block once from their buffers and writes its result words (FP32/INT32) to the out buffer, reading the
  partial sums back to accumulate when the reduction spans several tiles; every DRAM byte read is written
  into a buffer and every result byte written to DRAM is read from the out buffer.
- vector unit: one FP32 operation per element read or produced, per pass (`schedule.VECTOR_PASSES`).
- weight-update engine: per parameter, SGD with momentum is 2 multiplies + 2 adds, SR-STE's decay 1 + 1 more.
- sparse-weight generator (SORE): each lane streams M values of a group past N running top-N registers:
  groups x M x N magnitude compares.
- DRAM bytes read and written, split as the scheduler computed them.
"""

from __future__ import annotations

import math
from typing import Any

from ..graph.lower import GemmOp, PruneOp, UpdateOp, VectorOp
from ..sat import timing

# Bytes per parameter the update writes (FP32 weight and momentum, FP16 copy): owned by the schedule, which
# also times the update engine's write port with it.
from ..sat.schedule import UPDATE_WRITE_BYTES_PER_PARAM, VECTOR_PASSES, OpPlan, _buffer_of

# SGD with momentum per parameter: v = mu*v + g (1 mul, 1 add); w = w - lr*v (1 mul, 1 add).
SGD_MOMENTUM_MULS, SGD_MOMENTUM_ADDS = 2, 2
# SR-STE decay of the pruned weights: + lambda * (1 - mask) * w (1 mul, 1 add).
SRSTE_MULS, SRSTE_ADDS = 1, 1


def issued_work(plan: OpPlan, arch: Any) -> dict[str, float]:
    """What the PE array does for one GEMM's tile sequence (module docstring): multiplies, additions and
    result words, padding included, from the tile shapes and the array's geometry (no timing)."""
    g = plan.gemm
    assert g is not None
    p, mode = arch.array, g.mode
    e = timing.elements_per_cycle(p, mode)
    lanes = p.multipliers
    mults = adds = words = 0.0
    for run in g.tile_runs:
        t = run.shape
        steps = math.ceil(t.k / e)
        live = steps * int(mode.n) if mode.sparse else t.k  # live lanes of one A row over the tile
        if mode.dataflow == "os":  # every PE runs every slot of every step: R x C x I outputs
            outputs = p.rows * p.cols * timing.os_slots(p, mode)
            mults += run.count * outputs * live
            adds += run.count * outputs * steps * lanes
            words += run.count * p.rows * timing.os_slots(p, mode) * p.cols
        else:  # WS: each of the n activation beats passes every column; rows past the k steps add the chain
            mults += run.count * p.cols * t.n * live
            adds += run.count * p.cols * t.n * (steps * (lanes - 1) + p.rows)
            words += run.count * t.n * p.cols
    return {"multiplies": mults, "additions": adds, "result_words": words}


def array_traffic(plan: OpPlan, arch: Any) -> dict[str, float]:
    """Bytes the PE array moves between its buffers and itself for one GEMM, from the tile sequence: A and
    B read once per tile (A compressed for N:M: kept values plus their log2(M)-bit indices), the result
    words the array emits written per tile (FP32/INT32, padding included: `issued_work`), and the partial
    sums of the real outputs read back to accumulate for every k-slice after the first."""
    g = plan.gemm
    assert g is not None
    eb, cb = arch.element_bytes, arch.accum_bytes
    if g.mode.sparse:
        n, m = g.mode.n, g.mode.m
        a_elem = n / m * (eb + (m - 1).bit_length() / 8)  # type: ignore[operator]
    else:
        a_elem = float(eb)
    a_reads = b_reads = c_real = 0.0
    for run in g.tile_runs:
        t = run.shape
        a_reads += run.count * t.m * t.k * a_elem
        b_reads += run.count * t.k * t.n * eb
        c_real += run.count * t.m * t.n * cb
    c_writes = issued_work(plan, arch)["result_words"] * cb
    c_reads = max(0.0, c_real - g.repeat * g.m * g.n * cb)  # accumulate: all but the first k-slice
    return {
        "a_read_bytes": a_reads, "b_read_bytes": b_reads, "c_write_bytes": c_writes, "c_read_bytes": c_reads,
    }  # fmt: skip


def gemm_counts(op: GemmOp, plan: OpPlan, arch: Any, accumulator: str | None = None) -> dict[str, float]:
    g = plan.gemm
    assert g is not None
    work = issued_work(plan, arch)
    mults = work["multiplies"]
    counts: dict[str, float] = {"pe_multiply": mults, "pe_add": work["additions"]}
    if g.mode.sparse:
        counts["nm_index_select"] = mults
    if accumulator == "exact":  # every result word is rounded to FP32 once at the array's edge
        counts["edge_round"] = work["result_words"]
    t = array_traffic(plan, arch)
    a_reads, b_reads, c_writes, c_reads = (
        t["a_read_bytes"], t["b_read_bytes"], t["c_write_bytes"], t["c_read_bytes"]
    )  # fmt: skip
    a_kind, b_kind = (op.b_kind, op.a_kind) if g.transposed else (op.a_kind, op.b_kind)
    a_buf, b_buf = _buffer_of(a_kind), _buffer_of(b_kind)

    def add(key: str, v: float) -> None:
        counts[key] = counts.get(key, 0.0) + v

    add(f"{a_buf}_buffer_read_byte", a_reads)
    add(f"{b_buf}_buffer_read_byte", b_reads)
    add("out_buffer_write_byte", c_writes)
    add("out_buffer_read_byte", c_reads)
    # DRAM -> buffers (operands as loaded, re-reads included) and out buffer -> DRAM.
    add(f"{a_buf}_buffer_write_byte", g.a_bytes)
    add(f"{b_buf}_buffer_write_byte", g.b_bytes)
    add("out_buffer_read_byte", g.c_bytes)
    counts["dram_read_byte"] = float(g.a_bytes + g.b_bytes)
    counts["dram_write_byte"] = float(g.c_bytes)
    return counts


def sat_op_counts(op: Any, plan: OpPlan, arch: Any, accumulator: str | None = None) -> dict[str, float]:
    """Action -> count for one op as the scheduler planned it (empty for ops fused into another);
    `accumulator` the PE design ("exact" adds the edge roundings)."""
    if plan.fused_into:
        return {}  # col2im accumulated in the out buffer: its traffic is in its GEMM's counts
    if isinstance(op, GemmOp):
        return gemm_counts(op, plan, arch, accumulator)
    eb = arch.element_bytes
    if isinstance(op, VectorOp):
        passes = VECTOR_PASSES.get(op.kind, 1)
        return {
            "vector_op": float(max(op.reads, op.elements) * passes),
            "dram_read_byte": float(op.reads * eb),
            "dram_write_byte": float(op.elements * eb),
        }
    if isinstance(op, UpdateOp):
        srste = "sr-ste" in plan.mode
        writes = op.params * UPDATE_WRITE_BYTES_PER_PARAM
        return {
            "wu_multiply": float(op.params * (SGD_MOMENTUM_MULS + SRSTE_MULS * srste)),
            "wu_add": float(op.params * (SGD_MOMENTUM_ADDS + SRSTE_ADDS * srste)),
            "dram_read_byte": float(plan.dram_bytes - writes),
            "dram_write_byte": float(writes),
        }
    if isinstance(op, PruneOp):
        reads = op.groups * op.m * eb
        return {
            "sorter_compare": float(op.groups * op.m * op.n),
            "dram_read_byte": float(reads),
            "dram_write_byte": float(plan.dram_bytes - reads),
        }
    raise TypeError(f"no action counts for {op!r}")  # pragma: no cover - the OpGraph has no other ops


def engine_idle_cycles(rows: list[dict[str, Any]] | Any, total_cycles: float) -> dict[str, float]:
    """Cycles of the run each engine spent without an op (its clock still runs)."""
    busy: dict[str, float] = dict.fromkeys(("pe_array", "vector", "wu_engine", "sorter"), 0.0)
    for r in rows:
        busy[r["engine"]] = busy.get(r["engine"], 0.0) + r["cycles"]
    return {e: max(0.0, total_cycles - b) for e, b in busy.items()}


def mobile_op_counts(row: Any) -> dict[str, float]:
    """Action -> count for one row of the mobile per-op table: instructions per class and the bytes they
    move through L1 (the core model's kernel mix over the op's core cycles, all threads), bytes at L2/L3/DRAM
    from the memory model."""

    def n(col: str) -> float:
        v = float(row.get(col, 0.0))
        return v if math.isfinite(v) else 0.0

    return {
        "ldst_instruction": n("ldst_instructions"),
        "neon_mac_instruction": n("neon_mac_instructions"),
        "neon_instruction": n("neon_instructions"),
        "scalar_instruction": n("scalar_instructions"),
        "l1_byte": n("l1_bytes"),
        "l2_byte": float(row["l2_bytes"]),
        "l3_byte": float(row["l3_bytes"]),
        "dram_byte": float(row["dram_bytes"]),
    }
