"""The host driver's op path over PCIe (sparsesim.fpga.engine_host.run_op): one GEMM op run on the card's op
engine through XDMA (the image by H2C DMA at its DDR4 channel addresses, the descriptor and START through the
AXI-Lite BAR, STATUS polled, the results by C2H DMA, decoded).

- Against a fake card (`FakeEngineCard`, written here from the register map's table in docs/fpga.md and the
  descriptor's layout, not from the driver): on START it unpacks the descriptor, checks it against the op's
  mapping (dims, mode, order) and the DRAM against the op's image at the descriptor's addresses (one DDR4
  channel per region), then writes the op's results as the engine lays them out: sparsesim.sat.numerics'
  values for the final tiles of tests/rtl/rtl_ops.py's walk (a separate implementation of the tile order)
  encoded per beat. The driver's decoded C must equal numerics bit for bit, for a WS N:M op and an OS op.
- Against files standing in for the character devices (nothing behind the registers): refused with
  EngineError naming the missing engine, nothing written.
- The decoder against the real engine's result beats: tests/rtl/test_shellcore.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.host import beat_cells
from sparsesim.rtl.opengine.descriptor import DATA_BYTES, descriptor_layout
from sparsesim.rtl.opengine.image import build_image

from sparsesim.fpga.driver import XdmaDevice
from sparsesim.fpga.engine_host import EngineError, run_op
from sparsesim.fpga.shell import ShellParams

RTL_TESTS = Path(__file__).resolve().parents[1] / "rtl"
if str(RTL_TESTS) not in sys.path:
    sys.path.insert(0, str(RTL_TESTS))
from rtl_ops import WORKLOAD, expected, final_tiles, op_runs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CFG = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")
# the register map (docs/fpga.md, "Memory and host shell"), written out
CTRL_WINDOW = 0x1_0000
ID, VERSION, ARRAY, BUS, CTRL, STATUS, BLOCKS, OP_CYCLES, DESC = 0x0, 0x4, 0x8, 0xC, 0x10, 0x14, 0x18, 0x24, 0x100
CHANNEL_BYTES = 16 << 30
PAGE = 4096


class FakeEngineCard:
    """The card's DDR4 (sparse pages) and the op engine's registers, computing the one op it is given."""

    def __init__(self, cfg: ArrayConfig, run, data_bytes: int = DATA_BYTES, log2_blocks: tuple[int, int, int] = (12, 12, 12)):
        self.cfg, self.run, self.db = cfg, run, data_bytes
        self.pages: dict[int, bytearray] = {}
        self.desc_words = [0] * (-(-descriptor_layout(cfg).size // 32))
        self.status, self.starts, self.errors = 0, 0, []
        log2m = cfg.max_m.bit_length() - 1
        self.regs = {ID: int.from_bytes(b"SPOE", "big"), VERSION: 1,
                     ARRAY: cfg.rows | cfg.cols << 8 | cfg.multipliers << 16 | log2m << 20 | 1 << 25,
                     BUS: data_bytes | 37 << 16 | len(self.desc_words) << 24,
                     BLOCKS: log2_blocks[0] | log2_blocks[1] << 8 | log2_blocks[2] << 16}  # fmt: skip

    # ---- memory (H2C / C2H)
    def write_mem(self, addr: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            self.pages.setdefault((addr + i) // PAGE, bytearray(PAGE))[(addr + i) % PAGE] = byte

    def read_mem(self, addr: int, n: int) -> bytes:
        return bytes(self.pages.get((addr + i) // PAGE, bytes(PAGE))[(addr + i) % PAGE] for i in range(n))

    # ---- registers (the AXI-Lite BAR)
    def write_reg(self, offset: int, value: int) -> None:
        off = offset - CTRL_WINDOW
        if DESC <= off < DESC + 4 * len(self.desc_words):
            self.desc_words[(off - DESC) // 4] = value
        elif off == CTRL and value & 1:
            self.starts += 1
            self._run()
        else:
            raise AssertionError(f"write to 0x{off:X}")

    def read_reg(self, offset: int) -> int:
        off = offset - CTRL_WINDOW
        if off in self.regs:
            return self.regs[off]
        if off == STATUS:
            return self.status | (self.starts & 0xFF) << 8
        if DESC <= off < DESC + 4 * len(self.desc_words):
            return self.desc_words[(off - DESC) // 4]
        if 0x20 <= off <= 0x34:
            return 1000 if off == OP_CYCLES else 0
        raise AssertionError(f"read of 0x{off:X}")

    def _run(self) -> None:
        run, cfg, db = self.run, self.cfg, self.db
        desc = sum(w << (32 * i) for i, w in enumerate(self.desc_words))
        f = {name: (desc >> fld.offset) & ((1 << fld.width) - 1) for name, fld in descriptor_layout(cfg)}
        mp = run.mapping
        want = {"m": mp.m, "n": mp.n, "k": mp.k, "repeat": 1, "os": int(mp.dataflow == "os"),
                "sparse": int(mp.mode.sparse)}  # fmt: skip
        got = {k: f[k] for k in want}
        if got != want:
            self.errors.append(f"descriptor {got}, the op {want}")
        channels = [f[b] // CHANNEL_BYTES for b in ("w_base", "a_base", "r_base")]
        if len(set(channels)) != 3:
            self.errors.append(f"regions in channels {channels}")
        # the DRAM holds the op's image (built at 0 here, so region offsets are relative) at the descriptor's
        img = build_image(cfg, mp, [(run.a, run.b)])
        for base_name, lo, hi in (("w_base", img.fields["w_base"], img.fields["a_base"]),
                                  ("a_base", img.fields["a_base"], img.fields["r_base"])):  # fmt: skip
            data = b"".join(img.words[a].to_bytes(db, "little") for a in range(lo // db, hi // db))
            if self.read_mem(f[base_name], len(data)) != data:
                self.errors.append(f"the DRAM at {base_name} is not the op's image")
        # the results: numerics' C, the final tiles in rtl_ops' walk order, each beat as the engine writes it
        c = expected(run, cfg)
        beats = []
        for i in final_tiles(run):
            tile, (r0, c0, _, _) = run.tiles[i], run.placement[i]
            for d in range(tile.result_beats):
                cells = beat_cells(cfg, tile.mode, d)
                data = [int(c[r0 + r, c0 + k]) if r < tile.shape.m and k < tile.shape.n else 0 for r, k in cells]
                beats.append(cfg.pack_result(data, last=d == tile.result_beats - 1))
        self.write_mem(f["r_base"], b"".join(w.to_bytes(db, "little") for w in beats))
        self.status = 0b10  # done, not busy


OPS = [(WORKLOAD, "conv3:FF", "ws", True, 8), (WORKLOAD, "conv2:BP", "os", False, 8),
       (WORKLOAD, "fc:FF", "os", True, 32)]  # fmt: skip


@pytest.mark.parametrize("op", OPS, ids=lambda o: f"{o[1]}-{o[2]}")
def test_an_op_runs_over_xdma_and_decodes_bit_exact(op):
    (run,) = op_runs(CFG, [op], ROOT)
    card = FakeEngineCard(CFG, run)
    results, info = run_op(card, CFG, run.mapping, [(run.a, run.b)], ShellParams(), timeout_s=1.0)
    assert card.errors == [] and card.starts == 1
    assert len(results) == 1
    np.testing.assert_array_equal(results[0], expected(run, CFG))  # numerics, bit for bit
    assert info.op_cycles == 1000


def test_a_wrong_decode_would_be_seen():
    """The comparison can fail: the fake card's results moved by one beat give a different C."""
    (run,) = op_runs(CFG, [OPS[0]], ROOT)
    card = FakeEngineCard(CFG, run)
    real = card._run

    def shifted():
        real()
        r_base = 2 * CHANNEL_BYTES
        n = sum(run.tiles[i].result_beats for i in final_tiles(run)) * card.db
        data = card.read_mem(r_base, n)
        card.write_mem(r_base, data[card.db :] + data[: card.db])

    card._run = shifted
    results, _ = run_op(card, CFG, run.mapping, [(run.a, run.b)], ShellParams(), timeout_s=1.0)
    assert not np.array_equal(results[0], expected(run, CFG))


def test_a_card_of_another_array_is_refused():
    (run,) = op_runs(CFG, [OPS[0]], ROOT)
    other = ArrayConfig(rows=2, cols=2, multipliers=2, max_m=8, precision="fp16")
    card = FakeEngineCard(other, run)
    with pytest.raises(EngineError, match="the card's array"):
        run_op(card, CFG, run.mapping, [(run.a, run.b)], ShellParams(), timeout_s=1.0)
    assert card.pages == {} and card.starts == 0  # nothing written, nothing started


def test_an_op_whose_blocks_do_not_fit_the_card_is_refused():
    """The card's BLOCKS register says its buffers hold 2^2 words: the op's blocks are larger, so nothing is
    written or started (the engine has no check of its own)."""
    (run,) = op_runs(CFG, [OPS[0]], ROOT)
    card = FakeEngineCard(CFG, run, log2_blocks=(2, 2, 2))
    with pytest.raises(EngineError, match="do not fit the card's engine buffers"):
        run_op(card, CFG, run.mapping, [(run.a, run.b)], ShellParams(), timeout_s=1.0)
    assert card.pages == {} and card.starts == 0


def test_device_files_without_an_engine_are_refused(tmp_path):
    """Files standing in for the character devices: no engine answers at the window, so the driver stops at
    the ID register and writes nothing to the card's memory."""
    mem = tmp_path / "xdma0_h2c_0"
    mem.write_bytes(b"")
    os.truncate(mem, 1 << 20)
    os.link(mem, tmp_path / "xdma0_c2h_0")
    (tmp_path / "xdma0_user").write_bytes(bytes(1 << 17))
    (run,) = op_runs(CFG, [OPS[0]], ROOT)
    with XdmaDevice(str(tmp_path / "xdma0"), devices_only=False) as dev:
        with pytest.raises(EngineError, match="no op engine at AXI-Lite 0x10000"):
            run_op(dev, CFG, run.mapping, [(run.a, run.b)], ShellParams(), timeout_s=0.1)
    assert mem.read_bytes() == bytes(1 << 20) and os.path.getsize(mem) == 1 << 20


@pytest.mark.parametrize("op", OPS, ids=lambda o: f"{o[1]}-{o[2]}")
def test_the_self_tests_reference_is_numerics_as_the_benches_take_it(op):
    """`fpga run-op`'s reference (engine_host.expected_op) equals tests/rtl's (rtl_ops.expected), which the
    RTL benches check the engine against."""
    from sparsesim.fpga.engine_host import expected_op

    (run,) = op_runs(CFG, [op], ROOT)
    np.testing.assert_array_equal(expected_op(CFG, run.mapping, run.a, run.b), expected(run, CFG))


TINY = str(ROOT / "workloads" / "fpga-tiny-2x2.yaml")


def test_run_op_cli_refusals(tmp_path):
    """One `error:` line, exit 2, nothing written: an unknown op (the workload's GEMM ops named), a missing
    device, ordinary files where the devices should be."""
    from fpga_helpers import run_cli

    code, out, err, _ = run_cli(["fpga", "run-op", TINY, "--xdma", str(tmp_path / "xdma0"), "--op", "fc9:FF"])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: --op fc9:FF: not a GEMM op") and "fc2:FF" in err
    code, out, err, _ = run_cli(["fpga", "run-op", TINY, "--xdma", str(tmp_path / "xdma0"), "--op", "fc2:FF"])
    assert code == 2 and out == "" and err.count("\n") == 1 and "xdma0_h2c_0" in err
    assert os.listdir(tmp_path) == []
    mem = tmp_path / "xdma0_h2c_0"
    mem.write_bytes(bytes(4096))
    os.link(mem, tmp_path / "xdma0_c2h_0")
    (tmp_path / "xdma0_user").write_bytes(bytes(4096))
    code, out, err, _ = run_cli(["fpga", "run-op", TINY, "--xdma", str(tmp_path / "xdma0"), "--op", "fc2:FF"])
    assert code == 2 and "not a character device" in err and err.count("\n") == 1
    assert mem.read_bytes() == bytes(4096) and (tmp_path / "xdma0_user").read_bytes() == bytes(4096)


def test_run_op_prints_its_documented_shape():
    from sparsesim.commands import JSON_SHAPES
    from sparsesim.commands.fpga import run_op_summary
    from sparsesim.fpga.engine_host import EngineRun

    (run,) = op_runs(CFG, [OPS[0]], ROOT)
    want = expected(run, CFG)
    got = want.copy()
    got[0, 0] ^= 1
    summary = run_op_summary("conv3:FF", run.mapping, want, got, EngineRun([], 7, {"op_cycles": 7}))
    assert tuple(summary) == JSON_SHAPES["fpga run-op"]
    assert summary["differing_from_numerics"] == 1 and summary["results"] == want.size
