"""The UART protocol: framing, check bytes, fixed payload layouts (hypothesis round trips)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesim.fpga import protocol as proto

payloads = st.binary(max_size=600)


@given(st.integers(0, 255), payloads)
def test_request_round_trip(op, payload):
    frame = proto.encode_request(op, payload)
    assert frame[0] == proto.SYNC_REQUEST and len(frame) == len(payload) + 5
    assert sum(frame[1:]) % 256 == 0
    (got,) = proto.FrameParser(proto.SYNC_REQUEST).feed(frame)
    assert (got.code, got.payload, got.check_ok) == (op, payload, True)


@given(st.integers(0, 255), payloads, st.lists(st.integers(1, 50), max_size=40), st.binary(max_size=20))
def test_parser_handles_any_chunking_and_skips_garbage_before_a_frame(status, payload, cuts, junk):
    junk = junk.replace(bytes([proto.SYNC_RESPONSE]), b"")
    stream = junk + proto.encode_response(status, payload) + proto.encode_response(0)
    parser, frames, pos = proto.FrameParser(proto.SYNC_RESPONSE), [], 0
    for n in cuts:
        frames += parser.feed(stream[pos : pos + n])
        pos += n
    frames += parser.feed(stream[pos:])
    assert [(f.code, f.payload) for f in frames] == [(status, payload), (0, b"")]
    assert parser.skipped == len(junk)


@given(payloads.filter(len), st.integers(0, 7))
def test_a_flipped_bit_fails_the_check(payload, bit):
    frame = bytearray(proto.encode_request(proto.Op.WRITE_ACTS, payload))
    frame[4] ^= 1 << bit
    (got,) = proto.FrameParser(proto.SYNC_REQUEST).feed(bytes(frame))
    assert not got.check_ok


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
        proto.response_length(b"\xa5\x00\x00\x00")
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
        reserved=0,
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
