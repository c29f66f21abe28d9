"""The shell core (rtl/opengine/shellcore.py: the AXI4-Lite register block of regs.py in front of the op
engine) in Icarus, driven as a host drives the card (tb_shellcore.py): cocotbext-axi's AxiLiteMaster on the
register port, AxiRam on the engine's three AXI4 masters, random back-pressure on every channel.

Checked against facts written here or computed independently of the RTL:
- the identity registers: "SPOE", version 1, the array's shape and the bus widths decoded against the
  ArrayConfig and the engine's signature;
- refusals: a read outside the map and a write to a read-only register answered SLVERR (IHI 0022 A3.4.4),
  the register unchanged;
- two real ops of the tiny-CNN workload (a WS 2:4 op and an OS op without interleave) with their DRAM
  regions in DDR4 channels 0, 1 and 2 (37-bit addresses): descriptor written and read back through the
  registers, a second START while busy ignored, STATUS polled to done, the results bit-exact against
  sparsesim.sat.numerics (rtl_opengine.check_results), and the host driver's decoder
  (sparsesim.fpga.engine_host.decode_op) on those beats equal to numerics' C; OP_CYCLES nonzero and
  consistent with the counters;
- bus protocol: VALID held with a stable payload until READY on every channel (the bench's monitor), under
  30 % pauses on both sides.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Shape
from rtl_opengine import check_results
from rtl_ops import WORKLOAD, expected, op_runs
from rtl_runner import run_cocotb
from sparsesim.rtl import toolchain
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine import regmap
from sparsesim.rtl.opengine.image import block_words, build_image
from sparsesim.rtl.opengine.shellcore import MASTERS, ShellCore

from sparsesim.fpga.engine_host import beats_of, decode_op, place_op
from sparsesim.fpga.shell import ShellParams

ROOT = Path(__file__).resolve().parents[2]
CFG = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")
OPS = [(WORKLOAD, "conv3:FF", "ws", True, 8), (WORKLOAD, "conv2:BP", "os", False, 8)]
OKAY, SLVERR = 0, 2  # IHI 0022 A3.4.4, written out


def _pow2(x: int) -> int:
    return 1 << max(0, x - 1).bit_length()


def shell_core_verilog(cfg: ArrayConfig, runs, folder: Path) -> tuple[Path, ShellCore, list[int]]:
    from amaranth.back import verilog

    need = [block_words(cfg, r.mapping) for r in runs]
    sizes = [max(64, _pow2(max(x[i] for x in need))) for i in range(3)]
    core = ShellCore(cfg, w_block_words=sizes[0], a_block_words=sizes[1], c_block_words=sizes[2])
    text = verilog.convert(core, name="shell_core", emit_src=False)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "shell_core.v"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path, core, sizes


@pytest.mark.rtl
def test_shell_core_runs_ops_through_its_registers():
    runs = op_runs(CFG, OPS, ROOT)
    shell = ShellParams()
    key = f"shellcore_{CFG.name()}"
    verilog, core, sizes = shell_core_verilog(CFG, runs, toolchain.build_root() / "verilog" / key)
    eng = core.engine.signature.members
    addr_bits = Shape.cast(eng["rd_w"].signature.members["araddr"].shape).width
    data_bytes = Shape.cast(eng["rd_w"].signature.members["rdata"].shape).width // 8
    images, placed = [], []
    for r in runs:
        img = build_image(CFG, r.mapping, [(r.a, r.b)])
        images.append(img)
        placed.append(place_op(CFG, img, shell, data_bytes=data_bytes))
    desc_bits = placed[0].desc_bits
    spec = {
        "addr_bits": addr_bits, "ctrl_base": 0, "pause": 0.3, "seed": 5, "max_polls": 5000,
        "identity": [regmap.ID, regmap.VERSION_REG, regmap.ARRAY, regmap.BUS, regmap.BLOCKS],
        "probes": [("read", 0x0FC, 0), ("write", regmap.ID, 0x1234), ("write", regmap.STATUS, 0xFF),
                   ("read", regmap.DESC + 4 * regmap.desc_words(desc_bits), 0)],
        "desc_offsets": regmap.desc_offsets(desc_bits), "status": regmap.STATUS, "ctrl": regmap.CTRL,
        "start": regmap.CTRL_START, "done": regmap.STATUS_DONE, "busy": regmap.STATUS_BUSY,
        "counters": {str(k): v for k, v in regmap.COUNTERS.items()},
        "ops": [{"name": r.label(), "writes": [(a, d.hex()) for a, d in pl.writes],
                 "desc_words": regmap.split_desc(pl.desc, pl.desc_bits), "result_addr": pl.result_addr,
                 "result_bytes": pl.result_bytes} for r, pl in zip(runs, placed)],
    }  # fmt: skip
    data = run_cocotb("icarus", verilog, "shell_core", "tb_shellcore", key, spec)
    assert "shell" in data, f"no report (log: {data['_run']['log']})"
    rep = data["shell"]
    assert rep["protocol_errors"] == [], rep["protocol_errors"]
    assert rep.get("finished"), f"the bench timed out (log: {data['_run']['log']})"

    # identity: written out here, not read from the register map module
    ident = {int(k): v for k, v in rep["reads"].items()}
    assert ident[regmap.ID] == [int.from_bytes(b"SPOE", "big"), OKAY]
    assert ident[regmap.VERSION_REG] == [1, OKAY]
    arr = ident[regmap.ARRAY][0]
    assert (arr & 0xFF, arr >> 8 & 0xFF, arr >> 16 & 0xF, 1 << (arr >> 20 & 0xF)) == (4, 4, 2, 8)
    assert arr >> 24 & 1 == 0 and arr >> 25 & 1 == (CFG.accumulator == "exact")
    bus = ident[regmap.BUS][0]
    assert (bus & 0xFFFF, bus >> 16 & 0xFF, bus >> 24) == (data_bytes, addr_bits, math.ceil(desc_bits / 32))
    assert addr_bits >= 36  # the four 16 GiB channels reachable
    blocks = ident[regmap.BLOCKS][0]  # log2 of the buffers the core was built with
    assert [1 << (blocks >> s & 0xFF) for s in (0, 8, 16)] == sizes

    probes = rep["probes"]
    assert probes["read 0xfc"] == [0, SLVERR]
    assert probes[f"write {regmap.ID:#x}"] == [SLVERR, int.from_bytes(b"SPOE", "big"), OKAY]
    assert probes[f"write {regmap.STATUS:#x}"][0] == SLVERR
    assert probes[f"read {regmap.DESC + 4 * math.ceil(desc_bits / 32):#x}"][1] == SLVERR

    assert len(rep["ops"]) == len(runs)
    for pl in placed:  # one 16 GiB channel (2^34 bytes) per region
        assert [pl.fields[f] >> 34 for f in ("w_base", "a_base", "r_base")] == [0, 1, 2]
    for r, img, pl, op in zip(runs, images, placed, rep["ops"]):
        assert op["desc_resp"] == [OKAY] * len(op["desc_resp"]), op["name"]
        assert op["desc_read"] == regmap.split_desc(pl.desc, pl.desc_bits), op["name"]
        assert op["start_resp"] == OKAY and op["second_start_resp"] == OKAY
        starts = op["status_after"] >> 8 & 0xFF
        assert starts == (op["status_before"] >> 8 & 0xFF) + 1, "the START while busy was not ignored"
        assert op["status_after"] & 0b11 == 0b10, op  # done, not busy
        c = op["counters"]
        assert c["op_cycles"] > 0 and c["started_at"] <= c["first_start"] <= c["last_done"], c
        assert c["last_done"] < c["started_at"] + c["op_cycles"] <= c["cycle"], c
        beats = beats_of(bytes.fromhex(op["results"]), data_bytes)
        assert len(beats) == img.result_hi - img.result_lo
        assert check_results(CFG, r, img, beats) == 0, op["name"]  # bit-exact against numerics
        # the host driver's decoder (engine_host.decode_op) on the real engine's beats: numerics' C
        (decoded,) = decode_op(CFG, r.mapping, [(r.a, r.b)], beats, data_bytes=data_bytes)
        assert np.array_equal(decoded, expected(r, CFG)), op["name"]
    hs = rep["handshakes"]
    for name in MASTERS:
        assert hs.get(f"{name}.{'aw' if name == 'wr' else 'ar'}", 0) > 0, hs
    assert hs["ctrl.aw"] == hs["ctrl.w"] == hs["ctrl.b"] and hs["ctrl.ar"] == hs["ctrl.r"]
