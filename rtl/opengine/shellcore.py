"""The shell core: the op engine (rtl/opengine/engine.py, the preset's one array) behind its AXI4-Lite
register block (regs.py, the map in regmap.py), its three AXI4 masters as the core's ports: what the card's
top puts between the shell's `M_AXIL_CTRL` and its `S_AXI_ACC<i>` ports (sparsesim/fpga/shelltop.py;
docs/fpga.md, "Memory and host shell").

The masters' signatures are the engine's own (`OpEngine.signature`), so the core's and the shell's port
widths follow whatever data width the engine is built with.

The UART (the card's USB-UART, `uart_divisor` clocks per bit) reads and writes the same registers for debug
(uartregs.py; the byte protocol in regmap.py). LEDs: 0 heartbeat (bit `heartbeat_bit` of the engine's cycle
count), 1 an op is running, 2 the last op is done.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..config import ArrayConfig
from . import regmap
from .descriptor import ADDR_BITS, DATA_BYTES
from .engine import OpEngine
from .regs import ControlRegs, axil_master
from .uartregs import UartRegBridge

# UART clocks per bit when none is given: 200 MHz / 921,600 baud (rtl/uart.py baud_divisor; a build passes
# its own clock's)
DEFAULT_UART_DIVISOR = 217
MASTERS = ("rd_w", "rd_a", "wr")  # the engine's AXI4 masters: weights read, activations read, results write


def identity(cfg: ArrayConfig, data_bytes: int, desc_bits: int, engine: OpEngine) -> dict[int, int]:
    """The constant registers of `engine`, built for `cfg`."""
    return {
        regmap.BLOCKS: regmap.blocks_word(engine.w_block_words, engine.a_block_words, engine.c_block_words),
        regmap.ID: regmap.ID_VALUE,
        regmap.VERSION_REG: regmap.VERSION,
        regmap.ARRAY: regmap.array_word(cfg.rows, cfg.cols, cfg.multipliers, cfg.max_m,
                                        cfg.precision == "int8", cfg.accumulator == "exact"),  # fmt: skip
        regmap.BUS: regmap.bus_word(data_bytes, ADDR_BITS, desc_bits),
    }


def port_widths(cfg: ArrayConfig | None = None, **engine_kw) -> dict[str, int]:
    """The engine's AXI4 masters as the shell must take them: their count, and the data, address and ID
    widths read from the signatures of an engine built for `cfg` (any configuration when None: the widths do
    not depend on the array today) with `engine_kw`."""
    cfg = cfg or ArrayConfig(rows=2, cols=2, multipliers=2, max_m=4, precision="fp16")
    engine = OpEngine(cfg, **engine_kw)
    engine._MustUse__silence = True  # only its signature is read
    widths: dict[str, set[int]] = {"data_bits": set(), "addr_bits": set(), "id_bits": set()}
    for name in MASTERS:
        sig = engine.signature.members[name].signature.members
        kind = "w" if "wdata" in sig else "r"
        widths["data_bits"].add(Shape.cast(sig[f"{kind}data"].shape).width)
        widths["addr_bits"].add(Shape.cast(sig[f"a{kind}addr"].shape).width)
        widths["id_bits"].add(Shape.cast(sig[f"a{kind}id"].shape).width)
    if any(len(v) != 1 for v in widths.values()):
        raise ValueError(f"the engine's masters differ in width: {widths}")
    return {"masters": len(MASTERS)} | {k: v.pop() for k, v in widths.items()}


class ShellCore(wiring.Component):
    """`ctrl`: AXI4-Lite slave (`ctrl_addr_bits` wide; the register block decodes the low
    regmap.WINDOW_BITS); `rd_w`, `rd_a`, `wr`: the engine's AXI4 masters; `leds`."""

    def __init__(self, cfg: ArrayConfig, *, ctrl_addr_bits: int = regmap.WINDOW_BITS, heartbeat_bit: int = 26,
                 uart_divisor: int = DEFAULT_UART_DIVISOR, **engine_kw):  # fmt: skip
        self.cfg = cfg
        self.uart_divisor = uart_divisor
        self.engine = OpEngine(cfg, **engine_kw)
        self.heartbeat_bit = heartbeat_bit
        self.ctrl_addr_bits = ctrl_addr_bits
        eng = self.engine.signature.members
        members = {"ctrl": In(axil_master(ctrl_addr_bits)), "leds": Out(3), "uart_rx": In(1, init=1),
                   "uart_tx": Out(1, init=1)}  # fmt: skip
        members |= {name: Out(eng[name].signature) for name in MASTERS}
        super().__init__(members)

    @property
    def data_bytes(self) -> int:
        return self.engine.data_bytes

    @property
    def desc_bits(self) -> int:
        return self.engine.signature.members["desc"].shape.size

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = eng = self.engine
        ident = identity(self.cfg, self.data_bytes, self.desc_bits, self.engine)
        m.submodules.regs = regs = ControlRegs(self.desc_bits, ident, addr_bits=self.ctrl_addr_bits)
        wiring.connect(m, wiring.flipped(self.ctrl), regs.bus)
        m.submodules.uart = uart = UartRegBridge(self.uart_divisor)
        wiring.connect(m, uart.regs, regs.local)
        m.d.comb += [uart.rx.eq(self.uart_rx), self.uart_tx.eq(uart.tx)]
        m.d.comb += [
            eng.desc.eq(regs.desc),
            eng.start.eq(regs.start),
            regs.busy.eq(eng.busy),
            regs.done.eq(eng.done),
            *[getattr(regs, name).eq(getattr(eng, name)) for name in regmap.COUNTERS.values()],
            self.leds.eq(Cat(eng.cycle[self.heartbeat_bit], eng.busy, eng.done)),
        ]
        for name in MASTERS:
            wiring.connect(m, getattr(eng, name), wiring.flipped(getattr(self, name)))
        return m


__all__ = ["ShellCore", "MASTERS", "identity", "DATA_BYTES"]
