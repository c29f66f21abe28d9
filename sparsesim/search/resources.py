"""The search's resource model: FPGA resources of a candidate accelerator without synthesising it.

A board core is R x C PE cells plus the rest (UART, decoder, buffers, tile control, skew lines). For a
candidate:

    resources(R, C) = R * C * cell + rest(R, C)

- `cell`: the Yosys estimate of one PE cell (`synth_xilinx`, the same run `sparsesim fpga build` makes),
  synthesised once per cell configuration (precision, multipliers per PE, largest M) and cached on disk.
- `rest`: LUT, FF and DSP as a + b*R + c*C (logic per activation row and per result column). The three
  coefficients are calibrated per cell configuration, buffer sizes and clock on the calibration set
  CALIBRATION: hierarchical Yosys runs of small arrays, solved exactly (three points, three unknowns).
  URAM and BRAM come from the buffer table (`fpga.params.buffer_table`), not from a fit.

This is a model: `bench/search_resources.py` checks it against full hierarchical Yosys runs of array sizes
outside the calibration set, and the search recomputes the estimate in full for its best points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..fpga import device

# our choice: the smallest arrays that separate a per-row from a per-column term (and a constant)
CALIBRATION: tuple[tuple[int, int], ...] = ((2, 2), (2, 4), (4, 2))
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
                est = self._estimate(acc, r, c, f"calib-{_stable(key)}-{r}x{c}")
                points.append(
                    {"rows": r, "cols": c, "rest": est.rest, "cell": est.cell, "total": est.resources}
                )
            self._cells[cell_key(acc)] = points[0]["cell"]
            design = np.array([[1.0, p["rows"], p["cols"]] for p in points])
            coef = {}
            for res in FITTED:
                y = np.array([float(p["rest"].get(res, 0)) for p in points])
                a, b, c = np.linalg.lstsq(design, y, rcond=None)[0]
                coef[res] = (float(a), float(b), float(c))
            self._fits[key] = RestFit(coef, points)
        return self._cells[cell_key(acc)], self._fits[key]

    def adopt(self, acc: dict[str, Any], cell: dict[str, Any], fit: RestFit) -> None:
        """Take a calibration made elsewhere (a Dask worker's `calibrate`) for `acc`'s configuration."""
        self._cells[cell_key(acc)] = cell
        self._fits[rest_key(acc)] = fit

    def has(self, acc: dict[str, Any]) -> bool:
        return rest_key(acc) in self._fits

    def estimate(self, acc: dict[str, Any]) -> dict[str, Any]:
        """{'resources': {lut, ff, dsp, bram36, uram}, 'percent': {...}, 'cell': {...}, 'rest': {...}}."""
        from ..fpga.estimate import buffer_memory
        from ..fpga.params import board_params

        cell, fit = self.fit(acc)
        rows, cols = int(acc["rows"]), int(acc["cols"])
        rest = fit.rest(rows, cols)
        memory = buffer_memory(board_params(acc))
        total = {r: rows * cols * float(cell.get(r, 0)) + max(0.0, rest.get(r, 0.0)) for r in FITTED}
        for r in ("bram36", "uram"):
            total[r] = rows * cols * float(cell.get(r, 0)) + float(memory[r])
        return {"resources": total, "percent": device.percent(total), "cell": cell, "rest": rest}

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


def over_budget(percent: dict[str, float], *, budget: bool) -> dict[str, float]:
    """Constraint values (> 0: violated by that many percentage points) for each counted resource."""
    out = {}
    for r, pct in percent.items():
        limit = device.budget_percent(r) if budget else 100.0
        out[r] = pct - limit
    return out


def calibrate(workdir: str, acc: dict[str, Any]) -> tuple[dict[str, Any], RestFit]:
    """A Dask task: the calibration of one configuration (its Yosys runs, cached on disk like any other)."""
    return ResourceModel(Path(workdir)).fit(acc)
