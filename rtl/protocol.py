"""The host <-> board wire format over the UART (docs/fpga.md, "Host protocol"): framing, the resync rule,
opcodes, status codes and sticky error bits, the layout of every fixed payload and the rules a RUN must
satisfy. Pure Python without imports from the rest of sparsesim, so both sides import it without a cycle:
the RTL command decoder (`sparsesim.rtl.board`, which builds its registers from the tables below) and the
host (`sparsesim.fpga.driver`, the in-process board model `sparsesim.fpga.model`, the tests). It lives in
`sparsesim.rtl` because the hardware is what defines the interface; the host already depends on
`sparsesim.rtl` (stream layouts), never the other way round.

Frames, both directions (all multi-byte integers little-endian):

    request   A5 5A | opcode u8 | tag u8 | length u16 | hcheck u8 | payload[length] | check u8
    response  5A A5 | status u8 | tag u8 | length u16 | hcheck u8 | payload[length] | check u8

`hcheck` makes the byte sum of code, tag, both length bytes and hcheck zero modulo 256; `check` does the same
for the payload and check. `length` is at most MAX_PAYLOAD. A response carries the tag of the request it
answers, so a host can tell a stale or misaligned reply.

Resync rule (the RTL decoder and the model implement the same automaton): the decoder hunts for the two sync
bytes; a header whose hcheck is wrong (BAD_CHECK) or whose length exceeds MAX_PAYLOAD (BAD_LENGTH, or
BAD_OPCODE for an unknown opcode) is answered at once, without reading a payload, and hunting resumes with
the byte after the header. So a corrupted length never swallows the requests that follow it. Any other
header is trusted for its length: the payload and check byte are read, and only then is a header the
opcode refuses (`header_status`: unknown opcode, a length the opcode cannot have) answered, so a payload
that happens to contain the sync bytes is never taken for a frame. A frame cut short swallows at most
MAX_PAYLOAD + 1 following bytes (a host that lost track sends RESYNC_BYTES zero bytes, which end any frame
in progress and are then skipped). A board answers every frame whose header it read with exactly one
response; a non-OK response has no payload.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields

REQUEST_SYNC = b"\xa5\x5a"
RESPONSE_SYNC = b"\x5a\xa5"
HEADER_BYTES = 7  # sync (2), code, tag, length (2), hcheck
# Our choice: bounds what a frame cut short can swallow to 4 KiB (44 ms at 921,600 baud) while a write frame
# still holds several words of the largest arrays (a 32x32, P = 8, MMAX = 16 fp16 activation word is 1 KiB);
# BoardParams refuses a configuration one of whose words does not fit a frame.
MAX_PAYLOAD = 4096
RESYNC_BYTES = MAX_PAYLOAD + 1  # payload + check of the longest frame a decoder can be inside
VERSION = 2  # 2: two sync bytes, tag, header check, bounded length, BAD_INDEX
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
    BAD_CHECK = 1  # hcheck or check wrong
    BAD_OPCODE = 2  # unknown opcode
    BAD_LENGTH = 3  # a length the opcode cannot have; word counts of a RUN; a read longer than a frame
    BAD_ADDRESS = 4  # words beyond a buffer
    BAD_MODE = 5  # a RUN the array cannot execute (run_status)
    BAD_INDEX = 6  # an N:M RUN whose weight words hold an index >= M in a lane the tile uses


@dataclass(frozen=True)
class ErrorBit:
    bit: int
    name: str
    status: Status | None  # the non-OK response that sets it (None: set by the UART receiver)


# The sticky error bits of StatusBlock.errors (and the error LED), cleared by STATUS: the one table the RTL,
# the model and the host read.
ERROR_BITS = (
    ErrorBit(0, "framing", None),  # a UART byte with a low stop bit
    ErrorBit(1, "overrun", None),  # a UART byte arrived before the previous one was taken
    ErrorBit(2, "check", Status.BAD_CHECK),
    ErrorBit(3, "opcode", Status.BAD_OPCODE),
    ErrorBit(4, "length", Status.BAD_LENGTH),
    ErrorBit(5, "address", Status.BAD_ADDRESS),
    ErrorBit(6, "mode", Status.BAD_MODE),
    ErrorBit(7, "index", Status.BAD_INDEX),
)
ERR_FRAMING, ERR_OVERRUN, ERR_CHECK, ERR_OPCODE, ERR_LENGTH, ERR_ADDRESS, ERR_MODE, ERR_INDEX = (
    1 << e.bit for e in ERROR_BITS
)


def error_mask(status: Status) -> int:
    """The sticky error bit a non-OK response sets."""
    for e in ERROR_BITS:
        if e.status == status:
            return 1 << e.bit
    raise ValueError(f"{status!r} sets no error bit")


def error_names(errors: int) -> list[str]:
    return [e.name for e in ERROR_BITS if errors >> e.bit & 1]


RUN_OS = 1 << 0
RUN_SPARSE = 1 << 1
RUN_INTERLEAVE = 1 << 2

STATUS_BUSY = 1 << 0


class ProtocolError(Exception):
    """A malformed frame or reply field, or a response with a status other than OK."""

    def __init__(self, message: str, status: Status | None = None):
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------------------------------ fixed payloads
ADDR_BYTES = 4
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
        ("cycle_bits", 1), ("accumulator", 1), ("weight_depth", 4), ("act_depth", 4), ("result_depth", 4),
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
    accumulator: int  # 1: exact sums rounded at the array's edge (FP16), 0: FP32 / INT32 adders
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
        if not 0 <= self.precision < len(PRECISIONS):
            raise ProtocolError(f"INFO precision {self.precision} is not one of 0..{len(PRECISIONS) - 1}")
        return PRECISIONS[self.precision]

    def check(self) -> InfoBlock:
        """Itself, if every field is one a board of this protocol version can report (ProtocolError names
        the first that is not); the word sizes are checked against the array by the driver."""
        if self.magic != MAGIC:
            raise ProtocolError(
                f"INFO magic {self.magic:#010x}, expected {MAGIC:#010x}: not a sparsesim board"
            )
        if self.version != VERSION:
            raise ProtocolError(f"INFO protocol version {self.version}; this host speaks version {VERSION}")
        self.precision_name  # noqa: B018 (raises on an unknown precision)
        if self.accumulator not in (0, 1) or (self.accumulator and self.precision_name != "fp16"):
            raise ProtocolError(f"INFO accumulator {self.accumulator}: expected 0, or 1 with fp16")
        for name in ("rows", "cols", "multipliers", "max_m", "weight_depth", "act_depth", "result_depth",
                     "clock_khz", "clocks_per_bit", "k_bits", "len_bits", "cycle_bits"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ProtocolError(f"INFO {name} = {getattr(self, name)}, expected >= 1")
        for name in ("weight_bytes", "act_bytes", "result_bytes"):
            if not 1 <= getattr(self, name) <= MAX_PAYLOAD - ADDR_BYTES:
                raise ProtocolError(f"INFO {name} = {getattr(self, name)}: a word must fit one frame")
        for name in ("multipliers", "max_m"):
            v = getattr(self, name)
            if v & (v - 1):
                raise ProtocolError(f"INFO {name} = {v}, expected a power of two")
        if not 2 <= self.k_bits <= 32 or not 1 <= self.len_bits <= 32 or not 1 <= self.cycle_bits <= 32:
            raise ProtocolError(f"INFO field widths k {self.k_bits}, len {self.len_bits}, cycle "
                                f"{self.cycle_bits} bits: expected 2..32, 1..32, 1..32")  # fmt: skip
        return self


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
        return error_names(self.errors)

    def check(self) -> StatusBlock:
        if self.flags & ~STATUS_BUSY or self.switches >= 16 or self.reserved:
            raise ProtocolError(
                f"STATUS with undefined bits set (flags {self.flags:#x}, switches {self.switches:#x}, "
                f"reserved {self.reserved:#x})"
            )
        return self


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
# Payload lengths of the opcodes with a fixed request payload.
FIXED_REQUEST_BYTES: dict[int, int] = {
    Op.INFO: 0,
    Op.STATUS: 0,
    Op.RUN: fields_size(RunParams.TABLE),
    Op.READ_CYCLES: 0,
    Op.READ_RESULTS: fields_size(READ_TABLE),
}
WRITE_OPS = (Op.WRITE_WEIGHTS, Op.WRITE_ACTS)


def header_status(op: int, length: int, word_bytes: Mapping[int, int]) -> Status:
    """What a board answers to a request header whose hcheck is right (at once if the length exceeds
    MAX_PAYLOAD, else after the payload it skips): BAD_OPCODE for an unknown opcode, BAD_LENGTH for a length
    the opcode cannot have (a fixed payload of another size; a write shorter than an address and one word, or
    over MAX_PAYLOAD), else OK (the request is executed).
    `word_bytes`: {WRITE_WEIGHTS: weight_bytes, WRITE_ACTS: act_bytes} of the board. Whether a write's
    length is an address plus whole words is checked after its payload (BAD_LENGTH then)."""
    if op in FIXED_REQUEST_BYTES:
        return Status.OK if length == FIXED_REQUEST_BYTES[op] else Status.BAD_LENGTH
    if op in WRITE_OPS:
        return Status.OK if ADDR_BYTES + word_bytes[op] <= length <= MAX_PAYLOAD else Status.BAD_LENGTH
    return Status.BAD_OPCODE


def checksum(data: Iterable[int]) -> int:
    """The check byte that makes the sum of `data` plus itself zero modulo 256."""
    return (-sum(data)) & 0xFF


def _frame(sync: bytes, code: int, tag: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if not 0 <= code < 256 or not 0 <= tag < 256:
        raise ValueError(f"code {code} / tag {tag} must be a byte")
    head = bytes([code, tag, len(payload) & 0xFF, len(payload) >> 8])
    return sync + head + bytes([checksum(head)]) + payload + bytes([checksum(payload)])


def encode_request(op: int, payload: bytes = b"", tag: int = 0) -> bytes:
    return _frame(REQUEST_SYNC, int(op), tag, bytes(payload))


def encode_response(status: int, payload: bytes = b"", tag: int = 0) -> bytes:
    return _frame(RESPONSE_SYNC, int(status), tag, bytes(payload))


@dataclass(frozen=True)
class Frame:
    """One frame's header and, if it was read, payload. `header_ok`: hcheck right; `payload` None when the
    header was refused (bad hcheck, or `accept` said no: a length over MAX_PAYLOAD), no payload read."""

    code: int  # opcode (request) or status (response)
    tag: int
    length: int
    payload: bytes | None
    header_ok: bool = True
    check_ok: bool = True


class FrameParser:
    """Incremental decoder of one direction's byte stream by the resync rule: `feed(data)` returns the frames
    completed. `accept(code, length)` decides whether a header with a right hcheck is followed by a payload
    (default, as board and host do: length <= MAX_PAYLOAD). Bytes skipped while hunting are
    counted in `skipped`."""

    def __init__(self, sync: bytes, accept: Callable[[int, int], bool] | None = None):
        self.sync = sync
        self.accept = accept or (lambda code, length: length <= MAX_PAYLOAD)
        self.buf = bytearray()
        self.skipped = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        out: list[Frame] = []
        while True:
            start = self.buf.find(self.sync)
            if start < 0:
                # keep a trailing first sync byte: it may start a marker the next chunk completes
                keep = 1 if self.buf[-1:] == self.sync[:1] else 0
                self.skipped += len(self.buf) - keep
                del self.buf[: len(self.buf) - keep]
                return out
            self.skipped += start
            del self.buf[:start]
            if len(self.buf) < HEADER_BYTES:
                return out
            head = bytes(self.buf[2:HEADER_BYTES])
            code, tag, length = head[0], head[1], head[2] | head[3] << 8
            if sum(head) & 0xFF or not self.accept(code, length):
                # refused at the header: hunting resumes with the next byte
                del self.buf[:HEADER_BYTES]
                out.append(Frame(code, tag, length, None, header_ok=sum(head) & 0xFF == 0))
                continue
            total = HEADER_BYTES + length + 1
            if len(self.buf) < total:
                return out
            body = bytes(self.buf[HEADER_BYTES:total])
            del self.buf[:total]
            out.append(Frame(code, tag, length, body[:-1], check_ok=sum(body) & 0xFF == 0))


def parse_response_header(header: bytes) -> tuple[int, int, int]:
    """(status, tag, length) of a response's HEADER_BYTES; ProtocolError unless it is one."""
    if len(header) != HEADER_BYTES or header[:2] != RESPONSE_SYNC:
        raise ProtocolError(f"bad response header {header.hex()}: no {RESPONSE_SYNC.hex()} sync")
    if sum(header[2:]) & 0xFF:
        raise ProtocolError(f"response header {header.hex()} fails its check byte")
    length = header[4] | header[5] << 8
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"response length {length} exceeds {MAX_PAYLOAD}")
    return header[2], header[3], length


def parse_response(header: bytes, rest: bytes, tag: int) -> tuple[Status, bytes]:
    """A whole response (`rest`: the payload and check byte `header` announced) to the request with `tag`:
    its status and payload. ProtocolError for a bad check, a tag other than `tag`, an unknown status or a
    non-OK status with a payload; a non-OK status is returned, not raised."""
    code, got_tag, length = parse_response_header(header)
    if len(rest) != length + 1:
        raise ProtocolError(f"response of {len(rest)} bytes after its header, expected {length + 1}")
    if sum(rest) & 0xFF:
        raise ProtocolError("response payload fails its check byte")
    if got_tag != tag:
        raise ProtocolError(f"response tag {got_tag}, the request's is {tag}: a stale or misaligned reply")
    try:
        status = Status(code)
    except ValueError:
        raise ProtocolError(f"response with unknown status {code}") from None
    if status != Status.OK and length:
        raise ProtocolError(f"{status.name} response with a {length}-byte payload")
    return status, bytes(rest[:-1])


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


def split_words(payload: bytes, word_bytes: int, count: int | None = None) -> list[int]:
    """The words of a payload; ProtocolError unless it is whole words (exactly `count` of them if given)."""
    if len(payload) % word_bytes or (count is not None and len(payload) != count * word_bytes):
        want = f"{count} " if count is not None else "whole "
        raise ProtocolError(f"{len(payload)} bytes are not {want}{word_bytes}-byte words")
    return [int.from_bytes(payload[i : i + word_bytes], "little") for i in range(0, len(payload), word_bytes)]


def words_per_frame(word_bytes: int, *, with_address: bool = True) -> int:
    """Most whole words one frame carries."""
    return (MAX_PAYLOAD - (ADDR_BYTES if with_address else 0)) // word_bytes
