"""cocotb bench: the op engine's AXI4 bus protocol against cocotbext-axi's AxiRam (a well-kept AXI slave
model), with random back-pressure on every channel from the RAM side. Top: op_engine_tb with `ext_mem`
set and its clock from the bench (+EXTCLK, `clk_in`).

Driver: the operand words go into the RAM (one memory shared by the three ports), the descriptor is written
and `start` pulsed per op. Monitor: every AR / AW handshake (port, address, length, size, burst) and every W
beat (last flag, strobes) is recorded. The checks (scoreboard) are done by the caller on the report: burst
rules, the words each port read against the ops' tiles, and the results read back from the RAM against
sparsesim.sat.numerics."""

from __future__ import annotations

import json
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiReadBus, AxiWriteBus
from cocotbext.axi.axi_ram import AxiRamRead, AxiRamWrite
from rtl_plan import bench_spec, write_report
from sparsesim.rtl.opengine.descriptor import DATA_BYTES


def pauses(rng: random.Random, p: float):
    """A pause generator for cocotbext-axi channels: paused with probability p each cycle."""
    while True:
        yield rng.random() < p


class BusMonitor:
    """Records address handshakes of the read ports and the write port, and the W beats; and per op, on the
    engine's cycle count (`cycle`, as its `started_at` / `first_load` / `first_start` counters), the cycle
    `start` was taken, the first cycle a read address was valid and the last write response (the op
    engine's issue and response stages, checked by the caller)."""

    def __init__(self, dut):
        self.dut = dut
        self.bursts: list[dict] = []
        self.w_beats: list[dict] = []
        self.ops: list[dict] = []

    def _stages(self):
        dut = self.dut
        cyc = dut.cycle.value.to_unsigned()
        if int(dut.start.value) and not int(dut.busy.value):
            self.ops.append({"start": cyc, "ar": None, "b": None})
        if not self.ops:
            return
        op = self.ops[-1]
        if op["ar"] is None and (int(dut.rd_w__arvalid.value) or int(dut.rd_a__arvalid.value)):
            op["ar"] = cyc
        if int(dut.wr__bvalid.value) and int(dut.wr__bready.value):
            op["b"] = cyc

    async def run(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk_in)
            await ReadOnly()
            self._stages()
            for port, ch in (("rd_w", "ar"), ("rd_a", "ar"), ("wr", "aw")):
                if int(getattr(dut, f"{port}__{ch}valid").value) and int(getattr(dut, f"{port}__{ch}ready").value):
                    self.bursts.append({
                        "port": port,
                        "addr": getattr(dut, f"{port}__{ch}addr").value.to_unsigned(),
                        "len": getattr(dut, f"{port}__{ch}len").value.to_unsigned(),
                        "size": getattr(dut, f"{port}__{ch}size").value.to_unsigned(),
                        "burst": getattr(dut, f"{port}__{ch}burst").value.to_unsigned(),
                    })  # fmt: skip
            if int(dut.wr__wvalid.value) and int(dut.wr__wready.value):
                self.w_beats.append({"last": int(dut.wr__wlast.value), "strb": dut.wr__wstrb.value.to_unsigned()})


@cocotb.test()
async def axi_protocol(dut):
    spec = bench_spec()
    with open(spec["ops"]) as f:
        ops = json.load(f)
    with open(spec["image"]) as f:
        image = json.load(f)
    dut.ext_mem.value = 1  # the engine's ports go to the AxiRam, not to the top's own DRAM model
    Clock(dut.clk_in, 10, unit="ns").start()  # +EXTCLK: the top's clock is clk_in
    clk = dut.clk_in
    rng = random.Random(spec.get("seed", 3))
    size = spec["mem_bytes"]
    rd_w = AxiRamRead(AxiReadBus.from_prefix(dut, "rd_w_"), clk, dut.rst, size=size)
    mem = rd_w.mem
    rd_a = AxiRamRead(AxiReadBus.from_prefix(dut, "rd_a_"), clk, dut.rst, size=size, mem=mem)
    wr = AxiRamWrite(AxiWriteBus.from_prefix(dut, "wr_"), clk, dut.rst, size=size, mem=mem)
    p = spec.get("pause", 0.3)
    for ch in (rd_w.ar_channel, rd_w.r_channel, rd_a.ar_channel, rd_a.r_channel, wr.aw_channel, wr.w_channel,
               wr.b_channel):  # fmt: skip
        ch.set_pause_generator(pauses(random.Random(rng.random()), p))
    for addr, word in image.items():
        rd_w.write(int(addr) * DATA_BYTES, int(word, 16).to_bytes(DATA_BYTES, "little"))
    dut.rst.value = 1
    dut.start.value = 0
    await ClockCycles(clk, 3)
    dut.rst.value = 0
    monitor = BusMonitor(dut)
    cocotb.start_soon(monitor.run())  # running before the first start is driven: it sees that cycle
    await RisingEdge(clk)
    report: dict = {"ops": {}}
    for op in ops:
        dut.desc.value = int(op["desc"], 16)
        dut.start.value = 1
        await RisingEdge(clk)
        dut.start.value = 0
        await RisingEdge(dut.done)
        report["ops"][op["name"]] = {
            name: getattr(dut, name).value.to_unsigned()
            for name in ("op_cycles", "started_at", "first_load", "first_start", "last_done")
        }
        await RisingEdge(clk)
    lo, hi = spec["dump_lo"], spec["dump_hi"]
    raw = rd_w.read(lo * DATA_BYTES, (hi - lo) * DATA_BYTES)
    report["results"] = [
        f"{int.from_bytes(raw[i * DATA_BYTES : (i + 1) * DATA_BYTES], 'little'):x}" for i in range(hi - lo)
    ]
    report["bursts"] = monitor.bursts
    report["stages"] = monitor.ops
    report["w_beats"] = monitor.w_beats
    write_report(spec, "axi", report)
