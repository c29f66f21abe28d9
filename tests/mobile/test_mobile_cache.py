"""The cache model against hit/miss counts worked out by hand on small synthetic line streams."""

from __future__ import annotations

import numpy as np

from sparsesim.mobile.cache import CacheHierarchy, LevelConfig

# 4 sets x 2 ways x 64 B = 512 B L1; 8 sets x 4 ways = 2 KB L2. Line n maps to set n % sets.
L1 = LevelConfig("L1", 512, 2)
L2 = LevelConfig("L2", 2048, 4)


def _run(lines, depth=0, writes=None, levels=(L1, L2)):
    h = CacheHierarchy(levels, prefetch_depth_lines=depth)
    return h, h.run(np.array(lines, dtype=np.int64), None if writes is None else np.array(writes, bool))


def test_cold_misses_then_hits():
    _, st = _run([0, 1, 2, 3, 0, 1, 2, 3])
    assert st.demand.tolist() == [4, 0, 4]  # 4 L1 hits, 0 from L2, 4 cold misses from DRAM
    assert st.fills.tolist() == [0, 0, 4]


def test_lru_in_one_set():
    # lines 0, 4, 8 all map to L1 set 0 (2 ways). Access 0,4,0,8: 8 evicts 4 (LRU), not 0.
    h, st = _run([0, 4, 0, 8, 0, 4])
    # 0 miss, 4 miss, 0 hit, 8 miss (evicts 4), 0 hit, 4 miss in L1 -> hit in L2
    assert st.demand.tolist() == [2, 1, 3]


def test_associativity_conflicts_not_capacity():
    # three lines in one L1 set (2 ways), cycled: every access misses L1 although L1 holds 8 lines;
    # the L2 (4 ways) keeps all three, so after the cold round every access is an L2 hit.
    lines = [0, 4, 8] * 4
    _, st = _run(lines)
    assert st.demand.tolist() == [0, 9, 3]
    # the same three lines spread over sets all hit after the cold misses
    _, st2 = _run([0, 1, 2] * 4)
    assert st2.demand.tolist() == [9, 0, 3]


def test_smaller_cache_more_misses():
    lines = list(range(6)) * 3  # 6 lines: fit an 8-line L1, not a 4-line one
    big = LevelConfig("L1", 512, 2)
    small = LevelConfig("L1", 256, 2)
    _, a = _run(lines, levels=(big, L2))
    _, b = _run(lines, levels=(small, L2))
    assert a.demand[0] == 12 and b.demand[0] == 0  # LRU on a cyclic stream larger than the cache: all miss
    assert b.demand[1] == 12


def test_dirty_eviction_writes_back():
    # write line 0, then fill its set with 4 and 8: 0 (dirty) is evicted from L1 -> one write-back into L2
    _, st = _run([0, 4, 8], writes=[True, False, False])
    assert st.writebacks.tolist() == [0, 1, 0]


def test_stream_prefetcher_covers_a_sequential_stream():
    lines = list(range(100, 140))
    _, off = _run(lines, depth=0, levels=(LevelConfig("L1", 64 * 64, 4), L2))
    _, on = _run(lines, depth=4, levels=(LevelConfig("L1", 64 * 64, 4), L2))
    assert off.demand[-1] == 40 and off.prefetch_hits == 0
    # 100 misses (new stream), 101 misses and confirms it -> 102..105 prefetched; each prefetched hit
    # advances the window by one line, so every later line is covered.
    assert on.demand[-1] == 2
    assert on.prefetch_hits == 38
    assert on.fills[-1] == 40 + 4  # the prefetcher runs 4 lines past the end of the stream


def test_prefetcher_ignores_a_random_gather():
    rng = np.random.default_rng(0)
    lines = rng.choice(10_000, size=200, replace=False) * 3
    _, st = _run(lines.tolist(), depth=8, levels=(LevelConfig("L1", 64 * 64, 4), L2))
    assert st.prefetch_hits == 0 and st.demand[-1] == 200


def test_state_persists_across_runs():
    h = CacheHierarchy((L1, L2))
    h.run(np.arange(4))
    st = h.run(np.arange(4))
    assert st.demand.tolist() == [4, 0, 0]
