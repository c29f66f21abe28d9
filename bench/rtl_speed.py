"""Simulation speed of the RTL op engine on Verilator: a whole op with Python only starting it and reading
back (no Python in the per-cycle loop: the clock is generated in the Verilog top, cocotb awaits `done`).

    python bench/rtl_speed.py [--cached] [--arrays 4x4,16x16[,16x32]] [--cxx-opt=-O3]

Per array, runs one op of the tiny-CNN workload through the op engine with the HDL DRAM model (the 3x3
conv's WU GEMM, OS dense, K = 8192, N cut to 16: about 131,600 cycles on the 4x4 array) and prints one JSON
line with the simulated cycles per second from `start` to `done` measured in the bench, both per wall-clock
second and per CPU second of the simulator process (the machine's load changes the first, not the second),
the Verilator build time of this run and the ratio to the target (4x4: 100,000 cycles/s; 16x16: 5,000;
the 16x32 preset, `--arrays 16x32`, has none: its figure is reported).
By default the model is built from a clean folder without ccache, so the build time is a cold build's;
`--cached` reuses an existing build (then the build time is near 0). `--cxx-opt`: the model's C++
optimisation (default the engine's, `engine_make_args`: -O3 on 4x4, -Os on 16x16). Not a timed test:
the numbers depend on the machine and its load (the load average is printed with them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

from rtl_opengine import engine_key, engine_make_args, images_of, run_engine_ops, sized_for  # noqa: E402
from rtl_ops import WORKLOAD, arch_for, op_run, workload_ops  # noqa: E402
from sparsesim.rtl import toolchain  # noqa: E402
from sparsesim.rtl.config import ArrayConfig  # noqa: E402
from sparsesim.rtl.opengine.export import DramModel  # noqa: E402
from test_ops import preset_config  # noqa: E402

from sparsesim.errors import ToolError  # noqa: E402

TARGETS = {"4x4": 100_000, "16x16": 5_000, "16x32": None}  # simulated cycles/s (the issue's; 16x32: reported)
OP = ("conv2:WU", "os", True, 16)


def array_config(key: str) -> ArrayConfig:
    """4x4 and 16x16: the FP16 test arrays (P = 2, MMAX = 8); 16x32: the preset array as shipped."""
    if key == "16x32":
        return preset_config()
    rows, cols = (int(x) for x in key.split("x"))
    return ArrayConfig(rows=rows, cols=cols, multipliers=2, max_m=8, precision="fp16")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cached", action="store_true", help="reuse an existing Verilator build")
    ap.add_argument("--arrays", default="4x4,16x16",
                    help="comma-separated, of 4x4, 16x16, 16x32 (default: 4x4,16x16)")  # fmt: skip
    ap.add_argument("--cxx-opt", choices=("-Os", "-O2", "-O3"), default=None,
                    help="the model's C++ optimisation (default: the engine's per array)")  # fmt: skip
    args = ap.parse_args(argv)
    if args.cached and args.cxx_opt is not None:
        print("error: --cxx-opt needs a fresh build; drop --cached", file=sys.stderr)
        return 2
    arrays = [a.strip() for a in args.arrays.split(",") if a.strip()]
    unknown = [a for a in arrays if a not in TARGETS]
    if unknown:
        print(f"error: --arrays: unknown {unknown}; choose from {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    try:
        toolchain.configure_environment()
        toolchain.require_simulator("verilator")
    except ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    if not args.cached:
        os.environ["OBJCACHE"] = ""  # a cold build: no compiler cache
    ops = workload_ops(str(ROOT / WORKLOAD))
    for key in arrays:
        cfg = array_config(key)
        make_args = engine_make_args(cfg) if args.cxx_opt is None else [f"OPT_FAST={args.cxx_opt}"]
        name, df, il, n = OP
        run = op_run(cfg, name, ops[name], dataflow=df, n_cut=n, interleave=il)
        if not args.cached:
            dram = DramModel.from_arch(arch_for(cfg, df))
            size = sized_for(cfg, [run], images_of(cfg, [run])[0][-1].end)
            build = engine_key(cfg, dram, size)
            shutil.rmtree(toolchain.build_root() / "verilator" / build, ignore_errors=True)
        row = run_engine_ops(cfg, [run], make_args=make_args)[0]
        if "error" in row:
            print(json.dumps(row))
            return 1
        rate, cpu_rate = row["cycles_per_s"], row["cycles_per_cpu_s"]
        print(json.dumps({
            "array": key, "op": run.label().strip(), "cycles": row["rtl_cycles"],
            "cycles_per_s": round(rate), "cycles_per_cpu_s": round(cpu_rate),
            "target_cycles_per_s": TARGETS[key],
            "ratio_to_target": round(rate / TARGETS[key], 3) if TARGETS[key] else None,
            "verilator_build_s": round(row["build_s"], 1), "cold_build": not args.cached,
            "make_args": make_args, "load_average_1min": round(os.getloadavg()[0], 2),
            "results_differing_from_numerics": row["results_differing_from_numerics"],
        }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
