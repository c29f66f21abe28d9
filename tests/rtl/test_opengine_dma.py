"""The op engine's DMAs with stream words wider than the AXI bus (rtl/opengine/dma.py), in Amaranth's
simulator against a small AXI4 slave written here (memory as a dict of beats, a fixed latency, random
back-pressure where the protocol allows it):

- BlockBuffer: blocks loaded one after the other into the two halves, each word assembled from
  `beats_per_word` consecutive beats (low bits first), bursts within the 4 KiB rule, each block read from
  DRAM once and streamed twice (while it loads, and again from the memory), a half reloaded only once its
  block is released (R is never back-pressured: rready stays high);
- WriteDMA: every word leaves as `beats_per_word` beats at its place, WLAST on each burst's last beat, and
  `idle` only after every burst's response.

Fast (no simulator build, a few seconds); the Verilator benches cover the one-beat words of the 4x4
engine and the 16x16 engine's wide words on whole ops.
"""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator
from sparsesim.rtl.opengine.buffer import BlockBuffer
from sparsesim.rtl.opengine.descriptor import beats_per_word
from sparsesim.rtl.opengine.dma import WriteDMA

DATA_BYTES = 8  # a 64-bit bus: small words still take several beats
BEAT_BITS = 8 * DATA_BYTES
LATENCY_CYCLES = 5

pytestmark = pytest.mark.rtl  # Amaranth's simulator, like the other RTL unit benches (no external tool)


def _word_beats(word: int, bpw: int) -> list[int]:
    return [(word >> (BEAT_BITS * j)) & ((1 << BEAT_BITS) - 1) for j in range(bpw)]


def run_block(word_bits: int, jobs: list[tuple[int, int]], seed: int = 0, half_words: int = 8,
              max_beats: int = 8, take: float = 0.7):
    """(words streamed, words expected, bursts issued, stats) for blocks loaded by the jobs (byte address,
    words), each block read twice (a pass while it loads, then one from the memory, which releases it), in
    pairs of blocks: 0, 1, 0 again, 1 again, 2, 3, 2, 3, ... (both halves in use at once)."""
    rng = random.Random(seed)
    dut = BlockBuffer(word_bits, half_words=half_words, data_bytes=DATA_BYTES, max_beats=max_beats)
    bpw = beats_per_word(word_bits, DATA_BYTES)
    mem = {}  # beat address -> beat
    for addr, n in jobs:
        for i in range(n * bpw):
            mem[addr // DATA_BYTES + i] = rng.getrandbits(BEAT_BITS)
    pairs = [list(range(len(jobs)))[i : i + 2] for i in range(0, len(jobs), 2)]
    reads = [(j, jobs[j][1], rel) for pair in pairs for rel in (0, 1) for j in pair]
    got, bursts, queue = [], [], []
    stats = {"rready_low": 0}

    async def bench(ctx):
        loads, pending = list(jobs), list(reads)
        cycle = 0
        beat_of = 0  # beats of the head burst returned
        while len(got) < 2 * sum(n for _, n in jobs) and cycle < 20_000:
            ctx.set(dut.load.valid, int(bool(loads)))
            if loads:
                ctx.set(dut.load.payload.addr, loads[0][0])
                ctx.set(dut.load.payload.words, loads[0][1])
            ctx.set(dut.read.valid, int(bool(pending)))
            if pending:
                seq, n, rel = pending[0]
                ctx.set(dut.read.payload.seq, seq)
                ctx.set(dut.read.payload.off, 0)
                ctx.set(dut.read.payload.words, n)
                ctx.set(dut.read.payload.release, rel)
            # R side: the head burst's next beat once its latency has passed
            ctx.set(dut.axi.arready, 1)
            r_go = bool(queue) and queue[0][2] <= cycle
            if r_go:
                addr, length, _ = queue[0]
                ctx.set(dut.axi.rvalid, 1)
                ctx.set(dut.axi.rdata, mem[addr // DATA_BYTES + beat_of])
                ctx.set(dut.axi.rlast, int(beat_of == length))
            else:
                ctx.set(dut.axi.rvalid, 0)
            ready = rng.random() < take  # the array side takes words with random gaps
            ctx.set(dut.words.ready, int(ready))
            if loads and ctx.get(dut.load.ready):
                loads.pop(0)
            if pending and ctx.get(dut.read.ready):
                pending.pop(0)
            if ctx.get(dut.axi.arvalid):
                addr, length = ctx.get(dut.axi.araddr), ctx.get(dut.axi.arlen)
                queue.append((addr, length, cycle + LATENCY_CYCLES))
                bursts.append((addr, length + 1))
            if not ctx.get(dut.axi.rready):
                stats["rready_low"] += 1
            if r_go:
                beat_of += 1
                if beat_of == queue[0][1] + 1:
                    queue.pop(0)
                    beat_of = 0
            if ready and ctx.get(dut.words.valid):
                got.append(ctx.get(dut.words.payload))
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    blocks = []
    for addr, n in jobs:
        base = addr // DATA_BYTES
        block = []
        for w in range(n):
            beats = [mem[base + w * bpw + j] for j in range(bpw)]
            block.append(sum(b << (BEAT_BITS * j) for j, b in enumerate(beats)) & ((1 << word_bits) - 1))
        blocks.append(block)
    want = [w for seq, _, _ in reads for w in blocks[seq]]
    return got, want, bursts, stats


def test_block_buffer_assembles_wide_words():
    word_bits = 300  # 5 beats of 64 bits, the last one partly used
    stride = beats_per_word(word_bits, DATA_BYTES) * DATA_BYTES
    # the second job starts 2 beats below a 4 KiB boundary: its bursts are cut there, mid-word; the third
    # block reuses the first one's half, so it may only load once the first is released
    jobs = [(0, 7), (4096 - 2 * DATA_BYTES, 3), (8192 + stride, 5), (3 * stride, 8)]
    got, want, bursts, stats = run_block(word_bits, jobs)
    assert got == want
    assert stats["rready_low"] == 0
    for addr, beats in bursts:
        assert addr % DATA_BYTES == 0 and 1 <= beats <= 8
        assert addr // 4096 == (addr + beats * DATA_BYTES - 1) // 4096, (addr, beats)
    assert any((addr + beats * DATA_BYTES) % 4096 == 0 for addr, beats in bursts)  # a cut was exercised
    assert sum(b for _, b in bursts) == 5 * sum(n for _, n in jobs)  # each block from DRAM once


def test_block_buffer_one_beat_words():
    got, want, _, stats = run_block(40, [(64, 9), (4096 - 24, 6), (0, 16)], seed=1, half_words=16,
                                    max_beats=4)  # fmt: skip
    assert got == want and stats["rready_low"] == 0


def run_write(word_bits: int, jobs: list[tuple[int, int]], seed: int = 0, max_beats: int = 8):
    rng = random.Random(seed)
    dut = WriteDMA(word_bits, data_bytes=DATA_BYTES, depth=4, max_beats=max_beats)
    bpw = beats_per_word(word_bits, DATA_BYTES)
    words = [rng.getrandbits(word_bits) for _ in range(sum(n for _, n in jobs))]
    mem: dict[int, int] = {}
    report = {"bursts": [], "lasts": [], "idle_early": 0}

    async def bench(ctx):
        pending, to_send = list(jobs), list(words)
        aw, b_due = [], []
        beat_in_burst = 0
        cycle = 0
        while cycle < 20_000:
            ctx.set(dut.job.valid, int(bool(pending)))
            if pending:
                ctx.set(dut.job.payload.addr, pending[0][0])
                ctx.set(dut.job.payload.words, pending[0][1])
            offer = bool(to_send) and rng.random() < 0.8
            ctx.set(dut.words.valid, int(offer))
            if to_send:
                ctx.set(dut.words.payload, to_send[0])
            ctx.set(dut.axi.awready, 1)
            w_ready = rng.random() < 0.7
            ctx.set(dut.axi.wready, int(w_ready))
            b_go = bool(b_due) and b_due[0] <= cycle
            ctx.set(dut.axi.bvalid, int(b_go))
            if pending and ctx.get(dut.job.ready):
                pending.pop(0)
            if offer and ctx.get(dut.words.ready):
                to_send.pop(0)
            if ctx.get(dut.axi.awvalid):
                aw.append([ctx.get(dut.axi.awaddr), ctx.get(dut.axi.awlen) + 1])
                report["bursts"].append(tuple(aw[-1]))
            if w_ready and ctx.get(dut.axi.wvalid):
                addr, beats = aw[0]
                mem[addr // DATA_BYTES + beat_in_burst] = ctx.get(dut.axi.wdata)
                beat_in_burst += 1
                report["lasts"].append(ctx.get(dut.axi.wlast))
                if beat_in_burst == beats:
                    aw.pop(0)
                    beat_in_burst = 0
                    b_due.append(cycle + LATENCY_CYCLES)
            if b_go:
                b_due.pop(0)
            done = not pending and not to_send and not aw and not b_due
            if ctx.get(dut.idle) and not done and not pending and not to_send:
                report["idle_early"] += 1
            if done and ctx.get(dut.idle):
                break
            await ctx.tick()
            cycle += 1
        report["cycles"] = cycle

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    want, i = {}, 0
    for addr, n in jobs:
        for w in range(n):
            for j, beat in enumerate(_word_beats(words[i], bpw)):
                want[addr // DATA_BYTES + w * bpw + j] = beat
            i += 1
    return mem, want, report


def test_write_dma_splits_wide_words():
    word_bits = 129  # a result word of 4 FP32 + last: 3 beats of 64 bits
    mem, want, report = run_write(word_bits, [(0, 6), (4096 - 4 * DATA_BYTES, 4)])
    assert mem == want
    assert report["cycles"] < 20_000 and report["idle_early"] == 0
    beats = [b for _, b in report["bursts"]]
    assert sum(beats) == 3 * 10
    want_lasts = [int(k == b - 1) for b in beats for k in range(b)]
    assert report["lasts"] == want_lasts


def test_block_buffer_waits_for_a_released_half():
    """A slow reader still on block 0's second pass while block 1 (one word) has long loaded: block 2 must
    wait for block 0's release, or its words would replace block 0's under the reader."""
    got, want, _, stats = run_block(40, [(0, 8), (1024, 1), (2048, 8), (3072, 1)], seed=2, take=0.1)
    assert got == want and stats["rready_low"] == 0


def run_packed(lanes: int, elem_bits: int, max_e: int, blocks: list[tuple[int, int, int, int]], seed: int = 0):
    """A packed buffer (activations, E elements per lane in DRAM): each block (byte address of its first
    line, first word's place in that line, words, log2 E) is loaded as the lines its words span and read
    once; returns (words streamed, the array words expected). The expected words are built here from the
    packed ones: lane l's E elements in the first E of its MMAX slots, the rest zero."""
    rng = random.Random(seed)
    word_bits = lanes * elem_bits * max_e
    dut = BlockBuffer(word_bits, half_words=16, data_bytes=DATA_BYTES, max_beats=4,
                      pack=(lanes, elem_bits, max_e))
    line_bits = max(BEAT_BITS, word_bits)
    bpl = line_bits // BEAT_BITS
    mem, want, loads, reads = {}, [], [], []
    for seq, (addr, sub, n, log2e) in enumerate(blocks):
        e = 1 << log2e
        pbits = lanes * elem_bits * e
        per_line = line_bits // pbits
        lines = -(-(sub + n) // per_line)
        raw = [rng.getrandbits(pbits) for _ in range(lines * per_line)]  # words around the block's too
        for i in range(lines):
            line = sum(w << (j * pbits) for j, w in enumerate(raw[i * per_line : (i + 1) * per_line]))
            for j in range(bpl):
                mem[addr // DATA_BYTES + i * bpl + j] = (line >> (BEAT_BITS * j)) & ((1 << BEAT_BITS) - 1)
        for w in raw[sub : sub + n]:
            lane_w = e * elem_bits
            want.append(sum(((w >> (lane * lane_w)) & ((1 << lane_w) - 1)) << (lane * elem_bits * max_e)
                            for lane in range(lanes)))  # fmt: skip
        loads.append((addr, lines))
        reads.append((seq, sub, n, (per_line.bit_length() - 1)))
    got, queue = [], []

    async def bench(ctx):
        cycle, beat_of = 0, 0
        while len(got) < len(want) and cycle < 20_000:
            ctx.set(dut.load.valid, int(bool(loads)))
            if loads:
                ctx.set(dut.load.payload.addr, loads[0][0])
                ctx.set(dut.load.payload.words, loads[0][1])
            ctx.set(dut.read.valid, int(bool(reads)))
            if reads:
                seq, off, n, shift = reads[0]
                ctx.set(dut.read.payload.seq, seq)
                ctx.set(dut.read.payload.off, off)
                ctx.set(dut.read.payload.words, n)
                ctx.set(dut.read.payload.release, 1)
                ctx.set(dut.read.payload.shift, shift)
            ctx.set(dut.axi.arready, 1)
            r_go = bool(queue) and queue[0][2] <= cycle
            ctx.set(dut.axi.rvalid, int(r_go))
            if r_go:
                ctx.set(dut.axi.rdata, mem[queue[0][0] // DATA_BYTES + beat_of])
            ready = rng.random() < 0.7
            ctx.set(dut.words.ready, int(ready))
            if loads and ctx.get(dut.load.ready):
                loads.pop(0)
            if reads and ctx.get(dut.read.ready):
                reads.pop(0)
            if ctx.get(dut.axi.arvalid):
                queue.append((ctx.get(dut.axi.araddr), ctx.get(dut.axi.arlen), cycle + LATENCY_CYCLES))
            if r_go:
                beat_of += 1
                if beat_of == queue[0][1] + 1:
                    queue.pop(0)
                    beat_of = 0
            if ready and ctx.get(dut.words.valid):
                got.append(ctx.get(dut.words.payload))
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got, want


@pytest.mark.parametrize("lanes, elem_bits", [(2, 4), (4, 8)], ids=["word-in-a-beat", "word-of-two-beats"])
def test_block_buffer_unpacks_packed_activations(lanes, elem_bits):
    """Every E of a 4-element MMAX (1, 2, 4), blocks starting mid-line and ending mid-line, lines of one
    beat (32-bit words, 8 to 2 a line) and of two beats (128-bit full words, 1 to 4 a line)."""
    blocks = [(0, 3, 7, 1), (4096 - 2 * DATA_BYTES, 0, 5, 2), (512, 1, 9, 0), (1024, 5, 11, 0), (2048, 0, 4, 2)]
    got, want = run_packed(lanes, elem_bits, 4, blocks)
    assert len(got) == len(want) and got == want
