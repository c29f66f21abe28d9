"""search.html: the trials and the Pareto front (interactive, offline), the front's points side by side, and
the base workload on the same constraints. Charts come from the report package (Vega-Altair, inlined)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import atomic_write_text
from .spec import OBJECTIVES, SearchSpec

LABELS = {"time_s": "iteration time (s)", "energy_j": "energy (J)", "edp": "energy-delay (J s)",
          "dsp": "DSP48E2 slices", "lut": "LUTs"}  # fmt: skip


def _settings(row: pd.Series, columns: list[str]) -> str:
    acc = [f"{c.split('.', 1)[1]}={row[c]}" for c in columns if c.startswith("accelerator.")]
    nm = [str(row[c]) for c in columns if c.startswith("nm:")]
    if nm:
        counts = pd.Series(nm).value_counts()
        acc.append("N:M " + ", ".join(f"{k} x{v}" for k, v in counts.items()))
    return "; ".join(acc)


def _group(feasible: bool, stage: str) -> str:
    where = "preset baseline, " if stage == "preset" else ""
    return where + ("feasible" if feasible else "violates a constraint")


def points_frame(spec: SearchSpec, trials: pd.DataFrame, front: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    ok = trials[trials["status"] == "ok"].drop_duplicates(subset="key")
    params = [c for c in trials.columns if c.startswith(("accelerator.", "nm:"))]
    on_front = set(front["key"]) if not front.empty else set()
    stages = ok["stage"] if "stage" in ok else ["search"] * len(ok)
    return pd.DataFrame(
        {
            "point": ok["trial"].astype(int),
            "group": [_group(f, stage) for f, stage in zip(ok["feasible"], stages)],
            "x": ok[x].astype(float),
            "y": ok[y].astype(float),
            "x_text": [f"{v:.4g}" for v in ok[x]],
            "y_text": [f"{v:.4g}" for v in ok[y]],
            "settings": [_settings(r, params) for _, r in ok.iterrows()],
            "front": [k in on_front for k in ok["key"]],
        }
    )


def write_report(
    spec: SearchSpec,
    outcome: Any,
    front: pd.DataFrame,
    base: dict[str, Any],
    baseline: dict[str, Any],
    full: dict[str, Any] | None = None,
) -> Path:
    from ..report import html, vega
    from ..report.sweep_report import pareto_chart

    objs = spec.objectives
    x, y = (objs[1], objs[0]) if len(objs) > 1 else ("dsp" if "dsp" in outcome.trials else objs[0], objs[0])
    body = [f"<h1>Co-design search {escape(str(spec.name))}</h1>"]
    sampler = "exhaustive enumeration" if outcome.exhaustive else f"NSGA-II (Optuna), seed {spec.seed}"
    body.append(
        html.kv_table(
            [
                ("design space", f"{outcome.space_size:,} points"),
                ("sampler", sampler),
                ("trials", f"{len(outcome.trials):,} ({outcome.cached} from the cache)"),
                ("objectives", ", ".join(f"{o} ({OBJECTIVES[o]})" for o in objs)),
                ("Pareto points", str(len(front))),
            ]
        )
    )
    with vega.building():
        if (
            x in outcome.trials
            and y in outcome.trials
            and not outcome.trials[outcome.trials["status"] == "ok"].empty
        ):
            pts = points_frame(spec, outcome.trials, front, x, y)
            chart = pareto_chart(
                pts,
                LABELS.get(x, x),
                LABELS.get(y, y),
                xlog=False,
                ylog=False,
                title="trials and the Pareto front",
            )
            body.append(html.figure(chart, "Every trial; the front ringed. Hover a point for its settings.",
                                    "pareto", "pareto_chart"))  # fmt: skip
        cols = [c for c in ("trial", *objs, "total_cycles", "avg_power_w", "lut", "dsp", "lut_percent",
                            "dsp_percent", "logic_levels", "logic_level_limit", "retained_magnitude",
                            "verified_total_cycles", "full_estimate", "full_lut", "full_dsp",
                            "full_logic_levels", "full_feasible", "full_violated")
                if c in front]  # fmt: skip
        body.append("<h2>The Pareto front</h2>")
        if full is not None:
            note = (f"Full Yosys estimates (the whole board core, as <code>sparsesim fpga build</code> makes "
                    f"it): {escape(full['text'])}. LUT, DSP and logic levels are the resource model's guess; "
                    "<code>full_*</code> columns are the full estimate's.")  # fmt: skip
            if full["flagged"]:
                flagged = ", ".join(map(str, full["flagged"]))
                note += (f" <strong>Flagged: point(s) {flagged} break a constraint by the full estimate "
                         "that the model's guess met.</strong>")  # fmt: skip
            body.append(f"<p>{note}</p>")
        if not front.empty:
            table = front[cols].copy()
            table.insert(1, "settings", [_settings(r, list(front.columns)) for _, r in front.iterrows()])
            body.append(html.frame_table(table, table_id="front"))
        else:
            body.append("<p>No feasible trial: loosen the constraints or widen the space.</p>")
        body.append(_baseline_section(spec, front, baseline))
        body.append("<h2>The base workload as given, on the same constraints</h2>")
        rows = [(k, f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in base.items()]
        rows = [r for r in rows if r[0] != "constraints"]
        body.append(html.kv_table(rows))
        text = html.page(f"search {spec.name}", "\n".join(body))
    path = Path(outcome.output) / "search.html"
    atomic_write_text(path, text)
    return path


def _baseline_section(spec: SearchSpec, front: pd.DataFrame, baseline: dict[str, Any]) -> str:
    """The yardstick (search/baseline.py): the preset hardware with its best N:M on the same constraints,
    its front, and each objective's best against the search's."""
    from ..report import html

    acc = ", ".join(f"{k}={v}" for k, v in baseline["accelerator"].items())
    parts = [
        "<h2>The preset hardware with its best N:M on the same constraints</h2>",
        f"<p>{escape(acc)}: {escape(baseline['method'])}. {baseline['trials']} trials, "
        f"{baseline['feasible_trials']} meeting the constraints.</p>",
    ]
    if not baseline["best"]:
        parts.append(
            "<p>No preset trial meets the constraints (violated: "
            + escape(", ".join(baseline["violated"]))
            + ").</p>"
        )
        return "\n".join(parts)
    rows = []
    for o, pre in baseline["best"].items():
        best = float(front[o].min()) if not front.empty and o in front else float("nan")
        rows.append({"objective": o, "preset baseline": f"{pre:.4g}", "search's best": f"{best:.4g}",
                     "preset / search": f"{pre / best:.3f}" if best == best and best else "-"})  # fmt: skip
    parts.append(html.frame_table(pd.DataFrame(rows), table_id="baseline-vs-best"))
    table = pd.DataFrame(
        [
            {
                "trial": r["trial"],
                **{o: f"{r[o]:.4g}" for o in spec.objectives},
                "retained_magnitude": f"{r['retained_magnitude']:.4f}",
                "N:M": ", ".join(f"{k} x{v}" for k, v in r["nm_counts"].items()),
            }  # fmt: skip
            for r in baseline["front"]
        ]
    )
    parts.append(f"<p>The preset's front ({baseline['dominated_by_front']} of its {len(table)} points "
                 "strictly dominated by the search's front):</p>")  # fmt: skip
    parts.append(html.frame_table(table, table_id="baseline-front"))
    return "\n".join(parts)
