"""The top of the card with its shell (docs/fpga.md, "Memory and host shell"): the block design's wrapper
(`sparsesim_shell_wrapper`, made by Vivado from shell.py's TCL) beside the board core, which runs the host
protocol over the shell's host FIFO (AXI4-Stream) and the UART, on the array clock the block design makes
(DDR4 channel 0's additional UI clock). Written into the build tree's `shell/` folder:

- `sparsesim_shell_core.v`: BoardCore with its AXI4-Stream host link (rtl/board/top.py), Amaranth's Verilog;
- `sparsesim_shell_top.v`: the top, Verilog written here from `wrapper_ports` (the wrapper's ports);
- `sparsesim_shell_top.xdc`: the UART, LED and DIP-switch pins of the board-only top (rtl/vcu1525.py) under
  this top's port names, and the card's bitstream settings; the DDR4 and PCIe pins come with the IPs'
  board interfaces;
- `sparsesim_shell_project.tcl`: a Vivado project with these sources and the block design, this top.

The wrapper's port names follow Vivado's `<interface port>_<signal>` convention for the block design's
external interface ports (AXI4 and AXI4-Lite signal names: Arm IHI 0022, AMBA AXI and ACE Protocol
Specification; AXI4-Stream: Arm IHI 0051; the DDR4 interface's signals and widths for a single-rank x4 RDIMM
with parity: PG150's port list; PCIe: PG195's `pci_exp_*` as the `pcie_7x_mgt` interface). Unverified until
Vivado writes the wrapper (docs/fpga.md).

Not in this top yet: the op engine (rtl/opengine) and its three AXI4 masters on `S_AXI_ACC0..2` (the ports
are tied idle), and a register block on `M_AXIL_CTRL` (every access is answered SLVERR).
"""

from __future__ import annotations

from pathlib import Path

from . import shell

TOP = "sparsesim_shell_top"
CORE = "sparsesim_shell_core"
WRAPPER = f"{shell.BD_NAME}_wrapper"

# ports of the board core the top ties to its own (Amaranth's flattened names)
CORE_DEBUG_PORTS = (("uart_rx", "input", 1), ("uart_tx", "output", 1), ("leds", "output", 3),
                    ("switches", "input", 4))  # fmt: skip

# DDR4 interface signals for the card's DIMMs (PG150; MTA18ASF2G72PZ: one rank of eighteen x4 devices, so
# 18 DQS pairs and no data mask; RDIMM: address parity), from the wrapper's side.
DDR4_SIGNALS = (("act_n", "output", 1), ("adr", "output", 17), ("ba", "output", 2), ("bg", "output", 2),
                ("ck_c", "output", 1), ("ck_t", "output", 1), ("cke", "output", 1), ("cs_n", "output", 1),
                ("odt", "output", 1), ("par", "output", 1), ("reset_n", "output", 1),
                ("dq", "inout", 72), ("dqs_c", "inout", 18), ("dqs_t", "inout", 18))  # fmt: skip


def axi4_signals(addr_bits: int, data_bits: int, id_bits: int) -> list[tuple[str, str, int]]:
    """AXI4 (IHI 0022) as (signal, direction seen from the master, width)."""
    o, i = "output", "input"
    return [
        ("awid", o, id_bits), ("awaddr", o, addr_bits), ("awlen", o, 8), ("awsize", o, 3), ("awburst", o, 2),
        ("awlock", o, 1), ("awcache", o, 4), ("awprot", o, 3), ("awqos", o, 4), ("awvalid", o, 1),
        ("awready", i, 1), ("wdata", o, data_bits), ("wstrb", o, data_bits // 8), ("wlast", o, 1),
        ("wvalid", o, 1), ("wready", i, 1), ("bid", i, id_bits), ("bresp", i, 2), ("bvalid", i, 1),
        ("bready", o, 1), ("arid", o, id_bits), ("araddr", o, addr_bits), ("arlen", o, 8), ("arsize", o, 3),
        ("arburst", o, 2), ("arlock", o, 1), ("arcache", o, 4), ("arprot", o, 3), ("arqos", o, 4),
        ("arvalid", o, 1), ("arready", i, 1), ("rid", i, id_bits), ("rdata", i, data_bits), ("rresp", i, 2),
        ("rlast", i, 1), ("rvalid", i, 1), ("rready", o, 1),
    ]  # fmt: skip


def axi4lite_signals(addr_bits: int) -> list[tuple[str, str, int]]:
    o, i = "output", "input"
    return [
        ("awaddr", o, addr_bits), ("awprot", o, 3), ("awvalid", o, 1), ("awready", i, 1), ("wdata", o, 32),
        ("wstrb", o, 4), ("wvalid", o, 1), ("wready", i, 1), ("bresp", i, 2), ("bvalid", i, 1),
        ("bready", o, 1), ("araddr", o, addr_bits), ("arprot", o, 3), ("arvalid", o, 1), ("arready", i, 1),
        ("rdata", i, 32), ("rresp", i, 2), ("rvalid", i, 1), ("rready", o, 1),
    ]  # fmt: skip


def axis_signals(nbytes: int) -> list[tuple[str, str, int]]:
    """AXI4-Stream (IHI 0051) with TKEEP and TLAST, from the master's side."""
    return [("tdata", "output", 8 * nbytes), ("tkeep", "output", nbytes), ("tlast", "output", 1),
            ("tvalid", "output", 1), ("tready", "input", 1)]  # fmt: skip


def _flip(d: str) -> str:
    return {"input": "output", "output": "input"}.get(d, d)


def wrapper_ports(p: shell.ShellParams) -> list[tuple[str, str, int, str]]:
    """(port, direction seen from the wrapper, width, kind) of `sparsesim_shell_wrapper`; kind "pin" for the
    card's pins (through the top), "acc" for the accelerator's side."""
    ports: list[tuple[str, str, int, str]] = [
        ("pcie_refclk_clk_p", "input", 1, "pin"), ("pcie_refclk_clk_n", "input", 1, "pin"),
        ("pcie_perstn", "input", 1, "pin"),
        *[(f"pcie_mgt_{s}", d, p.pcie_lanes, "pin")
          for s, d in (("rxn", "input"), ("rxp", "input"), ("txn", "output"), ("txp", "output"))],
    ]  # fmt: skip
    for i in range(p.ddr_channels):
        ports += [(f"default_300mhz_clk{i}_clk_p", "input", 1, "pin"),
                  (f"default_300mhz_clk{i}_clk_n", "input", 1, "pin")]  # fmt: skip
        ports += [(f"ddr4_sdram_c{i}_{s}", d, w, "pin") for s, d, w in DDR4_SIGNALS]
    ports += [("acc_clk", "output", 1, "acc"), ("acc_resetn", "output", 1, "acc")]
    for i in range(p.acc_masters):  # slave ports: the accelerator is the master
        ports += [(f"S_AXI_ACC{i}_{s}", _flip(d), w, "acc")
                  for s, d, w in axi4_signals(p.acc_addr_bits, p.acc_data_bits, p.acc_id_bits)]  # fmt: skip
    lite_bits = (p.xdma_lite_bytes - 1).bit_length()
    ports += [(f"M_AXIL_CTRL_{s}", d, w, "acc") for s, d, w in axi4lite_signals(lite_bits)]
    ports += [(f"AXIS_HOST_TX_{s}", d, w, "acc") for s, d, w in axis_signals(p.fifo_data_bits // 8)]
    ports += [(f"AXIS_HOST_RX_{s}", _flip(d), w, "acc") for s, d, w in axis_signals(p.fifo_data_bits // 8)]
    return ports


def _decl(direction: str, width: int, name: str) -> str:
    return f"{direction} wire {'' if width == 1 else f'[{width - 1}:0] '}{name}"


def top_verilog(p: shell.ShellParams) -> str:
    """`sparsesim_shell_top`: the wrapper, the board core, the idle accelerator masters, the SLVERR
    responder on M_AXIL_CTRL (module docstring)."""
    ports = wrapper_ports(p)
    pins = [(n, d, w) for n, d, w, k in ports if k == "pin"]
    decls = [_decl(d, w, n) for n, d, w in pins] + [_decl(d, w, n) for n, d, w in CORE_DEBUG_PORTS]
    acc = [(n, d, w) for n, d, w, k in ports if k == "acc"]
    wires = [f"  wire {'' if w == 1 else f'[{w - 1}:0] '}w_{n};" for n, _, w in acc]
    conns = [f"    .{n}({n})" for n, _, _ in pins] + [f"    .{n}(w_{n})" for n, _, _ in acc]
    ties = []
    for n, d, _ in acc:  # the accelerator's masters: idle (no op engine in this top yet)
        if n.startswith("S_AXI_ACC") and d == "input":
            ties.append(f"  assign w_{n} = {1 if n.endswith(('_bready', '_rready')) else 0};")
    return "\n".join([
        f"// {TOP}: the VCU1525 with its memory and host shell (generated by sparsesim/fpga/shelltop.py).",
        f"// The block design's wrapper ({WRAPPER}) beside the board core ({CORE}); unverified until Vivado",
        "// builds it (docs/fpga.md, \"Memory and host shell\").",
        f"module {TOP} (",
        ",\n".join(f"  {d}" for d in decls),
        ");",
        *wires,
        f"  {WRAPPER} shell (",
        ",\n".join(conns),
        "  );",
        "  // the board core on the array clock, reset until DDR4 channel 0 is calibrated",
        f"  {CORE} core (",
        "    .clk(w_acc_clk), .rst(~w_acc_resetn),",
        "    .uart_rx(uart_rx), .uart_tx(uart_tx), .leds(leds), .switches(switches),",
        "    .host_rx__payload({w_AXIS_HOST_TX_tlast, w_AXIS_HOST_TX_tkeep, w_AXIS_HOST_TX_tdata}),",
        "    .host_rx__valid(w_AXIS_HOST_TX_tvalid), .host_rx__ready(w_AXIS_HOST_TX_tready),",
        "    .host_tx__payload({w_AXIS_HOST_RX_tlast, w_AXIS_HOST_RX_tkeep, w_AXIS_HOST_RX_tdata}),",
        "    .host_tx__valid(w_AXIS_HOST_RX_tvalid), .host_tx__ready(w_AXIS_HOST_RX_tready)",
        "  );",
        "  // the accelerator's AXI4 masters: not yet the op engine's (docs/fpga.md), so idle",
        *ties,
        "  // M_AXIL_CTRL: no registers yet; every write and read is answered SLVERR (AXI: 2'b10)",
        "  reg aw_seen = 1'b0, w_seen = 1'b0, b_valid = 1'b0, r_valid = 1'b0;",
        "  assign w_M_AXIL_CTRL_awready = ~aw_seen & ~b_valid;",
        "  assign w_M_AXIL_CTRL_wready = ~w_seen & ~b_valid;",
        "  assign w_M_AXIL_CTRL_bvalid = b_valid;",
        "  assign w_M_AXIL_CTRL_bresp = 2'b10;",
        "  assign w_M_AXIL_CTRL_arready = ~r_valid;",
        "  assign w_M_AXIL_CTRL_rvalid = r_valid;",
        "  assign w_M_AXIL_CTRL_rresp = 2'b10;",
        "  assign w_M_AXIL_CTRL_rdata = 32'd0;",
        "  always @(posedge w_acc_clk) begin",
        "    if (!w_acc_resetn) begin",
        "      aw_seen <= 1'b0; w_seen <= 1'b0; b_valid <= 1'b0; r_valid <= 1'b0;",
        "    end else begin",
        "      if (w_M_AXIL_CTRL_awvalid && w_M_AXIL_CTRL_awready) aw_seen <= 1'b1;",
        "      if (w_M_AXIL_CTRL_wvalid && w_M_AXIL_CTRL_wready) w_seen <= 1'b1;",
        "      if ((aw_seen || (w_M_AXIL_CTRL_awvalid && w_M_AXIL_CTRL_awready))",
        "          && (w_seen || (w_M_AXIL_CTRL_wvalid && w_M_AXIL_CTRL_wready)) && !b_valid) begin",
        "        b_valid <= 1'b1; aw_seen <= 1'b0; w_seen <= 1'b0;",
        "      end else if (b_valid && w_M_AXIL_CTRL_bready) b_valid <= 1'b0;",
        "      if (w_M_AXIL_CTRL_arvalid && w_M_AXIL_CTRL_arready) r_valid <= 1'b1;",
        "      else if (r_valid && w_M_AXIL_CTRL_rready) r_valid <= 1'b0;",
        "    end",
        "  end",
        "endmodule",
        "",
    ])  # fmt: skip


def top_xdc(*, swap_uart: bool = False) -> str:
    """The debug pins under this top's port names (rtl/vcu1525.py's sources) and the card's bitstream
    settings."""
    from sparsesim.rtl.vcu1525 import bitstream_constraints, pin

    rx, tx = pin("uart", 0, "rx"), pin("uart", 0, "tx")
    if swap_uart:
        rx, tx = tx, rx
    locs = [("uart_rx", rx), ("uart_tx", tx)]
    locs += [(f"leds[{i}]", pin("led", i, "o")) for i in range(3)]
    locs += [(f"switches[{i}]", pin("switch", i, "i")) for i in range(4)]
    lines = [f"# {TOP}: debug pins (rtl/vcu1525.py, PIN_SOURCES) and bitstream settings; the DDR4 and PCIe",
             "# pins come from the IPs' board interfaces (board part " + shell.BOARD_PART + ")."]  # fmt: skip
    for port, loc in locs:
        lines.append(f"set_property -dict {{PACKAGE_PIN {loc} IOSTANDARD LVCMOS12}} [get_ports {{{port}}}]")
    lines += [
        "# UART, LEDs and DIP switches are asynchronous to every clock (two-flop synchronisers inside).",
        "set_false_path -from [get_ports {uart_rx switches[*]}]",
        "set_false_path -to [get_ports {uart_tx leds[*]}]",
        bitstream_constraints(),
    ]
    return "\n".join(lines) + "\n"


def project_tcl(sources: list[str]) -> str:
    """A Vivado project for this top: the sources (relative to the shell folder), the block design from
    shell.py's TCL, synthesis to bitstream."""
    files = " ".join(sources)
    return "\n".join([
        f"# The card with its shell: {TOP} (generated by sparsesim/fpga/shelltop.py). Unverified until",
        "# Vivado runs it (docs/fpga.md). In this folder:",
        "#   vivado -mode batch -source sparsesim_shell_project.tcl",
        f"create_project -force {TOP} ./{TOP}_project -part {shell.PART}",
        f"set_property board_part {shell.BOARD_PART} [current_project]",
        f"add_files {{{files}}}",
        f"add_files -fileset constrs_1 {TOP}.xdc",
        f"source {shell.BD_NAME}.tcl",
        f"set_property top {TOP} [current_fileset]",
        "launch_runs impl_1 -to_step write_bitstream -jobs 8",
        "wait_on_run impl_1",
        "",
    ])  # fmt: skip


def core_verilog(params, *, cell_module: str | None, nbytes: int) -> str:
    """The board core with its AXI4-Stream host link as Verilog module CORE."""
    from amaranth.back import verilog

    from sparsesim.rtl.board.top import BoardCore

    core = BoardCore(params, cell_module=cell_module, host_stream_bytes=nbytes)
    return verilog.convert(core, name=CORE, emit_src=False)


def write_top(
    folder: Path, p: shell.ShellParams, params, *, cell_module: str, cell_file: str, ram_file: str,
    swap_uart: bool = False,
) -> None:
    """Write the top's four files into `folder` (the tree's shell/); `cell_file` / `ram_file`: the PE cell
    and RAM modules' files in the tree's root."""
    folder.mkdir(parents=True, exist_ok=True)
    core = core_verilog(params, cell_module=cell_module, nbytes=p.fifo_data_bits // 8)
    (folder / f"{CORE}.v").write_text(core)
    (folder / f"{TOP}.v").write_text(top_verilog(p))
    (folder / f"{TOP}.xdc").write_text(top_xdc(swap_uart=swap_uart))
    (folder / "sparsesim_shell_project.tcl").write_text(
        project_tcl([f"{TOP}.v", f"{CORE}.v", f"../{cell_file}", f"../{ram_file}"])
    )
