"""Simulation speed of the RTL op engine on Verilator: a whole op with Python only starting it and reading
back (no Python in the per-cycle loop; the clock is cocotb's GPI clock).

    python bench/rtl_speed.py [--rebuild [--o2]]

Runs the tiny-CNN workload's 3x3 conv WU GEMM (OS dense, K = 8192, 131,641 cycles on the 4x4 array) through
the op engine with the HDL DRAM model and prints the simulated cycles per second of wall time (from `start`
to `done`, measured in the bench), the Verilator build time (`--rebuild`: from a clean build folder, else
whatever the cached build cost, near 0; `--o2`: the model's C++ at -O2 instead of verilated.mk's -Os) and
the ratios to the targets (4x4: 100,000 cycles/s; 16x16: 5,000 cycles/s), all measured in this one run. Not
a timed test: the numbers depend on the machine and its load.

16x16: the op engine moves one stream word per 512-bit AXI beat and the 16x16 array's activation words are
2048 bits, so the 16x16 engine is not built (reported as such).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

from rtl_opengine import run_engine_ops  # noqa: E402
from rtl_ops import WORKLOAD, op_run, workload_ops  # noqa: E402
from sparsesim.rtl import toolchain  # noqa: E402
from sparsesim.rtl.config import ArrayConfig  # noqa: E402
from sparsesim.rtl.opengine.descriptor import DATA_BYTES  # noqa: E402

from sparsesim.errors import ToolError  # noqa: E402

TARGETS = {"4x4": 100_000, "16x16": 5_000}  # simulated cycles per second (the targets)
OP = ("conv2:WU", "os", True, 16)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rebuild", action="store_true", help="build the Verilator model from scratch")
    ap.add_argument("--o2", action="store_true", help="with --rebuild: compile the model's C++ at -O2")
    args = ap.parse_args(argv)
    if args.o2 and not args.rebuild:
        print("error: --o2 needs --rebuild (the cached model was built with other flags)", file=sys.stderr)
        return 2
    try:
        env = toolchain.configure_environment()
        toolchain.require_simulator("verilator")
    except ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    if args.o2:  # a make variable on the command line (MAKEFLAGS) overrides verilated.mk's OPT_FAST
        env["MAKEFLAGS"] = env.get("MAKEFLAGS", "") + " OPT_FAST=-O2"
    ops = workload_ops(str(ROOT / WORKLOAD))
    for rows, cols in ((4, 4), (16, 16)):
        cfg = ArrayConfig(rows=rows, cols=cols, multipliers=2, max_m=8, precision="fp16")
        key = f"{rows}x{cols}"
        if cfg.acts_layout.size > 8 * DATA_BYTES:
            why = f"{cfg.acts_layout.size}-bit activation words do not fit one {8 * DATA_BYTES}-bit AXI beat"
            print(json.dumps({"array": key, "run": False, "why": why}))
            continue
        if args.rebuild:
            shutil.rmtree(toolchain.build_root() / "verilator" / f"opengine_{cfg.name()}", ignore_errors=True)
        name, df, il, n = OP
        run = op_run(cfg, name, ops[name], dataflow=df, n_cut=n, interleave=il)
        row = run_engine_ops(cfg, [run])[0]
        if "error" in row:
            print(json.dumps(row))
            return 1
        rate = row["cycles_per_s"]
        print(json.dumps({
            "array": key, "op": run.label(), "cycles": row["rtl_cycles"], "cycles_per_s": round(rate),
            "target_cycles_per_s": TARGETS[key], "ratio_to_target": round(rate / TARGETS[key], 3),
            "verilator_build_s": round(row["build_s"], 1), "rebuilt": args.rebuild,
            "cxx_opt": "-O2" if args.o2 else "-Os",
            "results_differing_from_numerics": row["results_differing_from_numerics"],
        }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
