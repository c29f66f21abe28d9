"""`sparsesim search`: the optimiser loop, parallel trials on Dask, the trial cache, the outputs.

The optimiser is Optuna: NSGA-II (multi-objective, constraints as in Deb's constrained domination) seeded by
the search file; when the space has no more points than `trials`, every point is enumerated instead (in a
fixed order; no optimiser needed). Trials are asked `batch` at a time, run in parallel (Dask workers, or
this process), and told back in
the order asked, so the same file gives the same trials whatever the worker count. Each trial's result is
cached on disk under the output folder by the hash of the base workload and the trial's parameters: a killed
search reruns to the same point without recomputing what finished. Before the optimiser, the preset baseline
(baseline.py) is found by trials of its own (stage `preset`), and the optimiser is seeded with its front and
the preset's neighbours.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SpecError, ToolError
from ..io import atomic_write_text, check_output_dir, claim_dir
from ..spec import Workload, load_workload
from . import baseline as baseline_mod
from .evaluate import ACC_PREFIX, LAYER_PREFIX, Evaluator
from .spec import OBJECTIVES, SearchSpec

Progress = Callable[..., None]
TRIALS_DIR = "trials"
MAX_PARALLEL_CALIBRATIONS = 16  # our choice: beyond this many configurations, calibrate only those visited
MAX_ACCELERATOR_POINTS = 100_000  # our choice: accelerator points listed to find the configurations (~1 s)
CACHE_VERSION = 2  # bump when a trial's record changes meaning

# objective -> the trial record's column
OBJECTIVE_COLUMNS = {"time_s": "time_s", "energy_j": "energy_j", "edp": "edp", "dsp": "dsp", "lut": "lut"}


@dataclass
class SearchOutcome:
    output: Path
    trials: pd.DataFrame
    pareto: pd.DataFrame
    exhaustive: bool
    space_size: int
    cached: int
    computed: int
    wall_seconds: float
    evaluator: Evaluator | None = None
    baseline: dict[str, Any] = field(default_factory=dict)  # the preset on the same constraints (baseline.py)
    files: list[Path] = field(default_factory=list)


# ----------------------------------------------------------------------------------------- the space
def distributions(spec: SearchSpec, searched_layers: list[str]) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution

    dists: dict[str, Any] = {}
    for name, values in spec.space.accelerator.items():
        dists[ACC_PREFIX + name] = CategoricalDistribution(values)
    if spec.space.sparsity is not None:
        for layer in searched_layers:
            dists[LAYER_PREFIX + layer] = CategoricalDistribution(spec.space.sparsity.choices)
    return dists


def space_size(dists: dict[str, Any]) -> int:
    return math.prod(len(d.choices) for d in dists.values())


def trial_key(base_hash: str, params: dict[str, Any]) -> str:
    payload = json.dumps({"v": CACHE_VERSION, "base": base_hash, "params": params}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@dataclass
class _Fixed:
    """A trial of the exhaustive enumeration (the shape of an Optuna trial the loop reads)."""

    number: int
    params: dict[str, Any]


def _grid(dists: dict[str, Any]):
    """Every point of the space, in a fixed order (the last parameter varies fastest)."""
    import itertools

    names = list(dists)
    for values in itertools.product(*(dists[n].choices for n in names)):
        yield dict(zip(names, values))


# --------------------------------------------------------------------------------- trials in workers
_EVALUATORS: dict[str, Evaluator] = {}


def _evaluator(spec_json: str, base_yaml_path: str) -> Evaluator:
    """One Evaluator per search per process (a Dask worker traces and prunes once, then runs many trials)."""
    key = hashlib.sha256((spec_json + base_yaml_path).encode()).hexdigest()
    if key not in _EVALUATORS:
        spec = SearchSpec.model_validate_json(spec_json)
        _EVALUATORS.clear()  # one search at a time per process
        _EVALUATORS[key] = Evaluator(spec, load_workload(base_yaml_path))
    return _EVALUATORS[key]


def run_trial(spec_json: str, base_path: str, params: dict[str, Any]) -> dict[str, Any]:
    """A Dask task: simulate one trial; returns {'status': 'ok', 'summary': {...}} or the error."""
    try:
        ev = _evaluator(spec_json, base_path)
        t0 = time.perf_counter()
        summary = ev.run(params)
        return {"status": "ok", "summary": _plain(summary), "trial_seconds": time.perf_counter() - t0}
    except SpecError as exc:  # a combination the spec or the array refuses (e.g. an N:M over max_m)
        return {"status": "invalid", "error": str(exc)}


def _plain(summary: dict[str, Any]) -> dict[str, Any]:
    from ..results import jsonable

    return json.loads(json.dumps(jsonable(summary)))


# ---------------------------------------------------------------------------------------- the search
def run_search(
    spec: SearchSpec,
    base_dir: Path,
    *,
    output: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    resource_model: Any = None,
    progress: Progress | None = None,
) -> SearchOutcome:
    """Run the search `spec` (paths relative to `base_dir`); see the module docstring."""
    import optuna

    t0 = time.perf_counter()
    say = progress or (lambda *_a, **_k: None)
    base_path = (base_dir / spec.workload).resolve()
    base = load_workload(base_path)
    if base.target != "sat":
        raise SpecError(
            f"workload: {spec.workload} targets {base.target}; the search explores the sat accelerator"
        )
    if spec.space.sparsity is not None and base.sparsity.pattern not in ("nm", "bdwp"):
        raise SpecError(
            f"space.sparsity: the base workload's pattern is {base.sparsity.pattern}; per-layer N:M choices "
            "need a base workload with pattern nm or bdwp"
        )
    out = Path(output or spec.output or Path("reports") / str(spec.name))
    check_output_dir(out)
    say(f"tracing {base.model.name} and pruning each searched layer once per choice")
    ev = Evaluator(spec, base)
    dists = distributions(spec, ev.searched)
    size = space_size(dists)
    exhaustive = size <= spec.trials
    n_trials = min(size, spec.trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = None
    if not exhaustive:
        sampler = optuna.samplers.NSGAIISampler(
            seed=spec.seed,
            population_size=max(spec.batch, 8),
        )
        study = optuna.create_study(directions=["minimize"] * len(spec.objectives), sampler=sampler)
    grid = _grid(dists) if exhaustive else None
    claim_dir(out)
    cache = out / TRIALS_DIR
    cache.mkdir(parents=True, exist_ok=True)
    base_hash = base.spec_hash() + hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:8]
    spec_json = spec.model_dump_json()
    say(
        f"{size:,} points in the space: "
        + (
            f"exhaustive enumeration of all {size:,}"
            if exhaustive
            else f"NSGA-II, {n_trials} trials (seed {spec.seed})"
        )
    )

    records: list[dict[str, Any]] = []
    counts = {"cached": 0, "computed": 0}
    pool = _Pool(workers, scheduler)

    def evaluate(params_list: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
        """Records of `params_list` (from the cache or simulated on the pool), in order, appended to
        `records` with their trial number and stage."""
        keys = [trial_key(base_hash, p) for p in params_list]
        results: dict[int, dict[str, Any]] = {}
        todo = []
        for i, key in enumerate(keys):
            hit = None if fresh else _read(cache, key)
            if hit is not None:
                results[i] = hit
                counts["cached"] += 1
            else:
                todo.append(i)
        for i, res in zip(todo, pool.map(spec_json, str(base_path), [params_list[i] for i in todo])):
            record = _record(spec, ev, resource_model, params_list[i], res, keys[i])
            if record["status"] in ("ok", "invalid"):
                _write(cache, keys[i], record)
            results[i] = record
            counts["computed"] += 1
        out = []
        for i in range(len(params_list)):
            rec = dict(results[i], trial=len(records), stage=stage)
            records.append(rec)
            out.append(rec)
        return out

    try:
        if resource_model is not None:
            _calibrate(spec, ev, dists, resource_model, pool, say)
        say(f"the preset hardware on the same constraints ({baseline_mod.METHOD})")
        preset_acc = baseline_mod.preset_accelerator(spec, ev)
        allowed = baseline_mod.allowed_choices(spec, ev, preset_acc)
        first = baseline_mod.start(ev, preset_acc, allowed)
        (first_rec,) = evaluate([first], "preset")
        moves = baseline_mod.single_moves(first, allowed)
        move_recs = evaluate(moves, "preset")
        say(f"preset: {len(moves) + 1} trials (the start and its single-layer moves)")
        optima = baseline_mod.knapsack_assignments(spec, ev, first, first_rec, moves, move_recs)
        evaluate(optima, "preset")
        baseline = baseline_mod.summarise(spec, records, preset_acc)
        say(f"preset baseline: {_baseline_text(spec, baseline)}")
        n_preset = len(records)
        if study is not None:
            seeds = [r["params"] for r in baseline["front"]]
            for point in list(seeds):
                seeds += baseline_mod.neighbours(spec, preset_acc, point)
            seen = set()
            for p in seeds:
                frozen = json.dumps(p, sort_keys=True)
                if baseline_mod.in_space(p, dists) and frozen not in seen:
                    seen.add(frozen)
                    study.enqueue_trial(p, skip_if_exists=False)
        while len(records) - n_preset < n_trials:
            n = min(spec.batch, n_trials - (len(records) - n_preset))
            asked: list[Any]  # _Fixed (enumeration) or optuna.trial.Trial
            if grid is not None:
                asked = [_Fixed(len(records) + i, next(grid)) for i in range(n)]
            else:
                assert study is not None
                asked = [study.ask(dists) for _ in range(n)]
            done = evaluate([dict(t.params) for t in asked], "search")
            for trial, rec in zip(asked, done):
                if study is not None:
                    if rec["status"] == "ok":
                        for name, value in rec["constraints"].items():
                            trial.set_constraint(name, value)  # <= 0 feasible (constrained domination)
                        study.tell(trial, [float(rec[OBJECTIVE_COLUMNS[o]]) for o in spec.objectives])
                    else:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
            say(
                f"{spec.name}: trials ({_best_text(spec, records)})",
                done=len(records) - n_preset, total=n_trials,
            )  # fmt: skip
    finally:
        pool.close()
    table = trials_table(spec, records)
    pareto = pareto_front(spec, table)
    return SearchOutcome(
        out, table, pareto, exhaustive, size, counts["cached"], counts["computed"], time.perf_counter() - t0,
        evaluator=ev, baseline=baseline,
    )  # fmt: skip


def _record(
    spec: SearchSpec, ev: Evaluator, model: Any, params: dict[str, Any], res: dict[str, Any], key: str
) -> dict[str, Any]:
    """A trial's row: parameters, metrics, resources and constraint values (> 0 violated)."""
    rec: dict[str, Any] = {"key": key, "params": params, "status": res["status"]}
    if res["status"] != "ok":
        rec["error"] = res.get("error", "")
        return rec
    s = res["summary"]
    rec["trial_seconds"] = res.get("trial_seconds", 0.0)
    time_s = float(s["seconds_simulated"])
    energy = float(s.get("energy_j", float("nan")))
    rec.update(
        total_cycles=int(s["total_cycles"]), time_s=time_s, energy_j=energy, edp=energy * time_s,
        avg_power_w=float(s.get("avg_power_w", float("nan"))), speedup=float(s.get("speedup", float("nan"))),
        static_energy_j=float(s.get("static_energy_j", float("nan"))), clock_mhz=float(s["clock_mhz"]),
        utilisation=float(s.get("utilisation", float("nan"))),
    )  # fmt: skip
    overall, least = ev.retained(params)
    rec["retained_magnitude"], rec["least_layer_retained"] = overall, least
    c = spec.constraints
    violations: dict[str, float] = {"nm_unsupported": float(len(s.get("nm_unsupported", [])))}
    if c.retained_magnitude is not None:
        violations["retained_magnitude"] = c.retained_magnitude - overall
    if c.layer_retained_magnitude is not None:
        violations["layer_retained_magnitude"] = c.layer_retained_magnitude - least
    if c.power_w is not None:
        violations["power_w"] = rec["avg_power_w"] - c.power_w
    if c.energy_j is not None:
        violations["energy_j"] = energy - c.energy_j
    if needs_resource_model(spec):
        if model is None:
            raise ToolError(
                "the search needs the resource model (Yosys) for its board constraint, resource caps or "
                "resource objective"
            )
        from .resources import violations as hardware_violations

        est = model.estimate(s["arch"])
        rec.update({r: est["resources"][r] for r in est["resources"]})
        rec.update({f"{r}_percent": p for r, p in est["percent"].items()})
        depth = est["depth"]
        rec["logic_levels"], rec["logic_level_limit"] = depth["worst"], depth["limit"]
        violations.update(
            hardware_violations(
                est["resources"], est["percent"], c, worst_levels=depth["worst"], clock_mhz=depth["clock_mhz"]
            )
        )
    rec["constraints"] = {k: float(v) for k, v in violations.items()}
    rec["feasible"] = all(v <= 0 for v in violations.values())
    rec["violated"] = ", ".join(k for k, v in rec["constraints"].items() if v > 0)
    return rec


def needs_resource_model(spec: SearchSpec) -> bool:
    """The board constraint, resource caps or a resource objective need the (Yosys) resource model."""
    c = spec.constraints
    return c.board is not None or bool(c.resources) or bool({"dsp", "lut"} & set(spec.objectives))


def _calibrate(
    spec: SearchSpec, ev: Evaluator, dists: dict[str, Any], model: Any, pool: _Pool, say: Any
) -> None:
    """The resource model's calibration of every cell configuration the space holds, before the first trial:
    the cells, then every calibration run, spread over the workers (Yosys runs are the slowest part of a
    fresh search; each is cached on disk, so a warm search only converts and looks them up)."""
    import itertools

    from ..sat.arch import resolve
    from ..spec import AcceleratorSpec
    from .resources import rest_key

    base = ev.base.accelerator.model_dump(mode="json")
    axes = {k: d.choices for k, d in dists.items() if k.startswith(ACC_PREFIX)}
    if math.prod(len(v) for v in axes.values()) > MAX_ACCELERATOR_POINTS:
        return  # too many to list: calibrate lazily, trial by trial
    configs: dict[tuple, dict[str, Any]] = {}
    for values in itertools.product(*axes.values()):
        acc = base | {k[len(ACC_PREFIX) :]: v for k, v in zip(axes, values)}
        try:
            arch = resolve(AcceleratorSpec.model_validate(acc)).to_dict()
        except (SpecError, ValueError):
            continue  # the trial itself reports it
        configs.setdefault(rest_key(arch), arch)
        if len(configs) > MAX_PARALLEL_CALIBRATIONS:
            return  # a space this varied calibrates lazily, trial by trial
    todo = [acc for acc in configs.values() if not model.has(acc)]
    if not todo:
        return
    from .resources import CALIBRATION, calibration_point, cell_only

    work = str(model.workdir)
    say(f"resource model: {len(todo)} cell configurations, their cells synthesised in parallel (Yosys)")
    pool.call(cell_only, [(work, acc) for acc in todo])
    runs = [(work, acc, r, c) for acc in todo for r, c in CALIBRATION]
    say(f"resource model: {len(runs)} calibration runs in parallel (Yosys)")
    points = pool.call(calibration_point, runs)
    for i, acc in enumerate(todo):
        model.adopt(acc, points[i * len(CALIBRATION) : (i + 1) * len(CALIBRATION)])


def _baseline_text(spec: SearchSpec, baseline: dict[str, Any]) -> str:
    if not baseline["best"]:
        return "no preset trial meets the constraints (violated: " + ", ".join(baseline["violated"]) + ")"
    return ", ".join(f"best {o} {v:.4g}" for o, v in baseline["best"].items())


def _best_text(spec: SearchSpec, records: list[dict[str, Any]]) -> str:
    ok = [r for r in records if r["status"] == "ok" and r.get("feasible")]
    if not ok:
        return "no feasible trial yet"
    first = spec.objectives[0]
    best = min(ok, key=lambda r: r[OBJECTIVE_COLUMNS[first]])
    return f"best {first} {best[OBJECTIVE_COLUMNS[first]]:.4g}"


def _read(cache: Path, key: str) -> dict[str, Any] | None:
    path = cache / f"{key}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write(cache: Path, key: str, record: dict[str, Any]) -> None:
    atomic_write_text(cache / f"{key}.json", json.dumps(record, sort_keys=True))


# --------------------------------------------------------------------------------------------- tables
def trials_table(spec: SearchSpec, records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for rec in records:
        row = {"trial": rec["trial"], "status": rec["status"], "feasible": rec.get("feasible", False)}
        row.update({k: v for k, v in rec["params"].items()})
        for k, v in rec.items():
            if k not in ("params", "constraints", "trial", "status", "feasible"):
                row[k] = v
        for k, v in (rec.get("constraints") or {}).items():
            row[f"violation_{k}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_front(spec: SearchSpec, table: pd.DataFrame) -> pd.DataFrame:
    """The feasible, non-dominated trials on the objectives (first objective ascending); duplicates of one
    parameter set once."""
    if table.empty or "feasible" not in table:
        return table.iloc[0:0]
    ok = table[(table["status"] == "ok") & table["feasible"].astype(bool)].drop_duplicates(subset="key")
    if ok.empty:
        return ok.reset_index(drop=True)
    cols = [OBJECTIVE_COLUMNS[o] for o in spec.objectives]
    values = ok[cols].to_numpy(dtype=float)
    keep = np.array(
        [not ((values <= v).all(axis=1) & (values < v).any(axis=1)).any() for v in values], dtype=bool
    )
    return ok.loc[keep].sort_values(cols[0]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------ execution
class _Pool:
    """Trials in this process (workers=0) or on Dask (a local cluster of `workers`, or `scheduler`)."""

    def __init__(self, workers: int | None, scheduler: str | None):
        self.client: Any = None
        self.cluster: Any = None
        self.workers, self.scheduler = workers, scheduler

    def _start(self) -> None:
        from ..sweep.execution import SCHEDULER_TIMEOUT_SECONDS, check_scheduler_address, local_cluster

        try:
            from distributed import Client
        except ImportError:
            raise ToolError(
                "searches run trials on Dask, which is not installed: pip install 'sparsesim[sweep]' "
                "(or pass --workers 0)"
            ) from None
        if self.scheduler:
            from ..sweep.execution import _probe_scheduler

            address = check_scheduler_address(self.scheduler)
            _probe_scheduler(address)
            self.client = Client(address, timeout=SCHEDULER_TIMEOUT_SECONDS)
        else:
            self.cluster = local_cluster(self.workers)  # the sweeps' cluster
            self.client = Client(self.cluster)

    def map(self, spec_json: str, base_path: str, params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not params:
            return []
        if self.workers == 0 and not self.scheduler:
            return [run_trial(spec_json, base_path, p) for p in params]
        if self.client is None:
            self._start()
        futures = [self.client.submit(run_trial, spec_json, base_path, p, pure=False) for p in params]
        return self.client.gather(futures)

    def call(self, fn: Callable[..., Any], args: list[tuple]) -> list[Any]:
        """fn(*a) for each a, on the workers (in this process with workers=0)."""
        if self.workers == 0 and not self.scheduler:
            return [fn(*a) for a in args]
        if self.client is None:
            self._start()
        return self.client.gather([self.client.submit(fn, *a, pure=False) for a in args])

    def close(self) -> None:
        if self.client is not None:
            from ..sweep.execution import _quietly_close

            _quietly_close(self.client, self.cluster)


def objective_help() -> str:
    return "; ".join(f"{k}: {v}" for k, v in OBJECTIVES.items())


def base_workload(spec: SearchSpec, base_dir: Path) -> Workload:
    return load_workload((base_dir / spec.workload).resolve())
