"""The op engine's AXI4-Lite register block (the map: rtl/opengine/regmap.py): the descriptor registers,
START, STATUS and the engine's cycle counters, on the slave side of an AXI4-Lite port (Arm IHI 0022, "AMBA
AXI and ACE Protocol Specification", part B: AXI4-Lite; the shell's `M_AXIL_CTRL`).

Handshakes (IHI 0022 A3.3): the write address and write data channels are taken independently, each held
(its READY low) once taken until the write's response has been accepted, so a master may present AW and W in
any order or cycle; the response is registered (BVALID from a flip-flop). A read address is taken when no read
data waits, its address registered, and the data follows a cycle later from that register (RVALID from a
flip-flop). One write and one read are in flight at a time: what AXI4-Lite slaves commonly do (no IDs, so no
reordering is possible anyway).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import regmap

RESP_OKAY, RESP_SLVERR = 0b00, 0b10  # IHI 0022 A3.4.4


def axil_master(addr_bits: int) -> wiring.Signature:
    """AXI4-Lite as the master drives it (IHI 0022 B1.1: 32-bit data, no burst, ID, length or size)."""
    return wiring.Signature(
        {
            "awaddr": Out(addr_bits), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(32), "wstrb": Out(4), "wvalid": Out(1), "wready": In(1),
            "bresp": In(2), "bvalid": In(1), "bready": Out(1),
            "araddr": Out(addr_bits), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
            "rdata": In(32), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
        }
    )  # fmt: skip


def local_port() -> wiring.Signature:
    """A second, simple way into the registers (the UART debug bridge, uartregs.py), as its master drives
    it: `req` with `write`, `addr`, `wdata` held until `ack`, one cycle, with `rdata` and `err` (SLVERR)."""
    return wiring.Signature(
        {
            "req": Out(1), "write": Out(1), "addr": Out(regmap.WINDOW_BITS), "wdata": Out(32),
            "ack": In(1), "rdata": In(32), "err": In(1),
        }
    )  # fmt: skip


class ControlRegs(wiring.Component):
    """`bus`: the AXI4-Lite slave port; `local`: the debug bridge's port (served in cycles the AXI4-Lite
    side executes nothing, so the bus always goes first); `desc` / `start` to the engine, its state and
    counters back. `identity`: the constant registers (ID, VERSION, ARRAY, BUS) as {offset: value}."""

    def __init__(self, desc_bits: int, identity: dict[int, int], *, addr_bits: int = regmap.WINDOW_BITS):
        self.desc_bits = desc_bits
        self.identity = dict(identity)
        members = {
            "bus": In(axil_master(addr_bits)),
            "local": In(local_port()),
            "desc": Out(desc_bits),
            "start": Out(1),
            "busy": In(1),
            "done": In(1),
        }
        members |= {name: In(32) for name in regmap.COUNTERS.values()}
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        words = regmap.desc_words(self.desc_bits)
        desc = [Signal(32, name=f"desc{i}") for i in range(words)]
        m.d.comb += self.desc.eq(Cat(*desc)[: self.desc_bits])
        starts = Signal(8)

        ar_have, r_valid = Signal(), Signal()
        ar_addr = Signal(regmap.WINDOW_BITS)

        # ------------------------------------------------------------------------------------------ writes
        aw_have, w_have, b_valid = Signal(), Signal(), Signal()
        aw_addr = Signal(regmap.WINDOW_BITS)
        w_data, w_strb = Signal(32), Signal(4)
        m.d.comb += [
            bus.awready.eq(~aw_have & ~b_valid),
            bus.wready.eq(~w_have & ~b_valid),
            bus.bvalid.eq(b_valid),
        ]
        with m.If(bus.awvalid & bus.awready):
            m.d.sync += [aw_have.eq(1), aw_addr.eq(bus.awaddr[: regmap.WINDOW_BITS])]
        with m.If(bus.wvalid & bus.wready):
            m.d.sync += [w_have.eq(1), w_data.eq(bus.wdata), w_strb.eq(bus.wstrb)]
        m.d.sync += self.start.eq(0)

        def write(addr, data, strb, ok) -> None:
            """The register write at `addr` (sync statements in the current condition); `ok` set if mapped."""
            with m.Switch(addr):
                for i, offset in enumerate(regmap.desc_offsets(self.desc_bits)):
                    with m.Case(offset):
                        m.d.sync += ok.eq(1)
                        for b in range(4):
                            with m.If(strb[b]):
                                m.d.sync += desc[i][8 * b : 8 * b + 8].eq(data[8 * b : 8 * b + 8])
                with m.Case(regmap.CTRL):
                    m.d.sync += ok.eq(1)
                    with m.If(strb[0] & data[0] & ~self.busy):
                        m.d.sync += [self.start.eq(1), starts.eq(starts + 1)]

        readable = dict(self.identity)
        readable[regmap.STATUS] = Cat(self.busy, self.done, Const(0, 6), starts)
        for offset, name in regmap.COUNTERS.items():
            readable[offset] = getattr(self, name)
        for i, offset in enumerate(regmap.desc_offsets(self.desc_bits)):
            readable[offset] = desc[i]

        def read(addr, data, ok) -> None:
            with m.Switch(addr):
                for offset, value in readable.items():
                    with m.Case(offset):
                        m.d.sync += [data.eq(value), ok.eq(1)]

        b_ok = Signal()
        m.d.comb += bus.bresp.eq(Mux(b_ok, RESP_OKAY, RESP_SLVERR))
        local = self.local
        l_ok = Signal()
        m.d.sync += local.ack.eq(0)
        m.d.comb += local.err.eq(~l_ok)
        with m.If(aw_have & w_have):  # b_valid is low here: AW and W are not taken while it is high
            m.d.sync += [aw_have.eq(0), w_have.eq(0), b_valid.eq(1), b_ok.eq(0)]
            write(aw_addr, w_data, w_strb, b_ok)
        with m.Elif(local.req & ~local.ack & ~ar_have):
            m.d.sync += [local.ack.eq(1), l_ok.eq(0)]
            with m.If(local.write):
                write(local.addr, local.wdata, Const(0xF, 4), l_ok)
            with m.Else():
                m.d.sync += local.rdata.eq(0)
                read(local.addr, local.rdata, l_ok)
        with m.If(b_valid & bus.bready):
            m.d.sync += b_valid.eq(0)

        # ------------------------------------------------------------------------------------------- reads
        r_data = Signal(32)
        m.d.comb += [
            bus.arready.eq(~ar_have & ~r_valid),
            bus.rvalid.eq(r_valid),
            bus.rdata.eq(r_data),
        ]
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [ar_have.eq(1), ar_addr.eq(bus.araddr[: regmap.WINDOW_BITS])]
        r_ok = Signal()
        m.d.comb += bus.rresp.eq(Mux(r_ok, RESP_OKAY, RESP_SLVERR))
        with m.If(ar_have):
            m.d.sync += [ar_have.eq(0), r_valid.eq(1), r_data.eq(0), r_ok.eq(0)]
            read(ar_addr, r_data, r_ok)
        with m.If(r_valid & bus.rready):
            m.d.sync += r_valid.eq(0)
        return m
