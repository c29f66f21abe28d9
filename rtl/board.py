"""The VCU1525 board top (docs/fpga.md): clocking, the PE array with its on-chip buffers, the UART command
interface and the status LEDs.

    clk300 (DIFF_SSTL12) -> IBUFDS -> MMCME4_ADV (M/D/O from `mmcm_dividers`) -> BUFG -> domain "sync"
    uart rx -> UARTRx -> command decoder (FSM) -> weight / activation buffers (write port)
                             |  RUN: cmd -> SparseArray <- StreamReader <- buffers (read port)
                             |       results -> result buffer (write port); ev_* + cycle -> cycle registers
                             +-> response bytes -> UARTTx -> uart tx
    LEDs: 0 heartbeat, 1 a tile is running, 2 a sticky error (cleared by the STATUS command)
    DIP switches: read by STATUS (no function in the design: their on/off polarity is not documented).

`BoardCore` is everything in the array clock domain, with plain ports (`uart_rx`, `uart_tx`, `leds`,
`switches`, plus `clk`/`rst`): the simulation top (the cocotb bench drives its UART pins) and what the Yosys
estimate synthesises. `VCU1525Top` wraps it with the clock/reset generator (`CRG`) and the platform's pins.

The buffers are instances of a behavioural simple dual-port RAM module (`ram_verilog`) with a `ram_style`
attribute ("ultra" for the buffers of a build, sized from the accelerator spec; "block" otherwise): Vivado
(and Yosys) infer URAM288 / RAMB36E2 from it, no primitives are instantiated. Each buffer word is one stream
beat of the array, so one word per cycle feeds it without stalls (`StreamReader`), which is what makes the
measured tile cycles equal `sparsesim.sat.timing`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from amaranth.hdl import Cat, ClockDomain, ClockSignal, Const, Elaboratable, Instance, Module, Mux, Signal
from amaranth.lib import cdc, io, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from sparsesim.fpga import protocol as proto

from .array import SparseArray
from .config import ArrayConfig
from .uart import UARTRx, UARTTx

# ------------------------------------------------------------------------------------------------ clocking
# Virtex UltraScale+ MMCM limits, DS923 "MMCM Switching Characteristics" [K]: VCO 800-1600 MHz (all grades),
# input >= 10 MHz; output max 775 MHz (-2 at 0.85 V; the -2L part runs at 0.85 V); PFD max 450 MHz (the
# lowest grade's value, conservative). Counter ranges, UG572 "MMCM Attributes" [K]: CLKFBOUT_MULT_F and
# CLKOUT0_DIVIDE_F 2.000-128.000 in steps of 0.125, DIVCLK_DIVIDE 1-106.
VCO_MHZ = (800.0, 1600.0)
PFD_MHZ = (10.0, 450.0)
FOUT_MAX_MHZ = 775.0
MULT_RANGE = (2.0, 128.0)
OUT_DIV_RANGE = (2.0, 128.0)
DIVCLK_MAX = 106
FREQ_TOLERANCE = 1e-4  # relative: closer than 100 ppm counts as reached


@dataclass(frozen=True)
class MMCMDividers:
    """fout = fin * M / (D * O); VCO = fin * M / D."""

    fin_mhz: float
    mult: float  # M, CLKFBOUT_MULT_F
    divclk: int  # D, DIVCLK_DIVIDE
    out_div: float  # O, CLKOUT0_DIVIDE_F

    @property
    def vco_mhz(self) -> float:
        return self.fin_mhz * self.mult / self.divclk

    @property
    def fout_mhz(self) -> float:
        return self.vco_mhz / self.out_div


def mmcm_dividers(fin_mhz: float, fout_mhz: float) -> MMCMDividers:
    """M/D/O for an MMCME4 from `fin_mhz` to `fout_mhz` within the VCO/PFD limits above.

    Among settings within FREQ_TOLERANCE of the target, prefer the exact ones, then integer M and O (no
    fractional-divider jitter), then a high VCO (lower jitter), then a small D. ValueError (naming the
    reachable range or the closest frequency) if none exists."""
    lo_out = VCO_MHZ[0] / OUT_DIV_RANGE[1]
    if not lo_out <= fout_mhz <= FOUT_MAX_MHZ:
        raise ValueError(
            f"{fout_mhz:g} MHz is outside the MMCM's output range {lo_out:g}-{FOUT_MAX_MHZ:g} MHz (DS923)"
        )
    best, best_key, closest = None, None, None
    for d in range(1, DIVCLK_MAX + 1):
        pfd = fin_mhz / d
        if pfd < PFD_MHZ[0]:
            break
        if pfd > PFD_MHZ[1]:
            continue
        for m8 in range(int(MULT_RANGE[0] * 8), int(MULT_RANGE[1] * 8) + 1):
            vco = pfd * m8 / 8
            if not VCO_MHZ[0] <= vco <= VCO_MHZ[1]:
                continue
            o8 = round(vco / fout_mhz * 8)
            if not OUT_DIV_RANGE[0] * 8 <= o8 <= OUT_DIV_RANGE[1] * 8:
                continue
            got = vco / (o8 / 8)
            err = abs(got - fout_mhz) / fout_mhz
            cand = MMCMDividers(fin_mhz, m8 / 8, d, o8 / 8)
            if closest is None or err < closest[0]:
                closest = (err, cand)
            if err > FREQ_TOLERANCE:
                continue
            key = (err > 1e-12, m8 % 8 != 0 or o8 % 8 != 0, -vco, d)
            if best_key is None or key < best_key:
                best, best_key = cand, key
    if best is None:
        hint = f"; closest is {closest[1].fout_mhz:.6g} MHz" if closest else ""
        raise ValueError(f"{fout_mhz:g} MHz cannot be made from {fin_mhz:g} MHz by the MMCM{hint}")
    return best


# ------------------------------------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class BoardParams:
    """Elaboration parameters of the board top."""

    cfg: ArrayConfig
    weight_depth: int = 16  # words (one weights beat each)
    act_depth: int = 32  # words (one activations beat each)
    result_depth: int = 32  # words (one result beat each, without the `last` bit)
    clocks_per_bit: int = 4  # UART divisor
    clock_mhz: float = 200.0  # the array clock (reported by INFO; the CRG makes it)
    baud: int = 921_600  # informational (the divisor is what the RTL uses)
    uram: bool = False  # ram_style "ultra" for the buffers (else "block")
    # buffers as instances of ram_verilog()'s module; False: Amaranth memories (for amaranth.sim)
    verilog_ram: bool = True
    heartbeat_bit: int = 26  # LED 0 shows bit `heartbeat_bit` of a free-running counter

    def __post_init__(self) -> None:
        for name in ("weight_depth", "act_depth", "result_depth"):
            depth = getattr(self, name)
            if not 1 <= depth <= 1 << 32:
                raise ValueError(f"{name} must be 1..2^32 words, got {depth}")

    @property
    def weight_bits(self) -> int:
        return self.cfg.weights_layout.size

    @property
    def act_bits(self) -> int:
        return self.cfg.acts_layout.size

    @property
    def result_bits(self) -> int:
        return 32 * self.cfg.cols

    @property
    def weight_bytes(self) -> int:
        return -(-self.weight_bits // 8)

    @property
    def act_bytes(self) -> int:
        return -(-self.act_bits // 8)

    @property
    def result_bytes(self) -> int:
        return self.result_bits // 8

    def key(self) -> dict:
        return asdict(self)

    def build_hash(self) -> int:
        """32 bits identifying the RTL source and these parameters (reported by INFO)."""
        blob = json.dumps({"src": board_source_hash(), "params": self.key()}, sort_keys=True, default=str)
        return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:4], "little")

    def verilog_key(self) -> dict:
        """What a cached conversion of the board depends on (for sparsesim.rtl.export.write_verilog)."""
        return {"params": self.key(), "board_src": board_source_hash()}

    def info(self) -> proto.InfoBlock:
        cfg = self.cfg
        return proto.InfoBlock(
            magic=proto.MAGIC, version=proto.VERSION, precision=proto.PRECISIONS.index(cfg.precision),
            rows=cfg.rows, cols=cfg.cols, multipliers=cfg.multipliers, max_m=cfg.max_m,
            mul_latency=int(cfg.mul_latency), add_latency=int(cfg.add_latency),  # type: ignore[arg-type]
            k_bits=cfg.k_bits, len_bits=cfg.len_bits, cycle_bits=cfg.cycle_bits, reserved=0,
            weight_depth=self.weight_depth, act_depth=self.act_depth, result_depth=self.result_depth,
            weight_bytes=self.weight_bytes, act_bytes=self.act_bytes, result_bytes=self.result_bytes,
            clock_khz=round(self.clock_mhz * 1000), clocks_per_bit=self.clocks_per_bit,
            build_hash=self.build_hash(),
        )  # fmt: skip


BOARD_MODULES = ("board.py", "uart.py", "vcu1525.py")


def board_source_hash() -> str:
    """The array's RTL source hash (sparsesim.rtl.export) plus this board's modules and the protocol."""
    from .export import RTL_DIR, rtl_source_hash

    h = hashlib.sha256(rtl_source_hash().encode())
    for path in [RTL_DIR / name for name in BOARD_MODULES] + [Path(proto.__file__)]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _addr_bits(depth: int) -> int:
    return max(1, math.ceil(math.log2(depth)))


# ------------------------------------------------------------------------------------------------ blocks
RAM_STYLES = ("ultra", "block")


def ram_module_name(style: str) -> str:
    return f"sparsesim_sdp_ram_{style}"


def ram_verilog() -> str:
    """Verilog of the buffers' simple dual-port RAM, one module per `ram_style`. Behavioural, so Vivado infers
    URAM288 / RAMB36E2 (and Yosys maps them the same way); no initial contents in synthesis (URAM has none),
    zeros in simulation."""
    out = ["/* sparsesim board buffers: simple dual-port RAM, registered read with enable (rtl/board.py) */"]
    for style in RAM_STYLES:
        out.append(f"""module {ram_module_name(style)} #(
    parameter WIDTH = 8, parameter DEPTH = 16, parameter ADDR_BITS = 4
) (
    input wire clk,
    input wire we,
    input wire [ADDR_BITS-1:0] waddr,
    input wire [WIDTH-1:0] wdata,
    input wire re,
    input wire [ADDR_BITS-1:0] raddr,
    output reg [WIDTH-1:0] rdata
);
    (* ram_style = "{style}" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
`ifndef SYNTHESIS
    integer i;
    initial begin
        rdata = 0;
        for (i = 0; i < DEPTH; i = i + 1) mem[i] = 0;
    end
`endif
    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) rdata <= mem[raddr];
    end
endmodule
""")
    return "\n".join(out)


class SDPRam(wiring.Component):
    """A simple dual-port RAM: write port (`we`, `waddr`, `wdata`), read port with enable (`re`, `raddr`;
    `rdata` registered, held while `re` is low). `verilog`: an instance of ram_verilog()'s module (what builds
    and the cocotb bench use; Amaranth's own memories take minutes to convert at URAM sizes, as they write
    every word's initial value); else an amaranth.lib.memory.Memory (for Amaranth's simulator)."""

    def __init__(self, width: int, depth: int, *, style: str = "block", verilog: bool = True):
        if style not in RAM_STYLES:
            raise ValueError(f"ram style must be one of {RAM_STYLES}, got {style!r}")
        self.width, self.depth, self.style, self.verilog = width, depth, style, verilog
        ab = _addr_bits(depth)
        super().__init__(
            {
                "we": In(1),
                "waddr": In(ab),
                "wdata": In(width),
                "re": In(1),
                "raddr": In(ab),
                "rdata": Out(width),
            }
        )

    def elaborate(self, platform):
        m = Module()
        if self.verilog:
            m.submodules.ram = Instance(
                ram_module_name(self.style),
                p_WIDTH=self.width, p_DEPTH=self.depth, p_ADDR_BITS=_addr_bits(self.depth),
                i_clk=ClockSignal("sync"), i_we=self.we, i_waddr=self.waddr, i_wdata=self.wdata,
                i_re=self.re, i_raddr=self.raddr, o_rdata=self.rdata,
            )  # fmt: skip
            return m
        m.submodules.mem = mem = memory.Memory(shape=self.width, depth=self.depth, init=[])
        wr, rd = mem.write_port(), mem.read_port()
        m.d.comb += [
            wr.en.eq(self.we),
            wr.addr.eq(self.waddr),
            wr.data.eq(self.wdata),
            rd.en.eq(self.re),
            rd.addr.eq(self.raddr),
            self.rdata.eq(rd.data),
        ]
        return m


class StreamReader(wiring.Component):
    """Streams `count` words of a memory from `base` through a synchronous read port, one per cycle.

    The read port's data register is the stream's payload: a transfer reads the next word in the same cycle
    (it appears with the next edge), and without a transfer the port is not enabled and holds its word."""

    def __init__(self, width: int, depth: int):
        self.depth = depth
        ab = _addr_bits(depth)
        super().__init__({
            "start": In(1), "base": In(32), "count": In(32),
            "rd_addr": Out(ab), "rd_en": Out(1), "rd_data": In(width),
            "out": Out(stream.Signature(width)),
        })  # fmt: skip

    def elaborate(self, platform):
        m = Module()
        ptr = Signal(33)
        left = Signal(33)
        fire = self.out.valid & self.out.ready
        nxt = ptr + 1
        m.d.comb += [self.out.payload.eq(self.rd_data)]
        with m.If(self.start):
            m.d.comb += [self.rd_addr.eq(self.base), self.rd_en.eq(1)]
            m.d.sync += [ptr.eq(self.base), left.eq(self.count), self.out.valid.eq(self.count != 0)]
        with m.Else():
            m.d.comb += [self.rd_addr.eq(Mux(nxt < self.depth, nxt, 0)), self.rd_en.eq(fire)]
            with m.If(fire):
                m.d.sync += [ptr.eq(nxt), left.eq(left - 1), self.out.valid.eq(left > 1)]
        return m


ERROR_BITS = {
    proto.Status.BAD_CHECK: proto.ERR_CHECK, proto.Status.BAD_OPCODE: proto.ERR_OPCODE,
    proto.Status.BAD_LENGTH: proto.ERR_LENGTH, proto.Status.BAD_ADDRESS: proto.ERR_ADDRESS,
    proto.Status.BAD_MODE: proto.ERR_MODE,
}  # fmt: skip


def _sum8(*values):
    total = 0
    for v in values:
        total = total + v
    return total[:8]


class BoardCore(wiring.Component):
    """UART + command decoder + buffers + PE array + LEDs, in domain "sync" (docs/fpga.md, "Board top")."""

    def __init__(self, params: BoardParams, *, cell_module: str | None = None):
        self.params = params
        self.cell_module = cell_module
        super().__init__(
            {"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "leds": Out(3), "switches": In(4)}
        )

    def _memory(self, width: int, depth: int) -> SDPRam:
        p = self.params
        return SDPRam(width, depth, style="ultra" if p.uram else "block", verilog=p.verilog_ram)

    def elaborate(self, platform):
        p, cfg = self.params, self.params.cfg
        m = Module()

        # ------------------------------------------------------------------ submodules
        m.submodules.rx = rx = UARTRx(p.clocks_per_bit)
        m.submodules.tx = tx = UARTTx(p.clocks_per_bit)
        m.submodules.array = arr = SparseArray(cfg, cell_module=self.cell_module)
        self._array = arr  # for simulator testbenches
        m.submodules.wmem = wmem = self._memory(p.weight_bits, p.weight_depth)
        m.submodules.amem = amem = self._memory(p.act_bits, p.act_depth)
        m.submodules.rmem = rmem = self._memory(p.result_bits, p.result_depth)
        m.submodules.wread = wread = StreamReader(p.weight_bits, p.weight_depth)
        m.submodules.aread = aread = StreamReader(p.act_bits, p.act_depth)
        switches = Signal(4)
        m.submodules.sync_sw = cdc.FFSynchronizer(self.switches, switches)
        m.d.comb += [rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx), rx.data.ready.eq(1)]
        for reader, ram in ((wread, wmem), (aread, amem)):
            m.d.comb += [ram.raddr.eq(reader.rd_addr), ram.re.eq(reader.rd_en), reader.rd_data.eq(ram.rdata)]
        m.d.comb += [
            arr.weights.valid.eq(wread.out.valid), arr.weights.payload.eq(wread.out.payload),
            wread.out.ready.eq(arr.weights.ready),
            arr.acts.valid.eq(aread.out.valid), arr.acts.payload.eq(aread.out.payload),
            aread.out.ready.eq(arr.acts.ready),
        ]  # fmt: skip

        got = rx.data.valid
        byte = rx.data.payload

        # ------------------------------------------------------------------ decoder registers
        pmax = proto.fields_size(proto.RunParams.TABLE)
        opcode = Signal(8)
        length = Signal(16)
        cnt = Signal(16)
        csum = Signal(8)
        params = Signal(8 * pmax)
        wb, ab = p.weight_bytes, p.act_bytes
        maxb = max(wb, ab)
        shreg = Signal(8 * maxb)
        widx = Signal(range(maxb + 1))
        waddr = Signal(33)
        bad_addr = Signal()
        errors = Signal(8)
        status = Signal(8)
        runs = Signal(32)

        info = p.info().pack()
        resp_max = max(len(info), proto.fields_size(proto.CyclesBlock.TABLE))
        resp_buf = Signal(8 * resp_max)
        resp_len = Signal(16)
        resp_cnt = Signal(16)
        from_results = Signal()
        out_csum = Signal(8)
        rd_addr = Signal(33)
        rd_left = Signal(33)
        rb = p.result_bytes
        out_word = Signal(8 * rb)
        out_idx = Signal(range(rb + 1))

        def run_field(name: str):
            off = 0
            for fname, size in proto.RunParams.TABLE:
                if fname == name:
                    return params[8 * off : 8 * (off + size)]
                off += size
            raise KeyError(name)

        # ------------------------------------------------------------------ run state
        running = Signal()
        run_go = Signal()
        run_done = Signal()
        cmd_valid = Signal()
        cmd = Signal(cfg.cmd_layout)
        is_os = Signal()
        r_addr = Signal(33)
        beats = Signal(32)
        got_load, got_start, got_done = Signal(), Signal(), Signal()
        c_load, c_start, c_done, c_tile = (
            Signal(32, name=f"cyc_{n}") for n in ("load", "start", "done", "tile")
        )
        cycle = Signal(32)
        m.d.comb += cycle.eq(arr.cycle)

        m.d.comb += [arr.cmd.valid.eq(cmd_valid), arr.cmd.payload.eq(cmd), arr.results.ready.eq(1)]
        with m.If(arr.cmd.valid & arr.cmd.ready):
            m.d.sync += cmd_valid.eq(0)
        m.d.comb += [
            wread.start.eq(run_go), wread.base.eq(run_field("w_base")), wread.count.eq(run_field("w_count")),
            aread.start.eq(run_go), aread.base.eq(run_field("a_base")), aread.count.eq(run_field("a_count")),
        ]  # fmt: skip
        flags = run_field("flags")
        run_bad_mode, run_bad_count, run_bad_addr = self._run_checks(m, run_field, flags)
        with m.If(run_go):
            m.d.sync += [
                running.eq(1), cmd_valid.eq(1), is_os.eq(flags[0]), r_addr.eq(run_field("r_base")),
                beats.eq(0), got_load.eq(0), got_start.eq(0), got_done.eq(0), runs.eq(runs + 1),
                c_load.eq(0), c_start.eq(0), c_done.eq(0),
                cmd.os.eq(flags[0]), cmd.sparse.eq(flags[1]), cmd.interleave.eq(flags[2]),
                cmd.n.eq(run_field("n")), cmd.log2m.eq(run_field("log2m")), cmd.k.eq(run_field("k")),
                cmd.length.eq(run_field("length")),
            ]  # fmt: skip
        # results -> result buffer
        with m.If(arr.results.valid):
            m.d.comb += [
                rmem.waddr.eq(r_addr),
                rmem.wdata.eq(arr.results.payload.data),
                rmem.we.eq(r_addr < p.result_depth),
            ]
            m.d.sync += [r_addr.eq(r_addr + 1), beats.eq(beats + 1)]
            with m.If(r_addr >= p.result_depth):
                m.d.sync += errors.eq(errors | proto.ERR_ADDRESS)
        # events -> cycle registers. ev_done marks the cycle the last result leaves the array (the timing
        # contract's `end`); the run is over when that result has gone through the array's output buffer.
        tile_now = Signal(32)
        m.d.comb += tile_now.eq((cycle - Mux(is_os, c_start, c_load) + 1)[:32])
        with m.If(running & arr.ev_load & ~got_load):
            m.d.sync += [c_load.eq(cycle), got_load.eq(1)]
        with m.If(running & arr.ev_start & ~got_start):
            m.d.sync += [c_start.eq(cycle), got_start.eq(1)]
        with m.If(running & arr.ev_done & ~got_done):
            m.d.sync += [c_done.eq(cycle), c_tile.eq(tile_now), got_done.eq(1)]
        with m.If(running & arr.results.valid & arr.results.payload.last):
            m.d.sync += running.eq(0)
            m.d.comb += run_done.eq(1)
        with m.If(rx.framing_error):
            m.d.sync += errors.eq(errors | proto.ERR_FRAMING)
        with m.If(rx.overrun):
            m.d.sync += errors.eq(errors | proto.ERR_OVERRUN)

        # ------------------------------------------------------------------ decoder FSM
        op = proto.Op
        is_write = (opcode == op.WRITE_WEIGHTS) | (opcode == op.WRITE_ACTS)
        word_bytes = Mux(opcode == op.WRITE_WEIGHTS, wb, ab)
        depth = Mux(opcode == op.WRITE_WEIGHTS, p.weight_depth, p.act_depth)

        def respond(code, n_bytes=0, *, results=False):
            m.d.sync += [status.eq(code), resp_len.eq(n_bytes), resp_cnt.eq(0), from_results.eq(results)]
            if code != proto.Status.OK:
                m.d.sync += errors.eq(errors | ERROR_BITS[code])
            m.next = "R_SYNC"

        def fits(base, count, depth_words):
            return (base + count) <= depth_words

        with m.FSM(name="decoder"):
            with m.State("HUNT"):
                with m.If(got & (byte == proto.SYNC_REQUEST)):
                    m.d.sync += csum.eq(0)
                    m.next = "OPCODE"
            with m.State("OPCODE"):
                with m.If(got):
                    m.d.sync += [opcode.eq(byte), csum.eq(_sum8(csum, byte))]
                    m.next = "LEN0"
            with m.State("LEN0"):
                with m.If(got):
                    m.d.sync += [length[:8].eq(byte), csum.eq(_sum8(csum, byte))]
                    m.next = "LEN1"
            with m.State("LEN1"):
                with m.If(got):
                    m.d.sync += [
                        length[8:].eq(byte),
                        csum.eq(_sum8(csum, byte)),
                        cnt.eq(0),
                        widx.eq(0),
                        bad_addr.eq(0),
                        params.eq(0),
                    ]
                    with m.If((byte == 0) & (length[:8] == 0)):
                        m.next = "CHECK"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(got):
                    m.d.sync += [csum.eq(_sum8(csum, byte)), cnt.eq(cnt + 1)]
                    with m.If(cnt < pmax):
                        m.d.sync += params.word_select(cnt[: _addr_bits(pmax)], 8).eq(byte)
                    with m.If(is_write & (cnt == proto.ADDR_BYTES - 1)):
                        m.d.sync += waddr.eq(Cat(params[:24], byte))
                    with m.If(is_write & (cnt >= proto.ADDR_BYTES)):
                        m.d.sync += shreg.eq(Cat(shreg[8:], byte))
                        with m.If(widx == word_bytes - 1):
                            m.d.sync += [widx.eq(0), waddr.eq(waddr + 1)]
                            with m.If(waddr >= depth):
                                m.d.sync += bad_addr.eq(1)
                            with m.Elif(opcode == op.WRITE_WEIGHTS):
                                m.d.comb += [
                                    wmem.waddr.eq(waddr),
                                    wmem.we.eq(1),
                                    wmem.wdata.eq(Cat(shreg[8 * (maxb - wb) + 8 :], byte)),
                                ]
                            with m.Else():
                                m.d.comb += [
                                    amem.waddr.eq(waddr),
                                    amem.we.eq(1),
                                    amem.wdata.eq(Cat(shreg[8 * (maxb - ab) + 8 :], byte)),
                                ]
                        with m.Else():
                            m.d.sync += widx.eq(widx + 1)
                    with m.If(cnt + 1 == length):
                        m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(got):
                    with m.If(_sum8(csum, byte) != 0):
                        respond(proto.Status.BAD_CHECK)
                    with m.Else():
                        m.next = "EXEC"
            with m.State("EXEC"):
                run_len = proto.fields_size(proto.RunParams.TABLE)
                read_len = proto.fields_size(proto.READ_TABLE)
                rd_base, rd_count = params[:32], params[32:64]
                with m.Switch(opcode):
                    with m.Case(op.INFO):
                        m.d.sync += resp_buf.eq(int.from_bytes(info, "little"))
                        respond(proto.Status.OK, len(info))
                    with m.Case(op.STATUS):
                        block = Cat(running, Const(0, 7), errors, switches, Const(0, 4), Const(0, 8), runs)
                        m.d.sync += [resp_buf.eq(block), errors.eq(0)]
                        respond(proto.Status.OK, proto.fields_size(proto.StatusBlock.TABLE))
                    with m.Case(op.WRITE_WEIGHTS, op.WRITE_ACTS):
                        with m.If((length < proto.ADDR_BYTES) | (widx != 0)):
                            respond(proto.Status.BAD_LENGTH)
                        with m.Elif(bad_addr):
                            respond(proto.Status.BAD_ADDRESS)
                        with m.Else():
                            respond(proto.Status.OK)
                    with m.Case(op.RUN):
                        # the checks are registered from `params`, which last changed a whole UART frame ago
                        with m.If(length != run_len):
                            respond(proto.Status.BAD_LENGTH)
                        with m.Elif(run_bad_mode):
                            respond(proto.Status.BAD_MODE)
                        with m.Elif(run_bad_count):
                            respond(proto.Status.BAD_LENGTH)
                        with m.Elif(run_bad_addr):
                            respond(proto.Status.BAD_ADDRESS)
                        with m.Else():
                            m.d.comb += run_go.eq(1)
                            m.next = "RUNNING"
                    with m.Case(op.READ_CYCLES):
                        m.d.sync += resp_buf.eq(Cat(c_tile, c_load, c_start, c_done, cycle))
                        respond(proto.Status.OK, proto.fields_size(proto.CyclesBlock.TABLE))
                    with m.Case(op.READ_RESULTS):
                        n_bytes = rd_count * rb
                        with m.If((length != read_len) | (n_bytes > proto.MAX_PAYLOAD)):
                            respond(proto.Status.BAD_LENGTH)
                        with m.Elif(~fits(rd_base, rd_count, p.result_depth)):
                            respond(proto.Status.BAD_ADDRESS)
                        with m.Else():
                            m.d.sync += [rd_addr.eq(rd_base), rd_left.eq(rd_count)]
                            respond(proto.Status.OK, n_bytes[:16], results=True)
                    with m.Default():
                        respond(proto.Status.BAD_OPCODE)
            with m.State("RUNNING"):
                with m.If(run_done):
                    m.d.sync += resp_buf.eq(Cat(Mux(got_done, c_tile, tile_now), (beats + 1)[:32]))
                    respond(proto.Status.OK, proto.fields_size(proto.RunDone.TABLE))

            # ------------------------------------------------------------------ response
            def send(value, nxt):
                m.d.comb += [tx.data.payload.eq(value), tx.data.valid.eq(1)]
                with m.If(tx.data.ready):
                    m.next = nxt

            with m.State("R_SYNC"):
                m.d.sync += out_csum.eq(0)
                send(proto.SYNC_RESPONSE, "R_STATUS")
            with m.State("R_STATUS"):
                send(status, "R_LEN0")
                m.d.sync += out_csum.eq(status)
            with m.State("R_LEN0"):
                send(resp_len[:8], "R_LEN1")
                with m.If(tx.data.ready):
                    m.d.sync += out_csum.eq(_sum8(out_csum, resp_len[:8]))
            with m.State("R_LEN1"):
                with m.If(tx.data.ready):
                    m.d.sync += out_csum.eq(_sum8(out_csum, resp_len[8:]))
                with m.If(resp_len == 0):
                    send(resp_len[8:], "R_CHECK")
                with m.Elif(from_results):
                    send(resp_len[8:], "R_FETCH")
                with m.Else():
                    send(resp_len[8:], "R_BUF")
            with m.State("R_BUF"):
                send(resp_buf[:8], "R_BUF")
                with m.If(tx.data.ready):
                    m.d.sync += [
                        resp_buf.eq(resp_buf >> 8),
                        resp_cnt.eq(resp_cnt + 1),
                        out_csum.eq(_sum8(out_csum, resp_buf[:8])),
                    ]
                    with m.If(resp_cnt + 1 == resp_len):
                        m.next = "R_CHECK"
            with m.State("R_FETCH"):
                m.d.comb += [rmem.raddr.eq(rd_addr), rmem.re.eq(1)]
                m.next = "R_LOAD"
            with m.State("R_LOAD"):
                m.d.sync += [out_word.eq(rmem.rdata), out_idx.eq(0)]
                m.next = "R_WORD"
            with m.State("R_WORD"):
                send(out_word[:8], "R_WORD")
                with m.If(tx.data.ready):
                    m.d.sync += [
                        out_word.eq(out_word >> 8),
                        out_idx.eq(out_idx + 1),
                        out_csum.eq(_sum8(out_csum, out_word[:8])),
                    ]
                    with m.If(out_idx == rb - 1):
                        m.d.sync += [rd_addr.eq(rd_addr + 1), rd_left.eq(rd_left - 1)]
                        with m.If(rd_left == 1):
                            m.next = "R_CHECK"
                        with m.Else():
                            m.next = "R_FETCH"
            with m.State("R_CHECK"):
                send((-out_csum)[:8], "HUNT")

        # ------------------------------------------------------------------ LEDs
        beat = Signal(p.heartbeat_bit + 1)
        m.d.sync += beat.eq(beat + 1)
        m.d.comb += self.leds.eq(Cat(beat[-1], running, errors != 0))
        return m

    def _run_checks(self, m: Module, run_field, flags):
        """Registered (bad mode, bad word counts, bad addresses) of the RUN parameters in `params`: the rules
        of sparsesim.fpga.protocol.run_status, in two pipeline stages (valid two cycles after a change)."""
        p, cfg = self.params, self.params.cfg
        is_os, sparse, inter = flags[0], flags[1], flags[2]
        n, log2m, k, length = run_field("n"), run_field("log2m"), run_field("k"), run_field("length")
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

        bad_mode = Signal()
        steps = Signal(cfg.k_bits + 1)
        m.d.sync += [bad_mode.eq(sparse_bad | k_bad | ws_bad), steps.eq((k[: cfg.k_bits] + e - 1) >> log2e)]

        slots = int(cfg.add_latency)  # type: ignore[arg-type]
        words = Mux(is_os, steps, cfg.rows)
        acts = Mux(is_os, Mux(inter, steps * slots, steps), length)
        results = Mux(is_os, Mux(inter, cfg.rows * slots, cfg.rows), length)
        bad_count, bad_addr = Signal(), Signal()
        m.d.sync += [
            bad_count.eq((run_field("w_count") != words) | (run_field("a_count") != acts)),
            bad_addr.eq((run_field("w_base") + words > p.weight_depth)
                        | (run_field("a_base") + acts > p.act_depth)
                        | (run_field("r_base") + results > p.result_depth)),
        ]  # fmt: skip
        return bad_mode, bad_count, bad_addr


# ------------------------------------------------------------------------------------------------ the card
class CRG(Elaboratable):
    """Clock and reset: the 300 MHz board clock through an MMCME4_ADV to the array clock (drives domain
    "sync", which the parent defines), reset held until the MMCM locks, released synchronously."""

    def __init__(self, dividers: MMCMDividers):
        self.dividers = dividers
        self.locked = Signal()

    def elaborate(self, platform):
        m = Module()
        d = self.dividers
        m.submodules.clk300 = clk300 = io.Buffer("i", platform.request("clk300", 0, dir="-"))  # IBUFDS
        clkfb, clkout = Signal(), Signal()
        m.submodules.mmcm = Instance(
            "MMCME4_ADV",
            p_BANDWIDTH="OPTIMIZED", p_COMPENSATION="AUTO", p_STARTUP_WAIT="FALSE",
            p_CLKIN1_PERIOD=round(1000.0 / d.fin_mhz, 3), p_REF_JITTER1=0.01,
            p_DIVCLK_DIVIDE=d.divclk, p_CLKFBOUT_MULT_F=float(d.mult), p_CLKFBOUT_PHASE=0.0,
            p_CLKOUT0_DIVIDE_F=float(d.out_div), p_CLKOUT0_DUTY_CYCLE=0.5, p_CLKOUT0_PHASE=0.0,
            i_CLKIN1=clk300.i, i_CLKIN2=0, i_CLKINSEL=1, i_CLKFBIN=clkfb, o_CLKFBOUT=clkfb,
            o_CLKOUT0=clkout, o_LOCKED=self.locked,
            i_RST=0, i_PWRDWN=0, i_CDDCREQ=0,
            i_DCLK=0, i_DEN=0, i_DWE=0, i_DADDR=0, i_DI=0,
            i_PSCLK=0, i_PSEN=0, i_PSINCDEC=0,
        )  # fmt: skip
        m.submodules.bufg = Instance("BUFG", i_I=clkout, o_O=ClockSignal("sync"))
        m.submodules.reset_sync = cdc.ResetSynchronizer(~self.locked, domain="sync")
        return m


class VCU1525Top(Elaboratable):
    """The bitstream's top: CRG + BoardCore on the VCU1525Platform's pins (rtl/vcu1525.py)."""

    def __init__(self, params: BoardParams, dividers: MMCMDividers, *, cell_module: str | None = None):
        self.params = params
        self.dividers = dividers
        self.cell_module = cell_module

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        m.submodules.crg = CRG(self.dividers)
        m.submodules.core = core = BoardCore(self.params, cell_module=self.cell_module)
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [core.uart_rx.eq(rx.i), tx.o.eq(core.uart_tx)]
        for i in range(4):
            m.submodules[f"switch_{i}"] = sw = io.Buffer("i", platform.request("switch", i, dir="-"))
            m.d.comb += core.switches[i].eq(sw.i)
        for i in range(3):
            m.submodules[f"led_{i}"] = led = io.Buffer("o", platform.request("led", i, dir="-"))
            m.d.comb += led.o.eq(core.leds[i])
        return m
