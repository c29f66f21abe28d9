"""A persistent cache of built-in models' front ends (what `sparsesim run` needs before it simulates).

Building and tracing a zoo model needs torch, whose import alone takes about 2 s; the simulation then reads
only the traced graph's structure, the pruning decisions and densities, and the lowered ops. So `run` keeps
those in the user's cache folder (sparsesim.cache: `$SPARSESIM_CACHE/front_end`, else
~/.cache/sparsesim/front_end), one file per key, and a later run with the same key loads them without
importing torch.

The key is a hash of everything the front end depends on: the workload's `model` section (name, seed, sizes,
kwargs), its effective `sparsity` section (dense for the dense baseline), the lowering's mode, batch and
optimizer, sparsesim's version and the source of the modules that build, trace, prune and lower (models/,
graph/, sparsity/, pipeline.py, spec.py and this file), the Python version and the torch, numpy and networkx
versions. Only built-in models without a checkpoint are cached: a user's module or ONNX file may change (or
import other files) without the key seeing it, so those always run fresh.

What is stored is the front end without the weights' values and masks (`Prepared` with `graph.weights` and
`prune.weights` as shapes only, and each layer's masks dropped). A loaded entry is complete all the same:
reading a weight's values or a mask (`graph.weights[name]`, `layer.ff_mask`, ...) builds the front end
fresh once and hands out its arrays, so a reader never sees a value the fresh build would not have given.

Disable it with `sparsesim run --no-cache`, `sparsesim.run(..., cache=False)` or the environment variable
`SPARSESIM_NO_CACHE=1`: then nothing is read from or written to the cache folder. Entries are written
atomically (sparsesim.io.atomic_write_bytes); an unreadable entry counts as a miss and is rewritten; the
folder keeps the `MAX_ENTRIES` most recently used entries.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cache import cache_dir, sources_digest
from .graph.weights import Weights

if TYPE_CHECKING:
    from .pipeline import Prepared
    from .sparsity import LayerPrune, PruneResult
    from .spec import SparsitySpec, Workload

DISABLE_ENV = "SPARSESIM_NO_CACHE"  # set to anything but "" or "0": no front-end cache
KIND = "front_end"  # the cache subfolder (sparsesim.cache)
# Bump when what is stored changes shape in a way the source hash would not see (it sees every module that
# builds the stored objects, so this is a belt for the pickled layout alone).
FORMAT_VERSION = 1
# Our choice: a ResNet-50 entry is about 140 kB, so 256 entries stay well under 100 MB while holding every
# workload and sweep point a user runs in a while.
MAX_ENTRIES = 256
# The modules whose code decides what the front end builds (relative to the package).
_SOURCES = ("models", "graph", "sparsity", "pipeline.py", "spec.py", "front_cache.py")
_PACKAGE = Path(__file__).resolve().parent


def enabled(cache: bool | None = None) -> bool:
    """`cache` if given, else on unless $SPARSESIM_NO_CACHE is set (to anything but "" or "0")."""
    if cache is not None:
        return cache
    return os.environ.get(DISABLE_ENV, "") in ("", "0")


def cacheable(wl: Workload) -> bool:
    """Built-in models with seeded weights only (see the module docstring)."""
    return wl.model.source == "zoo" and wl.model.checkpoint is None


@functools.cache
def _sources_digest() -> str:
    return sources_digest(_PACKAGE, _SOURCES)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def key(wl: Workload, sparsity: SparsitySpec, lowering: dict[str, Any]) -> str:
    """The hash naming `wl`'s front end with `sparsity` (the effective spec) lowered with `lowering`
    (sparsesim.pipeline.lowering_args)."""
    import networkx

    from . import __version__

    parts = {
        "format": FORMAT_VERSION,
        "sparsesim": __version__,
        "sources": _sources_digest(),
        "python": list(sys.version_info[:2]),
        "packages": {"torch": _version("torch"), "numpy": np.__version__, "networkx": networkx.__version__},
        "model": wl.model.model_dump(mode="json"),
        "sparsity": sparsity.model_dump(mode="json"),
        "lowering": lowering,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def entry_path(entry_key: str) -> Path:
    return cache_dir(KIND) / f"{entry_key}.pickle"


# ------------------------------------------------------------------------------------------------ store
def _shapes(weights: Weights) -> dict[str, tuple[tuple[int, ...], str]]:
    return {name: (tuple(arr.shape), arr.dtype.str) for name, arr in weights.items_pending()}


def dumps(prepared: Prepared) -> bytes:
    """The stored form of a front end: its graph, pruning and ops without weight values or masks."""
    from dataclasses import replace

    graph, prune = prepared.graph, prepared.prune
    stripped_layers = [replace(layer, masks=(None, None)) for layer in prune.layers]
    graph_weights = graph.weights
    graph.weights = Weights({})  # pickling a Weights draws its values (Weights.__reduce__): leave them out
    try:
        return pickle.dumps(
            {
                "graph": graph,
                "graph_weights": _shapes(graph_weights),
                "layers": stripped_layers,
                "prune_weights": _shapes(prune.weights) if isinstance(prune.weights, Weights) else {},
                "ops": prepared.ops,
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    finally:
        graph.weights = graph_weights


def store(entry_key: str, prepared: Prepared) -> None:
    """Write the entry atomically; a cache folder that cannot be written is left alone (the run goes on)."""
    from .io import atomic_write_bytes

    path = entry_path(entry_key)
    try:
        atomic_write_bytes(path, dumps(prepared))
        _trim(path.parent)
    except OSError:
        return


def _trim(folder: Path) -> None:
    """Keep the MAX_ENTRIES most recently used entries (a hit refreshes an entry's time)."""
    entries = list(folder.glob("*.pickle"))
    if len(entries) <= MAX_ENTRIES:
        return
    by_age = sorted(entries, key=lambda p: p.stat().st_mtime)
    for old in by_age[: len(entries) - MAX_ENTRIES]:
        old.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------- load
class _Fresh:
    """The front end built fresh, once, when a loaded entry is asked for values it does not hold."""

    def __init__(self, build: Callable[[], Prepared]) -> None:
        self._build = build
        self._prepared: Prepared | None = None

    def __call__(self) -> Prepared:
        if self._prepared is None:
            self._prepared = self._build()
        return self._prepared


def _lazy_weights(shapes: dict[str, tuple[tuple[int, ...], str]], source: Callable[[], Weights]) -> Weights:
    """Weights whose arrays have the right shapes and dtypes (no memory: one broadcast zero each) until
    something reads a value; then every array is the fresh build's (Weights: pending values)."""
    arrays = {
        name: np.broadcast_to(np.zeros((), dtype=dtype), shape) for name, (shape, dtype) in shapes.items()
    }

    def fill() -> None:
        fresh = source()
        fresh.ready()
        arrays.update({name: fresh.peek(name) for name in fresh})

    return Weights(arrays, fill)


def _fresh_masks(fresh: _Fresh, name: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    layer = fresh().prune.by_name(name)
    return layer.ff_mask, layer.bp_mask


def loads(data: bytes, wl: Workload, build: Callable[[], Prepared]) -> Prepared:
    """A stored front end as a Prepared for `wl`; `build()` makes the fresh one values are taken from."""
    from .pipeline import Prepared
    from .sparsity import PruneResult

    payload = pickle.loads(data)
    fresh = _Fresh(build)
    graph = payload["graph"]
    graph.weights = _lazy_weights(payload["graph_weights"], lambda: fresh().graph.weights)
    layers: list[LayerPrune] = payload["layers"]
    for layer in layers:
        layer.masks = functools.partial(_fresh_masks, fresh, layer.name)
    prune_weights = payload["prune_weights"]
    weights = _lazy_weights(prune_weights, lambda: _as_weights(fresh().prune)) if prune_weights else {}
    prune = PruneResult(layers=layers, weights=weights)
    return Prepared(workload=wl, graph=graph, prune=prune, ops=payload["ops"])


def _as_weights(prune: PruneResult) -> Weights:
    w = prune.weights
    return w if isinstance(w, Weights) else Weights(dict(w))


def load(entry_key: str, wl: Workload, build: Callable[[], Prepared]) -> Prepared | None:
    """The stored front end, or None (no entry, or one that cannot be read: it is rewritten after the
    fresh build)."""
    path = entry_path(entry_key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    t = time.perf_counter()
    try:
        prepared = loads(data, wl, build)
    except Exception:  # a truncated or foreign file: a miss, never an error
        return None
    prepared.wall_seconds["cache"] = time.perf_counter() - t
    try:
        os.utime(path)  # most recently used (_trim)
    except OSError:
        pass
    return prepared
