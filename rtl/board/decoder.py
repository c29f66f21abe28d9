"""The request frame decoder: UART bytes -> buffer writes and one decoded command at a time.

It implements the framing and the resync rule of sparsesim.rtl.protocol: hunt for the two sync bytes, read
the header, refuse a header with a wrong hcheck (BAD_CHECK) or a length over MAX_PAYLOAD without reading a
payload, else read the payload (an accepted write's whole words go straight into their buffer) and the check
byte, and answer a header its opcode refuses (`header_status`: BAD_OPCODE, BAD_LENGTH) only then. Each frame
ends in one `cmd` with its frame-level status; the decoder holds it, dropping UART bytes, until the command
unit takes it (after it has been answered), then hunts again.
"""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import protocol as proto
from .memories import addr_bits, write_port
from .params import BoardParams

PARAM_BYTES = max(proto.FIXED_REQUEST_BYTES.values())  # the fixed request payload register (RunParams)

COMMAND = data.StructLayout({"status": 8, "opcode": 8, "tag": 8})


def sum8(*values):
    """The byte sum modulo 256 of the protocol's check bytes."""
    total: Any = 0  # an Amaranth Value once the first check byte is added
    for v in values:
        total = total + v
    return total[:8]


def param_field(params, table: proto.Fields, name: str):
    """Field `name` of a fixed payload `table` in the little-endian payload register `params`."""
    off = 0
    for fname, size in table:
        if fname == name:
            return params[8 * off : 8 * (off + size)]
        off += size
    raise KeyError(name)


class FrameDecoder(wiring.Component):
    def __init__(self, params: BoardParams):
        self.params = params
        super().__init__(
            {
                "rx": In(stream.Signature(8)),
                "cmd": Out(stream.Signature(COMMAND)),
                "fields": Out(8 * PARAM_BYTES),  # the fixed payload's bytes, stable while `cmd` is valid
                "weights": Out(write_port(params.weight_bits, params.weight_depth)),
                "acts": Out(write_port(params.act_bits, params.act_depth)),
            }
        )

    def elaborate(self, platform):
        p = self.params
        m = Module()
        op, status = proto.Op, proto.Status
        got, byte = self.rx.valid, self.rx.payload
        m.d.comb += self.rx.ready.eq(1)

        opcode, tag = Signal(8), Signal(8)
        length = Signal(16)
        cnt = Signal(16)
        # the payload byte now expected is the last one (cnt + 1 == length), a register set a byte ahead so
        # the state change does not wait for an adder and a comparison (docs/fpga.md, "Logic depth")
        last_byte = Signal()
        hsum, csum = Signal(8), Signal(8)
        wb, ab = p.weight_bytes, p.act_bytes
        maxb = max(wb, ab)
        shreg = Signal(8 * maxb)
        widx = Signal(range(maxb + 1))
        waddr = Signal(33)
        bad_addr = Signal()
        cmd_status = Signal(8)
        refused = Signal()  # header_status refused the frame: its payload is read and dropped
        m.d.comb += [
            self.cmd.payload.status.eq(cmd_status),
            self.cmd.payload.opcode.eq(opcode),
            self.cmd.payload.tag.eq(tag),
        ]

        is_write = ((opcode == op.WRITE_WEIGHTS) | (opcode == op.WRITE_ACTS)) & ~refused
        word_bytes = Mux(opcode == op.WRITE_WEIGHTS, wb, ab)
        depth = Mux(opcode == op.WRITE_WEIGHTS, p.weight_depth, p.act_depth)
        # What a payload byte does, decided from registers that follow the header's fields, the byte count
        # and the write address one cycle behind: each of those changes only with a received byte, and bytes
        # arrive at least ten UART bit times apart, so the copies are current at every byte. A stored word
        # then waits for no comparison (docs/fpga.md, "Logic depth").
        write_q, ww_q, addr_byte_q, data_byte_q, word_end_q, waddr_bad_q = (Signal() for _ in range(6))
        m.d.sync += [
            write_q.eq(is_write),
            ww_q.eq(opcode == op.WRITE_WEIGHTS),
            addr_byte_q.eq(cnt == proto.ADDR_BYTES - 1),
            data_byte_q.eq(cnt >= proto.ADDR_BYTES),
            word_end_q.eq(widx == word_bytes - 1),
            waddr_bad_q.eq(waddr >= depth),
        ]

        # protocol.header_status of the header just read (opcode, length)
        head_status = Signal(8)
        with m.Switch(opcode):
            for code, size in proto.FIXED_REQUEST_BYTES.items():
                with m.Case(code):
                    m.d.comb += head_status.eq(Mux(length == size, status.OK, status.BAD_LENGTH))
            for code, size in ((op.WRITE_WEIGHTS, wb), (op.WRITE_ACTS, ab)):
                with m.Case(code):
                    fits = (length >= proto.ADDR_BYTES + size) & (length <= proto.MAX_PAYLOAD)
                    m.d.comb += head_status.eq(Mux(fits, status.OK, status.BAD_LENGTH))
            with m.Default():
                m.d.comb += head_status.eq(status.BAD_OPCODE)

        def finish(code):
            m.d.sync += cmd_status.eq(code)
            m.next = "COMMAND"

        with m.FSM(name="decoder"):
            with m.State("HUNT"):
                with m.If(got & (byte == proto.REQUEST_SYNC[0])):
                    m.next = "SYNC1"
            with m.State("SYNC1"):
                with m.If(got):
                    with m.If(byte == proto.REQUEST_SYNC[1]):
                        m.next = "OPCODE"
                    with m.Elif(byte != proto.REQUEST_SYNC[0]):
                        m.next = "HUNT"
            with m.State("OPCODE"):
                with m.If(got):
                    m.d.sync += [opcode.eq(byte), hsum.eq(byte)]
                    m.next = "TAG"
            with m.State("TAG"):
                with m.If(got):
                    m.d.sync += [tag.eq(byte), hsum.eq(sum8(hsum, byte))]
                    m.next = "LEN0"
            with m.State("LEN0"):
                with m.If(got):
                    m.d.sync += [length[:8].eq(byte), hsum.eq(sum8(hsum, byte))]
                    m.next = "LEN1"
            with m.State("LEN1"):
                with m.If(got):
                    m.d.sync += [length[8:].eq(byte), hsum.eq(sum8(hsum, byte))]
                    m.next = "HCHECK"
            with m.State("HCHECK"):
                with m.If(got):
                    m.d.sync += [cnt.eq(0), widx.eq(0), bad_addr.eq(0), csum.eq(0), self.fields.eq(0),
                                 last_byte.eq(length == 1)]
                    m.d.sync += refused.eq(head_status != status.OK)
                    with m.If(sum8(hsum, byte) != 0):
                        finish(status.BAD_CHECK)
                    with m.Elif(length > proto.MAX_PAYLOAD):
                        finish(head_status)
                    with m.Elif(length == 0):
                        m.next = "CHECK"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(got):
                    m.d.sync += [csum.eq(sum8(csum, byte)), cnt.eq(cnt + 1), last_byte.eq(cnt + 2 == length)]
                    with m.If(cnt < PARAM_BYTES):
                        m.d.sync += self.fields.word_select(cnt[: addr_bits(PARAM_BYTES)], 8).eq(byte)
                    with m.If(write_q & addr_byte_q):
                        m.d.sync += waddr.eq(Cat(self.fields[:24], byte))
                    with m.If(write_q & data_byte_q):
                        m.d.sync += shreg.eq(Cat(shreg[8:], byte))
                        with m.If(word_end_q):
                            # a whole word: stored now, before the check byte is seen (the host retries)
                            m.d.sync += [widx.eq(0), waddr.eq(waddr + 1)]
                            with m.If(waddr_bad_q):
                                m.d.sync += bad_addr.eq(1)
                            with m.Elif(ww_q):
                                m.d.comb += [
                                    self.weights.addr.eq(waddr),
                                    self.weights.en.eq(1),
                                    self.weights.data.eq(Cat(shreg[8 * (maxb - wb) + 8 :], byte)),
                                ]
                            with m.Else():
                                m.d.comb += [
                                    self.acts.addr.eq(waddr),
                                    self.acts.en.eq(1),
                                    self.acts.data.eq(Cat(shreg[8 * (maxb - ab) + 8 :], byte)),
                                ]
                        with m.Else():
                            m.d.sync += widx.eq(widx + 1)
                    with m.If(last_byte):
                        m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(got):
                    with m.If(refused):
                        finish(head_status)
                    with m.Elif(sum8(csum, byte) != 0):
                        finish(status.BAD_CHECK)
                    with m.Elif(is_write & (widx != 0)):
                        finish(status.BAD_LENGTH)
                    with m.Elif(is_write & bad_addr):
                        finish(status.BAD_ADDRESS)
                    with m.Else():
                        finish(status.OK)
            with m.State("COMMAND"):
                m.d.comb += self.cmd.valid.eq(1)
                with m.If(self.cmd.ready):
                    m.next = "HUNT"
        return m
