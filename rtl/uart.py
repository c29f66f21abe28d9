"""8N1 UART receiver and transmitter with byte streams (the board top's host link, docs/fpga.md).

`divisor` is the number of clock cycles per bit, an elaboration parameter: `baud_divisor(clock_hz, baud)` for
the card (200 MHz / 921,600 baud = 217), a small value (>= 4) in simulation so a bench runs in seconds.

The receiver synchronises `rx` with two flip-flops, waits for a falling edge, checks the start bit half a bit
later and then samples every bit in its middle. A byte whose stop bit is low is dropped and flagged
(`framing_error`, one cycle); a byte that arrives while the previous one has not been taken is flagged
(`overrun`, one cycle) and replaces it. The transmitter sends a byte per accepted stream transfer.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import cdc, stream, wiring
from amaranth.lib.wiring import In, Out

MIN_DIVISOR = 4


def baud_divisor(clock_hz: float, baud: int, *, max_error: float = 0.02) -> int:
    """Clock cycles per bit for `baud` at `clock_hz`; ValueError if the rate error exceeds `max_error`
    (a UART tolerates a few percent between the two ends) or the divisor is below MIN_DIVISOR."""
    div = round(clock_hz / baud)
    if div < MIN_DIVISOR:
        raise ValueError(
            f"{baud} baud needs at least {MIN_DIVISOR} clocks per bit; {clock_hz / 1e6:g} MHz gives {div}"
        )
    error = abs(clock_hz / div - baud) / baud
    if error > max_error:
        raise ValueError(f"{baud} baud at {clock_hz / 1e6:g} MHz: divisor {div} is {error:.1%} off")
    return div


def _check_divisor(divisor: int) -> int:
    if int(divisor) != divisor or divisor < MIN_DIVISOR:
        raise ValueError(f"UART divisor must be an integer >= {MIN_DIVISOR}, got {divisor!r}")
    return int(divisor)


class UARTRx(wiring.Component):
    """`rx` (asynchronous line, idle high) -> `data` stream of bytes."""

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__(
            {
                "rx": In(1, init=1),
                "data": Out(stream.Signature(8)),
                "framing_error": Out(1),
                "overrun": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        line = Signal(init=1)
        m.submodules.sync_rx = cdc.FFSynchronizer(self.rx, line, init=1)

        timer = Signal(range(div))
        bit = Signal(range(9))
        shift = Signal(8)
        m.d.sync += [self.framing_error.eq(0), self.overrun.eq(0)]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += self.data.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(div // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(line):  # a glitch, not a start bit
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [timer.eq(div - 1), bit.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), timer.eq(div - 1), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(line):
                    m.d.sync += [self.data.payload.eq(shift), self.data.valid.eq(1)]
                    with m.If(self.data.valid & ~self.data.ready):
                        m.d.sync += self.overrun.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += self.framing_error.eq(1)
                    m.next = "BREAK"
            with m.State("BREAK"):  # wait for the line to go idle before looking for a start bit
                with m.If(line):
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """`data` stream of bytes -> `tx` line (idle high)."""

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__({"data": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        frame = Signal(10, init=0x3FF)  # stop, data[7:0], start; shifted out LSB first
        bits = Signal(range(11))
        timer = Signal(range(div))
        m.d.comb += [self.tx.eq(frame[0]), self.data.ready.eq(bits == 0)]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [
                frame.eq(Cat(Const(0, 1), self.data.payload, Const(1, 1))),
                bits.eq(10),
                timer.eq(div - 1),
            ]
        with m.Elif(bits != 0):
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)
            with m.Else():
                m.d.sync += [frame.eq(Cat(frame[1:], Const(1, 1))), bits.eq(bits - 1), timer.eq(div - 1)]
        return m
