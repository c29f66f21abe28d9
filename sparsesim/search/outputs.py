"""What a search leaves in its output folder, and the check of its best points through the ordinary path.

trials.csv            every trial: parameters, metrics, resources, constraint violations
pareto.csv            the feasible non-dominated trials, verified
pareto/<i>/workload.yaml  each Pareto point as a workload `sparsesim run` and `sparsesim fpga build` take
search.json           the search's summary (space, sampler, counts, the preset on the same constraints)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import atomic_write_text
from ..results import jsonable
from .evaluate import Evaluator
from .run import SearchOutcome
from .spec import SearchSpec


def verify_front(
    spec: SearchSpec,
    ev: Evaluator,
    outcome: SearchOutcome,
    *,
    model: Any = None,
    full_estimates: int = 0,
    progress: Any = None,
) -> pd.DataFrame:
    """Re-simulate every Pareto point through `sparsesim run`'s path (tracing and pruning from scratch) and,
    for the first `full_estimates` points, recompute the resources by a full hierarchical Yosys estimate.
    Adds `verified_total_cycles`, `verified_energy_j` and `full_lut`/`full_dsp` columns."""
    from ..sat.simulate import run_workload

    say = progress or (lambda *_a, **_k: None)
    front = outcome.pareto.copy()
    cycles: list[int] = []
    energy: list[float] = []
    full: list[dict[str, Any] | None] = []
    for i, row in enumerate(front.to_dict("records")):
        params = {k: row[k] for k in _param_columns(front)}
        say(f"verifying Pareto point {i + 1} of {len(front)} through the ordinary run path")
        wl = ev.workload(params)
        result = run_workload(wl)
        cycles.append(int(result.summary["total_cycles"]))
        energy.append(float(result.summary.get("energy_j", float("nan"))))
        if model is not None and i < full_estimates:
            say(f"full Yosys estimate of Pareto point {i + 1}")
            from ..fpga.estimate import estimate_hierarchical, find_yosys
            from ..fpga.params import board_params

            est = estimate_hierarchical(
                board_params(dict(result.summary["arch"])),
                Path(model.workdir) / f"front-{i}",
                tool=find_yosys(),
            )
            full.append(est.resources)
        else:
            full.append(None)
    front["verified_total_cycles"] = cycles
    front["verified_energy_j"] = energy
    for r in ("lut", "dsp"):
        front[f"full_{r}"] = [f[r] if f else float("nan") for f in full]
    return front


def _param_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("accelerator.") or c.startswith("nm:")]


def write_outputs(
    spec: SearchSpec, ev: Evaluator, outcome: SearchOutcome, front: pd.DataFrame, extra: dict[str, Any]
) -> list[Path]:
    out = outcome.output
    files = []
    trials_csv = out / "trials.csv"
    atomic_write_text(trials_csv, outcome.trials.to_csv(index=False))
    files.append(trials_csv)
    pareto_csv = out / "pareto.csv"
    atomic_write_text(pareto_csv, front.to_csv(index=False))
    files.append(pareto_csv)
    for i, row in enumerate(front.to_dict("records")):
        params = {k: row[k] for k in _param_columns(front)}
        wl = ev.workload(params)
        data = wl.to_dict()
        data["name"] = f"{spec.name}-pareto-{i}"
        if wl.model.source == "onnx":
            data["model"] = {**data["model"], "name": str((Path(wl.base_dir) / wl.model.name).resolve())}
        folder = out / "pareto" / str(i)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "workload.yaml"
        import yaml

        header = (
            f"# Pareto point {i} of search {spec.name}: "
            + ", ".join(f"{o} {row[o]:.4g}" for o in spec.objectives if o in row)
            + "\n"
        )
        atomic_write_text(
            path, header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110)
        )
        files.append(path)
    summary = {
        "name": spec.name,
        "space_size": outcome.space_size,
        "sampler": "exhaustive enumeration" if outcome.exhaustive else f"NSGA-II (seed {spec.seed})",
        "trials": len(outcome.trials),
        "cached_trials": outcome.cached,
        "computed_trials": outcome.computed,
        "feasible_trials": int(outcome.trials["feasible"].sum()) if "feasible" in outcome.trials else 0,
        "pareto_points": len(front),
        "objectives": spec.objectives,
        "wall_seconds": outcome.wall_seconds,
        **extra,
    }
    path = out / "search.json"
    atomic_write_text(path, json.dumps(jsonable(summary), indent=2))
    files.append(path)
    return files
