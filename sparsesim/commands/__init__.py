"""The `sparsesim` subcommands, one module each (discovered by sparsesim.cli). Each module defines
`register(add)`, where `add(name, fn, help) -> argparse.ArgumentParser` creates a subcommand whose handler is
`fn(args, console) -> int`. Handlers are thin: they call the library (sparsesim.api and friends) and print.

`JSON_SHAPES` is the contract of `--format json`: the top-level keys each command prints (README "Output as
JSON"; tests/test_json_shapes.py runs the commands and compares).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol


class ConsoleLike(Protocol):
    """What a command handler gets for progress output (sparsesim.cli.Console)."""

    def progress(self, message: str, *, done: int | None = None, total: int | None = None) -> None: ...

    def close(self) -> None: ...


# A handler: (parsed arguments, console) -> exit code; `add(name, handler, help)` registers a subcommand.
Command = Callable[[argparse.Namespace, ConsoleLike], int]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]

# command -> the top-level keys of its `--format json` output (one shape per command, whatever the flags);
# empty for `run`, which prints the run's summary (sparsesim.summary.Summary: its keys are the shape)
JSON_SHAPES: dict[str, tuple[str, ...]] = {
    "validate": ("workload", "sources"),
    "models": ("models",),
    "prune": ("summary", "layers"),
    "graph": ("model", "level", "rows"),
    "run": (),
    "energy": ("model", "energy_j", "avg_power_w", "gflops_per_w", "energy_breakdown", "dense_energy_j",
               "energy_gain", "static_energy_j", "dynamic_energy_j", "dynamic_gflops_per_w", "actions"),
    "sweep": ("sweep", "output_dir", "points", "counts", "workers", "wall_seconds", "pareto", "files"),
    "search": ("search", "output_dir", "space_size", "exhaustive", "trials", "cached_trials", "pareto",
               "base_workload", "preset_baseline", "best", "files"),
    "rtl export": ("output_dir", "top", "config", "origin", "files"),
    "fpga build": ("tree", "name", "part", "array", "clock", "uart", "seconds", "estimate", "floorplan",
                   "vivado", "vivado_command"),
    "fpga run-op": ("op", "mapping", "m", "n", "k", "results", "differing_from_numerics", "op_cycles",
                    "counters"),
    # the INFO register's fields (rtl.protocol.InfoBlock), precision by name
    "fpga info": ("magic", "version", "precision", "rows", "cols", "multipliers", "max_m", "mul_latency",
                  "add_latency", "k_bits", "len_bits", "cycle_bits", "accumulator", "weight_depth",
                  "act_depth", "result_depth", "weight_bytes", "act_bytes", "result_bytes", "clock_khz",
                  "clocks_per_bit", "build_hash"),
}  # fmt: skip


def add_no_cache(p: argparse.ArgumentParser) -> None:
    """`--no-cache` of the commands that simulate a workload (sparsesim.front_cache); see `cache_arg`."""
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="build the model's front end fresh and read or write nothing in the user's cache folder "
        "(also: environment SPARSESIM_NO_CACHE=1)",
    )


def cache_arg(args: argparse.Namespace) -> bool | None:
    """The `cache` argument of sparsesim.api.run / targets.simulate for `--no-cache` (None: the default)."""
    return False if getattr(args, "no_cache", False) else None


def group_help(args: argparse.Namespace, con: ConsoleLike) -> int:
    """Handler of a command group run without an action (`sparsesim rtl`): its help, exit code 2."""
    args.parser.print_help()
    return 2


def json_default(obj: Any) -> Any:
    """json.dumps(default=...): numpy scalars and arrays, paths, tuples and sets as plain JSON."""
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple | set):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=json_default))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain-text table: one line per row, columns padded to their widest cell."""

    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4f}"
        if isinstance(v, tuple | list):
            return "x".join(str(x) for x in v)
        return str(v)

    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [
        max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
