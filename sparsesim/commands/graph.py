"""`sparsesim graph FILE`: the lowered op table (FF/BP/WU GEMMs and vector work) as CSV, or the traced layer
graph with `--layers`; `--format json` prints {"model", "level", "rows"} (one shape for both)."""

from __future__ import annotations

import argparse
import json
import sys

from . import AddCommand, ConsoleLike, add_no_cache, cache_arg, json_default


def register(add: AddCommand) -> None:
    p = add(
        "graph", graph_command, "write the lowered op table (FF/BP/WU GEMMs and vector work) as CSV or JSON"
    )
    p.add_argument("file", help="the workload.yaml (its model, sparsity and task sections)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--layers", action="store_true", help="the traced layer graph instead of the op table")
    p.add_argument("--output", "-o", metavar="PATH", help="write to a file instead of stdout")
    add_no_cache(p)


def graph_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    import pandas as pd

    from ..api import load, prepare
    from ..graph.lower import op_record

    wl = load(args.file)
    prep = prepare(wl, progress=con.progress, cache=cache_arg(args))  # shapes only: a cache entry has them
    if args.layers:
        records = prep.graph.to_records()
    else:
        records = [op_record(op) for op in prep.ops.ops()]
    if args.format == "json":
        level = "layers" if args.layers else "ops"
        text = json.dumps(
            {"model": wl.model.name, "level": level, "rows": records}, indent=1, default=json_default
        )
    elif args.layers:
        frame = pd.DataFrame(records)
        for col in frame.columns:
            if frame[col].map(lambda v: isinstance(v, list | tuple)).any():
                frame[col] = frame[col].map(
                    lambda v: "x".join(map(str, v)) if isinstance(v, list | tuple) else v
                )
        text = frame.to_csv(index=False)
    else:
        text = prep.ops_frame().to_csv(index=False)
    if args.output:
        from ..io import atomic_write_text

        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
