"""The simulator's preset latencies are the RTL's: each arithmetic unit, built with its default depth, is run
in Amaranth's simulator and the cycle its first result appears is measured; the preset (sparsesim.sat.arch)
and the RTL's default ArrayConfig must both equal that measurement, for FP16 (the exact-accumulation units
and the edge rounding; the FP32-adder design's units against their own table) and for INT8."""

from __future__ import annotations

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator
from sparsesim.rtl.arith import (
    ExactAdder,
    ExactToFP32,
    FP16ExactProduct,
    FP16Multiplier,
    FP32Adder,
    FP32AdderDeep,
    IntAdder,
    IntMultiplier,
)
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine.accum import OutBuffer

from sparsesim.sat import arch
from sparsesim.spec import AcceleratorSpec

pytestmark = pytest.mark.rtl

# One operand pair with a nonzero result (written out: 1.5 x 2.0 = 3.0, 3.0 + 1.0 = 4.0, 3 x -5, 7 + 9).
PROBES = {
    FP16Multiplier: ((0x3E00, 0x4000), "p", 0x40400000),
    FP32Adder: ((0x40400000, 0x3F800000), "s", 0x40800000),
    FP32AdderDeep: ((0x40400000, 0x3F800000), "s", 0x40800000),
    IntMultiplier: ((3, 0xFB), "p", 0xFFFFFFF1),
    IntAdder: ((7, 9), "s", 16),
    # 1.5 x 2.0 = 3 = 3 * 2^48 units of 2^-48; 3 * 2^48 + 2^48 = 4 * 2^48
    FP16ExactProduct: ((0x3E00, 0x4000), "p", 3 << 48),
    ExactAdder: ((3 << 48, 1 << 48), "s", 4 << 48),
}


def measured_latency(unit_cls) -> int:
    """Cycles from presenting the probe (zeros before and after) to its result at the output."""
    dut = unit_cls()
    if unit_cls is ExactToFP32:  # 4.0 as an exact word -> FP32 4.0
        ports, out, want = {"x": 4 << 48}, "f", 0x40800000
    else:
        (a, b), out, want = PROBES[unit_cls]
        ports = {"a": a, "b": b}
    seen: list[int] = []

    async def bench(ctx):
        for cycle in range(16):
            for name, value in ports.items():
                ctx.set(getattr(dut, name), value if cycle == 0 else 0)
            if ctx.get(getattr(dut, out)) == want:
                seen.append(cycle)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen, f"{unit_cls.__name__}: no result within 16 cycles"
    return seen[0]


@pytest.mark.parametrize(
    ("precision", "mul", "add"),
    [("fp16", FP16ExactProduct, ExactAdder), ("int8", IntMultiplier, IntAdder)],
)
def test_preset_latencies_are_the_rtls(precision, mul, add):
    lm, la = measured_latency(mul), measured_latency(add)
    assert lm >= 1 and la >= 1  # registered units: a combinational path would show 0
    lr = measured_latency(ExactToFP32) if precision == "fp16" else 0
    preset = arch.resolve(AcceleratorSpec(precision=precision))
    assert (preset.mul_latency_cycles, preset.add_latency_cycles, preset.round_latency_cycles) == (lm, la, lr)
    cfg = ArrayConfig(precision=precision)
    assert (cfg.mul_latency, cfg.add_latency, cfg.round_latency) == (lm, la, lr)
    # the timing model sees the same array the RTL builds
    assert (preset.array.mul_latency, preset.array.add_latency, preset.array.round_latency) == (lm, la, lr)


def test_fp32_adder_design_latencies_are_its_units():
    lm, la = measured_latency(FP16Multiplier), measured_latency(FP32Adder)
    cfg = ArrayConfig(precision="fp16", accumulator="fp32")
    assert (cfg.mul_latency, cfg.add_latency, cfg.round_latency) == (lm, la, 0)


@pytest.mark.parametrize(("precision", "adder"), [("fp16", FP32AdderDeep), ("int8", IntAdder)])
def test_out_buffer_add_latency_is_its_adders(precision, adder):
    """The op engine's out buffer: its adders' measured depth is the one its OutBuffer elaborates with and
    the preset's op_accumulate_cycles counts (+1: the stored partial sum's read register)."""
    la = measured_latency(adder)
    out_buffer = OutBuffer(ArrayConfig(precision=precision), words=16)
    Fragment.get(out_buffer, None)  # elaborated: its adders are built with the latency it reports
    assert out_buffer.latency == la
    assert arch.resolve(AcceleratorSpec(precision=precision)).op_accumulate_cycles == 1 + la
