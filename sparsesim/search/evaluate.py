"""One trial of the search: a workload variant (accelerator choices + a per-layer N:M) simulated for real.

The front end runs once per search (per worker process), not per trial: the model is traced once, each
searched layer is pruned once per choice (masks on its real weights), and a trial composes its layers'
masks, lowers the graph and runs the same `run_workload` as `sparsesim run` on that front end. The search
re-runs its Pareto points through the ordinary path (`sparsesim run`'s) and checks the cycles agree.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..spec import SparsitySpec, Workload, workload_from_dict
from .spec import SearchSpec, parse_choice

if TYPE_CHECKING:
    from ..sat.schedule import MappingCache

DENSE_MEMO = 64  # our choice: dense baselines kept per process (a few MB each; searches visit tens of arrays)
LAYER_PREFIX = "nm:"  # parameter names of the per-layer choices: "nm:<layer name>"
ACC_PREFIX = "accelerator."


@dataclass(frozen=True)
class LayerChoice:
    prune: Any  # sparsity.LayerPrune
    retained: float  # sum |w| kept (FF mask) / sum |w|
    kept_abs: float  # sum |w| kept
    total_abs: float


def layer_params(names: list[str]) -> list[str]:
    return [LAYER_PREFIX + n for n in names]


class Evaluator:
    """Holds the traced graph and every (layer, choice) prune of one search; `run(params)` is one trial."""

    def __init__(self, spec: SearchSpec, base: Workload):
        from ..pipeline import build_layer_graph, weight_layers
        from ..sparsity import prune_layers

        self.spec, self.base = spec, base
        self.graph = build_layer_graph(base)
        layers = weight_layers(self.graph)
        base_prune = prune_layers(layers, base.sparsity)
        self.base_layers = {lp.name: lp for lp in base_prune.layers}
        self.weights = base_prune.weights
        self.order = [lp.name for lp in base_prune.layers]
        space = spec.space.sparsity
        self.searched: list[str] = []
        self.choices: dict[tuple[str, str], LayerChoice] = {}
        if space is not None:
            by_name = {layer.name: layer for layer in layers}
            for name in self.order:
                lp = self.base_layers[name]
                if lp.is_dense or not any(fnmatch.fnmatchcase(name, g) for g in space.layers):
                    continue  # kept dense by the base workload (first/last layer, exclude, too small)
                self.searched.append(name)
                # "dense" always: a trial's choice its array cannot run is simulated dense (see run)
                for choice in dict.fromkeys([*space.choices, "dense"]):
                    self.choices[(name, choice)] = self._prune_one(by_name[name], choice)
        self._dense: dict[str, Any] = {}
        self._dense_ops: Any = None
        # GEMM mappings per array across trials (one model): most of a trial's cost is the mapper's search
        self._gemms: dict[str, MappingCache] = {}
        self.fixed = {
            name: self._choice_of(self.base_layers[name]) for name in self.order if name not in self.searched
        }

    # ----------------------------------------------------------------------------------------- layers
    def _prune_one(self, layer: Any, choice: str) -> LayerChoice:
        from ..sparsity import prune_layers

        nm = parse_choice(choice)
        sp = self.base.sparsity
        if nm is None:
            rule = SparsitySpec(pattern="dense")
        else:
            rule = SparsitySpec(
                pattern=sp.pattern, n=nm[0], m=nm[1], variant=sp.variant,
                keep_first_dense=False, keep_last_dense=False,
            )  # fmt: skip
        (lp,) = prune_layers([layer], rule).layers
        return self._choice_of(lp)

    def _choice_of(self, lp: Any) -> LayerChoice:
        w = np.abs(np.asarray(self.weights[lp.name], dtype=np.float64))
        total = float(w.sum())
        kept = total if lp.ff_mask is None else float(w[np.asarray(lp.ff_mask, dtype=bool)].sum())
        return LayerChoice(lp, kept / total if total else 1.0, kept, total)

    def layer_choices(self, params: dict[str, Any]) -> dict[str, LayerChoice]:
        out = dict(self.fixed)
        for name in self.searched:
            out[name] = self.choices[(name, params[LAYER_PREFIX + name])]
        return {name: out[name] for name in self.order}

    def retained(self, params: dict[str, Any]) -> tuple[float, float]:
        """(overall, least over searched layers) retained weight magnitude of a trial."""
        chosen = self.layer_choices(params)
        kept = sum(c.kept_abs for c in chosen.values())
        total = sum(c.total_abs for c in chosen.values())
        least = min((chosen[n].retained for n in self.searched), default=1.0)
        return (kept / total if total else 1.0), least

    # --------------------------------------------------------------------------------------- workload
    def workload(self, params: dict[str, Any]) -> Workload:
        """The trial as a workload a user can run: accelerator fields set, one override per searched layer."""
        data = self.base.to_dict()
        acc = dict(data.get("accelerator") or {})
        for key, value in params.items():
            if key.startswith(ACC_PREFIX):
                acc[key[len(ACC_PREFIX) :]] = value
        data["accelerator"] = acc
        if self.searched:
            sp = dict(data["sparsity"])
            overrides = dict(sp.get("overrides") or {})
            for name in self.searched:
                nm = parse_choice(params[LAYER_PREFIX + name])
                glob = _literal_glob(name)
                overrides[glob] = (
                    {"pattern": "dense"} if nm is None else {"pattern": sp["pattern"], "n": nm[0], "m": nm[1]}
                )
            sp["overrides"] = overrides
            data["sparsity"] = sp
        data["name"] = self.base.resolved_name()
        return workload_from_dict(data, base_dir=Path(self.base.base_dir))

    def prepared(self, wl: Workload, params: dict[str, Any]) -> Any:
        """The trial's front end from the cached masks (what pipeline.prepare would build)."""
        from ..graph.lower import layer_sparsity_from_prune, lower
        from ..pipeline import Prepared, lowering_args
        from ..sparsity import PruneResult

        chosen = [c.prune for c in self.layer_choices(params).values()]
        ops = lower(self.graph, sparsity=layer_sparsity_from_prune(chosen), **lowering_args(wl))
        return Prepared(workload=wl, graph=self.graph, prune=PruneResult(chosen, self.weights), ops=ops)

    def unsupported(self, params: dict[str, Any]) -> list[str]:
        """Searched layers whose N:M choice the trial's array cannot run sparse (N > multipliers per PE, or
        M > max_m): a constraint the trial violates."""
        from ..sat.arch import resolve
        from ..spec import AcceleratorSpec

        acc = self.base.accelerator.model_dump(mode="json") | {
            k[len(ACC_PREFIX) :]: v for k, v in params.items() if k.startswith(ACC_PREFIX)
        }
        arch = resolve(AcceleratorSpec.model_validate(acc))
        return [
            name for name in self.searched
            if (nm := parse_choice(params[LAYER_PREFIX + name])) is not None and not arch.supports(nm)
        ]  # fmt: skip

    def dense_baseline(self, wl: Workload, prepared: Any) -> Any:
        """The dense baseline's simulation on `wl`'s array: it depends on the model and the array only, so
        trials with the same array share one (the last DENSE_MEMO arrays are kept)."""
        import json

        from ..sat.arch import resolve
        from ..sat.schedule import mapping_cache
        from ..sat.simulate import dense_opgraph, simulate_ops

        arch = resolve(wl.accelerator)
        key = json.dumps(arch.to_dict(), sort_keys=True, default=str)
        if key not in self._dense:
            if self._dense_ops is None:
                self._dense_ops = dense_opgraph(prepared)
            while len(self._dense) >= DENSE_MEMO:
                self._dense.pop(next(iter(self._dense)))
            self._dense[key] = simulate_ops(
                self._dense_ops, arch, graph=self.graph, mappings=mapping_cache(self._gemms, arch)
            )
        return self._dense[key]

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        """Simulate one trial; returns its summary (the same keys as `sparsesim run`'s) with
        `nm_unsupported`: the layers whose choice the array cannot run. Those are simulated dense, so the
        optimiser still gets the trial's cost, and the trial is infeasible (never on the front)."""
        from ..sat.simulate import run_workload

        bad = self.unsupported(params)
        params = {**params, **{LAYER_PREFIX + name: "dense" for name in bad}}
        wl = self.workload(params)
        prepared = self.prepared(wl, params)
        dense = self.dense_baseline(wl, prepared) if wl.sparsity.pattern != "dense" else None
        result = run_workload(wl, prepared=prepared, dense=dense, gemm_memo=self._gemms)
        return {**result.summary, "nm_unsupported": bad}


def _literal_glob(name: str) -> str:
    """A glob that matches exactly `name` (fnmatch metacharacters escaped as one-character classes)."""
    return "".join(f"[{ch}]" if ch in "*?[]" else ch for ch in name)
