"""The UART protocol: framing, check bytes, fixed payload layouts (hypothesis round trips)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sparsesim.rtl import protocol as proto

payloads = st.binary(max_size=600)


@given(st.integers(0, 255), st.integers(0, 255), payloads)
def test_request_round_trip(op, tag, payload):
    frame = proto.encode_request(op, payload, tag)
    # the layout of docs/fpga.md, written out by hand
    assert frame[:2] == b"\xa5\x5a" and len(frame) == len(payload) + 8
    assert (frame[2], frame[3], frame[4] | frame[5] << 8) == (op, tag, len(payload))
    assert sum(frame[2:7]) % 256 == 0 and sum(frame[7:]) % 256 == 0
    (got,) = proto.FrameParser(proto.REQUEST_SYNC).feed(frame)
    assert (got.code, got.tag, got.payload, got.header_ok, got.check_ok) == (op, tag, payload, True, True)


@given(st.integers(0, 255), payloads, st.lists(st.integers(1, 50), max_size=40), st.binary(max_size=20))
def test_parser_handles_any_chunking_and_skips_garbage_before_a_frame(status, payload, cuts, junk):
    junk = junk.replace(proto.RESPONSE_SYNC[:1], b"")
    stream = junk + proto.encode_response(status, payload, 7) + proto.encode_response(0, tag=8)
    parser, frames, pos = proto.FrameParser(proto.RESPONSE_SYNC), [], 0
    for n in cuts:
        frames += parser.feed(stream[pos : pos + n])
        pos += n
    frames += parser.feed(stream[pos:])
    assert [(f.code, f.tag, f.payload) for f in frames] == [(status, 7, payload), (0, 8, b"")]
    assert parser.skipped == len(junk)


@given(payloads.filter(len), st.integers(0, 7), st.data())
def test_a_flipped_payload_bit_fails_the_check(payload, bit, data):
    frame = bytearray(proto.encode_request(proto.Op.WRITE_ACTS, payload))
    i = data.draw(st.integers(proto.HEADER_BYTES, len(frame) - 1))
    frame[i] ^= 1 << bit
    (got,) = proto.FrameParser(proto.REQUEST_SYNC).feed(bytes(frame))
    assert got.header_ok and not got.check_ok


@given(payloads, st.integers(2, 6), st.integers(1, 255))
def test_a_damaged_header_is_refused_without_reading_the_payload(payload, i, delta):
    frame = bytearray(proto.encode_request(proto.Op.WRITE_ACTS, payload))
    frame[i] = (frame[i] + delta) % 256
    after = proto.encode_request(proto.Op.STATUS, tag=9)
    payload_free = payload.replace(proto.REQUEST_SYNC, b"")
    frame = frame[: proto.HEADER_BYTES] + payload_free + frame[-1:]
    frames = proto.FrameParser(proto.REQUEST_SYNC).feed(bytes(frame) + after)
    assert not frames[0].header_ok and frames[0].payload is None
    assert (frames[-1].code, frames[-1].tag, frames[-1].payload) == (proto.Op.STATUS, 9, b"")


def test_header_rules():
    wb = {proto.Op.WRITE_WEIGHTS: 10, proto.Op.WRITE_ACTS: 20}
    S = proto.Status
    assert proto.header_status(proto.Op.INFO, 0, wb) == S.OK
    assert proto.header_status(proto.Op.INFO, 1, wb) == S.BAD_LENGTH
    assert proto.header_status(proto.Op.RUN, 32, wb) == S.OK
    assert proto.header_status(proto.Op.RUN, 31, wb) == S.BAD_LENGTH
    assert proto.header_status(proto.Op.READ_RESULTS, 8, wb) == S.OK
    assert proto.header_status(proto.Op.WRITE_WEIGHTS, 14, wb) == S.OK
    assert proto.header_status(proto.Op.WRITE_WEIGHTS, 13, wb) == S.BAD_LENGTH  # less than one word
    assert proto.header_status(proto.Op.WRITE_ACTS, 14, wb) == S.BAD_LENGTH
    assert proto.header_status(proto.Op.WRITE_ACTS, 4096, wb) == S.OK
    assert proto.header_status(proto.Op.WRITE_ACTS, 4097, wb) == S.BAD_LENGTH
    assert proto.header_status(proto.Op.WRITE_ACTS, 0xFFFF, wb) == S.BAD_LENGTH
    assert proto.header_status(0x7E, 0, wb) == S.BAD_OPCODE


def test_one_error_bit_table():
    bits = [e.bit for e in proto.ERROR_BITS]
    assert sorted(bits) == list(range(8))
    statuses = [e.status for e in proto.ERROR_BITS if e.status is not None]
    assert sorted(statuses) == [s for s in proto.Status if s != proto.Status.OK]
    assert proto.error_mask(proto.Status.BAD_INDEX) == 0x80 and proto.ERR_CHECK == 0x04
    assert proto.error_names(0x81) == ["framing", "index"]


@pytest.mark.parametrize(
    "block", [proto.InfoBlock, proto.StatusBlock, proto.RunParams, proto.RunDone, proto.CyclesBlock]
)
@settings(max_examples=30)
@given(data=st.data())
def test_fixed_blocks_round_trip(block, data):
    values = {name: data.draw(st.integers(0, (1 << (8 * size)) - 1)) for name, size in block.TABLE}
    b = block(**values)
    packed = b.pack()
    assert len(packed) == proto.fields_size(block.TABLE)
    assert block.unpack(packed) == b


def test_layout_sizes_are_what_the_rtl_expects():
    assert proto.fields_size(proto.RunParams.TABLE) == 32
    assert proto.fields_size(proto.InfoBlock.TABLE) == 48
    assert proto.fields_size(proto.StatusBlock.TABLE) == 8
    assert proto.fields_size(proto.CyclesBlock.TABLE) == 20


@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 2**76 - 1), max_size=20))
def test_write_payload_round_trip(addr, words):
    payload = proto.write_payload(addr, words, 10)
    assert proto.parse_write_payload(payload, 10) == (addr, words)
    assert proto.parse_write_payload(payload + b"\x00", 10) is None


def test_bad_values_are_refused():
    with pytest.raises(ValueError):
        proto.pack_fields(proto.RunDone.TABLE, {"tile_cycles": 1 << 32})
    with pytest.raises(ValueError):
        proto.write_payload(0, [1 << 80], 10)
    with pytest.raises(ValueError):
        proto.encode_request(proto.Op.INFO, bytes(proto.MAX_PAYLOAD + 1))
    with pytest.raises(proto.ProtocolError):
        proto.parse_response_header(b"\xa5\x5a\x00\x00\x00\x00\x00")  # a request's sync
    with pytest.raises(proto.ProtocolError):
        proto.parse_response_header(b"\x5a\xa5\x00\x00\x00\x00\x01")  # hcheck
    with pytest.raises(proto.ProtocolError):
        proto.parse_response_header(b"\x5a\xa5\x00\x00\x01\x10\xef")  # 4097 bytes
    with pytest.raises(proto.ProtocolError):
        proto.unpack_fields(proto.RunDone.TABLE, b"\x00")
    assert proto.words_per_frame(152) == (proto.MAX_PAYLOAD - 4) // 152


def _info(**kw) -> proto.InfoBlock:
    base = dict(
        magic=proto.MAGIC,
        version=proto.VERSION,
        precision=0,
        rows=4,
        cols=2,
        multipliers=2,
        max_m=8,
        mul_latency=2,
        add_latency=4,
        k_bits=16,
        len_bits=16,
        cycle_bits=32,
        accumulator=0,
        weight_depth=64,
        act_depth=64,
        result_depth=64,
        weight_bytes=20,
        act_bytes=64,
        result_bytes=8,
        clock_khz=200_000,
        clocks_per_bit=217,
        build_hash=0,
    )
    return proto.InfoBlock(**(base | kw))


def _run(**kw) -> proto.RunParams:
    base = dict(
        flags=0, n=0, log2m=0, reserved=0, k=8, length=3, w_base=0, w_count=4, a_base=0, a_count=3, r_base=0
    )
    return proto.RunParams(**(base | kw))


@pytest.mark.parametrize("run,want", [
    (_run(), proto.Status.OK),  # WS dense: R weight beats, `length` activation beats
    (_run(k=9), proto.Status.BAD_MODE),  # k > R x P
    (_run(flags=proto.RUN_SPARSE, n=2, log2m=3, k=32), proto.Status.OK),  # 2:8, k = R x M
    (_run(flags=proto.RUN_SPARSE, n=2, log2m=3, k=24), proto.Status.OK),
    (_run(flags=proto.RUN_SPARSE, n=2, log2m=3, k=20), proto.Status.BAD_MODE),  # k not a multiple of M
    (_run(flags=proto.RUN_SPARSE, n=3, log2m=3, k=32), proto.Status.BAD_MODE),  # N > P
    (_run(flags=proto.RUN_SPARSE, n=1, log2m=4, k=32), proto.Status.BAD_MODE),  # M > MMAX
    (_run(flags=proto.RUN_SPARSE, n=2, log2m=0, k=4), proto.Status.BAD_MODE),  # N > M
    (_run(flags=proto.RUN_SPARSE, n=1, log2m=0, k=4), proto.Status.OK),  # 1:1
    (_run(k=0, w_count=0), proto.Status.BAD_MODE),
    (_run(length=0, a_count=0), proto.Status.BAD_MODE),
    (_run(length=1 << 16), proto.Status.BAD_MODE),  # beyond the array's 16-bit length field
    (_run(w_count=3), proto.Status.BAD_LENGTH),
    (_run(a_count=4), proto.Status.BAD_LENGTH),
    (_run(length=62, a_count=62), proto.Status.OK),
    (_run(length=62, a_count=62, r_base=3), proto.Status.BAD_ADDRESS),  # results run past the buffer
    (_run(w_base=61), proto.Status.BAD_ADDRESS),
    # OS: S = ceil(k / E) weight beats, S x I activation beats (I = L_add with interleave), R x I results
    (_run(flags=proto.RUN_OS, k=5, length=0, w_count=3, a_count=3), proto.Status.OK),
    (_run(flags=proto.RUN_OS | proto.RUN_INTERLEAVE, k=5, length=0, w_count=3, a_count=12), proto.Status.OK),
    (_run(flags=proto.RUN_OS | proto.RUN_INTERLEAVE, k=5, length=0, w_count=3, a_count=3), proto.Status.BAD_LENGTH),
    (_run(flags=proto.RUN_OS | proto.RUN_INTERLEAVE, k=5, w_count=3, a_count=12, r_base=49), proto.Status.BAD_ADDRESS),
    (_run(flags=proto.RUN_OS | proto.RUN_INTERLEAVE, k=5, w_count=3, a_count=12, r_base=48), proto.Status.OK),
])  # fmt: skip
def test_run_rules(run, want):
    assert proto.run_status(_info(), run) == want


def test_the_wire_format_is_a_leaf_the_rtl_imports_without_a_cycle():
    """rtl/ never imports the host side (sparsesim.fpga), and the wire format imports nothing of sparsesim,
    so both sides import it without a cycle."""
    import ast
    from pathlib import Path

    rtl = Path(proto.__file__).resolve().parent
    for path in rtl.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                assert node.level <= len(path.relative_to(rtl).parts), f"{path}: imports above sparsesim.rtl"
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.startswith("sparsesim.fpga") for n in names), f"{path} imports {names}"
            if path.name == "protocol.py":
                assert not any(n.startswith("sparsesim") or getattr(node, "level", 0) for n in names), names
