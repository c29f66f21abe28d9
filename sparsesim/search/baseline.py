"""The preset on the same constraints: the yardstick a search is measured against.

"The preset" is the base workload's accelerator as it stands (its array, multipliers per PE, buffers, clock);
the yardstick is that hardware with the per-layer N:M that does best on the search's objectives while meeting
the search's own constraints (retained magnitude, resources, power, energy). The base workload as given may
violate them (the ResNet-18 preset's 2:8 everywhere keeps 0.494 of the weight magnitude, under a floor of
0.5), so comparing a front with it would be comparing with an infeasible point.

Every point of the yardstick is a real simulation (a trial like any other, cached the same way), chosen in
three rounds on the preset hardware:

1. the start: each searched layer at the base workload's own N:M (if it is a choice the preset array runs;
   otherwise the first choice it runs);
2. every single-layer move from the start (one layer to another choice the array runs), simulated;
3. the assignments that are optimal under the additive model those moves measure (the start plus the sum of
   each layer's measured change in time and energy), for time, for energy and for three mixes of the two,
   each an exact multiple-choice knapsack (a mixed-integer programme, SciPy's HiGHS) under the retained-
   magnitude floor; each is then simulated for real, so the model only proposes and never decides.

The yardstick is the Pareto front of the feasible trials of the three rounds, and its best value per
objective. The search is then seeded with that front and with the preset's neighbours in the accelerator
axes (Optuna `enqueue_trial`), so its own front is never worse than the yardstick.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .evaluate import ACC_PREFIX, LAYER_PREFIX, Evaluator
from .spec import SearchSpec, parse_choice

METHOD = (
    "the base workload's accelerator (array, multipliers per PE, buffers, clock) with the per-layer N:M that "
    "does best under the same constraints: the base's N:M, every single-layer move from it, and the exact "
    "optimum of the additive model those moves measure (time, energy, three mixes), each simulated"
)
MIXES = (0.25, 0.5, 0.75)  # our choice: weights of time in the mixed knapsack objectives (normalised)


def preset_accelerator(spec: SearchSpec, ev: Evaluator) -> dict[str, Any]:
    """The preset's value of each searched accelerator axis ("accelerator.rows": 16, ...)."""
    from ..sat.arch import resolve

    acc = resolve(ev.base.accelerator).to_dict()
    return {ACC_PREFIX + name: acc[name] for name in spec.space.accelerator}


def allowed_choices(spec: SearchSpec, ev: Evaluator, acc: dict[str, Any]) -> dict[str, list[str]]:
    """Per searched layer: the choices the array of `acc` runs that meet the per-layer floor."""
    if spec.space.sparsity is None:
        return {}
    floor = spec.constraints.layer_retained_magnitude
    out = {}
    for name in ev.searched:
        ok = []
        for choice in spec.space.sparsity.choices:
            probe = {**acc, **{LAYER_PREFIX + n: "dense" for n in ev.searched}, LAYER_PREFIX + name: choice}
            if ev.unsupported(probe):
                continue
            if floor is not None and ev.choices[(name, choice)].retained < floor:
                continue
            ok.append(choice)
        out[name] = ok or ["dense"]
    return out


def start(ev: Evaluator, acc: dict[str, Any], allowed: dict[str, list[str]]) -> dict[str, Any]:
    params = dict(acc)
    for name, choices in allowed.items():
        lp = ev.base_layers[name]
        own = "dense" if lp.is_dense else f"{lp.n}:{lp.m}"
        params[LAYER_PREFIX + name] = own if own in choices else choices[0]
    return params


def single_moves(first: dict[str, Any], allowed: dict[str, list[str]]) -> list[dict[str, Any]]:
    moves = []
    for name, choices in allowed.items():
        for choice in choices:
            if choice != first[LAYER_PREFIX + name]:
                moves.append({**first, LAYER_PREFIX + name: choice})
    return moves


def knapsack_assignments(
    spec: SearchSpec,
    ev: Evaluator,
    first: dict[str, Any],
    first_rec: dict[str, Any],
    moves: list[dict[str, Any]],
    move_recs: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The additive model's optimal assignments (module docstring, round 3), deduplicated, in a fixed order.

    x[l, c] in {0, 1}, one choice per layer; kept magnitude sum(x * kept) >= floor * total; minimise
    sum(x * delta) where delta is the measured change of the objective when layer l alone moves to c."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    if first_rec.get("status") != "ok":
        return []
    names = list(dict.fromkeys(n for m in moves for n in _moved(first, m)))
    options: list[tuple[str, str, float, float]] = []  # (layer, choice, d_time, d_energy)
    for name in ev.searched:
        options.append((name, first[LAYER_PREFIX + name], 0.0, 0.0))
    for move, rec in zip(moves, move_recs):
        if rec.get("status") != "ok":
            continue
        (name,) = _moved(first, move)
        d_time = rec["time_s"] - first_rec["time_s"]
        options.append((name, move[LAYER_PREFIX + name], d_time, rec["energy_j"] - first_rec["energy_j"]))
    if not names:
        return []
    fixed_kept = sum(c.kept_abs for n, c in ev.fixed.items())
    total = fixed_kept + sum(ev.choices[(n, "dense")].total_abs for n in ev.searched)
    floor = spec.constraints.retained_magnitude or 0.0
    kept = np.array([ev.choices[(n, c)].kept_abs for n, c, _, _ in options])
    d_time = np.array([o[2] for o in options]) / max(first_rec["time_s"], 1e-30)
    d_energy = np.array([o[3] for o in options]) / max(abs(first_rec["energy_j"]), 1e-30)
    one_each = np.array([[1.0 if o[0] == n else 0.0 for o in options] for n in ev.searched])
    constraints = [LinearConstraint(one_each, 1, 1)]
    if floor > 0:
        constraints.append(LinearConstraint(kept[None, :], floor * total - fixed_kept, np.inf))
    weights = [1.0, 0.0, *MIXES] if np.isfinite(d_energy).all() else [1.0]
    out: list[dict[str, Any]] = []
    seen = set()
    for w in weights:
        cost = w * d_time + (1 - w) * d_energy
        res = milp(cost, constraints=constraints, integrality=np.ones(len(options)), bounds=Bounds(0, 1))
        if res.x is None:
            continue  # the floor cannot be met with the choices the array runs
        params = dict(first)
        for (name, choice, _, _), x in zip(options, res.x):
            if x > 0.5:
                params[LAYER_PREFIX + name] = choice
        key = tuple(sorted(params.items(), key=lambda kv: kv[0]))
        if key not in seen:
            seen.add(key)
            out.append(params)
    return out


def _moved(first: dict[str, Any], move: dict[str, Any]) -> list[str]:
    return [k[len(LAYER_PREFIX) :] for k, v in move.items() if k.startswith(LAYER_PREFIX) and first[k] != v]


def neighbours(spec: SearchSpec, acc: dict[str, Any], assignment: dict[str, Any]) -> list[dict[str, Any]]:
    """The preset's neighbours in the space: one accelerator axis at a time moved to the adjacent choice (in
    the axis's sorted order when its values are numbers, else its listed order), `assignment`'s N:M kept."""
    out = []
    for name, values in spec.space.accelerator.items():
        order = sorted(values) if all(isinstance(v, int | float) for v in values) else list(values)
        here = acc[ACC_PREFIX + name]
        if here not in order:
            continue
        i = order.index(here)
        for j in (i - 1, i + 1):
            if 0 <= j < len(order):
                out.append({**assignment, ACC_PREFIX + name: order[j]})
    return out


def in_space(params: dict[str, Any], dists: dict[str, Any]) -> bool:
    return set(params) == set(dists) and all(params[k] in dists[k].choices for k in dists)


def summarise(spec: SearchSpec, records: list[dict[str, Any]], acc: dict[str, Any]) -> dict[str, Any]:
    """The yardstick: the preset trials' feasible front and its best value per objective (None if no preset
    trial meets the constraints)."""
    from .run import OBJECTIVE_COLUMNS

    ok = [r for r in records if r.get("status") == "ok"]
    feasible = [r for r in ok if r.get("feasible")]
    cols = [OBJECTIVE_COLUMNS[o] for o in spec.objectives]
    front = [
        r for r in feasible
        if not any(all(q[c] <= r[c] for c in cols) and any(q[c] < r[c] for c in cols) for q in feasible)
    ]  # fmt: skip
    front = sorted({r["key"]: r for r in front}.values(), key=lambda r: [r[c] for c in cols])
    violated = sorted({k for r in ok for k, v in (r.get("constraints") or {}).items() if v > 0})
    return {
        "accelerator": {k[len(ACC_PREFIX) :]: v for k, v in acc.items()},
        "method": METHOD,
        "trials": len(records),
        "feasible_trials": len(feasible),
        "violated": [] if feasible else violated,
        "best": {o: min(r[OBJECTIVE_COLUMNS[o]] for r in feasible) for o in spec.objectives if feasible},
        "front": [_row(spec, r) for r in front],
    }


def _row(spec: SearchSpec, rec: dict[str, Any]) -> dict[str, Any]:
    from .run import OBJECTIVE_COLUMNS

    nm = [v for k, v in rec["params"].items() if k.startswith(LAYER_PREFIX)]
    counts = {c: nm.count(c) for c in dict.fromkeys(sorted(nm, key=_choice_order))}
    return {
        "trial": rec["trial"],
        "key": rec["key"],
        **{o: rec[OBJECTIVE_COLUMNS[o]] for o in spec.objectives},
        "retained_magnitude": rec.get("retained_magnitude"),
        "nm_counts": counts,
        "params": rec["params"],
    }


def _choice_order(choice: str) -> float:
    nm = parse_choice(choice)
    return 2.0 if nm is None else nm[0] / nm[1]
