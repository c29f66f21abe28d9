"""The op engine's DMAs with stream words wider than the AXI bus (rtl/opengine/dma.py), in Amaranth's
simulator against a small AXI4 slave written here (memory as a dict of beats, a fixed latency, random
back-pressure where the protocol allows it):

- ReadDMA: every job's words arrive whole and in order, each assembled from `beats_per_word` consecutive
  beats (low bits first), bursts within the 4 KiB rule, and no more beats requested than the buffer has
  room for (R is never back-pressured: rready stays high);
- WriteDMA: every word leaves as `beats_per_word` beats at its place, WLAST on each burst's last beat, and
  `idle` only after every burst's response.

Fast (no simulator build, a few seconds); the Verilator benches cover the one-beat words of the 4x4
engine and the 16x16 engine's wide words on whole ops.
"""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator
from sparsesim.rtl.opengine.descriptor import beats_per_word
from sparsesim.rtl.opengine.dma import ReadDMA, WriteDMA

DATA_BYTES = 8  # a 64-bit bus: small words still take several beats
BEAT_BITS = 8 * DATA_BYTES
LATENCY_CYCLES = 5

pytestmark = pytest.mark.rtl  # Amaranth's simulator, like the other RTL unit benches (no external tool)


def _word_beats(word: int, bpw: int) -> list[int]:
    return [(word >> (BEAT_BITS * j)) & ((1 << BEAT_BITS) - 1) for j in range(bpw)]


def run_read(word_bits: int, jobs: list[tuple[int, int]], seed: int = 0, depth: int = 4, max_beats: int = 8):
    """(words received, bursts issued, max beats outstanding) for the jobs (byte address, words)."""
    rng = random.Random(seed)
    dut = ReadDMA(word_bits, data_bytes=DATA_BYTES, depth=depth, max_beats=max_beats)
    bpw = beats_per_word(word_bits, DATA_BYTES)
    mem = {}  # beat address -> beat
    for addr, n in jobs:
        for i in range(n * bpw):
            mem[addr // DATA_BYTES + i] = rng.getrandbits(BEAT_BITS)
    got, bursts, queue = [], [], []
    stats = {"outstanding": 0, "max_outstanding": 0, "rready_low": 0}

    async def bench(ctx):
        pending = list(jobs)
        cycle = 0
        beat_of = 0  # beats of the head burst returned
        while (pending or queue or len(got) < sum(n for _, n in jobs)) and cycle < 20_000:
            # job side
            if pending:
                ctx.set(dut.job.valid, 1)
                ctx.set(dut.job.payload.addr, pending[0][0])
                ctx.set(dut.job.payload.words, pending[0][1])
            else:
                ctx.set(dut.job.valid, 0)
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
            ready = rng.random() < 0.7  # the array side takes words with random gaps
            ctx.set(dut.words.ready, int(ready))
            if pending and ctx.get(dut.job.ready):
                pending.pop(0)
            if ctx.get(dut.axi.arvalid):
                addr, length = ctx.get(dut.axi.araddr), ctx.get(dut.axi.arlen)
                queue.append((addr, length, cycle + LATENCY_CYCLES))
                bursts.append((addr, length + 1))
                stats["outstanding"] += length + 1
            if not ctx.get(dut.axi.rready):
                stats["rready_low"] += 1
            if r_go:
                beat_of += 1
                stats["outstanding"] -= 1
                if beat_of == queue[0][1] + 1:
                    queue.pop(0)
                    beat_of = 0
            if ready and ctx.get(dut.words.valid):
                got.append(ctx.get(dut.words.payload))
            stats["max_outstanding"] = max(stats["max_outstanding"], stats["outstanding"])
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    want = []
    for addr, n in jobs:
        base = addr // DATA_BYTES
        for w in range(n):
            beats = [mem[base + w * bpw + j] for j in range(bpw)]
            want.append(sum(b << (BEAT_BITS * j) for j, b in enumerate(beats)) & ((1 << word_bits) - 1))
    return got, want, bursts, stats


def test_read_dma_assembles_wide_words():
    word_bits = 300  # 5 beats of 64 bits, the last one partly used
    stride = beats_per_word(word_bits, DATA_BYTES) * DATA_BYTES
    # the second job starts 2 beats below a 4 KiB boundary: its bursts are cut there, mid-word
    jobs = [(0, 7), (4096 - 2 * DATA_BYTES, 3), (8192 + stride, 5)]
    got, want, bursts, stats = run_read(word_bits, jobs)
    assert got == want
    assert stats["rready_low"] == 0
    assert stats["max_outstanding"] <= 4 * 5  # never more beats asked for than the buffer's room (4 words)
    for addr, beats in bursts:
        assert addr % DATA_BYTES == 0 and 1 <= beats <= 8
        assert addr // 4096 == (addr + beats * DATA_BYTES - 1) // 4096, (addr, beats)
    assert any((addr + beats * DATA_BYTES) % 4096 == 0 for addr, beats in bursts)  # a cut was exercised


def test_read_dma_one_beat_words_unchanged():
    got, want, _, stats = run_read(40, [(64, 9), (4096 - 24, 6)], seed=1, max_beats=4)
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
