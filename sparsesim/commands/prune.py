"""`sparsesim prune FILE`: the masks on the model's real weights, as a per-layer table; `--save DIR` writes
them (masks.npz) with the layer records, the traced graph and the lowered op table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import AddCommand, ConsoleLike, json_default, print_json, table

if TYPE_CHECKING:
    import networkx as nx

    from ..pipeline import Prepared

PRUNE_COLUMNS = [
    "layer",
    "kind",
    "shape",
    "pattern",
    "ff_density",
    "bp_density",
    "metadata_bytes",
    "dense_reason",
]


def register(add: AddCommand) -> None:
    p = add("prune", prune_command, "compute the masks on the model's weights and print a per-layer table")
    p.add_argument("file", help="the workload.yaml (its model and sparsity sections)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--save", metavar="DIR", help="write masks.npz, layers.json, layergraph.json, ops.csv")


def prune_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..api import load, prepare

    wl = load(args.file)
    if args.save:
        from ..io import check_output_dir

        check_output_dir(args.save, "--save")  # before the masks are computed
    prep = prepare(wl, progress=con.progress)
    records = prep.prune.to_records()
    pruned = [r for r in records if r["pattern"] != "dense"]
    total_w = sum(r["params"] or 0 for r in records)
    kept_ff = sum((r["params"] or 0) * r["ff_density"] for r in records)
    summary = {
        "model": wl.model.name,
        "pattern": wl.sparsity.pattern,
        "weight_layers": len(records),
        "pruned_layers": len(pruned),
        "weights": total_w,
        "ff_density": kept_ff / total_w if total_w else 1.0,
        "metadata_bytes": sum(r["metadata_bytes"] for r in records),
    }
    if args.save:
        save_prune(Path(args.save), prep)
    if args.format == "json":
        print_json({"summary": summary, "layers": records})
    else:
        print(table(records, PRUNE_COLUMNS))
        print(
            f"\n{summary['pruned_layers']}/{summary['weight_layers']} layers pruned ({summary['pattern']}); "
            f"weights kept (FF): {summary['ff_density']:.4f}; metadata: {summary['metadata_bytes']:,} bytes"
        )
        if args.save:
            print(f"masks and graph written to {args.save}")
    return 0


def save_prune(target: Path, prep: Prepared) -> None:
    """masks.npz, layers.json, layergraph.json (networkx node-link), ops.csv and workload.yaml in `target`."""
    import networkx as nx
    import numpy as np

    from ..io import atomic_dir

    with atomic_dir(target) as tmp:
        arrays: dict[str, np.ndarray] = {}
        for lp in prep.prune.layers:
            if lp.ff_mask is not None:
                arrays[f"{lp.name}/ff"] = lp.ff_mask
            if lp.bp_mask is not None:
                arrays[f"{lp.name}/bp"] = lp.bp_mask
            if lp.permutation is not None:
                arrays[f"{lp.name}/permutation"] = lp.permutation
        np.savez_compressed(tmp / "masks.npz", **cast("dict[str, Any]", arrays))  # numpy's stub: **kwds
        (tmp / "layers.json").write_text(
            json.dumps({"layers": prep.prune.to_records()}, indent=2, default=json_default)
        )
        data = nx.node_link_data(plain_graph(prep.graph), edges="edges")
        (tmp / "layergraph.json").write_text(json.dumps(data, indent=1, default=json_default))
        prep.ops_frame().to_csv(tmp / "ops.csv", index=False)
        (tmp / "workload.yaml").write_text(prep.workload.to_yaml())


def plain_graph(g: nx.DiGraph) -> nx.DiGraph:
    """A plain DiGraph copy (nodes with their data, edges) of a LayerGraph, for networkx's JSON writers."""
    import networkx as nx

    plain: nx.DiGraph = nx.DiGraph(**{k: v for k, v in g.graph.items()})
    plain.add_nodes_from(g.nodes(data=True))
    plain.add_edges_from(g.edges)
    return plain
