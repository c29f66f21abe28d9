"""The shell core's UART debug link: register reads and writes over the card's USB-UART (8N1, rtl/uart.py),
in the byte protocol of regmap.py ("UART debug link"), through the register block's local port (regs.py), so
a host with only the USB cable can read the engine's identity, STATUS and counters, or start an op.

A request's bytes are collected (its address and data little-endian); when complete, the access is
requested on the local port, and the answer (status byte, then the data for a read) is sent. A request that
stalls for regmap.UART_IDLE_BYTES byte times is dropped (the host's resync)."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from ..uart import UARTRx, UARTTx
from . import regmap
from .regs import local_port


class UartRegBridge(wiring.Component):
    def __init__(self, divisor: int):
        self.divisor = divisor
        super().__init__({"rx": wiring.In(1, init=1), "tx": Out(1, init=1), "regs": Out(local_port())})

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = UARTRx(self.divisor)
        m.submodules.utx = utx = UARTTx(self.divisor)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]
        regs = self.regs
        write = Signal()
        count = Signal(range(8))  # bytes of the request taken after its command byte
        addr = Signal(16)
        data = Signal(32)
        out = Signal(40)  # the answer, sent low byte first
        out_left = Signal(range(6))
        idle_limit = regmap.UART_IDLE_BYTES * 10 * self.divisor
        idle = Signal(range(idle_limit + 1))
        m.d.comb += [regs.write.eq(write), regs.addr.eq(addr), regs.wdata.eq(data),
                     utx.data.payload.eq(out[:8])]  # fmt: skip
        got = urx.data.valid
        byte = urx.data.payload
        # The handshakes are expressions of the FSM's state outside its `with` blocks, so Amaranth writes
        # them as continuous assignments: Icarus Verilog (11.0) may never run an `always @*` process whose
        # inputs do not change after time 0, which left `ready` X and took the command byte twice.
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(got & ((byte == regmap.UART_READ) | (byte == regmap.UART_WRITE))):
                    m.d.sync += [write.eq(byte == regmap.UART_WRITE), count.eq(0), idle.eq(0)]
                    m.next = "REQUEST"
            with m.State("REQUEST"):
                need = Mux(write, 6, 2)
                with m.If(got):
                    m.d.sync += [count.eq(count + 1), idle.eq(0)]
                    with m.If(count < 2):
                        m.d.sync += addr.eq((byte << 8) | addr[8:])
                    with m.Else():
                        m.d.sync += data.eq((byte << 24) | data[8:])
                    with m.If(count + 1 == need):
                        m.next = "ACCESS"
                with m.Elif(idle == idle_limit):
                    m.next = "IDLE"  # a request cut short: dropped
                with m.Else():
                    m.d.sync += idle.eq(idle + 1)
            with m.State("ACCESS"):
                with m.If(regs.ack):
                    status = Mux(regs.err, regmap.UART_ERR, regmap.UART_OK)
                    m.d.sync += [out.eq(status | (regs.rdata << 8)), out_left.eq(Mux(write, 1, 5))]
                    m.next = "ANSWER"
            with m.State("ANSWER"):
                with m.If(utx.data.ready):
                    m.d.sync += [out.eq(out >> 8), out_left.eq(out_left - 1)]
                    with m.If(out_left == 1):
                        m.next = "IDLE"
        m.d.comb += [
            urx.data.ready.eq(fsm.ongoing("IDLE") | fsm.ongoing("REQUEST")),
            regs.req.eq(fsm.ongoing("ACCESS")),
            utx.data.valid.eq(fsm.ongoing("ANSWER")),
        ]
        return m
