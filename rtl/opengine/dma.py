"""DMA engines between AXI4 and the op engine's on-chip buffers.

`ReadDMA` takes jobs (byte address, words) and fetches the words, one per AXI beat, into its buffer (a FIFO
the array's stream reads). It issues a burst only when the buffer has room for all of its beats, counting the
beats already requested, so the R channel is never back-pressured and the buffer holds the current tile and
the next ones as far as it has room (the double buffering: the next tile is fetched while the current one
computes). `WriteDMA` takes jobs (byte address, words) and writes result words from its buffer in bursts.
Bursts are INCR, at most `max_beats` long and never cross a 4 KiB boundary; addresses are beat-aligned.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from . import axi
from .descriptor import ADDR_BITS, DIM_BITS

JOB_LAYOUT = data.StructLayout({"addr": ADDR_BITS, "words": DIM_BITS})


def _burst_beats(m: Module, addr, remaining, max_beats: int, data_bytes: int):
    """Beats of the next burst: the rest of the job, capped by `max_beats` and by the 4 KiB boundary."""
    shift = data_bytes.bit_length() - 1
    to_boundary = Signal(range(axi.BOUNDARY_BYTES // data_bytes + 1))
    m.d.comb += to_boundary.eq((axi.BOUNDARY_BYTES - addr[:12]) >> shift)
    beats = Signal(range(max(max_beats, axi.BOUNDARY_BYTES // data_bytes) + 1))
    cap = Mux(to_boundary < max_beats, to_boundary, max_beats)
    m.d.comb += beats.eq(Mux(remaining < cap, remaining, cap))
    return beats


class ReadDMA(wiring.Component):
    def __init__(self, word_bits: int, *, data_bytes: int, depth: int, max_beats: int):
        if word_bits > 8 * data_bytes:
            raise ValueError(f"a {word_bits}-bit word does not fit one {8 * data_bytes}-bit AXI beat")
        if max_beats > depth:
            raise ValueError("a burst must fit the buffer")
        self.word_bits, self.data_bytes, self.depth, self.max_beats = word_bits, data_bytes, depth, max_beats
        super().__init__(
            {
                "job": In(stream.Signature(JOB_LAYOUT)),
                "axi": Out(axi.read_master(ADDR_BITS, data_bytes)),
                "words": Out(stream.Signature(word_bits)),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        db = self.data_bytes
        m.submodules.buf = buf = fifo.SyncFIFO(width=self.word_bits, depth=self.depth)
        addr = Signal(ADDR_BITS)
        remaining = Signal(DIM_BITS)
        in_flight = Signal(range(self.depth + 1))  # beats requested, not yet in the buffer
        ar_pending = Signal()
        beats = _burst_beats(m, addr, remaining, self.max_beats, db)
        room = Signal(range(self.depth + 2))
        m.d.comb += room.eq(self.depth - buf.level - in_flight)

        m.d.comb += self.job.ready.eq(remaining == 0)
        with m.If(self.job.valid & self.job.ready):
            m.d.sync += [addr.eq(self.job.payload.addr), remaining.eq(self.job.payload.words)]

        # A burst's address may follow the previous one's handshake in the same cycle (one AR per cycle):
        # a tile's first burst cut short by a 4 KiB boundary must not leave a gap in its words.
        granted = self.axi.arvalid & self.axi.arready
        issue = (remaining != 0) & (~ar_pending | granted) & (room >= beats)
        with m.If(granted):
            m.d.sync += ar_pending.eq(0)
        with m.If(issue):
            m.d.sync += [
                ar_pending.eq(1),
                self.axi.araddr.eq(addr),
                self.axi.arlen.eq(beats - 1),
                addr.eq(addr + (beats << (db.bit_length() - 1))),
                remaining.eq(remaining - beats),
            ]
        m.d.comb += [
            self.axi.arvalid.eq(ar_pending),
            self.axi.arid.eq(0),
            self.axi.arsize.eq(db.bit_length() - 1),
            self.axi.arburst.eq(axi.BURST_INCR),
            self.axi.rready.eq(1),  # room for every requested beat was reserved
        ]
        got = self.axi.rvalid
        m.d.comb += [buf.w_en.eq(got), buf.w_data.eq(self.axi.rdata[: self.word_bits])]
        requested = Mux(issue, beats, 0)
        m.d.sync += in_flight.eq(in_flight + requested - got)
        m.d.comb += [
            self.words.valid.eq(buf.r_rdy),
            self.words.payload.eq(buf.r_data),
            buf.r_en.eq(self.words.ready),
            self.idle.eq((remaining == 0) & ~ar_pending & (in_flight == 0) & ~buf.r_rdy),
        ]
        return m


class WriteDMA(wiring.Component):
    """Results in (a buffer of `depth` words), AXI writes out; `idle` once every job's bursts are answered.

    The address side runs ahead of the data: each burst's address is sent as soon as it is known and its
    length queued for the W side, which streams the bursts back to back (no bubble between bursts), so a
    result word per cycle leaves the buffer as fast as the array produces it."""

    def __init__(self, word_bits: int, *, data_bytes: int, depth: int, max_beats: int):
        if word_bits > 8 * data_bytes:
            raise ValueError(f"a {word_bits}-bit word does not fit one {8 * data_bytes}-bit AXI beat")
        self.word_bits, self.data_bytes, self.depth, self.max_beats = word_bits, data_bytes, depth, max_beats
        super().__init__(
            {
                "job": In(stream.Signature(JOB_LAYOUT)),
                "words": In(stream.Signature(word_bits)),
                "axi": Out(axi.write_master(ADDR_BITS, data_bytes)),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        db = self.data_bytes
        m.submodules.buf = buf = fifo.SyncFIFO(width=self.word_bits, depth=self.depth)
        len_bits = range(max(self.max_beats, axi.BOUNDARY_BYTES // db) + 1)
        m.submodules.lens = lens = fifo.SyncFIFO(width=Shape.cast(len_bits).width, depth=4)
        m.d.comb += [
            buf.w_en.eq(self.words.valid),
            buf.w_data.eq(self.words.payload),
            self.words.ready.eq(buf.w_rdy),
        ]
        addr = Signal(ADDR_BITS)
        remaining = Signal(DIM_BITS)
        aw_pending = Signal()
        outstanding = Signal(8)  # bursts whose response has not come back
        beats = _burst_beats(m, addr, remaining, self.max_beats, db)

        # ---- address side
        m.d.comb += self.job.ready.eq(remaining == 0)
        with m.If(self.job.valid & self.job.ready):
            m.d.sync += [addr.eq(self.job.payload.addr), remaining.eq(self.job.payload.words)]
        aw_granted = self.axi.awvalid & self.axi.awready
        issue = (remaining != 0) & (~aw_pending | aw_granted) & lens.w_rdy
        with m.If(aw_granted):
            m.d.sync += aw_pending.eq(0)
        with m.If(issue):
            m.d.sync += [
                aw_pending.eq(1),
                self.axi.awaddr.eq(addr),
                self.axi.awlen.eq(beats - 1),
                addr.eq(addr + (beats << (db.bit_length() - 1))),
                remaining.eq(remaining - beats),
            ]
        m.d.comb += [lens.w_en.eq(issue), lens.w_data.eq(beats)]

        # ---- data side: the current burst's beats left (0: take the next length)
        w_left = Signal(len_bits)
        w_go = self.axi.wvalid & self.axi.wready
        load = Signal()
        m.d.comb += load.eq(((w_left == 0) | (w_go & (w_left == 1))) & lens.r_rdy)
        m.d.comb += lens.r_en.eq(load)
        with m.If(load):
            m.d.sync += w_left.eq(lens.r_data)
        with m.Elif(w_go):
            m.d.sync += w_left.eq(w_left - 1)
        m.d.comb += [
            self.axi.awvalid.eq(aw_pending),
            self.axi.awid.eq(0),
            self.axi.awsize.eq(db.bit_length() - 1),
            self.axi.awburst.eq(axi.BURST_INCR),
            self.axi.wvalid.eq((w_left != 0) & buf.r_rdy),
            self.axi.wdata.eq(buf.r_data),
            self.axi.wstrb.eq((1 << db) - 1),
            self.axi.wlast.eq(w_left == 1),
            buf.r_en.eq(w_go),
            self.axi.bready.eq(1),
        ]
        b_got = self.axi.bvalid
        m.d.sync += outstanding.eq(outstanding + Mux(issue, 1, 0) - b_got)
        m.d.comb += self.idle.eq(
            (remaining == 0) & ~aw_pending & (w_left == 0) & ~lens.r_rdy & (outstanding == 0)
        )
        return m
