"""The search's resource model: FPGA resources of a candidate accelerator without synthesising it.

A board core is R x C PE cells plus the rest (UART, decoder, buffers, tile control, skew lines). For a
candidate:

    resources(R, C) = R * C * cell + rest(R, C)

- `cell`: the Yosys estimate of one PE cell (`synth_xilinx`, the same run `sparsesim fpga build` makes),
  synthesised once per cell configuration (precision, multipliers per PE, largest M) and cached on disk.
- `rest`: LUT, FF and DSP as a + b*R + c*C (logic per activation row and per result column), calibrated per
  cell configuration, buffer sizes and clock on the calibration set CALIBRATION: hierarchical Yosys runs of
  six small arrays spread over 2-8 rows and 2-8 columns, fitted by least squares with b, c >= 0 (the rest
  cannot shrink as the array grows; an unconstrained fit of the 2x2/2x4/4x2 corner alone gave a negative
  LUT slope per row from synthesis noise, which clamped the LUTs of tall arrays to zero). URAM and BRAM come
  from the buffer table (`fpga.params.buffer_table`), not from a fit.
- `depth`: the logic depth (LUT levels on the longest register-to-register path, `fpga.levels`: inside the
  cell, inside the rest, across the cell's boundary) of the deepest calibration run of the configuration,
  against the limit of its clock (`levels.lut_level_limit`). The calibration runs are syntheses of the same
  cell and rest at the candidate's clock (the rest's fit is per clock), so this is measured, not modelled;
  what it cannot see is a path that grows with the array beyond the calibration sizes (the bank scan's OR
  over every token, docs/fpga.md "Logic depth"): a full estimate of a front point measures its own array.

This is a model: `bench/search_resources.py` checks it against full hierarchical Yosys runs of array sizes
outside the calibration set (the measured numbers are kept in tests/search/data/yosys_rest.json, which the
tests check the model against), and the search can recompute the estimate in full for its best points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..fpga import device

# our choice: arrays small enough to synthesise in minutes, spread along each axis (2, 4, 8) so the per-row
# and per-column slopes are measured over a range, not between two neighbours
CALIBRATION: tuple[tuple[int, int], ...] = ((2, 2), (2, 4), (4, 2), (4, 4), (2, 8), (8, 2))
FITTED = ("lut", "ff", "dsp")


@dataclass
class RestFit:
    coef: dict[str, tuple[float, float, float]]  # resource -> (a, b per row, c per column)
    points: list[dict[str, Any]] = field(default_factory=list)  # the calibration runs

    def rest(self, rows: int, cols: int) -> dict[str, float]:
        return {r: a + b * rows + c * cols for r, (a, b, c) in self.coef.items()}


def cell_key(acc: dict[str, Any]) -> tuple:
    return (acc["precision"], int(acc["multipliers_per_pe"]), int(acc["max_m"]),
            int(acc["mul_latency_cycles"]), int(acc["add_latency_cycles"]))  # fmt: skip


def rest_key(acc: dict[str, Any]) -> tuple:
    return (*cell_key(acc), acc["act_buffer_kib"], acc["weight_buffer_kib"], acc["out_buffer_kib"],
            float(acc["clock_mhz"]))  # fmt: skip


class ResourceModel:
    """Resources of resolved accelerator sections (`SatArch.to_dict()`); Yosys runs are made on first need."""

    def __init__(self, workdir: Path, *, tool: Any = None, progress: Callable[..., None] | None = None):
        self.workdir = Path(workdir)
        self.tool = tool
        self.say = progress or (lambda *_a, **_k: None)
        self._cells: dict[tuple, dict[str, Any]] = {}
        self._fits: dict[tuple, RestFit] = {}

    def _estimate(self, acc: dict[str, Any], rows: int, cols: int, tag: str):
        from ..fpga.estimate import estimate_hierarchical, find_yosys
        from ..fpga.params import board_params

        self.tool = self.tool or find_yosys()
        params = board_params({**acc, "rows": rows, "cols": cols})
        return estimate_hierarchical(params, self.workdir / tag, tool=self.tool)

    def fit(self, acc: dict[str, Any]) -> tuple[dict[str, Any], RestFit]:
        """The cell's resources and the rest's fit for `acc`'s configuration (Yosys on first use)."""
        key = rest_key(acc)
        if key not in self._fits:
            points = []
            for i, (r, c) in enumerate(CALIBRATION):
                self.say(
                    f"resource model: Yosys calibration run {i + 1} of {len(CALIBRATION)} ({r}x{c} array)"
                )
                points.append(self.point(acc, r, c))
            self.adopt(acc, points)
        return self._cells[cell_key(acc)], self._fits[key]

    def point(self, acc: dict[str, Any], rows: int, cols: int) -> dict[str, Any]:
        """One calibration run: the hierarchical Yosys estimate of a rows x cols array of `acc`'s cell."""
        est = self._estimate(acc, rows, cols, f"calib-{_stable(rest_key(acc))}-{rows}x{cols}")
        return {"rows": rows, "cols": cols, "rest": est.rest, "cell": est.cell, "total": est.resources,
                "levels": est.logic_levels}  # fmt: skip

    def adopt(self, acc: dict[str, Any], points: list[dict[str, Any]]) -> None:
        """Fit `acc`'s configuration from its calibration runs (made here or on Dask workers)."""
        self._cells[cell_key(acc)] = points[0]["cell"]
        self._fits[rest_key(acc)] = fit_rest(points)

    def has(self, acc: dict[str, Any]) -> bool:
        return rest_key(acc) in self._fits

    def estimate(self, acc: dict[str, Any]) -> dict[str, Any]:
        """{'resources': {lut, ff, dsp, bram36, uram}, 'percent': {...}, 'cell': {...}, 'rest': {...},
        'depth': {...}} (depth: see the module docstring and `depth`)."""
        from ..fpga.estimate import buffer_memory
        from ..fpga.params import board_params

        cell, fit = self.fit(acc)
        rows, cols = int(acc["rows"]), int(acc["cols"])
        rest = fit.rest(rows, cols)
        memory = buffer_memory(board_params(acc))
        total = {r: rows * cols * float(cell.get(r, 0)) + rest.get(r, 0.0) for r in FITTED}
        for r in ("bram36", "uram"):
            total[r] = rows * cols * float(cell.get(r, 0)) + float(memory[r])
        return {"resources": total, "percent": device.percent(total), "cell": cell, "rest": rest,
                "depth": depth(fit.points, float(acc["clock_mhz"]))}  # fmt: skip

    def calibration_table(self) -> list[dict[str, Any]]:
        return [
            {
                "config": list(key),
                "rows": p["rows"],
                "cols": p["cols"],
                **{f"rest_{r}": p["rest"].get(r, 0) for r in FITTED},
            }
            for key, fit in self._fits.items()
            for p in fit.points
        ]


def _stable(key: tuple) -> str:
    """A short name for a configuration's work folder, the same in every process."""
    import hashlib

    return hashlib.sha256(repr(key).encode()).hexdigest()[:10]


def depth(points: list[dict[str, Any]], clock_mhz: float) -> dict[str, Any]:
    """The deepest calibration run's logic depth (its worst path and where it lies) and the limit at
    `clock_mhz` (the one rule, `fpga.levels.lut_level_limit`)."""
    from ..fpga.levels import lut_level_limit

    deepest = max((p["levels"] for p in points), key=lambda lv: lv["worst"])
    return {
        "worst": int(deepest["worst"]),
        "cell": deepest.get("cell"),
        "rest": deepest.get("rest"),
        "across_cell_boundary": deepest.get("across_cell_boundary"),
        "limit": lut_level_limit(clock_mhz),
        "clock_mhz": clock_mhz,
    }


def violations(
    resources: dict[str, float],
    percent: dict[str, float],
    constraints: Any,
    *,
    worst_levels: int,
    clock_mhz: float,
) -> dict[str, float]:
    """The hardware constraints of a candidate, each > 0 when violated (by that much): the board's budget
    (`<r>_over`, percentage points), the search file's caps (`<r>_cap`, counts) and the logic depth against
    the clock's limit (`logic_depth`, LUT levels). The model's estimate and a full Yosys estimate go through
    this same check."""
    from ..fpga.levels import lut_level_limit

    out: dict[str, float] = {}
    if constraints.board is not None:
        for r, v in over_budget(percent, budget=constraints.budget).items():
            out[f"{r}_over"] = v
    for r, cap in (constraints.resources or {}).items():
        out[f"{r}_cap"] = float(resources[r]) - float(cap)
    if constraints.board is not None and constraints.logic_depth:
        out["logic_depth"] = float(worst_levels - lut_level_limit(clock_mhz))
    return out


def over_budget(percent: dict[str, float], *, budget: bool) -> dict[str, float]:
    """Constraint values (> 0: violated by that many percentage points) for each counted resource."""
    out = {}
    for r, pct in percent.items():
        limit = device.budget_percent(r) if budget else 100.0
        out[r] = pct - limit
    return out


def fit_rest(points: list[dict[str, Any]]) -> RestFit:
    """a + b*R + c*C per resource by least squares over the calibration runs, a free, b and c >= 0."""
    from scipy.optimize import lsq_linear

    design = np.array([[1.0, p["rows"], p["cols"]] for p in points])
    coef = {}
    for res in FITTED:
        y = np.array([float(p["rest"].get(res, 0)) for p in points])
        sol = lsq_linear(design, y, bounds=([-np.inf, 0.0, 0.0], [np.inf, np.inf, np.inf]))
        a, b, c = (float(v) for v in sol.x)
        coef[res] = (a, b, c)
    return RestFit(coef, points)


def calibration_point(workdir: str, acc: dict[str, Any], rows: int, cols: int) -> dict[str, Any]:
    """A Dask task: one calibration run (cached on disk like any other Yosys run)."""
    return ResourceModel(Path(workdir)).point(acc, rows, cols)


def cell_only(workdir: str, acc: dict[str, Any]) -> None:
    """A Dask task: synthesise the cell of `acc` alone, so the calibration runs that follow share it."""
    from ..fpga.estimate import estimate_cell, find_yosys
    from ..fpga.params import board_params

    estimate_cell(board_params(acc).cfg, Path(workdir) / f"cell-{_stable(cell_key(acc))}", find_yosys())
