"""The top of the card with its shell (sparsesim/fpga/shelltop.py), checked where it can be here:

- its wrapper ports against the block design's TCL (every external port and interface port the TCL creates
  is in the port list the top connects), the accelerator ports' widths equal to the op engine's masters;
- Icarus: the generated top compiled with the shell core (the op engine behind its AXI4-Lite registers) and
  a stand-in wrapper (written here from the same port list, so it checks the top's wiring, not Vivado's
  names) that clocks it and, through M_AXIL_CTRL at the accelerator's window of the BAR (0x1_0000), reads
  the ID register ("SPOE", OKAY), writes a descriptor word and reads it back, reads an unmapped offset
  (SLVERR), and watches the engine's ports stay idle without a START and the host FIFO's stream tied off;
  meanwhile the testbench reads ID over the top's UART pins (the shell core's debug link).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fpga_helpers import TINY_ACCELERATOR
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga import estimate, shell, shelltop

IVERILOG = shutil.which("iverilog")


def test_the_top_connects_every_port_the_block_design_has(tmp_path):
    from test_shell import run_mock

    if shutil.which("tclsh") is None:
        pytest.fail("tclsh not installed: scripts/setup.sh installs it (apt-get install tcl)")
    p = shell.ShellParams()
    records = run_mock(shell.shell_tcl(p), tmp_path)
    bd_ports = {rec[1] for rec in records if rec[0] == "PORT"}
    names = {n for n, *_ in shelltop.wrapper_ports(p)}
    for port in bd_ports:
        assert port in names or any(n.startswith(port + "_") for n in names), port
    widths = {n: w for n, _, w, _ in shelltop.wrapper_ports(p)}
    from sparsesim.rtl.opengine.shellcore import port_widths

    eng = port_widths(ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16"))
    assert p.acc_masters == eng["masters"] == 3  # weights read, activations read, results write
    for i in range(3):
        assert widths[f"S_AXI_ACC{i}_araddr"] == widths[f"S_AXI_ACC{i}_awaddr"] == eng["addr_bits"]
        assert widths[f"S_AXI_ACC{i}_rdata"] == widths[f"S_AXI_ACC{i}_wdata"] == eng["data_bits"]
        assert widths[f"S_AXI_ACC{i}_arid"] == eng["id_bits"]
        assert widths[f"S_AXI_ACC{i}_wdata"] == 1024  # written out: AXI4's widest data bus (ARM IHI 0022)
    assert "S_AXI_ACC3_araddr" not in widths
    assert p.acc_addr_bits == 37 and widths["AXIS_HOST_TX_tkeep"] == 4 and widths["M_AXIL_CTRL_araddr"] == 20
    assert widths["ddr4_sdram_c2_dq"] == 72 and widths["pcie_mgt_rxp"] == 16


# the register accesses the stand-in makes: (kind, BAR offset, value), in order
CTRL_BASE = 0x1_0000  # the accelerator's window of the AXI-Lite BAR, written out (ShellParams.lite_map)
ACCESSES = [("R", CTRL_BASE + 0x000, 0), ("W", CTRL_BASE + 0x100, 0x1234_5678), ("R", CTRL_BASE + 0x100, 0),
            ("R", CTRL_BASE + 0x0FC, 0), ("R", CTRL_BASE + 0x014, 0)]  # fmt: skip


def stub_wrapper(p: shell.ShellParams) -> str:
    """A stand-in for the wrapper: clock and reset, the AXI-Lite accesses of ACCESSES one at a time (each
    response printed), the accelerator ports watched, the host stream's tie-offs printed."""
    ports = shelltop.wrapper_ports(p)
    decl = ",\n".join(f"  {'output reg' if d == 'output' else d} {'' if w == 1 else f'[{w - 1}:0] '}{n}"
                      for n, d, w, _ in ports)  # fmt: skip
    watched = " | ".join(f"S_AXI_ACC{i}_{s}" for i in range(p.acc_masters) for s in ("awvalid", "wvalid", "arvalid"))
    driven = {"acc_clk", "acc_resetn", "M_AXIL_CTRL_araddr", "M_AXIL_CTRL_awaddr", "M_AXIL_CTRL_wdata",
              "M_AXIL_CTRL_wstrb", "M_AXIL_CTRL_arvalid", "M_AXIL_CTRL_rready", "M_AXIL_CTRL_awvalid",
              "M_AXIL_CTRL_wvalid", "M_AXIL_CTRL_bready"}  # fmt: skip
    zeros = "\n".join(f"    {n} = 0;" for n, d, _, _ in ports if d == "output" and n not in driven)
    steps = []
    for j, (kind, addr, value) in enumerate(ACCESSES):
        if kind == "R":
            steps.append(f"      {j}: begin M_AXIL_CTRL_araddr <= 'h{addr:x}; M_AXIL_CTRL_arvalid <= 1; end")
        else:
            steps.append(f"      {j}: begin M_AXIL_CTRL_awaddr <= 'h{addr:x}; M_AXIL_CTRL_wdata <= 'h{value:x}; "
                         "M_AXIL_CTRL_wstrb <= 4'hf; M_AXIL_CTRL_awvalid <= 1; M_AXIL_CTRL_wvalid <= 1; end")
    return f"""
module {shelltop.WRAPPER}(
{decl}
);
  integer step, cycles, waiting;
  initial begin
{zeros}
    acc_clk = 0; acc_resetn = 0; step = 0; cycles = 0; waiting = 0;
    M_AXIL_CTRL_arvalid = 0; M_AXIL_CTRL_rready = 1; M_AXIL_CTRL_awvalid = 0; M_AXIL_CTRL_wvalid = 0;
    M_AXIL_CTRL_bready = 1; M_AXIL_CTRL_araddr = 0; M_AXIL_CTRL_awaddr = 0; M_AXIL_CTRL_wdata = 0;
    M_AXIL_CTRL_wstrb = 0;
    #100 acc_resetn = 1;
  end
  always #2.5 acc_clk = ~acc_clk;
  always @(posedge acc_clk) begin
    cycles <= cycles + 1;
    if (cycles > 5000) begin $display("TIMEOUT"); $finish; end
    if ({watched}) $display("ACC_ACTIVE");
    if (!AXIS_HOST_TX_tready || AXIS_HOST_RX_tvalid) $display("HOST_STREAM_ACTIVE");
    if (acc_resetn && cycles > 40) begin
      if (M_AXIL_CTRL_arvalid && M_AXIL_CTRL_arready) M_AXIL_CTRL_arvalid <= 0;
      if (M_AXIL_CTRL_awvalid && M_AXIL_CTRL_awready) M_AXIL_CTRL_awvalid <= 0;
      if (M_AXIL_CTRL_wvalid && M_AXIL_CTRL_wready) M_AXIL_CTRL_wvalid <= 0;
      if (M_AXIL_CTRL_rvalid) begin $display("R %0d %h %0d", step - 1, M_AXIL_CTRL_rdata, M_AXIL_CTRL_rresp); waiting = 0; end
      if (M_AXIL_CTRL_bvalid) begin $display("B %0d %0d", step - 1, M_AXIL_CTRL_bresp); waiting = 0; end
      if (!waiting && step == {len(ACCESSES)} && cycles > 2500) begin #20 $finish; end
      if (!waiting && step < {len(ACCESSES)}) begin
        case (step)
{chr(10).join(steps)}
        endcase
        step = step + 1; waiting = 1;
      end
    end
  end
endmodule
"""


UART_DIV = 8  # clocks per bit of the test's shell core (a short UART exchange)
UART_REQUEST = b"R\x00\x00"  # read ID over the UART debug link (regmap.py's bytes, written out)

TB = f"""
module tb;
  wire uart_tx; wire [2:0] leds; reg uart_rx = 1'b1;
  {shelltop.TOP} top(.uart_rx(uart_rx), .uart_tx(uart_tx), .leds(leds), .switches(4'b0));
  wire clk = top.shell.acc_clk;
  task send(input [7:0] b);
    integer i;
    begin
      uart_rx = 1'b0; repeat ({UART_DIV}) @(posedge clk);
      for (i = 0; i < 8; i = i + 1) begin uart_rx = b[i]; repeat ({UART_DIV}) @(posedge clk); end
      uart_rx = 1'b1; repeat ({UART_DIV}) @(posedge clk);
    end
  endtask
  initial begin
    #1000;
{chr(10).join(f"    send(8'h{b:02x});" for b in UART_REQUEST)}
  end
  reg [7:0] got; integer j;
  always begin
    @(negedge uart_tx);
    repeat ({UART_DIV // 2}) @(posedge clk);
    for (j = 0; j < 8; j = j + 1) begin repeat ({UART_DIV}) @(posedge clk); got[j] = uart_tx; end
    repeat ({UART_DIV}) @(posedge clk);
    $display("UART %h", got);
  end
endmodule
"""


@pytest.mark.skipif(IVERILOG is None, reason="Icarus Verilog not installed (scripts/setup.sh installs it)")
def test_the_top_answers_on_its_control_port(tmp_path):
    cfg = ArrayConfig(rows=2, cols=2, multipliers=2, max_m=4, precision="fp16")
    p = shell.ShellParams.for_engine(cfg, 200.0)
    core = shelltop.core_verilog(cfg, cell_module=None, ctrl_addr_bits=20, uart_divisor=UART_DIV,
                                 w_block_words=16, a_block_words=16, c_block_words=16)  # fmt: skip
    files = {
        "core.v": core,
        "top.v": shelltop.top_verilog(p, shelltop.core_port_widths(core)),
        "stub.v": stub_wrapper(p),
        "tb.v": TB,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    build = subprocess.run([IVERILOG, "-g2012", "-o", "sim.vvp", "-s", "tb", *files], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out = run.stdout.splitlines()
    assert "TIMEOUT" not in out and "ACC_ACTIVE" not in out and "HOST_STREAM_ACTIVE" not in out, run.stdout[-2000:]
    answers = [line.split() for line in out if line[:2] in ("R ", "B ")]
    assert [a[:2] for a in answers] == [["R", "0"], ["B", "1"], ["R", "2"], ["R", "3"], ["R", "4"]], out
    okay, slverr = "0", "2"  # IHI 0022 A3.4.4
    assert answers[0][2:] == [b"SPOE".hex(), okay]  # the ID register through the window at 0x1_0000
    assert answers[1][2] == okay and answers[2][2:] == ["12345678", okay]  # DESC 0 written and read back
    assert answers[3][3] == slverr  # outside the map
    assert int(answers[4][2], 16) & 0b11 == 0 and answers[4][3] == okay  # STATUS: idle, nothing run
    # the UART debug link on the top's pins: "K" and the ID, low byte first
    uart = bytes(int(line.split()[1], 16) for line in out if line.startswith("UART "))
    assert uart == b"K" + b"SPOE"[::-1], out


def test_the_top_files_are_in_the_build_tree(tiny_tree):
    assert tiny_tree.code == 0, tiny_tree.stderr
    folder = tiny_tree.tree / shell.SHELL_DIR
    for name in (f"{shelltop.TOP}.v", f"{shelltop.CORE}.v", f"{shelltop.TOP}.xdc", "sparsesim_shell_project.tcl"):
        assert (folder / name).exists(), name
    xdc = (folder / f"{shelltop.TOP}.xdc").read_text()
    assert "PACKAGE_PIN BF18" in xdc and "[get_ports {uart_rx}]" in xdc  # UG1289: the FPGA receives on BF18
    tcl = (folder / "sparsesim_shell_project.tcl").read_text()
    assert f"source {shell.BD_NAME}.tcl" in tcl and f"set_property top {shelltop.TOP}" in tcl
    for src in tcl.split("add_files {")[1].split("}")[0].split():
        assert (folder / src).resolve().exists(), src
    core = Path(folder / f"{shelltop.CORE}.v").read_text()
    assert core.count(f"module {shelltop.CORE}(") == 1
    # one array, the engine's: as many PE cell instances as the accelerator has PEs
    cells = re.findall(rf"^\s*{estimate.CELL_MODULE}\s", core, re.M)
    assert len(cells) == TINY_ACCELERATOR["rows"] * TINY_ACCELERATOR["cols"], len(cells)
    top = (folder / f"{shelltop.TOP}.v").read_text()
    for core_port, shell_port in (("ctrl__araddr", "M_AXIL_CTRL_araddr"), ("rd_w__araddr", "S_AXI_ACC0_araddr"),
                                  ("rd_a__rdata", "S_AXI_ACC1_rdata"), ("wr__wdata", "S_AXI_ACC2_wdata")):
        assert f".{core_port}(w_{shell_port})" in top, core_port
