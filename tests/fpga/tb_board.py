"""cocotb bench of the board top (sparsesim.rtl.board.BoardCore) driven only at its UART pins.

The host driver (sparsesim.fpga.driver.AsyncBoard) talks to the design through `UARTPinsPort`, a bridge that
serialises request bytes onto `uart_rx` (8N1, `clocks_per_bit` cycles a bit) and a monitor that deserialises
`uart_tx` into a queue from the first cycle on (a response may start before the request's stop bit ends).
The configuration comes from the pytest runner (SPARSESIM_FPGA_BENCH); results go to its report file.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from board_plan import bad_runs, board_tiles, check_run, operands
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer
from cocotb.utils import get_sim_time
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga import protocol as proto
from sparsesim.fpga.driver import AsyncBoard, ProtocolError

CLOCK_NS = 10


def bench_spec() -> dict:
    return json.loads(os.environ["SPARSESIM_FPGA_BENCH"])


def report(spec: dict, name: str, payload: dict) -> None:
    path = spec["report"]
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {}
    data[name] = payload
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


class UARTPinsPort:
    """driver.AsyncPort over the DUT's uart_rx / uart_tx pins."""

    def __init__(self, dut, clocks_per_bit: int, clock_ns: int):
        self.dut, self.div = dut, clocks_per_bit
        self.bit_ns = clocks_per_bit * clock_ns  # one Timer per bit: far fewer callbacks than ClockCycles
        self.rx_queue: Queue[int] = Queue()
        self.bytes_out = self.bytes_in = 0
        cocotb.start_soon(self._monitor())

    async def write(self, data: bytes) -> None:
        for byte in data:
            for bit in [0, *[(byte >> i) & 1 for i in range(8)], 1]:
                self.dut.uart_rx.value = bit
                await Timer(self.bit_ns, "ns")
        self.bytes_out += len(data)

    async def read(self, n: int) -> bytes:
        return bytes([await self.rx_queue.get() for _ in range(n)])

    async def _monitor(self) -> None:
        tx = self.dut.uart_tx
        while True:
            await FallingEdge(tx)
            await Timer(self.bit_ns // 2, "ns")
            byte = 0
            for i in range(8):
                await Timer(self.bit_ns, "ns")
                byte |= int(tx.value) << i  # mid-bit
            await Timer(self.bit_ns, "ns")
            assert int(tx.value) == 1, "stop bit low on uart_tx"
            self.bytes_in += 1
            self.rx_queue.put_nowait(byte)


async def start(dut, spec: dict) -> tuple[AsyncBoard, UARTPinsPort]:
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.uart_rx.value = 1
    dut.switches.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    await Timer(CLOCK_NS // 2, "ns")  # drive uart_rx between clock edges
    port = UARTPinsPort(dut, spec["clocks_per_bit"], CLOCK_NS)
    return AsyncBoard(port), port


@cocotb.test()
async def info_status_and_errors(dut):
    """INFO reports the build; bad check / opcode / length frames get their status and set sticky errors."""
    spec = bench_spec()
    board, port = await start(dut, spec)
    info = await board.info()
    assert info.pack().hex() == spec["info"], f"INFO {info} != expected"
    status = await board.status()
    assert status.errors == 0 and not status.busy and status.runs == 0, status
    frame = bytearray(proto.encode_request(proto.Op.INFO))
    frame[-1] ^= 0x01
    await port.write(bytes(frame))
    head = await port.read(proto.HEADER_BYTES)
    reply = proto.decode_response(head + await port.read(proto.response_length(head)))
    assert reply.code == proto.Status.BAD_CHECK and reply.payload == b"" and reply.check_ok, reply
    for op, payload, want in (
        (0x7E, b"", proto.Status.BAD_OPCODE),
        (proto.Op.RUN, b"\x00" * 3, proto.Status.BAD_LENGTH),
        (
            proto.Op.WRITE_WEIGHTS,
            proto.write_payload(info.weight_depth, [1], info.weight_bytes),
            proto.Status.BAD_ADDRESS,
        ),
    ):
        try:
            await board.transact(op, payload)
        except ProtocolError as err:
            assert err.status == want, f"op {op:#x}: {err}"
        else:
            raise AssertionError(f"op {op:#x} was accepted")
    # RUNs the array cannot execute are refused before they start (protocol.run_status), each with its status
    for rp in bad_runs(info):
        want = proto.run_status(info, rp)
        try:
            await board.transact(proto.Op.RUN, rp.pack())
        except ProtocolError as err:
            assert err.status == want, f"{rp}: board {err.status!r}, run_status {want!r}"
        else:
            raise AssertionError(f"{rp} was accepted; run_status says {want!r}")
    status = await board.status()
    want_bits = proto.ERR_CHECK | proto.ERR_OPCODE | proto.ERR_LENGTH | proto.ERR_ADDRESS | proto.ERR_MODE
    assert status.errors == want_bits, status.error_names()
    assert status.runs == 0, status
    assert int(dut.leds.value) & 0b100 == 0, "error LED still on after STATUS"  # cleared by the STATUS read
    assert (await board.status()).errors == 0


@cocotb.test()
async def tiles_against_numerics_torch_and_timing(dut):
    """Every tile kind sent over the UART, run, read back: bit-exact vs numerics, within the FP bound of torch,
    and the board's cycle registers == sparsesim.sat.timing."""
    spec = bench_spec()
    cfg = ArrayConfig(**spec["config"])
    board, port = await start(dut, spec)
    await board.info()
    rng = np.random.default_rng(spec.get("seed", 5))
    mismatches, runs = [], []
    t0, sim0 = time.perf_counter(), get_sim_time("ns")
    for mode, shape in board_tiles(cfg):
        a, b = operands(rng, cfg, mode, shape)
        run = await board.run_tile(mode, a, b)
        mismatches += check_run(cfg, run)
        cyc = await board.cycles()  # the free-running counter has moved on since the tile ended
        if not cyc.done < cyc.now or cyc != run.cycles.__class__(**{**run.cycles.__dict__, "now": cyc.now}):
            mismatches.append(f"{mode}: READ_CYCLES {cyc} after the run's {run.cycles}")
        runs.append(
            {"mode": str(mode), "shape": [shape.m, shape.n, shape.k], "cycles": run.cycles.tile_cycles}
        )
    wall, sim_ns = time.perf_counter() - t0, get_sim_time("ns") - sim0
    status = await board.status()
    report(
        spec,
        "tiles",
        {
            "runs": runs,
            "mismatches": mismatches,
            "wall_s": wall,
            "sim_cycles": round(sim_ns / CLOCK_NS),
            "bytes_to_board": port.bytes_out,
            "bytes_from_board": port.bytes_in,
            "board_runs": status.runs,
        },
    )
    assert status.runs == len(runs) and status.errors == 0, status
    assert not mismatches, "\n".join(mismatches)
