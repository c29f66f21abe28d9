"""The host protocol over AXI4-Stream beside the UART (rtl/board/hoststream.py, BoardCore(host_stream_bytes=...)):
request frames arrive as packets of 32-bit words with TKEEP / TLAST the way the shell's host FIFO sends them
(Xilinx PG080), every response leaves as one packet whose TLAST word ends at the frame's check byte and whose
TKEEP counts exactly its bytes, the bytes equal the board model's (sparsesim.fpga.model.BoardModel) for the
same requests, and the UART stays silent meanwhile; a request over the UART is answered over the UART.
Amaranth's simulator, no external tools."""

from __future__ import annotations

import pytest
from amaranth.sim import Simulator
from sparsesim.rtl import protocol as proto
from sparsesim.rtl.board import BoardParams
from sparsesim.rtl.board.top import BoardCore
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga.model import BoardModel

WORD_BYTES = 4  # PG080's 32-bit stream words (the shell's fifo_data_bits, written out)
CLOCKS_PER_BIT = 4


def params() -> BoardParams:
    cfg = ArrayConfig(rows=2, cols=2, multipliers=2, max_m=4, precision="fp16")
    return BoardParams(cfg, weight_depth=4, act_depth=4, result_depth=4, clocks_per_bit=CLOCKS_PER_BIT,
                       verilog_ram=False)  # fmt: skip


def requests(p: BoardParams) -> list[bytes]:
    """INFO, a weights write, a read of result words, an activations write and a frame with a wrong check
    byte (answered BAD_CHECK), then STATUS: requests with and without a partial last word (a 9-byte weight
    word makes a 21-byte frame; every response is 8 bytes plus whole 4-byte fields or words). (Not
    READ_CYCLES: it carries the board's free-running cycle count.)"""
    bad = bytearray(proto.encode_request(proto.Op.INFO, tag=9))
    bad[-1] ^= 0xFF
    return [
        proto.encode_request(proto.Op.INFO, tag=1),
        proto.encode_request(proto.Op.WRITE_WEIGHTS, proto.write_payload(1, [0x1234_5678_9ABC], p.weight_bytes),
                             tag=2),  # fmt: skip
        proto.encode_request(proto.Op.READ_RESULTS, proto.read_payload(0, 3), tag=3),
        proto.encode_request(proto.Op.WRITE_ACTS, proto.write_payload(0, [3, 5], p.act_bytes), tag=4),
        bytes(bad),
        proto.encode_request(proto.Op.STATUS, tag=5),  # the BAD_CHECK's sticky error bit
    ]


def words(frame: bytes) -> list[tuple[int, int, int]]:
    """(TDATA, TKEEP, TLAST) of a packet, lowest byte first, TKEEP contiguous from the lowest byte."""
    out = []
    for i in range(0, len(frame), WORD_BYTES):
        chunk = frame[i : i + WORD_BYTES]
        out.append((int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1, int(i + WORD_BYTES >= len(frame))))
    return out


def run(p: BoardParams, axis_frames: list[bytes], uart_frames: list[bytes], max_cycles: int = 40_000) -> dict:
    dut = BoardCore(p, host_stream_bytes=WORD_BYTES)
    got: dict = {"packets": [], "uart": b"", "uart_low_during_axis": False, "keeps": []}

    async def bench(ctx):
        ctx.set(dut.host_tx.ready, 1)
        ctx.set(dut.uart_rx, 1)
        for _ in range(20):
            await ctx.tick()
        for frame in axis_frames:
            for data, keep, last in words(frame):
                ctx.set(dut.host_rx.valid, 1)
                ctx.set(dut.host_rx.payload.data, data)
                ctx.set(dut.host_rx.payload.keep, keep)
                ctx.set(dut.host_rx.payload.last, last)
                await ctx.tick().until(dut.host_rx.ready)
            ctx.set(dut.host_rx.valid, 0)
            packet, keeps = b"", []
            for _ in range(max_cycles):
                await ctx.tick()
                got["uart_low_during_axis"] |= not ctx.get(dut.uart_tx)
                if ctx.get(dut.host_tx.valid):
                    keep = ctx.get(dut.host_tx.payload.keep)
                    n = bin(keep).count("1")
                    keeps.append(keep)
                    packet += ctx.get(dut.host_tx.payload.data).to_bytes(WORD_BYTES, "little")[:n]
                    if ctx.get(dut.host_tx.payload.last):
                        break
            got["packets"].append(packet)
            got["keeps"].append(keeps)
        # a request over the UART: bit-banged 8N1, LSB first, the answer read off the tx line
        for frame in uart_frames:
            for byte in frame:
                for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                    ctx.set(dut.uart_rx, bit)
                    for _ in range(CLOCKS_PER_BIT):
                        await ctx.tick()
        answer, idle, tx_valid = b"", 0, False
        while idle < 40 * CLOCKS_PER_BIT:
            await ctx.tick()
            tx_valid |= bool(ctx.get(dut.host_tx.valid))
            if ctx.get(dut.uart_tx):
                idle += 1
                continue
            idle = 0
            for _ in range(CLOCKS_PER_BIT // 2):  # to the middle of the start bit
                await ctx.tick()
            byte = 0
            for i in range(8):
                for _ in range(CLOCKS_PER_BIT):
                    await ctx.tick()
                byte |= ctx.get(dut.uart_tx) << i
            for _ in range(CLOCKS_PER_BIT):  # the stop bit
                await ctx.tick()
            answer += bytes([byte])
        got["uart"], got["axis_during_uart"] = answer, tx_valid

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.fixture(scope="module")
def exchange():
    p = params()
    reqs = requests(p)
    uart = [proto.encode_request(proto.Op.INFO, tag=7)]
    return p, reqs, uart, run(p, reqs, uart)


def test_each_request_packet_gets_one_response_packet_as_the_model_answers(exchange):
    p, reqs, uart, got = exchange
    model = BoardModel(p)
    want = [model.feed(r) for r in reqs]
    assert [len(w) for w in want] and all(want)
    assert got["packets"] == want
    statuses = [proto.parse_response_header(w[:7])[0] for w in want]
    assert statuses[-2] == proto.Status.BAD_CHECK and statuses[0] == proto.Status.OK
    assert any(len(r) % WORD_BYTES for r in reqs)
    for keeps, w in zip(got["keeps"], want, strict=True):
        # TKEEP counts the frame's bytes exactly: full words, then the remainder on the TLAST word
        assert sum(bin(k).count("1") for k in keeps) == len(w)
        assert all(k == (1 << WORD_BYTES) - 1 for k in keeps[:-1])
    assert not got["uart_low_during_axis"]  # no byte went out on the UART


def test_a_uart_request_is_answered_on_the_uart(exchange):
    p, reqs, uart, got = exchange
    model = BoardModel(p)
    for r in reqs:
        model.feed(r)
    assert got["uart"] == model.feed(uart[0])
    assert not got["axis_during_uart"]

