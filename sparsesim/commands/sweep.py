"""`sparsesim sweep SWEEP.yaml`: run every point of a design-space sweep on Dask (cached, resumable), then
write sweep.csv and the Pareto plot. The sweep file format is in docs/sweeps.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from . import AddCommand, ConsoleLike, print_json, table

if TYPE_CHECKING:
    from ..sweep import SweepOutcome


def register(add: AddCommand) -> None:
    p = add("sweep", sweep_command, "run a design-space sweep (points on Dask, cached by spec hash)")
    p.add_argument("file", help="sweep file: base workload + axes (docs/sweeps.md)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="start a local Dask cluster of N worker processes (default: min(points, CPUs)); "
        "0 runs the points in this process without Dask",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="use an existing Dask cluster (tcp://host:8786)"
    )
    p.add_argument("--output", "-o", metavar="DIR", help="output folder (default: the sweep's output)")
    p.add_argument("--fresh", action="store_true", help="ignore cached points and run every point again")
    p.add_argument(
        "--dry-run", action="store_true", help="list the points and whether each is cached; run none"
    )
    p.add_argument("--format", choices=["text", "json"], default="text")


def sweep_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..io import check_output_dir
    from ..sweep import SweepInterrupted, check_scheduler_address, load_sweep, read_point, run_sweep

    if args.workers is not None and args.workers < 0:
        raise SpecError(f"--workers: must be >= 0 (got {args.workers})")
    if args.scheduler is not None:
        args.scheduler = check_scheduler_address(args.scheduler)
    sweep = load_sweep(args.file)
    if args.output:
        sweep.output = Path(args.output)
    if not args.dry_run:
        check_output_dir(sweep.output, "--output" if args.output else "output")
    if args.dry_run:
        points = sweep.points()
        rows = []
        for p in points:
            cached = p.key is not None and read_point(sweep.points_dir, p.key) is not None
            status = "invalid" if p.key is None else ("cached" if cached else "to run")
            rows.append({"point": p.index, "hash": p.key, "status": status, **p.values, "error": p.error})
        if args.format == "json":
            x, y = sweep.pareto_axes()
            n_cached = sum(1 for r in rows if r["status"] == "cached")
            n_invalid = sum(1 for r in rows if r["status"] == "invalid")
            print_json(
                {
                    "sweep": sweep.name, "output_dir": str(sweep.output), "points": rows,
                    "counts": {"points": len(rows), "ran": 0, "cached": n_cached, "failed": 0,
                               "skipped": n_invalid, "to_run": len(rows) - n_cached - n_invalid},
                    "workers": 0, "wall_seconds": 0.0, "pareto": {"x": x, "y": y, "front": []}, "files": [],
                }
            )  # fmt: skip
        else:
            cols = ["point", "hash", "status", *(c for a in sweep.axes for c in a.paths)]
            print(table(rows, cols))
        return 0
    try:
        outcome = run_sweep(
            sweep, workers=args.workers, scheduler=args.scheduler, fresh=args.fresh, progress=con.progress
        )
    except SweepInterrupted as exc:
        _close(con)
        print(
            f"interrupted: {exc.cached} of {exc.total} points cached in {exc.points_dir}; "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    _close(con)
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    failed = [r for r in outcome.records.values() if r.get("status") == "error"]
    crashed = {i: r for i, r in outcome.records.items() if r.get("status") == "crash"}
    if args.format == "json":
        print_json(_json_summary(outcome))
    else:
        sys.stdout.write(_text_summary(outcome))
    if crashed:
        i, rec = next(iter(crashed.items()))
        if getattr(args, "debug", False):
            print(rec.get("traceback", ""), file=sys.stderr)
        point = next(p for p in outcome.points if p.index == i)
        from ..sweep import describe

        raise RuntimeError(
            f"{len(crashed)} point(s) crashed, e.g. point {i} ({describe(point.values)}): "
            f"{rec.get('error')}; they are not cached, a rerun retries them"
        )
    if failed and not sweep.skip_invalid:
        i = next(i for i, r in outcome.records.items() if r.get("status") == "error")
        point = next(p for p in outcome.points if p.index == i)
        from ..sweep import describe

        raise SpecError(
            f"{len(failed)} point(s) failed, e.g. point {i} ({describe(point.values)}): "
            f"{outcome.records[i].get('error')} (set skip_invalid: true to accept such points)"
        )
    if any(n.startswith("pareto:") for n in outcome.notes):
        return 2
    return 0


def _close(con: ConsoleLike) -> None:
    close = getattr(con, "close", None)
    if close:
        close()


def _json_summary(outcome: SweepOutcome) -> dict[str, Any]:
    """The one JSON shape of `sweep` (JSON_SHAPES["sweep"]); `--dry-run` fills the same keys."""
    s = outcome.sweep
    rows = []
    for p in outcome.points:
        rec = outcome.records.get(p.index)
        status = "skipped" if rec is None else str(rec.get("status", ""))
        error = p.error if rec is None else rec.get("error")
        rows.append({"point": p.index, "hash": p.key, "status": status, **p.values, "error": error})
    n_failed = sum(1 for r in outcome.records.values() if r.get("status") != "ok")
    n_skipped = sum(1 for p in outcome.points if p.key is None)
    return {
        "sweep": s.name,
        "output_dir": str(s.output),
        "points": rows,
        "counts": {"points": len(outcome.points), "ran": outcome.ran, "cached": outcome.cached,
                   "failed": n_failed, "skipped": n_skipped, "to_run": 0},
        "workers": outcome.workers,
        "wall_seconds": outcome.wall_seconds,
        "pareto": {"x": outcome.pareto_axes[0], "y": outcome.pareto_axes[1], "front": outcome.front},
        "files": [str(f) for f in outcome.files],
    }  # fmt: skip


def _text_summary(outcome: SweepOutcome) -> str:
    s = outcome.sweep
    n_failed = sum(1 for r in outcome.records.values() if r.get("status") != "ok")
    n_skipped = sum(1 for p in outcome.points if p.key is None)
    where = f" on {outcome.workers} worker(s)" if outcome.ran else ""
    lines = [
        f"{s.name}: {len(outcome.points)} points ({outcome.ran} run, {outcome.cached} cached, "
        f"{n_failed} failed, {n_skipped} skipped) in {outcome.wall_seconds:.1f} s{where}"
    ]
    x, y = outcome.pareto_axes
    if outcome.front:
        t = outcome.table.set_index("point")
        axis_cols = [c for a in s.axes for c in a.paths]
        cols = ["point", *axis_cols, x, y] + (["speedup"] if "speedup" in t.columns else [])
        rows = [{"point": i, **{c: _plain(t.at[i, c]) for c in cols[1:]}} for i in outcome.front]
        lines.append(f"Pareto front ({y} vs {x}), {len(outcome.front)} point(s):")
        lines += ["  " + line for line in table(rows, list(dict.fromkeys(cols))).splitlines()]
    names = ", ".join(f.name for f in outcome.files)
    lines.append(f"outputs in {s.output}: {names}, points/ (the cache)")
    return "\n".join(lines) + "\n"


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    if isinstance(v, float):
        return f"{v:.6g}"
    return v
