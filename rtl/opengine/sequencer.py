"""The op sequencer: walks an op's array tiles from its descriptor and emits, per tile, the array command
and three DMA jobs (the tile's weight words, its activation words, the place of its result words).

Tile walk (the order the array runs tiles back to back): WS: for each repeat, n-block (`n_r` blocks of
`n_q + 1` columns, then blocks of `n_q`), m-tile (C output rows), k-tile (R x E reduction elements); OS: for
each repeat, k-block (`kb`), m-tile (R rows), n-tile (C x I columns). The loop order over blocks
(`order`) decides how often the scheduler's blocks are re-read from DRAM; the engine fetches each tile's
operands itself, so it only carries it. DRAM regions (word = one AXI beat, see image.py):
WS weights: the (m-tile, k-tile) tiles' R rows in walk order, re-read for every n-block; WS activations:
k-tile-major [KT][N] vectors; OS weights: the (k-block, m-tile) tiles' A steps in walk order, re-read for
every n-tile; OS activations: (k-block, n-tile) tiles' beats (steps x I) in walk order, re-read for every
m-tile; results: every tile's result beats in walk order. Each repeat's regions follow the previous one's.
A region's word is `beats_per_word` beats of the bus (its stride in bytes: beats x data bytes); jobs count
words, the DMAs turn them into beats.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import ArrayConfig, log2
from .descriptor import ADDR_BITS, DIM_BITS, beats_per_word, descriptor_layout
from .dma import JOB_LAYOUT


class Sequencer(wiring.Component):
    def __init__(self, cfg: ArrayConfig, data_bytes: int):
        self.cfg, self.data_bytes = cfg, data_bytes
        super().__init__(
            {
                "desc": In(descriptor_layout(cfg)),
                "start": In(1),
                "cmd": Out(stream.Signature(cfg.cmd_layout)),
                "w_job": Out(stream.Signature(JOB_LAYOUT)),
                "a_job": Out(stream.Signature(JOB_LAYOUT)),
                "r_job": Out(stream.Signature(JOB_LAYOUT)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        R, C, P = cfg.rows, cfg.cols, cfg.multipliers
        db = self.data_bytes

        def stride(word_bits: int):
            """Word index -> byte offset in a region of `word_bits` words (a shift when a power of two)."""
            nbytes = beats_per_word(word_bits, db) * db

            def to_bytes(idx):
                return idx << log2(nbytes) if nbytes & (nbytes - 1) == 0 else idx * nbytes

            return to_bytes

        w_bytes = stride(cfg.weights_layout.size)
        a_bytes = stride(cfg.acts_layout.size)
        r_bytes = stride(cfg.result_layout.size)
        d = Signal(descriptor_layout(cfg))  # latched at start
        busy = Signal()
        m.d.comb += self.busy.eq(busy)
        with m.If(self.start & ~busy):
            m.d.sync += d.eq(self.desc)

        # E (reduction elements per beat): M in N:M mode, P dense; log2(E) for the step counts.
        log2e = Signal(range(log2(cfg.max_m) + 1))
        m.d.comb += log2e.eq(Mux(d.sparse, d.log2m, log2(P)))
        slots = Signal(range(cfg.slots + 1))
        m.d.comb += slots.eq(Mux(d.interleave, cfg.slots, 1))

        W = DIM_BITS + 8
        rep = Signal(DIM_BITS)
        blk = Signal(DIM_BITS)  # WS: n-block index
        c0 = Signal(W)  # WS: first column of the n-block; OS: of the n-tile
        r0 = Signal(W)
        k0 = Signal(W)
        kn = Signal(2 * W)  # WS: k-tile index x N
        w_idx = Signal(2 * W)  # word offsets into the repeat's regions
        a_idx = Signal(2 * W)
        a_kb = Signal(2 * W)  # OS: first activation word of the k-block
        w_span = Signal(2 * W)  # words of one repeat's regions, learnt during its walk
        a_span = Signal(2 * W)
        r_idx = Signal(2 * W)
        w_base = Signal(ADDR_BITS)
        a_base = Signal(ADDR_BITS)

        # ------------------------------------------------------------------ the current tile
        kt_ws = Signal(W)
        m.d.comb += kt_ws.eq(R << log2e)
        k_step = Mux(d.os, d.kb, kt_ws)
        k_left = d.k - k0
        k_t = Signal(W)
        m.d.comb += k_t.eq(Mux(k_left < k_step, k_left, k_step))
        steps = Signal(W)
        m.d.comb += steps.eq((k_t + (1 << log2e) - 1) >> log2e)
        width = Signal(W)  # WS: the n-block's columns
        m.d.comb += width.eq(Mux(blk < d.n_r, d.n_q + 1, d.n_q))
        n_cap = Signal(W)
        m.d.comb += n_cap.eq(C * slots)
        a_words = Signal(W)
        m.d.comb += a_words.eq(Mux(d.os, steps * slots, width))
        r_words = Signal(W)
        m.d.comb += r_words.eq(Mux(d.os, R * slots, width))
        w_words = Signal(W)
        m.d.comb += w_words.eq(Mux(d.os, steps, R))

        m.d.comb += [
            self.cmd.payload.os.eq(d.os),
            self.cmd.payload.sparse.eq(d.sparse),
            self.cmd.payload.n.eq(d.nm_n),
            self.cmd.payload.log2m.eq(d.log2m),
            self.cmd.payload.interleave.eq(d.interleave),
            self.cmd.payload.k.eq(k_t),
            self.cmd.payload.length.eq(Mux(d.os, 0, width)),
            self.w_job.payload.addr.eq(w_base + w_bytes(w_idx)),
            self.w_job.payload.words.eq(w_words),
            self.a_job.payload.addr.eq(a_base + a_bytes(Mux(d.os, a_kb + a_idx, kn + c0))),
            self.a_job.payload.words.eq(a_words),
            self.r_job.payload.addr.eq(d.r_base + r_bytes(r_idx)),
            self.r_job.payload.words.eq(r_words),
        ]
        all_ready = self.cmd.ready & self.w_job.ready & self.a_job.ready & self.r_job.ready
        for s in (self.cmd, self.w_job, self.a_job, self.r_job):
            m.d.comb += s.valid.eq(busy & all_ready)
        emit = busy & all_ready

        with m.If(self.start & ~busy):
            m.d.sync += [
                busy.eq(self.desc.repeat != 0), rep.eq(0), blk.eq(0), c0.eq(0), r0.eq(0), k0.eq(0),
                kn.eq(0), w_idx.eq(0), a_idx.eq(0), a_kb.eq(0), r_idx.eq(0), w_span.eq(0), a_span.eq(0),
                w_base.eq(self.desc.w_base), a_base.eq(self.desc.a_base),
            ]  # fmt: skip

        def end_of_repeat(w_span_v, a_span_v):
            m.d.sync += [
                w_base.eq(w_base + w_bytes(w_span_v)), a_base.eq(a_base + a_bytes(a_span_v)),
                w_idx.eq(0), a_idx.eq(0), a_kb.eq(0), kn.eq(0), k0.eq(0), r0.eq(0), c0.eq(0), blk.eq(0),
                rep.eq(rep + 1),
            ]  # fmt: skip
            with m.If(rep + 1 == d.repeat):
                m.d.sync += busy.eq(0)

        with m.If(emit):
            m.d.sync += r_idx.eq(r_idx + r_words)
            with m.If(~d.os):
                # innermost k-tile, then m-tile, then n-block
                m.d.sync += [w_idx.eq(w_idx + R), k0.eq(k0 + kt_ws), kn.eq(kn + d.n)]
                with m.If(k0 + kt_ws >= d.k):
                    m.d.sync += [k0.eq(0), kn.eq(0), r0.eq(r0 + C)]
                    with m.If(kn + d.n > a_span):
                        m.d.sync += a_span.eq(kn + d.n)
                    with m.If(r0 + C >= d.m):
                        m.d.sync += [r0.eq(0), w_idx.eq(0), c0.eq(c0 + width), blk.eq(blk + 1)]
                        with m.If(blk == 0):
                            m.d.sync += w_span.eq(w_idx + R)
                        with m.If(c0 + width >= d.n):
                            end_of_repeat(
                                Mux(blk == 0, w_idx + R, w_span), Mux(kn + d.n > a_span, kn + d.n, a_span)
                            )
            with m.Else():
                # innermost n-tile, then m-tile, then k-block
                m.d.sync += [c0.eq(c0 + n_cap), a_idx.eq(a_idx + a_words)]
                with m.If(c0 + n_cap >= d.n):
                    m.d.sync += [c0.eq(0), a_idx.eq(0), r0.eq(r0 + R), w_idx.eq(w_idx + steps)]
                    with m.If(r0 + R >= d.m):
                        m.d.sync += [r0.eq(0), a_kb.eq(a_kb + a_idx + a_words), k0.eq(k0 + d.kb)]
                        with m.If(k0 + d.kb >= d.k):
                            end_of_repeat(w_idx + steps, a_kb + a_idx + a_words)
        return m
