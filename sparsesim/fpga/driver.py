"""Host driver of the board's UART protocol (sparsesim.rtl.protocol; docs/fpga.md).

The operations are written once, without I/O: each is a generator that yields requests `(opcode, payload)`
and receives the payload of each OK response. `Board` runs them over a blocking port (a serial port, or the
in-process `sparsesim.fpga.model.SimulatedPort`); `AsyncBoard` over an asynchronous one (the cocotb bench's
bridge to the UART pins). A port has `write(data)` and `read(n) -> bytes` (exactly n bytes, or TimeoutError).

    board = Board(SerialPort("/dev/ttyUSB2", 921600))
    info = board.info()                         # what the bitstream was built for
    run = board.run_tile(Mode("ws", 2, 8), a, b)  # load, run, read back: run.bits, run.cycles
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sparsesim.rtl import protocol as proto
from sparsesim.rtl.protocol import Op, ProtocolError

Request = tuple[int, bytes]
OpGen = Generator[Request, bytes, Any]


class SyncPort(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self, n: int) -> bytes: ...


class AsyncPort(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def read(self, n: int) -> bytes: ...


@dataclass
class TileRun:
    """One tile run on the board: its stream words (sparsesim.rtl.host.TileStreams), the results as uint32 bit
    patterns [m, n], the run's response and the cycle registers."""

    tile: Any
    bits: np.ndarray
    done: proto.RunDone
    cycles: proto.CyclesBlock


def config_from_info(info: proto.InfoBlock):
    """The ArrayConfig a board reports (sparsesim.rtl.config); ProtocolError if the INFO block's fields are
    not a configuration this host can drive (its word sizes included)."""
    from sparsesim.rtl.board.params import BoardParams
    from sparsesim.rtl.config import ArrayConfig

    info.check()
    try:
        cfg = ArrayConfig(
            rows=info.rows, cols=info.cols, multipliers=info.multipliers, max_m=info.max_m,
            precision=info.precision_name, mul_latency=info.mul_latency, add_latency=info.add_latency,
            k_bits=info.k_bits, len_bits=info.len_bits, cycle_bits=info.cycle_bits,
        )  # fmt: skip
        words = BoardParams(cfg)
    except ValueError as err:
        raise ProtocolError(f"INFO describes no array this host can drive: {err}") from None
    want = (words.weight_bytes, words.act_bytes, words.result_bytes)
    if (info.weight_bytes, info.act_bytes, info.result_bytes) != want:
        raise ProtocolError(
            f"INFO word sizes {info.weight_bytes}/{info.act_bytes}/{info.result_bytes} bytes differ from "
            f"the {want[0]}/{want[1]}/{want[2]} of its array"
        )
    return cfg


def run_params(cfg, tile, *, w_base: int = 0, a_base: int = 0, r_base: int = 0) -> proto.RunParams:
    """The RUN request of a sparsesim.rtl.host.TileStreams whose words sit at the given buffer addresses."""
    mode, shape = tile.mode, tile.shape
    os_ = mode.dataflow == "os"
    flags = (proto.RUN_OS if os_ else 0) | (proto.RUN_SPARSE if mode.sparse else 0)
    flags |= proto.RUN_INTERLEAVE if mode.interleave else 0
    return proto.RunParams(
        flags=flags, n=mode.n or 0, log2m=(int(mode.m).bit_length() - 1) if mode.sparse else 0, reserved=0,
        k=shape.k, length=0 if os_ else shape.n, w_base=w_base, w_count=len(tile.weights),
        a_base=a_base, a_count=len(tile.acts), r_base=r_base,
    )  # fmt: skip


# ------------------------------------------------------------------------------------ operations (sans I/O)
# Each checks every field of the replies it gets and raises ProtocolError for one it cannot take.
def op_info() -> OpGen:
    info = proto.InfoBlock.unpack((yield Op.INFO, b"")).check()
    config_from_info(info)
    return info


def op_status() -> OpGen:
    return proto.StatusBlock.unpack((yield Op.STATUS, b"")).check()


def _expect_empty(payload: bytes, what: str) -> None:
    if payload:
        raise ProtocolError(f"{what}: OK response with {len(payload)} payload bytes, expected none")


def op_write(op: int, addr: int, words: list[int], word_bytes: int) -> OpGen:
    """Write `words` from `addr` on, in as many frames as needed."""
    per = proto.words_per_frame(word_bytes)
    for i in range(0, len(words), per):
        _expect_empty((yield op, proto.write_payload(addr + i, words[i : i + per], word_bytes)), "write")


def op_run(params: proto.RunParams) -> OpGen:
    return proto.RunDone.unpack((yield Op.RUN, params.pack()))


def op_cycles() -> OpGen:
    return proto.CyclesBlock.unpack((yield Op.READ_CYCLES, b""))


def op_read_results(addr: int, count: int, word_bytes: int) -> OpGen:
    per = proto.words_per_frame(word_bytes, with_address=False)
    out: list[int] = []
    for i in range(0, count, per):
        n = min(per, count - i)
        out += proto.split_words((yield Op.READ_RESULTS, proto.read_payload(addr + i, n)), word_bytes, n)
    return out


def op_run_tile(
    info: proto.InfoBlock, mode, a, b, *, w_base: int = 0, a_base: int = 0, r_base: int = 0
) -> OpGen:
    """Load one GEMM tile (sparsesim.rtl.host.tile_streams of the board's configuration), run it and read
    its results and cycle registers back."""
    from sparsesim.rtl.host import decode_results, tile_streams

    cfg = config_from_info(info)
    tile = tile_streams(cfg, mode, a, b)
    for what, base, count, depth in (
        ("weight", w_base, len(tile.weights), info.weight_depth),
        ("activation", a_base, len(tile.acts), info.act_depth),
        ("result", r_base, tile.result_beats, info.result_depth),
    ):
        if base + count > depth:
            raise ValueError(
                f"the tile needs {count} {what} words from {base}; the board's buffer holds {depth}"
            )
    params = run_params(cfg, tile, w_base=w_base, a_base=a_base, r_base=r_base)
    status = proto.run_status(info, params)
    if status != proto.Status.OK:  # the board would refuse it: a host-side bug, not the board's
        raise ValueError(f"the board would answer {status.name} to {params}")
    yield from op_write(Op.WRITE_WEIGHTS, w_base, tile.weights, info.weight_bytes)
    yield from op_write(Op.WRITE_ACTS, a_base, tile.acts, info.act_bytes)
    done = yield from op_run(params)
    if done.result_beats != tile.result_beats:
        raise ProtocolError(
            f"the board stored {done.result_beats} result beats, the tile has {tile.result_beats}"
        )
    cycles = yield from op_cycles()
    if cycles.tile_cycles != done.tile_cycles:
        raise ProtocolError(
            f"READ_CYCLES says the tile took {cycles.tile_cycles} cycles, RUN said {done.tile_cycles}"
        )
    words = yield from op_read_results(r_base, tile.result_beats, info.result_bytes)
    return TileRun(tile, decode_results(cfg, tile, words), done, cycles)


def _ok_payload(header: bytes, rest: bytes, tag: int) -> bytes:
    status, payload = proto.parse_response(header, rest, tag)
    if status != proto.Status.OK:
        raise ProtocolError(f"the board answered {status.name}", status)
    return payload


# ------------------------------------------------------------------------------------------------ drivers
class Board:
    """Blocking driver over a SyncPort."""

    def __init__(self, port: SyncPort):
        self.port = port
        self._info: proto.InfoBlock | None = None
        self._tag = 0

    def transact(self, op: int, payload: bytes = b"") -> bytes:
        """One request; the OK response's payload (ProtocolError for any other status or a malformed
        reply; then `resync()` before the next request)."""
        self._tag = (self._tag + 1) & 0xFF
        self.port.write(proto.encode_request(op, payload, self._tag))
        header = self.port.read(proto.HEADER_BYTES)
        rest = self.port.read(proto.parse_response_header(header)[2] + 1)
        return _ok_payload(header, rest, self._tag)

    def resync(self) -> None:
        """End any frame the board may be inside (protocol.RESYNC_BYTES zeros) and drop what it answers."""
        self.port.write(bytes(proto.RESYNC_BYTES))
        drain = getattr(self.port, "drain", None)
        if drain is not None:
            drain()

    def _drive(self, gen: OpGen):
        try:
            req = next(gen)
            while True:
                req = gen.send(self.transact(*req))
        except StopIteration as stop:
            return stop.value

    def info(self) -> proto.InfoBlock:
        self._info = self._drive(op_info())
        return self._info

    def status(self) -> proto.StatusBlock:
        return self._drive(op_status())

    def write_weights(self, addr: int, words: list[int]) -> None:
        self._drive(op_write(Op.WRITE_WEIGHTS, addr, words, self._cached_info().weight_bytes))

    def write_acts(self, addr: int, words: list[int]) -> None:
        self._drive(op_write(Op.WRITE_ACTS, addr, words, self._cached_info().act_bytes))

    def run(self, params: proto.RunParams) -> proto.RunDone:
        return self._drive(op_run(params))

    def cycles(self) -> proto.CyclesBlock:
        return self._drive(op_cycles())

    def read_results(self, addr: int, count: int) -> list[int]:
        return self._drive(op_read_results(addr, count, self._cached_info().result_bytes))

    def run_tile(self, mode, a, b, **bases: int) -> TileRun:
        return self._drive(op_run_tile(self._cached_info(), mode, a, b, **bases))

    def _cached_info(self) -> proto.InfoBlock:
        return self._info if self._info is not None else self.info()


class AsyncBoard:
    """The same operations over an AsyncPort (e.g. a cocotb bridge to the UART pins)."""

    def __init__(self, port: AsyncPort):
        self.port = port
        self._info: proto.InfoBlock | None = None
        self._tag = 0

    async def transact(self, op: int, payload: bytes = b"") -> bytes:
        self._tag = (self._tag + 1) & 0xFF
        await self.port.write(proto.encode_request(op, payload, self._tag))
        header = await self.port.read(proto.HEADER_BYTES)
        rest = await self.port.read(proto.parse_response_header(header)[2] + 1)
        return _ok_payload(header, rest, self._tag)

    async def _drive(self, gen: OpGen):
        try:
            req = next(gen)
            while True:
                req = gen.send(await self.transact(*req))
        except StopIteration as stop:
            return stop.value

    async def info(self) -> proto.InfoBlock:
        self._info = await self._drive(op_info())
        return self._info

    async def status(self) -> proto.StatusBlock:
        return await self._drive(op_status())

    async def cycles(self) -> proto.CyclesBlock:
        return await self._drive(op_cycles())

    async def run_tile(self, mode, a, b, **bases: int) -> TileRun:
        info = self._info if self._info is not None else await self.info()
        return await self._drive(op_run_tile(info, mode, a, b, **bases))


# ------------------------------------------------------------------------------------------------ serial port
class SerialPort:
    """A serial port at `baud`, 8N1, raw: pyserial when installed, else POSIX termios (Linux, macOS)."""

    def __init__(self, path: str, baud: int = 921_600, *, timeout_s: float = 5.0):
        self.path, self.baud, self.timeout_s = path, baud, timeout_s
        self._serial = None
        self._fd: int | None = None
        try:
            import serial  # type: ignore[import-not-found]
        except ImportError:
            self._open_termios()
        else:
            self._serial = serial.Serial(path, baud, timeout=timeout_s)

    def _open_termios(self) -> None:
        import termios

        speed = getattr(termios, f"B{self.baud}", None)
        if speed is None:
            raise ValueError(f"{self.baud} baud is not a standard termios speed here; install pyserial")
        fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        attrs = termios.tcgetattr(fd)
        attrs[0] = 0  # iflag: no translation, no flow control
        attrs[1] = 0  # oflag
        attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL  # 8N1
        attrs[3] = 0  # lflag: raw
        attrs[4] = attrs[5] = speed
        attrs[6][termios.VMIN] = 0
        attrs[6][termios.VTIME] = 1  # reads return after 0.1 s without data
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        termios.tcflush(fd, termios.TCIOFLUSH)
        self._fd = fd

    def write(self, data: bytes) -> None:
        if self._serial is not None:
            self._serial.write(data)
            return
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)  # type: ignore[arg-type]
            view = view[n:]

    def read(self, n: int) -> bytes:
        if self._serial is not None:
            data = self._serial.read(n)
        else:
            data = b""
            deadline = time.monotonic() + self.timeout_s
            while len(data) < n and time.monotonic() < deadline:
                data += os.read(self._fd, n - len(data))  # type: ignore[arg-type]
        if len(data) < n:
            raise TimeoutError(f"{self.path}: {len(data)} of {n} bytes within {self.timeout_s} s")
        return data

    def drain(self) -> None:
        """Drop what the board sends within 0.1 s (the answers to a resync)."""
        time.sleep(0.1)
        if self._serial is not None:
            self._serial.reset_input_buffer()
        elif self._fd is not None:
            import termios

            termios.tcflush(self._fd, termios.TCIFLUSH)

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
        elif self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SerialPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
