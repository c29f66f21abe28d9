"""The host driver's PCIe path (sparsesim.fpga.driver: XdmaDevice, XdmaPort).

- XdmaDevice against plain files standing in for the XDMA driver's character devices: a write to `_h2c_0` at
  offset A is read back from `_c2h_0` at A (the files are one, as the card's memory is), registers are 32-bit
  little-endian at their offsets of `_user`, and a missing device is refused without creating anything.
- XdmaPort against a fake card that implements the AXI4-Stream FIFO's registers from Xilinx PG080 (offsets
  written out here, not imported from the driver) in front of the in-process BoardModel: the same Board API
  loads, runs and reads back every tile kind as over the serial port's model.
"""

from __future__ import annotations

import os
from collections import deque

import numpy as np
import pytest
from board_plan import board_tiles, check_run, operands
from sparsesim.rtl import protocol as proto
from sparsesim.rtl.board import BoardParams
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga.driver import Board, XdmaDevice, XdmaPort
from sparsesim.fpga.model import BoardModel
from sparsesim.fpga.shell import ShellParams

# PG080 (AXI4-Stream FIFO) register offsets and the AXI4 data port's receive offset.
ISR, TDFR, TDFV, TLR, RDFR, RDFO, RLR = 0x00, 0x08, 0x0C, 0x14, 0x18, 0x1C, 0x24
AXI4_TDFD, AXI4_RDFD = 0x0, 0x1000
RESET_KEY = 0xA5
DEPTH_WORDS = 4096


class FakeCard:
    """The shell's host FIFO (PG080, store-and-forward, 32-bit words) wired to a BoardModel: a transmit packet
    is the bytes written to the data port since the last TLR write, cut to TLR's byte count; the board's
    answer arrives as one receive packet per response frame (the board core marks each frame's last byte)."""

    def __init__(self, model: BoardModel, p: ShellParams):
        self.model = model
        self.regs, self.data = p.lite("host_fifo_regs").base, p.fifo_data.base
        self.tx = bytearray()
        self.rx: deque[bytes] = deque()
        self.resets: set[int] = set()
        self.packets: list[int] = []  # transmit packet lengths

    def write_mem(self, addr: int, data: bytes) -> None:
        assert addr == self.data + AXI4_TDFD, hex(addr)
        assert len(data) % 4 == 0, "the data port takes whole 32-bit words"
        self.tx += data

    def read_mem(self, addr: int, n: int) -> bytes:
        assert addr == self.data + AXI4_RDFD, hex(addr)
        packet = self.rx.popleft()
        assert n == -(-len(packet) // 4) * 4, (n, len(packet))
        return packet + bytes(n - len(packet))

    def write_reg(self, offset: int, value: int) -> None:
        off = offset - self.regs
        if off in (TDFR, RDFR):
            assert value == RESET_KEY
            self.resets.add(off)
        elif off == ISR:
            pass
        elif off == TLR:
            assert RDFR in self.resets and TDFR in self.resets, "the FIFO is used before its reset"
            assert len(self.tx) == -(-value // 4) * 4, (len(self.tx), value)
            packet, self.tx = bytes(self.tx[:value]), bytearray()
            self.packets.append(value)
            answer = self.model.feed(packet)
            while answer:
                length = proto.parse_response_header(answer[: proto.HEADER_BYTES])[2]
                end = proto.HEADER_BYTES + length + 1
                self.rx.append(bytes(answer[:end]))
                answer = answer[end:]
        else:
            raise AssertionError(f"write to register 0x{off:X}")

    def read_reg(self, offset: int) -> int:
        off = offset - self.regs
        if off == TDFV:
            return DEPTH_WORDS - len(self.tx) // 4
        if off == RDFO:
            return sum(-(-len(p) // 4) for p in self.rx)
        if off == RLR:
            return len(self.rx[0])
        raise AssertionError(f"read of register 0x{off:X}")


def _xdma_board(cfg: ArrayConfig) -> tuple[Board, FakeCard]:
    params = BoardParams(cfg, weight_depth=16, act_depth=64, result_depth=64)
    card = FakeCard(BoardModel(params), ShellParams())
    return Board(XdmaPort(card, timeout_s=0.2)), card


@pytest.mark.parametrize(
    "cfg", [ArrayConfig(rows=2, cols=2, precision="fp16"), ArrayConfig(rows=3, cols=2, precision="int8")],
    ids=lambda c: c.name(),
)
def test_every_tile_kind_round_trips_over_pcie(cfg):
    board, card = _xdma_board(cfg)
    info = board.info()
    assert info.magic == proto.MAGIC and (info.rows, info.cols) == (cfg.rows, cfg.cols)
    rng = np.random.default_rng(11)
    tiles = board_tiles(cfg)
    for mode, shape in tiles:
        a, b = operands(rng, cfg, mode, shape)
        run = board.run_tile(mode, a, b)
        assert check_run(cfg, run) == []
    status = board.status()
    assert status.runs == len(tiles) and status.errors == 0
    assert max(card.packets) <= proto.MAX_PAYLOAD + proto.HEADER_BYTES + 1


def test_resync_and_a_silent_card():
    cfg = ArrayConfig(rows=2, cols=2, precision="int8")
    board, card = _xdma_board(cfg)
    board.resync()  # 4,097 zeros in one packet; the answers are dropped
    assert card.packets[-1] == proto.RESYNC_BYTES and not card.rx
    assert board.status().errors == 0
    port = XdmaPort(card, timeout_s=0.05)
    with pytest.raises(TimeoutError):
        port.read(1)


def _fake_devices(tmp_path, size: int):
    mem = tmp_path / "xdma0_h2c_0"
    mem.write_bytes(b"")
    os.truncate(mem, size)
    os.link(mem, tmp_path / "xdma0_c2h_0")  # one memory behind both DMA directions
    user = tmp_path / "xdma0_user"
    user.write_bytes(bytes(4096))
    return tmp_path / "xdma0"


def test_device_files_memory_and_registers(tmp_path):
    p = ShellParams()
    prefix = _fake_devices(tmp_path, 1 << 20)
    addr = p.ddr_map[0].base + 0x1234
    with XdmaDevice(str(prefix), devices_only=False) as dev:
        dev.write_mem(addr, b"sparsesim" * 100)
        assert dev.read_mem(addr, 900) == b"sparsesim" * 100
        dev.write_reg(0x24, 0xDEADBEEF)
        assert dev.read_reg(0x24) == 0xDEADBEEF
    raw = (tmp_path / "xdma0_user").read_bytes()
    assert raw[0x24:0x28] == bytes([0xEF, 0xBE, 0xAD, 0xDE])  # little-endian at the offset
    assert (tmp_path / "xdma0_h2c_0").read_bytes()[addr : addr + 9] == b"sparsesim"


def test_a_missing_device_is_refused_and_nothing_is_created(tmp_path):
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FileNotFoundError, match="xdma7_h2c_0"):
        XdmaDevice(str(tmp_path / "xdma7"), devices_only=False)
    assert sorted(os.listdir(tmp_path)) == before
    # with only some devices present, none is created either and the opened ones are closed
    (tmp_path / "xdma3_h2c_0").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="xdma3_c2h_0"):
        XdmaDevice(str(tmp_path / "xdma3"), devices_only=False)
    assert sorted(os.listdir(tmp_path)) == ["xdma3_h2c_0"]


def test_ordinary_files_are_not_taken_for_the_devices(tmp_path):
    """By default only character devices are opened: files that happen to have the names stay untouched."""
    prefix = _fake_devices(tmp_path, 4096)
    before = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)}
    with pytest.raises(ValueError, match="not a character device"):
        XdmaDevice(str(prefix))
    from fpga_helpers import run_cli

    code, _, err, _ = run_cli(["fpga", "info", "--xdma", str(prefix)])
    assert code == 2 and "not a character device" in err and err.count("\n") == 1
    assert {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)} == before


def test_fpga_info_over_a_missing_xdma_device_is_one_error_line(tmp_path):
    from fpga_helpers import run_cli

    code, out, err, _ = run_cli(["fpga", "info", "--xdma", str(tmp_path / "xdma9")])
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and err.startswith("error: --xdma: cannot open ")
    assert "xdma9_h2c_0" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []
