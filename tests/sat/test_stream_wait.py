"""Operand words wider than their DRAM port's beat (sat.timing.first_pass_wait, `_Mapper.stream_wait`): the
recurrence against a word-by-word walk of the same double-buffered stream, the word sizes against the RTL's
layouts, and where the scheduler charges the wait (docs/sat_model.md; docs/pe_array.md, "16x16 through the
engine", measures it on the RTL)."""

from __future__ import annotations

import dataclasses
import itertools
import random

import pytest
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine.descriptor import act_packed_bits, beats_per_word

from sparsesim.graph.lower import GemmOp
from sparsesim.sat.arch import resolve
from sparsesim.sat.schedule import map_gemm, plan_gemm
from sparsesim.sat.timing import BlockStream, first_action_wait, first_pass_wait


def _walk(s: BlockStream) -> float:
    """Word by word: block j's words arrive one per `cycles_per_word` from its load's start (the port free and
    block j - 2 released `reload_cycles` before), a word in the buffer `cycles_per_word` - 1 cycles after its first beat; the array
    reads each word of the first pass at its own schedule (bursts, gap, spacing) unless the word is not in,
    and so is late by the largest lateness so far; the block's use ends `use_cycles` after it began, plus
    its waits. Returns the waits summed."""
    b = s.cycles_per_word
    words = [(i, j) for i in range(s.bursts) for j in range(s.burst_words)]

    def after(t: int) -> float:  # the interval after the op's tile t (alternating with a swing)
        return s.spacing + (s.swing if t % 2 else -s.swing)

    total, rel, load_end = 0.0, [], 0.0
    for blk in range(s.loads):
        start = 0.0 if blk == 0 else max(load_end, rel[blk - 2] + s.reload_cycles if blk >= 2 else 0.0)
        use = rel[-1] if rel else 0.0
        first = blk * s.block_tiles  # the block's first tile in the op
        late = 0.0
        for w, (i, j) in enumerate(words):
            arrive = start + b * (w + 1) - 1
            burst_at = sum(after(first + t) for t in range(i)) if s.swing else s.spacing * i
            read = use + burst_at + s.gap * j + late
            late += max(0.0, arrive - read)
        total += late
        used = sum(after(first + t) for t in range(s.block_tiles)) if s.swing else s.use_cycles
        rel.append(use + late + used)
        load_end = start + b * len(words)
    return total


@pytest.mark.parametrize(
    "b,burst,bursts,gap,spacing,use,loads,reload",
    [
        (2, 16, 2, 1, 16, 64, 2, 25),  # the 16x16 WS 2:8 op's activations (docs/pe_array.md: 32 cycles)
        (2, 4, 1, 1, 54, 486, 2, 25),  # the 16x16 OS 2:8 op's activations (4 cycles)
        (2, 16, 4, 1, 20, 80, 50, 25),  # a load longer than the block's use: port-bound
        (2, 16, 1, 1, 16, 32, 4, 25),  # the 16x16 WS 2:8 op mapped c_resident: loads wait for releases
        (4, 8, 2, 1, 8, 200, 30, 0),  # a load shorter than the use: only the first block waits
        (2, 32, 2, 4, 128, 256, 7, 25),  # one word every 4 cycles: the port keeps up after the first word
        (1, 16, 2, 1, 16, 64, 3, 25),  # one-beat words: never a wait
    ],
)
def test_first_pass_wait_is_the_word_walk(b, burst, bursts, gap, spacing, use, loads, reload):
    s = BlockStream(loads, b, burst, bursts, gap, spacing, use, reload)
    assert first_pass_wait(s) == pytest.approx(_walk(s) if b > 1 else 0.0)


def test_first_pass_wait_extrapolates_long_streams():
    for b, burst, bursts, use, reload in itertools.product((2, 4), (8, 16), (1, 3), (40, 400), (0, 25)):
        s = BlockStream(300, b, burst, bursts, 1, burst, use, reload)
        assert first_pass_wait(s) == pytest.approx(_walk(s))


@pytest.mark.parametrize("rows,cols", [(4, 4), (16, 16), (16, 32)])
def test_word_sizes_are_the_rtl_layouts(rows, cols):
    """SatArch's stream words (its own derivation) against the RTL's layouts (rtl/config.py, descriptor.py)."""
    arch = dataclasses.replace(resolve(), rows=rows, cols=cols, multipliers_per_pe=2, max_m=8)
    cfg = ArrayConfig(rows=rows, cols=cols, multipliers=2, max_m=8, precision="fp16")
    assert arch.weight_word_bits == cfg.weights_layout.size
    assert arch.port_cycles_per_word("weight", 2) == beats_per_word(cfg.weights_layout.size)
    for e in (2, 4, 8):
        assert arch.act_word_bits(e) == act_packed_bits(cfg, e.bit_length() - 1)
        assert arch.port_cycles_per_word("act", e) == act_packed_bits(cfg, e.bit_length() - 1) / 1024
    assert dataclasses.replace(arch, dram_port_bytes=0).port_cycles_per_word("weight", 2) == 0


def _op(m, n, k, nm):
    return GemmOp(name="g", layer="l", pass_="FF", role="fwd", m=m, n=n, k=k, repeat=1, a_kind="weight",
                  b_kind="act", c_kind="act", nm=nm)  # fmt: skip


def test_scheduler_charges_the_wait_where_words_are_wider_than_a_beat():
    base = dataclasses.replace(resolve(), rows=16, cols=16, multipliers_per_pe=2, max_m=8, dataflow="ws",
                               add_latency_cycles=1, mul_latency_cycles=2, onchip_costs=False)  # fmt: skip
    # 2:8 activation words are 2,048 bits: two beats; 2:4 ones one beat
    wide = map_gemm(_op(32, 32, 144, (2, 8)), base)
    assert wide.stream_wait_cycles > 0
    plan = plan_gemm(_op(32, 32, 144, (2, 8)), base, wide)
    assert plan.steady_floor_cycles >= plan.busy_cycles + wide.stream_wait_cycles
    assert map_gemm(_op(32, 32, 144, (2, 4)), base).stream_wait_cycles == 0
    # without the op engine's ports nothing waits; on the 4x4 array every word fits a beat
    assert map_gemm(_op(32, 32, 144, (2, 8)), dataclasses.replace(base, dram_port_bytes=0)).stream_wait_cycles == 0
    four = dataclasses.replace(base, rows=4, cols=4)
    assert map_gemm(_op(32, 32, 144, (2, 8)), four).stream_wait_cycles == 0


def test_first_pass_wait_with_alternating_tile_intervals_is_the_word_walk():
    """WS tiles whose starts alternate between a short and a long interval (two weight banks): blocks of an
    odd count of tiles alternate between starting on a short and a long interval, a block's first-pass
    bursts follow them. The 16x32 WS 1:4 op (docs/pe_array.md: 16, 31, 16, ...; RTL 32 cycles of waits)
    and random streams (fixed seed) against the word walk."""
    s = BlockStream(2, 2.0, 16, 1, 1.0, 23.5, 23.5, 26.0, swing=7.5, block_tiles=1)
    assert first_pass_wait(s) == pytest.approx(_walk(s)) == pytest.approx(32.0)
    rng = random.Random(7)
    for _ in range(300):
        tiles = rng.randint(1, 5)
        spacing = rng.uniform(16, 40)
        s = BlockStream(
            loads=rng.randint(1, 60), cycles_per_word=rng.choice((2, 4)), burst_words=rng.randint(1, 16),
            bursts=rng.randint(1, tiles), gap=1.0, spacing=spacing, use_cycles=tiles * spacing,
            reload_cycles=rng.choice((0, 26)), swing=rng.uniform(0, 8), block_tiles=tiles,
        )  # fmt: skip
        assert first_pass_wait(s) == pytest.approx(_walk(s), rel=1e-9, abs=1e-6), s


def test_first_pass_wait_steps_over_linear_stretches_exactly():
    """Random streams (fixed seed): the recurrence, which steps over stretches where nothing changes, against
    the word walk block by block."""
    rng = random.Random(11)
    for _ in range(300):
        s = BlockStream(
            loads=rng.randint(1, 400), cycles_per_word=rng.choice((2, 3, 4)), burst_words=rng.randint(1, 12),
            bursts=rng.randint(1, 4), gap=rng.choice((1, 2, 4)), spacing=rng.uniform(1, 40),
            use_cycles=rng.uniform(1, 300), reload_cycles=rng.choice((0, 25, 31.5)),
        )  # fmt: skip
        s = dataclasses.replace(s, spacing=max(s.spacing, s.burst_words * s.gap))
        assert first_pass_wait(s) == pytest.approx(_walk(s), rel=1e-9, abs=1e-6), s


def _controller_walk(ws: bool, weights: BlockStream | None, acts: BlockStream | None, rows: int = 16) -> int:
    """Cycle by cycle, the array's controller on the op's first words (rtl/array.py, TileController): word
    w of a stream of b beats is in at b (w + 1) - 1 (a one-beat stream's words are always in time); the
    first tile starts in the first cycle the words it takes are in (WS: weight row 0, the streamer too if
    activation word 0 is in; OS: both words 0); from the next cycle on, a cycle whose wanted words (a stream
    read a word a cycle wants its next word in each cycle after its start) are not all in holds the array,
    and the first enabled one is the first action. Returns the cycles from cycle 1 (the first action with
    one-beat words) to it."""

    def arrive(s: BlockStream | None, w: int) -> float:
        return 0.0 if s is None or s.cycles_per_word <= 1 else s.cycles_per_word * (w + 1) - 1

    def every_cycle(s: BlockStream | None, ws_weights: bool = False) -> bool:
        if s is None:
            return False
        return (rows > 1) if ws_weights else (s.gap == 1 and s.burst_words >= 2)

    t = 0
    while arrive(weights, 0) > t or (not ws and arrive(acts, 0) > t):
        t += 1
    streaming = [(weights, every_cycle(weights, ws) if weights else ws and rows > 1)]
    if not ws or arrive(acts, 0) <= t:
        streaming.append((acts, every_cycle(acts)))
    t += 1
    while any(wanted and arrive(s, 1) > t for s, wanted in streaming):
        t += 1
    return t - 1


@pytest.mark.parametrize("ws", [True, False])
def test_first_action_wait_is_the_controller_walk(ws):
    """The waits before the array's first action against a cycle walk of the controller's start rule, over
    word widths (1, 2, 4 beats) and read rates (a word a cycle, or every 2 or 4 cycles)."""
    for b_w, b_a, g_w, g_a, burst in itertools.product((1, 2, 4), (1, 2, 4), (1, 2, 4), (1, 2, 4), (1, 4)):
        w = BlockStream(2, b_w, 16 if ws else burst, 2, 1 if ws else g_w, 64, 200) if b_w > 1 else None
        a = BlockStream(2, b_a, burst, 2, g_a, 64, 200) if b_a > 1 else None
        assert first_action_wait(ws, w, a) == _controller_walk(ws, w, a), (b_w, b_a, g_w, g_a, burst)
