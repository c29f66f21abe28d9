"""An operand's on-chip block buffer: a double-buffered memory that a DMA fills with whole blocks from DRAM
(AXI4 reads) and a reader streams to the array at one word per cycle, as often as the block's tiles need.

Blocks are numbered in the order they are loaded (0, 1, 2, ...; block j lives in half j % 2). Load jobs
(DRAM byte address, words) are taken block after block; block j is taken only once block j - 2 is released
(its half is free), so the next block loads while the current one is read, and its bursts are requested
while the previous block's beats still arrive (the DRAM latency of consecutive blocks overlaps). Read jobs
(block number, word offset in the block, words, release) stream a tile's words; a word is read as soon as
it is in the memory (the first pass over a block follows its load, a word can be read in the cycle it is
written; later passes run at the array's rate), and a job with `release` frees its block's half when its
last word is read.

DRAM words are `beats_per_word` AXI beats, low bits first; a word is assembled from its beats and written with
the last.
The memory has one write port (the DMA) and one read port (the reader), `2 * half_words` words.

Packed (`pack`, the activation buffer): DRAM holds each activation word as the mode uses it, E elements per
lane (E = 2**(L0 - shift), the read job's `shift` = log2 of the words per line), words back to back in
lines of `line_bits` (descriptor.act_line_bits: a beat, or a full word where that is wider). The memory
holds lines: a load job's `words` are lines, a read job's `off` counts words from the block's first line
(the sequencer adds where in that line the block's first word sits), and the reader takes word `idx` from
line `idx >> shift`, selects it in the line and places each lane's E elements in the first E of its MMAX
slots (the rest zero), combinationally after the memory's registered read (no cycle added).
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config import log2
from . import axi
from .descriptor import ADDR_BITS, DIM_BITS, beats_per_word
from .dma import JOB_LAYOUT, _burst_beats

SEQ_BITS = 16  # block numbers, counted from reset modulo 2**16 (the reader is never 2**15 blocks behind)
# shift: log2 of the packed words per memory line (0: a line is a word, as in an unpacked buffer)
READ_JOB_LAYOUT = data.StructLayout(
    {"seq": SEQ_BITS, "off": 2 * DIM_BITS, "words": DIM_BITS, "release": 1, "shift": 3}
)
# Words the reader keeps between the memory and the array (our choice): the memory's registered read adds a
# cycle, so two words in flight keep one word per cycle flowing while the array back-pressures.
READ_FIFO_WORDS = 4


class _Port:
    def __init__(self, abits: int, width: int, granules: int = 1):
        self.addr, self.data, self.en = Signal(abits), Signal(width), Signal(granules)


class BlockBuffer(wiring.Component):
    def __init__(self, word_bits: int, *, half_words: int, data_bytes: int, max_beats: int,
                 memory_module: str | None = None, pack: tuple[int, int, int] | None = None):
        """`pack`: (lanes, bits per element, MMAX) of a packed activation buffer (module docstring); None:
        a line is one word, `beats_per_word` beats."""
        if half_words & (half_words - 1):
            raise ValueError(f"half_words={half_words} must be a power of two")
        self.pack = pack
        if pack is not None:
            lanes, elem_bits, max_e = pack
            if lanes * elem_bits * max_e != word_bits:
                raise ValueError(f"pack {pack} does not make {word_bits}-bit words")
            self.line_bits = max(8 * data_bytes, word_bits)
            units = self.line_bits // (lanes * elem_bits)
            if self.line_bits % (8 * data_bytes) or units & (units - 1) or max_e & (max_e - 1):
                raise ValueError(f"{word_bits}-bit words do not pack into {self.line_bits}-bit lines")
            self.max_shift = log2(units)
        else:
            self.line_bits, self.max_shift = word_bits, 0
        self.bpw = beats_per_word(self.line_bits, data_bytes)  # beats per memory line
        self.word_bits, self.half_words, self.data_bytes, self.max_beats = (
            word_bits, half_words, data_bytes, max_beats)  # fmt: skip
        # None: amaranth.lib.memory; else the name of a Verilog module with block_mem.v's ports, which the
        # Verilator benches use for large buffers (export.py)
        self.memory_module = memory_module
        super().__init__(
            {
                "load": In(stream.Signature(JOB_LAYOUT)),
                "read": In(stream.Signature(READ_JOB_LAYOUT)),
                "axi": Out(axi.read_master(ADDR_BITS, data_bytes)),
                "words": Out(stream.Signature(word_bits)),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        db, bpw, beat_bits = self.data_bytes, self.bpw, 8 * self.data_bytes
        hb = log2(self.half_words)
        # packed: each beat is written into its part of the line as it arrives (a word in a line's first
        # beat is readable before the line is complete); unpacked: a word is written with its last beat
        per_beat = self.pack is not None and bpw > 1
        granules = bpw if per_beat else 1
        wp, rp = _Port(hb + 1, self.line_bits, granules), _Port(hb + 1, self.line_bits)
        if self.memory_module is None:
            m.submodules.mem = mem = Memory(shape=self.line_bits, depth=2 * self.half_words, init=[])
            mw = mem.write_port(granularity=beat_bits if per_beat else None)
            mr = mem.read_port(transparent_for=(mw,))  # a word can be read in the cycle it is written
            m.d.comb += [mw.addr.eq(wp.addr), mw.data.eq(wp.data), mw.en.eq(wp.en),
                         mr.addr.eq(rp.addr), mr.en.eq(rp.en), rp.data.eq(mr.data)]  # fmt: skip
        else:
            m.submodules.mem = Instance(
                self.memory_module, p_WIDTH=self.line_bits, p_DEPTH=2 * self.half_words, p_ABITS=hb + 1,
                p_GRANULES=granules, i_clk=ClockSignal(), i_waddr=wp.addr, i_wdata=wp.data, i_wen=wp.en,
                i_raddr=rp.addr, i_ren=rp.en, o_rdata=rp.data,
            )  # fmt: skip

        # ------------------------------------------------------------------ load side (DRAM -> memory)
        started = Signal(SEQ_BITS)  # blocks whose load was taken (their half reserved)
        filled = Signal(SEQ_BITS)  # blocks wholly in the memory; block `filled` is the one arriving
        released = Signal(SEQ_BITS)  # blocks the reader is done with
        fill = Signal(2 * DIM_BITS + bpw.bit_length())  # lines (per_beat: beats) of block `filled` in memory
        addr = Signal(ADDR_BITS)
        remaining = Signal(2 * DIM_BITS + bpw.bit_length())  # beats of the taken block not yet requested
        ar_pending = Signal()
        beats = _burst_beats(m, addr, remaining, self.max_beats, db)
        # words of the blocks taken and not yet wholly arrived, in order: the next block's addresses go out
        # while the current one's beats arrive
        m.submodules.sizes = sizes = fifo.SyncFIFO(width=2 * DIM_BITS + bpw.bit_length(), depth=2)

        # a block's half is free once the block two before it is released
        free = (started - released)[:SEQ_BITS] < 2
        m.d.comb += self.load.ready.eq((remaining == 0) & free & sizes.w_rdy)
        take = self.load.valid & self.load.ready
        m.d.comb += [sizes.w_en.eq(take),
                     sizes.w_data.eq(self.load.payload.words * (bpw if per_beat else 1))]  # fmt: skip
        with m.If(take):
            m.d.sync += [addr.eq(self.load.payload.addr), remaining.eq(self.load.payload.words * bpw),
                         started.eq(started + 1)]  # fmt: skip

        granted = self.axi.arvalid & self.axi.arready
        issue = (remaining != 0) & (~ar_pending | granted)
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
            self.axi.rready.eq(1),  # the block's half is free: every beat has its place
        ]
        got = self.axi.rvalid
        if per_beat:
            # the beat goes to its part of line fill // bpw; `fill` counts beats
            word_in, word_done = Cat(*([self.axi.rdata] * bpw)), got
            m.d.comb += [wp.addr.eq(Cat(fill[log2(bpw) : log2(bpw) + hb], filled[0])), wp.data.eq(word_in),
                         wp.en.eq(Mux(got, 1 << fill[: log2(bpw)], 0))]  # fmt: skip
        elif bpw == 1:
            word_in, word_done = self.axi.rdata[: self.line_bits], got
        else:
            sub = Signal(range(bpw))
            held = Signal((bpw - 1) * beat_bits)
            with m.If(got):
                m.d.sync += sub.eq(Mux(sub == bpw - 1, 0, sub + 1))
                for j in range(bpw - 1):
                    with m.If(sub == j):
                        m.d.sync += held[j * beat_bits : (j + 1) * beat_bits].eq(self.axi.rdata)
            word_in, word_done = Cat(held, self.axi.rdata)[: self.line_bits], got & (sub == bpw - 1)
        if not per_beat:  # block `filled` goes to half `filled` % 2
            m.d.comb += [wp.addr.eq(Cat(fill[:hb], filled[0])), wp.data.eq(word_in), wp.en.eq(word_done)]
        last_word = word_done & (fill + 1 == sizes.r_data)
        m.d.comb += sizes.r_en.eq(last_word)
        with m.If(last_word):
            m.d.sync += [fill.eq(0), filled.eq(filled + 1)]
        with m.Elif(word_done):
            m.d.sync += fill.eq(fill + 1)

        # ------------------------------------------------------------------ read side (memory -> array)
        job = Signal(READ_JOB_LAYOUT)
        left = Signal(DIM_BITS)  # words of the job not yet read
        idx = Signal(2 * DIM_BITS)  # the next word's offset in its block (packed: from its first line)
        # Two functions of word idx, kept in registers beside it (a job's first word from the job, each next
        # one by an increment from registers), so that the read's address and the "word is here" compare start
        # at flip-flops instead of behind idx's variable shifts and adds (the same values in every cycle):
        # `line`, the line holding word idx (its place in the half: the read address), and `need`, what must
        # be in the memory for word idx: its line, or (per_beat) the beat holding its last bit.
        need_bits = 2 * DIM_BITS + bpw.bit_length()
        line = Signal(hb)
        need = Signal(need_bits, init=bpw - 1 if per_beat else 0)  # word 0's, shift 0 (per_beat below)
        lb = log2(self.line_bits)
        lbpw = log2(bpw)  # per_beat: a line is 2**lbpw beats

        def line_of(i, s):
            return (i >> s) if self.pack is not None else i

        def need_of(m, i, s):
            """need for word i of a job with shift s: per_beat, the beat holding the word's last bit,
            ((i + 1) << (lb - s)) - 1) >> log2(beat_bits): (i << k) | (2**k - 1) for a word of k = lbpw - s
            >= 0 whole beats' magnitude, i >> (s - lbpw) for smaller words; else the line."""
            if not per_beat:
                return line_of(i, s)
            v = Signal(need_bits)
            with m.Switch(s):
                for c in range(min(8, lb + 1)):  # the shift field's values (a word is at least a bit)
                    with m.Case(c):
                        if c <= lbpw:
                            m.d.comb += v.eq(Cat(Const((1 << (lbpw - c)) - 1, lbpw - c), i))
                        else:
                            m.d.comb += v.eq(i >> (c - lbpw))
            return v

        def ones_below(m, i, n):
            """The n low bits of i are all ones (n a 3-bit signal; n = 0: true)."""
            flag = Signal()
            with m.Switch(n):
                for c in range(8):
                    with m.Case(c):
                        m.d.comb += flag.eq(i[:c] == (1 << c) - 1)
            return flag

        take_job = self.read.valid & self.read.ready
        # from word idx to word idx + 1: the line moves on past its last word; need by 2**k beats (whole-beat
        # words), by one past every 2**(s - lbpw)-th word (smaller ones), else as the line
        line_inc = ones_below(m, idx, job.shift) if self.pack is not None else Const(1)
        if per_beat:
            need_inc = Signal(lbpw + 1)
            with m.Switch(job.shift):
                for c in range(min(8, lb + 1)):
                    with m.Case(c):
                        if c <= lbpw:
                            m.d.comb += need_inc.eq(1 << (lbpw - c))
                        else:
                            m.d.comb += need_inc.eq(idx[: c - lbpw] == (1 << (c - lbpw)) - 1)
        else:
            need_inc = line_inc
        m.submodules.out = out = fifo.SyncFIFO(width=self.word_bits, depth=READ_FIFO_WORDS)
        pending = Signal()  # a word read last cycle: on the read port now (to the array or the FIFO)
        here = Signal()
        room = out.level + pending < READ_FIFO_WORDS
        # left != 0 and left == 1 as flags beside it (the same values in every cycle)
        left_nz, left_one = Signal(), Signal()
        go = left_nz & here & room
        # the next job is taken with the current one's last word: tiles' words follow without a gap
        m.d.comb += self.read.ready.eq(~left_nz | (go & left_one))
        with m.If(take_job):
            m.d.sync += [job.eq(self.read.payload), idx.eq(self.read.payload.off),
                         left.eq(self.read.payload.words), left_nz.eq(self.read.payload.words != 0),
                         left_one.eq(self.read.payload.words == 1),
                         line.eq(line_of(self.read.payload.off, self.read.payload.shift)),
                         need.eq(need_of(m, self.read.payload.off, self.read.payload.shift))]  # fmt: skip
        # the word is in the memory: its block's load has moved past it, or has brought it already
        # (block numbers wrap: the distance from the block loading, modulo 2**SEQ_BITS). `ahead` is
        # filled - job.seq as a register: a job's from its block number and `filled` as it will be, then one
        # more with each block that arrives (`filled` moves on with last_word); `past` (ahead > 0, the block
        # is wholly in the memory) and `cur` (ahead == 0, it is arriving) are registers beside it, each the
        # flag of the one of the four next values that take_job and last_word choose
        ahead = Signal(SEQ_BITS)
        from_job = Signal(SEQ_BITS)
        m.d.comb += from_job.eq(filled - self.read.payload.seq)
        nexts = [Signal(SEQ_BITS, name=f"ahead_next{i}") for i in range(4)]  # by Cat(last_word, take_job)
        m.d.comb += [nexts[0].eq(ahead), nexts[1].eq(ahead + 1), nexts[2].eq(from_job),
                     nexts[3].eq(from_job + 1)]  # fmt: skip
        past, cur = Signal(), Signal(init=1)  # reset: filled = job.seq = 0
        with m.Switch(Cat(last_word, take_job)):
            for i, v in enumerate(nexts):
                with m.Case(i):
                    m.d.sync += [ahead.eq(v), past.eq((v != 0) & ~v[-1]), cur.eq(v == 0)]
        # fill + word_done > need, with word_done a one-bit term: two compares of registers
        arrived = Mux(word_done, fill >= need, fill > need)
        m.d.comb += here.eq(past | (cur & arrived))
        m.d.comb += [rp.addr.eq(Cat(line, job.seq[0])), rp.en.eq(go)]
        m.d.sync += pending.eq(go)
        # the word read last cycle: its place in its line and its job's words per line, as a one-hot choice
        # among the (shift, place) pairs, registered with the read (the unpacking below then is an AND-OR)
        picks = self._picks()
        places = [(s, a) for s, a, _ in picks]
        # reset: place 0 at shift 0
        pick = Signal(len(picks), init=1 << places.index((0, 0)) if (0, 0) in places else 0)
        with m.If(go):
            m.d.sync += pick.eq(Cat((job.shift == s) & (idx[:s] == a) for s, a in places))
        word = self._unpack(rp.data, picks, pick)
        with m.If(go & ~take_job):
            m.d.sync += [idx.eq(idx + 1), left.eq(left - 1), left_nz.eq(~left_one), left_one.eq(left == 2),
                         line.eq(line + line_inc), need.eq(need + need_inc)]  # fmt: skip
        with m.If(go):
            with m.If(left_one & job.release):
                m.d.sync += released.eq(released + 1)
        # the word read last cycle goes straight to the array when nothing older waits in the FIFO
        direct = pending & ~out.r_rdy
        m.d.comb += [
            out.w_en.eq(pending & ~(direct & self.words.ready)), out.w_data.eq(word),
            self.words.valid.eq(out.r_rdy | pending),
            self.words.payload.eq(Mux(out.r_rdy, out.r_data, word)),
            out.r_en.eq(self.words.ready),
            self.idle.eq(~sizes.r_rdy & (remaining == 0) & ~ar_pending & (left == 0) & ~pending & ~out.r_rdy),
        ]  # fmt: skip
        return m

    def _picks(self) -> list[tuple[int, int, int]]:
        """The (shift, place in the line, elements per lane) of each place a packed word can be read at
        (none unpacked): 2**shift words per line, each lane's E = (line bits >> shift) / (lanes x element
        bits)."""
        if self.pack is None:
            return []
        lanes, elem_bits, max_e = self.pack
        per_lane = [(self.line_bits >> s) // (lanes * elem_bits) for s in range(self.max_shift + 1)]
        return [(s, a, e) for s, e in enumerate(per_lane) if 1 <= e <= max_e for a in range(1 << s)]

    def _unpack(self, line, picks, pick):
        """The array word of the packed word chosen by the one-hot `pick` among `picks` (shift s: 2**s words
        per line; a: the place in the line) of `line`: each lane's E elements in the first E of its MMAX
        slots, the rest zero."""
        if self.pack is None:
            return line[: self.word_bits]
        lanes, elem_bits, max_e = self.pack
        terms = []
        for j, (_s, a, e) in enumerate(picks):
            wbits = lanes * elem_bits * e
            packed = line[a * wbits : (a + 1) * wbits]
            lane_w = e * elem_bits
            word = Cat(*(Cat(packed[i * lane_w : (i + 1) * lane_w], Const(0, (max_e - e) * elem_bits))
                         for i in range(lanes)))  # fmt: skip
            terms.append(word & pick[j].replicate(self.word_bits))
        out = terms[0]
        for t in terms[1:]:
            out = out | t
        return out
