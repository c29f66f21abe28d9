"""The search file (`sparsesim search SEARCH.yaml`, docs/search.md): a base workload, the design space
(accelerator parameters and a per-layer N:M choice), constraints and objectives.

Validated strictly like a workload (one `error:` line naming the field): bounded lists, known parameter names,
N:M choices the spec accepts, at least one objective.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import SpecError
from ..spec import MAX_PATH_CHARS, check_file_name, read_yaml_file, validation_error_line

# Accelerator fields a search may vary (AcceleratorSpec names); each takes a list of choices.
ACCELERATOR_AXES = (
    "rows", "cols", "multipliers_per_pe", "max_m", "precision", "clock_mhz", "act_buffer_kib",
    "weight_buffer_kib", "out_buffer_kib", "grad_buffer_kib", "dram_channels", "sorter_lanes", "wu_lanes",
    "vector_lanes",
)  # fmt: skip

# objective name -> (summary/derived column, what it is); all minimised
OBJECTIVES = {
    "time_s": "seconds of one iteration (training) or one inference",
    "energy_j": "joules of one iteration",
    "edp": "energy-delay product, J*s",
    "dsp": "DSP48E2 slices of the board core (resource model)",
    "lut": "LUTs of the board core (resource model)",
}
Objective = Literal["time_s", "energy_j", "edp", "dsp", "lut"]
DEFAULT_OBJECTIVES: tuple[Objective, ...] = ("time_s", "energy_j")
MAX_CHOICES = 64  # our choice: per axis; a longer list is a typo or belongs in a range
MAX_TRIALS = 100_000
NM_CHOICE = "dense or N:M with M a power of two (e.g. 2:8)"


def parse_choice(text: str) -> tuple[int, int] | None:
    """'dense' -> None; 'N:M' -> (n, m); anything else raises ValueError."""
    if text == "dense":
        return None
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not {NM_CHOICE}")
    n, m = int(parts[0]), int(parts[1])
    if m < 2 or m & (m - 1) or not 1 <= n <= m or m > 64:
        raise ValueError(f"{text!r}: N:M needs 1 <= N <= M, M a power of two in 2..64")
    return n, m


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SparsitySpace(_Strict):
    choices: list[str] = Field(
        min_length=1, max_length=16, description="Per-layer choices, e.g. ['1:8', '2:8', '4:8', 'dense']."
    )
    layers: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        max_length=1000,
        description="Layer-name globs that get a choice each (layers the base keeps dense stay dense).",
    )

    @field_validator("choices")
    @classmethod
    def _choices(cls, choices: list[str]) -> list[str]:
        for c in choices:
            parse_choice(c)
        if len(set(choices)) != len(choices):
            raise ValueError("choices repeat")
        return choices


class Space(_Strict):
    accelerator: dict[str, list[Any]] = Field(
        default_factory=dict, description="Accelerator field -> list of choices (rows, cols, ...)."
    )
    sparsity: SparsitySpace | None = Field(None, description="Per-layer N:M choices (base pattern nm/bdwp).")

    @field_validator("accelerator")
    @classmethod
    def _axes(cls, axes: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, values in axes.items():
            if name not in ACCELERATOR_AXES:
                raise ValueError(
                    f"unknown accelerator parameter {name!r} (known: {', '.join(ACCELERATOR_AXES)})"
                )
            if not isinstance(values, list) or not 1 <= len(values) <= MAX_CHOICES:
                raise ValueError(f"{name}: a list of 1 to {MAX_CHOICES} choices")
            if len({repr(v) for v in values}) != len(values):
                raise ValueError(f"{name}: choices repeat")
        return axes


class Constraints(_Strict):
    board: Literal["vcu1525"] | None = Field(
        "vcu1525", description="Resources of this board's FPGA (XCVU9P) bound every candidate; null: none."
    )
    budget: bool = Field(
        True, description="Hold the board core to the project's budget (50 % LUT, 70 % DSP), not the device."
    )
    retained_magnitude: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Least retained weight magnitude over the network (sum |w| kept / sum |w|).",
    )
    layer_retained_magnitude: float | None = Field(
        None, gt=0, le=1, description="Least retained weight magnitude of every searched layer."
    )
    resources: dict[str, float] | None = Field(
        None,
        description="Largest count per resource of the board core (e.g. {lut: 200000}; lut, ff, dsp, bram36, "
        "uram), on top of the board's budget: room kept for other logic on the device.",
    )
    logic_depth: bool = Field(
        True,
        description="Hold each candidate's longest register-to-register path (LUT levels, Yosys) to the "
        "limit its clock allows (docs/fpga.md, 'Logic depth'); applies with a board.",
    )
    power_w: float | None = Field(None, gt=0, le=10_000, description="Largest average power, W.")
    energy_j: float | None = Field(None, gt=0, le=1e9, description="Largest energy per iteration, J.")

    @field_validator("power_w", "energy_j", "retained_magnitude", "layer_retained_magnitude")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be finite")
        return v

    @field_validator("resources", mode="before")
    @classmethod
    def _caps(cls, caps: Any) -> Any:
        from ..fpga.device import RESOURCES

        if isinstance(caps, dict):  # strict mode would refuse an int count where a float is declared
            for r, v in caps.items():
                if r not in RESOURCES:
                    raise ValueError(f"unknown resource {r!r} (known: {', '.join(RESOURCES)})")
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                    raise ValueError(f"{r}: a positive count (got {v!r})")
            return {r: float(v) for r, v in caps.items()}
        return caps


class SearchSpec(_Strict):
    """A search file."""

    name: str | None = Field(None, description="Search name (default: the file's stem); a plain file name.")
    workload: str = Field(
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description="The base workload file, relative to the search file.",
    )
    space: Space
    constraints: Constraints = Field(default_factory=Constraints)
    objectives: list[Objective] = Field(
        default_factory=lambda: list(DEFAULT_OBJECTIVES), min_length=1, max_length=5
    )
    trials: int = Field(
        200, ge=1, le=MAX_TRIALS, description="Trials of the optimiser (fewer if exhaustive)."
    )
    batch: int = Field(
        8, ge=1, le=1024, description="Trials asked of the optimiser at once (part of the seeded result)."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the optimiser.")
    full_estimates: int = Field(
        1,
        ge=0,
        le=100,
        description="Pareto points (fastest first) whose resources a full Yosys run re-estimates.",
    )
    output: str | None = Field(None, min_length=1, max_length=MAX_PATH_CHARS, description="Output folder.")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str | None) -> str | None:
        return None if name is None else check_file_name(name)

    @model_validator(mode="after")
    def _something_to_search(self) -> SearchSpec:
        if not self.space.accelerator and self.space.sparsity is None:
            raise ValueError("space: give accelerator choices, sparsity choices or both")
        if len(set(self.objectives)) != len(self.objectives):
            raise ValueError("objectives repeat")
        return self


def load_search(path: str | Path) -> tuple[SearchSpec, Path]:
    """Read and validate a search file; returns the spec and the folder it is relative to."""
    path = Path(path)
    data = read_yaml_file(path, "search")
    if not isinstance(data, dict):
        raise SpecError(
            f"{path}: a search file is a mapping with workload, space and objectives (docs/search.md)"
        )
    if data.get("name") is None:
        data = {**data, "name": path.stem}
    try:
        spec = SearchSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: {validation_error_line(exc)}") from None
    return spec, path.parent.resolve()
