"""The write DMA between the array's results and AXI4, and the burst rule both directions share.

`WriteDMA` takes jobs (byte address, words) and writes result words from its buffer in bursts, a wide word
as `beats_per_word` beats, low bits first (the read side, the block buffers' DMA, is in buffer.py).
Bursts are INCR, at most `max_beats` long and never cross a 4 KiB boundary; addresses are beat-aligned.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from . import axi
from .descriptor import ADDR_BITS, DIM_BITS, beats_per_word

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


class WriteDMA(wiring.Component):
    """Results in (a buffer of `depth` words), AXI writes out; `idle` once every job's bursts are answered.

    The address side runs ahead of the data: each burst's address is sent as soon as it is known and its
    length queued for the W side, which streams the bursts back to back (no bubble between bursts), so a
    result word per cycle leaves the buffer as fast as the array produces it."""

    def __init__(self, word_bits: int, *, data_bytes: int, depth: int, max_beats: int):
        self.bpw = beats_per_word(word_bits, data_bytes)
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
        bpw, beat_bits = self.bpw, 8 * db
        m.submodules.buf = buf = fifo.SyncFIFO(width=self.word_bits, depth=self.depth)
        len_bits = range(max(self.max_beats, axi.BOUNDARY_BYTES // db) + 1)
        m.submodules.lens = lens = fifo.SyncFIFO(width=Shape.cast(len_bits).width, depth=4)
        m.d.comb += [
            buf.w_en.eq(self.words.valid),
            buf.w_data.eq(self.words.payload),
            self.words.ready.eq(buf.w_rdy),
        ]
        addr = Signal(ADDR_BITS)
        remaining = Signal(DIM_BITS + bpw.bit_length())  # beats of the job not yet addressed
        aw_pending = Signal()
        outstanding = Signal(8)  # bursts whose response has not come back
        beats = _burst_beats(m, addr, remaining, self.max_beats, db)

        # ---- address side
        m.d.comb += self.job.ready.eq(remaining == 0)
        with m.If(self.job.valid & self.job.ready):
            m.d.sync += [addr.eq(self.job.payload.addr), remaining.eq(self.job.payload.words * bpw)]
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
            self.axi.wstrb.eq((1 << db) - 1),
            self.axi.wlast.eq(w_left == 1),
            self.axi.bready.eq(1),
        ]
        if bpw == 1:
            m.d.comb += [self.axi.wdata.eq(buf.r_data), buf.r_en.eq(w_go)]
        else:
            # a wide word leaves as bpw beats, low bits first; the buffer lets go of it with its last beat
            sub = Signal(range(bpw))
            word = Signal(bpw * beat_bits)
            m.d.comb += word.eq(buf.r_data)
            with m.If(w_go):
                m.d.sync += sub.eq(Mux(sub == bpw - 1, 0, sub + 1))
            m.d.comb += [
                self.axi.wdata.eq(word.word_select(sub, beat_bits)),
                buf.r_en.eq(w_go & (sub == bpw - 1)),
            ]
        b_got = self.axi.bvalid
        m.d.sync += outstanding.eq(outstanding + Mux(issue, 1, 0) - b_got)
        m.d.comb += self.idle.eq(
            (remaining == 0) & ~aw_pending & (w_left == 0) & ~lens.r_rdy & (outstanding == 0)
        )
        return m
