"""An in-process model of the board top (rtl/board/) behind the same UART protocol, and a port to it.

`BoardModel` decodes request frames as the RTL's command decoder does (the resync rule, checks, lengths,
addresses, the RUN rules of `protocol.run_status` and the index check, sticky error flags) and executes them
on Python buffers. A RUN decodes the stored stream words back into the tile's operands and computes what the
array computes: values with `sparsesim.sat.numerics` (the bit-exact contract), the result beats in the array's
output order, and the tile's cycles measured on the RTL array itself (`sparsesim.fpga.rtl_cycles`: the
array of rtl/array.py in Amaranth's simulator, given the RUN's command and stream words), never from the
timing model, so that a test comparing the board model's cycles with `sparsesim.sat.timing` compares two
independent things. Absolute counter values (`load`, `start`, `done`, `now`) are the model's own: a RUN
advances its counter by the tile's cycles plus DECODE_CYCLES, which stands for the UART and decoder time the
model does not simulate. It lets the host driver and the protocol be tested without Verilator; the cocotb
bench checks the board's RTL itself.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sparsesim.rtl import protocol as proto
from sparsesim.rtl.host import beat_cells, gemm_bits, os_slots, step_elements
from sparsesim.rtl.protocol import Op, Status
from sparsesim.sat import numerics
from sparsesim.sat.array_types import Mode

from .rtl_cycles import array_simulation

DECODE_CYCLES = 3  # the model's stand-in for command decoding before a tile (no timing claim)


class BoardModel:
    def __init__(self, params):
        """`params`: sparsesim.rtl.board.BoardParams."""
        self.params = params
        self.cfg = params.cfg
        self.wmem = [0] * params.weight_depth
        self.amem = [0] * params.act_depth
        self.rmem = [0] * params.result_depth
        self.errors = 0
        self.runs = 0
        self.switches = 0
        self.cycle = 0
        self.cycles = proto.CyclesBlock(0, 0, 0, 0, 0)
        self._word_bytes = {Op.WRITE_WEIGHTS: params.weight_bytes, Op.WRITE_ACTS: params.act_bytes}
        self._parser = proto.FrameParser(proto.REQUEST_SYNC)

    # ------------------------------------------------------------------------------------------ frames
    def feed(self, data: bytes) -> bytes:
        """Bytes from the host -> the bytes of the responses to the frames they complete."""
        return b"".join(self.handle(frame) for frame in self._parser.feed(data))

    def _fail(self, status: Status, tag: int) -> bytes:
        self.errors |= proto.error_mask(status)
        return proto.encode_response(status, tag=tag)

    def handle(self, frame: proto.Frame) -> bytes:
        """The response to one frame of the request parser (the resync rule of sparsesim.rtl.protocol)."""
        tag = frame.tag
        if not frame.header_ok:
            return self._fail(Status.BAD_CHECK, tag)
        refused = proto.header_status(frame.code, frame.length, self._word_bytes)
        if frame.payload is None or refused != Status.OK:
            # over MAX_PAYLOAD: refused at the header; else the payload was read and is dropped
            return self._fail(refused, tag)
        p, payload = self.params, frame.payload
        if frame.code in proto.WRITE_OPS:
            # as the RTL, every whole word is stored as it arrives, before the check byte is seen
            weights = frame.code == Op.WRITE_WEIGHTS
            mem = self.wmem if weights else self.amem
            word_bytes = self._word_bytes[frame.code]
            addr = int.from_bytes(payload[: proto.ADDR_BYTES], "little")
            body = payload[proto.ADDR_BYTES :]
            mask = (1 << (p.weight_bits if weights else p.act_bits)) - 1
            bad_addr = False
            for i in range(len(body) // word_bytes):
                if addr + i < len(mem):
                    word = int.from_bytes(body[i * word_bytes : (i + 1) * word_bytes], "little")
                    mem[addr + i] = word & mask
                else:
                    bad_addr = True
            if not frame.check_ok:
                return self._fail(Status.BAD_CHECK, tag)
            if len(body) % word_bytes:
                return self._fail(Status.BAD_LENGTH, tag)
            if bad_addr:
                return self._fail(Status.BAD_ADDRESS, tag)
            return proto.encode_response(Status.OK, tag=tag)
        if not frame.check_ok:
            return self._fail(Status.BAD_CHECK, tag)
        if frame.code == Op.INFO:
            return proto.encode_response(Status.OK, p.info().pack(), tag)
        if frame.code == Op.STATUS:
            block = proto.StatusBlock(
                flags=0, errors=self.errors, switches=self.switches, reserved=0, runs=self.runs
            )
            self.errors = 0
            return proto.encode_response(Status.OK, block.pack(), tag)
        if frame.code == Op.RUN:
            rp = proto.RunParams.unpack(payload)
            status = proto.run_status(p.info(), rp)
            if status == Status.OK:
                status = self.index_status(rp)
            if status != Status.OK:
                return self._fail(status, tag)
            return proto.encode_response(Status.OK, self.run(rp).pack(), tag)
        if frame.code == Op.READ_CYCLES:
            return proto.encode_response(Status.OK, replace(self.cycles, now=self.cycle).pack(), tag)
        assert frame.code == Op.READ_RESULTS  # header_status let no other opcode through
        rd = proto.unpack_fields(proto.READ_TABLE, payload)
        if rd["count"] * p.result_bytes > proto.MAX_PAYLOAD:
            return self._fail(Status.BAD_LENGTH, tag)
        if rd["addr"] + rd["count"] > p.result_depth:
            return self._fail(Status.BAD_ADDRESS, tag)
        words = self.rmem[rd["addr"] : rd["addr"] + rd["count"]]
        return proto.encode_response(
            Status.OK, b"".join(w.to_bytes(p.result_bytes, "little") for w in words), tag
        )

    def index_status(self, rp: proto.RunParams) -> Status:
        """BAD_INDEX if an N:M RUN's weight words hold an index >= M in a lane the tile uses (entries
        0..C-1 in WS, 0..R-1 in OS; lanes 0..N-1), else OK. Checked after `protocol.run_status`."""
        if not rp.flags & proto.RUN_SPARSE:
            return Status.OK
        cfg = self.cfg
        entries = cfg.rows if rp.flags & proto.RUN_OS else cfg.cols
        for word in self.wmem[rp.w_base : rp.w_base + rp.w_count]:
            _, indices = cfg.unpack_weights(word)
            if any(i >> rp.log2m for lanes in indices[:entries] for i in lanes[: rp.n]):
                return Status.BAD_INDEX
        return Status.OK

    # ------------------------------------------------------------------------------------------ a tile
    def run(self, rp: proto.RunParams) -> proto.RunDone:
        cfg = self.cfg
        mode, a, b = decode_tile(
            cfg,
            rp,
            self.wmem[rp.w_base : rp.w_base + rp.w_count],
            self.amem[rp.a_base : rp.a_base + rp.a_count],
        )
        beats = result_beats(cfg, mode, a, b)
        for i, word in enumerate(beats):
            if rp.r_base + i < len(self.rmem):
                self.rmem[rp.r_base + i] = word
            else:
                self.errors |= proto.ERR_ADDRESS
        measured = array_simulation(cfg).run(
            array_command(cfg, rp),
            self.wmem[rp.w_base : rp.w_base + rp.w_count],
            self.amem[rp.a_base : rp.a_base + rp.a_count],
        )
        cycles = measured.tile_cycles
        base = self.cycle + DECODE_CYCLES  # the model's counter at the tile's first action
        self.cycles = proto.CyclesBlock(
            tile_cycles=cycles,
            load=base if measured.load is not None else 0,
            start=base + measured.start - measured.first,
            done=base + cycles - 1,
            now=0,
        )
        self.cycle = self.cycles.done + 1
        self.runs += 1
        return proto.RunDone(tile_cycles=cycles, result_beats=len(beats))


def array_command(cfg, rp: proto.RunParams) -> int:
    """The array's command word for a RUN, field by field as the run controller drives it
    (rtl/board/runctl.py: flags bits 0/1/2 -> os/sparse/interleave, n, log2m, k, length; each truncated to
    its field as a hardware assignment is)."""
    fields = {
        "os": rp.flags & proto.RUN_OS, "sparse": rp.flags & proto.RUN_SPARSE,
        "interleave": rp.flags & proto.RUN_INTERLEAVE, "n": rp.n, "log2m": rp.log2m, "k": rp.k,
        "length": rp.length,
    }  # fmt: skip
    word = 0
    for name, value in fields.items():
        f = cfg.cmd_layout[name]
        value = int(bool(value)) if name in ("os", "sparse", "interleave") else value
        word |= value % (1 << f.width) << f.offset
    return word


def _operands(cfg, bits: np.ndarray) -> np.ndarray:
    if cfg.precision == "fp16":
        return bits.astype(np.uint16).view(np.float16)
    return bits.astype(np.uint8).view(np.int8)


def decode_tile(cfg, rp: proto.RunParams, wwords: list[int], awords: list[int]):
    """(Mode, A as numerics takes it, B) of a RUN over the stored words. A has all the array's rows (WS: one
    per PE column, OS: one per PE row); those beyond the tile's m hold the zero padding the host wrote."""
    p = cfg.timing_params()
    os_ = bool(rp.flags & proto.RUN_OS)
    sparse = bool(rp.flags & proto.RUN_SPARSE)
    m_group = 1 << rp.log2m
    mode = Mode(
        "os" if os_ else "ws",
        rp.n if sparse else None,
        m_group if sparse else None,
        interleave=bool(rp.flags & proto.RUN_INTERLEAVE) if os_ else True,
    )
    mode.check(p)
    e = step_elements(cfg, mode)
    k = rp.k
    steps = -(-k // e)
    wv = [np.array(cfg.unpack_weights(w), dtype=np.int64) for w in wwords]
    groups = [cfg.unpack_acts(w).astype(np.int64) for w in awords]
    a_rows = cfg.cols if not os_ else cfg.rows
    # lanes[row, step] <- WS: weights word `step`, entry `row`; OS: weights word `step`, entry `row`
    vals = np.zeros((a_rows, steps, cfg.multipliers), dtype=np.int64)
    idx = np.zeros_like(vals)
    for s in range(min(steps, len(wv))):
        vals[:, s] = wv[s][0][:a_rows]
        idx[:, s] = wv[s][1][:a_rows]
    if sparse:
        a = numerics.SparseA(_operands(cfg, vals[..., : rp.n]), idx[..., : rp.n].astype(np.uint8), m_group)
    else:
        a = _operands(cfg, vals.reshape(a_rows, steps * cfg.multipliers)[:, :k])
    if not os_:
        n_t = len(groups)
        b_bits = np.zeros((steps * e, n_t), dtype=np.int64)
        for j, g in enumerate(groups):
            for r in range(steps):
                b_bits[r * e : (r + 1) * e, j] = g[r, :e]
    else:
        slots = os_slots(cfg, mode)
        b_bits = np.zeros((steps * e, cfg.cols * slots), dtype=np.int64)
        for q, g in enumerate(groups):
            s, slot = divmod(q, slots)
            if s >= steps:
                break
            for c in range(cfg.cols):
                b_bits[s * e : (s + 1) * e, c * slots + slot] = g[c, :e]
    return mode, a, _operands(cfg, b_bits[:k])


def result_beats(cfg, mode: Mode, a, b) -> list[int]:
    """The result words (data only) in the order the array delivers them (rtl.host.beat_cells)."""
    bits = gemm_bits(cfg, mode, a, b)
    rows, cols = bits.shape
    n_beats = cols if mode.dataflow == "ws" else cfg.rows * os_slots(cfg, mode)
    return [
        cfg.pack_result([bits[r, c] if r < rows and c < cols else 0 for r, c in beat_cells(cfg, mode, d)])
        for d in range(n_beats)
    ]


class SimulatedPort:
    """A blocking port (driver.SyncPort) to a BoardModel in the same process."""

    def __init__(self, model: BoardModel):
        self.model = model
        self._rx = bytearray()

    def write(self, data: bytes) -> None:
        self._rx += self.model.feed(bytes(data))

    def read(self, n: int) -> bytes:
        if len(self._rx) < n:
            raise TimeoutError(f"the simulated board has {len(self._rx)} of {n} bytes to send")
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def drain(self) -> None:
        """Drop whatever the board has sent and not been read."""
        self._rx.clear()
