"""Which of a preset's uncertain parameters matter (`sparsesim run --sensitivity`).

Every preset value that is chosen, estimated or taken from a secondary source carries a plausible range in
its source entry (`sparsesim.mobile.soc.Source.plausible`; the sat preset's entries in `sparsesim.sat.arch`
use the same type). A sensitivity study varies each such parameter alone to the low and then the high end
of its range, keeps every other parameter at the preset's value, reruns the simulation of the sparse run and
of its dense baseline on the already traced and pruned workload (the front end runs once), and reports the
swing of total cycles, speedup vs dense and energy per parameter: one-at-a-time, the usual input of a
tornado chart. Interactions between parameters are not explored.

Targets plug in through two things: the list of `Uncertain` parameters of their resolved preset and an
`evaluate(parameter, value) -> Outcome` that reruns the simulation with one parameter changed.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# One row per varied parameter; report.html's tornado and sensitivity.csv read exactly these keys.
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "parameter", "source", "low", "high", "baseline",
    "total_cycles_low", "total_cycles_high", "speedup_low", "speedup_high", "energy_j_low", "energy_j_high",
)  # fmt: skip
CSV_NAME = "sensitivity.csv"


@dataclass(frozen=True)
class Uncertain:
    """A preset parameter with a stated plausible range."""

    parameter: str
    source: str
    baseline: float
    low: float
    high: float
    integer: bool = False  # counts (lanes, ways, ports): varied values are rounded to integers

    def value(self, x: float) -> float | int:
        return int(round(x)) if self.integer else float(x)


@dataclass(frozen=True)
class Outcome:
    """What one simulation (sparse run and its dense baseline) gives."""

    total_cycles: int
    speedup: float
    energy_j: float


def uncertain_from(
    values: Mapping[str, Any], sources: Mapping[str, Any], prefix: str = ""
) -> list[Uncertain]:
    """Parameters of `values` whose source entry states a plausible range (numbers only; flags and names
    are not varied). `prefix` names nested parameters (`core.`)."""
    out = []
    for key, value in values.items():
        rng = getattr(sources.get(key), "plausible", None)
        if rng is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        out.append(
            Uncertain(
                parameter=prefix + key, source=str(sources[key]), baseline=float(value),
                low=float(rng[0]), high=float(rng[1]), integer=isinstance(value, int),
            )
        )  # fmt: skip
    return out


def run_sensitivity(
    params: Iterable[Uncertain],
    evaluate: Callable[[str, float | int], Outcome],
    baseline: Outcome,
    progress: Callable[..., None] | None = None,
) -> list[dict[str, Any]]:
    """Rows (SENSITIVITY_COLUMNS) of the one-at-a-time study. A range end equal to the preset's value reuses
    the baseline run rather than simulating it again."""
    params = list(params)
    total = 2 * len(params)
    rows: list[dict[str, Any]] = []
    for i, p in enumerate(params):
        got: dict[str, Outcome] = {}
        for j, (end, x) in enumerate((("low", p.low), ("high", p.high))):
            v = p.value(x)
            got[end] = baseline if math.isclose(v, p.baseline) else evaluate(p.parameter, v)
            if progress is not None:
                progress("sensitivity: one parameter at a time", done=2 * i + j + 1, total=total)
        rows.append(
            {
                "parameter": p.parameter, "source": p.source,
                "low": float(p.value(p.low)), "high": float(p.value(p.high)), "baseline": p.baseline,
                "total_cycles_low": int(got["low"].total_cycles),
                "total_cycles_high": int(got["high"].total_cycles),
                "speedup_low": float(got["low"].speedup), "speedup_high": float(got["high"].speedup),
                "energy_j_low": float(got["low"].energy_j), "energy_j_high": float(got["high"].energy_j),
            }
        )  # fmt: skip
    # Largest swing of total cycles first (the tornado's order).
    rows.sort(key=lambda r: -abs(r["total_cycles_high"] - r["total_cycles_low"]))
    return rows


def write_csv(rows: Sequence[Mapping[str, Any]], folder: Path) -> Path:
    path = folder / CSV_NAME
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(SENSITIVITY_COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in SENSITIVITY_COLUMNS})
    return path


def table_text(rows: Sequence[Mapping[str, Any]], baseline_cycles: float) -> str:
    """The terminal table: per parameter the range and the swing of cycles, speedup and energy."""
    if not rows:
        return "sensitivity: no parameter of the preset states a plausible range\n"
    head = (
        "parameter", "low .. high (preset)", "cycles low/high", "speedup low .. high", "energy J low .. high",
    )  # fmt: skip
    lines = []
    for r in rows:
        c_lo = r["total_cycles_low"] / baseline_cycles - 1 if baseline_cycles else 0.0
        c_hi = r["total_cycles_high"] / baseline_cycles - 1 if baseline_cycles else 0.0
        lines.append(
            (
                r["parameter"],
                f"{_num(r['low'])} .. {_num(r['high'])} ({_num(r['baseline'])})",
                f"{_pct(c_lo)} / {_pct(c_hi)}",
                f"{r['speedup_low']:.3f} .. {r['speedup_high']:.3f}",
                f"{r['energy_j_low']:.4g} .. {r['energy_j_high']:.4g}",
            )
        )
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = ["sensitivity (each parameter alone at the ends of its plausible range; cycles vs the preset):"]
    out.append("  " + fmt.format(*head))
    out += ["  " + fmt.format(*x) for x in lines]
    return "\n".join(out) + "\n"


def _pct(x: float) -> str:
    return "0.0%" if abs(x) < 0.0005 else f"{x:+.1%}"


def _num(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:.4g}"
