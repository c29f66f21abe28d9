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
from board_plan import bad_index_run, bad_runs, board_tiles, check_run, operands
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer
from cocotb.utils import get_sim_time
from sparsesim.rtl import protocol as proto
from sparsesim.rtl.config import ArrayConfig

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


async def read_reply(port) -> tuple[int, int, bytes]:
    """(status, tag, payload) of the next response on the pins, checked as the host driver checks it."""
    header = await port.read(proto.HEADER_BYTES)
    status, tag, length = proto.parse_response_header(header)
    rest = await port.read(length + 1)
    assert sum(rest) % 256 == 0, "response payload fails its check byte"
    return status, tag, rest[:-1]


def header(op: int, tag: int, length: int) -> bytes:
    """A request header with a right hcheck (for lengths encode_request would not produce)."""
    head = bytes([op, tag, length & 0xFF, length >> 8])
    return proto.REQUEST_SYNC + head + bytes([proto.checksum(head)])


def bad_frames(info: proto.InfoBlock) -> list[tuple[str, bytes, list[int]]]:
    """(what, bytes to send, the statuses of the responses they must get): a bounded, deterministic set of
    damaged frames. After each, a STATUS request must be answered OK (the resync rule)."""
    S = proto.Status
    flipped = bytearray(proto.encode_request(proto.Op.INFO, tag=1))
    flipped[-1] ^= 0x01
    bad_len = bytearray(proto.encode_request(proto.Op.INFO, tag=2))
    bad_len[5] = 0xFF  # the length's high byte: the header check catches it
    return [
        ("payload check", bytes(flipped), [S.BAD_CHECK]),
        ("damaged length", bytes(bad_len), [S.BAD_CHECK]),
        ("length 0xFFFF", header(proto.Op.STATUS, 3, 0xFFFF), [S.BAD_LENGTH]),
        ("write over MAX_PAYLOAD", header(proto.Op.WRITE_ACTS, 4, proto.MAX_PAYLOAD + 1), [S.BAD_LENGTH]),
        ("write shorter than a word", header(proto.Op.WRITE_ACTS, 5, 4) + b"\x01\x00\x00\x00\xff",
         [S.BAD_LENGTH]),
        # the old rule hunted through a refused frame's payload (after the bytes dropped while answering):
        # the whole request inside it was then answered as well
        ("unknown opcode, a request inside its payload",
         proto.encode_request(0x00, bytes(32) + proto.encode_request(proto.Op.STATUS, tag=0x77), tag=9),
         [S.BAD_OPCODE]),
        ("unknown opcode", header(0x7E, 6, 3) + b"\x01\x02\x03\xfa", [S.BAD_OPCODE]),
        ("RUN of 3 bytes", proto.encode_request(proto.Op.RUN, b"\x00" * 3, 7), [S.BAD_LENGTH]),
        ("write not whole words", proto.encode_request(proto.Op.WRITE_ACTS, bytes(4 + info.act_bytes + 1), 8),
         [S.BAD_LENGTH]),
        ("garbage and a doubled sync byte", b"\x00\x13\x5a\xa5\xa5\x00", []),
    ]  # fmt: skip


class MirrorPort:
    """Sends every byte to the pins and to the in-process model; keeps both sides' answers."""

    def __init__(self, pins, model):
        self.pins, self.model = pins, model
        self.from_model = bytearray()
        self.from_rtl = bytearray()

    async def write(self, data: bytes) -> None:
        self.from_model += self.model.feed(bytes(data))
        await self.pins.write(data)

    async def read(self, n: int) -> bytes:
        data = await self.pins.read(n)
        self.from_rtl += data
        return data


@cocotb.test()
async def info_status_and_errors(dut):
    """INFO reports the build; damaged frames get their status, the board resynchronises after each and sets
    the sticky error bits; bad RUNs (run_status, BAD_INDEX) are refused. The RTL's response bytes equal the
    in-process model's (sparsesim.fpga.model) for the whole sequence."""
    from sparsesim.rtl.board import BoardParams

    from sparsesim.fpga.model import BoardModel

    spec = bench_spec()
    _, pins = await start(dut, spec)
    params = BoardParams(ArrayConfig(**spec["config"]), **spec["board"])
    port = MirrorPort(pins, BoardModel(params))
    board = AsyncBoard(port)
    info = await board.info()
    assert info.pack().hex() == spec["info"], f"INFO {info} != expected"
    status = await board.status()
    assert status.errors == 0 and not status.busy and status.runs == 0, status
    # one request at a time, as a host sends them: the board drops bytes until it has answered
    for what, data, want in bad_frames(info):
        dut._log.info(f"bad frame: {what}")
        await port.write(data)
        got = [await read_reply(port) for _ in want]
        assert [g[0] for g in got] == want, f"{what}: statuses {[g[0] for g in got]}, expected {want}"
        await port.write(proto.encode_request(proto.Op.STATUS, tag=0x55))
        reply = await read_reply(port)
        assert reply[:2] == (proto.Status.OK, 0x55) and len(reply[2]) == 8, f"after {what}: {reply}"
        sticky = proto.StatusBlock.unpack(reply[2]).errors  # STATUS reports this case's bits and clears them
        assert sticky == sum({proto.error_mask(w) for w in want}), f"after {what}: {proto.error_names(sticky)}"
    assert port.from_rtl == port.from_model, "the RTL's responses differ from the model's"
    dut._log.info("bad addresses")
    for op, payload, want in (
        (
            proto.Op.WRITE_WEIGHTS,
            proto.write_payload(info.weight_depth, [1], info.weight_bytes),
            proto.Status.BAD_ADDRESS,
        ),
        (proto.Op.READ_RESULTS, proto.read_payload(info.result_depth - 1, 2), proto.Status.BAD_ADDRESS),
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
        dut._log.info(f"bad run {rp}")
        try:
            await board.transact(proto.Op.RUN, rp.pack())
        except ProtocolError as err:
            assert err.status == want, f"{rp}: board {err.status!r}, run_status {want!r}"
        else:
            raise AssertionError(f"{rp} was accepted; run_status says {want!r}")
    # an N:M RUN whose weights hold an index >= M in a used lane
    rp = bad_index_run(info)
    dut._log.info("bad index")
    await board.transact(proto.Op.WRITE_WEIGHTS, proto.write_payload(0, rp[1], info.weight_bytes))
    try:
        await board.transact(proto.Op.RUN, rp[0].pack())
    except ProtocolError as err:
        assert err.status == proto.Status.BAD_INDEX, f"index >= M: {err}"
    else:
        raise AssertionError("a RUN with an index >= M was accepted")
    status = await board.status()
    want_bits = proto.ERR_LENGTH | proto.ERR_ADDRESS | proto.ERR_MODE | proto.ERR_INDEX  # since the last STATUS
    assert status.errors == want_bits, status.error_names()
    assert status.runs == 0, status
    assert int(dut.leds.value) & 0b100 == 0, "error LED still on after STATUS"  # cleared by the STATUS read
    assert (await board.status()).errors == 0
    assert port.from_rtl == port.from_model, "the RTL's responses differ from the model's"


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
