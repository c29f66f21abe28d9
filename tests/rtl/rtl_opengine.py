"""Whole ops through the RTL op engine with its DRAM model (tb_opengine.py), checked against
sparsesim.sat.numerics (results, bit for bit) and against the simulator (the array's cycles: the mapping's
`array_cycles`; the op's cycles with DRAM: the scheduler's `OpPlan.alone_cycles`, the op alone with the DRAM
as the SimPy engines run it: latency + first tile's operands, the array overlapped with the rest of the
traffic, latency + last results). Pure Python around the Verilator run; used by test_opengine.py and
bench/rtl_vs_sim.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from rtl_ops import OpRun, arch_for, assemble, expected
from rtl_runner import run_cocotb
from sparsesim.rtl import toolchain
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine.export import DramModel, engine_verilog
from sparsesim.rtl.opengine.image import build_image, read_hex, tile_words, write_hex

from sparsesim.sat.schedule import plan_gemm

# Word gap between two ops' regions in the simulation DRAM: our choice, an odd number of words so that the
# regions (and their bursts) start at varied offsets within 4 KiB pages.
GAP_WORDS = 37


def engine_build(cfg: ArrayConfig, dram: DramModel) -> Path:
    return engine_verilog(cfg, toolchain.build_root() / "verilog" / f"opengine_{cfg.name()}", dram)


def run_engine_ops(cfg: ArrayConfig, runs: list[OpRun], sim: str = "verilator") -> list[dict]:
    """One row per op: results vs numerics, array cycles and op cycles (with DRAM) vs the simulator."""
    arch = arch_for(cfg, runs[0].mapping.dataflow)
    dram = DramModel.from_arch(arch)
    t0 = time.perf_counter()
    verilog = engine_build(cfg, dram)
    convert_s = time.perf_counter() - t0
    words: dict[int, int] = {}
    images, base = [], 0
    for r in runs:
        img = build_image(cfg, r.mapping, [(r.a, r.b)], base_word=base)
        images.append(img)
        words |= img.words
        base = img.end + GAP_WORDS
    key = f"opengine_{cfg.name()}"
    work = toolchain.build_root() / "opengine" / key
    work.mkdir(parents=True, exist_ok=True)
    init, dump, ops_file = work / "init.hex", work / "dump.hex", work / "ops.json"
    write_hex(init, words)
    dump.unlink(missing_ok=True)
    ops_file.write_text(json.dumps([{"name": r.label(), "desc": f"{img.desc:x}"} for r, img in zip(runs, images)]))
    lo, hi = min(i.result_lo for i in images), max(i.result_hi for i in images)
    data = run_cocotb(sim, verilog, "op_engine_tb", "tb_opengine", key,
                      {"ops": str(ops_file), "dump_lo": lo, "dump_hi": hi},
                      plusargs=[f"+MEMINIT={init}", f"+MEMDUMP={dump}"])  # fmt: skip
    got = data.get("ops", {})
    dumped = read_hex(dump) if dump.exists() else []
    rows = []
    for r, img in zip(runs, images):
        arch_r = arch_for(cfg, r.mapping.dataflow, r.mapping.mode.interleave)
        row = {"op": r.name, "array": f"{cfg.rows}x{cfg.cols}", "mapping": r.mapping.mode_text,
               "m": r.mapping.m, "n": r.mapping.n, "k": r.mapping.k, "tiles": len(r.tiles),
               "block": list(r.mapping.block), "order": r.mapping.order, "dram_modelled": True,
               "dram_latency_cycles": dram.latency_cycles, "dram_bytes_per_cycle": dram.bytes_per_cycle}  # fmt: skip
        out = got.get(r.label())
        if out is None or not dumped:
            rows.append(row | {"error": f"no result from the bench (log: {data['_run']['log']})"})
            continue
        first = out["first_load"] if r.mapping.dataflow == "ws" else out["first_start"]
        rtl_array = out["last_done"] - first + 1
        sim_array = r.mapping.array_cycles
        sim_op = plan_gemm(r.op, arch_r, r.mapping).alone_cycles(arch_r)
        bad = -1
        try:
            region = dumped[img.result_lo - lo : img.result_hi - lo]
            beats = tile_words(cfg, region, [t.result_beats for t in r.tiles])
            bits = assemble(r, cfg, beats)
            bad = int(np.count_nonzero(bits != expected(r, cfg)))
        except ValueError as err:
            row["error"] = str(err)
        rows.append(row | {
            "rtl_cycles": out["op_cycles"], "sim_cycles": round(sim_op, 1),
            "rel_diff": (out["op_cycles"] - sim_op) / sim_op,
            "rtl_array_cycles": rtl_array, "sim_array_cycles": sim_array,
            "array_rel_diff": (rtl_array - sim_array) / sim_array,
            "results_differing_from_numerics": bad,
            "cycles_per_s": out["op_cycles"] / max(out["wall_s"], 1e-9),
            "build_s": data["_run"]["build_s"], "convert_s": convert_s,
        })  # fmt: skip
    return rows
