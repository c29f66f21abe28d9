"""Run control: one RUN from its descriptor to its last stored result.

`go` starts a RUN whose RunParams sit in `desc` (stable until `done`). It refuses a descriptor the array
cannot run by the rules of sparsesim.rtl.protocol.run_status (checked from `desc` as it fills, three register
stages, so valid long before the frame's check byte has arrived), then for an N:M RUN streams the weight
words once through the index check (BAD_INDEX if a used lane holds an index >= M), then streams the weights
and activations into the array, stores each result beat in the result buffer and latches the cycle counter
at the array's load / start / done events. `done` pulses with the status and, for OK, the RunDone block.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .. import protocol as proto
from .decoder import PARAM_BYTES, param_field
from .memories import StreamReader, read_port, write_port
from .params import BoardParams

RUN_DONE_BITS = 8 * proto.fields_size(proto.RunDone.TABLE)


class RunControl(wiring.Component):
    def __init__(self, params: BoardParams):
        self.params = params
        cfg = params.cfg
        super().__init__(
            {
                "desc": In(8 * PARAM_BYTES),
                "go": In(1),
                "done": Out(1),
                "status": Out(8),
                "run_done": Out(RUN_DONE_BITS),
                # the cycle registers of the last run: tile, load, start, done (CyclesBlock order)
                "cycles": Out(4 * 32),
                "cycle": Out(32),  # the array's free-running counter
                "running": Out(1),
                "runs": Out(32),
                "overflow": Out(1),  # a result beat beyond the result buffer (the checks exclude it)
                "wmem": Out(read_port(params.weight_bits, params.weight_depth)),
                "amem": Out(read_port(params.act_bits, params.act_depth)),
                "rmem": Out(write_port(params.result_bits, params.result_depth)),
                "array_cmd": Out(stream.Signature(cfg.cmd_layout)),
                "array_weights": Out(stream.Signature(cfg.weights_layout)),
                "array_acts": Out(stream.Signature(cfg.acts_layout)),
                "array_results": In(stream.Signature(cfg.result_layout)),
                "array_cycle": In(cfg.cycle_bits),
                "ev_load": In(1),
                "ev_start": In(1),
                "ev_done": In(1),
            }
        )

    def field(self, name: str):
        return param_field(self.desc, proto.RunParams.TABLE, name)

    def elaborate(self, platform):
        p, cfg = self.params, self.params.cfg
        m = Module()
        m.submodules.wread = wread = StreamReader(p.weight_bits, p.weight_depth)
        m.submodules.aread = aread = StreamReader(p.act_bits, p.act_depth)
        wiring.connect(m, wread.mem, wiring.flipped(self.wmem))
        wiring.connect(m, aread.mem, wiring.flipped(self.amem))

        f = self.field
        flags = f("flags")
        bad_mode, bad_count, bad_addr = self._run_checks(m, flags)
        bad_index = Signal()
        scanning = Signal()
        # the weights go to the array, or during the index scan to the index check
        m.d.comb += [
            self.array_weights.valid.eq(wread.out.valid & ~scanning),
            self.array_weights.payload.eq(wread.out.payload),
            wread.out.ready.eq(Mux(scanning, 1, self.array_weights.ready)),
            self.array_acts.valid.eq(aread.out.valid),
            self.array_acts.payload.eq(aread.out.payload),
            aread.out.ready.eq(self.array_acts.ready),
            wread.base.eq(f("w_base")),
            wread.count.eq(f("w_count")),
            aread.base.eq(f("a_base")),
            aread.count.eq(f("a_count")),
        ]

        cmd_valid = Signal()
        cmd = Signal(cfg.cmd_layout)
        is_os = Signal()
        r_addr = Signal(33)
        beats = Signal(32)
        got_load, got_start, got_done = Signal(), Signal(), Signal()
        c_load, c_start, c_done, c_tile = (
            Signal(32, name=f"cyc_{n}") for n in ("load", "start", "done", "tile")
        )
        cycle = self.cycle
        m.d.comb += [
            cycle.eq(self.array_cycle),
            self.cycles.eq(Cat(c_tile, c_load, c_start, c_done)),
            self.array_cmd.valid.eq(cmd_valid),
            self.array_cmd.payload.eq(cmd),
            self.array_results.ready.eq(1),
        ]
        with m.If(self.array_cmd.valid & self.array_cmd.ready):
            m.d.sync += cmd_valid.eq(0)

        def finish(code, run_done=0):
            m.d.comb += [self.done.eq(1), self.status.eq(code), self.run_done.eq(run_done)]
            m.next = "IDLE"

        # the index check of one weights beat: lanes 0..N-1 of the entries the dataflow uses
        word = wread.out.payload
        view = cfg.weights_layout(word)
        log2m = f("log2m")
        max_log2m = cfg.max_m.bit_length() - 1
        log2m_c = Mux(log2m <= max_log2m, log2m[: max(1, max_log2m.bit_length())], 0)
        lane_bad = []
        for e in range(cfg.lanes):
            used = Mux(flags[0], e < cfg.rows, e < cfg.cols)
            for lane in range(cfg.multipliers):
                idx = view[e][lane].idx
                lane_bad.append(used & (lane < f("n")) & ((idx >> log2m_c) != 0))
        # Each beat's lane verdicts are registered (with the beat's valid) and ORed into `bad_index` a cycle
        # later, which the VERDICT state reads once the last beat's are in: no path runs from the beat
        # through the lanes' OR into `bad_index` or from the lanes' OR into the FSM and the responder (9 and
        # 11 LUT levels on the preset; docs/fpga.md, "Logic depth"). The scan takes one cycle more.
        lanes_bad = Signal(len(lane_bad))
        word_bad = Signal()
        m.d.comb += word_bad.eq(lanes_bad.any())
        scan_left = Signal(33)
        # scan_left == 0, a register kept beside the counter (the state change does not wait for a 33-bit
        # comparison; docs/fpga.md, "Logic depth")
        scan_over = Signal()

        with m.FSM(name="runctl"):
            with m.State("IDLE"):
                with m.If(self.go):
                    m.next = "CHECK"  # `done` comes a cycle after `go` at the earliest
            with m.State("CHECK"):
                with m.If(1):
                    with m.If(bad_mode):
                        finish(proto.Status.BAD_MODE)
                    with m.Elif(bad_count):
                        finish(proto.Status.BAD_LENGTH)
                    with m.Elif(bad_addr):
                        finish(proto.Status.BAD_ADDRESS)
                    with m.Elif(flags[1]):
                        m.d.comb += wread.start.eq(1)
                        m.d.sync += [scan_left.eq(f("w_count")), bad_index.eq(0), lanes_bad.eq(0),
                                     scan_over.eq(f("w_count") == 0)]
                        m.next = "SCAN"
                    with m.Else():
                        m.next = "START"
            with m.State("SCAN"):
                m.d.comb += scanning.eq(1)
                m.d.sync += [lanes_bad.eq(Mux(wread.out.valid, Cat(*lane_bad), 0)),
                             bad_index.eq(bad_index | word_bad)]
                with m.If(wread.out.valid):
                    m.d.sync += [scan_left.eq(scan_left - 1), scan_over.eq(scan_left == 1)]
                with m.If(scan_over):
                    m.next = "VERDICT"
            with m.State("VERDICT"):
                with m.If(bad_index):
                    finish(proto.Status.BAD_INDEX)
                with m.Else():
                    m.next = "START"
            with m.State("START"):
                m.d.comb += [wread.start.eq(1), aread.start.eq(1)]
                m.d.sync += [
                    self.running.eq(1), cmd_valid.eq(1), is_os.eq(flags[0]), r_addr.eq(f("r_base")),
                    beats.eq(0), got_load.eq(0), got_start.eq(0), got_done.eq(0), self.runs.eq(self.runs + 1),
                    c_load.eq(0), c_start.eq(0), c_done.eq(0),
                    cmd.os.eq(flags[0]), cmd.sparse.eq(flags[1]), cmd.interleave.eq(flags[2]),
                    cmd.n.eq(f("n")), cmd.log2m.eq(f("log2m")), cmd.k.eq(f("k")), cmd.length.eq(f("length")),
                ]  # fmt: skip
                m.next = "RUNNING"
            with m.State("RUNNING"):
                # events -> cycle registers. ev_done marks the cycle the last result leaves the array (the
                # timing contract's `end`); the run is over when that result has gone through the array's
                # output buffer.
                tile_now = Signal(32)
                m.d.comb += tile_now.eq((cycle - Mux(is_os, c_start, c_load) + 1)[:32])
                with m.If(self.ev_load & ~got_load):
                    m.d.sync += [c_load.eq(cycle), got_load.eq(1)]
                with m.If(self.ev_start & ~got_start):
                    m.d.sync += [c_start.eq(cycle), got_start.eq(1)]
                with m.If(self.ev_done & ~got_done):
                    m.d.sync += [c_done.eq(cycle), c_tile.eq(tile_now), got_done.eq(1)]
                with m.If(self.array_results.valid & self.array_results.payload.last):
                    m.d.sync += self.running.eq(0)
                    finish(proto.Status.OK, Cat(Mux(got_done, c_tile, tile_now), (beats + 1)[:32]))
        # results -> result buffer
        with m.If(self.array_results.valid):
            m.d.comb += [
                self.rmem.addr.eq(r_addr),
                self.rmem.data.eq(self.array_results.payload.data),
                self.rmem.en.eq(r_addr < p.result_depth),
                self.overflow.eq(r_addr >= p.result_depth),
            ]
            m.d.sync += [r_addr.eq(r_addr + 1), beats.eq(beats + 1)]
        return m

    def _run_checks(self, m: Module, flags):
        """Registered (bad mode, bad word counts, bad addresses) of the descriptor: the rules of
        sparsesim.rtl.protocol.run_status, in three pipeline stages (valid three cycles after a change; the
        fields are stable from the frame's last payload byte on, at least a UART byte before `go`)."""
        p, cfg, f = self.params, self.params.cfg, self.field
        is_os, sparse, inter = flags[0], flags[1], flags[2]
        n, log2m, k, length = f("n"), f("log2m"), f("k"), f("length")
        max_log2m = cfg.max_m.bit_length() - 1
        log2p = cfg.multipliers.bit_length() - 1
        log2m_ok = log2m <= max_log2m
        # an out-of-range log2m is already a bad mode; clamp it so the shifts below stay narrow
        log2m_c = Mux(log2m_ok, log2m[: max(1, max_log2m.bit_length())], 0)
        log2e = Mux(sparse, log2m_c, log2p)
        e = Signal(range(cfg.max_m + 1))
        m.d.comb += e.eq(Const(1, e.shape()) << log2e)
        sparse_bad = sparse & ((n == 0) | (n > cfg.multipliers) | ~log2m_ok | (n > e) | ((k & (e - 1)) != 0))
        k_bad = (k == 0) | (k >= (1 << cfg.k_bits))
        ws_bad = ~is_os & ((length == 0) | (length >= (1 << cfg.len_bits)) | (k > (Const(cfg.rows) << log2e)))

        # each rule in a register of its own, ORed after it: the comparisons do not chain into the OR
        bad_terms = Signal(3)
        bad_mode = Signal()
        m.d.comb += bad_mode.eq(bad_terms.any())
        steps = Signal(cfg.k_bits + 1)
        m.d.sync += [bad_terms.eq(Cat(sparse_bad, k_bad, ws_bad)),
                     steps.eq((k[: cfg.k_bits] + e - 1) >> log2e)]

        slots = int(cfg.add_latency)  # type: ignore[arg-type]
        words = Mux(is_os, steps, cfg.rows)
        acts = Mux(is_os, Mux(inter, steps * slots, steps), length)
        results = Mux(is_os, Mux(inter, cfg.rows * slots, cfg.rows), length)
        # the word counts registered, then each comparison in a register of its own, ORed after it
        words_q, acts_q, results_q = (Signal(33, name=f"{n}_q") for n in ("words", "acts", "results"))
        m.d.sync += [words_q.eq(words), acts_q.eq(acts), results_q.eq(results)]
        count_terms, addr_terms = Signal(2), Signal(3)
        m.d.sync += [
            count_terms.eq(Cat(f("w_count") != words_q, f("a_count") != acts_q)),
            addr_terms.eq(Cat(f("w_base") + words_q > p.weight_depth,
                              f("a_base") + acts_q > p.act_depth,
                              f("r_base") + results_q > p.result_depth)),
        ]  # fmt: skip
        bad_count, bad_addr = Signal(name="bad_count"), Signal(name="bad_addr")
        m.d.comb += [bad_count.eq(count_terms.any()), bad_addr.eq(addr_terms.any())]
        return bad_mode, bad_count, bad_addr
