"""The 8N1 UART (rtl/uart.py) in Amaranth's simulator: the transmitter's waveform bit by bit, a loopback of
random bytes through transmitter and receiver, a framing error, and the divisor arithmetic."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator
from sparsesim.rtl.uart import MIN_DIVISOR, UARTRx, UARTTx, _check_divisor, baud_divisor


@pytest.mark.parametrize("div", [4, 7])
def test_transmitter_waveform(div):
    dut = UARTTx(div)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    line: list[int] = []

    async def bench(ctx):
        ctx.set(dut.data.payload, 0xA7)
        ctx.set(dut.data.valid, 1)
        await ctx.tick()
        ctx.set(dut.data.valid, 0)
        for _ in range(12 * div):
            line.append(ctx.get(dut.tx))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    bits = [line[i * div + div // 2] for i in range(10)]
    assert bits == [0, *[(0xA7 >> i) & 1 for i in range(8)], 1]
    assert all(v == 1 for v in line[10 * div :])


@pytest.mark.parametrize("div", [4, 5, 9])
def test_loopback_of_random_bytes(div):
    m = Module()
    m.submodules.tx = tx = UARTTx(div)
    m.submodules.rx = rx = UARTRx(div)
    m.d.comb += rx.rx.eq(tx.tx)
    sent = [random.Random(div).randrange(256) for _ in range(24)]
    got: list[int] = []
    errors = []
    sim = Simulator(m)
    sim.add_clock(1e-8)

    async def send(ctx):
        for byte in sent:
            ctx.set(tx.data.payload, byte)
            ctx.set(tx.data.valid, 1)
            await ctx.tick().until(tx.data.ready)
            await ctx.tick()
        ctx.set(tx.data.valid, 0)

    async def receive(ctx):
        ctx.set(rx.data.ready, 1)
        for _ in range(len(sent) * 11 * div + 50):
            await ctx.tick()
            if ctx.get(rx.data.valid):
                got.append(ctx.get(rx.data.payload))
            if ctx.get(rx.framing_error) or ctx.get(rx.overrun):
                errors.append(True)

    sim.add_testbench(send)
    sim.add_testbench(receive)
    sim.run()
    assert got == sent and not errors


def test_a_low_stop_bit_is_a_framing_error_and_the_byte_is_dropped():
    div = 4
    dut = UARTRx(div)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    seen = {"error": 0, "valid": 0}

    async def bench(ctx):
        ctx.set(dut.data.ready, 1)
        for bit in [1, 1, 0, *[1] * 8, 0, 0, 0, 1, 1, 1]:  # start, 0xFF, stop bit low
            for _ in range(div):
                ctx.set(dut.rx, bit)
                await ctx.tick()
                seen["error"] += ctx.get(dut.framing_error)
                seen["valid"] += ctx.get(dut.data.valid)
        for _ in range(4 * div):
            await ctx.tick()
            seen["valid"] += ctx.get(dut.data.valid)

    sim.add_testbench(bench)
    sim.run()
    assert seen == {"error": 1, "valid": 0}


def test_baud_divisor():
    assert baud_divisor(200e6, 921_600) == 217
    assert baud_divisor(125e6, 115_200) == 1085
    with pytest.raises(ValueError, match="clocks per bit"):
        baud_divisor(10e6, 5_000_000)
    with pytest.raises(ValueError, match="off"):
        baud_divisor(1e6, 150_000)  # divisor 7 is 4.8% off
    with pytest.raises(ValueError):
        _check_divisor(MIN_DIVISOR - 1)
