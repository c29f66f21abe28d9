"""The command unit: executes the decoder's commands one at a time and answers each.

A frame-level error is answered at once. INFO, STATUS and READ_CYCLES are answered from registers; RUN goes
to run control and is answered when it is done (or refused); READ_RESULTS is checked (BAD_LENGTH over one
frame, BAD_ADDRESS past the buffer) and answered from the result buffer. Every non-OK status, the UART's
framing / overrun flags and a result beyond the buffer set their sticky bit (protocol.ERROR_BITS), which
STATUS reports and clears. The command is taken from the decoder once its response is out, so bytes that
arrive meanwhile are dropped.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .. import protocol as proto
from .decoder import COMMAND, PARAM_BYTES, param_field
from .params import BoardParams
from .responder import RESPONSE_BUF_BYTES
from .runctl import RUN_DONE_BITS


class CommandUnit(wiring.Component):
    def __init__(self, params: BoardParams):
        self.params = params
        super().__init__(
            {
                "cmd": In(stream.Signature(COMMAND)),
                "fields": In(8 * PARAM_BYTES),
                # run control
                "run_go": Out(1),
                "run_done": In(1),
                "run_status": In(8),
                "run_result": In(RUN_DONE_BITS),
                "run_cycles": In(4 * 32),
                "cycle": In(32),
                "running": In(1),
                "runs": In(32),
                "overflow": In(1),
                # responder
                "resp_start": Out(1),
                "resp_status": Out(8),
                "resp_tag": Out(8),
                "resp_length": Out(16),
                "resp_buf": Out(8 * RESPONSE_BUF_BYTES),
                "resp_from_results": Out(1),
                "resp_rd_base": Out(32),
                "resp_busy": In(1),
                # board state
                "switches": In(4),
                "uart_framing": In(1),
                "uart_overrun": In(1),
                "errors": Out(8),
            }
        )

    def elaborate(self, platform):
        p = self.params
        m = Module()
        op, status = proto.Op, proto.Status
        cmd = self.cmd.payload
        errors = self.errors

        clear = Signal()
        resp_err = Signal(8)
        # an answer's error bit is set a cycle after the answer starts, from registers (the status's decode
        # does not follow the command's decode in the same cycle; STATUS comes a whole frame later)
        started, started_status = Signal(), Signal(8)
        m.d.sync += [started.eq(self.resp_start), started_status.eq(self.resp_status)]
        with m.If(started):
            for e in proto.ERROR_BITS:
                if e.status is not None:
                    with m.If(started_status == e.status):
                        m.d.comb += resp_err.eq(1 << e.bit)
        new = Signal(8)
        m.d.comb += new.eq(
            resp_err
            | Mux(self.uart_framing, proto.ERR_FRAMING, 0)
            | Mux(self.uart_overrun, proto.ERR_OVERRUN, 0)
            | Mux(self.overflow, proto.ERR_ADDRESS, 0)
        )
        # STATUS reports the bits and clears them; one set in the same cycle survives
        m.d.sync += errors.eq(Mux(clear, new, errors | new))

        def respond(code, length=0, buf=0, *, results=False):
            m.d.comb += [
                self.resp_start.eq(1),
                self.resp_status.eq(code),
                self.resp_tag.eq(cmd_q.tag),
                self.resp_length.eq(length),
                self.resp_buf.eq(buf),
                self.resp_from_results.eq(results),
            ]
            m.next = "ANSWER"

        info = p.info().pack()
        rd_base = param_field(self.fields, proto.READ_TABLE, "addr")
        rd_count = param_field(self.fields, proto.READ_TABLE, "count")
        m.d.comb += self.resp_rd_base.eq(rd_base)
        # READ_RESULTS's two checks, registered: the decoder's fields are stable from the frame's check byte
        # on, long before the command is taken, and the answer no longer waits for a multiplier, an adder and
        # two comparisons (docs/fpga.md, "Logic depth")
        rd_too_long, rd_beyond = Signal(), Signal()
        m.d.sync += [
            rd_too_long.eq(rd_count * p.result_bytes > proto.MAX_PAYLOAD),
            rd_beyond.eq(rd_base + rd_count > p.result_depth),
        ]
        # The command is taken into registers first (IDLE -> EXEC) and executed from them, a cycle later: the
        # answer (its status, error bit and payload choice) then starts at a register, not at the decoder's
        # state and frame fields (docs/fpga.md, "Logic depth").
        cmd_q = Signal.like(cmd)
        with m.FSM(name="commands"):
            with m.State("IDLE"):
                with m.If(self.cmd.valid):
                    m.d.sync += cmd_q.eq(cmd)
                    m.next = "EXEC"
            with m.State("EXEC"):
                with m.If(1):
                    with m.If(cmd_q.status != status.OK):
                        respond(cmd_q.status)
                    with m.Else():
                        with m.Switch(cmd_q.opcode):
                            with m.Case(op.INFO):
                                respond(status.OK, len(info), int.from_bytes(info, "little"))
                            with m.Case(op.STATUS):
                                block = Cat(self.running, Const(0, 7), errors, self.switches, Const(0, 4),
                                            Const(0, 8), self.runs)  # fmt: skip
                                m.d.comb += clear.eq(1)
                                respond(status.OK, proto.fields_size(proto.StatusBlock.TABLE), block)
                            with m.Case(op.WRITE_WEIGHTS, op.WRITE_ACTS):
                                respond(status.OK)  # the decoder has stored the words
                            with m.Case(op.RUN):
                                m.d.comb += self.run_go.eq(1)
                                m.next = "RUN"
                            with m.Case(op.READ_CYCLES):
                                respond(
                                    status.OK,
                                    proto.fields_size(proto.CyclesBlock.TABLE),
                                    Cat(self.run_cycles, self.cycle),
                                )
                            with m.Case(op.READ_RESULTS):
                                n_bytes = rd_count * p.result_bytes
                                with m.If(rd_too_long):
                                    respond(status.BAD_LENGTH)
                                with m.Elif(rd_beyond):
                                    respond(status.BAD_ADDRESS)
                                with m.Else():
                                    respond(status.OK, n_bytes[:16], results=True)
                            with m.Default():  # the decoder lets no other opcode through
                                respond(status.BAD_OPCODE)
            with m.State("RUN"):
                with m.If(self.run_done):
                    with m.If(self.run_status == status.OK):
                        respond(status.OK, RUN_DONE_BITS // 8, self.run_result)
                    with m.Else():
                        respond(self.run_status)
            with m.State("ANSWER"):
                with m.If(~self.resp_busy):
                    m.d.comb += self.cmd.ready.eq(1)
                    m.next = "IDLE"
        return m
