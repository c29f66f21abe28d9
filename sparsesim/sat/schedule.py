"""The offline scheduler: maps every op of an OpGraph onto the SAT-style accelerator (the *mapping*).

For each GEMM it chooses the dataflow (WS or OS), the N:M mode, whether to run the transposed GEMM
(C^T = B^T A^T, dense only), the on-chip block (Mb x Nb x Kb, double-buffered, fitting the buffers), the loop
order over blocks and hence the DRAM bytes per operand, and it computes the array's cycles with the timing
contract. Every other op gets its engine, work cycles and DRAM bytes. On top, it fixes the iteration's order:
dependencies (the OpGraph's edges, plus write-after-read edges on the weights), pre-generation or on-demand
generation of the N:M weights, and priorities for the list scheduler in `engines` (longest path to the end).

Loop orders over blocks (Mb, Nb, Kb) and the DRAM traffic they imply (A, B, C: the op's operand bytes):
- ``a_resident``: Kb = K, m-blocks outer, n-blocks inner: the A block stays, B is re-read per m-block:
  A + B * ceil(M/Mb) + C.
- ``b_resident``: Kb = K, n-blocks outer: A + B + ... re-read per n-block: A * ceil(N/Nb) + B + C.
- ``c_resident``: k-blocks innermost, the C block accumulates in the out buffer (accumulate-on-write):
  A * ceil(N/Nb) + B * ceil(M/Mb) + C.

`offline_schedule` off gives the naive schedule: fixed dataflow (WS unless forced), no transposition,
blocks of one array tile in m and k and a fixed stream of 256 columns (c_resident), ops one at a time in
program order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import SpecError
from ..graph.lower import GemmOp, OpGraph, PruneOp, UpdateOp, VectorOp
from .arch import SatArch
from .onchip import Layout, beat_access, gather_cost, operand_layouts
from .timing import (
    ArrayParams,
    BlockStream,
    Mode,
    TileShape,
    capacity,
    elements_per_cycle,
    first_action_wait,
    first_pass_wait,
    os_accumulate_stall_cycles,
    os_beat_gap,
    os_beats,
    os_next_start,
    os_runs_cycles,
    os_slots,
    ws_runs_cycles,
    ws_sequence,
    ws_steady_interval,
)

ENGINES = ("pe_array", "vector", "wu_engine", "sorter")
NAIVE_STREAM = 256  # naive schedule's fixed n-block (WS stream length): long enough to hide weight loads

# Vector-unit cycles per element and lane by kind (one pass over the data, our choice): softmax needs a max
# pass and an exp/sum pass over the row before it scales, the others stream once.
VECTOR_PASSES = {"softmax": 2}

# Bytes per parameter the weight-update engine moves (AMP mixed precision, SGD with momentum):
# FP32 master weight and momentum read and written (4 x 4 B), FP16 gradient read (2 B), FP16 copy
# written (2 B).
UPDATE_BYTES_PER_PARAM = 4 + 4 + 2 + 4 + 4 + 2
# Of which written: FP32 weight and momentum, FP16 copy.
UPDATE_WRITE_BYTES_PER_PARAM = 4 + 4 + 2


@dataclass(frozen=True)
class TileRun:
    """`count` array tiles of one shape (as the timing contract sees them)."""

    shape: TileShape
    count: int


@dataclass(frozen=True)
class GemmMapping:
    """How one GemmOp runs on the array."""

    dataflow: str  # ws | os
    mode: Mode
    transposed: bool
    m: int  # GEMM dims as run (after transposition)
    n: int
    k: int
    repeat: int
    block: tuple[int, int, int]  # Mb, Nb, Kb
    order: str  # a_resident | b_resident | c_resident
    tile_runs: tuple[TileRun, ...]
    tiles: int
    array_cycles: int  # the array's cycles for the op's tile sequence on an idle array (timing contract)
    beat_cycles: int  # of which: cycles streaming operands (useful beats)
    accumulate_cycles: int  # of which: OS beats waiting for the adder (interleave off)
    a_bytes: int  # DRAM bytes per operand, re-reads included
    b_bytes: int
    c_bytes: int
    buffer_bytes: dict[str, int]  # on-chip bytes per buffer (both halves)
    prologue_bytes: int = 0  # the first tile's operands, loaded before the array starts
    epilogue_bytes: int = 0  # the last tile's results, written after the array is done
    # The steady phase's least cycles from the op engine's per-operand DRAM ports (SatArch.dram_port_bytes:
    # each operand streams through its own port; `_Mapper._time`); 0 without a port limit.
    dram_port_cycles: float = 0.0
    # Cycles the array waits for operand words its DRAM port delivers more slowly than the array reads them
    # (a word of several beats, in each block's first pass: `_Mapper.stream_wait`); 0 where every word is
    # at most a beat. Not in `array_cycles` (the array fed at its rate, as the timing contract times it).
    stream_wait_cycles: int = 0
    # Of those, the cycles before the array's first action (the op's first words late: `timing.
    # first_action_wait`); the rest fall between its first action and its last result.
    stream_wait_lead_cycles: int = 0
    note: str = ""
    # On-chip costs (sat.onchip): cycles the op waits beyond array_cycles for a buffer port, the address
    # generator or the out buffer's partial sums; and each port's demand in cycles (the largest binds).
    onchip_cycles: int = 0
    port_cycles: dict[str, float] = field(default_factory=dict)
    # Bytes through the array-side ports (sat.onchip): "<buffer>_read" = whole words fetched for gathered
    # operands (bank-word granularity, so at least the useful bytes), "out_read"/"out_write" = partial sums,
    # col2im's dX and results. For the energy model's buffer actions.
    port_bytes: dict[str, float] = field(default_factory=dict)

    @property
    def pipeline_cycles(self) -> int:
        """Fill/drain and weight-load bubbles of the array (timing contract)."""
        return self.array_cycles - self.beat_cycles - self.accumulate_cycles

    @property
    def dram_bytes(self) -> int:
        return self.a_bytes + self.b_bytes + self.c_bytes

    @property
    def mode_text(self) -> str:
        nm = f"{self.mode.n}:{self.mode.m}" if self.mode.sparse else "dense"
        extra = " T" if self.transposed else ""
        extra += "" if self.mode.interleave or self.dataflow == "ws" else " no-interleave"
        return f"{self.dataflow} {nm}{extra}"


@dataclass(frozen=True)
class OpPlan:
    """What the engines need to run one op: its engine, its cycles of work and its DRAM bytes.

    The op runs as: prologue (DRAM latency + `prologue_stage_cycles` + `prologue_bytes`, the first tile's
    operands), a steady phase (`busy_cycles` of work overlapped with the remaining bytes, double-buffered), an
    epilogue (DRAM latency + `epilogue_stage_cycles` + `epilogue_bytes`, the last results written). The stage
    cycles are the op engine's fixed register stages around the array (SatArch.op_*_cycles; array ops only).
    """

    name: str
    engine: str
    mode: str
    work_cycles: int  # useful work: array beats, or elements / lanes
    pipeline_cycles: int = 0  # array fill/drain and load bubbles
    accumulate_cycles: int = 0  # OS beat gaps without interleave
    onchip_cycles: int = 0  # waiting for buffer ports, bank conflicts, address generation (sat.onchip)
    dram_bytes: int = 0
    prologue_bytes: int = 0
    epilogue_bytes: int = 0
    prologue_stage_cycles: int = 0  # the op engine's issue and fill stages (SatArch.op_prologue_stage_cycles)
    # the steady phase's least cycles from the per-operand DRAM ports (GemmMapping.dram_port_cycles)
    dram_port_cycles: float = 0.0
    # the array's waits for words wider than their port's beat in each block's first pass
    # (GemmMapping.stream_wait_cycles)
    stream_wait_cycles: int = 0
    # its out buffer's add, write-back and response stages (SatArch.op_epilogue_stage_cycles)
    epilogue_stage_cycles: int = 0
    gemm: GemmMapping | None = None
    fused_into: str | None = None  # col2im accumulated in the out buffer while its GEMM runs

    @property
    def busy_cycles(self) -> int:
        return self.work_cycles + self.pipeline_cycles + self.accumulate_cycles + self.onchip_cycles

    @property
    def steady_floor_cycles(self) -> float:
        """The steady phase's least cycles with the DRAM to itself: the engine's work with its waits for
        words slower than the array (first passes over blocks, `stream_wait_cycles`), or an operand's stream
        through its own DRAM port where that is longer."""
        return max(self.busy_cycles + self.stream_wait_cycles, self.dram_port_cycles)

    @property
    def steady_bytes(self) -> int:
        return max(0, self.dram_bytes - self.prologue_bytes - self.epilogue_bytes)

    def alone_cycles(self, arch: SatArch) -> float:
        """Duration with the DRAM to itself (used for priorities and to attribute contention)."""
        if self.fused_into:
            return 0.0
        bw, lat = arch.dram_bytes_per_cycle, arch.dram_latency_cycles
        return (
            lat + self.prologue_stage_cycles + self.prologue_bytes / bw
            + max(self.steady_floor_cycles, self.steady_bytes / bw)
            + lat + self.epilogue_stage_cycles + self.epilogue_bytes / bw
        )  # fmt: skip


@dataclass
class Schedule:
    arch: SatArch
    plans: dict[str, OpPlan]
    order: list[str]  # program order (the naive schedule's sequence)
    deps: dict[str, list[str]]  # op -> ops that must finish first
    weight_deps: dict[str, list[str]] = field(default_factory=dict)  # GEMM -> GEN ops run on demand
    priority: dict[str, float] = field(default_factory=dict)
    ops: dict[str, Any] = field(default_factory=dict)  # name -> the OpGraph op

    def engine_ops(self, engine: str) -> list[str]:
        return [n for n in self.order if self.plans[n].engine == engine and not self.plans[n].fused_into]


# ------------------------------------------------------------------------------------------------- GEMMs
@dataclass(frozen=True)
class _Problem:
    """A GEMM as the mapper sees it: dims, operand bytes in DRAM and which buffer holds each operand."""

    m: int
    n: int
    k: int
    repeat: int
    a_elem_bytes: float  # per dense-equivalent A element (compressed for N:M)
    a_total: float  # DRAM bytes of each operand, read once
    b_total: float
    c_total: float
    c_elem_bytes: int
    a_buf: str
    b_buf: str
    a_layout: Layout | None = None  # how A and B sit in their buffers (None: pre-tiled weights)
    b_layout: Layout | None = None
    col2im_rmw: bool = False  # every result is accumulated into dX in the out buffer (col2im)


def _buffer_of(kind: str) -> str:
    return {"weight": "weight", "act": "act", "grad": "grad", "wgrad": "out"}.get(kind, "act")


def _pow2_steps(start: int, stop: int) -> list[int]:
    out, v = [], max(1, start)
    while v < stop:
        out.append(v)
        v *= 2
    return out


def _ceil_to(x: int, q: int) -> int:
    return -(-x // q) * q


class _Mapper:
    """Chooses the best mapping of one GEMM problem for one dataflow/mode (offline scheduler)."""

    def __init__(self, arch: SatArch, p: ArrayParams, mode: Mode, prob: _Problem):
        self.arch, self.p, self.mode, self.prob = arch, p, mode, prob
        self.cap = capacity(p, mode)
        self.e = elements_per_cycle(p, mode)
        self.bw = arch.dram_bytes_per_cycle
        self.port = arch.dram_port_bytes  # per operand; 0: no port limit
        self.lat = arch.dram_latency_cycles
        # the op engine's fixed stages before the array (the same terms as OpPlan.alone_cycles); those after
        # it depend on the candidate's k-block (`_time`)
        self.prologue_stages = arch.op_prologue_stage_cycles(mode.dataflow)
        # Double-buffered: a block may use half its buffer; A and B share when they live in one buffer.
        share = 2 if prob.a_buf == prob.b_buf else 1
        self.cap_a = arch.buffer_bytes(prob.a_buf) / 2 / share
        self.cap_b = arch.buffer_bytes(prob.b_buf) / 2 / share
        self.cap_c = arch.buffer_bytes("out") / 2
        if arch.sram_streaming:  # prefetching FIFOs: the buffers' size bounds no block (arch.sram_streaming)
            self.cap_a = self.cap_b = self.cap_c = math.inf
        self.ws = mode.dataflow == "ws"
        self.m_gran = self.cap.m
        if self.ws:
            self.k_gran = self.cap.k  # k blocks hold whole array tiles
            self.n_gran = 1
        else:
            self.k_gran = int(mode.m) if mode.sparse else self.e
            self.n_gran = int(self.cap.n)  # type: ignore[arg-type]
        self.gathers = self._gathers() if arch.onchip_costs else []
        # (nb, kb) -> compute() and onchip() of blocks of that size: the candidates of several loop orders
        # and m-blocks share them (a third as many as the candidates on ResNet-50)
        self._work: dict[tuple[int, int], tuple[tuple[int, int, int, tuple[TileRun, ...]], Any]] = {}

    # on-chip costs (sat.onchip) ---------------------------------------------------------------------
    def _gathers(self) -> list[tuple[str, float, float, float, str]]:
        """(buffer, cycles per access from bank conflicts, runs per access, bytes fetched per access,
        'beat' | 'load') of each operand
        the array gathers from a buffer: WS streams B' one column per beat and loads A' one array row per
        load-bus cycle; OS streams both, A' along the rows and B' along the columns."""
        p, pr, e = self.p, self.prob, self.e
        if self.ws:
            items = [
                (pr.b_layout, pr.b_buf, {"k": min(int(self.cap.k), pr.k), "n": 1}, "beat"),  # type: ignore[arg-type]
                (pr.a_layout, pr.a_buf, {"k": e, "m": min(p.cols, pr.m)}, "load"),
            ]
        else:
            items = [
                (pr.a_layout, pr.a_buf, {"m": min(p.rows, pr.m), "k": e}, "beat"),
                (pr.b_layout, pr.b_buf, {"k": e, "n": min(p.cols, pr.n)}, "beat"),
            ]
        out = []
        word = self.arch.buffer_word_bytes
        for layout, buf, counts, when in items:
            if layout is None:
                continue
            banks = max(1, int(self.arch.port_bytes_per_cycle(buf) // word))
            cyc, runs, fetched = gather_cost(
                layout, beat_access(layout, counts), self.arch.element_bytes, word, banks,
                self.arch.bank_mapping,
            )  # fmt: skip
            out.append((buf, cyc, runs, fetched, when))
        return out

    def onchip(
        self, cycles: int, beats: int, runs: tuple[TileRun, ...]
    ) -> tuple[int, dict[str, float], dict[str, float]]:
        """(cycles beyond `cycles` the busiest port needs, each port's demand in cycles, bytes through each
        port) for the op."""
        arch, pr = self.arch, self.prob
        if not arch.onchip_costs:
            return 0, {}, {}
        demand: dict[str, float] = {}
        moved: dict[str, float] = {}
        loads = sum(r.count * math.ceil(r.shape.k / self.e) for r in runs) if self.ws else 0
        agu_runs = 0.0
        for buf, cyc, nruns, fetched, when in self.gathers:
            n = beats if when == "beat" else loads
            demand[buf] = demand.get(buf, 0.0) + n * cyc
            moved[f"{buf}_read"] = moved.get(f"{buf}_read", 0.0) + n * fetched
            agu_runs += n * nruns
        if agu_runs:
            demand["agu"] = agu_runs / arch.agu_runs_per_cycle
        # Partial sums: every tile writes its results; all but the first k-slice read them back first.
        cb = arch.accum_bytes
        c_writes = sum(r.count * r.shape.m * r.shape.n for r in runs) * cb
        c_once = pr.repeat * pr.m * pr.n * cb
        c_reads = max(0, c_writes - c_once) + (c_once if pr.col2im_rmw else 0)
        port = arch.out_port_bytes_per_cycle
        demand["out_write"] = c_writes / port
        demand["out_read"] = (c_reads + pr.c_total) / port  # read-modify-write and results to the DMA
        moved["out_write"], moved["out_read"] = float(c_writes), float(c_reads + pr.c_total)
        need = max(demand.values())
        return max(0, math.ceil(need - cycles)), demand, moved

    # bytes of blocks ------------------------------------------------------------------------------
    def a_block(self, mb: int, kb: int) -> float:
        pr = self.prob
        return min(mb, pr.m) * min(kb, pr.k) * pr.a_elem_bytes

    def b_block(self, kb: int, nb: int) -> float:
        pr = self.prob
        return pr.b_total / pr.repeat * min(kb, pr.k) / pr.k * min(nb, pr.n) / pr.n

    def c_block(self, mb: int, nb: int) -> float:
        return min(mb, self.prob.m) * min(nb, self.prob.n) * self.arch.accum_bytes

    # compute ----------------------------------------------------------------------------------------
    def compute(self, nb: int, kb: int) -> tuple[int, int, int, tuple[TileRun, ...]]:
        """(array cycles, beat cycles, accumulate-stall cycles, tile runs) for blocks of nb x kb."""
        return _compute_cached(
            self.p, self.mode, self.prob.m, self.prob.n, self.prob.k, self.prob.repeat, nb, kb
        )

    # candidates -------------------------------------------------------------------------------------
    @functools.cached_property
    def _mb_list(self) -> list[int]:
        full = _ceil_to(self.prob.m, self.m_gran)
        return sorted({*_pow2_steps(self.m_gran, full), full}, reverse=True)

    def _mb_options(self) -> list[int]:
        return self._mb_list

    def _nb_options(self) -> list[int]:
        pr = self.prob
        if self.ws:
            return sorted({*_pow2_steps(16, pr.n), pr.n})
        full = _ceil_to(pr.n, self.n_gran)
        return sorted({*_pow2_steps(self.n_gran, full), full})

    @functools.cached_property
    def _kb_list(self) -> list[int]:
        full = _ceil_to(self.prob.k, self.k_gran)
        return sorted({*_pow2_steps(self.k_gran, full)}, reverse=True)

    def _kb_options(self) -> list[int]:
        return self._kb_list

    def traffic(self, order: str, mb: int, nb: int) -> tuple[float, float, float]:
        pr = self.prob
        n_mb, n_nb = math.ceil(pr.m / mb), math.ceil(pr.n / nb)
        a = pr.a_total * (1 if order in ("a_resident",) else n_nb)
        b = pr.b_total * (1 if order in ("b_resident",) else n_mb)
        return a, b, pr.c_total

    def candidates(self) -> Iterable[tuple[str, int, int, int]]:
        pr = self.prob
        for nb in self._nb_options():
            for order in ("a_resident", "b_resident"):
                if self.b_block(pr.k, nb) > self.cap_b:
                    continue
                for mb in self._mb_options():  # largest first: fewest re-reads
                    if self.a_block(mb, pr.k) <= self.cap_a and self.c_block(mb, nb) <= self.cap_c:
                        yield order, mb, nb, pr.k
                        break
            for mb in self._mb_options():
                if self.c_block(mb, nb) > self.cap_c:
                    continue
                for kb in self._kb_options():
                    if kb >= pr.k:
                        continue
                    if self.a_block(mb, kb) <= self.cap_a and self.b_block(kb, nb) <= self.cap_b:
                        yield "c_resident", mb, nb, kb
                        break

    def _time(self, order: str, mb: int, nb: int, kb: int) -> tuple[float, float, tuple[Any, ...]]:
        """(time alone, DRAM bytes, the terms `evaluate` reports) of one candidate."""
        work = self._work.get((nb, kb))
        if work is None:
            computed = self.compute(nb, kb)
            work = self._work[(nb, kb)] = (computed, self.onchip(computed[0], computed[1], computed[3]))
        (cycles, beats, acc, runs), (onchip, ports, moved) = work
        a, b, c = self.traffic(order, mb, nb)
        pr = self.prob
        first = runs[0].shape
        pro = self.a_block(first.m, first.k) + self.b_block(first.k, first.n)
        epi = min(first.m, pr.m) * min(first.n, pr.n) * pr.c_elem_bytes
        if self.arch.op_engine_streams:
            # the op engine's block buffers hand each word to the array as it arrives and its write DMA
            # takes each result as the array makes it (rtl/opengine): only the DRAM latency and the
            # engine's stages are exposed before and after the array, the bytes all overlap it
            pro = epi = 0.0
        total = a + b + c
        steady = max(0.0, total - pro - epi)
        stages = self.prologue_stages + self.arch.op_epilogue_stage_cycles(self.mode.dataflow, kb, pr.k)
        port = self.port_cycles(a, b, c, pro, epi)
        wait, lead = self.stream_wait(order, mb, nb, kb) if self.arch.op_engine_streams else (0, 0)
        busy = cycles + onchip + wait
        t = 2 * self.lat + stages + (pro + epi) / self.bw + max(busy, steady / self.bw, port)
        return t, total, (cycles, beats, acc, runs, a, b, c, pro, epi, onchip, ports, moved, port, wait, lead)

    def stream_wait(self, order: str, mb: int, nb: int, kb: int) -> tuple[int, int]:
        """Cycles the array waits for operand words that take more than a cycle of their DRAM port
        (SatArch.port_cycles_per_word: the 16x32 preset's weight words, activation words of lanes x E x 16
        bits over 1,024 bits), in the first pass over each block (`timing.first_pass_wait`; later passes
        read the block on chip at the array's rate). The two read ports run in parallel: the larger wait.
        Returns (the waits, those of them before the array's first action: `timing.first_action_wait`).

        The op engine's walk (rtl/opengine/sequencer.py): steps (m-block, n-block, k-block), k innermost,
        then n (a_resident, c_resident) or m (b_resident); a block is loaded when it differs from the
        previous step's. Inside a step WS runs m-tiles, k-tiles, the n-block as the stream: an activation
        block's first pass is its first m-tile (k-tiles bursts of n-block words), a weight block's every
        tile (R rows each, one a cycle on the load bus); OS runs m-tiles, n-tiles, the k-block as the
        reduction: an activation block's first pass is its first m-tile (n-tiles bursts of steps x slots
        words, one a beat), a weight block's the first n-tile of each m-tile (its steps, one per slots
        beats). Each tile of the step takes the steady interval of its shape; WS tiles with two weight
        banks alternate between a short and a long one (`BlockStream.swing`, from the contract's
        `ws_sequence`), which a block's first pass and its use follow."""
        arch, p, pr, mode = self.arch, self.p, self.prob, self.mode
        b_w = arch.port_cycles_per_word("weight", self.e)
        b_a = arch.port_cycles_per_word("act", self.e)
        if max(b_w, b_a) <= 1:
            return 0, 0
        m_blocks, n_blocks, k_blocks = (math.ceil(pr.m / mb), math.ceil(pr.n / nb), math.ceil(pr.k / kb))
        steps = pr.repeat * m_blocks * n_blocks * k_blocks
        mt = math.ceil(min(mb, pr.m) / self.cap.m)
        kbe = min(kb, pr.k)
        if order == "b_resident":  # n-blocks outer, m-blocks inner
            u_w = n_blocks if m_blocks == k_blocks == 1 else 1
            u_a = m_blocks if k_blocks == 1 else 1
        else:  # m-blocks outer, n-blocks inner
            u_w = n_blocks if k_blocks == 1 else 1
            u_a = m_blocks if n_blocks == k_blocks == 1 else 1
        swing, tiles = 0.0, 0
        if self.ws:
            kt = math.ceil(kbe / self.cap.k)  # type: ignore[operator]
            width = math.ceil(pr.n / n_blocks)  # the sequencer's n-blocks (n_q, n_r)
            interval = ws_steady_interval(p, width)
            # with two weight banks the tiles' starts alternate between a short and a long interval (the
            # op's first the short one); `interval` is their average
            first = ws_sequence(p, [width] * 3)
            swing = (first[2].start - 2 * first[1].start + first[0].start) / 2
            if abs(first[2].start - first[0].start - 2 * interval) > 1e-9:
                swing = 0.0  # not the steady pattern from the first tile: the average
            step = mt * kt * interval
            tiles = mt * kt
            w_burst, w_bursts, w_gap, w_spacing = p.rows, mt * kt, 1.0, interval
            a_burst, a_bursts, a_gap, a_spacing = width, kt, 1.0, interval
        else:
            slots, gap = os_slots(p, mode), os_beat_gap(p, mode)
            k_steps = math.ceil(kbe / self.e)
            nt = math.ceil(min(nb, pr.n) / self.cap.n)  # type: ignore[operator]
            interval = os_next_start(p, mode, kbe, kbe)
            step = mt * nt * interval
            w_burst, w_bursts, w_gap, w_spacing = k_steps, mt, float(gap * slots), nt * interval
            a_burst, a_bursts, a_gap, a_spacing = k_steps * slots, nt, float(gap), interval
        wait = 0.0
        streams: list[BlockStream | None] = []
        for b, burst, bursts, g, spacing, uses in (
            (b_w, w_burst, w_bursts, w_gap, w_spacing, u_w),
            (b_a, a_burst, a_bursts, a_gap, a_spacing, u_a),
        ):
            stream = None
            if b > 1:
                stream = BlockStream(
                    loads=steps // uses, cycles_per_word=b, burst_words=burst, bursts=bursts, gap=g,
                    spacing=float(spacing), use_cycles=float(uses * step),
                    reload_cycles=self.lat + arch.op_reload_cycles, swing=swing, block_tiles=uses * tiles,
                )  # fmt: skip
                wait = max(wait, first_pass_wait(stream))
            streams.append(stream)
        total = math.ceil(wait)
        return total, min(total, math.ceil(first_action_wait(bool(self.ws), streams[0], streams[1])))

    def port_cycles(self, a: float, b: float, c: float, pro: float, epi: float) -> float:
        """The steady phase's least cycles from the op engine's DRAM ports (one per operand, `self.port`
        bytes a cycle each): A and B each stream through their read port from the op's first read, so
        prologue and steady phase together take at least max(A, B) / port (the prologue moved its bytes at
        the DRAM's rate); the results but the last through the write port. 0 without a port limit."""
        if not self.port:
            return 0.0
        return max(0.0, max(a, b) / self.port - pro / self.bw, (c - epi) / self.port)

    def evaluate(self, order: str, mb: int, nb: int, kb: int) -> tuple[float, float, dict[str, Any]]:
        t, total, (cycles, beats, acc, runs, a, b, c, pro, epi, onchip, ports, moved, port, wait, lead) = (
            self._time(order, mb, nb, kb)
        )
        info = dict(
            order=order, block=(mb, nb, kb), cycles=cycles, beats=beats, acc=acc, runs=runs,
            a=a, b=b, c=c, pro=pro, epi=epi, onchip=onchip, ports=ports, moved=moved, port=port, wait=wait,
            lead=lead,
        )  # fmt: skip
        return t, total, info

    def best(self) -> tuple[float, float, dict[str, Any]] | None:
        best = None
        for cand in self.candidates():
            t, total, _ = self._time(*cand)
            key = (round(t), total)
            if best is None or key < best[0]:
                best = (key, cand)
        return None if best is None else self.evaluate(*best[1])  # the first of the fastest

    def naive(self) -> tuple[float, float, dict[str, Any]] | None:
        """One array tile in m and k per block, a fixed stream of NAIVE_STREAM columns, k innermost."""
        pr = self.prob
        mb = self.m_gran
        nb = min(pr.n, _ceil_to(NAIVE_STREAM, self.n_gran))
        kb = min(
            self.k_gran if self.ws else _ceil_to(min(pr.k, 1024), self.k_gran), _ceil_to(pr.k, self.k_gran)
        )
        fits = (
            self.a_block(mb, kb) <= self.cap_a and self.b_block(kb, nb) <= self.cap_b
            and self.c_block(mb, nb) <= self.cap_c
        )  # fmt: skip
        if not fits:
            return self.best()
        return self.evaluate("c_resident" if kb < pr.k else "a_resident", mb, nb, kb)


@lru_cache(maxsize=65536)
def _compute_cached(
    p: ArrayParams, mode: Mode, m: int, n: int, k: int, repeat: int, nb: int, kb: int
) -> tuple[int, int, int, tuple[TileRun, ...]]:
    cap = capacity(p, mode)

    def split(total: int, size: int) -> list[tuple[int, int]]:
        full, rem = divmod(total, size)
        return [(size, full)] * (full > 0) + [(rem, 1)] * (rem > 0)

    if mode.dataflow == "ws":
        n_blocks = math.ceil(n / nb)
        q, r = divmod(n, n_blocks)
        n_parts = [(q + 1, r)] * (r > 0) + [(q, n_blocks - r)] * (n_blocks - r > 0)
        m_parts = split(m, cap.m)
        k_parts = split(k, int(cap.k))  # type: ignore[arg-type]
        per_n = repeat * sum(c for _, c in m_parts) * sum(c for _, c in k_parts)
        cycles = ws_runs_cycles(p, [(t, per_n * c) for t, c in n_parts])
        beats = per_n * n
        acc = 0
    else:
        n_blocks = math.ceil(k / kb)
        k_parts = split(k, kb)
        m_parts = split(m, cap.m)
        n_parts = split(n, int(cap.n))  # type: ignore[arg-type]
        per_k = repeat * sum(c for _, c in m_parts) * sum(c for _, c in n_parts)
        cycles = os_runs_cycles(p, mode, [(kt, per_k * c) for kt, c in k_parts])
        beats = sum(per_k * c * os_beats(p, mode, kt) for kt, c in k_parts)
        acc = sum(per_k * c * os_accumulate_stall_cycles(p, mode, kt) for kt, c in k_parts)
    runs = tuple(
        TileRun(TileShape(mt, nt, kt), repeat * cm * cn * ck)
        for mt, cm in m_parts
        for nt, cn in n_parts
        for kt, ck in k_parts
    )
    return cycles, beats, acc, runs


def _operand_totals(op: GemmOp, arch: SatArch, sparse: bool, raw_in: int | None, dx_elems: int | None):
    """(A, B, C) DRAM bytes read/written once, and A's bytes per dense-equivalent element."""
    eb = arch.element_bytes
    if sparse:
        n, m = op.nm  # type: ignore[misc]
        a_elem = n / m * (eb + (m - 1).bit_length() / 8)  # values + log2(M)-bit indices
    else:
        a_elem = float(eb)
    a_total = op.repeat * op.m * op.k * a_elem
    b_total = float(op.repeat * op.k * op.n * eb)
    # im2col is formed on chip from the raw input (FF: B = im2col(X); WU: B = im2col(X)^T): move the smaller.
    if raw_in is not None and op.role in ("fwd", "wgrad") and op.b_kind == "act":
        b_total = min(b_total, float(raw_in * eb))
    c_total = float(op.repeat * op.m * op.n * eb)
    if op.post == "col2im" and dx_elems is not None:
        c_total = float(dx_elems * eb)  # col2im is accumulated on chip: only dX is written
    return a_elem, a_total, b_total, c_total


def map_gemm(
    op: GemmOp, arch: SatArch, *, raw_in: int | None = None, dx_elems: int | None = None, naive: bool = False,
    node: dict[str, Any] | None = None,
) -> GemmMapping:
    """The mapping of one GEMM: the fastest candidate alone on the accelerator (or the naive one). `node`
    (the op's LayerGraph node) gives the conv geometry the on-chip costs need (sat.onchip)."""
    p = arch.array
    sparse = arch.supports(op.nm) and op.k % int(op.nm[1]) == 0  # type: ignore[index]
    note = ""
    if op.nm is not None and not sparse:
        note = f"{op.nm[0]}:{op.nm[1]} not runnable sparse (k={op.k}); ran dense"
    a_elem, a_total, b_total, c_total = _operand_totals(op, arch, sparse, raw_in, dx_elems)
    a_layout, b_layout = operand_layouts(op, node, arch.pitch)
    kernel = (node or {}).get("kernel") or (1,)
    col2im_rmw = op.post == "col2im" and math.prod(kernel) > 1
    swap = {"m": "n", "n": "m"}
    dataflows = ("ws", "os") if arch.dataflow == "auto" else (arch.dataflow,)
    if naive:
        dataflows = ("ws",) if arch.dataflow == "auto" else (arch.dataflow,)
    best = None
    for df in dataflows:
        mode = Mode(df, *(op.nm if sparse else (None, None)), interleave=arch.interleave)  # type: ignore[misc]
        if sparse or naive:
            transposes: tuple[bool, ...] = (False,)
        elif arch.mapping == "scalesim":
            # SCALE-Sim's WS keeps the filters stationary (A as lowered); its OS puts the output pixels
            # (B's columns) on the array rows, i.e. runs C^T = B^T A^T.
            transposes = (df == "os",)
        else:
            transposes = (False, True)
        for tr in transposes:
            if tr:
                prob = _Problem(
                    op.n, op.m, op.k, op.repeat, float(arch.element_bytes), b_total, a_total, c_total,
                    arch.element_bytes, _buffer_of(op.b_kind), _buffer_of(op.a_kind),
                    b_layout.renamed(swap) if b_layout else None,
                    a_layout.renamed(swap) if a_layout else None, col2im_rmw,
                )  # fmt: skip
            else:
                prob = _Problem(
                    op.m, op.n, op.k, op.repeat, a_elem, a_total, b_total, c_total,
                    arch.element_bytes, _buffer_of(op.a_kind), _buffer_of(op.b_kind), a_layout, b_layout,
                    col2im_rmw,
                )  # fmt: skip
            mapper = _Mapper(arch, p, mode, prob)
            res = mapper.naive() if naive else mapper.best()
            if res is None:
                continue
            t, total, info = res
            key = (round(t), total)
            if best is None or key < best[0]:
                best = (key, df, mode, tr, prob, mapper, info)
    if best is None:
        raise SpecError(
            f"op {op.name} (m={op.m}, n={op.n}, k={op.k}) does not fit the on-chip buffers in any mapping; "
            "raise the *_buffer_kib sizes",
            path="accelerator",
        )
    _, df, mode, tr, prob, mapper, info = best
    mb, nb, kb = info["block"]
    bufs = {
        prob.a_buf: 2 * math.ceil(mapper.a_block(mb, kb)),
        "out": 2 * math.ceil(mapper.c_block(mb, nb)),
    }
    bufs[prob.b_buf] = bufs.get(prob.b_buf, 0) + 2 * math.ceil(mapper.b_block(kb, nb))
    mapping = GemmMapping(
        dataflow=df, mode=mode, transposed=tr, m=prob.m, n=prob.n, k=prob.k, repeat=prob.repeat,
        block=(mb, nb, kb), order=info["order"], tile_runs=info["runs"],
        tiles=sum(r.count for r in info["runs"]), array_cycles=info["cycles"], beat_cycles=info["beats"],
        accumulate_cycles=info["acc"], a_bytes=round(info["a"]), b_bytes=round(info["b"]),
        c_bytes=round(info["c"]), buffer_bytes=bufs, prologue_bytes=math.ceil(info["pro"]),
        epilogue_bytes=math.ceil(info["epi"]), dram_port_cycles=float(info["port"]),
        stream_wait_cycles=int(info["wait"]), stream_wait_lead_cycles=int(info["lead"]), note=note,
        onchip_cycles=int(info["onchip"]),
        port_cycles=dict(info["ports"]), port_bytes=dict(info["moved"]),
    )  # fmt: skip
    return mapping


def mapping_stream_wait(arch: SatArch, mapping: GemmMapping) -> tuple[int, int]:
    """The waits for words wider than their port's beat of `mapping` (its dataflow, mode, blocks and loop
    order) on `arch`, as `map_gemm` charges them: (stream_wait_cycles, stream_wait_lead_cycles). For a
    mapping evaluated on another architecture than the one that chose it (the RTL benches' mutations)."""
    if not arch.op_engine_streams:
        return 0, 0
    prob = _Problem(
        mapping.m, mapping.n, mapping.k, mapping.repeat, 0.0, 0.0, 0.0, 0.0, arch.element_bytes,
        _buffer_of("weight"), _buffer_of("act"), None, None, False,
    )  # fmt: skip
    mb, nb, kb = mapping.block
    return _Mapper(arch, arch.array, mapping.mode, prob).stream_wait(mapping.order, mb, nb, kb)


# --------------------------------------------------------------------------------------------- other ops
def plan_vector(op: VectorOp, arch: SatArch) -> OpPlan:
    passes = VECTOR_PASSES.get(op.kind, 1)
    work = math.ceil(max(op.reads, op.elements) * passes / arch.vector_lanes)
    onchip = 0
    if arch.onchip_costs:  # its read port takes every pass's reads, its write port the results
        port = arch.vector_port_bytes_per_cycle
        eb = arch.element_bytes
        onchip = max(0, math.ceil(max(op.reads * passes * eb / port, op.elements * eb / port)) - work)
    return OpPlan(
        op.name, "vector", op.kind, work_cycles=work, onchip_cycles=onchip,
        dram_bytes=(op.reads + op.elements) * arch.element_bytes,
    )


def plan_update(op: UpdateOp, arch: SatArch, nm: tuple[int, int] | None) -> OpPlan:
    nbytes = op.params * UPDATE_BYTES_PER_PARAM
    mode = "sgd+momentum fp32"
    if nm is not None:  # SR-STE decay needs the FF mask: the FF copy's log2(M)-bit indices
        n, m = nm
        nbytes += math.ceil(op.params * n / m * (m - 1).bit_length() / 8)
        mode += " sr-ste"
    work = math.ceil(op.params / arch.wu_lanes)
    onchip = 0
    if arch.onchip_costs:  # the engine's own read and write buses (arch.wu_port_bytes_per_cycle)
        writes = op.params * UPDATE_WRITE_BYTES_PER_PARAM
        port = arch.wu_port_bytes_per_cycle
        onchip = max(0, math.ceil(max(nbytes - writes, writes) / port) - work)
    return OpPlan(
        op.name, "wu_engine", mode, work_cycles=work, onchip_cycles=onchip, dram_bytes=nbytes
    )


def plan_generate(op: PruneOp, arch: SatArch) -> OpPlan:
    """SORE: each lane takes one element per cycle, M cycles per group; reads the FP16 dense weights and
    writes N values + N log2(M)-bit indices per group."""
    eb = arch.element_bytes
    reads = op.groups * op.m * eb
    writes = math.ceil(op.groups * op.n * (eb + (op.m - 1).bit_length() / 8))
    work = math.ceil(op.groups / arch.sorter_lanes) * op.m
    return OpPlan(
        op.name, "sorter", f"top-{op.n} of {op.m} ({op.mask})", work_cycles=work, dram_bytes=reads + writes
    )


def plan_gemm(op: GemmOp, arch: SatArch, mapping: GemmMapping) -> OpPlan:
    pro = min(mapping.dram_bytes, mapping.prologue_bytes)
    epi = min(mapping.dram_bytes - pro, mapping.epilogue_bytes)
    return OpPlan(
        op.name, "pe_array", mapping.mode_text, work_cycles=mapping.beat_cycles,
        pipeline_cycles=mapping.pipeline_cycles, accumulate_cycles=mapping.accumulate_cycles,
        onchip_cycles=mapping.onchip_cycles,
        dram_bytes=mapping.dram_bytes, prologue_bytes=pro, epilogue_bytes=epi,
        prologue_stage_cycles=arch.op_prologue_stage_cycles(mapping.dataflow),
        epilogue_stage_cycles=arch.op_epilogue_stage_cycles(mapping.dataflow, mapping.block[2], mapping.k),
        dram_port_cycles=mapping.dram_port_cycles, stream_wait_cycles=mapping.stream_wait_cycles,
        gemm=mapping,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------- whole graph
def _layer_sizes(graph: Any, batch: int) -> dict[str, tuple[int, int]]:
    """Conv layer -> (raw input elements, output elements) for the whole batch, from the LayerGraph.

    Only convs: their B operand (im2col) is formed on chip from the raw input; other GEMMs read B as is."""
    sizes: dict[str, tuple[int, int]] = {}
    if graph is None:
        return sizes
    for name, d in graph.nodes(data=True):
        shapes = d.get("in_shapes") or []
        if shapes and d.get("kind") in ("conv", "dwconv", "gconv"):
            sizes[name] = (math.prod(shapes[0]) * batch, int(d.get("out_elems", 0)) * batch)
    return sizes


@dataclass
class MappingCache:
    """The GEMM mappings of one arch, by problem: a GEMM's mapping depends on its problem and the arch
    alone, so schedules of related graphs on one arch share them (a run and its dense baseline share every
    dense GEMM: with BDWP the whole weight-gradient pass)."""

    arch: SatArch
    mappings: dict[tuple, GemmMapping] = field(default_factory=dict)


def mapping_cache(memo: dict[str, MappingCache] | None, arch: SatArch) -> MappingCache:
    """`arch`'s cache in `memo` (made on first use), for a caller that schedules one model many times on
    several arrays (the co-design search); without a memo, a fresh cache."""
    if memo is None:
        return MappingCache(arch)
    return memo.setdefault(repr(arch), MappingCache(arch))


def build_schedule(
    ops: OpGraph, arch: SatArch, graph: Any = None, *, cache: MappingCache | None = None
) -> Schedule:
    """Map every op and fix the iteration's dependencies and priorities (see the module docstring).
    `cache`: GEMM mappings already made on this `arch` (filled with the new ones)."""
    naive = not arch.offline_schedule
    batch = int(ops.graph.get("batch", 1))
    sizes = _layer_sizes(graph, batch)
    all_ops = list(ops.ops())
    by_name = {op.name: op for op in all_ops}
    layer_nm: dict[str, tuple[int, int]] = {}
    for op in all_ops:
        if isinstance(op, GemmOp) and op.pass_ == "FF" and op.nm is not None:
            layer_nm[op.layer] = op.nm
    for nm in sorted({op.nm for op in all_ops if isinstance(op, GemmOp) and op.nm}):
        arch.check_nm(*nm)

    plans: dict[str, OpPlan] = {}
    if cache is not None and cache.arch != arch:
        raise ValueError("build_schedule: the mapping cache was made for another arch")
    gemm_cache = cache.mappings if cache is not None else {}
    order = [op.name for op in all_ops]
    for i, op in enumerate(all_ops):
        if isinstance(op, GemmOp):
            raw_in = sizes.get(op.layer, (None, None))[0]
            dx = raw_in if op.post == "col2im" else None
            node = graph.nodes[op.layer] if graph is not None and op.layer in graph else None
            geometry = operand_layouts(op, node, arch.pitch) if arch.onchip_costs else None
            key = (
                op.m, op.n, op.k, op.repeat, op.nm, op.role, op.a_kind, op.b_kind, op.post, raw_in, dx,
                geometry, tuple((node or {}).get("kernel") or ()),
            )  # fmt: skip
            mapping = gemm_cache.get(key)
            if mapping is None:
                mapping = gemm_cache[key] = map_gemm(
                    op, arch, raw_in=raw_in, dx_elems=dx, naive=naive, node=node
                )
            plans[op.name] = plan_gemm(op, arch, mapping)
        elif isinstance(op, VectorOp):
            prev = all_ops[i - 1] if i else None
            if op.kind == "col2im" and isinstance(prev, GemmOp) and prev.post == "col2im":
                plans[op.name] = OpPlan(
                    op.name, "pe_array", f"fused into {prev.name}", 0, fused_into=prev.name
                )
            else:
                plans[op.name] = plan_vector(op, arch)
        elif isinstance(op, UpdateOp):
            plans[op.name] = plan_update(op, arch, layer_nm.get(op.layer))
        elif isinstance(op, PruneOp):
            plans[op.name] = plan_generate(op, arch)
        else:  # pragma: no cover - the OpGraph has no other op types
            raise TypeError(f"unknown op {op!r}")

    deps = {name: list(ops.predecessors(name)) for name in order}
    # Forward ops that read something other than the model input but have no producer in the OpGraph lost an
    # edge upstream (e.g. a module called twice traced as one node): keep them in program order.
    prev_ff: str | None = None
    for op in all_ops:
        if op.pass_ != "FF":
            continue
        if not deps[op.name] and prev_ff is not None and not _reads_model_input(graph, op.layer):
            deps[op.name] = [prev_ff]
        prev_ff = op.name
    # The loss gradient needs the forward output: backward ops with no producer wait for the whole FF pass.
    last_ff = [op.name for op in all_ops if op.pass_ == "FF"][-1:]
    for op in all_ops:
        if op.pass_ in ("BP", "WU") and not deps[op.name]:
            deps[op.name] = list(last_ff)
    gemm_of = {(op.layer, op.pass_): op.name for op in all_ops if isinstance(op, GemmOp)}
    upd_of = {op.layer: op.name for op in all_ops if isinstance(op, UpdateOp)}
    # Write-after-read on the weights: a layer's update must not overwrite W before its BP GEMM has read it.
    for layer, upd in upd_of.items():
        bp = gemm_of.get((layer, "BP"))
        if bp is not None and bp not in deps[upd]:
            deps[upd].append(bp)
    weight_deps: dict[str, list[str]] = {}
    if not arch.pregenerate:
        # On-demand generation: each GEN runs right before the GEMM that consumes it, from the weights of the
        # previous iteration (so it does not wait for this iteration's UPD, and the UPD waits for it).
        for op in all_ops:
            if isinstance(op, PruneOp):
                consumer = gemm_of.get((op.layer, "FF" if op.mask == "ff" else "BP"))
                deps[op.name] = []
                if consumer is not None:
                    weight_deps.setdefault(consumer, []).append(op.name)
                upd = upd_of.get(op.layer)
                if upd is not None:
                    deps[upd].append(op.name)
    # Fused col2im: done when its GEMM is.
    for name, plan in plans.items():
        if plan.fused_into:
            deps[name] = [plan.fused_into]
    # Priorities: longest path (alone durations) from the op to the end of the iteration.
    succ: dict[str, list[str]] = {n: [] for n in order}
    for n, ds in deps.items():
        for d in ds:
            succ[d].append(n)
    for gemm, gens in weight_deps.items():
        for g in gens:
            succ[g].append(gemm)
    dur = {n: plans[n].alone_cycles(arch) for n in order}
    priority: dict[str, float] = {}
    for n in _reverse_topological(order, succ):
        priority[n] = dur[n] + max((priority[s] for s in succ[n]), default=0.0)
    return Schedule(
        arch=arch,
        plans=plans,
        order=order,
        deps=deps,
        weight_deps=weight_deps,
        priority=priority,
        ops=by_name,
    )


def _reads_model_input(graph: Any, layer: str) -> bool:
    if graph is None or layer not in graph:
        return False
    preds = list(graph.predecessors(layer))
    return not preds or all(graph.nodes[p].get("kind") == "input" for p in preds)


def _reverse_topological(order: list[str], succ: dict[str, list[str]]) -> list[str]:
    """Nodes with all successors first (iterative DFS; the graph is a DAG)."""
    seen: set[str] = set()
    out: list[str] = []
    for root in order:
        if root in seen:
            continue
        stack = [(root, iter(succ[root]))]
        seen.add(root)
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                out.append(node)
            elif nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(succ[nxt])))
    return out
