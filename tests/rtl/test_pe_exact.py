"""The exact-accumulation PE design (docs/fpga.md, "PE designs compared", design b) in Amaranth's simulator:
its units bit for bit against sparsesim.sat.numerics' exact-format references (random vectors, FP16 edge
values, rounding ties), and one SparsePE (accumulator="exact") accumulating dense and N:M dot products
(OS, a beat every cycle, then the drain) and adding onto psum_in (WS chain mode), against the exact sums of
the references and numerics.gemm_exact after the one rounding."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from rtl_amsim import run_pipelined
from sparsesim.rtl.arith import ExactAdder, ExactToFP32, FP16ExactProduct
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.latency import round_latency
from sparsesim.rtl.pe import SparsePE
from test_arith import FP16_EDGES

from sparsesim.sat import numerics

pytestmark = pytest.mark.rtl

K_BITS = 16
W = numerics.exact_sum_bits(K_BITS)


def _fp16_pairs(rng, count):
    edges = np.array(FP16_EDGES, dtype=np.uint64)
    a = np.concatenate([np.repeat(edges, len(edges)), rng.integers(0, 1 << 16, count, dtype=np.uint64)])
    b = np.concatenate([np.tile(edges, len(edges)), rng.integers(0, 1 << 16, count, dtype=np.uint64)])
    return a, b


@pytest.mark.parametrize(("align", "latency"), [("fabric", 2), ("dsp", 2), ("dsp", 1)])
def test_exact_product_bit_exact(align, latency):
    a, b = _fp16_pairs(np.random.default_rng(7), 1500)
    got = run_pipelined(FP16ExactProduct(K_BITS, latency, align), {"a": a, "b": b}, "p", latency)
    want = numerics.exact_product(a, b, k_bits=K_BITS)
    bad = [(hex(int(x)), hex(int(y))) for x, y, g, v in zip(a, b, got, want) if int(g) != v]
    assert not bad, f"{len(bad)} mismatches, first (a, b): {bad[:4]}"


def test_exact_product_value_is_the_product():
    """Independent of the reference's bit manipulation: S * 2^-48 equals float64(a) * float64(b)."""
    a, b = _fp16_pairs(np.random.default_rng(8), 500)
    words = numerics.exact_product(a, b, k_bits=K_BITS)
    fa = a.astype(np.uint16).view(np.float16).astype(np.float64)
    fb = b.astype(np.uint16).view(np.float16).astype(np.float64)
    for x, y, word in zip(fa, fb, words):
        with np.errstate(invalid="ignore"):
            p = x * y  # exact in float64 (22 significant bits)
        flags = word >> W
        if np.isnan(p):
            assert flags == 3
        elif np.isinf(p):
            assert flags == (1 if p > 0 else 2)
        else:
            s = word & ((1 << W) - 1)
            s = s - (1 << W) if s >> (W - 1) else s
            assert flags == 0 and s * 2.0**-48 == p


def _random_words(rng, count):
    out = []
    for i in range(count):
        bits = int(rng.integers(1, 96))
        s = int.from_bytes(rng.bytes(12), "little") & ((1 << bits) - 1)
        if i % 3 == 0 and bits > 30:  # exact ties and near-ties at the rounding position
            s = (s >> 30 << 30) | (1 << 29) | int(rng.integers(0, 2))
        if i % 7 == 0:
            s = (1 << bits) - 1  # all ones: the rounding carries into a new leading bit
        out.append((-s if rng.integers(0, 2) else s) & ((1 << W) - 1))
    return out + [0, 1, (1 << W) - 1, 1 << W, 2 << W, 3 << W, (1 << W) | 12345, ((1 << 95) - 1)]


@pytest.mark.parametrize("latency", [round_latency("exact"), 2, 6])
def test_exact_to_fp32_bit_exact(latency):
    words = np.array(_random_words(np.random.default_rng(latency), 1200), dtype=object)
    got = run_pipelined(ExactToFP32(K_BITS, latency), {"x": words}, "f", latency)
    want = numerics.exact_to_fp32(words, k_bits=K_BITS)
    bad = [(hex(int(x)), hex(int(g)), hex(int(v))) for x, g, v in zip(words, got, want) if int(g) != int(v)]
    assert not bad, f"{len(bad)} mismatches (word, rtl, model): {bad[:4]}"


def test_exact_rounding_against_fractions():
    """numerics' rounding against Python's correctly rounded int -> float conversion (float64, then to
    float32, which is exact when the value has <= 24 significant bits; checked on values rounded to 24 bits
    by construction plus a tie-breaking check with the float64 rounding of a 25-bit value)."""
    rng = np.random.default_rng(3)
    for _ in range(2000):
        sig = int(rng.integers(1 << 23, 1 << 24))
        shift = int(rng.integers(0, 72))
        s = sig << shift
        want = np.float32(np.ldexp(float(sig), shift - 48)).view(np.uint32)
        assert numerics._round_scaled_int(s) == int(want)
        # s + half an ulp: a tie, rounded to the even neighbour
        if shift >= 1:
            tie = s + (1 << (shift - 1))
            even = sig + (sig & 1)
            want = np.float32(np.ldexp(float(even), shift - 48)).view(np.uint32)
            assert numerics._round_scaled_int(tie) == int(want)


def test_exact_adder_bit_exact():
    rng = np.random.default_rng(5)
    a = np.array(_random_words(rng, 800), dtype=object)
    b = np.array(_random_words(rng, 800), dtype=object)
    got = run_pipelined(ExactAdder(K_BITS, 1), {"a": a, "b": b}, "s", 1)
    want = numerics.exact_add(a, b, k_bits=K_BITS)
    assert [int(g) for g in got] == want


# ------------------------------------------------------------------------------------------ the PE
def _pack_weights(cfg, values, indices, live):
    lay = cfg.cell_weights_layout
    word = 0
    for lane in range(cfg.multipliers):
        word |= int(values[lane]) << (lay["value"].offset + 16 * lane)
        word |= int(indices[lane]) << (lay["idx"].offset + cfg.idx_bits * lane)
        word |= int(live[lane]) << (lay["live"].offset + lane)
    return word


def _pack_group(group):
    return sum(int(v) << (16 * i) for i, v in enumerate(group))


def _run_pe(cfg, beats, *, accumulate, psum_in=None):
    """Drive one beat per cycle; return psum_out per beat (chain mode) or, after the last beat, the drain
    of the accumulator (accumulator mode)."""
    dut = SparsePE(cfg)
    lat = int(cfg.mul_latency) + int(cfg.add_latency) * (cfg.multipliers.bit_length() - 1) + int(cfg.add_latency)
    out: list[int] = []

    async def bench(ctx):
        ctx.set(dut.accumulate, accumulate)
        ctx.set(dut.interleave, 1)
        n = len(beats)
        for t in range(n + lat + 2):
            if t < n:
                w, g, first = beats[t]
                ctx.set(dut.weights.as_value(), w)
                ctx.set(dut.group.as_value(), g)
                ctx.set(dut.valid, 1)
                ctx.set(dut.first, first)
                ctx.set(dut.slot, 0)
            else:
                ctx.set(dut.valid, 0)
            lp = int(cfg.mul_latency) + int(cfg.add_latency) * (cfg.multipliers.bit_length() - 1)
            if psum_in is not None and 0 <= t - lp < n:
                ctx.set(dut.psum_in, psum_in[t - lp])
            if not accumulate and 0 <= t - lat < n:
                out.append(ctx.get(dut.psum_out))
            await ctx.tick()
        if accumulate:
            out.append(ctx.get(dut.chain_out))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out


def _operands(rng, k, specials):
    a = rng.standard_normal(k) * np.exp2(rng.integers(-12, 12, k))
    b = rng.standard_normal(k) * np.exp2(rng.integers(-12, 12, k))
    a16, b16 = a.astype(np.float16), b.astype(np.float16)
    if specials:
        a16[3], b16[5] = np.float16(np.inf), np.float16(-0.0)
        a16[7] = np.float16(6e-8)  # subnormal
    return a16, b16


@pytest.mark.parametrize("specials", [False, True])
def test_exact_pe_accumulates_dense_dot_product(specials):
    cfg = ArrayConfig(rows=1, cols=1, multipliers=2, max_m=8, accumulator="exact")
    rng = np.random.default_rng(11 + specials)
    k = 37  # odd: the last beat has a gated lane
    a16, b16 = _operands(rng, k, specials)
    beats = []
    for s in range(0, k, 2):
        lanes = [s, s + 1]
        live = [x < k for x in lanes]
        vals = [int(a16[x].view(np.uint16)) if x < k else 0 for x in lanes]
        grp = [int(b16[x].view(np.uint16)) if x < k else 0 for x in lanes]
        beats.append((_pack_weights(cfg, vals, [0, 1], live), _pack_group(grp), s == 0))
    (word,) = _run_pe(cfg, beats, accumulate=1)
    terms = numerics.exact_product(a16.view(np.uint16), b16.view(np.uint16), k_bits=cfg.k_bits)
    total = 0
    for t in terms:
        total = numerics.exact_add([total], [t], k_bits=cfg.k_bits)[0]
    assert word == total
    want = numerics.gemm_exact(a16[None, :], b16[:, None], dataflow="os", multipliers=2, rows=1)[0, 0]
    got = numerics.exact_to_fp32([word], k_bits=cfg.k_bits)[0]
    assert got == want.view(np.uint32)


def test_exact_pe_sparse_and_chain_mode():
    """2:8 beats (indices select from the group of 8) in chain mode: psum_out = psum_in + both products,
    exactly, psum_in a running sum of earlier results (as down a column)."""
    cfg = ArrayConfig(rows=1, cols=1, multipliers=2, max_m=8, accumulator="exact")
    rng = np.random.default_rng(21)
    beats, sums, psums = [], [], []
    for s in range(24):
        grp = rng.standard_normal(8).astype(np.float16)
        idx = rng.choice(8, 2, replace=False)
        vals = rng.standard_normal(2).astype(np.float16) * np.float16(2.0 ** int(rng.integers(-8, 8)))
        live = [True, s % 5 != 0]
        beats.append((_pack_weights(cfg, vals.view(np.uint16), idx, live), _pack_group(grp.view(np.uint16)), 0))
        prods = numerics.exact_product(vals.view(np.uint16), grp[idx].view(np.uint16), k_bits=cfg.k_bits)
        prods = [p if lv else 0 for p, lv in zip(prods, live)]
        tree = numerics.exact_add([prods[0]], [prods[1]], k_bits=cfg.k_bits)[0]
        psum = numerics.exact_product([int(rng.integers(0, 0x7C00)) | (int(rng.integers(0, 2)) << 15)],
                                      [0x3C00], k_bits=cfg.k_bits)[0]
        psums.append(psum)
        sums.append(numerics.exact_add([psum], [tree], k_bits=cfg.k_bits)[0])
    assert _run_pe(cfg, beats, accumulate=0, psum_in=psums) == sums


def test_accumulator_choices():
    assert ArrayConfig(precision="fp16").accumulator == "exact"  # the preset (rtl/latency.py)
    with pytest.raises(ValueError, match="accumulator"):
        ArrayConfig(precision="int8", accumulator="exact")
    with pytest.raises(ValueError, match="accumulator"):
        ArrayConfig(precision="fp16", accumulator="int32")
