"""The op engine's out buffer (rtl/opengine/accum.py) in Amaranth's simulator: result words with their
tiles' jobs in, final sums out, against sparsesim.sat.numerics' accumulation contract (`accumulate`: from
+0, the parts in order, FP32) computed here in numpy. Short tiles put a word's next part into the pipeline
while its previous sum is still being added (the out buffer must wait for it); random gaps on the input and
back-pressure on the output. Fast (no simulator build)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.sim import Simulator
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine.accum import OutBuffer

from sparsesim.sat import numerics

pytestmark = pytest.mark.rtl  # Amaranth's simulator, like the other RTL unit benches (no external tool)

CFG = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")


def _parts(rng: np.random.Generator, n: int) -> np.ndarray:
    """n x cols FP32 values as the array gives them (sums of FP16 products: no FP32 subnormals), some -0."""
    a = rng.standard_normal((n, CFG.cols)).astype(np.float16).astype(np.float32)
    b = rng.standard_normal((n, CFG.cols)).astype(np.float16).astype(np.float32)
    out = a * b
    out[rng.random(out.shape) < 0.05] = -0.0
    return out


def _jobs(seed: int):
    """Output blocks of varied shapes: each output word's parts (k-tiles) as tiles of `words` words."""
    rng = random.Random(seed)
    jobs = []
    for _ in range(6):
        words = rng.choice([1, 2, 3, 5])
        parts = rng.choice([1, 2, 4])
        keep = parts == 1 and rng.random() < 0.5  # an OS output of one k-block: passed on as it is
        tiles = rng.choice([1, 2])  # m-tiles of the block, each `words` words
        for k in range(parts):
            for t in range(tiles):
                jobs.append({"base": t * words, "words": words, "first": int(k == 0),
                             "last": int(k == parts - 1), "keep": int(keep)})  # fmt: skip
    return jobs


def _expected(jobs, parts: np.ndarray, lasts: list[int]) -> list[tuple[list[int], int]]:
    store: dict[int, np.ndarray] = {}
    out, i = [], 0
    for job in jobs:
        for w in range(job["words"]):
            x = parts[i]
            if job["keep"]:
                total = x
            else:
                prev = np.zeros(CFG.cols, np.float32) if job["first"] else store[job["base"] + w]
                total = numerics.accumulate(np.stack([prev, x]) if not job["first"] else x[None])
            if job["last"] or job["keep"]:
                out.append((numerics.fp32_bits(total).tolist(), lasts[i]))
            else:
                store[job["base"] + w] = total
            i += 1
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_out_buffer_accumulates_as_numerics(seed):
    jobs = _jobs(seed)
    n = sum(j["words"] for j in jobs)
    rng = np.random.default_rng(seed)
    parts = _parts(rng, n)
    lasts = [int(x) for x in rng.integers(0, 2, n)]
    want = _expected(jobs, parts, lasts)
    dut = OutBuffer(CFG, words=16)
    coin = random.Random(seed)
    got: list[tuple[list[int], int]] = []

    async def bench(ctx):
        pending = list(jobs)
        i, cycle = 0, 0
        while len(got) < len(want) and cycle < 5_000:
            ctx.set(dut.job.valid, int(bool(pending)))
            if pending:
                for name, value in pending[0].items():
                    ctx.set(getattr(dut.job.payload, name), value)
            offer = i < n and coin.random() < 0.8
            ctx.set(dut.results.valid, int(offer))
            if i < n:
                bits = numerics.fp32_bits(parts[i]).tolist()
                ctx.set(dut.results.payload.data, bits)
                ctx.set(dut.results.payload.last, lasts[i])
            take = coin.random() < 0.6
            ctx.set(dut.out.ready, int(take))
            if pending and ctx.get(dut.job.ready):
                pending.pop(0)
            if offer and ctx.get(dut.results.ready):
                i += 1
            if take and ctx.get(dut.out.valid):
                word = ctx.get(dut.out.payload)
                got.append(([int(word.data[c]) for c in range(CFG.cols)], int(word.last)))
            await ctx.tick()
            cycle += 1
        assert ctx.get(dut.idle) or len(got) < len(want)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == want
