"""The responder: one response frame onto the UART transmitter.

`start` latches a response (status, tag, length, and either `buf`, the fixed payload least significant byte
first, or `from_results`: `length` bytes of result words from `rd_base` on) and sends
`5A A5 | status | tag | length | hcheck | payload | check` (sparsesim.rtl.protocol); `busy` until the check
byte has been handed to the transmitter.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .. import protocol as proto
from .decoder import sum8
from .memories import read_port
from .params import BoardParams

# the longest fixed response payload (INFO)
RESPONSE_BUF_BYTES = max(proto.fields_size(t) for t in (proto.InfoBlock.TABLE, proto.CyclesBlock.TABLE))


class Responder(wiring.Component):
    def __init__(self, params: BoardParams):
        self.params = params
        super().__init__(
            {
                "start": In(1),
                "status": In(8),
                "tag": In(8),
                "length": In(16),
                "buf": In(8 * RESPONSE_BUF_BYTES),
                "from_results": In(1),
                "rd_base": In(32),
                "busy": Out(1),
                "tx": Out(stream.Signature(8)),
                # the byte on `tx` is the frame's last (its check byte): TLAST on a stream link
                "tx_last": Out(1),
                "rmem": Out(read_port(params.result_bits, params.result_depth)),
            }
        )

    def elaborate(self, platform):
        p = self.params
        m = Module()
        status, tag, length = Signal(8), Signal(8), Signal(16)
        buf = Signal(8 * RESPONSE_BUF_BYTES)
        from_results = Signal()
        cnt = Signal(16)
        csum = Signal(8)
        rd_addr = Signal(33)
        rb = p.result_bytes
        out_word = Signal(8 * rb)
        out_idx = Signal(range(rb + 1))
        hcheck = (-sum8(status, tag, length[:8], length[8:]))[:8]
        # cnt + 1 == length (the byte being sent is the payload's last), a register one cycle behind: the
        # UART transmitter takes a byte at most every ten bit times, so it is current whenever a byte goes
        # (docs/fpga.md, "Logic depth")
        last_byte = Signal()
        m.d.sync += last_byte.eq(cnt + 1 == length)

        def send(value, nxt):
            m.d.comb += [self.tx.payload.eq(value), self.tx.valid.eq(1)]
            with m.If(self.tx.ready):
                m.next = nxt

        with m.FSM(name="responder"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [
                        status.eq(self.status), tag.eq(self.tag), length.eq(self.length), buf.eq(self.buf),
                        from_results.eq(self.from_results), rd_addr.eq(self.rd_base), cnt.eq(0), csum.eq(0),
                    ]  # fmt: skip
                    m.next = "SYNC0"
            with m.State("SYNC0"):
                m.d.comb += self.busy.eq(1)
                send(proto.RESPONSE_SYNC[0], "SYNC1")
            with m.State("SYNC1"):
                m.d.comb += self.busy.eq(1)
                send(proto.RESPONSE_SYNC[1], "STATUS")
            with m.State("STATUS"):
                m.d.comb += self.busy.eq(1)
                send(status, "TAG")
            with m.State("TAG"):
                m.d.comb += self.busy.eq(1)
                send(tag, "LEN0")
            with m.State("LEN0"):
                m.d.comb += self.busy.eq(1)
                send(length[:8], "LEN1")
            with m.State("LEN1"):
                m.d.comb += self.busy.eq(1)
                send(length[8:], "HCHECK")
            with m.State("HCHECK"):
                m.d.comb += self.busy.eq(1)
                with m.If(length == 0):
                    send(hcheck, "CHECK")
                with m.Elif(from_results):
                    send(hcheck, "FETCH")
                with m.Else():
                    send(hcheck, "BUF")
            with m.State("BUF"):
                m.d.comb += self.busy.eq(1)
                send(buf[:8], "BUF")
                with m.If(self.tx.ready):
                    m.d.sync += [buf.eq(buf >> 8), cnt.eq(cnt + 1), csum.eq(sum8(csum, buf[:8]))]
                    with m.If(last_byte):
                        m.next = "CHECK"
            with m.State("FETCH"):
                m.d.comb += [self.busy.eq(1), self.rmem.addr.eq(rd_addr), self.rmem.en.eq(1)]
                m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += [out_word.eq(self.rmem.data), out_idx.eq(0)]
                m.next = "WORD"
            with m.State("WORD"):
                m.d.comb += self.busy.eq(1)
                send(out_word[:8], "WORD")
                with m.If(self.tx.ready):
                    m.d.sync += [
                        out_word.eq(out_word >> 8),
                        out_idx.eq(out_idx + 1),
                        cnt.eq(cnt + 1),
                        csum.eq(sum8(csum, out_word[:8])),
                    ]
                    with m.If(out_idx == rb - 1):
                        m.d.sync += rd_addr.eq(rd_addr + 1)
                        with m.If(last_byte):
                            m.next = "CHECK"
                        with m.Else():
                            m.next = "FETCH"
            with m.State("CHECK"):
                m.d.comb += [self.busy.eq(1), self.tx_last.eq(1)]
                send((-csum)[:8], "IDLE")
        return m

