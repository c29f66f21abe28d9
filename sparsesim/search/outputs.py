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

from ..fpga import device
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
    for the first `full_estimates` points, recompute the resources and the logic depth by a full
    hierarchical Yosys estimate (`sparsesim fpga build`'s own) and hold them to the same constraints as the
    model's guess. Adds `verified_total_cycles`, `verified_energy_j`, `full_estimate` (True where a full
    Yosys estimate was made) and, for those points, `full_<resource>`, `full_logic_levels`, `full_feasible`
    and `full_violated` (the constraints the full estimate breaks: such a point is flagged, not dropped, so
    the user sees where the model was wrong)."""
    from ..sat.simulate import run_workload

    say = progress or (lambda *_a, **_k: None)
    front = outcome.pareto.copy()
    cycles: list[int] = []
    energy: list[float] = []
    full: list[dict[str, Any]] = []
    for i, row in enumerate(front.to_dict("records")):
        params = {k: row[k] for k in _param_columns(front)}
        say(f"verifying Pareto point {i + 1} of {len(front)} through the ordinary run path")
        wl = ev.workload(params)
        result = run_workload(wl)
        cycles.append(int(result.summary["total_cycles"]))
        energy.append(float(result.summary.get("energy_j", float("nan"))))
        if model is not None and i < full_estimates:
            say(f"full Yosys estimate of Pareto point {i} (the whole board core, hierarchical)")
            full.append(full_estimate(spec, dict(result.summary["arch"]), Path(model.workdir) / f"front-{i}"))
            if not full[-1]["full_feasible"]:
                say(f"warning: Pareto point {i}: its full Yosys estimate breaks {full[-1]['full_violated']}")
        else:
            full.append({})
    front["verified_total_cycles"] = cycles
    front["verified_energy_j"] = energy
    front["full_estimate"] = [bool(f) for f in full]
    for col in FULL_COLUMNS:
        front[col] = [f.get(col, float("nan")) if f else float("nan") for f in full]
    return front


FULL_COLUMNS = (
    *(f"full_{r}" for r in device.RESOURCES),
    *(f"full_{r}_percent" for r in device.RESOURCES),
    "full_logic_levels", "full_logic_level_limit", "full_feasible", "full_violated", "full_yosys_seconds",
)  # fmt: skip


def full_estimate(spec: SearchSpec, arch: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The full hierarchical Yosys estimate of one accelerator (resolved section) and the search's hardware
    constraints on it (`resources.violations`, the check the model's guesses go through)."""
    from ..fpga.estimate import estimate_hierarchical, find_yosys
    from ..fpga.params import board_params
    from .resources import violations

    est = estimate_hierarchical(board_params(arch), workdir, tool=find_yosys())
    lv = est.logic_levels
    bad = violations(
        est.resources, est.percent, spec.constraints, worst_levels=int(lv["worst"]), clock_mhz=lv["limit_mhz"]
    )
    out: dict[str, Any] = {f"full_{r}": float(v) for r, v in est.resources.items()}
    out.update({f"full_{r}_percent": float(v) for r, v in est.percent.items()})
    out.update(
        full_logic_levels=int(lv["worst"]), full_logic_level_limit=int(lv["limit"]),
        full_feasible=all(v <= 0 for v in bad.values()),
        full_violated=", ".join(k for k, v in bad.items() if v > 0),
        full_yosys_seconds=float(sum(est.seconds.values())),
    )  # fmt: skip
    return out


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
