"""The timing contract of the PE array (DESIGN.md contract 3; specification in docs/pe_array.md).

This module is the one place that says how many cycles the PE array takes for a tile. The SimPy engines
call it; `sparsesim.sat.refarray` (a cycle-stepped model) and the cocotb benches on the RTL check it cycle for
cycle. Everything here is a pure function of the array parameters, the mode and the tile shape.

Cycle numbering: a tile sequence starts at cycle 0 (the first weight-row write in WS, the first beat in
OS). `end` is the cycle in which the tile's last result leaves the array; a sequence takes `end + 1` cycles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Dataflow = Literal["ws", "os"]


@dataclass(frozen=True)
class ArrayParams:
    """Elaboration-time parameters of the PE array (see docs/pe_array.md, Parameters)."""

    rows: int
    cols: int
    multipliers: int  # P, a power of two
    max_m: int  # MMAX, a power of two >= P
    mul_latency: int  # L_mul, cycles
    add_latency: int  # L_add, cycles

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "multipliers", "max_m", "mul_latency", "add_latency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.multipliers & (self.multipliers - 1) or self.max_m & (self.max_m - 1):
            raise ValueError("multipliers and max_m must be powers of two")
        if self.max_m < self.multipliers:
            raise ValueError("max_m must be >= multipliers")

    @property
    def tree_latency(self) -> int:
        """Pairwise adder tree over P products: log2(P) adder stages."""
        return (self.multipliers.bit_length() - 1) * self.add_latency

    @property
    def product_latency(self) -> int:
        """L_p: activation at a PE's input to its tree sum."""
        return self.mul_latency + self.tree_latency


@dataclass(frozen=True)
class Mode:
    """Run-time configuration of the array for one tile."""

    dataflow: Dataflow
    n: int | None = None  # None: dense
    m: int | None = None
    interleave: bool = True  # OS accumulation interleaving

    @property
    def sparse(self) -> bool:
        return self.n is not None

    def check(self, p: ArrayParams) -> None:
        if self.dataflow not in ("ws", "os"):
            raise ValueError(f"dataflow must be 'ws' or 'os', got {self.dataflow!r}")
        if self.sparse:
            n, m = self.n, self.m
            if m is None or m & (m - 1) or not 1 <= n <= p.multipliers or m > p.max_m or n > m:  # type: ignore[operator]
                raise ValueError(
                    f"mode {n}:{m} is not supported by an array with P={p.multipliers}, MMAX={p.max_m}"
                )

    def elements_per_cycle(self, p: ArrayParams) -> int:
        """E: reduction elements one PE covers per beat (M in N:M mode, P dense)."""
        return int(self.m) if self.sparse else p.multipliers

    def slots(self, p: ArrayParams) -> int:
        """I: OS accumulator slots per PE (L_add with interleave mapping, else 1)."""
        return p.add_latency if self.interleave else 1

    def beat_gap(self, p: ArrayParams) -> int:
        """OS cycles between beats: 1 with interleave, L_add without (waiting for the accumulator)."""
        return 1 if self.interleave else p.add_latency


@dataclass(frozen=True)
class TileShape:
    """A tile of C[m x n] = A[m x k] . B[k x n] (A is the N:M-sparse operand when the mode is sparse)."""

    m: int
    n: int
    k: int


@dataclass(frozen=True)
class Capacity:
    """Largest tile the array takes in one go for a mode (None: unbounded, streamed)."""

    m: int
    n: int | None
    k: int | None


def capacity(p: ArrayParams, mode: Mode) -> Capacity:
    e = mode.elements_per_cycle(p)
    if mode.dataflow == "ws":
        return Capacity(m=p.cols, n=None, k=p.rows * e)
    return Capacity(m=p.rows, n=p.cols * mode.slots(p), k=None)


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
    return (p.cols - 1) + p.product_latency + p.rows * p.add_latency


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
    """
    times: list[TileTimes] = []
    free = ws_bank_free_delay(p)
    lat = ws_result_latency(p)
    for i, t_len in enumerate(stream_lengths):
        ls = 0 if ready is None else ready[i]
        if i >= 1:
            ls = max(ls, times[i - 1].load + p.rows)  # type: ignore[operator]
        if i >= 2:
            ls = max(ls, times[i - 2].start + stream_lengths[i - 2] + free)
        t0 = ls + 1
        if i >= 1:
            t0 = max(t0, times[i - 1].start + stream_lengths[i - 1])
        times.append(TileTimes(load=ls, start=t0, end=t0 + t_len - 1 + lat))
    return times


def ws_steady_interval(p: ArrayParams, stream_length: int) -> float:
    """Average cycles between starts of identical back-to-back WS tiles, in steady state."""
    t = stream_length
    return max(float(t), float(p.rows), (t + ws_bank_free_delay(p) + 1) / 2)


# --------------------------------------------------------------------------------------------------- OS
def os_steps(p: ArrayParams, mode: Mode, k: int) -> int:
    return math.ceil(k / mode.elements_per_cycle(p))


def os_tile_cycles(p: ArrayParams, mode: Mode, k: int) -> int:
    """Cycles of one OS tile from its first beat to the last drained result, inclusive.

    Independent of m and n within capacity: the array cycles all slots and drains all rows.
    """
    slots = mode.slots(p)
    beats = os_steps(p, mode, k) * slots
    last_final = (
        (p.rows - 1) + (p.cols - 1) + (beats - 1) * mode.beat_gap(p) + p.product_latency + p.add_latency
    )
    return last_final + 1 + p.rows * slots


# ------------------------------------------------------------------------------------------ both dataflows
def tile_cycles(p: ArrayParams, mode: Mode, t: TileShape) -> int:
    """Cycles of one tile on an idle array, from its first action to its last result, inclusive."""
    check_tile(p, mode, t)
    if mode.dataflow == "ws":
        return ws_sequence(p, [t.n])[0].end + 1
    return os_tile_cycles(p, mode, t.k)


def sequence(p: ArrayParams, mode: Mode, tiles: Sequence[TileShape]) -> list[TileTimes]:
    """Times of tiles run back to back in one mode, from cycle 0."""
    for t in tiles:
        check_tile(p, mode, t)
    if mode.dataflow == "ws":
        return ws_sequence(p, [t.n for t in tiles])
    out: list[TileTimes] = []
    start = 0
    for t in tiles:
        cyc = os_tile_cycles(p, mode, t.k)
        out.append(TileTimes(load=None, start=start, end=start + cyc - 1))
        start += cyc
    return out


def switch_delay(mode: Mode) -> int:
    """Cycles from a tile's last result (its `end`) to cycle 0 of a following sequence in a different mode.

    A change of dataflow or array mode drains the array (docs/pe_array.md, WS weight loading): the new tile
    takes its first beat in the cycle after that last result. In WS that is the write of weight row 0 (cycle
    0); in OS cycle 0 is the first beat at PE(0, 0), one cycle after it was taken.
    """
    return 1 if mode.dataflow == "ws" else 2


def run_cycles(p: ArrayParams, mode: Mode, tile: TileShape, count: int) -> int:
    """Cycles for `count` identical tiles back to back on an idle array (exact, O(1) for large counts)."""
    if count <= 0:
        return 0
    check_tile(p, mode, tile)
    if mode.dataflow == "os":
        return count * os_tile_cycles(p, mode, tile.k)
    # The WS recurrence settles into a pattern of period 2 within a few tiles: simulate a prefix, extrapolate.
    prefix = min(count, 8)
    times = ws_sequence(p, [tile.n] * prefix)
    if count <= prefix:
        return times[-1].end + 1
    period = times[-1].start - times[-3].start  # two tiles
    extra = count - prefix
    # Intervals repeat with period 2, so an odd extra tile takes the interval of two tiles back.
    last_start = times[-1].start + (extra // 2) * period + (extra % 2) * (times[-2].start - times[-3].start)
    return last_start + tile.n - 1 + ws_result_latency(p) + 1


def macs_per_cycle_peak(p: ArrayParams, mode: Mode) -> int:
    """Dense-equivalent MACs per cycle at full utilisation (E reduction elements per PE per beat)."""
    return p.rows * p.cols * mode.elements_per_cycle(p)


# ------------------------------------------------------------------------------- queries for the simulator
def ws_runs_cycles(p: ArrayParams, runs: Sequence[tuple[int, int]]) -> int:
    """Cycles for WS tiles back to back on an idle array, given as runs of (stream_length, count).

    Equals `sequence(...)[-1].end + 1` for the expanded tile list (checked in tests) at O(len(runs)) cost:
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
        if prev2 is not None:
            ls = max(ls, prev2[1] + prev2[2] + free)
        t0 = ls + 1
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
    return prev1[1] + prev1[2] - 1 + lat + 1


def os_beats(p: ArrayParams, mode: Mode, k: int) -> int:
    """Beats of one OS tile: steps x accumulator slots."""
    return os_steps(p, mode, k) * mode.slots(p)


def os_accumulate_stall_cycles(p: ArrayParams, mode: Mode, k: int) -> int:
    """Cycles of one OS tile spent waiting for the accumulator's adder (non-zero only without interleave).

    `os_tile_cycles = os_beats + os_accumulate_stall_cycles + fill/drain`; the stall is the (beat_gap - 1)
    idle cycles between consecutive beats.
    """
    return (os_beats(p, mode, k) - 1) * (mode.beat_gap(p) - 1)
