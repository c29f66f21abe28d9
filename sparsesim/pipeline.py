"""From a Workload to the pruned LayerGraph and the lowered OpGraph (what every target consumes).

workload -> load model -> trace (torch.fx or ONNX) -> LayerGraph
         -> masks on the real weights (sparsity.prune_layers) -> OpGraph (lower)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .graph.layergraph import LayerGraph
from .graph.lower import OpGraph, layer_sparsity_from_prune, lower
from .spec import Workload

if TYPE_CHECKING:
    import pandas as pd

    from .sparsity import PruneResult, WeightLayer
    from .spec import SparsitySpec

# progress(message) reports a step; progress(message, done=i, total=n) a step made of n parts (a bar on a
# terminal: sparsesim.cli.Console). Callers pass None for silence.
Progress = Callable[..., None]


def _silent(*_args: object, **_kwargs: object) -> None:
    return None


@dataclass
class Prepared:
    workload: Workload
    graph: LayerGraph
    prune: PruneResult
    ops: OpGraph
    wall_seconds: dict[str, float] = field(default_factory=dict)

    def ops_frame(self) -> pd.DataFrame:
        """The lowered ops as a table (what `sparsesim graph` writes as CSV)."""
        from .graph.lower import ops_frame

        return ops_frame(self.ops.ops())


def build_layer_graph(wl: Workload, *, defer_weights: bool = False) -> LayerGraph:
    """Load the workload's model and trace it (batch 1). `defer_weights`: a zoo model's seeded weights are
    drawn when first read through `graph.weights` (graph.layergraph.Weights), not now."""
    if wl.model.source == "scalesim":
        from .scalesim import layer_graph, read_topology

        return layer_graph(read_topology(wl.base_dir / wl.model.name), seed=wl.model.seed)
    import contextlib

    from .models import load_model
    from .models._init import deferred_init

    with deferred_init() if defer_weights else contextlib.nullcontext():
        loaded = load_model(wl.model, wl.base_dir)
    if loaded.source == "onnx":
        from .graph.onnx_import import trace_onnx

        assert loaded.onnx_path is not None  # load_model sets it for ONNX models
        return trace_onnx(loaded.onnx_path, name=loaded.name)
    from .graph.trace import trace_module

    assert loaded.module is not None  # load_model sets it for torch models
    return trace_module(loaded.module, loaded.example_input, name=loaded.name)


def weight_layers(graph: LayerGraph, *, peek: bool = False) -> list[WeightLayer]:
    """The graph's conv/linear layers as sparsity.WeightLayer, with channel consumers for rearrangement.
    `peek`: the weights as they are, values possibly still pending (for prune_layers with
    `ready=graph.weights.ready`); else drawn first."""
    from .sparsity import WeightLayer

    layers = []
    for name in graph.weight_layers():
        d = graph.nodes[name]
        consumers, spatial, through = graph.channel_consumers(name)
        layers.append(
            WeightLayer(
                name=name,
                kind=d["kind"],
                weight=graph.weights.peek(name) if peek else graph.weights[name],
                groups=int(d.get("groups", 1)),
                consumers=consumers,
                consumer_spatial=spatial,
                through=through,
            )
        )
    return layers


def lowering_args(wl: Workload) -> dict[str, Any]:
    """The task's settings `lower` takes (the front-end cache keys on them too)."""
    return {
        "mode": wl.task.mode or "train",
        "batch": int(wl.task.batch_size or 1),
        "optimizer": wl.task.optimizer.kind,
    }


def prepare(
    wl: Workload, *, progress: Progress | None = None, dense: bool = False, cache: bool | None = False
) -> Prepared:
    """Run the front end. `dense=True` ignores the workload's sparsity (the dense baseline). `cache`: use the
    front-end cache for built-in models (sparsesim.front_cache; None: unless $SPARSESIM_NO_CACHE is set)."""
    from . import front_cache
    from .spec import SparsitySpec

    spec = SparsitySpec(pattern="dense") if dense else wl.sparsity
    if not (front_cache.enabled(cache) and front_cache.cacheable(wl)):
        return _prepare(wl, spec, progress)
    say = progress or _silent
    key = front_cache.key(wl, spec, lowering_args(wl))
    hit = front_cache.load(key, wl, lambda: _prepare(wl, spec, None))
    if hit is not None:
        say(f"front end of {wl.model.name} from the cache")
        return hit
    prepared = _prepare(wl, spec, progress)
    front_cache.store(key, prepared)
    return prepared


def _prepare(wl: Workload, spec: SparsitySpec, progress: Progress | None) -> Prepared:
    from .sparsity import prune_layers

    say = progress or _silent
    wall: dict[str, float] = {}
    t = time.perf_counter()
    say(f"building and tracing {wl.model.name}")
    # The weights' values are drawn when something reads them: N:M masks are computed when first read,
    # so a simulation needs their shapes only (sparsity.prune_layers, `ready`).
    graph = build_layer_graph(wl, defer_weights=True)
    wall["trace"] = time.perf_counter() - t

    t = time.perf_counter()
    say(f"pruning {len(graph.weight_layers())} weight layers ({spec.pattern})")
    pending = graph.weights.pending
    layers = weight_layers(graph, peek=pending)
    pruned = prune_layers(
        layers, spec, progress=lambda i: say(f"pruning ({spec.pattern})", done=i, total=len(layers)),
        ready=graph.weights.ready if pending else None,
    )  # fmt: skip
    wall["prune"] = time.perf_counter() - t

    t = time.perf_counter()
    args = lowering_args(wl)
    say(f"lowering for {args['mode']}, batch {wl.task.batch_size}")
    ops = lower(graph, sparsity=layer_sparsity_from_prune(pruned.layers), **args)
    wall["lower"] = time.perf_counter() - t
    return Prepared(workload=wl, graph=graph, prune=pruned, ops=ops, wall_seconds=wall)
