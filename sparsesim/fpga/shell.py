"""The card's memory and host shell around the accelerator (docs/fpga.md, "Memory and host shell"): the four
DDR4 channels, PCIe through the XDMA IP, the AXI address map, and the host-protocol FIFO, as a Vivado IP
integrator block design written by TCL into the build tree (`shell/`).

`ShellParams` owns the shell's parameters once (channel count, widths, the address map); the TCL generator
below reads them, the XDMA host driver (driver.py) reads the address map, and the accelerator's AXI master
ports must match `acc_*` (tests/fpga/test_shell.py compares them).

Sources:
- [PG150] Xilinx PG150, UltraScale Architecture-Based FPGAs Memory IP (the DDR4 SDRAM controller, IP name
  `ddr4`): the user interface runs at a quarter of the memory clock (4:1), so the AXI data width is 8 x the
  DQ width without ECC bits; the `C0.DDR4_*` configuration names.
- [UG1268] Xilinx UG1268, VCU1525 Reconfigurable Acceleration Platform User Guide: four DDR4-2400 DIMM
  channels, each x72 (64 data + 8 ECC), each with its own 300 MHz reference clock (the `clk300` 0..3 of
  rtl/vcu1525.py). The DIMM part, Micron MTA18ASF2G72PZ-2G3 (16 GB RDIMM, 2G x 72), is the one public
  VCU1525 / U200 designs configure the DDR4 IP with (Corundum's VCU1525 design: "64 GB DDR4 2400 (4x 2G x72
  DIMM)"); UG1268's own DIMM table was not read here. The memory timing facts (channels, MT/s, data bits)
  are owned by the simulator's preset (sparsesim.sat.arch) and read from there.
- [board files] Xilinx's board files for the card, board part `xilinx.com:vcu1525:part0:1.3`, whose
  interfaces `ddr4_sdram_c0..3`, `default_300mhz_clk0..3`, `pci_express_x16`, `pcie_perstn`, `pcie_refclk`
  give the IPs their pins (the DDR4 pin-out comes from the board file, not from this repository).
- [PG195] Xilinx PG195, DMA/Bridge Subsystem for PCI Express (XDMA): Gen3 x16 uses a 512-bit AXI at 250 MHz;
  the AXI-Lite master BAR is the Linux driver's `/dev/xdma<N>_user`, the H2C/C2H channels `_h2c_<i>` /
  `_c2h_<i>`, whose file offset is the AXI address.
- [PG247] Xilinx PG247, SmartConnect: the AXI crossbar with clock and width conversion.
- [PG164] Xilinx PG164, Processor System Reset Module: a reset synchronous to its `slowest_sync_clk`,
  released after `ext_reset_in` (here active high) falls and `dcm_locked` rises.
- [PG150] also: a controller's additional user-interface clock outputs (`addn_ui_clkout1`, its frequency
  `ADDN_UI_CLKOUT1_FREQ_HZ` in MHz), made by the controller's own MMCM: the array clock.
- [PG080] Xilinx PG080, AXI4-Stream FIFO (`axi_fifo_mm_s`): the host-protocol byte stream, registers on
  AXI4-Lite (TDFD 0x10, TLR 0x14, RDFO 0x1C, RDFD 0x20, RLR 0x24, ...) and an AXI4 data port
  (transmit data at its base, receive data at base + 0x1000).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SHELL_DIR = "shell"
BD_NAME = "sparsesim_shell"
BOARD_PART = "xilinx.com:vcu1525:part0:1.3"  # [board files]
PART = "xcvu9p-fsgd2104-2L-e"

GIB = 1 << 30
# The DDR4 controller whose additional user-interface clock output is the array clock (our choice: channel 0
# takes clk300 #0, the reference the board-only top's MMCM used, so one pin pair cannot feed both).
ACC_CLOCK_CHANNEL = 0


def _preset(name: str):
    from sparsesim.sat.arch import VCU1525

    return VCU1525[name].value


def _engine_ports() -> dict[str, int]:
    """The op engine's AXI4 masters at its default widths (sparsesim.rtl.opengine.shellcore.port_widths)."""
    from sparsesim.rtl.opengine.shellcore import port_widths

    return port_widths()


@dataclass(frozen=True)
class AddressRange:
    name: str
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class ShellParams:
    """Every parameter of the shell, with its source (module docstring)."""

    # DDR4 [UG1268, PG150]
    ddr_channels: int = field(default_factory=lambda: int(_preset("dram_channels")))
    ddr_mts: int = field(default_factory=lambda: int(_preset("dram_mts")))
    ddr_data_bits: int = field(default_factory=lambda: int(_preset("dram_bus_bits")))  # without ECC
    ddr_ecc_bits: int = 8  # [UG1268] x72 DIMMs
    ddr_memory_part: str = "MTA18ASF2G72PZ-2G3"  # [UG1268]
    ddr_memory_type: str = "RDIMMs"
    ddr_channel_bytes: int = 16 * GIB  # [UG1268] 16 GB per DIMM (2G x 72)
    ddr_ref_clock_ps: int = 3332  # the 300 MHz reference clocks (rtl/vcu1525.py CLK300_HZ), in PG150's ps
    ddr_ui_ratio: int = 4  # [PG150] 4:1 memory to user-interface clock
    # PCIe [PG195]
    pcie_lanes: int = 16
    pcie_speed: str = "8.0_GT/s"  # Gen3
    xdma_data_bits: int = 512  # [PG195] Gen3 x16
    xdma_clock_mhz: int = 250
    xdma_lite_bytes: int = 1 << 20  # the AXI-Lite BAR (`_user`), 1 MiB: our choice, room for both blocks
    # The accelerator's AXI4 master ports: one per op-engine master (weights read, activations read, results
    # write: sparsesim.rtl.opengine.shellcore MASTERS), with the engine's own data and ID widths (read from
    # its port signatures, `shellcore.port_widths`; a build passes those of the engine it elaborates).
    # SmartConnect converts the clock and, if the engine's data width differs from the DDR4's, the width.
    acc_masters: int = field(default_factory=lambda: _engine_ports()["masters"])
    acc_id_bits: int = field(default_factory=lambda: _engine_ports()["id_bits"])
    acc_data_bits: int = field(default_factory=lambda: _engine_ports()["data_bits"])
    acc_clock_mhz: float = field(default_factory=lambda: float(_preset("clock_mhz")))
    # Host-protocol FIFO [PG080]
    fifo_data_bits: int = 32

    @classmethod
    def for_engine(cls, cfg, acc_clock_mhz: float, **engine_kw) -> ShellParams:
        """The shell around the op engine built for `cfg` (its masters' count and widths) at this clock."""
        from sparsesim.rtl.opengine.shellcore import port_widths

        w = port_widths(cfg, **engine_kw)
        return cls(acc_clock_mhz=acc_clock_mhz, acc_masters=w["masters"], acc_data_bits=w["data_bits"],
                   acc_id_bits=w["id_bits"])  # fmt: skip

    # ------------------------------------------------------------------------------------------ derived
    @property
    def ddr_data_width_pins(self) -> int:
        return self.ddr_data_bits + self.ddr_ecc_bits

    @property
    def ddr_time_period_ps(self) -> int:
        """Memory clock period: two transfers per clock, in whole picoseconds as PG150's GUI takes it."""
        return int(1e6 / (self.ddr_mts / 2))

    @property
    def ddr_axi_data_bits(self) -> int:
        """[PG150] 4:1: each user-interface beat carries 2 x 4 memory transfers of the data bits."""
        return 2 * self.ddr_ui_ratio * self.ddr_data_bits

    @property
    def ddr_axi_addr_bits(self) -> int:
        return (self.ddr_channel_bytes - 1).bit_length()

    @property
    def ddr_map(self) -> tuple[AddressRange, ...]:
        """The DDR4 channels, one after another from address 0 (each its own 16 GiB)."""
        return tuple(
            AddressRange(f"ddr4_c{i}", i * self.ddr_channel_bytes, self.ddr_channel_bytes)
            for i in range(self.ddr_channels)
        )

    @property
    def fifo_data(self) -> AddressRange:
        """The host FIFO's AXI4 data port, after the DDR4 (reached by H2C / C2H DMA)."""
        return AddressRange("host_fifo_data", self.ddr_channels * self.ddr_channel_bytes, 64 * 1024)

    @property
    def acc_addr_bits(self) -> int:
        """Address bits of the memory-mapped space (DDR4 and the FIFO's data port)."""
        return (self.fifo_data.end - 1).bit_length()

    @property
    def lite_map(self) -> tuple[AddressRange, ...]:
        """The AXI-Lite BAR (`/dev/xdma0_user` offsets): the FIFO's registers, the accelerator's registers."""
        return (AddressRange("host_fifo_regs", 0x0, 0x1_0000), AddressRange("acc_ctrl", 0x1_0000, 0x1_0000))

    def lite(self, name: str) -> AddressRange:
        return next(r for r in self.lite_map if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            board_part=BOARD_PART, ddr_time_period_ps=self.ddr_time_period_ps,
            ddr_axi_data_bits=self.ddr_axi_data_bits, ddr_axi_addr_bits=self.ddr_axi_addr_bits,
            acc_addr_bits=self.acc_addr_bits,
            memory_map=[{"name": r.name, "base": hex(r.base), "size": hex(r.size)}
                        for r in (*self.ddr_map, self.fifo_data)],
            lite_map=[{"name": r.name, "base": hex(r.base), "size": hex(r.size)} for r in self.lite_map],
        )  # fmt: skip
        return out


# --------------------------------------------------------------------------------------- TCL generation
def _dict(props: dict[str, Any]) -> str:
    return " ".join(f"CONFIG.{k} {{{v}}}" for k, v in props.items())


def _range(size: int) -> str:
    for unit, scale in (("G", GIB), ("M", 1 << 20), ("K", 1024)):
        if size % scale == 0:
            return f"{size // scale}{unit}"
    raise ValueError(f"range {size} is not a whole number of KiB")


def ddr4_config(p: ShellParams, channel: int) -> dict[str, Any]:
    """The DDR4 IP's configuration for one channel [PG150 names; values UG1268 / board files]. Channel
    ACC_CLOCK_CHANNEL also makes the accelerator's clock (PG150's additional UI clock output, in MHz)."""
    extra = {"ADDN_UI_CLKOUT1_FREQ_HZ": f"{p.acc_clock_mhz:g}"} if channel == ACC_CLOCK_CHANNEL else {}
    return extra | {
        "C0_DDR4_BOARD_INTERFACE": f"ddr4_sdram_c{channel}",
        "C0_CLOCK_BOARD_INTERFACE": f"default_300mhz_clk{channel}",
        "C0.DDR4_MemoryType": p.ddr_memory_type,
        "C0.DDR4_MemoryPart": p.ddr_memory_part,
        "C0.DDR4_TimePeriod": p.ddr_time_period_ps,
        "C0.DDR4_InputClockPeriod": p.ddr_ref_clock_ps,
        "C0.DDR4_DataWidth": p.ddr_data_width_pins,
        "C0.DDR4_Ecc": "true" if p.ddr_ecc_bits else "false",
        "C0.DDR4_AxiSelection": "true",
        "C0.DDR4_AxiDataWidth": p.ddr_axi_data_bits,
        "C0.DDR4_AxiAddressWidth": p.ddr_axi_addr_bits,
        "C0.DDR4_AxiIDWidth": p.acc_id_bits,
        "C0.DDR4_Mem_Add_Map": "ROW_COLUMN_BANK_INTLV",
    }


def xdma_config(p: ShellParams) -> dict[str, Any]:
    """The XDMA IP's configuration [PG195 names; board interfaces from the board files]."""
    return {
        "PCIE_BOARD_INTERFACE": f"pci_express_x{p.pcie_lanes}",
        "SYS_RST_N_BOARD_INTERFACE": "pcie_perstn",
        "functional_mode": "DMA",
        "mode_selection": "Advanced",
        "pl_link_cap_max_link_width": f"X{p.pcie_lanes}",
        "pl_link_cap_max_link_speed": p.pcie_speed,
        "axi_data_width": f"{p.xdma_data_bits}_bit",
        "axisten_freq": p.xdma_clock_mhz,
        "xdma_axi_intf_mm": "AXI_Memory_Mapped",
        "xdma_rnum_chnl": 1,
        "xdma_wnum_chnl": 1,
        "axilite_master_en": "true",
        "axilite_master_size": p.xdma_lite_bytes >> 20,
        "axilite_master_scale": "Megabytes",
    }


def fifo_config(p: ShellParams) -> dict[str, Any]:
    """The host FIFO [PG080]: AXI4 data interface, store-and-forward, 32-bit words."""
    return {
        "C_DATA_INTERFACE_TYPE": 1,  # AXI4 (full) data port beside the AXI4-Lite registers
        "C_S_AXI4_DATA_WIDTH": p.fifo_data_bits,
        "C_USE_TX_CTRL": 0,
        "C_TX_FIFO_DEPTH": 4096,
        "C_RX_FIFO_DEPTH": 4096,
    }


def shell_tcl(p: ShellParams) -> str:
    """The block design `sparsesim_shell` as Vivado TCL (run in a project for the VCU1525 board part)."""
    acc_ports = [f"S_AXI_ACC{i}" for i in range(p.acc_masters)]
    n_si, n_mi = 1 + p.acc_masters, p.ddr_channels + 1
    lines = [
        "# The VCU1525 memory and host shell (generated by sparsesim/fpga/shell.py; docs/fpga.md).",
        "# Four DDR4 channels (PG150), PCIe Gen3 x16 XDMA (PG195), SmartConnect (PG247), host FIFO (PG080).",
        "# Run inside Vivado after the project exists; unverified until Vivado runs it (docs/fpga.md).",
        "if {[llength [get_projects -quiet]] == 0} {",
        f"  create_project -in_memory -part {PART}",
        "}",
        f"set_property board_part {BOARD_PART} [current_project]",
        f"create_bd_design {BD_NAME}",
        "",
        "# ---- the accelerator's side: clock and reset (out: made here, below), AXI4 masters, AXI-Lite",
        "# control, host byte streams",
        "create_bd_port -dir O -type clk acc_clk",
        "create_bd_port -dir O -type rst acc_resetn",
        "set_property CONFIG.POLARITY ACTIVE_LOW [get_bd_ports acc_resetn]",
    ]
    for port in acc_ports:
        lines += [
            f"create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:aximm_rtl:1.0 {port}",
            f"set_property -dict [list CONFIG.PROTOCOL {{AXI4}} CONFIG.DATA_WIDTH {{{p.acc_data_bits}}} "
            f"CONFIG.ADDR_WIDTH {{{p.acc_addr_bits}}} CONFIG.ID_WIDTH {{{p.acc_id_bits}}} "
            f"CONFIG.FREQ_HZ {{{int(p.acc_clock_mhz * 1e6)}}}] [get_bd_intf_ports {port}]",
        ]
    lines += [
        "create_bd_intf_port -mode Master -vlnv xilinx.com:interface:aximm_rtl:1.0 M_AXIL_CTRL",
        "set_property -dict [list CONFIG.PROTOCOL {AXI4LITE} CONFIG.DATA_WIDTH {32} "
        f"CONFIG.ADDR_WIDTH {{{(p.xdma_lite_bytes - 1).bit_length()}}}] [get_bd_intf_ports M_AXIL_CTRL]",
        "create_bd_intf_port -mode Master -vlnv xilinx.com:interface:axis_rtl:1.0 AXIS_HOST_TX",
        "create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:axis_rtl:1.0 AXIS_HOST_RX",
        f"set_property -dict [list CONFIG.TDATA_NUM_BYTES {{{p.fifo_data_bits // 8}}} CONFIG.HAS_TKEEP {{1}} "
        "CONFIG.HAS_TLAST {1}] [get_bd_intf_ports AXIS_HOST_RX]",
        "set_property CONFIG.ASSOCIATED_BUSIF {"
        + ":".join([*acc_ports, "M_AXIL_CTRL", "AXIS_HOST_TX", "AXIS_HOST_RX"])
        + "} [get_bd_ports acc_clk]",
        "",
        "# ---- PCIe: XDMA with its reference clock buffer (IBUFDS_GTE4)",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:util_ds_buf pcie_refclk_buf",
        "set_property -dict [list CONFIG.C_BUF_TYPE {IBUFDSGTE} CONFIG.DIFF_CLK_IN_BOARD_INTERFACE "
        "{pcie_refclk} CONFIG.USE_BOARD_FLOW {true}] [get_bd_cells pcie_refclk_buf]",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:xdma xdma_0",
        f"set_property -dict [list {_dict(xdma_config(p))}] [get_bd_cells xdma_0]",
        "create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 pcie_refclk",
        "connect_bd_intf_net [get_bd_intf_ports pcie_refclk] [get_bd_intf_pins pcie_refclk_buf/CLK_IN_D]",
        "connect_bd_net [get_bd_pins pcie_refclk_buf/IBUF_OUT] [get_bd_pins xdma_0/sys_clk_gt]",
        "connect_bd_net [get_bd_pins pcie_refclk_buf/IBUF_DS_ODIV2] [get_bd_pins xdma_0/sys_clk]",
        "create_bd_port -dir I -type rst pcie_perstn",
        "connect_bd_net [get_bd_ports pcie_perstn] [get_bd_pins xdma_0/sys_rst_n]",
        "create_bd_intf_port -mode Master -vlnv xilinx.com:interface:pcie_7x_mgt_rtl:1.0 pcie_mgt",
        "connect_bd_intf_net [get_bd_intf_ports pcie_mgt] [get_bd_intf_pins xdma_0/pcie_mgt]",
        "",
        "# ---- four DDR4 channels, each on its board interface and 300 MHz reference clock",
    ]
    for i in range(p.ddr_channels):
        cell = f"ddr4_c{i}"
        lines += [
            f"create_bd_cell -type ip -vlnv xilinx.com:ip:ddr4 {cell}",
            f"set_property -dict [list {_dict(ddr4_config(p, i))}] [get_bd_cells {cell}]",
            f"create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 "
            f"default_300mhz_clk{i}",
            f"set_property CONFIG.FREQ_HZ {{300000000}} [get_bd_intf_ports default_300mhz_clk{i}]",
            f"connect_bd_intf_net [get_bd_intf_ports default_300mhz_clk{i}] "
            f"[get_bd_intf_pins {cell}/C0_SYS_CLK]",
            f"create_bd_intf_port -mode Master -vlnv xilinx.com:interface:ddr4_rtl:1.0 ddr4_sdram_c{i}",
            f"connect_bd_intf_net [get_bd_intf_ports ddr4_sdram_c{i}] [get_bd_intf_pins {cell}/C0_DDR4]",
            f"connect_bd_net [get_bd_pins xdma_0/axi_aresetn] [get_bd_pins {cell}/c0_ddr4_aresetn]",
        ]
    lines += [
        "# The DDR4 controllers' own reset (active high): held while PCIe is in reset.",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:util_vector_logic ddr_reset_inv",
        "set_property -dict [list CONFIG.C_OPERATION {not} CONFIG.C_SIZE {1}] [get_bd_cells ddr_reset_inv]",
        "connect_bd_net [get_bd_ports pcie_perstn] [get_bd_pins ddr_reset_inv/Op1]",
        *[f"connect_bd_net [get_bd_pins ddr_reset_inv/Res] [get_bd_pins ddr4_c{i}/sys_rst]"
          for i in range(p.ddr_channels)],
        "",
        "# ---- host FIFO (PG080): the host protocol's bytes between the XDMA and a board core",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:axi_fifo_mm_s host_fifo",
        f"set_property -dict [list {_dict(fifo_config(p))}] [get_bd_cells host_fifo]",
        "connect_bd_intf_net [get_bd_intf_pins host_fifo/AXI_STR_TXD] [get_bd_intf_ports AXIS_HOST_TX]",
        "connect_bd_intf_net [get_bd_intf_ports AXIS_HOST_RX] [get_bd_intf_pins host_fifo/AXI_STR_RXD]",
        "",
        f"# ---- memory-mapped crossbar: XDMA + {p.acc_masters} accelerator masters -> "
        f"{p.ddr_channels} DDR4 channels + the FIFO's data port",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect mem_sc",
        f"set_property -dict [list CONFIG.NUM_SI {{{n_si}}} CONFIG.NUM_MI {{{n_mi}}} "
        f"CONFIG.NUM_CLKS {{{2 + p.ddr_channels}}}] [get_bd_cells mem_sc]",
        "connect_bd_net [get_bd_pins xdma_0/axi_aclk] [get_bd_pins mem_sc/aclk]",
        "connect_bd_net [get_bd_pins xdma_0/axi_aresetn] [get_bd_pins mem_sc/aresetn]",
        "connect_bd_intf_net [get_bd_intf_pins xdma_0/M_AXI] [get_bd_intf_pins mem_sc/S00_AXI]",
    ]
    for i, port in enumerate(acc_ports, start=1):
        lines.append(f"connect_bd_intf_net [get_bd_intf_ports {port}] [get_bd_intf_pins mem_sc/S{i:02d}_AXI]")
    for i in range(p.ddr_channels):
        lines += [
            f"connect_bd_intf_net [get_bd_intf_pins mem_sc/M{i:02d}_AXI] "
            f"[get_bd_intf_pins ddr4_c{i}/C0_DDR4_S_AXI]",
            f"connect_bd_net [get_bd_pins ddr4_c{i}/c0_ddr4_ui_clk] [get_bd_pins mem_sc/aclk{2 + i}]",
        ]
    lines += [
        f"connect_bd_intf_net [get_bd_intf_pins mem_sc/M{p.ddr_channels:02d}_AXI] "
        "[get_bd_intf_pins host_fifo/S_AXI_FULL]",
        "",
        "# ---- AXI-Lite (the XDMA's BAR, /dev/xdma0_user): FIFO registers, accelerator registers",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect lite_sc",
        "set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {2} CONFIG.NUM_CLKS {2}] "
        "[get_bd_cells lite_sc]",
        "connect_bd_net [get_bd_pins xdma_0/axi_aclk] [get_bd_pins lite_sc/aclk]",
        "connect_bd_net [get_bd_pins xdma_0/axi_aresetn] [get_bd_pins lite_sc/aresetn]",
        "connect_bd_intf_net [get_bd_intf_pins xdma_0/M_AXI_LITE] [get_bd_intf_pins lite_sc/S00_AXI]",
        "connect_bd_intf_net [get_bd_intf_pins lite_sc/M00_AXI] [get_bd_intf_pins host_fifo/S_AXI]",
        "connect_bd_intf_net [get_bd_intf_pins lite_sc/M01_AXI] [get_bd_intf_ports M_AXIL_CTRL]",
        "",
        f"# ---- the array clock: DDR4 channel {ACC_CLOCK_CHANNEL}'s additional user-interface clock, "
        f"{p.acc_clock_mhz:g} MHz",
        "# (PG150): that channel's controller takes clk300 #0, which the board-only top's MMCM used; its",
        "# reset (PG164 Processor System Reset) is held until the controller is calibrated",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset acc_reset",
        "set_property CONFIG.C_EXT_RESET_HIGH {1} [get_bd_cells acc_reset]",
        f"connect_bd_net [get_bd_pins ddr4_c{ACC_CLOCK_CHANNEL}/addn_ui_clkout1] [get_bd_ports acc_clk] "
        "[get_bd_pins acc_reset/slowest_sync_clk] [get_bd_pins host_fifo/s_axi_aclk] "
        "[get_bd_pins mem_sc/aclk1] [get_bd_pins lite_sc/aclk1]",
        f"connect_bd_net [get_bd_pins ddr4_c{ACC_CLOCK_CHANNEL}/c0_ddr4_ui_clk_sync_rst] "
        "[get_bd_pins acc_reset/ext_reset_in]",
        f"connect_bd_net [get_bd_pins ddr4_c{ACC_CLOCK_CHANNEL}/c0_init_calib_complete] "
        "[get_bd_pins acc_reset/dcm_locked]",
        "connect_bd_net [get_bd_pins acc_reset/peripheral_aresetn] [get_bd_ports acc_resetn] "
        "[get_bd_pins host_fifo/s_axi_aresetn]",
        "",
        "# ---- address map (ShellParams.ddr_map, fifo_data, lite_map)",
    ]
    spaces = ["[get_bd_addr_spaces xdma_0/M_AXI]", *[f"[get_bd_addr_spaces {port}]" for port in acc_ports]]
    for space in spaces:
        for i, r in enumerate(p.ddr_map):
            lines.append(
                f"assign_bd_address -offset 0x{r.base:X} -range {_range(r.size)} -target_address_space "
                f"{space} [get_bd_addr_segs ddr4_c{i}/C0_DDR4_MEMORY_MAP/C0_DDR4_ADDRESS_BLOCK] -force"
            )
    fd = p.fifo_data
    lines.append(
        f"assign_bd_address -offset 0x{fd.base:X} -range {_range(fd.size)} -target_address_space "
        f"{spaces[0]} [get_bd_addr_segs host_fifo/S_AXI_FULL/Mem1] -force"
    )
    regs, ctrl = p.lite("host_fifo_regs"), p.lite("acc_ctrl")
    lines += [
        f"assign_bd_address -offset 0x{regs.base:X} -range {_range(regs.size)} -target_address_space "
        "[get_bd_addr_spaces xdma_0/M_AXI_LITE] [get_bd_addr_segs host_fifo/S_AXI/Mem0] -force",
        f"assign_bd_address -offset 0x{ctrl.base:X} -range {_range(ctrl.size)} -target_address_space "
        "[get_bd_addr_spaces xdma_0/M_AXI_LITE] [get_bd_addr_segs M_AXIL_CTRL/Reg] -force",
        "",
        "validate_bd_design",
        "save_bd_design",
        f"make_wrapper -files [get_files {BD_NAME}.bd] -top -import",
        f"generate_target all [get_files {BD_NAME}.bd]",
    ]
    return "\n".join(lines) + "\n"


def readme(p: ShellParams) -> str:
    rows = "\n".join(f"| {r.name} | 0x{r.base:X} | {_range(r.size)} |" for r in (*p.ddr_map, p.fifo_data))
    lite = "\n".join(f"| {r.name} | 0x{r.base:X} | {_range(r.size)} |" for r in p.lite_map)
    return f"""# Memory and host shell (block design `{BD_NAME}`)

`{BD_NAME}.tcl` builds, inside a Vivado project for board part `{BOARD_PART}`, the card's shell: four
DDR4 controllers ({p.ddr_memory_part}, DDR4-{p.ddr_mts}, x{p.ddr_data_width_pins} with ECC, AXI
{p.ddr_axi_data_bits} bits), an XDMA (PCIe Gen3 x{p.pcie_lanes}, AXI {p.xdma_data_bits} bits at
{p.xdma_clock_mhz} MHz), SmartConnect crossbars and the host FIFO. The accelerator connects through the
block design's ports: `acc_clk` / `acc_resetn` (outputs: DDR4 channel {ACC_CLOCK_CHANNEL}'s additional UI
clock at {p.acc_clock_mhz:g} MHz and its reset), {p.acc_masters} AXI4 slave ports `S_AXI_ACC<i>` for its
masters ({p.acc_data_bits}-bit data, {p.acc_addr_bits}-bit address, {p.acc_id_bits}-bit ID), the AXI-Lite
master `M_AXIL_CTRL` for its registers, and `AXIS_HOST_TX` / `AXIS_HOST_RX`, the host protocol's byte
stream ({p.fifo_data_bits}-bit words, for a top with the board core).

```
vivado -mode batch -source sparsesim_shell_project.tcl   # the top with this shell (sparsesim_shell_top.v)
vivado -mode batch -source {BD_NAME}.tcl                 # the block design alone (in memory)
```

`sparsesim_shell_top.v` instantiates the block design's wrapper beside the shell core
(`sparsesim_shell_core.v`: the op engine behind its AXI4-Lite registers, which `M_AXIL_CTRL` reaches at
0x1_0000 of the BAR; its masters on `S_AXI_ACC0` (weights read), `1` (activations read), `2` (results
write); the UART reads and writes the same registers for debug). `AXIS_HOST_*` are tied off in this top.
Register map: sparsesim/rtl/opengine/regmap.py; the host side: `sparsesim fpga run-op` and
sparsesim/fpga/engine_host.py (docs/fpga.md).

Unverified until Vivado runs it: the IP versions' parameter names, the board file's interface names, the
address segment names, timing. docs/fpga.md ("Memory and host shell") lists what was checked here.

Memory map (XDMA `M_AXI` = `/dev/xdma0_h2c_0` / `_c2h_0` file offsets; the accelerator's masters see the
DDR4 at the same addresses):

| range | base | size |
|---|---|---|
{rows}

AXI-Lite (`/dev/xdma0_user` offsets):

| range | base | size |
|---|---|---|
{lite}
"""


def write_shell(folder: Path, p: ShellParams) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{BD_NAME}.tcl").write_text(shell_tcl(p))
    (folder / "README.md").write_text(readme(p))
