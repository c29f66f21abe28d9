"""Set-associative cache hierarchy driven by a kernel's line-address stream.

One core's view of the hierarchy (L1D, L2, optionally L3, then DRAM): every level is set-associative with
true LRU replacement, write-allocate and write-back (dirty lines are written to the next level when they
are evicted). Levels are non-inclusive: a line found at level h is copied into every level above h.

A hardware stream prefetcher sits at L1: a demand miss (or the first demand hit on a prefetched line) at
line X that continues a tracked ascending stream (the previous such event of that stream was at X-1)
fetches lines up to X + depth into L1 (from wherever they are), flagged as prefetched. Streams are tracked
in a small table (round-robin replacement). This is the usual next-N-line stream prefetcher; the Arm TRMs
describe the A73/A76 L1 prefetchers as detecting sequential/strided streams without publishing the depth,
which is therefore a calibrated parameter (docs/mobile_model.md).

The simulation is one pass over the whole address stream in a numba-compiled loop (every access of every
op is simulated; nothing is sampled). State (tags, LRU stamps, dirty and prefetch flags, stream table)
persists across ops, so a layer finds its input where the previous layer left it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

LINE_BYTES = 64


@dataclass(frozen=True)
class LevelConfig:
    name: str
    size_bytes: int
    ways: int
    line_bytes: int = LINE_BYTES

    @property
    def sets(self) -> int:
        """Sets, rounded down to a power of two (set index = line number's low bits, as in hardware)."""
        n = max(1, self.size_bytes // (self.ways * self.line_bytes))
        return 1 << (n.bit_length() - 1)


@dataclass
class CacheStats:
    """Counts for one simulated stream. Index = level (0 = L1, ..., len(levels) = DRAM)."""

    levels: tuple[str, ...]
    demand: np.ndarray  # demand accesses served by each level (prefetched hits counted at L1 and below)
    prefetch_hits: int  # demand accesses that hit a line the prefetcher brought into L1
    fills: np.ndarray  # lines read out of each level into the levels above (demand + prefetch)
    writebacks: np.ndarray  # dirty lines written into each level
    accesses: int

    @property
    def misses(self) -> np.ndarray:
        """Demand accesses that missed L1 and were not prefetched, by the level that served them."""
        return self.demand[1:]

    def bytes_from(self, level: int, line_bytes: int = LINE_BYTES) -> float:
        return float(self.fills[level] * line_bytes)

    def plus(self, other: CacheStats) -> CacheStats:
        return CacheStats(
            self.levels,
            self.demand + other.demand,
            self.prefetch_hits + other.prefetch_hits,
            self.fills + other.fills,
            self.writebacks + other.writebacks,
            self.accesses + other.accesses,
        )

    def scaled(self, factor: float) -> CacheStats:
        return CacheStats(
            self.levels,
            self.demand * factor,
            int(round(self.prefetch_hits * factor)),
            self.fills * factor,
            self.writebacks * factor,
            int(round(self.accesses * factor)),
        )


@numba.njit(cache=False, nogil=True)
def _find(tags, lv, s, line, ways):
    for w in range(ways):
        if tags[lv, s, w] == line:
            return w
    return -1


@numba.njit(cache=False, nogil=True)
def _victim(stamp, lv, s, ways):
    best = 0
    for w in range(1, ways):
        if stamp[lv, s, w] < stamp[lv, s, best]:
            best = w
    return best


@numba.njit(cache=False, nogil=True)
def _insert(tags, stamp, dirty, pref, sets, ways, nlev, lv, line, now, is_dirty, is_pref, writebacks):
    """Put `line` into level `lv` (LRU victim); a dirty victim is written to the next level."""
    s = line & (sets[lv] - 1)
    w = _victim(stamp, lv, s, ways[lv])
    old = tags[lv, s, w]
    if old >= 0 and dirty[lv, s, w]:
        nxt = lv + 1
        writebacks[nxt] += 1
        if nxt < nlev:
            s2 = old & (sets[nxt] - 1)
            w2 = _find(tags, nxt, s2, old, ways[nxt])
            if w2 >= 0:
                dirty[nxt, s2, w2] = True
    tags[lv, s, w] = line
    stamp[lv, s, w] = now
    dirty[lv, s, w] = is_dirty
    pref[lv, s, w] = is_pref


@numba.njit(cache=False, nogil=True)
def _fetch(tags, stamp, dirty, pref, sets, ways, nlev, line, now, is_dirty, is_pref, fills, writebacks):
    """Look `line` up from L1 down; copy it into every level above the one holding it. Returns that level
    (nlev = DRAM) and whether the L1 copy was a prefetched line (first demand touch)."""
    hit = nlev
    was_pref = False
    for lv in range(nlev):
        s = line & (sets[lv] - 1)
        w = _find(tags, lv, s, line, ways[lv])
        if w >= 0:
            hit = lv
            stamp[lv, s, w] = now
            if lv == 0:
                was_pref = pref[0, s, w]
                if not is_pref:
                    pref[0, s, w] = False
                if is_dirty:
                    dirty[0, s, w] = True
            break
    if hit > 0:
        fills[hit] += 1
        for lv in range(hit - 1, -1, -1):
            _insert(
                tags, stamp, dirty, pref, sets, ways, nlev, lv, line, now,
                is_dirty and lv == 0, is_pref and lv == 0, writebacks,
            )  # fmt: skip
    return hit, was_pref


@numba.njit(cache=False, nogil=True)
def _simulate(
    lines, writes, tags, stamp, dirty, pref, sets, ways, clock, stream_next, stream_ahead, stream_ptr,
    depth, demand, fills, writebacks,
):  # fmt: skip
    nlev = tags.shape[0]
    nstreams = stream_next.shape[0]
    pf_hits = 0
    now = clock[0]
    for i in range(lines.shape[0]):
        line = lines[i]
        now += 1
        hit, was_pref = _fetch(
            tags, stamp, dirty, pref, sets, ways, nlev, line, now, writes[i], False, fills, writebacks
        )
        demand[hit] += 1
        if was_pref:
            pf_hits += 1
        if depth > 0 and (hit > 0 or was_pref):
            found = -1
            for e in range(nstreams):
                if stream_next[e] == line:
                    found = e
                    break
            if found >= 0:
                stream_next[found] = line + 1
                start = max(stream_ahead[found] + 1, line + 1)
                for p in range(start, line + depth + 1):
                    now += 1
                    _fetch(tags, stamp, dirty, pref, sets, ways, nlev, p, now, False, True, fills, writebacks)
                stream_ahead[found] = max(stream_ahead[found], line + depth)
            else:
                e = stream_ptr[0]
                stream_next[e] = line + 1
                stream_ahead[e] = line
                stream_ptr[0] = (e + 1) % nstreams
    clock[0] = now
    return pf_hits


class CacheHierarchy:
    """One core's caches (state persists across `run` calls)."""

    def __init__(self, levels: tuple[LevelConfig, ...], prefetch_depth_lines: int = 0, streams: int = 8):
        self.levels = levels
        n = len(levels)
        max_sets = max(lv.sets for lv in levels)
        max_ways = max(lv.ways for lv in levels)
        self.sets = np.array([lv.sets for lv in levels], dtype=np.int64)
        self.ways = np.array([lv.ways for lv in levels], dtype=np.int64)
        self.tags = np.full((n, max_sets, max_ways), -1, dtype=np.int64)
        self.stamp = np.zeros((n, max_sets, max_ways), dtype=np.int64)
        self.dirty = np.zeros((n, max_sets, max_ways), dtype=np.bool_)
        self.pref = np.zeros((n, max_sets, max_ways), dtype=np.bool_)
        self.clock = np.zeros(1, dtype=np.int64)
        self.stream_next = np.full(max(1, streams), -1, dtype=np.int64)
        self.stream_ahead = np.full(max(1, streams), -1, dtype=np.int64)
        self.stream_ptr = np.zeros(1, dtype=np.int64)
        self.depth = int(prefetch_depth_lines)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(lv.name for lv in self.levels) + ("DRAM",)

    def run(self, lines: np.ndarray, writes: np.ndarray | None = None) -> CacheStats:
        lines = np.ascontiguousarray(lines, dtype=np.int64)
        if writes is None:
            writes = np.zeros(lines.shape[0], dtype=np.bool_)
        writes = np.ascontiguousarray(writes, dtype=np.bool_)
        n = len(self.levels)
        demand = np.zeros(n + 1, dtype=np.int64)
        fills = np.zeros(n + 1, dtype=np.int64)
        wbs = np.zeros(n + 1, dtype=np.int64)
        pf = _simulate(
            lines, writes, self.tags, self.stamp, self.dirty, self.pref, self.sets, self.ways, self.clock,
            self.stream_next, self.stream_ahead, self.stream_ptr, self.depth, demand, fills, wbs,
        )  # fmt: skip
        return CacheStats(self.names, demand, int(pf), fills, wbs, int(lines.shape[0]))
