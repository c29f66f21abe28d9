"""AXI4 master interfaces (the signals of "AMBA AXI and ACE Protocol Specification", ARM IHI 0022, that a
memory master needs: INCR bursts, one ID, full-width beats). Members are named as the spec names the wires,
so an exported port `<name>__araddr` is what cocotbext-axi's `AxiBus.from_prefix(dut, "<name>_")` finds."""

from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

ID_BITS = 4
BURST_INCR = 1  # AxBURST encoding of INCR (IHI 0022, A3.4.1)
BOUNDARY_BYTES = 4096  # a burst must not cross a 4 KiB address boundary (IHI 0022, A3.4.1)
MAX_BURST_BEATS = 256  # AXI4 INCR bursts: AxLEN + 1 <= 256


def read_master(addr_bits: int, data_bytes: int) -> wiring.Signature:
    return wiring.Signature(
        {
            "arid": Out(ID_BITS), "araddr": Out(addr_bits), "arlen": Out(8), "arsize": Out(3),
            "arburst": Out(2), "arvalid": Out(1), "arready": In(1),
            "rid": In(ID_BITS), "rdata": In(8 * data_bytes), "rresp": In(2), "rlast": In(1),
            "rvalid": In(1), "rready": Out(1),
        }
    )  # fmt: skip


def write_master(addr_bits: int, data_bytes: int) -> wiring.Signature:
    return wiring.Signature(
        {
            "awid": Out(ID_BITS), "awaddr": Out(addr_bits), "awlen": Out(8), "awsize": Out(3),
            "awburst": Out(2), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(8 * data_bytes), "wstrb": Out(data_bytes), "wlast": Out(1), "wvalid": Out(1),
            "wready": In(1),
            "bid": In(ID_BITS), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        }
    )  # fmt: skip
