"""The simulator's op cycles against the RTL's, on whole GEMM ops of a shipped workload.

    python bench/rtl_vs_sim.py [--quick] [--json] [--no-dram] [--arrays 4x4,16x16,16x32]

Each op of tests/rtl/rtl_ops.QUICK_OPS (from the tiny-CNN op tables: 3x3 conv FF/BP/WU, 1x1 conv, linear;
dense, 2:4 from the shipped workload, 2:8 and 1:4 from the test workloads under tests/rtl/workloads; WS, OS
with and without interleave; M and K as in the table, N cut) is mapped by the simulator's scheduler for the
array (the RTL's architecture, rtl_ops.arch_for: without the preset's on-chip gather costs, which the engine's
block buffers of pre-tiled stream words do not have). The ops run in Verilator through the RTL op engine
(tests/rtl/rtl_opengine.ENGINE_OPS: the same ops; on the 4x4 array also rtl_opengine.BLOCKED_OPS, mapped with
2 KiB buffers): the descriptor goes in, the sequencer walks the mapping's blocks and their tiles, the block
buffers load each block once (compressed weights: values + indices) from the HDL DRAM model (latency and
bandwidth of the simulator's architecture), the out buffer adds the partial sums and the final sums are
written back; Python only starts each op and reads back. Compared: results bit for bit with
sparsesim.sat.numerics over the whole op; each AXI port's beats with the mapping's block loads and each
operand's reads with the scheduler's traffic; the array's cycles (first weight load / first beat to the last
result) with the mapping's `array_cycles` plus its `stream_wait_cycles` (the first pass over each block at the
port's rate, where a stream word is wider than a beat; 0 elsewhere); the op's cycles with DRAM (start to the
last write response) with the simulator's op duration alone on the accelerator (`OpPlan.alone_cycles`: DRAM
latency + the op engine's issue and fill stages, the array overlapped with the op's traffic (the engine
streams: no first-tile or last-tile bytes exposed; each operand's port bounds it), the out buffer's add where
the final sums pass its adders, the write-back and response stages + DRAM latency), within 2 %; and, where
every stream word is one bus beat (every op on the 4x4 array; on the 16x16 the modes whose packed activation
word fits a beat), the cycles before the array's first action and after its last result exactly with the
simulator's DRAM latency + stages (the architecture's op_*_cycles).
One JSON object per op (`--json`) or a table. `--quick`: the 4x4 array only.

Without `--quick` the 16x16 array and the 16x32 preset array (N cut 4x less) run the same ops through the
op engine too (`--arrays`: a subset): their activation words, packed in DRAM as the mode uses them (E
elements per lane), take up to two (16x16, 2:8) and four (16x32, 2:8) of the 1,024-bit AXI beats; the
DRAM model is sized for the image. `--no-dram`: array-only
rows for every array (the tile streams driven from Python, no op engine). `--mutate-dram-latency N`: the
RTL's DRAM model answers after N cycles while the simulator keeps the architecture's latency, to show
that the check fails on a wrong DRAM model (exit status 1). `--bandwidth-scale S`: the RTL's DRAM model
and the simulator both at S times the architecture's DRAM data rate (same mappings), e.g. 1/12 makes the
bus the limit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

from rtl_opengine import REL_TOLERANCE, engine_ops, mismatches, n_scale, run_engine_ops  # noqa: E402
from rtl_ops import QUICK_OPS, arch_for, op_runs, run_ops  # noqa: E402
from sparsesim.rtl import toolchain  # noqa: E402
from sparsesim.rtl.config import ArrayConfig  # noqa: E402
from sparsesim.rtl.opengine.export import DramModel  # noqa: E402
from test_ops import preset_config  # noqa: E402

from sparsesim.errors import ToolError  # noqa: E402


def row_ok(row: dict) -> bool:
    # an engine row: also its block loads, prologue and epilogue (rtl_opengine.mismatches)
    if row.get("dram_modelled"):
        return not mismatches(row)
    return (
        "error" not in row
        and row["results_differing_from_numerics"] == 0
        and row["rtl_array_cycles"] == row["sim_array_cycles"]
        and abs(row["rel_diff"]) <= REL_TOLERANCE
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the 4x4 array only")
    ap.add_argument("--arrays", default="4x4,16x16,16x32", metavar="LIST",
                    help="without --quick: comma-separated, of 4x4, 16x16, 16x32 (default: all)")  # fmt: skip
    ap.add_argument("--json", action="store_true", help="one JSON object per op")
    ap.add_argument("--no-dram", action="store_true", help="array-only rows (no op engine, no DRAM)")
    ap.add_argument("--mutate-dram-latency", type=int, metavar="CYCLES",
                    help="mutation: the RTL's DRAM latency (the simulator keeps its own)")  # fmt: skip
    ap.add_argument("--bandwidth-scale", type=float, default=1.0, metavar="S",
                    help="both sides with the DRAM data rate x S (the ops keep their mapping)")  # fmt: skip
    args = ap.parse_args(argv)
    if args.bandwidth_scale <= 0:
        print("error: --bandwidth-scale must be > 0", file=sys.stderr)
        return 2
    if args.mutate_dram_latency is not None and args.mutate_dram_latency < 1:
        print("error: --mutate-dram-latency must be >= 1 cycle", file=sys.stderr)
        return 2
    arrays = {a.strip() for a in args.arrays.split(",") if a.strip()}
    if not arrays or arrays - {"4x4", "16x16", "16x32"}:
        print(f"error: --arrays: {args.arrays!r}; choose from 4x4, 16x16, 16x32", file=sys.stderr)
        return 2
    if args.quick:
        arrays = {"4x4"}
    try:
        toolchain.configure_environment()
        toolchain.require_simulator("verilator")
    except ToolError as err:  # the simulator is missing: a tool failure, not a bench failure
        print(f"error: {err}", file=sys.stderr)
        return 3
    configs = []
    if "4x4" in arrays:
        four = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")
        configs.append((four, 1, not args.no_dram))
    if "16x16" in arrays:
        sixteen = ArrayConfig(rows=16, cols=16, multipliers=2, max_m=8, precision="fp16")
        configs.append((sixteen, 4, not args.no_dram))
    if "16x32" in arrays:
        configs.append((preset_config(), 4, not args.no_dram))
    ok = True
    for cfg, scale, dram in configs:
        ops = engine_ops(cfg) if dram else []
        array_ops = [] if dram else QUICK_OPS
        mutated = None
        if args.mutate_dram_latency is not None:
            arch_dram = DramModel.from_arch(arch_for(cfg, "ws"))
            mutated = dataclasses.replace(arch_dram, latency_cycles=args.mutate_dram_latency)
        rows = []
        if ops:
            runs = op_runs(cfg, ops, ROOT, n_scale=n_scale(cfg))
            rows += run_engine_ops(cfg, runs, dram=mutated, bandwidth_scale=args.bandwidth_scale)
        if array_ops:
            rows += run_ops(cfg, op_runs(cfg, array_ops, ROOT, n_scale=scale))
        for row in rows:
            ok &= row_ok(row)
            via = " (DRAM)" if row.get("dram_modelled") else ""
            if args.json:
                print(json.dumps(row))
            else:
                print(f"{row['array']:6} {row.get('workload', ''):18} {row['op']:9} {row['mapping']:24} "
                      f"M={row['m']:<4} N={row['n']:<4} "
                      f"K={row['k']:<5} tiles {row['tiles']:5}  array rtl {row.get('rtl_array_cycles')!s:>7} "
                      f"sim {row.get('sim_array_cycles')!s:>7}  op{via} rtl "
                      f"{row.get('rtl_cycles')!s:>7} sim {row.get('sim_cycles')!s:>9}  "
                      f"diff {row.get('rel_diff', float('nan')):+.4f}  "
                      f"bad results {row.get('results_differing_from_numerics')}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
