"""`sparsesim run FILE`: simulate a workload on its target and its dense baseline, print a summary,
write the per-op table and summary under the output folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..targets import simulate  # noqa: F401  (re-exported: the old home of simulate)
from . import AddCommand, ConsoleLike, add_no_cache, cache_arg

if TYPE_CHECKING:
    from ..results import RunResult


def register(add: AddCommand) -> None:
    p = add("run", run_command, "simulate a workload (and its dense baseline) on its target")
    p.add_argument("file", help="the workload.yaml to simulate")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: the workload's output.dir)")
    p.add_argument("--ablate", action="store_true", help="sat: also run with each dataflow optimisation off")
    p.add_argument(
        "--sensitivity", action="store_true",
        help="also rerun with each uncertain preset parameter at the ends of its plausible range",
    )  # fmt: skip
    add_no_cache(p)


def run_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..api import load, run, save
    from ..io import check_output_dir
    from ..results import jsonable

    wl = load(args.file)
    out_dir = Path(args.output) if args.output else wl.output_dir()
    check_output_dir(out_dir, "--output" if args.output else "output.dir")  # before minutes of simulation
    result = run(
        wl, progress=con.progress, ablate=args.ablate, sensitivity=args.sensitivity,
        cache=cache_arg(args),
    )  # fmt: skip
    save(result, out_dir, workload=wl)
    if args.format == "json":
        print(json.dumps(jsonable(result.summary), indent=2))
    else:
        sys.stdout.write(_summary_text(result))
    return 0


def _summary_text(result: RunResult) -> str:
    from ..report.text import summary_text

    text = summary_text(result)
    s = result.summary
    if "energy_j" in s:  # the report's own text gains energy with the report's energy chart
        b = s["energy_breakdown"]
        text += (
            f"energy: {s['energy_j']:.4g} J (compute {b['compute']:.3g}, on-chip {b['onchip']:.3g}, "
            f"DRAM {b['dram']:.3g}, static {b['static']:.3g}), {s['avg_power_w']:.3g} W, "
            f"{s['gflops_per_w']:.3g} GFLOPS/W; dense {s['dense_energy_j']:.4g} J ({s['energy_gain']:.2f}x)\n"
        )
    if "sensitivity" in s:
        from ..sensitivity import table_text

        text += table_text(s["sensitivity"], float(s["total_cycles"]))
    return text
