"""The op engine's out buffer: the partial sums of the current output block, accumulated on chip.

Every result word of the array (a tile's C lanes) comes with its tile's job: the word's place in the out
buffer (the first word's, then one after another), and three flags. `first`: the word starts its sum from
+0 (the first k-tile of a WS output, the first k-block of an OS one), else it is added to the partial sum
stored at its place; `last`: the sum is final, so it goes to the write DMA instead of back into the buffer;
`keep`: the word is the output as it is (an OS output of one k-block: the PE's sum), passed on unchanged
without the adders' latency.
This is sparsesim.sat.numerics' accumulation contract (`accumulate`: from +0, the parts in order, FP32 with
round to nearest even) done by the lanes' adders (rtl/arith.py: FP32AdderDeep, FP32Adder's bits in six
stages; INT32 wrap-around on INT8 arrays; their depth: rtl/latency.py, out_buffer_add_latency), so that only
final results are written to DRAM once.

Pipeline: the stored sum is read in the cycle a word is taken, added over the adder's latency, and written
back (or passed on) after it: a final sum leaves `out_buffer_add_latency + 1` cycles after its word came (7
with the FP32 adder; the output FIFO is passed by when empty). A word whose place is still in the pipeline
waits (the read would miss the write); a word is taken only when the output FIFO has room for every word in
the pipeline.
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockSignal, Instance, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..arith import FP32AdderDeep, IntAdder
from ..config import ArrayConfig, log2
from ..latency import out_buffer_add_latency
from .descriptor import DIM_BITS

ACC_JOB_LAYOUT = data.StructLayout(
    {"base": 2 * DIM_BITS, "words": DIM_BITS, "first": 1, "last": 1, "keep": 1}
)


class OutBuffer(wiring.Component):
    def __init__(self, cfg: ArrayConfig, *, words: int, memory_module: str | None = None):
        if words & (words - 1):
            raise ValueError(f"words={words} must be a power of two")
        self.cfg, self.words, self.memory_module = cfg, words, memory_module
        self.latency = out_buffer_add_latency("fp32" if cfg.fp else "int32")
        super().__init__(
            {
                "job": In(stream.Signature(ACC_JOB_LAYOUT)),
                "results": In(stream.Signature(cfg.result_layout)),
                "out": Out(stream.Signature(cfg.result_layout)),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        C, L = cfg.cols, self.latency
        ab = log2(self.words)
        data_bits = 32 * C

        # ---- the memory: one write port (the sums going back), one read port (the stored sums)
        waddr, wdata, wen = Signal(ab), Signal(data_bits), Signal()
        raddr, rdata, ren = Signal(ab), Signal(data_bits), Signal()
        if self.memory_module is None:
            m.submodules.mem = mem = Memory(shape=data_bits, depth=self.words, init=[])
            mw, mr = mem.write_port(), mem.read_port()
            m.d.comb += [mw.addr.eq(waddr), mw.data.eq(wdata), mw.en.eq(wen),
                         mr.addr.eq(raddr), mr.en.eq(ren), rdata.eq(mr.data)]  # fmt: skip
        else:
            m.submodules.mem = Instance(
                self.memory_module, p_WIDTH=data_bits, p_DEPTH=self.words, p_ABITS=ab, p_TRANSPARENT=0,
                i_clk=ClockSignal(),
                i_waddr=waddr, i_wdata=wdata, i_wen=wen, i_raddr=raddr, i_ren=ren, o_rdata=rdata,
            )  # fmt: skip

        # ---- the current job
        job = Signal(ACC_JOB_LAYOUT)
        left = Signal(DIM_BITS)
        at = Signal(2 * DIM_BITS)
        at_inc = Signal(2 * DIM_BITS, init=1)  # at + 1

        # ---- the pipeline: a word taken in cycle t (its stored sum read then) is in stage i in cycle
        # t + 1 + i; its lanes' adders take it in stage 0 and give the sum in stage L, which writes it back
        # (a later read of its place sees it) or passes it on
        depth = L + 1
        valid = [Signal(name=f"v{i}") for i in range(depth)]
        place = [Signal(ab, name=f"at{i}") for i in range(depth)]
        final = [Signal(name=f"final{i}") for i in range(depth)]
        m.submodules.q = q = fifo.SyncFIFO(width=cfg.result_layout.size, depth=depth + 2)
        # the words in the pipeline, counted in a register (the sum of `valid` one cycle ahead): a word
        # enters stage 0 when taken to be added and leaves after stage L
        in_flight = Signal(range(depth + 1))
        # one OR expression, not a chain of `If`s: Amaranth writes the chain as an `always @*` process whose
        # inputs do not change until a word is taken, and Icarus Verilog (11.0) never runs it at time 0, so
        # `clash` stayed X and no word was ever taken (the op engine hung in Icarus, not in Verilator)
        # match[i]: place[i] == the current place, kept in registers: each cycle's from the places' shift
        # and the next place (the job's base, the next word's or the same), so that `clash` is one OR of
        # registers (a stage holding a word always has its match computed since the word was taken)
        match = [Signal(name=f"match{i}") for i in range(depth)]
        clash = Signal()
        m.d.comb += clash.eq(Cat(*(valid[i] & match[i] for i in range(depth))).any())
        room = q.level + in_flight < depth + 2
        # `left` != 0 and `left` == 1 as registers, set with `left`
        some_left, one_left = Signal(), Signal()
        empty = Signal()
        m.d.comb += empty.eq(in_flight == 0)
        # a `keep` word goes straight to the FIFO (no add: the adders' latency is not on the op's last
        # results), once the words before it have left the pipeline
        take = some_left & self.results.valid & ~clash & room & (~job.keep | empty)
        bypass = take & job.keep
        m.d.comb += [self.results.ready.eq(take), self.job.ready.eq(~some_left | (take & one_left))]
        with m.If(self.job.valid & self.job.ready):
            m.d.sync += [job.eq(self.job.payload), left.eq(self.job.payload.words),
                         at.eq(self.job.payload.base), at_inc.eq(self.job.payload.base + 1),
                         some_left.eq(self.job.payload.words != 0),
                         one_left.eq(self.job.payload.words == 1)]  # fmt: skip
        with m.Elif(take):
            m.d.sync += [left.eq(left - 1), at.eq(at_inc), at_inc.eq(at_inc + 1), some_left.eq(left != 1),
                         one_left.eq(left == 2)]  # fmt: skip
        m.d.sync += in_flight.eq(in_flight + (take & ~job.keep) - valid[L])
        accept = self.job.valid & self.job.ready
        # each stage's two compares as wires of their own (`keep`: Yosys's ABC otherwise folded the choice by
        # `take` into the start of a 14-bit compare chain on the preset, 10 LUTs from `match` to `match`), the
        # next place's increment a register beside `at`
        nxt_base, nxt_inc = self.job.payload.base[:ab], at_inc[:ab]
        for i in range(depth):
            prev, same = (at[:ab], 1) if i == 0 else (place[i - 1], match[i - 1])
            eq_base = Signal(name=f"eq_base{i}", attrs={"keep": 1})
            eq_inc = Signal(name=f"eq_inc{i}", attrs={"keep": 1})
            m.d.comb += [eq_base.eq(prev == nxt_base), eq_inc.eq(prev == nxt_inc)]
            m.d.sync += match[i].eq(Mux(accept, eq_base, Mux(take, eq_inc, same)))

        m.d.comb += [raddr.eq(at[:ab]), ren.eq(take & ~job.first & ~job.keep)]
        word = Signal(cfg.result_layout)
        zero_kind = Signal()  # 1: the word starts from +0
        m.d.sync += [valid[0].eq(take & ~job.keep), place[0].eq(at[:ab]), final[0].eq(job.last),
                     word.eq(self.results.payload), zero_kind.eq(job.first),
                     ]  # fmt: skip
        # stage 0: the stored sum has been read; the lanes add
        addend = Signal(data_bits)
        for c in range(C):
            stored = rdata[32 * c : 32 * (c + 1)]
            m.d.comb += addend[32 * c : 32 * (c + 1)].eq(Mux(zero_kind, 0, stored))
        sums = Signal(data_bits)
        for c in range(C):
            adder = FP32AdderDeep(latency=L) if cfg.fp else IntAdder(latency=L)
            m.submodules[f"add{c}"] = adder
            m.d.comb += [adder.a.eq(word.data[c]), adder.b.eq(addend[32 * c : 32 * (c + 1)]),
                         sums[32 * c : 32 * (c + 1)].eq(adder.s)]  # fmt: skip
        lasts = [Signal(name=f"last{i}") for i in range(depth)]
        m.d.sync += lasts[0].eq(self.results.payload.last)
        for i in range(1, depth):
            m.d.sync += [valid[i].eq(valid[i - 1]), place[i].eq(place[i - 1]), final[i].eq(final[i - 1]),
                         lasts[i].eq(lasts[i - 1])]  # fmt: skip
        done = L
        out_word = Signal(cfg.result_layout)
        m.d.comb += [out_word.data.eq(sums), out_word.last.eq(lasts[done])]
        # a final word goes straight on when nothing older waits in the FIFO and the write DMA takes it
        leaving = (valid[done] & final[done]) | bypass
        # the word leaving: the adders' unless none leaves them and the job passes its words by (then only
        # a bypassed word is written), so that the choice does not wait for `take`
        leaving_word = Mux(job.keep & ~valid[done], self.results.payload, out_word)
        direct = leaving & ~q.r_rdy & self.out.ready
        m.d.comb += [
            waddr.eq(place[done]), wdata.eq(sums), wen.eq(valid[done] & ~final[done]),
            q.w_en.eq(leaving & ~direct), q.w_data.eq(leaving_word),
            self.out.valid.eq(q.r_rdy | leaving), self.out.payload.eq(Mux(q.r_rdy, q.r_data, leaving_word)),
            q.r_en.eq(self.out.ready),
            self.idle.eq(~some_left & empty & ~q.r_rdy),
        ]  # fmt: skip
        return m
