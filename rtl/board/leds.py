"""The status LEDs: 0 heartbeat (bit `heartbeat_bit` of a free-running counter), 1 a tile is running, 2 a
sticky error (cleared by the STATUS command)."""


from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class StatusLEDs(wiring.Component):
    running: In(1)
    error: In(1)
    leds: Out(3)

    def __init__(self, heartbeat_bit: int):
        self.heartbeat_bit = heartbeat_bit
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        beat = Signal(self.heartbeat_bit + 1)
        m.d.sync += beat.eq(beat + 1)
        m.d.comb += self.leds.eq(Cat(beat[-1], self.running, self.error))
        return m
