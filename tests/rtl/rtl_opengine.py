"""Whole ops through the RTL op engine with its DRAM model (tb_opengine.py), checked against
sparsesim.sat.numerics (results, bit for bit) and against the simulator (the array's cycles: the mapping's
`array_cycles`; the op's cycles with DRAM: the scheduler's `OpPlan.alone_cycles`, the op alone with the DRAM
as the SimPy engines run it: latency + the op engine's issue and fill stages, the array overlapped with
the op's traffic (the engine streams, so no first-tile or last-tile bytes are exposed; each operand's port
bounds it), the out buffer's add (WS; OS with k-blocks), write-back and response stages + latency;
the cycles before and after the array's: the simulator's latency + stages, exactly). Pure Python around the
Verilator run; used by test_opengine.py, bench/rtl_vs_sim.py and bench/mutate_timing.py."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import math
import time
from pathlib import Path

import numpy as np
from rtl_ops import (
    QUICK_OPS,
    WORKLOAD,
    OpRun,
    arch_for,
    block_steps,
    expected,
    final_tiles,
    op_runs,
    place_final,
)
from rtl_runner import run_cocotb
from sparsesim.rtl import toolchain
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine.descriptor import (
    DATA_BYTES,
    act_line_bits,
    act_packed_bits,
    beats_per_word,
    result_dram_bits,
)
from sparsesim.rtl.opengine.engine import BLOCK_WORDS
from sparsesim.rtl.opengine.export import (
    VERILATOR_MAKE_ARGS,
    VERILATOR_TIMING_ARGS,
    DramModel,
    engine_verilog,
    mem_words_for,
)
from sparsesim.rtl.opengine.image import (
    block_words,
    build_image,
    log2_elements,
    read_hex,
    tile_words,
    write_hex,
)

from sparsesim.sat.schedule import _operand_totals, mapping_stream_wait, plan_gemm

# The ops run through the engine: every op of rtl_ops.QUICK_OPS (the shipped 2:4 workload's and the 2:8 and
# 1:4 test workloads'), with the same N as the array-only benches.
ENGINE_OPS = list(QUICK_OPS)
# Ops the scheduler blocks when every on-chip buffer has 2 KiB (arch_for's buffer_kib), on the 4x4 array:
# operands re-read per block, and k-blocks. WS 2:4 c_resident (2 m-, 2 n-, 5 k-blocks: A and B read
# twice); OS 2:4 c_resident (8 m-, 2 n-blocks, k-blocks of 128 and 16); WS and OS dense b_resident
# (9 m-blocks, 2 n-blocks: A read twice).
BLOCKED_OPS = [
    (WORKLOAD, "conv2:FF", "ws", True, 32, 2),
    (WORKLOAD, "conv2:FF", "os", True, 8, 2),
    (WORKLOAD, "conv2:BP", "ws", True, 32, 2),
    (WORKLOAD, "conv2:BP", "os", True, 32, 2),
]

def engine_ops(cfg: ArrayConfig) -> list[tuple]:
    """The ops the benches run through the engine on `cfg`: ENGINE_OPS, and BLOCKED_OPS on the 4x4 array."""
    return ENGINE_OPS + (BLOCKED_OPS if cfg.rows * cfg.cols <= 16 else [])


def n_scale(cfg: ArrayConfig) -> int:
    """How much less N is cut on `cfg` than on the 4x4 array (bench/rtl_vs_sim.py): 4 on larger arrays."""
    return 1 if cfg.rows * cfg.cols <= 16 else 4


# The model's C++ optimisation on large arrays (VERILATOR_MAKE_ARGS, -O3, on small ones), our choice from a
# whole op's measurements (bench/rtl_speed.py, docs/pe_array.md "Speed"): on the 16x16 engine -Os beats -O3
# (12,777 against 9,981 simulated cycles per CPU second): its model is 256 copies of the PE cell's code
# (Verilator emits it per instance) and -O3's larger code misses the instruction cache; on the 4x4 engine
# -O3 wins. Arrays between were not measured: -O3 up to 64 PEs, -Os above.
LARGE_ARRAY_MAKE_ARGS = ["OPT_FAST=-Os"]
LARGE_ARRAY_PES = 64


def engine_make_args(cfg: ArrayConfig) -> list[str]:
    return VERILATOR_MAKE_ARGS if cfg.rows * cfg.cols <= LARGE_ARRAY_PES else LARGE_ARRAY_MAKE_ARGS


REL_TOLERANCE = 0.02  # the op's cycles with DRAM may differ by 2 % (the array's cycles must be identical)

# Word gap between two ops' regions in the simulation DRAM: our choice, an odd number of words so that the
# regions (and their bursts) start at varied offsets within 4 KiB pages.
GAP_WORDS = 37


_lock_depth = 0


@contextlib.contextmanager
def engine_lock():
    """One op-engine run at a time across processes (pytest-xdist workers; bench/mutate_timing.py started by
    a test): runs of one model share its Verilog, its Verilator build folder (report and results files) and
    its work folder. Re-entrant within a process (run_engine_ops splits large op lists recursively)."""
    global _lock_depth
    if _lock_depth:
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
        return
    path = toolchain.build_root() / "opengine" / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file is closed
        _lock_depth = 1
        try:
            yield
        finally:
            _lock_depth = 0


@dataclasses.dataclass(frozen=True)
class EngineSize:
    """What a Verilator model of the engine is built for: its block buffer halves (weights, activations),
    its out buffer and the DRAM model's beats."""

    w_block_words: int
    a_block_words: int
    c_block_words: int
    mem_words: int


def _pow2(x: int) -> int:
    return 1 << max(0, x - 1).bit_length()


def engine_size(cfg: ArrayConfig, runs: list[OpRun], end_word: int) -> EngineSize:
    """Block buffers for the runs' largest blocks and a DRAM for their image, as powers of two of at least
    the engine's default block and MEM_WORDS (so that the benches of one array share a model)."""
    need = [block_words(cfg, r.mapping) for r in runs]
    return EngineSize(*(max(BLOCK_WORDS, _pow2(max(x[i] for x in need))) for i in range(3)),
                      mem_words_for(end_word))  # fmt: skip


def engine_key(cfg: ArrayConfig, dram: DramModel, size: EngineSize) -> str:
    """The engine model's build folder name (Verilog and Verilator)."""
    return (f"opengine_{cfg.name()}_l{dram.latency_cycles}_bw{dram.bw_q8}_p{dram.port_bytes}_w{size.w_block_words}"
            f"_a{size.a_block_words}_c{size.c_block_words}_mem{size.mem_words}")  # fmt: skip


def engine_build(cfg: ArrayConfig, dram: DramModel, size: EngineSize) -> Path:
    return engine_verilog(cfg, toolchain.build_root() / "verilog" / engine_key(cfg, dram, size), dram,
                          block_words=(size.w_block_words, size.a_block_words, size.c_block_words),
                          mem_words=size.mem_words)  # fmt: skip


@functools.cache
def _reference_size(cfg: ArrayConfig) -> EngineSize:
    """ENGINE_OPS' blocks and image at the benches' N (4x4: as listed; larger arrays: N 4x less cut, as
    bench/rtl_vs_sim.py runs them)."""
    ref = op_runs(cfg, engine_ops(cfg), Path(__file__).resolve().parents[2], n_scale=n_scale(cfg))
    images, _ = images_of(cfg, ref)
    return engine_size(cfg, ref, images[-1].end)


def sized_for(cfg: ArrayConfig, runs: list[OpRun], end_word: int) -> EngineSize:
    """The engine size the benches of `cfg` share (`_reference_size`), larger where `runs` (an image ending
    at beat `end_word`) need more."""
    ref, own = _reference_size(cfg), engine_size(cfg, runs, end_word)
    return EngineSize(*(max(a, b) for a, b in zip(dataclasses.astuple(ref), dataclasses.astuple(own))))


def images_of(cfg: ArrayConfig, runs: list[OpRun]) -> tuple[list, dict[int, int]]:
    """Every op's descriptor and DRAM regions, one op after the other (GAP_WORDS apart)."""
    words: dict[int, int] = {}
    images, base = [], 0
    for r in runs:
        img = build_image(cfg, r.mapping, [(r.a, r.b)], base_word=base)
        images.append(img)
        words |= img.words
        base = img.end + GAP_WORDS
    return images, words


def with_sim(row: dict, run: OpRun, arch) -> dict:
    """`row` (the RTL's measurements of `run`) with the simulator's side for the architecture `arch`: the
    op alone with DRAM (`OpPlan.alone_cycles`), the array's cycles (the mapping's), and the split before and
    after the array's cycles, whose fixed part is DRAM latency + the op engine's stages (the architecture's
    op_* terms, through `OpPlan.prologue_stage_cycles` / `epilogue_stage_cycles`)."""
    # the waits for words wider than their port's beat, from `arch` (the mapping's, unless a bench mutates it)
    wait, lead = mapping_stream_wait(arch, run.mapping)
    mp = dataclasses.replace(run.mapping, stream_wait_cycles=wait, stream_wait_lead_cycles=lead)
    plan = plan_gemm(run.op, arch, mp)
    sim_op = plan.alone_cycles(arch)
    lat, bw = arch.dram_latency_cycles, arch.dram_bytes_per_cycle
    fixed_pro, fixed_epi = lat + plan.prologue_stage_cycles, lat + plan.epilogue_stage_cycles
    # the waits for words wider than their port's beat (GemmMapping.stream_wait_cycles; 0 where every word
    # is one beat): those before the array's first action (the op's first words late, `lead`) add to the
    # cycles before the array, the rest to the array's
    out = row | {
        "sim_cycles": round(sim_op, 1),
        # the array's cycles as the engine feeds it: the timing contract's plus its waits after its start
        "sim_array_cycles": mp.array_cycles + wait - lead,
        "sim_prologue_cycles": round(fixed_pro + lead + plan.prologue_bytes / bw, 1),
        "sim_epilogue_cycles": round(fixed_epi + plan.epilogue_bytes / bw, 1),
        # the fixed part (the simulator of an op engine that streams exposes no bytes beside it: the
        # prologue and epilogue bytes are 0) with the first words' waits: the RTL's prologue and epilogue
        "sim_fixed_prologue_cycles": fixed_pro + lead, "sim_fixed_epilogue_cycles": fixed_epi,
        "sim_stream_wait_cycles": wait, "sim_stream_wait_lead_cycles": lead,
    }  # fmt: skip
    if "rtl_cycles" in row:
        out["rel_diff"] = (row["rtl_cycles"] - sim_op) / sim_op
        out["array_rel_diff"] = (row["rtl_array_cycles"] - out["sim_array_cycles"]) / out["sim_array_cycles"]
    return out


def mismatches(row: dict, tolerance: float = REL_TOLERANCE) -> list[str]:
    """What an engine row gets wrong: an error, results differing from numerics, array cycles not
    identical, beats per AXI port other than the mapping's block loads, an operand read more or less often
    than the scheduler's traffic says, the op's cycles more than `tolerance` off, and the prologue or
    epilogue not exactly the simulator's fixed cycles (with the waits for the op's first words where they
    are wider than a beat: GemmMapping.stream_wait_lead_cycles)."""
    if "error" in row:
        return [f"error: {row['error']}"]
    out = []
    if row["results_differing_from_numerics"] != 0:
        out.append(f"{row['results_differing_from_numerics']} results differ from numerics")
    if row["rtl_array_cycles"] != row["sim_array_cycles"]:
        out.append(f"array cycles rtl {row['rtl_array_cycles']} sim {row['sim_array_cycles']}")
    if row["beats"] != row["beats_expected"]:
        out.append(f"beats per port {row['beats']}, the mapping's block loads {row['beats_expected']}")
    if any(not row["sim_reads"][p] - 1e-6 <= row["rtl_reads"][p] <= row["sim_reads"][p] + row["reads_slack"][p] + 1e-6
           for p in row["sim_reads"]):  # fmt: skip
        out.append(f"operand reads rtl {row['rtl_reads']} sim {row['sim_reads']}")
    if abs(row["rel_diff"]) > tolerance:
        out.append(f"op cycles rtl {row['rtl_cycles']} sim {row['sim_cycles']} ({row['rel_diff']:+.2%})")
    for part in ("prologue", "epilogue"):
        rtl, sim = row[f"rtl_{part}_cycles"], row[f"sim_fixed_{part}_cycles"]
        if rtl != sim:
            out.append(f"{part} rtl {rtl} sim {sim} (DRAM latency + the op engine's stages + the first words' waits)")
    return out
def _act_block_words(cfg: ArrayConfig, mp, n: tuple[int, int], k: tuple[int, int]) -> int:
    """Activation words of the block (n-block, k-block): WS its k-tiles' columns, OS its n-tiles' steps x
    slots."""
    e = mp.mode.m if mp.mode.sparse else cfg.multipliers
    if mp.dataflow == "ws":
        return math.ceil((k[1] - k[0]) / (cfg.rows * e)) * (n[1] - n[0])
    slots = cfg.slots if mp.mode.interleave else 1
    return math.ceil((n[1] - n[0]) / (cfg.cols * slots)) * math.ceil((k[1] - k[0]) / e) * slots


def load_beats(cfg: ArrayConfig, run: OpRun) -> tuple[int, int]:
    """AXI beats the engine should read per operand (weights, activations) for the mapping's block loads
    (`load_words`): weights `beats_per_word` a word; activations packed (E elements per lane, lines of
    act_line_bits): a block's load is the lines its words span in the region, whose blocks lie n-block-major,
    then k-block, back to back (sequencer.py docstring). Counted here from the mapping and that layout."""
    mp = run.mapping
    w_words, _ = load_words(cfg, run)
    e = mp.mode.m if mp.mode.sparse else cfg.multipliers
    per_line = act_line_bits(cfg) // act_packed_bits(cfg, e.bit_length() - 1)
    line_beats = act_line_bits(cfg) // (8 * DATA_BYTES)
    steps = block_steps(mp, cfg)
    n_blocks = sorted({n for _, n, _ in steps})
    k_blocks = sorted({k for _, _, k in steps})
    at, offset = {}, 0
    for n in n_blocks:
        for k in k_blocks:
            at[(n, k)] = offset
            offset += _act_block_words(cfg, mp, n, k)
    a_lines, prev = 0, None
    for _, n, k in steps:
        if (n, k) != prev:
            first = at[(n, k)]
            a_lines += (first + _act_block_words(cfg, mp, n, k) - 1) // per_line - first // per_line + 1
            prev = (n, k)
    return w_words * beats_per_word(cfg.weights_layout.size), a_lines * line_beats


def load_words(cfg: ArrayConfig, run: OpRun) -> tuple[int, int]:
    """Stream words the engine should load from DRAM per operand (weights, activations): each step of the
    mapping's block walk (rtl_ops.block_steps) loads its weight block (m-block, k-block) and activation block
    (k-block, n-block) unless the previous step had the same one. Counted here from the mapping alone."""
    mp = run.mapping
    e = mp.mode.m if mp.mode.sparse else cfg.multipliers
    slots = cfg.slots if mp.mode.interleave else 1
    ceil = math.ceil
    w = a = 0
    prev_w = prev_a = None
    for (m0, m1), (n0, n1), (k0, k1) in block_steps(mp, cfg):
        if mp.dataflow == "ws":
            kts = ceil((k1 - k0) / (cfg.rows * e))
            w_words, a_words = ceil((m1 - m0) / cfg.cols) * kts * cfg.rows, kts * (n1 - n0)
        else:
            steps = ceil((k1 - k0) / e)
            w_words, a_words = ceil((m1 - m0) / cfg.rows) * steps, ceil((n1 - n0) / (cfg.cols * slots)) * steps * slots
        if (m0, k0) != prev_w:
            w, prev_w = w + w_words, (m0, k0)
        if (n0, k0) != prev_a:
            a, prev_a = a + a_words, (n0, k0)
    return w, a


def scheduler_reads(run: OpRun, arch) -> tuple[float, float]:
    """How often the scheduler's traffic reads each operand: its A and B bytes over the operand's bytes."""
    op, mp = run.op, run.mapping
    _, a_once, b_once, _ = _operand_totals(op, arch, mp.mode.sparse, None, None)
    if mp.transposed:
        a_once, b_once = b_once, a_once
    return mp.a_bytes / a_once, mp.b_bytes / b_once


def dram_traffic(cfg: ArrayConfig, run: OpRun, img, out: dict, arch) -> dict:
    """The op's beats per AXI port against the block loads its mapping needs (`load_words`), and how often
    each operand region was read against the scheduler's traffic (its A and B bytes over the operand's)."""
    w_beats, a_beats = load_beats(cfg, run)
    regions = {"rd_w": img.w_end - img.fields["w_base"] // DATA_BYTES,
               "rd_a": (img.fields["r_base"] - img.fields["a_base"]) // DATA_BYTES}  # fmt: skip
    sim_w, sim_a = scheduler_reads(run, arch)
    # packed activation blocks that start or end inside a line read that line with their neighbour: up to
    # one line more per block load than the region's share
    keys = [(n, k) for _, n, k in block_steps(run.mapping, cfg)]
    a_loads = sum(1 for i, key in enumerate(keys) if i == 0 or key != keys[i - 1])
    line_beats = act_line_bits(cfg) // (8 * DATA_BYTES)
    return {
        "beats": {p: out[f"beats_{p}"] for p in ("rd_w", "rd_a", "wr")},
        "beats_expected": {"rd_w": w_beats, "rd_a": a_beats, "wr": img.result_hi - img.result_lo},
        "reads_slack": {"rd_w": 0.0, "rd_a": a_loads * line_beats / regions["rd_a"]},
        "rtl_dram_bytes": {p: out[f"beats_{p}"] * DATA_BYTES for p in ("rd_w", "rd_a", "wr")},
        "sim_dram_bytes": {"a": run.mapping.a_bytes, "b": run.mapping.b_bytes, "c": run.mapping.c_bytes},
        "rtl_reads": {p: out[f"beats_{p}"] / regions[p] for p in regions},
        "sim_reads": {"rd_w": sim_w, "rd_a": sim_a},
    }  # fmt: skip


def check_results(cfg: ArrayConfig, run: OpRun, img, region: list[int]) -> int:
    """Results differing from numerics (raises ValueError when the words do not split into the final
    tiles: the engine writes final sums only)."""
    beats = tile_words(cfg, region, [run.tiles[i].result_beats for i in final_tiles(run)])
    return int(np.count_nonzero(place_final(run, cfg, beats) != expected(run, cfg)))


@engine_lock()
def run_engine_ops(cfg: ArrayConfig, runs: list[OpRun], sim: str = "verilator",
                   dram: DramModel | None = None, bandwidth_scale: float = 1.0,
                   make_args: list[str] | None = None) -> list[dict]:
    """One row per op: results vs numerics, array cycles and op cycles (with DRAM) vs the simulator.
    `dram`: the RTL's DRAM model instead of the architecture's (the simulator keeps its own): a mutation.
    `bandwidth_scale`: both sides with the architecture's DRAM data rate scaled (the ops keep their mapping).
    `make_args`: Verilator's make variables instead of `engine_make_args` (a cached build keeps its own)."""

    def arch_of(dataflow: str, interleave: bool = True, buffer_kib: int | None = None):
        a = arch_for(cfg, dataflow, interleave, buffer_kib)
        return dataclasses.replace(a, dram_mts=a.dram_mts * bandwidth_scale) if bandwidth_scale != 1.0 else a

    arch = arch_of(runs[0].mapping.dataflow)
    dram = dram or DramModel.from_arch(arch)
    images, words = images_of(cfg, runs)
    size = sized_for(cfg, runs, images[-1].end)
    t0 = time.perf_counter()
    verilog = engine_build(cfg, dram, size)
    convert_s = time.perf_counter() - t0
    key = engine_key(cfg, dram, size)
    work = toolchain.build_root() / "opengine" / key
    work.mkdir(parents=True, exist_ok=True)
    init, dump, ops_file = work / "init.hex", work / "dump.hex", work / "ops.json"
    write_hex(init, words)
    dump.unlink(missing_ok=True)
    ops_file.write_text(json.dumps([{"name": r.label(), "desc": f"{img.desc:x}"} for r, img in zip(runs, images)]))
    lo, hi = min(i.result_lo for i in images), max(i.result_hi for i in images)
    data = run_cocotb(sim, verilog, "op_engine_tb", "tb_opengine", key,
                      {"ops": str(ops_file), "dump_lo": lo, "dump_hi": hi},
                      plusargs=[f"+MEMINIT={init}", f"+MEMDUMP={dump}"], build_args=VERILATOR_TIMING_ARGS,
                      make_args=engine_make_args(cfg) if make_args is None else make_args)  # fmt: skip
    got = data.get("ops", {})
    dumped = read_hex(dump) if dump.exists() else []
    rows = []
    for r, img in zip(runs, images):
        arch_r = arch_of(r.mapping.dataflow, r.mapping.mode.interleave, r.buffer_kib)
        row = {"op": r.name, "array": f"{cfg.rows}x{cfg.cols}", "mapping": r.mapping.mode_text,
               "m": r.mapping.m, "n": r.mapping.n, "k": r.mapping.k, "tiles": len(r.tiles),
               "block": list(r.mapping.block), "order": r.mapping.order, "dram_modelled": True,
               "dram_latency_cycles": dram.latency_cycles, "dram_bytes_per_cycle": dram.bytes_per_cycle}  # fmt: skip
        out = got.get(r.label())
        if out is None or not dumped:
            rows.append(row | {"error": f"no result from the bench (log: {data['_run']['log']})"})
            continue
        first = out["first_load"] if r.mapping.dataflow == "ws" else out["first_start"]
        bad = -1
        try:
            bad = check_results(cfg, r, img, dumped[img.result_lo - lo : img.result_hi - lo])
        except ValueError as err:
            row["error"] = str(err)
        row |= {
            "rtl_cycles": out["op_cycles"],
            "rtl_array_cycles": out["last_done"] - first + 1,
            # where the op's cycles go (prologue + array + epilogue = op): before the array's first action,
            # and after the cycle of its last result
            "rtl_prologue_cycles": first - out["started_at"],
            "rtl_epilogue_cycles": out["started_at"] + out["op_cycles"] - out["last_done"] - 1,
            # every word of the op's streams in one bus beat: weights, results, and the packed activation
            # words of its mode (E elements per lane)
            "one_beat_words": all(beats_per_word(lay.size) == 1 for lay in
                                  (cfg.weights_layout,)) and beats_per_word(result_dram_bits(cfg)) == 1
                              and act_packed_bits(cfg, log2_elements(cfg, r.mapping.mode)) <= 8 * DATA_BYTES,  # fmt: skip
            "results_differing_from_numerics": bad,
            **dram_traffic(cfg, r, img, out, arch_r),
            "cycles_per_s": out["op_cycles"] / max(out["wall_s"], 1e-9),
            "cycles_per_cpu_s": out["op_cycles"] / max(out.get("cpu_s", 0.0), 1e-9),
            "build_s": data["_run"]["build_s"], "convert_s": convert_s,
        }  # fmt: skip
        rows.append(with_sim(row, r, arch_r))
    return rows


# ------------------------------------------------------------------------------------ AXI protocol bench
@engine_lock()
def run_axi_protocol(cfg: ArrayConfig, runs: list[OpRun], *, pause: float = 0.3, sim: str = "verilator") -> dict:
    """The ops through the engine alone with cocotbext-axi's AxiRam on its ports (random back-pressure on
    every channel); returns the scoreboard: protocol violations, words per port against the ops' tiles,
    results against numerics."""
    dram = DramModel.from_arch(arch_for(cfg, runs[0].mapping.dataflow))
    images, words = images_of(cfg, runs)
    size = sized_for(cfg, runs, images[-1].end)
    verilog = engine_build(cfg, dram, size)
    # the same Verilator model as run_engine_ops (its `ext_mem` port set)
    key = engine_key(cfg, dram, size)
    work = toolchain.build_root() / "opengine" / f"axi_{key}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "ops.json").write_text(
        json.dumps([{"name": r.label(), "desc": f"{img.desc:x}"} for r, img in zip(runs, images)])
    )
    (work / "image.json").write_text(json.dumps({str(a): f"{w:x}" for a, w in words.items()}))
    lo, hi = min(i.result_lo for i in images), max(i.result_hi for i in images)
    mem_bytes = 1 << (max(hi, 1) * DATA_BYTES - 1).bit_length()
    data = run_cocotb(sim, verilog, "op_engine_tb", "tb_opengine_axi", key,
                      {"ops": str(work / "ops.json"), "image": str(work / "image.json"), "dump_lo": lo,
                       "dump_hi": hi, "mem_bytes": mem_bytes, "pause": pause},
                      plusargs=["+EXTCLK"], build_args=VERILATOR_TIMING_ARGS,
                      make_args=engine_make_args(cfg))  # fmt: skip
    axi_rep = data.get("axi")
    if axi_rep is None:
        return {"errors": [f"no result from the bench (log: {data['_run']['log']})"]}
    return axi_scoreboard(cfg, runs, images, axi_rep, lo, port_beats(cfg, runs)) | {"run": data["_run"]}


def port_beats(cfg: ArrayConfig, runs: list[OpRun]) -> dict[str, int]:
    """Beats each AXI port should move for the ops: their block loads (`load_words`) and final results."""
    loads = [load_beats(cfg, r) for r in runs]
    return {
        "rd_w": sum(w for w, _ in loads),
        "rd_a": sum(a for _, a in loads),
        "wr": beats_per_word(result_dram_bits(cfg)) * sum(r.tiles[i].result_beats for r in runs
                                                          for i in final_tiles(r)),
    }  # fmt: skip


def axi_scoreboard(cfg: ArrayConfig, runs: list[OpRun], images, rep: dict, lo: int, want: dict[str, int]) -> dict:
    """Burst rules (IHI 0022 A3.4.1: INCR, full-width beats, aligned, <= 256 beats, no 4 KiB crossing),
    W beats per burst with WLAST on the last one and every strobe set, the beats each port moved against
    `want` (`port_beats`: the ops' block loads and final results), and the results against numerics."""
    errors: list[str] = []
    bursts = rep["bursts"]
    size = DATA_BYTES.bit_length() - 1
    boundary_cuts = 0
    for b in bursts:
        beats = b["len"] + 1
        where = f"{b['port']} burst at {b['addr']:#x} x{beats}"
        if b["burst"] != 1 or b["size"] != size:
            errors.append(f"{where}: burst type {b['burst']} size {b['size']} (want INCR, {size})")
        if b["addr"] % DATA_BYTES:
            errors.append(f"{where}: not aligned to {DATA_BYTES} B")
        if beats > 256:
            errors.append(f"{where}: longer than 256 beats")
        end = b["addr"] + beats * DATA_BYTES
        if b["addr"] // 4096 != (end - 1) // 4096:
            errors.append(f"{where}: crosses a 4 KiB boundary")
        boundary_cuts += end % 4096 == 0
    writes = [b for b in bursts if b["port"] == "wr"]
    w = rep["w_beats"]
    i = 0
    for b in writes:
        chunk = w[i : i + b["len"] + 1]
        i += b["len"] + 1
        if [x["last"] for x in chunk] != [0] * b["len"] + [1]:
            errors.append(f"write burst at {b['addr']:#x}: WLAST not on beat {b['len'] + 1} only")
        if any(x["strb"] != (1 << DATA_BYTES) - 1 for x in chunk):
            errors.append(f"write burst at {b['addr']:#x}: partial strobes")
    if i != len(w):
        errors.append(f"{len(w)} W beats for {i} announced by AW")
    got = {port: sum(b["len"] + 1 for b in bursts if b["port"] == port) for port in want}
    if got != want:
        errors.append(f"beats per port {got}, the ops' tiles need {want}")
    results = [int(x, 16) for x in rep["results"]]
    bad = {}
    for r, img in zip(runs, images):
        try:
            bad[r.label()] = check_results(cfg, r, img, results[img.result_lo - lo : img.result_hi - lo])
        except ValueError as err:
            errors.append(f"{r.label()}: {err}")
    errors += [f"{name}: {n} results differ from numerics" for name, n in bad.items() if n]
    return {"errors": errors, "bursts": len(bursts), "beats": got, "boundary_cuts": boundary_cuts,
            "results_checked": bad, "stages": measured_stages(runs, rep)}  # fmt: skip


def measured_stages(runs: list[OpRun], rep: dict) -> dict[str, dict[str, int]]:
    """Per op, two of the op engine's fixed stages as the AXI bench's monitor saw them on the engine's cycle
    count: issue (start taken -> the first read address valid) and response (the last write response ->
    the op's last cycle). Back-pressure delays the handshakes, not these stages. (The fill and write-back
    stages are not measured here: under R and W back-pressure the array stalls for its next beats and the
    W beats queue, so its first action and the last W beat move; the DRAM-model bench pins them through
    the exact prologue and epilogue.)"""
    out = {}
    by_start = {seen["start"]: seen for seen in rep.get("stages", [])}
    for r in runs:
        got = rep.get("ops", {}).get(r.label())
        seen = by_start.get(got["started_at"]) if got is not None else None
        if seen is None or seen["ar"] is None or seen["b"] is None:
            continue
        out[r.label()] = {
            "issue": seen["ar"] - seen["start"],
            "response": got["started_at"] + got["op_cycles"] - seen["b"],
        }
    return out


def stage_mismatches(cfg: ArrayConfig, runs: list[OpRun], stages: dict[str, dict[str, int]]) -> list[str]:
    """The measured stages (`measured_stages`) against the simulator's (SatArch.op_issue_cycles,
    op_response_cycles); every op must have been measured."""
    out = []
    for r in runs:
        got = stages.get(r.label())
        if got is None:
            out.append(f"{r.label()}: stages not measured")
            continue
        arch = arch_for(cfg, r.mapping.dataflow, r.mapping.mode.interleave)
        want = {"issue": arch.op_issue_cycles, "response": arch.op_response_cycles}
        if got != want:
            out.append(f"{r.label()}: stages measured {got}, the simulator's {want}")
    return out


# ------------------------------------------------------------------------------------ repeat > 1
@engine_lock()
def run_repeat_ops(cfg: ArrayConfig, pairs: list[tuple[OpRun, OpRun]], sim: str = "verilator") -> dict:
    """Each pair as ONE descriptor with repeat = 2 (the same mapping, two operand sets one after the other in
    DRAM): the sequencer's walk across repeats. Returns results differing from numerics per pair and repeat."""
    dram = DramModel.from_arch(arch_for(cfg, pairs[0][0].mapping.dataflow))
    words: dict[int, int] = {}
    images, base = [], 0
    for first, second in pairs:
        mapping = dataclasses.replace(first.mapping, repeat=2)
        img = build_image(cfg, mapping, [(first.a, first.b), (second.a, second.b)], base_word=base)
        images.append(img)
        words |= img.words
        base = img.end + GAP_WORDS
    size = sized_for(cfg, [r for pair in pairs for r in pair], images[-1].end)
    verilog = engine_build(cfg, dram, size)
    key = engine_key(cfg, dram, size)
    work = toolchain.build_root() / "opengine" / f"repeat_{key}"
    work.mkdir(parents=True, exist_ok=True)
    init, dump, ops_file = work / "init.hex", work / "dump.hex", work / "ops.json"
    write_hex(init, words)
    dump.unlink(missing_ok=True)
    names = [f"{first.label()} x2" for first, _ in pairs]
    ops_file.write_text(json.dumps([{"name": n, "desc": f"{img.desc:x}"} for n, img in zip(names, images)]))
    lo, hi = min(i.result_lo for i in images), max(i.result_hi for i in images)
    data = run_cocotb(sim, verilog, "op_engine_tb", "tb_opengine", key,
                      {"ops": str(ops_file), "dump_lo": lo, "dump_hi": hi},
                      plusargs=[f"+MEMINIT={init}", f"+MEMDUMP={dump}"], build_args=VERILATOR_TIMING_ARGS,
                      make_args=engine_make_args(cfg))  # fmt: skip
    dumped = read_hex(dump) if dump.exists() else []
    if not dumped or len(data.get("ops", {})) != len(pairs):
        return {"error": f"no result from the bench (log: {data['_run']['log']})"}
    out = {}
    for name, (first, second), img in zip(names, pairs, images):
        region = dumped[img.result_lo - lo : img.result_hi - lo]
        bpw = beats_per_word(result_dram_bits(cfg))
        half = sum(first.tiles[i].result_beats for i in final_tiles(first)) * bpw
        if len(region) != 2 * half:
            out[name] = f"{len(region)} result words for 2 x {half}"
            continue
        out[name] = [check_results(cfg, first, img, region[:half]), check_results(cfg, second, img, region[half:])]
    return out
