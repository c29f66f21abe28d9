"""The simulator's op cycles against the RTL's, on whole GEMM ops of a shipped workload.

    python bench/rtl_vs_sim.py [--quick] [--json]

Each op of tests/rtl/rtl_ops.QUICK_OPS (from the tiny-CNN op tables: 3x3 conv FF/BP/WU, 1x1 conv, linear;
dense, 2:4 from the shipped workload, 2:8 and 1:4 from the test workloads under tests/rtl/workloads; WS, OS
with and without interleave; M and K as in the table, N cut) is mapped by the simulator's scheduler for the
array, cut into the array tiles the simulator times, run back to back on the exported array in Verilator
(cocotb drives the tile streams from Python), and compared: results bit for bit with sparsesim.sat.numerics
over the whole op, the array's cycles (first weight load / first beat to the last result) with the mapping's
`array_cycles`. One JSON object per op (`--json`) or a table. `--quick`: the 4x4 array; otherwise also the
16x16 array and the 16x32 preset array (N cut 4x less; each a long Verilator build).

Not covered: DRAM. The RTL has no op engine or AXI DMA yet, so `rtl_cycles` / `sim_cycles` are the array
cycles too (`dram_modelled: false`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

from rtl_ops import QUICK_OPS, op_runs, run_ops  # noqa: E402
from sparsesim.rtl import toolchain  # noqa: E402
from sparsesim.rtl.config import ArrayConfig  # noqa: E402
from test_ops import preset_config  # noqa: E402

from sparsesim.errors import ToolError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the 4x4 array only")
    ap.add_argument("--json", action="store_true", help="one JSON object per op")
    args = ap.parse_args(argv)
    try:
        toolchain.configure_environment()
        toolchain.require_simulator("verilator")
    except ToolError as err:  # the simulator is missing: a tool failure, not a bench failure
        print(f"error: {err}", file=sys.stderr)
        return 3
    configs = [(ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16"), 1)]
    if not args.quick:
        configs.append((ArrayConfig(rows=16, cols=16, multipliers=2, max_m=8, precision="fp16"), 4))
        configs.append((preset_config(), 4))
    ok = True
    for cfg, scale in configs:
        for row in run_ops(cfg, op_runs(cfg, QUICK_OPS, ROOT, n_scale=scale)):
            ok &= "error" not in row and row["results_differing_from_numerics"] == 0 and row["rel_diff"] == 0
            if args.json:
                print(json.dumps(row))
            else:
                print(f"{row['array']:6} {row['workload']:18} {row['op']:9} {row['mapping']:24} "
                      f"M={row['m']:<4} N={row['n']:<4} K={row['k']:<5} tiles {row['tiles']:5}  "
                      f"rtl {row.get('rtl_array_cycles')!s:>7}  "
                      f"sim {row.get('sim_array_cycles')!s:>7}  "
                      f"diff {row.get('rel_diff', float('nan')):+.4f}  "
                      f"bad results {row.get('results_differing_from_numerics')}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
