"""cocotb bench of one sparse PE (sparsesim.rtl.pe.SparsePE): a driver presenting a beat every cycle, a monitor
on psum_out / chain_out, a reference model built from sparsesim.sat.numerics' unit references (FP16 products,
FP32 adds with the documented policy; INT8 products and INT32 wrap) and a scoreboard.

- chain mode (WS): psum_out(t + L_p + L_add) = psum_in(t + L_p) + tree(beat t), random lanes, indices, gating,
  FP special values in every operand (FP32 subnormal partial sums exercise the adder's flush);
- accumulator mode (OS): a 1 x I output tile accumulated in the PE's slots with interleave mapping (a beat
  every cycle) and without (a beat every L_add cycles), then shifted out of the drain chain; compared with
  numerics.gemm and torch.
"""

from __future__ import annotations

import time

import cocotb
import numpy as np
import torch
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from rtl_plan import bench_config, write_report

from sparsesim.sat import numerics, timing
from sparsesim.sat.timing import Mode, TileShape

FP16_SPECIALS = np.array([0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x0001, 0x83FF, 0x7BFF, 0xFBFF, 0x3C00],
                         dtype=np.int64)
FP32_SPECIALS = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x00000001, 0x807FFFFF,
                          0x00800000, 0x7F7FFFFF, 0x3F800000], dtype=np.int64)


class PEModel:
    """Reference arithmetic of one beat (bit patterns in, bit patterns out)."""

    def __init__(self, cfg):
        self.cfg = cfg

    def tree(self, w: np.ndarray, a: np.ndarray, live: np.ndarray) -> int:
        if self.cfg.fp:
            prods = numerics.fp16_mul(w.astype(np.uint16), a.astype(np.uint16)).astype(np.int64)
            prods[~live] = 0
            while prods.size > 1:
                prods = numerics.fp32_add(prods[0::2].astype(np.uint32), prods[1::2].astype(np.uint32)).astype(np.int64)
            return int(prods[0])
        ws, as_ = w.astype(np.uint8).view(np.int8).astype(np.int64), a.astype(np.uint8).view(np.int8).astype(np.int64)
        return int(np.sum(np.where(live, ws * as_, 0))) & 0xFFFFFFFF

    def add(self, x: int, y: int) -> int:
        if self.cfg.fp:
            return int(numerics.fp32_add(np.array([x], np.uint32), np.array([y], np.uint32))[0])
        return (x + y) & 0xFFFFFFFF


class PEDriver:
    """Packs and drives one beat: lanes (value, index, live), the activation group and the control bits."""

    def __init__(self, dut, cfg):
        self.dut, self.cfg = dut, cfg
        lay = cfg.cell_weights_layout
        self.off = {name: lay[name].offset for name in ("value", "idx", "live")}

    def drive(self, w, idx, live, group, *, valid=0, slot=0, first=0, psum_in=0, shift=0, chain_in=0):
        cfg, dut = self.cfg, self.dut
        wb, ib = cfg.operand_bits, cfg.idx_bits
        word = 0
        for lane in range(cfg.multipliers):
            word |= int(w[lane]) << (self.off["value"] + lane * wb)
            word |= int(idx[lane]) << (self.off["idx"] + lane * ib)
            word |= int(bool(live[lane])) << (self.off["live"] + lane)
        dut.weights.value = word
        dut.group.value = int.from_bytes(np.asarray(group, dtype=np.uint16 if wb == 16 else np.uint8).tobytes(), "little")
        dut.valid.value, dut.slot.value, dut.first.value = valid, slot, first
        dut.psum_in.value, dut.shift.value, dut.chain_in.value = psum_in, shift, chain_in


def random_beat(rng, cfg, special: bool):
    p, mm = cfg.multipliers, cfg.max_m
    if cfg.fp:
        w = rng.standard_normal(p).astype(np.float16).view(np.uint16).astype(np.int64)
        g = rng.standard_normal(mm).astype(np.float16).view(np.uint16).astype(np.int64)
        if special:
            w[rng.random(p) < 0.4] = rng.choice(FP16_SPECIALS)
            g[rng.random(mm) < 0.4] = rng.choice(FP16_SPECIALS)
    else:
        w = rng.integers(0, 256, p)
        g = rng.integers(0, 256, mm)
    idx = rng.integers(0, mm, p)
    live = rng.random(p) < 0.8
    return w, idx, live, g


def random_psum(rng, cfg, special: bool) -> int:
    if not cfg.fp:
        return int(rng.integers(0, 1 << 32))
    if special and rng.random() < 0.4:
        return int(rng.choice(FP32_SPECIALS))
    return int(np.float32(rng.standard_normal() * 4).view(np.uint32))


async def start(dut):
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.accumulate.value = 0
    dut.interleave.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


@cocotb.test()
async def chain_mode_random_beats(dut):
    cfg, spec = bench_config()
    tp = cfg.timing_params()
    lp, la = timing.product_latency(tp), tp.add_latency
    rng = np.random.default_rng(spec.get("seed", 1))
    model, drv = PEModel(cfg), PEDriver(dut, cfg)
    await start(dut)
    beats = spec.get("beats", 1500)
    trees, psums, got = [], [], []
    t0 = time.perf_counter()
    for t in range(beats + lp + la):
        special = t % 3 == 0
        w, idx, live, g = random_beat(rng, cfg, special)
        psum = random_psum(rng, cfg, special)
        drv.drive(w, idx, live, g, psum_in=psum)
        trees.append(model.tree(w, np.asarray(g)[idx], live))
        psums.append(psum)
        await ReadOnly()
        # Before the pipeline has filled, psum_out is undefined (X) on Icarus: datapath registers have no reset.
        got.append(dut.psum_out.value.to_unsigned() if t >= lp + la else None)
        await RisingEdge(dut.clk)
    errors = []
    for t in range(beats):
        want = model.add(psums[t + lp], trees[t])
        if got[t + lp + la] != want:
            errors.append(f"beat {t}: psum_out {got[t + lp + la]:#010x}, model {want:#010x}")
    wall = time.perf_counter() - t0
    write_report(spec, "chain_mode", {"beats": beats, "cycles_per_s": (beats + lp + la) / wall,
                                      "mismatches": errors[:20]})
    assert not errors, "\n".join(errors[:10])


async def os_tile(dut, cfg, rng, *, interleave: bool, steps: int, sparse: bool):
    """One PE as a 1 x 1 OS array: I output columns in its slots, `steps` reduction steps, then the drain."""
    tp = cfg.timing_params()
    lp, la, p = timing.product_latency(tp), tp.add_latency, cfg.multipliers
    slots = la if interleave else 1
    mode = Mode("os", p // 2 or 1, cfg.max_m, interleave=interleave) if sparse else Mode("os", interleave=interleave)
    e = timing.elements_per_cycle(tp, mode)
    shape = TileShape(1, slots, steps * e)
    from rtl_plan import random_operands

    a, b = random_operands(rng, cfg, mode, shape)
    if isinstance(a, numerics.SparseA):
        wv = a.values[0].astype(np.float16 if cfg.fp else np.int8)
        wbits = wv.view(np.uint16 if cfg.fp else np.uint8).astype(np.int64)  # [steps, N]
        widx = a.indices[0].astype(np.int64)
        n = a.n_keep
    else:
        wbits = a[0].view(np.uint16 if cfg.fp else np.uint8).astype(np.int64).reshape(steps, p)
        widx = np.broadcast_to(np.arange(p), (steps, p))
        n = p
    bbits = b.view(np.uint16 if cfg.fp else np.uint8).astype(np.int64)  # [k, slots]
    drv = PEDriver(dut, cfg)
    dut.accumulate.value = 1
    dut.interleave.value = int(interleave)
    gap = 1 if interleave else la
    zeros = np.zeros(p, np.int64)
    for s in range(steps):
        w = np.zeros(p, np.int64)
        idx = np.zeros(p, np.int64)
        w[:n], idx[:n] = wbits[s], widx[s]
        live = np.arange(p) < n
        for slot in range(slots):
            group = np.zeros(cfg.max_m, np.int64)
            group[:e] = bbits[s * e : (s + 1) * e, slot]
            drv.drive(w, idx, live, group, valid=1, slot=slot, first=int(s == 0))
            await RisingEdge(dut.clk)
            for _ in range(gap - 1):
                drv.drive(zeros, zeros, zeros.astype(bool), np.zeros(cfg.max_m, np.int64))
                await RisingEdge(dut.clk)
    drv.drive(zeros, zeros, zeros.astype(bool), np.zeros(cfg.max_m, np.int64))
    await ClockCycles(dut.clk, lp + la)  # the last sum becomes final
    out = []
    for _ in range(slots):
        drv.drive(zeros, zeros, zeros.astype(bool), np.zeros(cfg.max_m, np.int64), shift=1)
        await ReadOnly()
        out.append(dut.chain_out.value.to_unsigned())
        await RisingEdge(dut.clk)
    drv.drive(zeros, zeros, zeros.astype(bool), np.zeros(cfg.max_m, np.int64))
    got = np.array(out, dtype=np.uint32)
    want = numerics.gemm(a, b, dataflow="os", multipliers=p, rows=1, precision=cfg.precision)[0]
    want_bits = numerics.fp32_bits(want) if cfg.fp else (want.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)
    errors = []
    if not np.array_equal(got, want_bits):
        errors.append(f"OS tile {mode}: drained {got.tolist()}, numerics {want_bits.tolist()}")
    a_dense = a.to_dense() if isinstance(a, numerics.SparseA) else a
    if cfg.fp:
        ref = (torch.from_numpy(a_dense.astype(np.float64)) @ torch.from_numpy(b.astype(np.float64))).numpy()[0]
        bound = numerics.fp_error_bound(a_dense, b, multipliers=p, elements_per_step=e)[0]
        if not np.all(np.abs(got.view(np.float32) - ref) <= bound):
            errors.append(f"OS tile {mode}: {got.view(np.float32)} vs torch {ref}")
    else:
        ref = (torch.from_numpy(a_dense.astype(np.int64)) @ torch.from_numpy(b.astype(np.int64))).numpy()[0]
        if not np.array_equal(got.view(np.int32).astype(np.int64), ref):
            errors.append(f"OS tile {mode}: {got.view(np.int32)} vs torch {ref}")
    return errors


@cocotb.test()
async def accumulator_mode_tiles(dut):
    cfg, spec = bench_config()
    rng = np.random.default_rng(spec.get("seed", 1) + 10)
    await start(dut)
    errors = []
    tiles = 0
    for interleave in (True, False):
        for sparse in (False, True):
            for steps in (1, 2, 7):
                errors += await os_tile(dut, cfg, rng, interleave=interleave, steps=steps, sparse=sparse)
                tiles += 1
    write_report(spec, "accumulator_mode", {"tiles": tiles, "mismatches": errors[:20]})
    assert not errors, "\n".join(errors[:10])
