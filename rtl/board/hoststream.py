"""The host protocol's byte stream over AXI4-Stream, beside the UART (docs/fpga.md, "Memory and host shell").

Over PCIe the host's request frames reach the board as packets of the shell's host FIFO (Xilinx PG080,
AXI4-Stream FIFO: its transmit side `AXI_STR_TXD` sends each packet as words with TKEEP marking the valid
bytes, lowest first, and TLAST on the packet's last word), and each response frame goes back as one packet
on its receive side `AXI_STR_RXD`, whose store-and-forward mode counts a packet's bytes (RLR) when TLAST
arrives. `WordsToBytes` turns the words into the decoder's bytes; `BytesToWords` packs the responder's bytes
into words and ends a packet at a frame's check byte. The word width is the shell's FIFO data width
(BoardCore's host_stream_bytes; sparsesim.fpga.shell ShellParams.fifo_data_bits).

Pace: both pass at most one byte every BYTE_CYCLES cycles, a UART byte's ten bit times at one clock per bit,
because the frame decoder, the responder and the run control were built for bytes at least that far apart
(registers a cycle behind the byte count, three-stage RUN checks; docs/fpga.md, "Logic depth").
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

# Our choice (module docstring): 20 MB/s at 200 MHz, ample for commands and debug tiles (bulk data moves by
# DMA between the host and the DDR4).
BYTE_CYCLES = 10


def _pace(m: Module, name: str):
    """(ready, took): `ready` is high when BYTE_CYCLES cycles have passed since the last byte; drive `took`
    when a byte passes."""
    wait = Signal(range(BYTE_CYCLES), name=f"{name}_wait")
    took = Signal(name=f"{name}_took")
    with m.If(took):
        m.d.sync += wait.eq(BYTE_CYCLES - 1)
    with m.Elif(wait != 0):
        m.d.sync += wait.eq(wait - 1)
    return wait == 0, took


def axis_layout(nbytes: int) -> data.StructLayout:
    """One AXI4-Stream transfer: TDATA, TKEEP (a bit per byte), TLAST."""
    return data.StructLayout({"data": 8 * nbytes, "keep": nbytes, "last": 1})


class WordsToBytes(wiring.Component):
    """Words (with TKEEP contiguous from the lowest byte, as PG080 sends a packet's last word) -> bytes.
    `active`: a packet has started and its last byte has not been taken yet."""

    def __init__(self, nbytes: int):
        self.nbytes = nbytes
        super().__init__(
            {"i": In(stream.Signature(axis_layout(nbytes))), "o": Out(stream.Signature(8)), "active": Out(1)}
        )

    def elaborate(self, platform):
        m = Module()
        word = Signal(8 * self.nbytes)
        keep = Signal(self.nbytes)  # bytes of `word` still to send, lowest first
        in_packet = Signal()  # a word without TLAST was taken
        paced, took = _pace(m, "out")
        m.d.comb += [
            took.eq(self.o.valid & self.o.ready),
            self.i.ready.eq(keep == 0),
            self.o.valid.eq(keep[0] & paced),
            self.o.payload.eq(word[:8]),
            self.active.eq(in_packet | (keep != 0)),
        ]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [word.eq(self.i.payload.data), keep.eq(self.i.payload.keep),
                         in_packet.eq(~self.i.payload.last)]  # fmt: skip
        with m.Elif(self.o.valid & self.o.ready):
            m.d.sync += [word.eq(word >> 8), keep.eq(keep >> 1)]
        return m


class BytesToWords(wiring.Component):
    """Bytes, `i_last` marking a packet's last byte -> words (lowest byte first), TKEEP on every word, TLAST
    on the word holding the last byte."""

    def __init__(self, nbytes: int):
        self.nbytes = nbytes
        super().__init__(
            {"i": In(stream.Signature(8)), "i_last": In(1), "o": Out(stream.Signature(axis_layout(nbytes)))}
        )

    def elaborate(self, platform):
        m = Module()
        n = self.nbytes
        word = Signal(8 * n)
        count = Signal(range(n + 1))  # bytes in `word`
        full, last = Signal(), Signal()  # `word` is out (valid) with `last`
        paced, took = _pace(m, "in")
        m.d.comb += [
            took.eq(self.i.valid & self.i.ready),
            self.o.valid.eq(full),
            self.o.payload.data.eq(word),
            self.o.payload.keep.eq(Mux(count == n, Const((1 << n) - 1, n), (Const(1, n + 1) << count) - 1)),
            self.o.payload.last.eq(last),
            self.i.ready.eq(~full & paced),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [full.eq(0), count.eq(0), word.eq(0)]
        with m.If(self.i.valid & self.i.ready):
            for b in range(n):
                with m.If(count == b):
                    m.d.sync += word[8 * b : 8 * b + 8].eq(self.i.payload)
            m.d.sync += [count.eq(count + 1), last.eq(self.i_last), full.eq(self.i_last | (count == n - 1))]
        return m
