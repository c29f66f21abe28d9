"""Query functions the simulator adds to the timing contract agree with `timing.sequence` (itself checked
against the cycle-stepped reference array in test_timing_contract.py)."""

from __future__ import annotations

import random

import pytest

from sparsesim.sat import timing
from sparsesim.sat.timing import ArrayParams, Mode, TileShape


@pytest.mark.parametrize("seed", range(4))
def test_ws_runs_cycles_equals_the_expanded_sequence(seed):
    rng = random.Random(seed)
    for _ in range(300):
        p = ArrayParams(
            rows=rng.choice([1, 2, 3, 16]),
            cols=rng.choice([1, 3, 32]),
            multipliers=2,
            max_m=8,
            mul_latency=rng.choice([1, 2]),
            add_latency=rng.choice([1, 2, 4]),
        )
        runs = [(rng.randint(1, 150), rng.randint(0, 40)) for _ in range(rng.randint(1, 4))]
        tiles = [TileShape(p.cols, t, p.rows * 2) for t, c in runs for _ in range(c)]
        want = timing.sequence(p, Mode("ws"), tiles)[-1].end + 1 if tiles else 0
        assert timing.ws_runs_cycles(p, runs) == want, (p, runs)


def test_ws_runs_cycles_matches_run_cycles_for_one_run():
    p = ArrayParams(rows=16, cols=32, multipliers=2, max_m=8, mul_latency=2, add_latency=4)
    for n in (1, 7, 64, 75, 76, 77, 500):
        for count in (1, 2, 3, 10, 1001):
            assert timing.ws_runs_cycles(p, [(n, count)]) == timing.run_cycles(
                p, Mode("ws", 2, 8), TileShape(32, n, 128), count
            )


def test_os_tile_decomposes_into_beats_accumulate_stall_and_fill_drain():
    p = ArrayParams(rows=4, cols=4, multipliers=2, max_m=8, mul_latency=2, add_latency=4)
    overhead = (p.rows - 1) + (p.cols - 1) + timing.product_latency(p) + p.add_latency
    for mode in (
        Mode("os"),
        Mode("os", interleave=False),
        Mode("os", 2, 8),
        Mode("os", 1, 4, interleave=False),
    ):
        for k in (8, 40, 256):
            beats = timing.os_beats(p, mode, k)
            stall = timing.os_accumulate_stall_cycles(p, mode, k)
            assert timing.os_tile_cycles(p, mode, k) == beats + stall + overhead + p.rows * timing.os_slots(p, mode)
            assert (stall == 0) == mode.interleave
