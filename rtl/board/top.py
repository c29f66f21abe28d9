"""The board's tops: `BoardCore` composes the components of the array clock domain through wiring
connections (a new block, such as a DMA engine with AXI master ports, is one more component and its
connections here); `VCU1525Top` adds the clock/reset generator and the platform's pins."""


from amaranth.hdl import ClockDomain, Elaboratable, Module, Mux, Signal
from amaranth.lib import cdc, io, stream, wiring
from amaranth.lib.wiring import In, Out

from ..array import SparseArray
from ..uart import UARTRx, UARTTx
from .clocking import CRG, MMCMDividers
from .commands import CommandUnit
from .decoder import FrameDecoder
from .hoststream import BytesToWords, WordsToBytes, axis_layout
from .leds import StatusLEDs
from .memories import SDPRam
from .params import BoardParams
from .responder import Responder
from .runctl import RunControl


class BoardCore(wiring.Component):
    """UART + decoder + command unit + run control + responder + buffers + PE array + LEDs, in domain "sync"
    (docs/fpga.md, "Board top").

    With `host_stream_bytes` the host protocol also runs over AXI4-Stream (`host_rx` / `host_tx`, words of
    that many bytes: the shell's host FIFO, rtl/board/hoststream.py) beside the UART, one link at a time: an
    AXI4-Stream packet holds the decoder from its first byte to its last (UART bytes arriving meanwhile are
    lost, as in an overrun), and each response goes back on the link that delivered its request's last
    byte, as one packet (TLAST on its check byte)."""

    def __init__(
        self, params: BoardParams, *, cell_module: str | None = None, host_stream_bytes: int | None = None
    ):
        self.params = params
        self.cell_module = cell_module
        self.host_stream_bytes = host_stream_bytes
        members = {"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "leds": Out(3), "switches": In(4)}
        if host_stream_bytes:
            axis = stream.Signature(axis_layout(host_stream_bytes))
            members |= {"host_rx": In(axis), "host_tx": Out(axis)}
        super().__init__(members)

    def _memory(self, width: int, depth: int) -> SDPRam:
        p = self.params
        return SDPRam(width, depth, style="ultra" if p.uram else "block", verilog=p.verilog_ram)

    def elaborate(self, platform):
        p = self.params
        m = Module()
        m.submodules.rx = rx = UARTRx(p.clocks_per_bit)
        m.submodules.tx = tx = UARTTx(p.clocks_per_bit)
        m.submodules.decoder = dec = FrameDecoder(p)
        m.submodules.commands = cu = CommandUnit(p)
        m.submodules.runctl = rc = RunControl(p)
        m.submodules.responder = resp = Responder(p)
        m.submodules.array = arr = SparseArray(p.cfg, cell_module=self.cell_module)
        m.submodules.wmem = wmem = self._memory(p.weight_bits, p.weight_depth)
        m.submodules.amem = amem = self._memory(p.act_bits, p.act_depth)
        m.submodules.rmem = rmem = self._memory(p.result_bits, p.result_depth)
        m.submodules.leds = leds = StatusLEDs(p.heartbeat_bit)
        m.submodules.sync_sw = cdc.FFSynchronizer(self.switches, cu.switches)

        m.d.comb += [rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx)]
        # UART (and the AXI4-Stream host link) <-> frames
        if self.host_stream_bytes:
            self._host_links(m, rx, tx, dec, resp, cu)
        else:
            wiring.connect(m, rx.data, dec.rx)
            wiring.connect(m, resp.tx, tx.data)
        # buffers: the decoder writes weights / activations, run control reads them and writes results,
        # the responder reads results
        wiring.connect(m, dec.weights, wmem.write)
        wiring.connect(m, dec.acts, amem.write)
        wiring.connect(m, rc.wmem, wmem.read)
        wiring.connect(m, rc.amem, amem.read)
        wiring.connect(m, rc.rmem, rmem.write)
        wiring.connect(m, resp.rmem, rmem.read)
        # run control <-> array
        wiring.connect(m, rc.array_cmd, arr.cmd)
        wiring.connect(m, rc.array_weights, arr.weights)
        wiring.connect(m, rc.array_acts, arr.acts)
        wiring.connect(m, arr.results, rc.array_results)
        m.d.comb += [
            rc.array_cycle.eq(arr.cycle),
            rc.ev_load.eq(arr.ev_load),
            rc.ev_start.eq(arr.ev_start),
            rc.ev_done.eq(arr.ev_done),
        ]
        # decoder -> command unit -> run control / responder
        wiring.connect(m, dec.cmd, cu.cmd)
        m.d.comb += [
            cu.fields.eq(dec.fields),
            rc.desc.eq(dec.fields),
            rc.go.eq(cu.run_go),
            cu.run_done.eq(rc.done),
            cu.run_status.eq(rc.status),
            cu.run_result.eq(rc.run_done),
            cu.run_cycles.eq(rc.cycles),
            cu.cycle.eq(rc.cycle),
            cu.running.eq(rc.running),
            cu.runs.eq(rc.runs),
            cu.overflow.eq(rc.overflow),
            cu.uart_framing.eq(rx.framing_error),
            cu.uart_overrun.eq(rx.overrun),
            resp.start.eq(cu.resp_start),
            resp.status.eq(cu.resp_status),
            resp.tag.eq(cu.resp_tag),
            resp.length.eq(cu.resp_length),
            resp.buf.eq(cu.resp_buf),
            resp.from_results.eq(cu.resp_from_results),
            resp.rd_base.eq(cu.resp_rd_base),
            cu.resp_busy.eq(resp.busy),
            leds.running.eq(rc.running),
            leds.error.eq(cu.errors != 0),
            self.leds.eq(leds.leds),
        ]
        return m


    def _host_links(self, m: Module, rx, tx, dec, resp, cu) -> None:
        """The decoder's bytes from the AXI4-Stream packets or the UART, the responses back to the link of
        the request (class docstring)."""
        n = int(self.host_stream_bytes)  # type: ignore[arg-type]
        m.submodules.host_in = w2b = WordsToBytes(n)
        m.submodules.host_out = b2w = BytesToWords(n)
        wiring.connect(m, wiring.flipped(self.host_rx), w2b.i)
        wiring.connect(m, b2w.o, wiring.flipped(self.host_tx))
        from_axis = w2b.o.valid
        link = Signal()  # 1: the last byte the decoder took came over AXI4-Stream
        resp_link = Signal()  # the link of the response being sent, latched at its start
        uart_ok = ~w2b.active
        m.d.comb += [
            dec.rx.valid.eq(from_axis | (rx.data.valid & uart_ok)),
            dec.rx.payload.eq(Mux(from_axis, w2b.o.payload, rx.data.payload)),
            w2b.o.ready.eq(dec.rx.ready),
            rx.data.ready.eq(dec.rx.ready & uart_ok),
        ]
        with m.If(dec.rx.valid & dec.rx.ready):
            m.d.sync += link.eq(from_axis)
        with m.If(cu.resp_start):
            m.d.sync += resp_link.eq(link)
        m.d.comb += [
            tx.data.valid.eq(resp.tx.valid & ~resp_link),
            tx.data.payload.eq(resp.tx.payload),
            b2w.i.valid.eq(resp.tx.valid & resp_link),
            b2w.i.payload.eq(resp.tx.payload),
            b2w.i_last.eq(resp.tx_last),
            resp.tx.ready.eq(Mux(resp_link, b2w.i.ready, tx.data.ready)),
        ]


# ------------------------------------------------------------------------------------------------ the card
class VCU1525Top(Elaboratable):
    """The bitstream's top: CRG + BoardCore on the VCU1525Platform's pins (rtl/vcu1525.py)."""

    def __init__(self, params: BoardParams, dividers: MMCMDividers, *, cell_module: str | None = None):
        self.params = params
        self.dividers = dividers
        self.cell_module = cell_module

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        m.submodules.crg = CRG(self.dividers)
        m.submodules.core = core = BoardCore(self.params, cell_module=self.cell_module)
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [core.uart_rx.eq(rx.i), tx.o.eq(core.uart_tx)]
        for i in range(4):
            m.submodules[f"switch_{i}"] = sw = io.Buffer("i", platform.request("switch", i, dir="-"))
            m.d.comb += core.switches[i].eq(sw.i)
        for i in range(3):
            m.submodules[f"led_{i}"] = led = io.Buffer("o", platform.request("led", i, dir="-"))
            m.d.comb += led.o.eq(core.leds[i])
        return m
