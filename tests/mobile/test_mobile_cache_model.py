"""The cache model inside the mobile timing: cache sizes move SpMM time, sampled streams agree with full
simulation, and the dense GEMM is no longer at its peak rate by construction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sparsesim.mobile import costs, streams
from sparsesim.mobile.cache import CacheHierarchy
from sparsesim.mobile.memory import MemoryModel
from sparsesim.mobile.simulate import MobileSimulator
from sparsesim.mobile.soc import SNAPDRAGON835, SNAPDRAGON855
from sparsesim.sparsity import CSRDelta
from sparsesim.spec import MobileSpec

X, W, Y = 1 << 22, 1 << 30, 1 << 34


def _layer(cin=512, cout=512, sparsity=0.9, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((cout, cin)).astype(np.float32)
    w[rng.random(w.shape) < sparsity] = 0
    return CSRDelta.from_dense(w, 1)


def _spmm_seconds(soc, csr, pixels, budget=None):
    sim = MobileSimulator(soc, MobileSpec(), budget_lines=budget)
    shape = costs.SpmmShape.from_csr(csr, k=csr.shape[1])
    work = costs.spmm_work(
        sim.bc, shape, pixels=pixels, batch=1, mr=32, pack=False, in_bytes=csr.shape[1] * pixels * 4,
        out_bytes=csr.cout * pixels * 4, threads=1,
    )  # fmt: skip
    ls = streams.spmm_lines(csr, pixels=pixels, mr=32, x_base=X, w_base=W, y_base=Y, budget=budget)
    caches = CacheHierarchy(soc.cache_levels(), soc.prefetch_depth_lines, soc.prefetch_streams)
    stats = streams.run_stream(caches, ls)
    return sim.time_cache(work, stats, MemoryModel(soc, 1)), stats


def test_halving_l1_or_l2_changes_spmm_time():
    # 256 input channels x 32 pixels x 4 B = 32 KB activation tile, re-read per output channel: it fits
    # the 64 KB L1 beside the weight stream, not a 32 KB one
    csr = _layer(256, 512)
    base, st = _spmm_seconds(SNAPDRAGON855, csr, 196)
    half_l1, st1 = _spmm_seconds(replace(SNAPDRAGON855, l1_bytes=32 * 1024), csr, 196)
    assert st1.misses.sum() > 1.2 * st.misses.sum()
    assert half_l1.seconds > 1.05 * base.seconds
    # a 1024 x 1024 layer at 784 pixels: its weights + activations do not fit half the 512 KB L2
    csr = _layer(1024, 1024, 0.8)
    base, st = _spmm_seconds(SNAPDRAGON855, csr, 784, budget=150_000)
    small = replace(
        SNAPDRAGON855, cores=tuple(replace(c, l2_bytes=c.l2_bytes // 2) for c in SNAPDRAGON855.cores)
    )
    half_l2, st2 = _spmm_seconds(small, csr, 784, budget=150_000)
    assert st2.demand[2:].sum() > st.demand[2:].sum()
    assert half_l2.seconds > base.seconds


@pytest.mark.parametrize("cin,pixels", [(256, 784), (512, 196), (128, 3136)])
def test_sampled_stream_agrees_with_full_simulation(cin, pixels):
    """The sampling error (runs of consecutive tiles, scaled) against simulating every tile."""
    csr = _layer(cin, 2 * cin, 0.9, seed=cin)
    full, _ = _spmm_seconds(SNAPDRAGON855, csr, pixels, budget=None)
    sampled, _ = _spmm_seconds(SNAPDRAGON855, csr, pixels, budget=40_000)
    assert sampled.seconds == pytest.approx(full.seconds, rel=0.08)


def _gemm_rate(soc, m, n, k):
    sim = MobileSimulator(soc, MobileSpec(soc="snapdragon835"), budget_lines=None)
    work = costs.gemm_work(
        sim.bc, m=m, n=n, k=k, repeat=1, in_bytes=m * k * 4, out_bytes=m * n * 4, weight_bytes=k * n * 4,
        threads=1,
    )  # fmt: skip
    ls = streams.gemm_lines(m, n, k, x_base=X, w_base=W, y_base=Y)
    caches = CacheHierarchy(soc.cache_levels(), soc.prefetch_depth_lines, soc.prefetch_streams)
    t = sim.time_cache(work, caches.run(ls.lines, ls.writes), MemoryModel(soc, 1))
    return m * n * k / (t.seconds * soc.clock_ghz * 1e9), m * n * k / work.core_cycles, t


def test_dense_gemm_rate_follows_its_weight_traffic():
    """A 1024 x 1024 1x1 conv at 7x7 (the last MobileNet-v1 stage) on the SD835: 4 MB of weights are
    re-read from DRAM per 6-row panel, 48 MACs per 32 B. Sustained DRAM (29.9 GB/s x 0.7 at 2.45 GHz =
    8.5 B/cycle) could feed 12.8 MAC/cycle, above the A73's 4: the GEMM stays core-bound near its core
    rate (this is why the dense GEMM may run near peak). At 2 GB/s it can only feed 1.2 MAC/cycle."""
    m, n, k = 49, 1024, 1024
    rate, core_rate, t = _gemm_rate(SNAPDRAGON835, m, n, k)
    assert t.bottleneck in ("core", "misses") and rate > 0.85 * core_rate
    slow = replace(SNAPDRAGON835, dram_gbs=2.0)
    rate2, _, t2 = _gemm_rate(slow, m, n, k)
    panels = -(-m // 6)
    bound = m * n * k / (panels * k * n * 4 / (2.0e9 * slow.dram_efficiency) * slow.clock_ghz * 1e9)
    assert t2.bottleneck == "DRAM"
    assert rate2 == pytest.approx(bound, rel=0.1)
