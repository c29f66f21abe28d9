"""`sparsesim search SEARCH.yaml`: co-design search of the accelerator and the per-layer N:M
(docs/search.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import SpecError


def register(add) -> None:
    p = add(
        "search",
        search_command,
        "co-design search: accelerator and per-layer N:M under the board's resources",
    )
    p.add_argument("file", help="search file: base workload, space, constraints, objectives (docs/search.md)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N",
        help="local Dask cluster of N worker processes (default: CPUs); 0 runs trials in this process",
    )  # fmt: skip
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="use an existing Dask cluster (tcp://host:8786)"
    )
    p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: reports/<name>)")
    p.add_argument("--fresh", action="store_true", help="ignore cached trials and run every trial again")
    p.add_argument(
        "--full-estimates", type=int, metavar="K",
        help="Pareto points re-estimated by a full Yosys run (default: the file's full_estimates)",
    )  # fmt: skip
    p.add_argument("--format", choices=["text", "json"], default="text")


def search_command(args: argparse.Namespace, con: Any) -> int:
    from ..search import search

    if args.workers is not None and args.workers < 0:
        raise SpecError(f"--workers: must be >= 0 (got {args.workers})")
    if args.full_estimates is not None and args.full_estimates < 0:
        raise SpecError(f"--full-estimates: must be >= 0 (got {args.full_estimates})")
    res = search(
        args.file, output=args.output, workers=args.workers, scheduler=args.scheduler, fresh=args.fresh,
        full_estimates=args.full_estimates, progress=con.progress,
    )  # fmt: skip
    close = getattr(con, "close", None)
    if close:
        close()
    outcome, front = res["outcome"], res["pareto"]
    if args.format == "json":
        from ..results import jsonable

        doc = {
            "search": res["name"],
            "output_dir": res["output"],
            "space_size": outcome.space_size,
            "exhaustive": outcome.exhaustive,
            "trials": len(outcome.trials),
            "cached_trials": outcome.cached,
            "pareto": front.to_dict(orient="records"),
            "base_workload": res["base_workload"],
            "preset_baseline": res["preset_baseline"],
            "best": res["best"],
            "files": res["files"],
        }
        print(json.dumps(jsonable(doc), indent=2, default=str))
        return 0
    how = "exhaustive enumeration" if outcome.exhaustive else "NSGA-II"
    print(
        f"{len(outcome.trials)} trials ({how} of a {outcome.space_size:,}-point space; "
        f"{outcome.cached} cached) "
        f"in {outcome.wall_seconds:.1f} s; {len(front)} Pareto point(s)"
    )
    objs = [c for c in ("time_s", "energy_j", "edp", "dsp", "lut") if c in front]
    for i, row in front.iterrows():
        vals = ", ".join(f"{o} {row[o]:.4g}" for o in objs)
        print(f"  pareto/{i}/workload.yaml: {vals}")
    full = res["full_estimates"]
    print(f"full Yosys estimates: {full['text']}")
    for i in full["flagged"]:
        print(
            f"warning: pareto/{i}: the full Yosys estimate breaks {front.loc[i, 'full_violated']} "
            "(the resource model's guess met it)",
            file=sys.stderr,
        )
    pre = res["preset_baseline"]
    acc = ", ".join(f"{k} {v}" for k, v in pre["accelerator"].items())
    if pre["best"]:
        print(
            f"preset baseline ({acc}; its best per-layer N:M on the same constraints, "
            f"{pre['trials']} trials): " + ", ".join(f"{o} {v:.4g}" for o, v in pre["best"].items())
        )
    else:
        print(f"preset baseline ({acc}): no trial meets the constraints ({', '.join(pre['violated'])})")
    for o, b in res["best"].items():
        ratio = b.get("preset_over_best")
        if ratio:
            if abs(ratio - 1) < 5e-4:
                how = "equal to"
            else:
                how = f"{ratio:.3f}x better than" if ratio > 1 else f"{1 / ratio:.3f}x worse than"
            print(f"best {o}: {b['best']:.4g} ({how} the preset baseline's {b['preset_baseline']:.4g})")
    if pre["best"]:
        print(
            f"{pre['dominated_by_front']} of the preset baseline's {len(pre['front'])} front point(s) "
            "strictly dominated by the search's front"
        )
    base = res["base_workload"]
    if not base.get("feasible", True):
        bad = ", ".join(k for k, v in (base.get("constraints") or {}).items() if v > 0)
        print(f"the base workload as given violates: {bad}")
    print(
        f"wrote {res['output']}/ (trials.csv, pareto.csv, search.html, search.json, pareto/*/workload.yaml)"
    )
    if not len(front):
        print("note: no feasible trial; loosen the constraints or widen the space", file=sys.stderr)
    return 0
