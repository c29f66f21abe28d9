"""`sparsesim run FILE`: simulate a workload on its target and its dense baseline, print a summary,
write the per-op table and summary under the output folder."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import SparsesimError


def register(add) -> None:
    p = add("run", run_command, "simulate a workload (and its dense baseline) on its target")
    p.add_argument("file")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: the workload's output.dir)")
    p.add_argument("--ablate", action="store_true", help="sat: also run with each dataflow optimisation off")
    p.add_argument(
        "--sensitivity", action="store_true",
        help="also rerun with each uncertain preset parameter at the ends of its plausible range",
    )  # fmt: skip


def simulate(wl, *, progress=None, ablate: bool = False, sensitivity: bool = False):
    """Dispatch to the workload's target; returns a sparsesim.results.RunResult (with .baseline)."""
    if wl.target == "sat":
        from ..sat.simulate import run_workload
    elif wl.target == "mobile":
        from ..mobile.simulate import run_workload
    else:  # the spec forbids this; kept so a new target fails loudly
        raise SparsesimError(f"target: unknown target {wl.target!r}")
    return run_workload(wl, progress=progress, ablate=ablate, sensitivity=sensitivity)


def run_command(args: argparse.Namespace, con: Any) -> int:
    from ..io import atomic_dir, check_output_dir
    from ..report import write_reports
    from ..results import jsonable, write_outputs
    from ..spec import load_workload

    t0 = time.perf_counter()
    wl = load_workload(args.file)
    out_dir = Path(args.output) if args.output else wl.output_dir()
    check_output_dir(out_dir, "--output" if args.output else "output.dir")  # before minutes of simulation
    sensitivity = getattr(args, "sensitivity", False)
    result = simulate(wl, progress=con.progress, ablate=args.ablate, sensitivity=sensitivity)
    result.summary["wall_seconds"] = time.perf_counter() - t0
    with atomic_dir(out_dir) as tmp:
        (tmp / "workload.yaml").write_text(wl.to_yaml())
        write_outputs(result, tmp)
        write_reports(result, tmp)
        if "sensitivity" in result.summary:
            from ..sensitivity import write_csv

            write_csv(result.summary["sensitivity"], tmp)
    result.summary["output_dir"] = str(out_dir)
    if args.format == "json":
        print(json.dumps(jsonable(result.summary), indent=2))
    else:
        sys.stdout.write(_summary_text(result))
    return 0


def _summary_text(result: Any) -> str:
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
