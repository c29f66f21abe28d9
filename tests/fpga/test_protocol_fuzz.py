"""Fuzzing the host protocol (hypothesis, bounded): random and mutated request streams into the in-process
board model, random and mutated replies into the host driver.

The contract checked: the model never raises; everything it sends parses as well-formed response frames
(right checks, a known status, no payload unless OK), one per request header it read; after any damage,
protocol.RESYNC_BYTES zero bytes and a STATUS request get an OK STATUS answer (the resync rule). The host
driver raises nothing but ProtocolError (or TimeoutError for a reply that never completes) whatever the
board sends. The RTL gets a deterministic set of damaged frames in tb_board.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sparsesim.rtl import protocol as proto
from sparsesim.rtl.board import BoardParams
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga.driver import Board
from sparsesim.fpga.model import BoardModel, SimulatedPort

# small buffers: a random address then often lands inside them
PARAMS = BoardParams(
    ArrayConfig(rows=2, cols=2, multipliers=2, max_m=8, precision="int8"),
    weight_depth=8,
    act_depth=16,
    result_depth=16,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
S = proto.Status


def response_frames(data: bytes) -> list[proto.Frame]:
    """Every frame of a board's output, asserting the whole output is well-formed response frames."""
    parser = proto.FrameParser(proto.RESPONSE_SYNC)
    frames = parser.feed(data)
    assert parser.skipped == 0 and not parser.buf, "bytes outside response frames"
    for f in frames:
        assert f.header_ok and f.check_ok, f
        status = S(f.code)  # a known status
        assert status == S.OK or f.payload == b"", f
    return frames


def small_int(size: int):
    """Field values that hit the interesting range of the small board, plus anything."""
    return st.one_of(st.integers(0, 40), st.integers(0, (1 << (8 * size)) - 1))


@st.composite
def run_params(draw) -> proto.RunParams:
    values = {name: draw(small_int(size)) for name, size in proto.RunParams.TABLE}
    values["flags"] = draw(st.integers(0, 7)) if draw(st.booleans()) else values["flags"]
    values["log2m"] = draw(st.integers(0, 4)) if draw(st.booleans()) else values["log2m"]
    return proto.RunParams(**values)


@st.composite
def plausible_run_params(draw) -> proto.RunParams:
    """Descriptors that mostly pass run_status (the counts follow from mode, k and length), so the run and
    index paths are exercised, not only the refusals."""
    cfg = PARAMS.cfg
    flags = draw(st.integers(0, 7))
    sparse = bool(flags & proto.RUN_SPARSE)
    log2m = draw(st.integers(0, 3)) if sparse else 0
    n = draw(st.integers(1, min(cfg.multipliers, 1 << log2m))) if sparse else 0
    e = (1 << log2m) if sparse else cfg.multipliers
    k = e * draw(st.integers(1, cfg.rows if not flags & proto.RUN_OS else 3))
    if not sparse and draw(st.booleans()):
        k -= draw(st.integers(0, e - 1))
    rp = proto.RunParams(
        flags=flags, n=n, log2m=log2m, reserved=0, k=k, length=draw(st.integers(1, 4)), w_base=0,
        w_count=0, a_base=0, a_count=0, r_base=draw(st.integers(0, 2)),
    )  # fmt: skip
    words, acts, _ = proto.run_stream_words(PARAMS.info(), rp)
    return replace(rp, w_count=words, a_count=acts, w_base=draw(st.integers(0, 1)), a_base=draw(st.integers(0, 2)))


@st.composite
def requests(draw) -> bytes:
    """One well-formed request with random fields (any opcode, addresses, RUN descriptors)."""
    tag = draw(st.integers(0, 255))
    kind = draw(st.sampled_from(["info", "status", "cycles", "write_w", "write_a", "run", "read", "raw"]))
    if kind == "info":
        return proto.encode_request(proto.Op.INFO, tag=tag)
    if kind == "status":
        return proto.encode_request(proto.Op.STATUS, tag=tag)
    if kind == "cycles":
        return proto.encode_request(proto.Op.READ_CYCLES, tag=tag)
    if kind in ("write_w", "write_a"):
        wb = PARAMS.weight_bytes if kind == "write_w" else PARAMS.act_bytes
        words = draw(st.lists(st.integers(0, (1 << (8 * wb)) - 1), min_size=1, max_size=4))
        op = proto.Op.WRITE_WEIGHTS if kind == "write_w" else proto.Op.WRITE_ACTS
        return proto.encode_request(op, proto.write_payload(draw(small_int(4)), words, wb), tag)
    if kind == "run":
        return proto.encode_request(proto.Op.RUN, draw(st.one_of(run_params(), plausible_run_params())).pack(), tag)
    if kind == "read":
        return proto.encode_request(proto.Op.READ_RESULTS, proto.read_payload(draw(small_int(4)), draw(small_int(4))), tag)
    return proto.encode_request(draw(st.integers(0, 255)), draw(st.binary(max_size=40)), tag)


@st.composite
def mutated(draw, stream: bytes) -> bytes:
    """`stream` with a few bytes flipped, deleted, inserted or the stream cut."""
    data = bytearray(stream)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "delete", "insert", "cut", "set"]))
        if how == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif how == "delete":
            del data[i]
        elif how == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif how == "cut":
            del data[i:]
        else:
            data[i] = draw(st.sampled_from([0x00, 0xFF, 0xA5, 0x5A]))
    return bytes(data)


def assert_resyncs(model: BoardModel) -> None:
    """After whatever came before: the resync bytes and a STATUS request get an OK STATUS reply."""
    out = model.feed(bytes(proto.RESYNC_BYTES) + proto.encode_request(proto.Op.STATUS, tag=0xEE))
    last = response_frames(out)[-1]
    assert (last.code, last.tag, len(last.payload)) == (S.OK, 0xEE, proto.fields_size(proto.StatusBlock.TABLE))


def request_headers(data: bytes) -> int:
    """How many request headers the board reads in `data` (by the resync rule)."""
    return len(proto.FrameParser(proto.REQUEST_SYNC).feed(data))


@FUZZ
@given(st.lists(requests(), min_size=1, max_size=12))
def test_every_well_formed_request_is_answered_with_its_tag(reqs):
    model = BoardModel(PARAMS)
    out = b"".join(model.feed(r) for r in reqs)
    frames = response_frames(out)
    assert [f.tag for f in frames] == [r[3] for r in reqs]
    assert_resyncs(model)


@FUZZ
@given(st.lists(requests(), min_size=1, max_size=8).flatmap(lambda rs: mutated(b"".join(rs))))
def test_mutated_streams_are_answered_or_resynchronised(data):
    model = BoardModel(PARAMS)
    frames = response_frames(model.feed(data))
    assert len(frames) == request_headers(data)
    assert_resyncs(model)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_never_break_the_model(data):
    model = BoardModel(PARAMS)
    frames = response_frames(model.feed(data))
    assert len(frames) == request_headers(data)
    assert_resyncs(model)


@FUZZ
@given(
    st.one_of(run_params(), plausible_run_params(), plausible_run_params()),
    st.lists(st.integers(0, (1 << PARAMS.weight_bits) - 1), min_size=8, max_size=8),
)
def test_any_run_descriptor_over_any_weights_is_answered(rp, weights):
    """Random descriptors over random weight words (indices >= M included): refused with a status or run;
    never an exception."""
    model = BoardModel(PARAMS)
    model.wmem[:] = weights
    (reply,) = response_frames(model.feed(proto.encode_request(proto.Op.RUN, rp.pack(), 1)))
    status = S(reply.code)
    static = proto.run_status(PARAMS.info(), rp)
    if static != S.OK:
        assert status == static
    else:
        assert status == (S.BAD_INDEX if index_beyond_m(rp, weights) else S.OK)


def index_beyond_m(rp: proto.RunParams, weights: list[int]) -> bool:
    """The BAD_INDEX rule of docs/fpga.md, written from the weights layout of docs/fpga.md ("Stream words"):
    entry e, lane l at bit (e x P + l) x (w + log2 MMAX), value then index."""
    if not rp.flags & proto.RUN_SPARSE:
        return False
    cfg = PARAMS.cfg
    w, ib, p = cfg.operand_bits, cfg.max_m.bit_length() - 1, cfg.multipliers
    entries = cfg.rows if rp.flags & proto.RUN_OS else cfg.cols
    for word in weights[rp.w_base : rp.w_base + rp.w_count]:
        for e in range(entries):
            for lane in range(rp.n):
                idx = (word >> ((e * p + lane) * (w + ib) + w)) & ((1 << ib) - 1)
                if idx >= 1 << rp.log2m:
                    return True
    return False


def test_a_length_of_0xffff_costs_only_its_own_request():
    """The case of the bug report: one request whose length reads 0xFFFF, then 100 STATUS requests."""
    model = BoardModel(PARAMS)
    bad = bytearray(proto.encode_request(proto.Op.WRITE_ACTS, bytes(4 + PARAMS.act_bytes), 0))
    bad[5] = bad[6] = 0xFF  # length 0xFFFF: a header check error
    fixed = bytearray(bad)
    fixed[6] = proto.checksum(fixed[2:6])  # the same length with a right header check: BAD_LENGTH
    follow = b"".join(proto.encode_request(proto.Op.STATUS, tag=t) for t in range(1, 101))
    for head, want in ((bad, S.BAD_CHECK), (fixed, S.BAD_LENGTH)):
        frames = response_frames(model.feed(bytes(head) + follow))
        assert [(f.code, f.tag) for f in frames] == [(want, 0)] + [(S.OK, t) for t in range(1, 101)]


# ------------------------------------------------------------------------------------------------ the host
class ScriptedPort:
    """A port whose replies are given bytes (whatever was written)."""

    def __init__(self, reply: bytes):
        self.reply = bytearray(reply)

    def write(self, data: bytes) -> None:
        pass

    def read(self, n: int) -> bytes:
        if len(self.reply) < n:
            raise TimeoutError(f"{len(self.reply)} of {n} bytes")
        out = bytes(self.reply[:n])
        del self.reply[:n]
        return out


def good_replies() -> dict[str, bytes]:
    """What the model answers to each of the driver's reads (tag 1: a fresh Board's first request)."""
    model = BoardModel(PARAMS)
    return {
        "info": model.feed(proto.encode_request(proto.Op.INFO, tag=1)),
        "status": model.feed(proto.encode_request(proto.Op.STATUS, tag=1)),
        "cycles": model.feed(proto.encode_request(proto.Op.READ_CYCLES, tag=1)),
    }


GOOD = good_replies()


def call(board: Board, what: str):
    return {"info": board.info, "status": board.status, "cycles": board.cycles}[what]()


@FUZZ
@given(st.sampled_from(sorted(GOOD)), st.data())
def test_the_driver_raises_only_protocol_errors_on_damaged_replies(what, data):
    reply = data.draw(mutated(GOOD[what]))
    board = Board(ScriptedPort(reply))
    try:
        got = call(board, what)
    except (proto.ProtocolError, TimeoutError):
        return
    # accepted: then it must be a reply the checks let through, e.g. a damaged but valid field value
    assert got is not None


@FUZZ
@given(st.sampled_from(sorted(GOOD)), st.binary(max_size=80))
def test_the_driver_raises_only_protocol_errors_on_random_replies(what, reply):
    try:
        call(Board(ScriptedPort(reply)), what)
    except (proto.ProtocolError, TimeoutError):
        pass


@FUZZ
@given(st.data())
def test_the_driver_checks_every_info_field(data):
    """A well-framed INFO reply with random field values: a valid InfoBlock or ProtocolError (the bug report:
    a precision byte >= 2 raised IndexError)."""
    info = PARAMS.info()
    values = dict(info.__dict__)
    for name, size in proto.InfoBlock.TABLE:
        if data.draw(st.booleans()):
            values[name] = data.draw(small_int(size))
    reply = proto.encode_response(S.OK, proto.InfoBlock(**values).pack(), tag=1)
    try:
        got = Board(ScriptedPort(reply)).info()
    except proto.ProtocolError:
        return
    assert got.precision_name in proto.PRECISIONS and got.magic == proto.MAGIC


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("precision", 2, "precision 2"),
        ("magic", 0, "not a sparsesim board"),
        ("version", 1, "version 1"),
        ("multipliers", 3, "power of two"),
        ("weight_bytes", 7, "word sizes"),
        ("rows", 0, "rows = 0"),
    ],
)
def test_bad_info_fields_name_the_field(field, value, message):
    values = dict(PARAMS.info().__dict__) | {field: value}
    reply = proto.encode_response(S.OK, proto.InfoBlock(**values).pack(), tag=1)
    with pytest.raises(proto.ProtocolError, match=message):
        Board(ScriptedPort(reply)).info()


def test_a_stale_reply_is_refused_by_its_tag():
    reply = GOOD["status"].replace(b"\x5a\xa5\x00\x01", b"\x5a\xa5\x00\x02", 1)
    reply = reply[:6] + bytes([proto.checksum(reply[2:6])]) + reply[7:]
    with pytest.raises(proto.ProtocolError, match="tag 2"):
        Board(ScriptedPort(reply)).status()


def test_resync_ends_a_frame_in_progress():
    model = BoardModel(PARAMS)
    port = SimulatedPort(model)
    board = Board(port)
    board.info()
    words = proto.write_payload(0, [1, 1], PARAMS.act_bytes)
    port.write(proto.encode_request(proto.Op.WRITE_ACTS, words)[: proto.HEADER_BYTES + 5])  # cut short
    board.resync()  # the zeros complete the write (its check then fails) and are skipped
    assert board.status().error_names() == ["check"]
    assert model.amem[0] == 1  # the whole word before the cut was stored, as the RTL stores it
