"""The host <-> board protocol over the UART (docs/fpga.md, "Host protocol"): framing, opcodes, status codes,
the layout of every fixed payload and the rules a RUN must satisfy. Pure Python; the single definition used
by the host driver (`sparsesim.fpga.driver`), the in-process board model (`sparsesim.fpga.model`), the tests,
and the RTL command decoder (`sparsesim.rtl.board`, which builds its registers from the field tables below
and checks RUNs by the rules of `run_status`).

Frames (all multi-byte integers little-endian):

    request   A5 | opcode u8 | length u16 | payload[length] | check u8
    response  5A | status u8 | length u16 | payload[length] | check u8

`check` makes the byte sum of everything after the sync byte zero modulo 256 (opcode/status, both length
bytes, the payload and the check byte itself). A board answers every request it receives with exactly one
response; a request with a bad check, opcode, length or address gets a response with that status and no
payload (a write's words may already be stored when its check turns out bad: the host retries the write).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

SYNC_REQUEST = 0xA5
SYNC_RESPONSE = 0x5A
HEADER_BYTES = 4  # sync, opcode/status, length
MAX_PAYLOAD = 0xFFFF
VERSION = 1
MAGIC = 0x4D535053  # b"SPSM" read little-endian


class Op(enum.IntEnum):
    INFO = 0x01  # -> InfoBlock
    STATUS = 0x02  # -> StatusBlock; clears the sticky error flags
    WRITE_WEIGHTS = 0x10  # addr u32, then whole weight words -> empty
    WRITE_ACTS = 0x11  # addr u32, then whole activation words -> empty
    RUN = 0x20  # RunParams -> RunDone, sent when the tile's last result is stored
    READ_CYCLES = 0x21  # -> CyclesBlock of the last run
    READ_RESULTS = 0x30  # addr u32, count u32 -> count result words


class Status(enum.IntEnum):
    OK = 0
    BAD_CHECK = 1
    BAD_OPCODE = 2
    BAD_LENGTH = 3
    BAD_ADDRESS = 4
    BAD_MODE = 5


# Sticky error bits of StatusBlock.errors (and the error LED).
ERR_FRAMING = 1 << 0  # a UART byte with a low stop bit
ERR_OVERRUN = 1 << 1  # a UART byte arrived before the previous one was taken
ERR_CHECK = 1 << 2
ERR_OPCODE = 1 << 3
ERR_LENGTH = 1 << 4
ERR_ADDRESS = 1 << 5
ERR_MODE = 1 << 6

RUN_OS = 1 << 0
RUN_SPARSE = 1 << 1
RUN_INTERLEAVE = 1 << 2

STATUS_BUSY = 1 << 0


class ProtocolError(Exception):
    """A malformed frame, or a response with a status other than OK."""

    def __init__(self, message: str, status: Status | None = None):
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------------------------------ fixed payloads
Fields = tuple[tuple[str, int], ...]  # (name, bytes) in payload order


def fields_size(table: Fields) -> int:
    return sum(n for _, n in table)


def pack_fields(table: Fields, values: Mapping[str, int]) -> bytes:
    out = bytearray()
    for name, size in table:
        v = int(values.get(name, 0))
        if not 0 <= v < 1 << (8 * size):
            raise ValueError(f"field {name}={v} does not fit {size} bytes")
        out += v.to_bytes(size, "little")
    return bytes(out)


def unpack_fields(table: Fields, data: bytes) -> dict[str, int]:
    if len(data) != fields_size(table):
        raise ProtocolError(f"payload of {len(data)} bytes, expected {fields_size(table)}")
    out, pos = {}, 0
    for name, size in table:
        out[name] = int.from_bytes(data[pos : pos + size], "little")
        pos += size
    return out


class _Block:
    """A dataclass whose fields are exactly the entries of `TABLE`."""

    TABLE: Fields = ()

    def pack(self) -> bytes:
        return pack_fields(self.TABLE, {f.name: getattr(self, f.name) for f in fields(self)})  # type: ignore[arg-type]

    @classmethod
    def unpack(cls, data: bytes):
        return cls(**unpack_fields(cls.TABLE, data))


@dataclass(frozen=True)
class InfoBlock(_Block):
    """The version / configuration register: what the bitstream was built for."""

    TABLE = (
        ("magic", 4), ("version", 1), ("precision", 1), ("rows", 2), ("cols", 2), ("multipliers", 1),
        ("max_m", 1), ("mul_latency", 1), ("add_latency", 1), ("k_bits", 1), ("len_bits", 1),
        ("cycle_bits", 1), ("reserved", 1), ("weight_depth", 4), ("act_depth", 4), ("result_depth", 4),
        ("weight_bytes", 2), ("act_bytes", 2), ("result_bytes", 2), ("clock_khz", 4), ("clocks_per_bit", 4),
        ("build_hash", 4),
    )  # fmt: skip
    magic: int
    version: int
    precision: int  # 0 fp16, 1 int8
    rows: int
    cols: int
    multipliers: int
    max_m: int
    mul_latency: int
    add_latency: int
    k_bits: int
    len_bits: int
    cycle_bits: int
    reserved: int
    weight_depth: int  # words
    act_depth: int
    result_depth: int
    weight_bytes: int  # bytes per word on the wire
    act_bytes: int
    result_bytes: int
    clock_khz: int
    clocks_per_bit: int
    build_hash: int

    @property
    def precision_name(self) -> str:
        return PRECISIONS[self.precision]


PRECISIONS = ("fp16", "int8")


@dataclass(frozen=True)
class StatusBlock(_Block):
    TABLE = (("flags", 1), ("errors", 1), ("switches", 1), ("reserved", 1), ("runs", 4))
    flags: int  # STATUS_BUSY
    errors: int  # ERR_* bits since the last STATUS
    switches: int  # DIP switches 0..3
    reserved: int
    runs: int  # tiles run since reset

    @property
    def busy(self) -> bool:
        return bool(self.flags & STATUS_BUSY)

    def error_names(self) -> list[str]:
        names = {
            ERR_FRAMING: "framing",
            ERR_OVERRUN: "overrun",
            ERR_CHECK: "check",
            ERR_OPCODE: "opcode",
            ERR_LENGTH: "length",
            ERR_ADDRESS: "address",
            ERR_MODE: "mode",
        }
        return [n for bit, n in names.items() if self.errors & bit]


@dataclass(frozen=True)
class RunParams(_Block):
    """One tile: the array command's fields and where its streams live in the on-chip buffers."""

    TABLE = (
        ("flags", 1), ("n", 1), ("log2m", 1), ("reserved", 1), ("k", 4), ("length", 4),
        ("w_base", 4), ("w_count", 4), ("a_base", 4), ("a_count", 4), ("r_base", 4),
    )  # fmt: skip
    flags: int  # RUN_OS | RUN_SPARSE | RUN_INTERLEAVE
    n: int
    log2m: int
    reserved: int
    k: int
    length: int  # WS: activation vectors streamed
    w_base: int
    w_count: int
    a_base: int
    a_count: int
    r_base: int


@dataclass(frozen=True)
class RunDone(_Block):
    TABLE = (("tile_cycles", 4), ("result_beats", 4))
    tile_cycles: int
    result_beats: int


@dataclass(frozen=True)
class CyclesBlock(_Block):
    """The free-running cycle counter (`now`, when the request was decoded) and its values at the last run's
    events (sparsesim.rtl.array.SparseArray's ev_* outputs).

    tile_cycles = done - (load if WS else start) + 1: sparsesim.sat.timing.tile_cycles on an idle array."""

    TABLE = (("tile_cycles", 4), ("load", 4), ("start", 4), ("done", 4), ("now", 4))
    tile_cycles: int
    load: int
    start: int
    done: int
    now: int


READ_TABLE: Fields = (("addr", 4), ("count", 4))
ADDR_BYTES = 4


# ------------------------------------------------------------------------------------------------ RUN rules
def run_steps(info: InfoBlock, rp: RunParams) -> int:
    """S, the reduction steps of the tile: ceil(k / E), E = M (N:M) or P (dense)."""
    e = 1 << rp.log2m if rp.flags & RUN_SPARSE else info.multipliers
    return -(-rp.k // e)


def run_stream_words(info: InfoBlock, rp: RunParams) -> tuple[int, int, int]:
    """(weight words, activation words, result words) a RUN's mode, k and length imply
    (docs/pe_array.md, RTL interface): WS R weight beats, `length` activation and result beats; OS S weight
    beats, S x I activation beats and R x I result beats, I = L_add with interleave, else 1."""
    steps = run_steps(info, rp)
    if rp.flags & RUN_OS:
        slots = info.add_latency if rp.flags & RUN_INTERLEAVE else 1
        return steps, steps * slots, info.rows * slots
    return info.rows, rp.length, rp.length


def run_status(info: InfoBlock, rp: RunParams) -> Status:
    """What a board answers to a RUN, checked in this order (the RTL decoder checks the same, in parallel,
    with the same priority): BAD_MODE for a mode the array cannot run (N:M with N = 0, N > P, M > MMAX,
    N > M, k not a multiple of M; k = 0 or beyond the array's k field; WS: length 0 or beyond its field, or
    k > R x E); BAD_LENGTH when w_count / a_count differ from what the mode, k and length imply (the array
    would wait for words that never come, or keep stale ones); BAD_ADDRESS when a stream or the results
    run past their buffer. A RUN that passes all of them cannot hang the array."""
    os_ = bool(rp.flags & RUN_OS)
    e = info.multipliers
    if rp.flags & RUN_SPARSE:
        max_log2m = info.max_m.bit_length() - 1
        if not 1 <= rp.n <= info.multipliers or rp.log2m > max_log2m or rp.n > 1 << rp.log2m:
            return Status.BAD_MODE
        e = 1 << rp.log2m
        if rp.k % e:
            return Status.BAD_MODE
    if not 1 <= rp.k < 1 << info.k_bits:
        return Status.BAD_MODE
    if not os_ and (not 1 <= rp.length < 1 << info.len_bits or rp.k > info.rows * e):
        return Status.BAD_MODE
    words, acts, results = run_stream_words(info, rp)
    if rp.w_count != words or rp.a_count != acts:
        return Status.BAD_LENGTH
    if (
        rp.w_base + words > info.weight_depth
        or rp.a_base + acts > info.act_depth
        or rp.r_base + results > info.result_depth
    ):
        return Status.BAD_ADDRESS
    return Status.OK


# ------------------------------------------------------------------------------------------------- frames
def checksum(data: Iterable[int]) -> int:
    """The check byte that makes the sum of `data` plus itself zero modulo 256."""
    return (-sum(data)) & 0xFF


def _frame(sync: int, code: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes([code]) + struct.pack("<H", len(payload)) + payload
    return bytes([sync]) + body + bytes([checksum(body)])


def encode_request(op: int, payload: bytes = b"") -> bytes:
    return _frame(SYNC_REQUEST, int(op), bytes(payload))


def encode_response(status: int, payload: bytes = b"") -> bytes:
    return _frame(SYNC_RESPONSE, int(status), bytes(payload))


@dataclass(frozen=True)
class Frame:
    code: int  # opcode (request) or status (response)
    payload: bytes
    check_ok: bool = True


class FrameParser:
    """Incremental decoder of one direction's byte stream: `feed(data)` returns the frames completed.
    Bytes before a sync byte are skipped (counted in `skipped`), as the board's decoder does."""

    def __init__(self, sync: int):
        self.sync = sync
        self.buf = bytearray()
        self.skipped = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        out = []
        while True:
            start = self.buf.find(bytes([self.sync]))
            if start < 0:
                self.skipped += len(self.buf)
                self.buf.clear()
                return out
            if start:
                self.skipped += start
                del self.buf[:start]
            if len(self.buf) < HEADER_BYTES:
                return out
            length = self.buf[2] | self.buf[3] << 8
            total = HEADER_BYTES + length + 1
            if len(self.buf) < total:
                return out
            body = bytes(self.buf[1:total])
            del self.buf[:total]
            out.append(Frame(body[0], body[3:-1], sum(body) & 0xFF == 0))


def decode_response(data: bytes) -> Frame:
    """Exactly one response frame."""
    frames = FrameParser(SYNC_RESPONSE).feed(data)
    if len(frames) != 1:
        raise ProtocolError(f"expected one response frame in {len(data)} bytes, got {len(frames)}")
    return frames[0]


def response_length(header: bytes) -> int:
    """Bytes that follow a response header (payload + check), from its 4 header bytes."""
    if len(header) != HEADER_BYTES or header[0] != SYNC_RESPONSE:
        raise ProtocolError(f"bad response header {header.hex()}")
    return (header[2] | header[3] << 8) + 1


# ------------------------------------------------------------------------------------------ request payloads
def write_payload(addr: int, words: Iterable[int], word_bytes: int) -> bytes:
    out = bytearray(addr.to_bytes(ADDR_BYTES, "little"))
    for w in words:
        if not 0 <= w < 1 << (8 * word_bytes):
            raise ValueError(f"word {w:#x} does not fit {word_bytes} bytes")
        out += int(w).to_bytes(word_bytes, "little")
    return bytes(out)


def parse_write_payload(payload: bytes, word_bytes: int) -> tuple[int, list[int]] | None:
    """(addr, words), or None if the length is not an address plus whole words."""
    if len(payload) < ADDR_BYTES or (len(payload) - ADDR_BYTES) % word_bytes:
        return None
    addr = int.from_bytes(payload[:ADDR_BYTES], "little")
    body = payload[ADDR_BYTES:]
    return addr, [int.from_bytes(body[i : i + word_bytes], "little") for i in range(0, len(body), word_bytes)]


def read_payload(addr: int, count: int) -> bytes:
    return pack_fields(READ_TABLE, {"addr": addr, "count": count})


def split_words(payload: bytes, word_bytes: int) -> list[int]:
    if len(payload) % word_bytes:
        raise ProtocolError(f"{len(payload)} bytes are not whole {word_bytes}-byte words")
    return [int.from_bytes(payload[i : i + word_bytes], "little") for i in range(0, len(payload), word_bytes)]


def words_per_frame(word_bytes: int, *, with_address: bool = True) -> int:
    """Most whole words one frame carries."""
    return (MAX_PAYLOAD - (ADDR_BYTES if with_address else 0)) // word_bytes
