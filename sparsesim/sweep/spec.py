"""The sweep file's schema (docs/sweeps.md) and the columns sweep.csv will have (checked before any point
runs: a Pareto column must be one of them)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import SpecError
from ..spec import (
    MAX_PATH_CHARS,
    Workload,
    check_file_name,
    read_yaml_file,
)
from ..summary import column_keys

POINT_STATUSES_CACHED = ("ok", "error")  # deterministic outcomes; "crash" (a bug) is retried on rerun


# Summary sections flattened into `section.key` columns of sweep.csv; other nested values are left out.
FLATTEN = (
    "cycles_per_pass",
    "ablation",
    "stall_cycles_by_cause",
    "engine_utilisation",
    "cycles_by_kernel",
    "arch",
)


DEFAULT_PARETO = {"sat": ("dsp", "seconds_simulated"), "mobile": ("threads", "latency_ms")}


# The summary keys of each target that become sweep.csv columns (sparsesim.summary, the one declaration of the
# summary), so a pareto column can be checked before any point runs.
SUMMARY_COLUMNS: dict[str, frozenset[str]] = {target: column_keys(target) for target in ("sat", "mobile")}


TABLE_COLUMNS = ("point", "hash", "status", "error")  # build_table's own columns


class ParetoSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    x: str | None = Field(None, description="Cost column (default: dsp on sat, threads on mobile).")
    y: str | None = Field(
        None, description="Time column (default: seconds_simulated on sat, latency_ms on mobile)."
    )
    color: str | None = Field(
        None, description="Axis path or column that colours the points (default: last axis)."
    )


class SweepSpec(BaseModel):
    """A sweep file (docs/sweeps.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(None, description="Sweep name (default: the file's stem); a plain file name.")
    base: str | dict[str, Any] = Field(
        description="The base workload: a workload file (relative to the sweep file) or an inline mapping."
    )
    axes: dict[str, list[Any]] = Field(
        default_factory=dict, description="Dotted spec path -> values; the sweep is their cartesian product."
    )
    zip: list[dict[str, list[Any]]] = Field(
        default_factory=list,
        description="Groups of paths whose value lists have one length and vary together (one axis each).",
    )
    output: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description="Output folder (default: reports/<name>, relative to the cwd).",
    )
    skip_invalid: bool = Field(
        False, description="Skip points the spec rejects (with a note) instead of failing the sweep."
    )
    pareto: ParetoSpec = Field(default_factory=ParetoSpec)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str | None) -> str | None:
        return None if name is None else check_file_name(name)

    @field_validator("output")
    @classmethod
    def _plain_output(cls, output: str | None) -> str | None:
        if output is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in output):
            raise ValueError("must not contain control characters")
        return output


def check_path(dotted: str) -> None:
    """Raise SpecError unless `dotted` names a field of the workload schema (dict fields take any key)."""
    model: Any = Workload
    keys = dotted.split(".")
    for depth, key in enumerate(keys):
        if model is None:  # inside a free-form mapping (overrides, kwargs)
            return
        fields = model.model_fields
        if key not in fields:
            where = ".".join(keys[:depth]) or "(top level)"
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"did you mean '{'.'.join([*keys[:depth], close[0]])}'? " if close else ""
            raise SpecError(f"'{dotted}' is not a workload field ({hint}{where} has: {', '.join(fields)})")
        ann = fields[key].annotation
        args = getattr(ann, "__args__", (ann,))
        nested = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        is_mapping = getattr(ann, "__origin__", None) is dict
        if depth < len(keys) - 1 and not nested and not is_mapping:
            raise SpecError(f"'{dotted}': '{'.'.join(keys[: depth + 1])}' is a value, not a section")
        model = nested[0] if nested else None


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping; every failure is a one-line SpecError."""
    data = read_yaml_file(path, "sweep")
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a sweep file is a mapping with base and axes (docs/sweeps.md)")
    return data
