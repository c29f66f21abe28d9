"""The op engine top: descriptor in, a whole GEMM op run from DRAM to DRAM (docs/pe_array.md, "Op engine").

Composition: `Sequencer` (the mapping's blocks and their tiles from the descriptor) -> job FIFOs -> two
`BlockBuffer`s (weights, activations: double-buffered on-chip blocks, loaded through the AXI4 read masters
`rd_w`, `rd_a`) feeding the array's weight and activation streams, the array (`SparseArray`, unchanged), the
`OutBuffer` adding its results' partial sums on chip and a `WriteDMA` (AXI4 write master `wr`) writing the
final sums. The host
writes `desc` and pulses `start`; `done` rises when every result is written (all write responses in) and
stays high until the next start. Counters the benches read: `op_cycles` (start to done), `started_at`, and
the array's first weight load / first beat / last result cycle of the op (`cycle` counts every clock).
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from ..array import SparseArray
from ..config import ArrayConfig
from . import axi
from .accum import ACC_JOB_LAYOUT, OutBuffer
from .buffer import READ_JOB_LAYOUT, BlockBuffer
from .descriptor import ADDR_BITS, DATA_BYTES, check_packable, descriptor_layout, result_dram_bits
from .dma import JOB_LAYOUT, WriteDMA
from .sequencer import Sequencer

# FIFOs are Amaranth's SyncFIFO: a word written in one cycle can be read in the next (one register stage on
# the DMA paths; the buffered variant adds an output register, a cycle more on each path).
# Block buffer halves in words (our choice for the default; the benches size them to their ops' largest
# block, rtl_opengine.block_words): a weight block of 4,096 words is a 4x4 FP16 array's 32 x 2,048 OS
# weights, an activation block of 4,096 words 2,048 x 8 WS activations.
BLOCK_WORDS = 4096
# Result buffer in words and bursts of 16 beats (1 KiB at 64 B): our choice.
RESULT_BUFFER_WORDS = 32
MAX_BURST_BEATS = 16
JOB_FIFO_DEPTH = 8


class OpEngine(wiring.Component):
    def __init__(self, cfg: ArrayConfig, *, cell_module: str | None = None, data_bytes: int = DATA_BYTES,
                 w_block_words: int = BLOCK_WORDS, a_block_words: int = BLOCK_WORDS,
                 c_block_words: int = BLOCK_WORDS, memory_module: str | None = None):
        self.cfg, self.cell_module, self.data_bytes = cfg, cell_module, data_bytes
        self.w_block_words, self.a_block_words = w_block_words, a_block_words
        self.c_block_words = c_block_words  # the out buffer (accum.py)
        self.memory_module = memory_module  # the block buffers' memory (BlockBuffer; None: amaranth's)
        super().__init__(
            {
                "desc": In(descriptor_layout(cfg)),
                "start": In(1),
                "done": Out(1),
                "busy": Out(1),
                "cycle": Out(32),
                "op_cycles": Out(32),
                "started_at": Out(32),
                "first_load": Out(32),
                "first_start": Out(32),
                "last_done": Out(32),
                "rd_w": Out(axi.read_master(ADDR_BITS, data_bytes)),
                "rd_a": Out(axi.read_master(ADDR_BITS, data_bytes)),
                "wr": Out(axi.write_master(ADDR_BITS, data_bytes)),
            }
        )

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        db = self.data_bytes
        m.submodules.seq = seq = Sequencer(cfg, db)
        m.submodules.array = arr = SparseArray(cfg, cell_module=self.cell_module)
        check_packable(cfg, db)
        # activations packed in DRAM (E elements per lane, image.py), weights as the array's words
        buf_w, buf_a = (
            BlockBuffer(bits, half_words=words, data_bytes=db, max_beats=MAX_BURST_BEATS,
                        memory_module=self.memory_module, pack=pack)
            for bits, words, pack in ((cfg.weights_layout.size, self.w_block_words, None),
                                      (cfg.acts_layout.size, self.a_block_words,
                                       (cfg.lanes, cfg.operand_bits, cfg.max_m)))
        )  # fmt: skip
        m.submodules.buf_w, m.submodules.buf_a = buf_w, buf_a
        res = dict(data_bytes=db, depth=RESULT_BUFFER_WORDS, max_beats=MAX_BURST_BEATS)
        m.submodules.dma_r = dma_r = WriteDMA(result_dram_bits(cfg), **res)
        m.submodules.acc = acc = OutBuffer(cfg, words=self.c_block_words, memory_module=self.memory_module)
        m.d.comb += [seq.desc.eq(self.desc), seq.start.eq(self.start & ~self.busy)]

        # Job FIFOs let the sequencer run ahead of the DMAs (a write job waits for its tile's results).
        fifos = {}
        for name, src, dst, width in (
            ("cmd", seq.cmd, arr.cmd, cfg.cmd_layout.size),
            ("w_load", seq.w_load, buf_w.load, JOB_LAYOUT.size),
            ("a_load", seq.a_load, buf_a.load, JOB_LAYOUT.size),
            ("w_read", seq.w_read, buf_w.read, READ_JOB_LAYOUT.size),
            ("a_read", seq.a_read, buf_a.read, READ_JOB_LAYOUT.size),
            ("acc_job", seq.acc_job, acc.job, ACC_JOB_LAYOUT.size),
            ("r_job", seq.r_job, dma_r.job, JOB_LAYOUT.size),
        ):
            q = fifo.SyncFIFO(width=width, depth=JOB_FIFO_DEPTH)
            m.submodules[f"{name}_fifo"] = q
            fifos[name] = q
            m.d.comb += [
                q.w_en.eq(src.valid), q.w_data.eq(src.payload), src.ready.eq(q.w_rdy),
                dst.valid.eq(q.r_rdy), dst.payload.eq(q.r_data), q.r_en.eq(dst.ready),
            ]  # fmt: skip
        wiring.connect(m, buf_w.words, arr.weights)
        wiring.connect(m, buf_a.words, arr.acts)
        m.d.comb += [
            acc.results.valid.eq(arr.results.valid),
            acc.results.payload.eq(arr.results.payload),
            arr.results.ready.eq(acc.results.ready),
            dma_r.words.valid.eq(acc.out.valid),
            dma_r.words.payload.eq(acc.out.payload.data),  # the `last` flag stays on chip
            acc.out.ready.eq(dma_r.words.ready),
        ]
        wiring.connect(m, buf_w.axi, wiring.flipped(self.rd_w))
        wiring.connect(m, buf_a.axi, wiring.flipped(self.rd_a))
        wiring.connect(m, dma_r.axi, wiring.flipped(self.wr))

        # ---------------------------------------------------------------- run state and counters
        running = Signal()
        fresh = Signal()  # the cycle after start: the sequencer's busy flag is not visible yet
        quiet = ~seq.busy & dma_r.idle & buf_w.idle & buf_a.idle & acc.idle & ~arr.busy
        for q in fifos.values():
            quiet &= ~q.r_rdy
        m.d.comb += self.busy.eq(running)
        m.d.sync += [self.cycle.eq(self.cycle + 1), fresh.eq(0)]
        seen_load, seen_start = Signal(), Signal()
        with m.If(self.start & ~running):
            m.d.sync += [running.eq(1), fresh.eq(1), self.done.eq(0), self.op_cycles.eq(0),
                         self.started_at.eq(self.cycle), seen_load.eq(0), seen_start.eq(0)]  # fmt: skip
        with m.Elif(running):
            m.d.sync += self.op_cycles.eq(self.op_cycles + 1)
            with m.If(~fresh & quiet):
                m.d.sync += [running.eq(0), self.done.eq(1)]
        # The array's events, on the engine's cycle count (the array's own counter is not exported).
        with m.If(running & arr.ev_load & ~seen_load):
            m.d.sync += [self.first_load.eq(self.cycle), seen_load.eq(1)]
        with m.If(running & arr.ev_start & ~seen_start):
            m.d.sync += [self.first_start.eq(self.cycle), seen_start.eq(1)]
        with m.If(running & arr.ev_done):
            m.d.sync += self.last_done.eq(self.cycle)
        return m
