"""The timing contract of the PE array (docs/architecture.md contract 3; specification in docs/pe_array.md).

This module is the one place that says how many cycles the PE array takes for a tile. The SimPy engines
call it; `sparsesim.sat.refarray` (a cycle-stepped model) and the cocotb benches on the RTL check it cycle for
cycle. Everything here is a pure function of the array parameters, the mode and the tile shape.

Cycle numbering: a tile sequence starts at cycle 0 (the first weight-row write in WS, the first beat in
OS). `end` is the cycle in which the tile's last result leaves the array; a sequence takes `end + 1` cycles.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

# The data types live in a module of their own (no formulas there) so that the RTL can name a configuration
# without importing this model; they are re-exported here for the simulator's modules.
from .array_types import ArrayParams, Dataflow, Mode, OsDrain, TileShape, WeightLoad

__all__ = ["ArrayParams", "Dataflow", "Mode", "OsDrain", "TileShape", "WeightLoad"]


# ------------------------------------------------------------------------------------ per-parameter terms
def tree_latency(p: ArrayParams) -> int:
    """Pairwise adder tree over P products: log2(P) adder stages."""
    return (p.multipliers.bit_length() - 1) * p.add_latency


def product_latency(p: ArrayParams) -> int:
    """L_p: activation at a PE's input to its tree sum."""
    return p.mul_latency + tree_latency(p)


def load_to_stream(p: ArrayParams) -> int:
    """WS: cycles from a tile's first weight-row write to its first beat.

    bus: row r is written in cycle load + r and the skew brings row r's activation no earlier, so the
    stream follows row 0 by one cycle. shift: the weights enter at the top and shift down the columns
    one row per cycle (SCALE-Sim's filter fill), so row 0 holds its own weight only after R cycles.
    """
    return 1 if p.weight_load == "bus" else p.rows


def elements_per_cycle(p: ArrayParams, mode: Mode) -> int:
    """E: reduction elements one PE covers per beat (M in N:M mode, P dense)."""
    return int(mode.m) if mode.sparse else p.multipliers


def os_slots(p: ArrayParams, mode: Mode) -> int:
    """I: OS accumulator slots per PE (L_add with interleave mapping, else 1)."""
    return p.add_latency if mode.interleave else 1


def os_beat_gap(p: ArrayParams, mode: Mode) -> int:
    """OS cycles between beats: 1 with interleave, L_add without (waiting for the accumulator)."""
    return 1 if mode.interleave else p.add_latency


@dataclass(frozen=True)
class Capacity:
    """Largest tile the array takes in one go for a mode (None: unbounded, streamed)."""

    m: int
    n: int | None
    k: int | None


def capacity(p: ArrayParams, mode: Mode) -> Capacity:
    e = elements_per_cycle(p, mode)
    if mode.dataflow == "ws":
        return Capacity(m=p.cols, n=None, k=p.rows * e)
    return Capacity(m=p.rows, n=p.cols * os_slots(p, mode), k=None)


def check_tile(p: ArrayParams, mode: Mode, t: TileShape) -> None:
    mode.check(p)
    cap = capacity(p, mode)
    if t.m < 1 or t.n < 1 or t.k < 1:
        raise ValueError(f"empty tile {t}")
    if t.m > cap.m or (cap.n is not None and t.n > cap.n) or (cap.k is not None and t.k > cap.k):
        raise ValueError(f"tile {t} exceeds the array's capacity {cap} in mode {mode}")
    if mode.sparse and t.k % int(mode.m):
        raise ValueError(f"tile k={t.k} is not a multiple of M={mode.m}")


# --------------------------------------------------------------------------------------------------- WS
def ws_result_latency(p: ArrayParams) -> int:
    """Cycles from the last activation entering row 0 to the last result leaving the array."""
    return (p.cols - 1) + product_latency(p) + p.rows * p.add_latency + p.round_latency


def ws_bank_free_delay(p: ArrayParams) -> int:
    """A bank freed by tile i-2 may be reloaded this many cycles after that tile's stream ended."""
    return (p.rows - 1) * (p.add_latency - 1) + p.cols - 2


@dataclass(frozen=True)
class TileTimes:
    load: int | None  # WS: cycle of the first weight-row write; OS: None
    start: int  # first beat enters the array
    end: int  # last result leaves the array


def ws_sequence(
    p: ArrayParams, stream_lengths: Sequence[int], *, ready: Sequence[int] | None = None
) -> list[TileTimes]:
    """Times of WS tiles streamed back to back (docs/pe_array.md, WS weight loading).

    `stream_lengths[i]` is tile i's n (activation vectors streamed). `ready[i]` (optional) is the earliest
    cycle tile i's weights may be loaded (they must be in the on-chip buffer).

    Tile i's load waits for the load bus (tile i-1's load), for its bank (tile i - weight_banks's stream
    has passed every row, ws_bank_free_delay) and, without fold overlap, for tile i-1's last result;
    its stream follows its load by `load_to_stream` cycles and the previous stream.
    """
    times: list[TileTimes] = []
    free = ws_bank_free_delay(p)
    lat = ws_result_latency(p)
    banks = p.weight_banks
    for i, t_len in enumerate(stream_lengths):
        ls = 0 if ready is None else ready[i]
        if i >= 1:
            ls = max(ls, times[i - 1].load + p.rows)  # type: ignore[operator]
            if not p.fold_overlap:
                ls = max(ls, times[i - 1].end)
        if i >= banks:
            ls = max(ls, times[i - banks].start + stream_lengths[i - banks] + free)
        t0 = ls + load_to_stream(p)
        if i >= 1:
            t0 = max(t0, times[i - 1].start + stream_lengths[i - 1])
        times.append(TileTimes(load=ls, start=t0, end=t0 + t_len - 1 + lat))
    return times


def ws_steady_interval(p: ArrayParams, stream_length: int) -> float:
    """Average cycles between starts of identical back-to-back WS tiles, in steady state."""
    t = stream_length
    if p.weight_banks == 2 and p.fold_overlap and p.weight_load == "bus":
        return max(float(t), float(p.rows), (t + ws_bank_free_delay(p) + 1) / 2)
    times = ws_sequence(p, [t] * 12)
    return (times[-1].start - times[-3].start) / 2


# --------------------------------------------------------------------------------------------------- OS
def os_steps(p: ArrayParams, mode: Mode, k: int) -> int:
    return math.ceil(k / elements_per_cycle(p, mode))


def os_last_final(p: ArrayParams, mode: Mode, k: int) -> int:
    """Cycle (from the tile's first beat) in which an OS tile's last sum is final in PE(R-1, C-1)."""
    beats = os_steps(p, mode, k) * os_slots(p, mode)
    fill = (p.rows - 1) + (p.cols - 1)
    return fill + (beats - 1) * os_beat_gap(p, mode) + product_latency(p) + p.add_latency


def os_tile_cycles(p: ArrayParams, mode: Mode, k: int) -> int:
    """Cycles of one OS tile from its first beat to the last drained result leaving the array, inclusive.

    Independent of m and n within capacity: the array cycles all slots and drains all rows.
    """
    return os_busy_cycles(p, mode, k) + p.round_latency


def os_busy_cycles(p: ArrayParams, mode: Mode, k: int) -> int:
    """Cycles of one OS tile from its first beat to the drain's last shift, inclusive (the PEs' part; the
    edge rounding's `round_latency` overlaps the next tile)."""
    return os_last_final(p, mode, k) + 1 + p.rows * os_slots(p, mode)


def os_shadow_deficit(p: ArrayParams, mode: Mode, k: int) -> int:
    """os_drain "overlapped": cycles a tile must start later than the previous tile's last final sum so that
    none of its final sums reaches a shadow register before the previous tile's drain has read it.

    The drain reads the shadows bottom row first, R x slots cycles; PE(0, 0)'s slot 0 is read last and
    written earliest, hence the bound. Zero for every tile longer than the drain (SCALE-Sim's layers).
    """
    if p.os_drain == "serial":
        return 0
    slots, gap = os_slots(p, mode), os_beat_gap(p, mode)
    need = max(p.rows + p.cols + (slots - 1) * gap + (p.rows - 1) * slots, p.rows * slots + 1)
    return max(0, need - os_last_final(p, mode, k))


def os_next_start(p: ArrayParams, mode: Mode, k: int, k_next: int) -> int:
    """Cycles from an OS tile's first beat (reduction k) to the next tile's first beat (reduction k_next).

    serial drain: the next tile starts after this one's results have drained (os_tile_cycles).
    overlapped drain (shadow accumulators): each PE's final sum moves to its shadow register in the cycle it
    becomes final and drains from there, so the next tile's first beat enters in the cycle this tile's last
    sum becomes final (SCALE-Sim's folds follow one another this way), later only by os_shadow_deficit.
    """
    if p.os_drain == "serial":
        return os_busy_cycles(p, mode, k)
    return os_last_final(p, mode, k) + os_shadow_deficit(p, mode, k_next)


def os_runs_cycles(p: ArrayParams, mode: Mode, runs: Sequence[tuple[int, int]]) -> int:
    """Cycles for OS tiles back to back on an idle array, given as runs of (k, count) in order.

    Equals `sequence(...)[-1].end + 1 + slr_latency_cycles` for the expanded tile list (checked in tests),
    in O(len(runs)).
    """
    runs = [(k, c) for k, c in runs if c > 0]
    if not runs:
        return 0
    if p.os_drain == "serial":
        return sum(c * os_busy_cycles(p, mode, k) for k, c in runs) + p.round_latency + p.slr_latency_cycles
    total = sum(c * (os_last_final(p, mode, k) + os_shadow_deficit(p, mode, k)) for k, c in runs)
    return (
        total - os_shadow_deficit(p, mode, runs[0][0]) + 1 + p.rows * os_slots(p, mode)
        + p.round_latency + p.slr_latency_cycles
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ both dataflows
def tile_cycles(p: ArrayParams, mode: Mode, t: TileShape) -> int:
    """Cycles of one tile on an idle array, from its first action to its last result, inclusive."""
    check_tile(p, mode, t)
    if mode.dataflow == "ws":
        return ws_sequence(p, [t.n])[0].end + 1 + p.slr_latency_cycles
    return os_tile_cycles(p, mode, t.k) + p.slr_latency_cycles


def sequence(p: ArrayParams, mode: Mode, tiles: Sequence[TileShape]) -> list[TileTimes]:
    """Times of tiles run back to back in one mode, from cycle 0."""
    for t in tiles:
        check_tile(p, mode, t)
    if mode.dataflow == "ws":
        return ws_sequence(p, [t.n for t in tiles])
    out: list[TileTimes] = []
    start = 0
    for i, t in enumerate(tiles):
        cyc = os_tile_cycles(p, mode, t.k)
        out.append(TileTimes(load=None, start=start, end=start + cyc - 1))
        if i + 1 < len(tiles):
            start += os_next_start(p, mode, t.k, tiles[i + 1].k)
    return out


def switch_delay(mode: Mode) -> int:
    """Cycles from a tile's last result (its `end`) to cycle 0 of a following sequence in a different mode.

    A change of dataflow or array mode drains the array (docs/pe_array.md, WS weight loading): the array is
    empty in the cycle after that last result; the controller registers that (its start of a tile in
    another mode waits for a registered "was empty and nothing started") and starts the new tile a cycle
    later; its control reaches the cells through one register stage, so in WS weight row 0 is written
    (cycle 0) another cycle later, 3 after the last result; in OS the first beat, taken then, is at
    PE(0, 0) two cycles later, 4 after.
    """
    return 3 if mode.dataflow == "ws" else 4


def run_cycles(p: ArrayParams, mode: Mode, tile: TileShape, count: int) -> int:
    """Cycles for `count` identical tiles back to back on an idle array (exact, O(1) for large counts)."""
    if count <= 0:
        return 0
    check_tile(p, mode, tile)
    if mode.dataflow == "os":
        return os_runs_cycles(p, mode, [(tile.k, count)])  # includes slr_latency_cycles
    # The WS recurrence settles into a pattern of period 2 within a few tiles: simulate a prefix, extrapolate.
    prefix = min(count, 8)
    times = ws_sequence(p, [tile.n] * prefix)
    if count <= prefix:
        return times[-1].end + 1 + p.slr_latency_cycles
    period = times[-1].start - times[-3].start  # two tiles
    extra = count - prefix
    # Intervals repeat with period 2, so an odd extra tile takes the interval of two tiles back.
    last_start = times[-1].start + (extra // 2) * period + (extra % 2) * (times[-2].start - times[-3].start)
    return last_start + tile.n - 1 + ws_result_latency(p) + 1 + p.slr_latency_cycles


def macs_per_cycle_peak(p: ArrayParams, mode: Mode) -> int:
    """Dense-equivalent MACs per cycle at full utilisation (E reduction elements per PE per beat)."""
    return p.rows * p.cols * elements_per_cycle(p, mode)


# ------------------------------------------------------------------------------- queries for the simulator
def ws_runs_cycles(p: ArrayParams, runs: Sequence[tuple[int, int]]) -> int:
    """Cycles for WS tiles back to back on an idle array, given as runs of (stream_length, count).

    Equals `sequence(...)[-1].end + 1 + slr_latency_cycles` for the expanded tile list (checked in tests)
    at O(len(runs)) cost:
    inside a run the recurrence depends on the last two tiles only, so once the state relative to the last
    start repeats two tiles apart the run is periodic and is extrapolated exactly.
    """
    free = ws_bank_free_delay(p)
    lat = ws_result_latency(p)
    # Last two tiles as (load, start, stream_length); None before the first tiles.
    prev2: tuple[int, int, int] | None = None
    prev1: tuple[int, int, int] | None = None

    def step(t_len: int) -> None:
        nonlocal prev1, prev2
        ls = 0
        if prev1 is not None:
            ls = max(ls, prev1[0] + p.rows)
            if not p.fold_overlap:
                ls = max(ls, prev1[1] + prev1[2] - 1 + lat)  # the previous tile's last result
        bank_owner = prev2 if p.weight_banks == 2 else prev1
        if bank_owner is not None:
            ls = max(ls, bank_owner[1] + bank_owner[2] + free)
        t0 = ls + load_to_stream(p)
        if prev1 is not None:
            t0 = max(t0, prev1[1] + prev1[2])
        prev2, prev1 = prev1, (ls, t0, t_len)

    def rel_state() -> tuple[int, ...] | None:
        if prev2 is None or prev1 is None:
            return None
        base = prev1[1]
        return (prev1[0] - base, prev2[0] - base, prev2[1] - base, prev2[2], prev1[2])

    for t_len, count in runs:
        if count <= 0:
            continue
        if t_len < 1:
            raise ValueError(f"stream length must be >= 1, got {t_len}")
        history: list[tuple[tuple[int, ...] | None, int]] = []
        done = 0
        while done < count:
            step(t_len)
            done += 1
            history.append((rel_state(), prev1[1]))  # type: ignore[index]
            if len(history) >= 3 and history[-1][0] is not None and history[-1][0] == history[-3][0]:
                rest = count - done
                if rest >= 2:
                    shift = (history[-1][1] - history[-3][1]) * (rest // 2)
                    prev2 = (prev2[0] + shift, prev2[1] + shift, prev2[2])  # type: ignore[index]
                    prev1 = (prev1[0] + shift, prev1[1] + shift, prev1[2])  # type: ignore[index]
                    done += 2 * (rest // 2)
                while done < count:
                    step(t_len)
                    done += 1
    if prev1 is None:
        return 0
    return prev1[1] + prev1[2] - 1 + lat + 1 + p.slr_latency_cycles


def os_beats(p: ArrayParams, mode: Mode, k: int) -> int:
    """Beats of one OS tile: steps x accumulator slots."""
    return os_steps(p, mode, k) * os_slots(p, mode)


def os_accumulate_stall_cycles(p: ArrayParams, mode: Mode, k: int) -> int:
    """Cycles of one OS tile spent waiting for the accumulator's adder (non-zero only without interleave).

    `os_tile_cycles = os_beats + os_accumulate_stall_cycles + fill/drain`; the stall is the (beat_gap - 1)
    idle cycles between consecutive beats.
    """
    return (os_beats(p, mode, k) - 1) * (os_beat_gap(p, mode) - 1)


# --------------------------------------------------------------- operands slower than the array (DRAM ports)
@dataclass(frozen=True)
class BlockStream:
    """How one operand's on-chip blocks are loaded and read (the op engine's double-buffered block buffers,
    docs/pe_array.md): `loads` blocks, one after another through the operand's DRAM port at
    `cycles_per_word` cycles a word; each block's first pass over its words (the pass that follows its
    load) reads them in `bursts` bursts of `burst_words` words, one word every `gap` cycles, the bursts
    `spacing` cycles apart (first word to first word, the array fed at its own rate); the block is in use
    `use_cycles` (first pass and the passes that reuse it, at the array's rate). A load that waits for a
    block's half to be released has its first beat `reload_cycles` after the release (the DRAM latency and
    the buffer's request stages, SatArch.op_reload_cycles).

    Times are the array controller's: a load "starts" (its first beat is "in") in the cycle the controller
    could take a one-beat word that came with its first beat (rtl/opengine: the beat's cycle + the block
    buffer's registered read + the array's input buffer), and a block's use ends (its release) in the
    cycle after the controller takes its last word."""

    loads: int
    cycles_per_word: float
    burst_words: int
    bursts: int
    gap: float
    spacing: float
    use_cycles: float
    reload_cycles: float = 0.0
    # Tiles whose starts alternate between a short and a long interval (WS with two weight banks: the
    # bank-reuse rule delays every second load, `ws_sequence`): `spacing` is their average, the op's first
    # tile is followed by `spacing - swing`, the next by `spacing + swing`, and so on. The bursts of a
    # block's first pass are consecutive tiles from its first; a block is in use for `block_tiles` tiles
    # (block j's first tile is the op's tile j x block_tiles), `use_cycles` their average.
    swing: float = 0.0
    block_tiles: int = 0


def first_action_wait(ws: bool, weights: BlockStream | None, acts: BlockStream | None) -> float:
    """Of the waits for words wider than a beat (`first_pass_wait`), the cycles that fall before the array's
    first action (WS: weight row 0's write; OS: the first beat at PE(0, 0)), counted from the op's first
    load (both operands' first blocks start loading together).

    The array's controller (rtl/array.py, TileController) starts the op's first tile once the words it
    takes are in: WS the first weight row (the streamer may start the same cycle if the first activation
    word is in too), OS the first weight step and the first activation beat. The action reaches the array
    in the controller's next enabled cycle: the whole array holds (`en` low) while a word it needs is
    missing, so a word needed in the cycle after the start that is not in yet (the second weight row, WS;
    the second word of a stream read a word a cycle, `gap` 1) holds the first action back as well. A word
    of b beats is in b - 1 cycles after a one-beat word would be (word w at b (w + 1) - 1)."""

    def first(s: BlockStream | None) -> tuple[float, float | None]:
        # (when word 0 is in, when word 1 is in if the controller wants it the cycle after word 0)
        if s is None or s.cycles_per_word <= 1:
            return 0.0, None
        b = s.cycles_per_word
        next_at = s.gap if s.burst_words >= 2 else (s.spacing if s.bursts >= 2 else math.inf)
        return b - 1, (2 * b - 1 if next_at == 1 else None)

    (w0, w1), (a0, a1) = first(weights), first(acts)
    start = w0 if ws else max(w0, a0)
    wanted = [w1] + ([a1] if not ws or a0 <= start else [])  # WS: the stream started with the load
    return max([start] + [x - 1 for x in wanted if x is not None])


def first_pass_deficit(s: BlockStream, parity: int = 0) -> float:
    """Cycles the first pass over a block lags behind the array's own rate when the block's load and its
    first pass start together: word w is in the buffer `cycles_per_word * (w + 1) - 1` cycles after the
    load's first beat (a word is written with its last beat) and the array, fed at its rate, would read it
    `spacing * i + gap * j` cycles after its first word (word j of burst i; with a `swing`, an odd burst
    `swing` earlier when the block's first tile is an even one of the op, `parity` 0, later when odd). The
    lag is largest at the first or last word of the first or last burst of either parity (linear in i and
    j within a parity)."""
    b, w = s.cycles_per_word, s.burst_words
    worst = 0.0
    for i in {0, 1, s.bursts - 2, s.bursts - 1} & set(range(s.bursts)):
        odd = (-s.swing if parity == 0 else s.swing) if i % 2 else 0.0
        for j in {0, w - 1}:
            worst = max(worst, b * (i * w + j + 1) - 1 - (s.spacing * i + odd + s.gap * j))
    return worst


def _steps_same_sign(q: float, dq: float, positive: bool) -> float:
    """How many values q, q + dq, q + 2 dq, ... keep `positive` (q > 0) as it is now."""
    if positive:
        return math.inf if dq >= 0 else math.ceil(q / -dq)
    return math.inf if dq <= 0 else math.floor(-q / dq) + 1


@functools.lru_cache(maxsize=65536)
def first_pass_wait(s: BlockStream) -> float:
    """Cycles the array waits, over the whole op, for words of an operand whose port delivers a word in
    more than one cycle (`cycles_per_word` > 1; else 0: the array never outruns it).

    Double buffering (rtl/opengine/buffer.py): block j loads once the port has loaded block j - 1 and block
    j - 2 is released (its half free; its first beat then `reload_cycles` later), so it loads while block
    j - 1 is in use; block j's first pass starts when block j - 1 is released and waits
    `first_pass_deficit` less the cycles its load had run ahead. Its parameters are the same for every
    block, so it settles into a period of one or two blocks (the rest is extrapolated) and before that
    moves linearly between the points where one of its two choices (does the load wait for a release; does
    the first pass wait) changes: such stretches are stepped over in one go. Where the tiles' intervals
    alternate (`swing`) and a block spans an odd count of them, blocks alternate between two sets of
    parameters: only the period of two blocks is extrapolated."""
    if s.cycles_per_word <= 1 or s.loads <= 0:
        return 0.0
    # blocks alternate between tiles of even and odd parity where a swing meets an odd count of tiles
    alternate = s.swing != 0 and s.block_tiles % 2 == 1
    deficits = (first_pass_deficit(s, 0), first_pass_deficit(s, 1))
    uses = (s.use_cycles - s.swing, s.use_cycles + s.swing) if alternate else (s.use_cycles, s.use_cycles)
    load = s.cycles_per_word * s.burst_words * s.bursts
    total = 0.0
    rel2 = rel1 = load_end = 0.0  # releases of blocks j - 2 and j - 1, the previous block's load end
    hist: list[tuple[float, float, float, float, bool, bool]] = []
    keys: list[tuple[float, float, float]] = []  # the state relative to the last release, and the wait
    j = 0
    while j < s.loads:
        parity = j % 2 if alternate else 0
        deficit = deficits[parity]
        gated = j >= 2 and rel2 + s.reload_cycles > load_end
        load_start = 0.0 if j == 0 else (rel2 + s.reload_cycles if gated else load_end)
        use_start = rel1
        lag = deficit - (use_start - load_start)
        wait = max(0.0, lag)
        total += wait
        rel2, rel1 = rel1, use_start + wait + uses[parity]
        load_end = load_start + load
        j += 1
        hist.append((rel2, rel1, load_end, wait, gated, lag > 0))
        keys.append((round(load_end - rel1, 9), round(rel2 - rel1, 9), round(wait, 9)))
        rest = s.loads - j
        if not alternate and len(keys) >= 2 and keys[-1] == keys[-2]:  # steady: every later block the same
            return total + rest * wait
        if len(keys) >= 3 and keys[-1] == keys[-3]:  # steady with period 2 (the load waits every other block)
            return total + rest // 2 * (wait + keys[-2][2]) + rest % 2 * keys[-2][2]
        if alternate or j < 4 or len(hist) < 3:
            continue
        a, b, c = hist[-3:]
        d = [c[i] - b[i] for i in range(4)]
        if a[4:] != b[4:] or b[4:] != c[4:] or any(abs(d[i] - (b[i] - a[i])) > 1e-9 for i in range(4)):
            continue
        # linear: the next block's choices as functions of the blocks ahead, until one flips
        q_gate = rel2 + s.reload_cycles - load_end
        n = _steps_same_sign(q_gate, d[0] - d[2], gated)
        ls_next, d_ls = (rel2 + s.reload_cycles, d[0]) if gated else (load_end, d[2])
        n = min(n, _steps_same_sign(deficit - (rel1 - ls_next), d_ls - d[1], lag > 0), s.loads - j)
        if n >= 2:
            k = int(n) - 1  # blocks stepped over; the next one is computed as before
            total += k * wait
            rel2, rel1, load_end = rel2 + k * d[0], rel1 + k * d[1], load_end + k * d[2]
            j += k
            hist.clear()
            keys.clear()
    return total
