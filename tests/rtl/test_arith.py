"""The PE's arithmetic units in Amaranth's simulator, bit for bit against sparsesim.sat.numerics' references:
edge cases (zeros of both signs, infinities, NaNs, subnormals, overflow, rounding ties, cancellation), every
pair of them, and random vectors, at the preset pipeline depths and at others."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from rtl_amsim import run_pipelined
from sparsesim.rtl.arith import (
    GROUP_BITS,
    FP16Multiplier,
    FP32Adder,
    FP32AdderDeep,
    IntAdder,
    IntMultiplier,
    group_any_abs,
    register_plan,
)

from sparsesim.sat import numerics

pytestmark = pytest.mark.rtl

FP16_EDGES = [
    0x0000, 0x8000,  # +0, -0
    0x7C00, 0xFC00,  # +inf, -inf
    0x7E00, 0x7C01, 0xFE00, 0x7FFF,  # NaNs (quiet, signalling, negative)
    0x0001, 0x8001, 0x03FF, 0x0200, 0x83FF,  # subnormals
    0x0400, 0x8400,  # smallest normals
    0x7BFF, 0xFBFF,  # largest finite
    0x3C00, 0xBC00, 0x3800, 0x3C01, 0x3BFF, 0x4248,  # 1, -1, 0.5, 1+ulp, 1-ulp/2, pi
]
FP32_EDGES = [
    0x00000000, 0x80000000,
    0x7F800000, 0xFF800000,
    0x7FC00000, 0x7F800001, 0xFFC00000, 0x7FFFFFFF,
    0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00400000,  # subnormals (flushed)
    0x00800000, 0x80800000, 0x00800001, 0x80800001, 0x01000000,  # near the normal limit
    0x7F7FFFFF, 0xFF7FFFFF, 0x7F000000, 0x73800000,  # largest finite, 2^127, 2^104 (half an ulp of max)
    0x3F800000, 0xBF800000, 0x3F800001, 0xBF800001, 0x3F7FFFFF, 0xBF7FFFFF,  # 1, 1 + ulp, 1 - ulp/2
    0x33800000, 0xB3800000, 0x34000000, 0x33C00000,  # 2^-24 (half an ulp of 1), 2^-23, 1.5 * 2^-24
    0x4B800000, 0xCB800001, 0x40490FDB, 0xC0490FDB,
]


def _pairs(edges):
    a, b = zip(*itertools.product(edges, repeat=2))
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)


def _random_fp32(rng, count):
    a = rng.integers(0, 1 << 32, count, dtype=np.uint64)
    b = rng.integers(0, 1 << 32, count, dtype=np.uint64)
    # A third with nearby exponents (alignment, cancellation, rounding), a third with equal exponents.
    third = count // 3
    near = (a[:third] & 0xFF800000) + (rng.integers(-3, 4, third).astype(np.int64) << 23).astype(np.uint64)
    b[:third] = (near & 0xFF800000) | rng.integers(0, 1 << 23, third).astype(np.uint64)
    b[:third] ^= rng.integers(0, 2, third).astype(np.uint64) << np.uint64(31)
    b[third : 2 * third] = (a[third : 2 * third] ^ (1 << 31)) ^ rng.integers(0, 16, third).astype(np.uint64)
    return a & 0xFFFFFFFF, b & 0xFFFFFFFF


def _check(got, want, a, b, what):
    bad = np.nonzero(got != want)[0]
    detail = [(hex(int(a[i])), hex(int(b[i])), hex(int(got[i])), hex(int(want[i]))) for i in bad[:5]]
    assert bad.size == 0, f"{what}: {bad.size} mismatches (a, b, rtl, model): {detail}"


def test_register_plan_spreads_latency_over_phases():
    assert register_plan(4, 4) == [1, 1, 1, 1]
    assert register_plan(4, 6) == [1, 1, 1, 3]
    assert register_plan(4, 2) == [0, 1, 0, 1]
    assert register_plan(4, 1) == [0, 0, 0, 1]
    assert sum(register_plan(2, 3)) == 3
    with pytest.raises(ValueError):
        register_plan(2, 0)


@pytest.mark.parametrize("latency", [2, 1, 3])
def test_fp16_multiplier_exact_product(latency):
    rng = np.random.default_rng(latency)
    ea, eb = _pairs(FP16_EDGES)
    count = 4000 if latency == 2 else 800
    ra = rng.integers(0, 1 << 16, count, dtype=np.uint64)
    rb = rng.integers(0, 1 << 16, count, dtype=np.uint64)
    sub = rng.integers(0, 1 << 10, count // 4, dtype=np.uint64)  # subnormal x anything
    ra[: count // 4] = sub | (rng.integers(0, 2, count // 4, dtype=np.uint64) << np.uint64(15))
    a, b = np.concatenate([ea, ra]), np.concatenate([eb, rb])
    got = run_pipelined(FP16Multiplier(latency), {"a": a, "b": b}, "p", latency)
    _check(got, numerics.fp16_mul(a.astype(np.uint16), b.astype(np.uint16)), a, b, "fp16 mul")


def _adder_pairs(rng, n_random: int):
    """FP32 adder operands: every pair of edge values, `n_random` random pairs, and every exponent
    difference 0..40 with random significands and signs (each alignment shift and its sticky bit)."""
    ea, eb = _pairs(FP32_EDGES)
    ra, rb = _random_fp32(rng, n_random)
    da = rng.integers(0x3F800000, 0x40000000, 4100, dtype=np.uint64)
    shift = np.arange(4100, dtype=np.uint64) % 41
    db = (da - (shift << np.uint64(23))) ^ rng.integers(0, 1 << 23, 4100, dtype=np.uint64)
    db ^= rng.integers(0, 2, 4100, dtype=np.uint64) << np.uint64(31)
    return np.concatenate([ea, ra, da]), np.concatenate([eb, rb, db])


@pytest.mark.parametrize(
    ("latency", "align"),
    [(4, "fabric"), (1, "fabric"), (2, "fabric"), (3, "fabric"), (6, "fabric"), (4, "dsp"), (2, "dsp")],
)
def test_fp32_adder_rne_flush_specials(latency, align):
    a, b = _adder_pairs(np.random.default_rng(100 + latency), 9000 if latency == 4 else 1500)
    got = run_pipelined(FP32Adder(latency, align), {"a": a, "b": b}, "s", latency)
    _check(got, numerics.fp32_add(a.astype(np.uint32), b.astype(np.uint32)), a, b, f"fp32 add ({align})")


@pytest.mark.parametrize("latency", [6, 7, 3, 1])
def test_fp32_adder_deep_same_bits(latency):
    """The out buffer's seven-phase adder: the same bits as the reference (every exponent difference 0..40,
    edges, random pairs), at its default depth (6), one register per phase (7) and with more phases merged."""
    a, b = _adder_pairs(np.random.default_rng(300 + latency), 9000 if latency == 6 else 1500)
    got = run_pipelined(FP32AdderDeep(latency), {"a": a, "b": b}, "s", latency)
    _check(got, numerics.fp32_add(a.astype(np.uint32), b.astype(np.uint32)), a, b, "fp32 add (deep)")


def test_fp32_adder_policy_spot_checks():
    """The documented policy, case by case (the reference itself is checked here too)."""
    cases = {
        (0x3F800000, 0xBF800000): 0x00000000,  # x + -x = +0
        (0x80000000, 0x80000000): 0x80000000,  # -0 + -0 = -0
        (0x80000000, 0x00000000): 0x00000000,
        (0x80000001, 0x80000000): 0x80000000,  # subnormal input reads as -0
        (0x00800001, 0x80800000): 0x00000000,  # result 2^-149 (subnormal) flushes to +0
        (0x80800001, 0x00800000): 0x80000000,  # ... to -0
        (0x7F7FFFFF, 0x7F7FFFFF): 0x7F800000,  # overflow -> +inf
        (0xFF7FFFFF, 0xFF7FFFFF): 0xFF800000,
        (0x7F7FFFFF, 0x73800000): 0x7F800000,  # max + half an ulp: tie to even rounds up to inf
        (0x7F800000, 0xFF800000): 0x7FC00000,  # inf - inf
        (0x7F800001, 0x3F800000): 0x7FC00000,  # sNaN in -> canonical qNaN
        (0xFF800000, 0x7F7FFFFF): 0xFF800000,
        (0x3F800000, 0x33800000): 0x3F800000,  # 1 + 2^-24: tie, even stays
        (0x3F800001, 0x33800000): 0x3F800002,  # odd rounds up
        (0x3F800000, 0x33C00000): 0x3F800001,  # above the tie
    }
    a = np.array([k[0] for k in cases], dtype=np.uint64)
    b = np.array([k[1] for k in cases], dtype=np.uint64)
    want = np.array(list(cases.values()), dtype=np.uint64)
    _check(numerics.fp32_add(a.astype(np.uint32), b.astype(np.uint32)).astype(np.uint64), want, a, b, "model")
    _check(run_pipelined(FP32Adder(4), {"a": a, "b": b}, "s", 4), want, a, b, "fp32 add")
    _check(run_pipelined(FP32AdderDeep(), {"a": a, "b": b}, "s", FP32AdderDeep().latency), want, a, b,
           "fp32 add (deep)")


def test_int8_multiplier_and_int32_adder():
    rng = np.random.default_rng(5)
    a8 = np.concatenate([np.array([-128, -128, 127, -1, 0]), rng.integers(-128, 128, 1500)])
    b8 = np.concatenate([np.array([-128, 127, 127, -1, -128]), rng.integers(-128, 128, 1500)])
    got = run_pipelined(IntMultiplier(1), {"a": a8 & 0xFF, "b": b8 & 0xFF}, "p", 1)
    np.testing.assert_array_equal(got, (a8 * b8) & 0xFFFFFFFF)
    a32 = np.concatenate([np.array([0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]), rng.integers(0, 1 << 32, 1500)])
    b32 = np.concatenate([np.array([1, 0xFFFFFFFF, 1]), rng.integers(0, 1 << 32, 1500)])
    got = run_pipelined(IntAdder(2), {"a": a32, "b": b32}, "s", 2)
    np.testing.assert_array_equal(got, (a32.astype(np.uint64) + b32.astype(np.uint64)) & 0xFFFFFFFF)


class _GroupAnyAbs(wiring.Component):
    def __init__(self, width: int, from_top: bool):
        self.width, self.from_top = width, from_top
        groups = -(-(width - 1) // GROUP_BITS)
        super().__init__({"s": In(width), "any": Out(groups)})

    def elaborate(self, platform):
        m = Module()
        w = self.width
        m.d.comb += self.any.eq(group_any_abs(self.s, self.s[w - 1], w - 1, self.from_top))
        return m


@pytest.mark.parametrize("width", [97, 40])
@pytest.mark.parametrize("from_top", [False, True])
def test_group_any_abs_is_group_any_of_the_magnitude(width, from_top):
    """The edge rounding's group flags, taken from the two's-complement sum without negating it, against the
    definition computed here in Python: which 16-bit groups of |s| (aligned at bit 0 or at the top) hold a
    one. Edges: 0, +-1, +-powers of two at every position, runs of ones ending at each group boundary, the
    largest magnitudes; then random sums."""
    rng = np.random.default_rng(width + from_top)
    top = 1 << (width - 1)
    mags = {0, 1, top - 1} | {1 << i for i in range(width - 1)} | {(1 << i) - 1 for i in range(1, width)}
    mags |= {((1 << i) - 1) << j for i in (1, 15, 16, 17) for j in range(0, width - 1, 8)}
    mags = {v & (top - 1) for v in mags}
    mags |= {int(rng.integers(0, 1 << 62)) << int(rng.integers(0, max(1, width - 63))) & (top - 1)
             for _ in range(400)}  # fmt: skip
    values = sorted(mags)
    sums = values + [(-v) % (1 << width) for v in values if v]
    dut, got = _GroupAnyAbs(width, from_top), []

    async def bench(ctx):
        for v in sums:
            ctx.set(dut.s, v)
            got.append(ctx.get(dut.any))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    n = width - 1
    if from_top:
        bounds = [(max(0, t - GROUP_BITS), t) for t in range(n, 0, -GROUP_BITS)][::-1]
    else:
        bounds = [(lo, min(n, lo + GROUP_BITS)) for lo in range(0, n, GROUP_BITS)]
    for s_, g in zip(sums, got):
        mag = (-(s_ - (1 << width)) if s_ & top else s_) & (top - 1)
        want = sum(1 << k for k, (lo, hi) in enumerate(bounds) if (mag >> lo) & ((1 << (hi - lo)) - 1))
        assert int(g) == want, (hex(s_), bin(int(g)), bin(want))
