"""The memory and host shell's TCL (sparsesim/fpga/shell.py), checked with what runs without Vivado:

- tclsh: the script is complete Tcl (`info complete`), and it runs to its end under a recording stand-in
  for the Vivado commands (fixtures/vivado_bd_mock.tcl), which knows each IP's pins and address segments
  from its product guide and refuses anything else;
- what it records is compared with the card's facts written out here from their sources (UG1268: four
  DDR4-2400 x72 RDIMM channels, MTA18ASF2G72PZ-2G3, 16 GB each, 300 MHz reference clocks; PG150: AXI data
  width = 8 x DQ bits at 4:1; PG195: Gen3 x16 with a 512-bit AXI), and the address map for overlaps;
- the accelerator's AXI ports against the RTL (marked below for the merge).

Vivado's own checks (validate_bd_design, the IPs' parameter ranges, the board file) are not run here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fpga_helpers import TINY_ACCELERATOR

from sparsesim.fpga import shell

MOCK = Path(__file__).parent / "fixtures" / "vivado_bd_mock.tcl"
TCLSH = shutil.which("tclsh")
needs_tclsh = pytest.mark.skipif(TCLSH is None, reason="tclsh not installed (apt-get install tcl)")

GIB = 1 << 30
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}

# The card (UG1268) and the IPs (PG150, PG195), written out here.
DDR4_CHANNELS = 4
DDR4_PART = "MTA18ASF2G72PZ-2G3"
DDR4_MTS = 2400
DDR4_DQ_BITS, DDR4_ECC_BITS = 64, 8
DDR4_CHANNEL_BYTES = 16 * GIB
DDR4_AXI_DATA_BITS = 8 * DDR4_DQ_BITS  # PG150: 4:1 controller, 2 transfers per memory clock
MEMORY_CLOCK_PERIOD_PS = 833  # 1 / (2400 MT/s / 2)
REFERENCE_CLOCK_PS = 3332  # 300 MHz


def run_mock(tcl: str, tmp_path: Path) -> list[list[str]]:
    script = tmp_path / "shell.tcl"
    script.write_text(tcl)
    res = subprocess.run([TCLSH, str(MOCK), str(script)], capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError(res.stderr or res.stdout)
    records = [line.split(" ", 4) for line in res.stdout.splitlines()]
    assert records[-1] == ["DONE"]
    return records


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    if TCLSH is None:
        pytest.fail("tclsh not installed: scripts/setup.sh installs it (apt-get install tcl)")
    return run_mock(shell.shell_tcl(shell.ShellParams()), tmp_path_factory.mktemp("shell"))


def _configs(records) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for rec in records:
        if rec[0] == "CONFIG":
            obj, key, value = rec[1], rec[2], rec[3] if len(rec) == 4 else " ".join(rec[3:])
            out.setdefault(obj, {})[key] = value
    return out


def _size(text: str) -> int:
    return int(text[:-1]) * UNITS[text[-1]]


@needs_tclsh
def test_the_script_is_complete_tcl(tmp_path):
    script = tmp_path / "shell.tcl"
    script.write_text(shell.shell_tcl(shell.ShellParams()))
    check = tmp_path / "check.tcl"
    check.write_text(
        "set f [open [lindex $argv 0]]; set text [read $f]; close $f\n"
        "puts [info complete $text]\n"
    )
    out = subprocess.run([TCLSH, str(check), str(script)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@needs_tclsh
def test_the_mock_refuses_what_vivado_would_not_have(tmp_path):
    """The stand-in can fail: a pin the DDR4 IP does not have, an interface connected twice, a port never
    created."""
    tcl = shell.shell_tcl(shell.ShellParams())
    for bad in (
        tcl.replace("ddr4_c1/C0_DDR4_S_AXI]", "ddr4_c1/S_AXI]"),
        tcl.replace("[get_bd_intf_pins mem_sc/S01_AXI]", "[get_bd_intf_pins mem_sc/S00_AXI]"),
        tcl.replace("create_bd_port -dir O -type clk acc_clk\n", ""),
        tcl.replace("acc_reset/dcm_locked", "acc_reset/locked"),
        tcl + "route_bd_magic\n",
    ):
        assert bad != tcl
        with pytest.raises(AssertionError):
            run_mock(bad, tmp_path)


def test_ddr4_channels_are_the_cards(recorded):
    cells = {rec[1]: rec[2] for rec in recorded if rec[0] == "CELL"}
    cfg = _configs(recorded)
    ddr = sorted(c for c, ip in cells.items() if ip == "xilinx.com:ip:ddr4")
    assert len(ddr) == DDR4_CHANNELS
    boards, clocks = set(), set()
    for c in ddr:
        k = cfg[c]
        assert k["C0.DDR4_MemoryPart"] == DDR4_PART
        assert k["C0.DDR4_MemoryType"] == "RDIMMs"
        assert int(k["C0.DDR4_TimePeriod"]) == MEMORY_CLOCK_PERIOD_PS
        assert int(k["C0.DDR4_InputClockPeriod"]) == REFERENCE_CLOCK_PS
        assert int(k["C0.DDR4_DataWidth"]) == DDR4_DQ_BITS + DDR4_ECC_BITS
        assert k["C0.DDR4_Ecc"] == "true"
        assert int(k["C0.DDR4_AxiDataWidth"]) == DDR4_AXI_DATA_BITS
        assert 1 << int(k["C0.DDR4_AxiAddressWidth"]) == DDR4_CHANNEL_BYTES
        boards.add(k["C0_DDR4_BOARD_INTERFACE"])
        clocks.add(k["C0_CLOCK_BOARD_INTERFACE"])
    assert boards == {f"ddr4_sdram_c{i}" for i in range(4)}
    assert clocks == {f"default_300mhz_clk{i}" for i in range(4)}


def test_pcie_is_gen3_x16_with_a_512_bit_axi(recorded):
    cells = {rec[1]: rec[2] for rec in recorded if rec[0] == "CELL"}
    (xdma,) = [c for c, ip in cells.items() if ip == "xilinx.com:ip:xdma"]
    k = _configs(recorded)[xdma]
    assert k["pl_link_cap_max_link_width"] == "X16" and k["pl_link_cap_max_link_speed"] == "8.0_GT/s"
    assert k["axi_data_width"] == "512_bit" and k["xdma_axi_intf_mm"] == "AXI_Memory_Mapped"
    assert k["axilite_master_en"] == "true"


def test_every_ddr4_and_accelerator_port_is_on_the_crossbar(recorded):
    intf = [(rec[1], rec[2]) for rec in recorded if rec[0] == "INTF"]
    ends = {e for pair in intf for e in pair}
    for i in range(DDR4_CHANNELS):
        assert any(a.startswith("mem_sc/M") and b == f"ddr4_c{i}/C0_DDR4_S_AXI" for a, b in intf)
        assert f"ddr4_c{i}/C0_SYS_CLK" in ends and f"ddr4_c{i}/C0_DDR4" in ends
    p = shell.ShellParams()
    for i in range(p.acc_masters):
        assert any(a == f"S_AXI_ACC{i}" and b.startswith("mem_sc/S") for a, b in intf)
    nets = [rec[1:] for rec in recorded if rec[0] == "NET"]
    driven = {pin for net in nets for pin in " ".join(net).split()[1:]}
    for n in range(int(_configs(recorded)["mem_sc"]["NUM_CLKS"])):
        assert ("mem_sc/aclk" + (str(n) if n else "")) in driven, n


def test_address_map_has_no_overlap_and_reaches_every_channel(recorded):
    addr = [(rec[1], rec[2], int(rec[3], 16), _size(rec[4])) for rec in recorded if rec[0] == "ADDR"]
    spaces = {space for space, *_ in addr}
    p = shell.ShellParams()
    assert spaces == {"xdma_0/M_AXI", "xdma_0/M_AXI_LITE", *(f"S_AXI_ACC{i}" for i in range(p.acc_masters))}
    for space in spaces:
        segs = sorted((base, size, seg) for s, seg, base, size in addr if s == space)
        for (b0, s0, g0), (b1, _, g1) in zip(segs, segs[1:]):
            assert b0 + s0 <= b1, (space, g0, g1)
        for base, size, _ in segs:
            assert base % size == 0, "a segment's base is aligned to its size (AXI address decoding)"
        if space != "xdma_0/M_AXI_LITE":
            ddr = [(b, s) for b, s, g in segs if g.startswith("ddr4_c")]
            assert sorted(ddr) == [(i * DDR4_CHANNEL_BYTES, DDR4_CHANNEL_BYTES) for i in range(4)], space
        else:
            assert max(b + s for b, s, _ in segs) <= p.xdma_lite_bytes
    # the driver's view (ShellParams) is what the TCL assigned
    fifo = [(b, s) for sp, g, b, s in addr if g == "host_fifo/S_AXI_FULL/Mem1"]
    assert fifo == [(p.fifo_data.base, p.fifo_data.size)]


# ---------------------------------------------------------------------------------------------------------
def _width(member) -> int:
    from amaranth.hdl import Shape

    return Shape.cast(member.shape).width


def rtl_axi_ports() -> list[dict[str, int]]:
    """The op engine's AXI4 masters (rtl/opengine: weights and activations read, results write), their
    widths read from the elaborated component's signature."""
    from sparsesim.rtl.config import ArrayConfig
    from sparsesim.rtl.opengine.engine import OpEngine

    eng = OpEngine(ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16"))
    eng._MustUse__silence = True  # only its signature is read: amaranth's "created but never used" is moot
    ports = []
    for name, kind in (("rd_w", "ar"), ("rd_a", "ar"), ("wr", "aw")):
        sig = eng.signature.members[name].signature.members
        ports.append({
            "name": name, "data": _width(sig["rdata" if kind == "ar" else "wdata"]),
            "addr": _width(sig[f"{kind}addr"]), "id": _width(sig[f"{kind}id"]),
        })  # fmt: skip
    return ports


def test_accelerator_axi_ports_match_the_rtl(recorded):
    """One shell port per op-engine master, each taking it without conversion on the accelerator's side:
    data, ID and address widths equal to the engine's ports (the engine's addresses reach all four
    channels, 64 GiB, and the FIFO window above them; SmartConnect converts to the DDR4's 512 bits if the
    engine's data width differs)."""
    cfg = _configs(recorded)
    ports = sorted(o for o in cfg if re.fullmatch(r"S_AXI_ACC\d+", o))
    assert len(ports) == len(rtl_axi_ports()) == 3  # one per engine master: weights, activations, results
    for port in ports:
        k = cfg[port]
        assert k["PROTOCOL"] == "AXI4"
        # written out: the op engine's 1,024-bit masters (AXI4's widest bus, ARM IHI 0022), 2x the DDR4 controller's
        assert int(k["DATA_WIDTH"]) == 1024 == 2 * DDR4_AXI_DATA_BITS, port
        assert int(k["ADDR_WIDTH"]) >= 36, port  # all four channels (64 GiB) reachable
        for m in rtl_axi_ports():
            assert int(k["DATA_WIDTH"]) == m["data"], (port, m)
            assert int(k["ID_WIDTH"]) == m["id"], (port, m)
            assert int(k["ADDR_WIDTH"]) == m["addr"], (port, m)
    assert min(m["addr"] for m in rtl_axi_ports()) >= 36  # 4 x 16 GiB, written out: not the shell's own number


def test_the_build_tree_has_the_shell(tiny_tree):
    assert tiny_tree.code == 0, tiny_tree.stderr
    tcl = (tiny_tree.tree / "shell" / "sparsesim_shell.tcl").read_text()
    clock_mhz = TINY_ACCELERATOR["clock_mhz"]
    assert tcl == shell.shell_tcl(shell.ShellParams(acc_clock_mhz=clock_mhz))
    assert f"CONFIG.ADDN_UI_CLKOUT1_FREQ_HZ {{{clock_mhz:g}}}" in tcl  # the build's array clock
    assert "xilinx.com:vcu1525:part0" in tcl
    assert (tiny_tree.tree / "shell" / "README.md").read_text().count("ddr4_c") >= 4


def test_the_array_clock_and_reset_come_from_ddr4_channel_0(recorded):
    """acc_clk is DDR4 channel 0's additional UI clock (PG150) at the accelerator's clock, and it clocks the
    host FIFO, both crossbars' accelerator side and the reset block; acc_resetn is PG164's reset on that
    clock, held until calibration. The board-only top's clk300 #0 is channel 0's reference now."""
    cfg = _configs(recorded)
    p = shell.ShellParams()
    assert float(cfg["ddr4_c0"]["ADDN_UI_CLKOUT1_FREQ_HZ"]) == p.acc_clock_mhz == 200.0
    assert all("ADDN_UI_CLKOUT1_FREQ_HZ" not in cfg[f"ddr4_c{i}"] for i in range(1, DDR4_CHANNELS))
    assert cfg["ddr4_c0"]["C0_CLOCK_BOARD_INTERFACE"] == "default_300mhz_clk0"
    nets = [rec[1:] for rec in recorded if rec[0] == "NET"]
    nets = [" ".join(n).split() for n in nets]
    (clk,) = [n for n in nets if n[0] == "ddr4_c0/addn_ui_clkout1"]
    assert set(clk[1:]) == {"acc_clk", "acc_reset/slowest_sync_clk", "host_fifo/s_axi_aclk", "mem_sc/aclk1",
                            "lite_sc/aclk1"}  # fmt: skip
    (rst,) = [n for n in nets if n[0] == "acc_reset/peripheral_aresetn"]
    assert set(rst[1:]) == {"acc_resetn", "host_fifo/s_axi_aresetn"}
    assert ["ddr4_c0/c0_init_calib_complete", "acc_reset/dcm_locked"] in nets
    ports = {rec[1]: " ".join(rec[2:]) for rec in recorded if rec[0] == "PORT"}
    assert ports["acc_clk"].startswith("-dir O") and ports["acc_resetn"].startswith("-dir O")


def test_the_host_stream_carries_tkeep_and_tlast(recorded):
    """The board core's stream port takes words of the FIFO's width with TKEEP and TLAST
    (rtl/board/hoststream.py; tests/fpga/test_host_stream.py drives it that way)."""
    from sparsesim.rtl.board.hoststream import axis_layout

    k = _configs(recorded)["AXIS_HOST_RX"]
    assert k["HAS_TKEEP"] == "1" and k["HAS_TLAST"] == "1"
    layout = axis_layout(int(k["TDATA_NUM_BYTES"]))
    assert layout.size == 32 + 4 + 1 and shell.ShellParams().fifo_data_bits == 32
