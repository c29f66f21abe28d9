"""Co-design search (`sparsesim search SEARCH.yaml`, docs/search.md): the accelerator and the per-layer N:M
chosen together, each trial a real simulation, under the board's resources.

    spec.py       the search file
    evaluate.py   one trial: the front end once per search, a trial = masks composed + lowering + simulation
    resources.py  the resource model (Yosys per-PE-cell estimates + a calibrated rest)
    baseline.py   the yardstick: the preset hardware with its best per-layer N:M on the same constraints
    run.py        the optimiser loop (Optuna), trials on Dask, the trial cache, the Pareto front
    outputs.py    trials.csv, pareto.csv, a workload.yaml per Pareto point, the front verified
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .spec import SearchSpec, load_search

__all__ = ["SearchSpec", "load_search", "search"]


def search(
    path: str | Path,
    *,
    output: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    full_estimates: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Run a search file end to end; returns the summary written to search.json (plus `files`)."""
    from .outputs import verify_front, write_outputs
    from .resources import ResourceModel
    from .run import _record, needs_resource_model, run_search

    spec, base_dir = load_search(path)
    out = Path(output or spec.output or Path("reports") / str(spec.name))
    model = ResourceModel(out / "yosys", progress=progress) if needs_resource_model(spec) else None
    outcome = run_search(
        spec, base_dir, output=out, workers=workers, scheduler=scheduler, fresh=fresh,
        resource_model=model, progress=progress,
    )  # fmt: skip
    ev = outcome.evaluator
    assert ev is not None
    n_full = spec.full_estimates if full_estimates is None else full_estimates
    front = verify_front(spec, ev, outcome, model=model, full_estimates=n_full, progress=progress)
    # the base workload as given (the preset array, its own sparsity) on the same constraints
    from ..sat.simulate import run_workload

    base_result = run_workload(ev.base)
    base_params = {
        p: _base_value(ev, p) for p in outcome.trials.columns if p.startswith(("accelerator.", "nm:"))
    }
    base_rec = _record(spec, ev, model, base_params, {"status": "ok", "summary": base_result.summary}, "base")
    baseline = dict(outcome.baseline)
    baseline["dominated_by_front"] = _dominated(spec, front, baseline["front"])
    extra = {
        "base_workload": _base_row(spec, base_rec),
        "preset_baseline": baseline,
        "best": _best(spec, front, base_rec, baseline),
        "full_estimates": full_estimates_summary(front, n_full if model is not None else None),
    }
    files = write_outputs(spec, ev, outcome, front, extra)
    from .report import write_report

    files.append(write_report(spec, outcome, front, base_rec, baseline, extra["full_estimates"]))
    return {
        "name": spec.name,
        "output": str(out),
        "files": [str(f) for f in files],
        "pareto": front,
        "outcome": outcome,
        **extra,
    }


def full_estimates_summary(front: Any, requested: int | None) -> dict[str, Any]:
    """Which Pareto points had a full Yosys estimate, which of those it flags (a constraint the model's
    guess met and the full estimate breaks), and the model's guess beside the full number. `requested`
    None: the search has no resource model (no board, cap or resource objective)."""
    from ..fpga.device import RESOURCES

    done = [int(i) for i in front.index[front["full_estimate"].astype(bool)]] if len(front) else []
    flagged = [i for i in done if not bool(front.loc[i, "full_feasible"])]
    points = []
    for i in done:
        row = front.loc[i]
        point: dict[str, Any] = {"point": i}
        for r in (*RESOURCES, "logic_levels"):
            if f"full_{r}" in row:
                point[r] = {"model": row.get(r), "full": row[f"full_{r}"]}
        point["full_violated"] = row["full_violated"]
        points.append(point)
    if requested is None:
        text = "none: the search estimates no resources (no board, resource cap or resource objective)"
    elif not done:
        text = "none: every front point's resources are the model's guess" + (
            f" ({requested} requested)" if requested else " (full_estimates 0)"
        )
    else:
        which = ("point " if len(done) == 1 else "points ") + ", ".join(map(str, done))
        text = f"{which} by a full Yosys run; the rest: the model's guess"
    return {"requested": requested, "points": done, "flagged": flagged, "text": text, "comparison": points}


def _base_value(ev: Any, param: str) -> Any:
    if param.startswith("accelerator."):
        from ..sat.arch import resolve

        return resolve(ev.base.accelerator).to_dict()[param.split(".", 1)[1]]
    name = param.split(":", 1)[1]
    lp = ev.base_layers[name]
    return "dense" if lp.is_dense else f"{lp.n}:{lp.m}"


def _base_row(spec: SearchSpec, rec: dict[str, Any]) -> dict[str, Any]:
    keep = ("total_cycles", "time_s", "energy_j", "edp", "avg_power_w", "lut", "dsp", "lut_percent",
            "dsp_percent", "retained_magnitude", "feasible", "constraints")  # fmt: skip
    return {k: rec[k] for k in keep if k in rec}


def _best(spec: SearchSpec, front: Any, base: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Per objective: the best Pareto value, the preset baseline's best (the preset hardware with its best
    N:M on the same constraints) and the base workload's value, with their ratios to the best (> 1: the
    search's point is better by that factor)."""
    out: dict[str, Any] = {}
    for o in spec.objectives:
        if front.empty or o not in front:
            continue
        best = float(front[o].min())
        preset = baseline["best"].get(o)
        out[o] = {
            "best": best,
            "preset_baseline": preset,
            "preset_over_best": (preset / best) if preset and best else None,
            "base": base.get(o),
            "base_over_best": (base[o] / best) if base.get(o) and best else None,
        }
    return out


def _dominated(spec: SearchSpec, front: Any, points: list[dict[str, Any]]) -> int:
    """How many of the preset baseline's front points some Pareto point of the search strictly dominates
    (no worse on every objective, better on one; both meet the constraints)."""
    if front.empty:
        return 0
    values = front[list(spec.objectives)].to_numpy(dtype=float)
    n = 0
    for p in points:
        v = [float(p[o]) for o in spec.objectives]
        if ((values <= v).all(axis=1) & (values < v).any(axis=1)).any():
            n += 1
    return n
