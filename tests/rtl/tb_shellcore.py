"""cocotb bench: the shell core (rtl/opengine/shellcore.py: AXI4-Lite register block + op engine) driven as the
host drives the card: cocotbext-axi's AxiLiteMaster on the register port (`ctrl`), cocotbext-axi's AxiRam
(one sparse memory over the engine's 37-bit address space, the shell's four DDR4 channels) on the engine's
three AXI4 masters, random back-pressure on every channel of both.

Driver: per op, the DRAM image is written into the memory at the addresses the host placed it
(sparsesim.fpga.engine_host.place_op), the descriptor words through the registers, START, STATUS polled
until done. Monitor (`ValidMonitor`): on every channel of every port, once VALID is high it stays high with
its payload unchanged until READY (Arm IHI 0022 A3.2.1), checked each cycle. The scoreboard is the caller's:
the report carries the register reads, responses and result beats; the caller checks them against the
register map's and against sparsesim.sat.numerics."""

from __future__ import annotations

import json
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiReadBus, AxiWriteBus
from cocotbext.axi.axi_ram import AxiRamRead, AxiRamWrite
from rtl_plan import bench_spec

# (port, channel, valid, ready, payload signals) checked by the monitor; `*` is every signal of the channel
CHANNELS = [
    ("ctrl", "aw", ["awaddr"]), ("ctrl", "w", ["wdata", "wstrb"]), ("ctrl", "b", ["bresp"]),
    ("ctrl", "ar", ["araddr"]), ("ctrl", "r", ["rdata", "rresp"]),
    ("rd_w", "ar", ["araddr", "arlen", "arsize", "arburst", "arid"]), ("rd_w", "r", ["rdata", "rlast", "rresp"]),
    ("rd_a", "ar", ["araddr", "arlen", "arsize", "arburst", "arid"]), ("rd_a", "r", ["rdata", "rlast", "rresp"]),
    ("wr", "aw", ["awaddr", "awlen", "awsize", "awburst", "awid"]), ("wr", "w", ["wdata", "wstrb", "wlast"]),
    ("wr", "b", ["bresp", "bid"]),
]  # fmt: skip


def pauses(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


class ValidMonitor:
    """IHI 0022 A3.2.1 on every channel: a VALID once high stays high, its payload stable, until READY."""

    def __init__(self, dut):
        self.dut = dut
        self.errors: list[str] = []
        self.handshakes: dict[str, int] = {}

    def _sig(self, port: str, name: str):
        return getattr(self.dut, f"{port}__{name}")

    async def run(self):
        held: dict[tuple[str, str], tuple] = {}
        cycle = 0
        while True:
            await RisingEdge(self.dut.clk)
            await ReadOnly()
            cycle += 1
            if int(self.dut.rst.value):
                held.clear()
                continue
            for port, ch, payload in CHANNELS:
                valid = int(self._sig(port, f"{ch}valid").value)
                ready = int(self._sig(port, f"{ch}ready").value)
                value = tuple(str(self._sig(port, s).value) for s in payload)
                key = (port, ch)
                if key in held:
                    if not valid:
                        self.errors.append(f"cycle {cycle}: {port} {ch}VALID fell before READY")
                    elif value != held[key]:
                        self.errors.append(f"cycle {cycle}: {port} {ch} payload changed while VALID waited")
                if valid and ready:
                    held.pop(key, None)
                    self.handshakes[f"{port}.{ch}"] = self.handshakes.get(f"{port}.{ch}", 0) + 1
                elif valid:
                    held[key] = value


# Simulated time limit (our choice: 200,000 cycles, about 60x the two ops' cycles with the register traffic):
# a slave that drops a response leaves cocotbext-axi's master waiting for ever.
TIMEOUT_US = 2000


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def shell_core(dut):
    spec = bench_spec()
    rng = random.Random(spec.get("seed", 5))
    clk = dut.clk
    Clock(clk, 10, unit="ns").start()
    ram_opts = dict(size=1 << spec["addr_bits"])
    rd_w = AxiRamRead(AxiReadBus.from_prefix(dut, "rd_w_"), clk, dut.rst, **ram_opts)
    mem = rd_w.mem
    rd_a = AxiRamRead(AxiReadBus.from_prefix(dut, "rd_a_"), clk, dut.rst, mem=mem, **ram_opts)
    wr = AxiRamWrite(AxiWriteBus.from_prefix(dut, "wr_"), clk, dut.rst, mem=mem, **ram_opts)
    host = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "ctrl_"), clk, dut.rst)
    p = spec.get("pause", 0.3)
    channels = [rd_w.ar_channel, rd_w.r_channel, rd_a.ar_channel, rd_a.r_channel, wr.aw_channel, wr.w_channel,
                wr.b_channel, host.write_if.aw_channel, host.write_if.w_channel, host.write_if.b_channel,
                host.read_if.ar_channel, host.read_if.r_channel]  # fmt: skip
    for ch in channels:
        ch.set_pause_generator(pauses(random.Random(rng.random()), p))
    dut.rst.value = 1
    dut.uart_rx.value = 1  # the UART debug link's line idle
    await ClockCycles(clk, 4)
    dut.rst.value = 0
    monitor = ValidMonitor(dut)
    cocotb.start_soon(monitor.run())
    await ClockCycles(clk, 2)

    async def read(offset: int) -> tuple[int, int]:
        r = await host.read(offset, 4)
        return int.from_bytes(r.data, "little"), int(r.resp)

    async def write(offset: int, value: int) -> int:
        r = await host.write(offset, value.to_bytes(4, "little"))
        return int(r.resp)

    report: dict = {"reads": {}, "probes": {}, "ops": []}
    try:
        base = spec["ctrl_base"]
        for off in spec["identity"]:
            report["reads"][off] = await read(base + int(off))
        # probes: (kind, offset, value) -> response (and the value read after, for writes)
        for kind, off, value in spec["probes"]:
            if kind == "read":
                report["probes"][f"read {off:#x}"] = await read(base + off)
            else:
                resp = await write(base + off, value)
                report["probes"][f"write {off:#x}"] = [resp, *(await read(base + off))]
        for op in spec["ops"]:
            for addr, data in op["writes"]:
                mem.write(addr, bytes.fromhex(data))
            out: dict = {"name": op["name"], "desc_resp": [], "desc_read": []}
            for off, word in zip(spec["desc_offsets"], op["desc_words"]):
                out["desc_resp"].append(await write(base + off, word))
            for off in spec["desc_offsets"]:
                out["desc_read"].append((await read(base + off))[0])
            out["status_before"] = (await read(base + spec["status"]))[0]
            out["start_resp"] = await write(base + spec["ctrl"], spec["start"])
            # a second START while the op runs must be ignored (STATUS counts one start)
            out["second_start_resp"] = await write(base + spec["ctrl"], spec["start"])
            polls = 0
            while True:
                status, _ = await read(base + spec["status"])
                polls += 1
                if status & spec["done"] and not status & spec["busy"]:
                    break
                if polls > spec["max_polls"]:
                    break
            out["status_after"] = status
            out["polls"] = polls
            out["counters"] = {name: (await read(base + int(off)))[0] for off, name in spec["counters"].items()}
            raw = mem.read(op["result_addr"], op["result_bytes"])
            out["results"] = raw.hex()
            report["ops"].append(out)
        await ClockCycles(clk, 4)
        report["finished"] = True
    finally:  # also on the timeout: the monitor's findings say why
        report["protocol_errors"] = monitor.errors[:20]
        report["handshakes"] = monitor.handshakes
        with open(spec["report"], "w") as f:
            json.dump({"shell": report}, f)
