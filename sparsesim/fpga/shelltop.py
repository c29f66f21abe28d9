"""The top of the card with its shell (docs/fpga.md, "Memory and host shell"): the block design's wrapper
(`sparsesim_shell_wrapper`, made by Vivado from shell.py's TCL) beside the shell core (the op engine behind
its AXI4-Lite registers, rtl/opengine/shellcore.py), on the array clock the block design makes (DDR4 channel
0's additional UI clock). Written into the build tree's `shell/` folder:

- `sparsesim_shell_core.v`: ShellCore, Amaranth's Verilog (its PE cells the tree's cell module);
- `sparsesim_shell_top.v`: the top, Verilog written here from `wrapper_ports` (the wrapper's ports) and the
  core's ports: the registers on `M_AXIL_CTRL`, the engine's masters on `S_AXI_ACC0..2` (`master_ties`);
- `sparsesim_shell_top.xdc`: the UART, LED and DIP-switch pins of the board-only top (rtl/vcu1525.py) under
  this top's port names, and the card's bitstream settings; the DDR4 and PCIe pins come with the IPs'
  board interfaces;
- `sparsesim_shell_project.tcl`: a Vivado project with these sources and the block design, this top.

The wrapper's port names follow Vivado's `<interface port>_<signal>` convention for the block design's
external interface ports (AXI4 and AXI4-Lite signal names: Arm IHI 0022, AMBA AXI and ACE Protocol
Specification; AXI4-Stream: Arm IHI 0051; the DDR4 interface's signals and widths for a single-rank x4 RDIMM
with parity: PG150's port list; PCIe: PG195's `pci_exp_*` as the `pcie_7x_mgt` interface). Unverified until
Vivado writes the wrapper (docs/fpga.md).

Not in this top: the board core (its own array would be a second one beside the engine's), so the host
FIFO's stream has no consumer (tied: its words dropped, nothing sent); the UART reads and writes the
engine's registers instead (the shell core's debug link).
"""

from __future__ import annotations

import re
from pathlib import Path

from . import shell

TOP = "sparsesim_shell_top"
CORE = "sparsesim_shell_core"
WRAPPER = f"{shell.BD_NAME}_wrapper"
BLOCK_MEM_FILE = "op_engine_block_mem.v"  # the engine's block buffers' memory (rtl/opengine/block_mem.v)

# the top's debug pins (the board-only top's UART, LEDs and DIP switches)
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


# AXI4 master signals the op engine does not drive, tied in the top (IHI 0022): normal access, no lock or
# QoS; AxCACHE 0b0011 "Normal Non-cacheable Bufferable" (A4.4), what Xilinx's own masters drive by default.
AXI_TIES = {"awlock": 0, "arlock": 0, "awcache": 0b0011, "arcache": 0b0011, "awprot": 0, "arprot": 0,
            "awqos": 0, "arqos": 0}  # fmt: skip


def master_ties(p: shell.ShellParams) -> list[tuple[int, str]]:
    """(S_AXI_ACC index, the engine master on it) in port order: ACC0 weights read, ACC1 activations read,
    ACC2 results write (shellcore.MASTERS)."""
    from sparsesim.rtl.opengine.shellcore import MASTERS

    if p.acc_masters != len(MASTERS):
        raise ValueError(f"the shell has {p.acc_masters} accelerator ports for the engine's {len(MASTERS)}")
    return list(enumerate(MASTERS))


def top_verilog(p: shell.ShellParams, core_ports: dict[str, int]) -> str:
    """`sparsesim_shell_top`: the wrapper and the shell core (the op engine behind its registers) on the
    array clock; `core_ports`: the core's Verilog ports and widths (`core_port_widths`), so a signal the
    core does not have is tied here and a width that differs from the wrapper's is refused."""
    ports = wrapper_ports(p)
    pins = [(n, d, w) for n, d, w, k in ports if k == "pin"]
    decls = [_decl(d, w, n) for n, d, w in pins] + [_decl(d, w, n) for n, d, w in CORE_DEBUG_PORTS]
    acc = [(n, d, w) for n, d, w, k in ports if k == "acc"]
    width = {n: w for n, _, w in acc}
    wires = [f"  wire {'' if w == 1 else f'[{w - 1}:0] '}w_{n};" for n, _, w in acc]
    conns = [f"    .{n}({n})" for n, _, _ in pins] + [f"    .{n}(w_{n})" for n, _, _ in acc]
    core_conns = [".clk(w_acc_clk)", ".rst(~w_acc_resetn)", ".leds(leds)", ".uart_rx(uart_rx)",
                  ".uart_tx(uart_tx)"]  # fmt: skip
    ties = []

    def join(core_name: str, wrapper_name: str) -> None:
        if core_ports.get(core_name) != width[wrapper_name]:
            raise ValueError(f"{core_name} is {core_ports.get(core_name)} bits, the shell's {wrapper_name} "
                             f"{width[wrapper_name]}")  # fmt: skip
        core_conns.append(f".{core_name}(w_{wrapper_name})")

    for s_, _, _ in axi4lite_signals_for(p):
        join(f"ctrl__{s_}", f"M_AXIL_CTRL_{s_}")
    for i, master in master_ties(p):
        for s_, d, _ in axi4_signals(p.acc_addr_bits, p.acc_data_bits, p.acc_id_bits):
            name = f"S_AXI_ACC{i}_{s_}"
            if f"{master}__{s_}" in core_ports:
                join(f"{master}__{s_}", name)
            elif d == "output":  # a master output the engine does not drive: the unused channels idle
                value = AXI_TIES.get(s_, 1 if s_ in ("bready", "rready") else 0)
                ties.append(f"  assign w_{name} = {value};")
    # the host FIFO's stream: no consumer in this top (its words are taken and dropped; nothing is sent)
    ties += ["  assign w_AXIS_HOST_TX_tready = 1'b1;", "  assign w_AXIS_HOST_RX_tvalid = 1'b0;",
             "  assign w_AXIS_HOST_RX_tdata = 0;", "  assign w_AXIS_HOST_RX_tkeep = 0;",
             "  assign w_AXIS_HOST_RX_tlast = 1'b0;"]  # fmt: skip
    return "\n".join([
        f"// {TOP}: the VCU1525 with its memory and host shell (generated by sparsesim/fpga/shelltop.py).",
        f"// The block design's wrapper ({WRAPPER}) beside the shell core ({CORE}: the op engine behind",
        "// its AXI4-Lite registers); unverified until Vivado builds it (docs/fpga.md, \"Memory and host",
        "// shell\").",
        f"module {TOP} (",
        ",\n".join(f"  {d}" for d in decls),
        ");",
        *wires,
        f"  {WRAPPER} shell (",
        ",\n".join(conns),
        "  );",
        "  // the shell core on the array clock, reset until DDR4 channel 0 is calibrated; its registers on",
        "  // M_AXIL_CTRL, its AXI4 masters on S_AXI_ACC0 (weights read), 1 (activations read), 2 (results",
        "  // write)",
        f"  {CORE} core (",
        ",\n".join(f"    {c}" for c in core_conns),
        "  );",
        "  // what the engine does not drive: the AXI4 signals it has no use for, the unused channels of",
        "  // each port; the DIP switches are unused",
        *ties,
        "endmodule",
        "",
    ])  # fmt: skip


def axi4lite_signals_for(p: shell.ShellParams) -> list[tuple[str, str, int]]:
    return axi4lite_signals((p.xdma_lite_bytes - 1).bit_length())


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


def core_verilog(cfg, *, cell_module: str | None, ctrl_addr_bits: int, uart_divisor: int | None = None,
                 **engine_kw) -> str:  # fmt: skip
    """The shell core (the op engine behind its registers, the UART debug link at `uart_divisor` clocks
    per bit, the core's default when None) as Verilog module CORE."""
    from amaranth.back import verilog

    from sparsesim.rtl.opengine.shellcore import ShellCore

    if uart_divisor is not None:
        engine_kw["uart_divisor"] = uart_divisor
    core = ShellCore(cfg, cell_module=cell_module, ctrl_addr_bits=ctrl_addr_bits, **engine_kw)
    return verilog.convert(core, name=CORE, emit_src=False)


def core_port_widths(verilog_text: str) -> dict[str, int]:
    """The ports of module CORE in `verilog_text` (Amaranth's declarations: `input [w-1:0] name;`)."""
    body = verilog_text.split(f"module {CORE}(", 1)[1].split("endmodule", 1)[0]
    out = {}
    for m in re.finditer(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?([\w$\\]+)\s*;", body, re.M):
        out[m.group(3)] = int(m.group(2)) + 1 if m.group(2) else 1
    return out


def _floor_pow2(n: int) -> int:
    return 1 << max(0, int(n).bit_length() - 1)


def engine_blocks(params) -> dict[str, int]:
    """The engine's on-chip buffers from the accelerator spec's, as the board core sizes its own
    (BoardParams: depth = KiB x 8192 / word bits), rounded down to the power of two the engine's buffers
    take; the weights and activations double-buffered, so a block is half of that (our choice: the spec's
    KiB stay the on-chip total)."""
    return {"w_block_words": max(1, _floor_pow2(params.weight_depth) // 2),
            "a_block_words": max(1, _floor_pow2(params.act_depth) // 2),
            "c_block_words": _floor_pow2(params.result_depth)}  # fmt: skip


def write_top(
    folder: Path, p: shell.ShellParams, params, *, cell_module: str, cell_file: str, ram_file: str,
    swap_uart: bool = False,
) -> None:
    """Write the top's files into `folder` (the tree's shell/): the shell core for `params` (BoardParams:
    the array and the buffers' sizes), its block memories' module, the top, XDC and project TCL;
    `cell_file` / `ram_file`: the PE cell and RAM modules' files in the tree's root."""
    from sparsesim.rtl.opengine.export import BLOCK_MEM_MODULE
    from sparsesim.rtl.opengine.export import HERE as ENGINE_DIR

    folder.mkdir(parents=True, exist_ok=True)
    lite_bits = (p.xdma_lite_bytes - 1).bit_length()
    core = core_verilog(params.cfg, cell_module=cell_module, ctrl_addr_bits=lite_bits,
                        uart_divisor=params.clocks_per_bit, memory_module=BLOCK_MEM_MODULE,
                        **engine_blocks(params))  # fmt: skip
    (folder / f"{CORE}.v").write_text(core)
    (folder / BLOCK_MEM_FILE).write_text((ENGINE_DIR / "block_mem.v").read_text())
    (folder / f"{TOP}.v").write_text(top_verilog(p, core_port_widths(core)))
    (folder / f"{TOP}.xdc").write_text(top_xdc(swap_uart=swap_uart))
    (folder / "sparsesim_shell_project.tcl").write_text(
        project_tcl([f"{TOP}.v", f"{CORE}.v", BLOCK_MEM_FILE, f"../{cell_file}", f"../{ram_file}"])
    )
