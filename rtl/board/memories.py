"""The board's buffers: a behavioural simple dual-port RAM (Verilog module or Amaranth memory), the port
signatures its users connect to, and the reader that streams words out of one."""

from __future__ import annotations

import math

from amaranth.hdl import ClockSignal, Instance, Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out


def addr_bits(depth: int) -> int:
    return max(1, math.ceil(math.log2(depth)))


def read_port(width: int, depth: int) -> wiring.Signature:
    """A RAM read port as its user sees it: `data` is registered, held while `en` is low."""
    return wiring.Signature({"en": Out(1), "addr": Out(addr_bits(depth)), "data": In(width)})


def write_port(width: int, depth: int) -> wiring.Signature:
    """A RAM write port as its user sees it."""
    return wiring.Signature({"en": Out(1), "addr": Out(addr_bits(depth)), "data": Out(width)})


RAM_STYLES = ("ultra", "block")


def ram_module_name(style: str) -> str:
    return f"sparsesim_sdp_ram_{style}"


def ram_verilog() -> str:
    """Verilog of the buffers' simple dual-port RAM, one module per `ram_style`. Behavioural, so Vivado infers
    URAM288 / RAMB36E2 (and Yosys maps them the same way); no initial contents in synthesis (URAM has none),
    zeros in simulation."""
    out = ["/* sparsesim board buffers: simple dual-port RAM, registered read with enable (rtl/board) */"]
    for style in RAM_STYLES:
        out.append(f"""module {ram_module_name(style)} #(
    parameter WIDTH = 8, parameter DEPTH = 16, parameter ADDR_BITS = 4
) (
    input wire clk,
    input wire we,
    input wire [ADDR_BITS-1:0] waddr,
    input wire [WIDTH-1:0] wdata,
    input wire re,
    input wire [ADDR_BITS-1:0] raddr,
    output reg [WIDTH-1:0] rdata
);
    (* ram_style = "{style}" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
`ifndef SYNTHESIS
    integer i;
    initial begin
        rdata = 0;
        for (i = 0; i < DEPTH; i = i + 1) mem[i] = 0;
    end
`endif
    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) rdata <= mem[raddr];
    end
endmodule
""")
    return "\n".join(out)


class SDPRam(wiring.Component):
    """A simple dual-port RAM: a write port and a read port with enable (`read.data` registered, held while
    `read.en` is low). `verilog`: an instance of ram_verilog()'s module (what builds
    and the cocotb bench use; Amaranth's own memories take minutes to convert at URAM sizes, as they write
    every word's initial value); else an amaranth.lib.memory.Memory (for Amaranth's simulator)."""

    def __init__(self, width: int, depth: int, *, style: str = "block", verilog: bool = True):
        if style not in RAM_STYLES:
            raise ValueError(f"ram style must be one of {RAM_STYLES}, got {style!r}")
        self.width, self.depth, self.style, self.verilog = width, depth, style, verilog
        super().__init__({"write": In(write_port(width, depth)), "read": In(read_port(width, depth))})

    def elaborate(self, platform):
        m = Module()
        if self.verilog:
            m.submodules.ram = Instance(
                ram_module_name(self.style),
                p_WIDTH=self.width, p_DEPTH=self.depth, p_ADDR_BITS=addr_bits(self.depth),
                i_clk=ClockSignal("sync"), i_we=self.write.en, i_waddr=self.write.addr,
                i_wdata=self.write.data, i_re=self.read.en, i_raddr=self.read.addr, o_rdata=self.read.data,
            )  # fmt: skip
            return m
        m.submodules.mem = mem = memory.Memory(shape=self.width, depth=self.depth, init=[])
        wr, rd = mem.write_port(), mem.read_port()
        m.d.comb += [
            wr.en.eq(self.write.en),
            wr.addr.eq(self.write.addr),
            wr.data.eq(self.write.data),
            rd.en.eq(self.read.en),
            rd.addr.eq(self.read.addr),
            self.read.data.eq(rd.data),
        ]
        return m


class StreamReader(wiring.Component):
    """Streams `count` words of a memory from `base` through a synchronous read port, one per cycle.

    The read port's data register is the stream's payload: a transfer reads the next word in the same cycle
    (it appears with the next edge), and without a transfer the port is not enabled and holds its word."""

    def __init__(self, width: int, depth: int):
        self.depth = depth
        super().__init__({
            "start": In(1), "base": In(32), "count": In(32),
            "mem": Out(read_port(width, depth)), "out": Out(stream.Signature(width)),
        })  # fmt: skip

    def elaborate(self, platform):
        m = Module()
        ptr = Signal(33)
        left = Signal(33)
        fire = self.out.valid & self.out.ready
        nxt = ptr + 1
        m.d.comb += [self.out.payload.eq(self.mem.data)]
        with m.If(self.start):
            m.d.comb += [self.mem.addr.eq(self.base), self.mem.en.eq(1)]
            m.d.sync += [ptr.eq(self.base), left.eq(self.count), self.out.valid.eq(self.count != 0)]
        with m.Else():
            m.d.comb += [self.mem.addr.eq(Mux(nxt < self.depth, nxt, 0)), self.mem.en.eq(fire)]
            with m.If(fire):
                m.d.sync += [ptr.eq(nxt), left.eq(left - 1), self.out.valid.eq(left > 1)]
        return m
