"""Amaranth platform for the Xilinx VCU1525 acceleration card (XCVU9P-L2FSGD2104E), the card the paper used.

Every pin cites where it comes from (`PIN_SOURCES`; docs/fpga.md has the table and the links). Sources:

- [UG1289] AMD, "Alveo U200 and U250 Data Center Accelerator Cards User Guide" (UG1289), section
  "Miscellaneous I/O" (the bank 64 signals: USB-UART, PCIe reset, QSFP control),
  https://docs.amd.com/r/en-US/ug1289-u200-u250-reconfig-accel/Miscellaneous-I/O . The U200 is the
  production version of the VCU1525 board (same FSGD2104 package and pin-out; Corundum builds the VCU1525
  and the AU200 from one constraints file, see below).
- [Corundum-VCU1525] corundum/corundum `fpga/mqnic/VCU1525/fpga_100g/fpga.xdc` ("XDC constraints for the
  Xilinx VCU1525 board, part: xcvu9p-fsgd2104-2L-e"); [Corundum-AU200] its successor for "AU200/AU250/VCU1525"
  and `fpga/mqnic/AU200/.../fpga.xdc`.
- [LiteX] litex-hub/litex-boards `litex_boards/platforms/sqrl_xcu1525.py`.

UART direction (the sources disagree; docs/fpga.md, "UART direction"). UG1289 names the nets from the FT4232's
side and gives the direction from the FPGA's: USB_UART_TX, BF18, Input, "UART Input from FTDI FT4232 TX
output"; USB_UART_RX, BB20, Output, "UART Output to FTDI FT4232 RX input". LiteX agrees (serial rx =
BF18, tx = BB20). Corundum contradicts it twice: [Corundum-VCU1525] comments out `uart_txd` BB20 /
`uart_rxd` BF18 but puts DRIVE (an output attribute) on BF18; [Corundum-AU200] drives `uart_txd` (an output
in Corundum's naming) on BF18 and reads `uart_rxd` on BB20. We follow the vendor's user guide, backed by
LiteX: the FPGA receives on BF18 and transmits on BB20. `VCU1525Platform(swap_uart=True)` (`sparsesim fpga
build --swap-uart`) builds the other assignment, in case a card proves the guide wrong.

The 300 MHz system clocks sit in 1.2 V HP banks (the DDR4 banks). UG1289 (same section) warns that LVDS clocks
on 1.2 V banks need DQS_BIAS or an input standard that re-biases internally "similar to the SSTL12
standard": we use DIFF_SSTL12, as LiteX does (Corundum's commented-out lines use plain LVDS).
"""

from __future__ import annotations

from typing import Any

from amaranth.build import Attrs, Clock, DiffPairs, Pins, Resource, Subsignal
from amaranth.vendor import XilinxPlatform

PART = "xcvu9p-fsgd2104-2L-e"
CLK300_HZ = 300e6

# Bitstream and configuration settings for the XDC (docs/fpga.md, "Bitstream settings"): name, value, source.
BITSTREAM_PROPERTIES: tuple[tuple[str, str, str], ...] = (
    ("CONFIG_VOLTAGE", "1.8", "[Corundum-VCU1525] configuration bank voltage"),
    ("CFGBVS", "GND", "[Corundum-VCU1525] configuration bank at 1.8 V"),
    ("BITSTREAM.GENERAL.COMPRESS", "TRUE", "[Corundum-VCU1525, LiteX] smaller bitstream, faster programming"),
    ("BITSTREAM.CONFIG.OVERTEMPSHUTDOWN", "ENABLE", "[LiteX, Corundum-AU200] the card is passively cooled"),
    ("BITSTREAM.CONFIG.CONFIGFALLBACK", "ENABLE", "[Corundum-VCU1525]"),
    ("BITSTREAM.CONFIG.EXTMASTERCCLK_EN", "DISABLE", "[Corundum-VCU1525]"),
    ("BITSTREAM.CONFIG.CONFIGRATE", "85.0", "[Corundum-VCU1525] SPI configuration clock, MHz"),
    ("BITSTREAM.CONFIG.SPI_32BIT_ADDR", "YES", "[Corundum-VCU1525] 1 Gb SPI flash"),
    ("BITSTREAM.CONFIG.SPI_BUSWIDTH", "4", "[Corundum-VCU1525] SPI x4 configuration"),
    ("BITSTREAM.CONFIG.SPI_FALL_EDGE", "YES", "[Corundum-VCU1525]"),
    ("BITSTREAM.CONFIG.UNUSEDPIN", "PULLUP", "[Corundum-VCU1525]"),
)  # fmt: skip

# (resource, index, signal) -> (pin, source)
PIN_SOURCES: dict[tuple[str, int, str], tuple[str, str]] = {
    ("clk300", 0, "p"): ("AY37", "Corundum-VCU1525 clk_300mhz_0_p; LiteX clk300 0 p"),
    ("clk300", 0, "n"): ("AY38", "Corundum-VCU1525 clk_300mhz_0_n; LiteX clk300 0 n"),
    ("clk300", 1, "p"): ("AW20", "Corundum-VCU1525 clk_300mhz_1_p; LiteX clk300 1 p"),
    ("clk300", 1, "n"): ("AW19", "Corundum-VCU1525 clk_300mhz_1_n; LiteX clk300 1 n"),
    ("clk300", 2, "p"): ("F32", "Corundum-VCU1525 clk_300mhz_2_p; LiteX clk300 2 p"),
    ("clk300", 2, "n"): ("E32", "Corundum-VCU1525 clk_300mhz_2_n; LiteX clk300 2 n"),
    ("clk300", 3, "p"): ("J16", "Corundum-VCU1525 clk_300mhz_3_p; LiteX clk300 3 p"),
    ("clk300", 3, "n"): ("H16", "Corundum-VCU1525 clk_300mhz_3_n; LiteX clk300 3 n"),
    ("led", 0, "o"): ("BC21", "Corundum-VCU1525 led[0]; LiteX user_led 0"),
    ("led", 1, "o"): ("BB21", "Corundum-VCU1525 led[1]; LiteX user_led 1"),
    ("led", 2, "o"): ("BA20", "Corundum-VCU1525 led[2]; LiteX user_led 2"),
    ("switch", 0, "i"): ("AN22", "Corundum-VCU1525 sw[0]"),
    ("switch", 1, "i"): ("AM19", "Corundum-VCU1525 sw[1]"),
    ("switch", 2, "i"): ("AL19", "Corundum-VCU1525 sw[2]"),
    ("switch", 3, "i"): ("AP20", "Corundum-VCU1525 sw[3]"),
    ("uart", 0, "rx"): ("BF18", "UG1289 USB_UART_TX, Input (from the FT4232's TX); LiteX serial rx"),
    ("uart", 0, "tx"): ("BB20", "UG1289 USB_UART_RX, Output (to the FT4232's RX); LiteX serial tx"),
}


def pin(resource: str, index: int, signal: str) -> str:
    return PIN_SOURCES[(resource, index, signal)][0]


def _clk300(index: int) -> Resource:
    return Resource(
        "clk300", index,
        DiffPairs(pin("clk300", index, "p"), pin("clk300", index, "n"), dir="i"),
        Clock(CLK300_HZ), Attrs(IOSTANDARD="DIFF_SSTL12"),
    )  # fmt: skip


def _uart(swap: bool) -> Resource:
    rx, tx = pin("uart", 0, "rx"), pin("uart", 0, "tx")
    if swap:
        rx, tx = tx, rx
    return Resource(
        "uart", 0,
        Subsignal("rx", Pins(rx, dir="i")),
        Subsignal("tx", Pins(tx, dir="o"), Attrs(SLEW="SLOW", DRIVE="8")),
        Attrs(IOSTANDARD="LVCMOS12"),
    )  # fmt: skip


def bitstream_constraints() -> str:
    return "\n".join(
        f"set_property {name} {value} [current_design]" for name, value, _ in BITSTREAM_PROPERTIES
    )


class VCU1525Platform(XilinxPlatform):
    """The VCU1525 with the resources the board top uses: four 300 MHz clocks, three LEDs, four DIP switches
    and the USB-UART (the FT4232 channel wired to the FPGA), LVCMOS12 in the 1.2 V bank 64.

    The XDC of every build gets this card's bitstream and configuration settings (BITSTREAM_PROPERTIES)
    ahead of any `add_constraints` the caller passes."""

    device = "xcvu9p"
    package = "fsgd2104"
    speed = "2L-e"
    default_clk = "clk300"
    resources: list[Resource] = []  # this instance's, built in __init__ (the UART pins depend on swap_uart)
    connectors: list[Any] = []

    def __init__(self, *, swap_uart: bool = False, toolchain: str | None = None):
        self.swap_uart = swap_uart
        self.resources = [
            *[_clk300(i) for i in range(4)],
            *[Resource("led", i, Pins(pin("led", i, "o"), dir="o"),
                       Attrs(IOSTANDARD="LVCMOS12", SLEW="SLOW", DRIVE="8")) for i in range(3)],
            *[Resource("switch", i, Pins(pin("switch", i, "i"), dir="i"), Attrs(IOSTANDARD="LVCMOS12"))
              for i in range(4)],
            _uart(swap_uart),
        ]  # fmt: skip
        super().__init__(toolchain=toolchain)

    def toolchain_prepare(self, fragment, name, **kwargs):
        extra = kwargs.pop("add_constraints", "")
        constraints = (
            "# Bitstream and configuration (rtl/vcu1525.py BITSTREAM_PROPERTIES)\n" + bitstream_constraints()
        )
        if extra:
            constraints += "\n" + extra
        return super().toolchain_prepare(fragment, name, add_constraints=constraints, **kwargs)
