"""The host driver over the in-process board model (sparsesim.fpga.model.SimulatedPort): every tile kind is
loaded, run and read back through the protocol's frames and must match sparsesim.sat.numerics bit for bit,
torch within numerics.fp_error_bound (exactly for INT8) and timing.tile_cycles (the model measures a RUN's
cycles on the RTL array, sparsesim.fpga.rtl_cycles, so this checks the timing model); bad frames and bad
RUNs get their status and sticky error bits. The RTL board is held to the same checks by tb_board.py."""

from __future__ import annotations

import numpy as np
import pytest
from board_plan import bad_runs, board_tiles, check_run, operands
from sparsesim.rtl import protocol as proto
from sparsesim.rtl.board import BoardParams
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.host import tile_streams

from sparsesim.fpga.driver import Board, ProtocolError, run_params
from sparsesim.fpga.model import BoardModel, SimulatedPort


def responses(data: bytes) -> list[proto.Frame]:
    frames = proto.FrameParser(proto.RESPONSE_SYNC).feed(data)
    assert all(f.header_ok and f.check_ok for f in frames), frames
    return frames


def _board(cfg: ArrayConfig, **depths) -> tuple[Board, BoardModel]:
    params = BoardParams(cfg, **({"weight_depth": 16, "act_depth": 64, "result_depth": 64} | depths))
    model = BoardModel(params)
    return Board(SimulatedPort(model)), model


CONFIGS = [
    ArrayConfig(rows=2, cols=2, precision="fp16"),
    ArrayConfig(rows=3, cols=2, precision="int8"),
    ArrayConfig(rows=2, cols=4, multipliers=2, max_m=4, precision="fp16"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.name())
def test_every_tile_kind_round_trips(cfg):
    board, model = _board(cfg)
    info = board.info()
    assert info == model.params.info() and info.magic == proto.MAGIC
    rng = np.random.default_rng(3)
    tiles = board_tiles(cfg)
    assert len(tiles) >= 4
    for mode, shape in tiles:
        a, b = operands(rng, cfg, mode, shape)
        run = board.run_tile(mode, a, b)
        assert check_run(cfg, run) == []
        assert run.bits.shape == (shape.m, shape.n)
    status = board.status()
    assert status.runs == len(tiles) and status.errors == 0 and not status.busy


def test_a_corrupted_result_is_caught_by_the_checks():
    """check_run must be able to fail: flip one bit of the board's answer."""
    cfg = CONFIGS[0]
    board, _ = _board(cfg)
    mode, shape = board_tiles(cfg)[0]
    a, b = operands(np.random.default_rng(1), cfg, mode, shape)
    run = board.run_tile(mode, a, b)
    run.bits[0, 0] ^= 1 << 20
    assert any("numerics" in m for m in check_run(cfg, run))


def test_streams_of_every_tile_satisfy_the_run_rules():
    for cfg in CONFIGS:
        info = BoardParams(cfg, weight_depth=16, act_depth=64, result_depth=64).info()
        for mode, shape in board_tiles(cfg):
            a, b = operands(np.random.default_rng(0), cfg, mode, shape)
            rp = run_params(cfg, tile_streams(cfg, mode, a, b))
            assert proto.run_status(info, rp) == proto.Status.OK, (mode, shape)
            words, acts, results = proto.run_stream_words(info, rp)
            assert (words, acts) == (rp.w_count, rp.a_count)


def test_bad_frames_get_their_status_and_set_sticky_errors():
    board, model = _board(CONFIGS[0])
    info = board.info()
    frame = bytearray(proto.encode_request(proto.Op.STATUS, tag=3))
    frame[-1] ^= 0x40
    (reply,) = responses(model.feed(bytes(frame)))
    assert (reply.code, reply.tag, reply.payload) == (proto.Status.BAD_CHECK, 3, b"")
    frame = bytearray(proto.encode_request(proto.Op.STATUS, tag=4))
    frame[4] ^= 0x01  # the length: the header check catches it
    (reply,) = responses(model.feed(bytes(frame)))
    assert (reply.code, reply.tag, reply.payload) == (proto.Status.BAD_CHECK, 4, b"")
    cases = [
        (0x7E, b"", proto.Status.BAD_OPCODE),
        (proto.Op.RUN, b"\x00" * 3, proto.Status.BAD_LENGTH),
        (proto.Op.INFO, b"\x00", proto.Status.BAD_LENGTH),
        (proto.Op.WRITE_ACTS, b"\x00\x00", proto.Status.BAD_LENGTH),
        (proto.Op.WRITE_ACTS, bytes(4 + info.act_bytes + 1), proto.Status.BAD_LENGTH),  # not whole words
        (
            proto.Op.WRITE_WEIGHTS,
            proto.write_payload(info.weight_depth, [1], info.weight_bytes),
            proto.Status.BAD_ADDRESS,
        ),
        (proto.Op.READ_RESULTS, proto.read_payload(info.result_depth - 1, 2), proto.Status.BAD_ADDRESS),
    ]
    for op, payload, want in cases:
        with pytest.raises(ProtocolError) as err:
            board.transact(op, payload)
        assert err.value.status == want, (op, payload)
    for rp in bad_runs(info):
        with pytest.raises(ProtocolError) as err:
            board.run(rp)
        assert err.value.status == proto.run_status(info, rp)
    status = board.status()
    assert set(status.error_names()) == {"check", "opcode", "length", "address", "mode"}
    assert status.runs == 0
    assert board.status().errors == 0  # STATUS clears them


def test_a_refused_frames_payload_is_read_not_hunted_through():
    """Found by the protocol fuzz test: an unknown opcode whose payload held the sync bytes. Hunting through
    the refused payload took `A5 5A 01` for a header and swallowed the next request; the payload is read."""
    _, model = _board(CONFIGS[0])
    refused = proto.encode_request(0x00, bytes(proto.REQUEST_SYNC), tag=0)
    wrong_length = proto.encode_request(proto.Op.RUN, proto.REQUEST_SYNC + b"\x01\x00\x00", tag=1)
    status = proto.encode_request(proto.Op.STATUS, tag=2)
    frames = responses(model.feed(refused + wrong_length + status))
    assert [(f.code, f.tag) for f in frames] == [
        (proto.Status.BAD_OPCODE, 0), (proto.Status.BAD_LENGTH, 1), (proto.Status.OK, 2)
    ]
    # a length over MAX_PAYLOAD is still refused at the header: the request after it is answered
    head = bytes([proto.Op.STATUS, 3, 0xFF, 0xFF])
    over = proto.REQUEST_SYNC + head + bytes([proto.checksum(head)])
    frames = responses(model.feed(over + proto.encode_request(proto.Op.STATUS, tag=4)))
    assert [(f.code, f.tag) for f in frames] == [(proto.Status.BAD_LENGTH, 3), (proto.Status.OK, 4)]


def test_an_index_beyond_m_is_refused_with_bad_index():
    """An N:M RUN whose weight words hold an index >= M in a used lane: BAD_INDEX, nothing run; the same
    index in a lane the tile does not use (lane >= N) is harmless."""
    cfg = CONFIGS[0]  # 2x2, P = 4 (default), MMAX = 8
    board, model = _board(cfg)
    board.info()
    # a mode with M < MMAX, so an index of M fits the index field
    mode, shape = next(
        (md, sh) for md, sh in board_tiles(cfg) if md.sparse and md.dataflow == "ws" and md.m < cfg.max_m
    )
    a, b = operands(np.random.default_rng(4), cfg, mode, shape)
    tile = tile_streams(cfg, mode, a, b)
    rp = run_params(cfg, tile)
    values, indices = cfg.unpack_weights(tile.weights[0])
    assert max(max(lanes[: mode.n]) for lanes in indices) < mode.m
    bad_idx = [list(lanes) for lanes in indices]
    bad_idx[1][mode.n - 1] = mode.m  # entry 1 (PE column 1), last used lane: index M
    board.write_weights(0, [cfg.pack_weights(values, bad_idx), *tile.weights[1:]])
    board.write_acts(0, tile.acts)
    with pytest.raises(ProtocolError) as err:
        board.run(rp)
    assert err.value.status == proto.Status.BAD_INDEX
    assert board.status().error_names() == ["index"] and model.runs == 0
    unused = [list(lanes) for lanes in indices]
    unused[1][mode.n] = cfg.max_m - 1  # lane N is gated: not checked
    board.write_weights(0, [cfg.pack_weights(values, unused)])
    assert board.run(rp).result_beats == tile.result_beats


def test_long_writes_are_split_into_frames_and_garbage_before_a_frame_is_skipped():
    cfg = ArrayConfig(rows=2, cols=2, precision="int8")
    board, model = _board(cfg, weight_depth=30_000)
    info = board.info()
    per_frame = proto.words_per_frame(info.weight_bytes)
    words = [(i * 2654435761) % (1 << model.params.weight_bits) for i in range(per_frame + 7)]
    frames = []
    port = board.port
    original = port.write
    port.write = lambda data: (frames.append(len(data)), original(data))[1]
    board.write_weights(5, words)
    assert len(frames) == 2
    assert model.wmem[5 : 5 + len(words)] == words
    (reply,) = responses(model.feed(b"\x00\x13\xa5" + proto.encode_request(proto.Op.STATUS)))
    assert reply.code == proto.Status.OK


def test_the_cycle_counter_moves_on():
    cfg = CONFIGS[0]
    board, _ = _board(cfg)
    mode, shape = board_tiles(cfg)[0]
    a, b = operands(np.random.default_rng(2), cfg, mode, shape)
    run = board.run_tile(mode, a, b)
    later = board.cycles()
    assert later.tile_cycles == run.cycles.tile_cycles and later.done < later.now
