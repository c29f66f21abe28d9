"""The shell core's UART debug link (rtl/opengine/uartregs.py) into the register block (regs.py), in Amaranth's
simulator: a host's UART (the tested UARTTx / UARTRx of rtl/uart.py at the other end of the line) sends
requests in the byte protocol written out here ("R" addr16, "W" addr16 data32; answers "K" / "E" then the
data), and the registers answer as over AXI4-Lite: identity, a descriptor word written over the UART and read
back over both the UART and the AXI4-Lite port, SLVERR ("E") outside the map and for a read-only register,
bytes that start no request ignored, a request cut short dropped after the idle time."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from sparsesim.rtl.opengine.regs import ControlRegs
from sparsesim.rtl.opengine.uartregs import UartRegBridge
from sparsesim.rtl.uart import UARTRx, UARTTx

DIV = 4
SPOE = int.from_bytes(b"SPOE", "big")
ID, DESC0, UNMAPPED = 0x000, 0x100, 0x0FC
IDLE_BYTES = 16  # the protocol's idle time for a request cut short, in byte times


def read(addr: int) -> bytes:
    return b"R" + addr.to_bytes(2, "little")


def write(addr: int, value: int) -> bytes:
    return b"W" + addr.to_bytes(2, "little") + value.to_bytes(4, "little")


def test_registers_over_the_uart():
    m = Module()
    m.submodules.regs = regs = ControlRegs(64, {ID: SPOE})
    m.submodules.bridge = bridge = UartRegBridge(DIV)
    m.submodules.host_tx = host_tx = UARTTx(DIV)
    m.submodules.host_rx = host_rx = UARTRx(DIV)
    wiring.connect(m, bridge.regs, regs.local)
    m.d.comb += [bridge.rx.eq(host_tx.tx), host_rx.rx.eq(bridge.tx)]
    # (bytes sent, idle byte times after them, answer expected)
    script = [
        (read(ID), 0, b"K" + SPOE.to_bytes(4, "little")),
        (b"\x00\x13", 0, b""),  # no request starts with these: ignored, no answer
        (write(DESC0, 0xCAFE_F00D), 0, b"K"),
        (read(DESC0), 0, b"K" + (0xCAFE_F00D).to_bytes(4, "little")),
        (read(UNMAPPED), 0, b"E" + bytes(4)),
        (write(ID, 1), 0, b"E"),
        (read(ID), 0, b"K" + SPOE.to_bytes(4, "little")),  # unchanged
        (b"W\x00\x01\x05", IDLE_BYTES + 2, b""),  # cut short: dropped after the idle time
        (read(DESC0), 0, b"K" + (0xCAFE_F00D).to_bytes(4, "little")),  # the cut write changed nothing
    ]
    got: list[bytes] = []
    axi: list[tuple[int, int]] = []
    sim = Simulator(m)
    sim.add_clock(1e-8)

    async def host(ctx):
        ctx.set(host_rx.data.ready, 1)

        async def answer(n: int) -> bytes:
            out = b""
            for _ in range(n * 12 * DIV + 40 * DIV):
                await ctx.tick()
                if ctx.get(host_rx.data.valid):
                    out += bytes([ctx.get(host_rx.data.payload)])
            return out

        for data, idle, want in script:
            for byte in data:
                ctx.set(host_tx.data.payload, byte)
                ctx.set(host_tx.data.valid, 1)
                await ctx.tick().until(host_tx.data.ready)
                await ctx.tick()
            ctx.set(host_tx.data.valid, 0)
            if idle:
                await ctx.tick().repeat(idle * 10 * DIV)
            got.append(await answer(len(want)))
        # the AXI4-Lite side sees what the UART wrote
        ctx.set(regs.bus.rready, 1)
        ctx.set(regs.bus.araddr, DESC0)
        ctx.set(regs.bus.arvalid, 1)
        await ctx.tick().until(regs.bus.arready)
        await ctx.tick()
        ctx.set(regs.bus.arvalid, 0)
        for _ in range(10):
            if ctx.get(regs.bus.rvalid):
                axi.append((ctx.get(regs.bus.rdata), ctx.get(regs.bus.rresp)))
                break
            await ctx.tick()

    sim.add_testbench(host)
    sim.run()
    assert got == [want for _, _, want in script]
    assert axi == [(0xCAFE_F00D, 0)]


class FakeLink:
    """The bridge's side of the byte protocol (written out from the docstring of regmap.py's UART section,
    not imported), over a register file: what `UartRegisters` talks to."""

    def __init__(self, regs: dict[int, int], writable: set[int]):
        self.regs, self.writable, self.out, self.requests = regs, writable, b"", []

    def write(self, data: bytes) -> None:
        self.requests.append(bytes(data))
        addr = int.from_bytes(data[1:3], "little")
        if data[:1] == b"R":
            ok = addr in self.regs
            self.out += (b"K" if ok else b"E") + self.regs.get(addr, 0).to_bytes(4, "little")
        else:
            ok = addr in self.writable
            if ok:
                self.regs[addr] = int.from_bytes(data[3:7], "little")
            self.out += b"K" if ok else b"E"

    def read(self, n: int) -> bytes:
        data, self.out = self.out[:n], self.out[n:]
        return data


def test_the_host_side_of_the_uart_link():
    import pytest
    from sparsesim.rtl.config import ArrayConfig

    from sparsesim.fpga.engine_host import EngineError, UartRegisters, check_identity

    cfg = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")
    words = -(-264 // 32)
    link = FakeLink({ID: SPOE, 0x4: 1, 0x8: 4 | 4 << 8 | 2 << 16 | 3 << 20 | 1 << 25, 0xC: 128 | 37 << 16 | words << 24,
                     0x18: 12 | 12 << 8 | 12 << 16, DESC0: 0}, {DESC0})  # fmt: skip
    regs = UartRegisters(link)
    blocks = check_identity(regs, 0x1_0000, cfg)  # the BAR's offsets: the window's low 16 bits are sent
    assert blocks == {"w_block_words": 4096, "a_block_words": 4096, "c_block_words": 4096}
    assert link.requests[0] == b"R\x00\x00"
    regs.write_reg(0x1_0000 + DESC0, 0x1234_5678)
    assert link.requests[-1] == b"W\x00\x01\x78\x56\x34\x12" and regs.read_reg(DESC0) == 0x1234_5678
    with pytest.raises(EngineError, match="SLVERR"):
        regs.read_reg(UNMAPPED)
    with pytest.raises(EngineError, match="SLVERR"):
        regs.write_reg(ID, 1)
