"""The op sequencer: walks an op's on-chip blocks and, inside each, the array tiles, from its descriptor.

Blocks (the scheduler's Mb x Nb x Kb and loop order, sparsesim/sat/schedule.py docstring): a block step is
one (m-block, n-block, k-block); the steps run with the k-blocks innermost and, outside them, m-blocks then
n-blocks (`a_resident`, `c_resident`) or n-blocks then m-blocks (`b_resident`). A step loads the weight
block (m-block, k-block) only when it differs from the previous step's, and the activation block (k-block,
n-block) likewise, so each operand is read from DRAM as often as the scheduler's traffic counts (`a_resident`:
A once, B once per m-block; `b_resident`: A once per n-block, B once; `c_resident`: both once per block of
the other operand). WS n-blocks are the `n_r` blocks of `n_q + 1` columns, then blocks of `n_q` (the WS
stream lengths the simulator times).

Tiles inside a step, in the order the array runs them: WS: m-tiles (C rows), k-tiles (R x E reduction
elements), the n-block as the stream; OS: m-tiles (R rows), n-tiles (C x slots columns), the k-block as the
reduction. Per tile: the array command, a read job per operand (the block, the tile's first word in it, its
words; `release` on the block's last tile) for the block buffers, the out buffer's job (the place of its
result words in the output block; whether they start, end or are the outputs' sums: accum.py) and, for a
tile that ends its outputs' sums (the last k-tile, WS, or k-block, OS), the place of its words in DRAM.
Per step: a load job per operand whose block changes (DRAM address, words).

DRAM regions (one repeat's; each repeat's follow the previous one's; a weight or result word is
`beats_per_word` beats; activation words are packed, E elements per lane, in lines of
`descriptor.act_line_bits`, 2**a_shift words a line, a repeat's region padded to a whole line; a block's
load is the lines its words span, and its read jobs count words from the first of them):
weights: blocks k-block-major, then m-block; a block's words are its m-tiles' in order, each m-tile's
k-tiles' R rows (WS) or its A steps (OS). Activations: blocks n-block-major, then k-block; a WS block is its
k-tiles' `width` vectors ([k-tile][column]), an OS block its n-tiles' beats (steps x slots each). Results:
the final tiles' result words in walk order.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import ArrayConfig, log2
from ..latency import SEQUENCER_STEP_SETTLE, SEQUENCER_TILE_SETTLE
from .accum import ACC_JOB_LAYOUT
from .buffer import READ_JOB_LAYOUT, SEQ_BITS
from .descriptor import (
    ADDR_BITS,
    DIM_BITS,
    ORDERS,
    act_line_bits,
    beats_per_word,
    descriptor_layout,
    result_dram_bits,
)
from .dma import JOB_LAYOUT


def _cdiv(x, n: int):
    """ceil(x / n) for a constant n (a shift when n is a power of two)."""
    return (x + n - 1) >> log2(n) if n & (n - 1) == 0 else (x + n - 1) // n


class Sequencer(wiring.Component):
    def __init__(self, cfg: ArrayConfig, data_bytes: int):
        self.cfg, self.data_bytes = cfg, data_bytes
        super().__init__(
            {
                "desc": In(descriptor_layout(cfg)),
                "start": In(1),
                "cmd": Out(stream.Signature(cfg.cmd_layout)),
                "w_load": Out(stream.Signature(JOB_LAYOUT)),
                "a_load": Out(stream.Signature(JOB_LAYOUT)),
                "w_read": Out(stream.Signature(READ_JOB_LAYOUT)),
                "a_read": Out(stream.Signature(READ_JOB_LAYOUT)),
                "acc_job": Out(stream.Signature(ACC_JOB_LAYOUT)),
                "r_job": Out(stream.Signature(JOB_LAYOUT)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        R, C, P, S = cfg.rows, cfg.cols, cfg.multipliers, cfg.slots
        db = self.data_bytes

        def stride(word_bits: int):
            """Word index -> byte offset in a region of `word_bits` words (a shift when a power of two)."""
            nbytes = beats_per_word(word_bits, db) * db

            def to_bytes(idx):
                return idx << log2(nbytes) if nbytes & (nbytes - 1) == 0 else idx * nbytes

            return to_bytes

        w_bytes = stride(cfg.weights_layout.size)
        r_bytes = stride(result_dram_bits(cfg))
        # activations are packed (image.py): lines of act_line_bits, 2**a_shift words each
        line_bytes = act_line_bits(cfg, db) // 8
        line_l0 = log2(act_line_bits(cfg, db) // (cfg.lanes * cfg.operand_bits))  # a_shift at E = 1

        def a_bytes(lines):
            return lines << log2(line_bytes)
        d = Signal(descriptor_layout(cfg))  # latched at start
        busy = Signal()
        m.d.comb += self.busy.eq(busy)
        with m.If(self.start & ~busy):
            m.d.sync += d.eq(self.desc)

        # Registered arithmetic: every value below that takes more than a few LUT levels is computed into a
        # register (`reg`) from the state and earlier such registers, every cycle. The state changes only
        # when the jobs are emitted, and the next emit waits until the registers show the new state
        # (`hold`): SEQUENCER_TILE_SETTLE cycles after a tile of the same block step (its registers, marked
        # T, read the tile's state and the step's settled registers), SEQUENCER_STEP_SETTLE cycles after
        # the start or a step's last tile (the chain's length: the level in each register's comment).
        def reg(v, name: str, shape=None) -> Signal:
            r = Signal(Value.cast(v).shape() if shape is None else shape, name=f"{name}_r")
            m.d.sync += r.eq(v)
            return r

        W, WW = DIM_BITS + 8, 2 * (DIM_BITS + 8)
        # E (reduction elements per beat): M in N:M mode, P dense
        log2e = Signal(range(log2(cfg.max_m) + 1))
        m.d.comb += log2e.eq(Mux(d.sparse, d.log2m, log2(P)))
        a_shift = Signal(3)  # log2 of the packed activation words per line
        m.d.comb += a_shift.eq(line_l0 - log2e)

        def a_lines(words):  # lines holding `words` words from the start of a line
            return (words + (1 << a_shift) - 1) >> a_shift

        slots = Signal(range(S + 1))
        m.d.comb += slots.eq(Mux(d.interleave, S, 1))
        kt_ws = Signal(W)
        m.d.comb += kt_ws.eq(R << log2e)

        def k_tiles(x):  # ceil(x / (R x E)) = ceil(ceil(x / E) / R)
            return _cdiv((x + (1 << log2e) - 1) >> log2e, R)

        def k_steps(x):  # ceil(x / E)
            return (x + (1 << log2e) - 1) >> log2e

        def n_tiles(x):  # ceil(x / (C x slots))
            return Mux(d.interleave, _cdiv(x, C * S), _cdiv(x, C))

        def m_tiles(x):
            return Mux(d.os, _cdiv(x, R), _cdiv(x, C))

        # ------------------------------------------------------------------ state
        rep = Signal(DIM_BITS)
        bm0, bn0, bk0 = Signal(W), Signal(W), Signal(W)  # the step's block: first row, column, k
        bm_t = Signal(W)  # bm0 in m-tiles
        bn_i = Signal(W)  # WS: n-block index; OS: bn0 in n-tiles
        bk_u = Signal(W)  # bk0 in k-tiles (WS) or A steps (OS)
        r0, c0, k0 = Signal(W), Signal(W), Signal(W)  # the tile: first row; OS first column; WS first k
        w_off, a_off = Signal(WW), Signal(WW)  # the tile's first word in its blocks
        c_off = Signal(WW)  # the tile's first result word in the out buffer (its place in the output block)
        need_w, need_a = Signal(), Signal()  # the step's blocks are new: load them with its first tile
        w_cnt, a_cnt = Signal(SEQ_BITS), Signal(SEQ_BITS)  # blocks loaded since reset (the buffers' count)
        r_idx = Signal(WW)
        w_base, a_base = Signal(ADDR_BITS), Signal(ADDR_BITS)

        # ------------------------------------------------------------------ the step's blocks
        width = reg(Mux(bn_i < d.n_r, d.n_q + 1, d.n_q), "width", W)  # WS: the n-block's columns (1)
        m_end = reg(Mux(bm0 + d.mb < d.m, bm0 + d.mb, d.m), "m_end", W)  # (1)
        k_end = reg(Mux(bk0 + d.kb < d.k, bk0 + d.kb, d.k), "k_end", W)  # (1)
        n_end = reg(Mux(d.os, Mux(bn0 + d.nb < d.n, bn0 + d.nb, d.n), bn0 + width), "n_end", W)  # (2)
        n_cap = Signal(W)
        m.d.comb += n_cap.eq(C * slots)
        mt_blk = reg(m_tiles(m_end - bm0), "mt_blk", W)  # (2)
        kt_blk = reg(k_tiles(k_end - bk0), "kt_blk", W)  # (2)
        nt_blk = reg(n_tiles(n_end - bn0), "nt_blk", W)  # (3)
        steps = reg(k_steps(k_end - bk0), "steps", W)  # (2) OS: the A steps of every tile of the step
        mt_tot = reg(m_tiles(d.m), "mt_tot", W)  # (1)
        kt_tot = reg(k_tiles(d.k), "kt_tot", W)  # (1)
        ks_tot = reg(k_steps(d.k), "ks_tot", W)  # (1)
        nt_tot = reg(n_tiles(d.n), "nt_tot", W)  # (1)
        per_mt = Signal(WW)  # weight words of one m-tile in this k-block (2)
        m.d.comb += per_mt.eq(Mux(d.os, steps, kt_blk * R))
        w_blk_words = reg(mt_blk * per_mt, "w_blk_words", WW)  # (3)
        a_blk_words = reg(Mux(d.os, nt_blk * steps * slots, kt_blk * width), "a_blk_words", WW)  # (4)
        # word offsets of the blocks in their regions
        w_blk_at = reg(mt_tot * bk_u * Mux(d.os, 1, R) + bm_t * per_mt, "w_blk_at", 2 * WW)  # (3)
        a_blk_at = reg(Mux(d.os, (bn_i * ks_tot + nt_blk * bk_u) * slots, kt_tot * bn0 + bk_u * width),
                       "a_blk_at", 2 * WW)  # (4) fmt: skip
        a_sub = Signal(range(1 << (line_l0 + 1)))  # the activation block's first word in its first line (4)
        m.d.comb += a_sub.eq(a_blk_at & ((1 << a_shift) - 1))
        # one repeat's regions in bytes
        w_region = Signal(2 * WW)  # (2)
        m.d.comb += w_region.eq(mt_tot * Mux(d.os, ks_tot, kt_tot * R))
        a_region = Signal(2 * WW)
        m.d.comb += a_region.eq(Mux(d.os, nt_tot * ks_tot * slots, kt_tot * d.n))
        a_region_lines = reg(a_lines(a_region), "a_region_lines", 2 * WW)  # (2)
        w_rep_bytes = reg(w_bytes(w_region), "w_rep_bytes", ADDR_BITS)  # (2)
        a_rep_bytes = reg(a_bytes(a_region_lines), "a_rep_bytes", ADDR_BITS)  # (3)

        # ------------------------------------------------------------------ the tile
        k_t = reg(Mux(d.os, k_end - bk0, Mux(k_end - k0 < kt_ws, k_end - k0, kt_ws)), "k_t", W)  # T (2)
        w_words, a_words, r_words = Signal(W), Signal(W), Signal(W)  # (2)
        m.d.comb += [
            w_words.eq(Mux(d.os, steps, R)),
            a_words.eq(Mux(d.os, steps * slots, width)),
            r_words.eq(Mux(d.os, R * slots, width)),
        ]
        # the last k-tile (WS) / n-tile (OS) of the m-tile; the last m-tile
        last_inner = reg(Mux(d.os, c0 + n_cap >= n_end, k0 + kt_ws >= k_end), "last_inner", 1)  # T (3)
        last_mt = reg(r0 + Mux(d.os, R, C) >= m_end, "last_mt", 1)  # T (2)
        last_tile = last_inner & last_mt
        # the tile's part of its outputs' sums: the first k-tile (k-block) starts them, the last ends them
        k_first = reg(Mux(d.os, bk0 == 0, k0 == 0), "k_first", 1)  # T (1)
        k_final = reg(Mux(d.os, bk0 + d.kb >= d.k, k0 + kt_ws >= d.k), "k_final", 1)  # T (1)

        # ------------------------------------------------------------------ the next step
        k_wrap = bk0 + d.kb >= d.k
        m_wrap = bm0 + d.mb >= d.m
        n_adv = Signal(W)  # (1)
        m.d.comb += n_adv.eq(Mux(d.os, d.nb, width))
        n_wrap = bn0 + n_adv >= d.n
        b_outer = d.order == ORDERS.index("b_resident")  # n-blocks outside the m-blocks
        step_m = Signal()  # the next step moves to the next m-block (else back to 0 if it wraps)
        step_n = Signal()
        end_rep_c = Signal()
        with m.If(~k_wrap):
            pass  # the next k-block of the same m- and n-block
        with m.Elif(b_outer):
            m.d.comb += [step_m.eq(~m_wrap), step_n.eq(m_wrap & ~n_wrap), end_rep_c.eq(m_wrap & n_wrap)]
        with m.Else():
            m.d.comb += [step_n.eq(~n_wrap), step_m.eq(n_wrap & ~m_wrap), end_rep_c.eq(m_wrap & n_wrap)]
        # a block changes when its k-block does (several k-blocks) or its m- (n-) block does; a new repeat
        # brings new operands
        m_to0 = Signal()  # the next step goes back to m-block 0 (n-block 0)
        n_to0 = Signal()
        m.d.comb += [m_to0.eq(Mux(b_outer, k_wrap & ~step_m, end_rep_c)),
                     n_to0.eq(Mux(b_outer, end_rep_c, k_wrap & ~step_n))]  # fmt: skip
        k_blocks = d.kb < d.k
        new_w = reg(k_blocks | step_m | (m_to0 & (bm0 != 0)) | end_rep_c, "new_w", 1)  # (2)
        new_a = reg(k_blocks | step_n | (n_to0 & (bn0 != 0)) | end_rep_c, "new_a", 1)  # (2)
        end_rep = reg(end_rep_c, "end_rep", 1)  # (2)
        last_rep = reg(rep + 1 == d.repeat, "last_rep", 1)  # (1)
        # the next step's state (2)
        nbm = reg(Mux(step_m, bm0 + d.mb, Mux(m_to0, 0, bm0)), "nbm", W)
        nbn = reg(Mux(step_n, bn0 + n_adv, Mux(n_to0, 0, bn0)), "nbn", W)
        nbk = reg(Mux(k_wrap, 0, bk0 + d.kb), "nbk", W)
        nbk_u = reg(Mux(k_wrap, 0, bk_u + Mux(d.os, k_steps(d.kb), k_tiles(d.kb))), "nbk_u", W)
        nbm_t = reg(Mux(step_m, bm_t + m_tiles(d.mb), Mux(m_to0, 0, bm_t)), "nbm_t", W)
        nbn_i = reg(Mux(step_n, bn_i + Mux(d.os, n_tiles(d.nb), 1), Mux(n_to0, 0, bn_i)), "nbn_i", W)
        w_base_next = reg(w_base + w_rep_bytes, "w_base_next", ADDR_BITS)  # (3)
        a_base_next = reg(a_base + a_rep_bytes, "a_base_next", ADDR_BITS)  # (4)

        # ------------------------------------------------------------------ outputs
        w_load_addr = reg(w_base + w_bytes(w_blk_at), "w_load_addr", ADDR_BITS)  # (4)
        a_load_addr = reg(a_base + a_bytes(a_blk_at >> a_shift), "a_load_addr", ADDR_BITS)  # (5)
        a_load_words = reg(a_lines(a_sub + a_blk_words), "a_load_words", JOB_LAYOUT.members["words"])  # (5)
        a_read_off = reg(a_sub + a_off, "a_read_off", WW)  # T (5)
        r_job_addr = reg(d.r_base + r_bytes(r_idx), "r_job_addr", ADDR_BITS)  # T (1)
        keep = reg(d.os & (d.kb >= d.k), "keep", 1)  # (1) one k-block: the PE's sum is the output
        m.d.comb += [
            self.cmd.payload.os.eq(d.os),
            self.cmd.payload.sparse.eq(d.sparse),
            self.cmd.payload.n.eq(d.nm_n),
            self.cmd.payload.log2m.eq(d.log2m),
            self.cmd.payload.interleave.eq(d.interleave),
            self.cmd.payload.k.eq(k_t),
            self.cmd.payload.length.eq(Mux(d.os, 0, width)),
            self.w_load.payload.addr.eq(w_load_addr),
            self.w_load.payload.words.eq(w_blk_words),
            self.a_load.payload.addr.eq(a_load_addr),
            self.a_load.payload.words.eq(a_load_words),
            self.w_read.payload.seq.eq(Mux(need_w, w_cnt, w_cnt - 1)),
            self.w_read.payload.off.eq(w_off),
            self.w_read.payload.words.eq(w_words),
            self.w_read.payload.release.eq(last_tile & new_w),
            self.a_read.payload.seq.eq(Mux(need_a, a_cnt, a_cnt - 1)),
            self.a_read.payload.off.eq(a_read_off),
            self.a_read.payload.shift.eq(a_shift),
            self.a_read.payload.words.eq(a_words),
            self.a_read.payload.release.eq(last_tile & new_a),
            self.acc_job.payload.base.eq(c_off),
            self.acc_job.payload.words.eq(r_words),
            self.acc_job.payload.first.eq(k_first),
            self.acc_job.payload.last.eq(k_final),
            self.acc_job.payload.keep.eq(keep),
            self.r_job.payload.addr.eq(r_job_addr),
            self.r_job.payload.words.eq(r_words),
        ]
        all_ready = (
            self.cmd.ready & self.w_read.ready & self.a_read.ready & self.acc_job.ready
            & (~k_final | self.r_job.ready) & (~need_w | self.w_load.ready) & (~need_a | self.a_load.ready)
        )  # fmt: skip
        hold = Signal(range(SEQUENCER_STEP_SETTLE + 1))  # cycles until the registers show the state
        emit = busy & (hold == 0) & all_ready
        for s in (self.cmd, self.w_read, self.a_read, self.acc_job):
            m.d.comb += s.valid.eq(emit)
        m.d.comb += [self.w_load.valid.eq(emit & need_w), self.a_load.valid.eq(emit & need_a),
                     self.r_job.valid.eq(emit & k_final)]  # fmt: skip

        with m.If(hold != 0):
            m.d.sync += hold.eq(hold - 1)
        with m.If(self.start & ~busy):
            m.d.sync += [
                busy.eq(self.desc.repeat != 0), rep.eq(0), bm0.eq(0), bn0.eq(0), bk0.eq(0), bm_t.eq(0),
                bn_i.eq(0), bk_u.eq(0), r0.eq(0), c0.eq(0), k0.eq(0), w_off.eq(0), a_off.eq(0), c_off.eq(0),
                need_w.eq(1), need_a.eq(1), r_idx.eq(0),
                w_base.eq(self.desc.w_base), a_base.eq(self.desc.a_base), hold.eq(SEQUENCER_STEP_SETTLE),
            ]  # fmt: skip

        with m.If(emit):
            m.d.sync += hold.eq(Mux(last_tile, SEQUENCER_STEP_SETTLE, SEQUENCER_TILE_SETTLE))
            with m.If(k_final):  # only final sums are written to DRAM, in walk order
                m.d.sync += r_idx.eq(r_idx + r_words)
            with m.If(need_w):
                m.d.sync += [w_cnt.eq(w_cnt + 1), need_w.eq(0)]
            with m.If(need_a):
                m.d.sync += [a_cnt.eq(a_cnt + 1), need_a.eq(0)]
            with m.If(~last_inner):
                with m.If(d.os):
                    m.d.sync += [c0.eq(c0 + n_cap), a_off.eq(a_off + a_words), c_off.eq(c_off + r_words)]
                with m.Else():
                    m.d.sync += [k0.eq(k0 + kt_ws), w_off.eq(w_off + R), a_off.eq(a_off + width)]
            with m.Elif(~last_mt):
                m.d.sync += [r0.eq(r0 + Mux(d.os, R, C)), a_off.eq(0), c0.eq(bn0), k0.eq(bk0),
                             c_off.eq(c_off + r_words)]  # fmt: skip
                m.d.sync += w_off.eq(w_off + Mux(d.os, steps, R))
            with m.Else():
                # the step's last tile: on to the next block step
                m.d.sync += [
                    need_w.eq(new_w), need_a.eq(new_a), w_off.eq(0), a_off.eq(0), c_off.eq(0),
                    bk0.eq(nbk), bk_u.eq(nbk_u), bm0.eq(nbm), bn0.eq(nbn), k0.eq(nbk), r0.eq(nbm), c0.eq(nbn),
                    bm_t.eq(nbm_t), bn_i.eq(nbn_i),
                ]  # fmt: skip
                with m.If(end_rep):
                    m.d.sync += [w_base.eq(w_base_next), a_base.eq(a_base_next), rep.eq(rep + 1)]
                    with m.If(last_rep):
                        m.d.sync += busy.eq(0)
        return m
