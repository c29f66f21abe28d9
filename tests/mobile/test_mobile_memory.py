"""Memory model: cache-level assignment of working sets and streams, link times, threads."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sparsesim.mobile import costs
from sparsesim.mobile.memory import MemoryModel, Stream, Traffic
from sparsesim.mobile.microkernels import BodyCache
from sparsesim.mobile.simulate import MobileSimulator
from sparsesim.mobile.soc import SNAPDRAGON835, SNAPDRAGON855
from sparsesim.spec import MobileSpec

KIB = 1024


def test_fit_level_follows_usable_capacities():
    mm = MemoryModel(SNAPDRAGON855, threads=1)
    l1 = SNAPDRAGON855.l1_bytes * SNAPDRAGON855.cache_usable_fraction
    assert mm.fit_level(l1) == "L1"
    assert mm.fit_level(l1 + 1) == "L2"
    assert mm.fit_level(512 * KIB) == "L3"  # the prime core's 512 KB L2, 3/4 usable
    assert mm.fit_level(4 * 1024 * KIB) == "DRAM"
    assert MemoryModel(SNAPDRAGON835, threads=1).fit_level(1024 * KIB) == "L2"  # 2 MB shared L2, no L3
    assert MemoryModel(SNAPDRAGON835, threads=1).fit_level(1800 * KIB) == "DRAM"


def test_shared_weights_use_the_whole_shared_level_private_data_a_share():
    mm = MemoryModel(SNAPDRAGON855, threads=4)
    one_mb = 1024 * KIB
    assert mm.fit_level(one_mb) == "DRAM"  # a per-thread working set gets a quarter of the L3
    assert mm.fit_level(one_mb, shared=True) == "L3"  # weights all threads read: one copy in the L3


def _spmm_tile_work(k: int, soc=SNAPDRAGON855) -> costs.Work:
    shape = costs.SpmmShape(
        nr=1, full_block_nnz=np.full(64, k // 10), rem_channel_nnz=np.zeros(0, dtype=np.int64), k=k,
        weight_bytes=64 * (k // 10) * 8 + 64 * 8,
    )  # fmt: skip
    return costs.spmm_work(
        BodyCache(soc.core), shape, pixels=32 * 8, batch=1, mr=32, pack=False,
        in_bytes=k * 256 * 4, out_bytes=64 * 256 * 4, threads=1,
    )  # fmt: skip


def test_activation_tile_above_l1_costs_l2_traffic_and_time():
    mm = MemoryModel(SNAPDRAGON855, threads=1)
    small = _spmm_tile_work(256)  # 32 px x 256 ch x 4 B = 32 KB tile: fits the 48 KB usable L1
    big = _spmm_tile_work(1024)  # 128 KB tile: overflows L1, rows come from L2
    t_small = mm.resolve(small.streams, "L2", "L2")
    t_big = mm.resolve(big.streams, "L2", "L2")
    assert t_small.by_stream["activation rows"] == "L1"
    assert t_big.by_stream["activation rows"] == "L2"
    per_nz_small = t_small.reads["L2"] / (256 * 25.0 * 64)
    per_nz_big = t_big.reads["L2"] / (1024 * 102.0 * 64)
    assert per_nz_big > per_nz_small
    # Same work, smaller L1: more bytes from L2 and a slower op once the link is the bottleneck
    tiny_l1 = replace(SNAPDRAGON855, l1_bytes=8 * KIB, l2_fill_bytes_per_cycle=0.5)
    sim_ref = MobileSimulator(SNAPDRAGON855, MobileSpec())
    sim_tiny = MobileSimulator(tiny_l1, MobileSpec())
    w = _spmm_tile_work(256)
    fast = sim_ref.time(w, MemoryModel(SNAPDRAGON855, 1), "L2", "L2")
    slow = sim_tiny.time(w, MemoryModel(tiny_l1, 1), "L2", "L2")
    assert slow.traffic.reads["L2"] > fast.traffic.reads["L2"]
    assert slow.seconds > fast.seconds and slow.memory_s > 0 and slow.bottleneck == "L2->L1"
    assert fast.memory_s == 0.0


def test_dram_bound_op_has_memory_cycles_and_exact_link_time():
    mm = MemoryModel(SNAPDRAGON855, threads=1)
    streams = [Stream("weights", 34.1e6, "weights"), Stream("out", 1e3, "output")]
    traffic = mm.resolve(streams, "L1", "L1")
    links = mm.link_seconds(traffic, [1.0])
    assert links["DRAM"] == pytest.approx(34.1e6 / (34.1e9 * 0.7))
    work = costs.Work("gemm", "gemm 1x8", [1000.0], streams)
    t = MobileSimulator(SNAPDRAGON855, MobileSpec()).time(work, mm, "L1", "L1")
    assert t.bottleneck == "DRAM" and t.memory_s > 0
    assert t.seconds == pytest.approx(t.compute_s + t.memory_s + t.stall_s)


def test_threads_split_private_links_and_read_remote_data_from_l3():
    mm = MemoryModel(SNAPDRAGON855, threads=4)
    traffic = mm.resolve([Stream("act", 4e5, "input")], "L2", "L2")
    assert traffic.reads["L3"] == pytest.approx(3e5)  # 3/4 of the tensor was written by other cores
    assert traffic.reads["L2"] == pytest.approx(1e5)
    t = Traffic()
    t.add("L2", 1e6)
    one = mm.link_seconds(t, [1.0, 0.0, 0.0, 0.0])["L2->L1"]
    even = mm.link_seconds(t, [0.25] * 4)["L2->L1"]
    assert even < one


def test_work_imbalance_on_few_tiles_shows_as_stall():
    """49 pixels = tiles of 32 + 17: two chunks for four threads, the 32-pixel one dominates."""
    shape = costs.SpmmShape(1, np.full(256, 50), np.zeros(0, dtype=np.int64), 512, 256 * 50 * 8)
    spec = MobileSpec(threads=4)
    sim = MobileSimulator(SNAPDRAGON855, spec)
    w = costs.spmm_work(
        sim.bc, shape, pixels=49, batch=1, mr=32, pack=False, in_bytes=1e5, out_bytes=5e4, threads=4
    )
    assert len(w.chunks) == 2
    t = sim.time(w, MemoryModel(SNAPDRAGON855, 4), "L2", "L2")
    assert t.stall_s > 0.3 * t.compute_s
