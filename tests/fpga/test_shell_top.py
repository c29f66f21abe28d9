"""The top of the card with its shell (sparsesim/fpga/shelltop.py), checked where it can be here:

- its wrapper ports against the block design's TCL (every external port and interface port the TCL creates
  is in the port list the top connects, with the AXI widths of ShellParams);
- Icarus: the generated top compiled with the board core and a stand-in wrapper (written here from the same
  port list, so it checks the top's wiring, not Vivado's names) that clocks it, sends an INFO request as a
  host-FIFO packet and reads the answer packet (equal to the board model's), reads and writes M_AXIL_CTRL
  (answered SLVERR) and watches the idle accelerator ports.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sparsesim.rtl import protocol as proto
from sparsesim.rtl.board import BoardParams, ram_verilog
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine.bus import PORT_BYTES

from sparsesim.fpga import shell, shelltop
from sparsesim.fpga.model import BoardModel

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
    assert widths["S_AXI_ACC0_araddr"] == p.acc_addr_bits == 37
    # the accelerator's ports as wide as the op engine's AXI4 masters (rtl/opengine/bus.py)
    assert widths["S_AXI_ACC3_wdata"] == 8 * PORT_BYTES == 1024 and widths["S_AXI_ACC1_awid"] == 4
    assert widths["AXIS_HOST_TX_tkeep"] == 4 and widths["M_AXIL_CTRL_araddr"] == 20
    assert widths["ddr4_sdram_c2_dq"] == 72 and widths["pcie_mgt_rxp"] == 16


def stub_wrapper(p: shell.ShellParams, words: int) -> str:
    """A stand-in for the wrapper: clock and reset, the request packet, the answer printed, one AXI-Lite read
    and write, the accelerator ports watched."""
    ports = shelltop.wrapper_ports(p)
    decl = ",\n".join(f"  {'output reg' if d == 'output' else d} {'' if w == 1 else f'[{w - 1}:0] '}{n}"
                      for n, d, w, _ in ports)  # fmt: skip
    watched = " | ".join(f"S_AXI_ACC{i}_{s}" for i in range(p.acc_masters) for s in ("awvalid", "wvalid", "arvalid"))
    driven = {"acc_clk", "acc_resetn", "AXIS_HOST_TX_tdata", "AXIS_HOST_TX_tkeep", "AXIS_HOST_TX_tlast",
              "AXIS_HOST_TX_tvalid", "AXIS_HOST_RX_tready", "M_AXIL_CTRL_arvalid", "M_AXIL_CTRL_rready",
              "M_AXIL_CTRL_awvalid", "M_AXIL_CTRL_wvalid", "M_AXIL_CTRL_bready"}  # fmt: skip
    zeros = "\n".join(f"    {n} = 0;" for n, d, _, _ in ports if d == "output" and n not in driven)
    return f"""
module {shelltop.WRAPPER}(
{decl}
);
  reg [36:0] req [0:{words - 1}];
  integer i, cycles;
  initial begin
{zeros}
    $readmemh("req.hex", req);
    acc_clk = 0; acc_resetn = 0; i = 0; cycles = 0;
    AXIS_HOST_RX_tready = 1; M_AXIL_CTRL_arvalid = 0; M_AXIL_CTRL_rready = 1; M_AXIL_CTRL_awvalid = 0;
    M_AXIL_CTRL_wvalid = 0; M_AXIL_CTRL_bready = 1; AXIS_HOST_TX_tvalid = 0;
    AXIS_HOST_TX_tdata = 0; AXIS_HOST_TX_tkeep = 0; AXIS_HOST_TX_tlast = 0;
    #100 acc_resetn = 1;
  end
  always #2.5 acc_clk = ~acc_clk;
  always @(posedge acc_clk) begin
    cycles <= cycles + 1;
    if (cycles > 200000) begin $display("TIMEOUT"); $finish; end
    if ({watched}) $display("ACC_ACTIVE");
    if (acc_resetn) begin
      if (AXIS_HOST_TX_tvalid && AXIS_HOST_TX_tready) i = i + 1;
      AXIS_HOST_TX_tvalid <= i < {words};
      {{AXIS_HOST_TX_tlast, AXIS_HOST_TX_tkeep, AXIS_HOST_TX_tdata}} <= req[i < {words} ? i : 0];
      if (cycles == 40) begin M_AXIL_CTRL_arvalid <= 1; M_AXIL_CTRL_awvalid <= 1; M_AXIL_CTRL_wvalid <= 1; end
      if (M_AXIL_CTRL_arvalid && M_AXIL_CTRL_arready) M_AXIL_CTRL_arvalid <= 0;
      if (M_AXIL_CTRL_awvalid && M_AXIL_CTRL_awready) M_AXIL_CTRL_awvalid <= 0;
      if (M_AXIL_CTRL_wvalid && M_AXIL_CTRL_wready) M_AXIL_CTRL_wvalid <= 0;
      if (M_AXIL_CTRL_rvalid) $display("RRESP %0d", M_AXIL_CTRL_rresp);
      if (M_AXIL_CTRL_bvalid) $display("BRESP %0d", M_AXIL_CTRL_bresp);
      if (AXIS_HOST_RX_tvalid) begin
        $display("RX %h %h %0d", AXIS_HOST_RX_tdata, AXIS_HOST_RX_tkeep, AXIS_HOST_RX_tlast);
        if (AXIS_HOST_RX_tlast) begin #20 $finish; end
      end
    end
  end
endmodule
"""


TB = f"""
module tb;
  wire uart_tx; wire [2:0] leds;
  {shelltop.TOP} top(.uart_rx(1'b1), .uart_tx(uart_tx), .leds(leds), .switches(4'b0));
endmodule
"""


@pytest.mark.skipif(IVERILOG is None, reason="Icarus Verilog not installed (scripts/setup.sh installs it)")
def test_the_top_answers_a_host_packet_and_the_control_port(tmp_path):
    cfg = ArrayConfig(rows=2, cols=2, multipliers=2, max_m=4, precision="fp16")
    params = BoardParams(cfg, weight_depth=4, act_depth=4, result_depth=4, clocks_per_bit=4)
    p = shell.ShellParams(acc_clock_mhz=200.0)
    request = proto.encode_request(proto.Op.INFO, tag=3)
    words = [request[i : i + 4] for i in range(0, len(request), 4)]
    lines = []
    for j, w in enumerate(words):
        value = int.from_bytes(w, "little") | (((1 << len(w)) - 1) << 32) | (int(j == len(words) - 1) << 36)
        lines.append(f"{value:010x}")
    (tmp_path / "req.hex").write_text("\n".join(lines) + "\n")
    files = {
        "core.v": shelltop.core_verilog(params, cell_module=None, nbytes=4),
        "ram.v": ram_verilog(),
        "top.v": shelltop.top_verilog(p),
        "stub.v": stub_wrapper(p, len(words)),
        "tb.v": TB,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    build = subprocess.run([IVERILOG, "-g2012", "-o", "sim.vvp", "-s", "tb", *files], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out = run.stdout.splitlines()
    assert "TIMEOUT" not in out and "ACC_ACTIVE" not in out, run.stdout[-2000:]
    answer = b""
    for line in out:
        if line.startswith("RX "):
            _, data, keep, _last = line.split()
            answer += int(data, 16).to_bytes(4, "little")[: bin(int(keep, 16)).count("1")]
    assert answer == BoardModel(params).feed(request)
    assert out[-1].startswith("RX ") and out[-1].endswith(" 1")  # TLAST on the frame's last word
    assert "RRESP 2" in out and "BRESP 2" in out  # SLVERR: no registers behind M_AXIL_CTRL yet


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
    assert Path(folder / f"{shelltop.CORE}.v").read_text().count(f"module {shelltop.CORE}(") == 1
