"""The grid: a sweep file -> its axes and points, each point a resolved, validated Workload with its spec hash
(the cache key). `load_sweep` / `sweep_from_dict` build a `Sweep`; `Sweep.points()` lists its points."""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import SparsesimError, SpecError
from ..spec import (
    Workload,
    check_file_name,
    load_workload,
    validation_error_line,
    workload_from_dict,
)
from .spec import (
    DEFAULT_PARETO,
    FLATTEN,
    SUMMARY_COLUMNS,
    TABLE_COLUMNS,
    ParetoSpec,
    SweepSpec,
    check_path,
    read_yaml_mapping,
)


@dataclass(frozen=True)
class Axis:
    """One dimension of the sweep: a single path (from `axes`) or several varying together (a `zip` group)."""

    paths: tuple[str, ...]
    settings: tuple[tuple[Any, ...], ...]  # one tuple of values (aligned with paths) per setting

    @property
    def label(self) -> str:
        return " + ".join(self.paths)


@dataclass
class Point:
    index: int  # 1-based position in the sweep (the cartesian order: the last axis varies fastest)
    values: dict[str, Any]  # path -> value
    workload: Workload | None  # None when the spec rejects the point
    key: str | None  # the resolved spec's hash (Workload.spec_hash), None when invalid
    error: str | None = None  # why the spec rejects it


@dataclass
class Sweep:
    name: str
    base: Workload
    axes: list[Axis]
    output: Path
    skip_invalid: bool = False
    pareto: ParetoSpec = field(default_factory=ParetoSpec)
    source: Path | None = None

    def combinations(self) -> Iterator[dict[str, Any]]:
        for combo in itertools.product(*(axis.settings for axis in self.axes)):
            values: dict[str, Any] = {}
            for axis, setting in zip(self.axes, combo):
                values.update(zip(axis.paths, setting))
            yield values

    @property
    def size(self) -> int:
        return math.prod(len(a.settings) for a in self.axes)

    def points(self) -> list[Point]:
        """Every point, resolved and validated. Raises SpecError on the first invalid point unless
        `skip_invalid` (then the point is kept with its error, and not run)."""
        out = []
        for i, values in enumerate(self.combinations(), start=1):
            try:
                wl = self.base.with_updates(values) if values else self.base
                precheck(wl)
            except SparsesimError as exc:
                where = f"{self.source}: " if self.source else ""
                message = f"{where}point {i}/{self.size} ({describe(values)}): {exc}"
                if not self.skip_invalid:
                    raise SpecError(f"{message} (set skip_invalid: true to skip such points)") from None
                out.append(Point(i, values, None, None, str(exc)))
                continue
            out.append(Point(i, values, wl, wl.spec_hash()))
        return out

    @property
    def points_dir(self) -> Path:
        return self.output / "points"

    def default_pareto(self) -> tuple[str, str]:
        return DEFAULT_PARETO.get(self.base.target, DEFAULT_PARETO["sat"])

    def pareto_axes(self) -> tuple[str, str]:
        x, y = self.default_pareto()
        return self.pareto.x or x, self.pareto.y or y

    def is_column(self, name: str) -> bool:
        """Whether sweep.csv will have column `name` (before any point runs): build_table's own columns, the
        swept paths, the cost columns (sat), the target's summary scalars and `<section>.<key>` columns of
        the flattened summary sections."""
        target = self.base.target
        axis_paths = {p for a in self.axes for p in a.paths}
        if name in TABLE_COLUMNS or name in axis_paths or name in SUMMARY_COLUMNS.get(target, ()):
            return True
        if target == "sat" and name in ("pes", "dsp"):
            return True
        section, dot, key = name.partition(".")
        return bool(dot and key) and section in FLATTEN

    def check_pareto(self) -> None:
        """Raise SpecError if a pareto column cannot appear in sweep.csv (before any work)."""
        for field_name, column in zip(("x", "y"), self.pareto_axes()):
            if not self.is_column(column):
                known = sorted(
                    {*SUMMARY_COLUMNS.get(self.base.target, ()), *(p for a in self.axes for p in a.paths)}
                    | ({"pes", "dsp"} if self.base.target == "sat" else set())
                )
                close = difflib.get_close_matches(column, known, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise SpecError(
                    f"pareto.{field_name}: no column '{column}' in sweep.csv on target "
                    f"{self.base.target} ({hint}columns: {', '.join(known)})"
                )

    def color_of(self, point: Point) -> str:
        """The legend group of a point: its value on `pareto.color`, else on the last axis."""
        chosen = self.pareto.color
        if chosen:
            axis = next((a for a in self.axes if chosen in a.paths or chosen == a.label), None)
            if axis is None:
                return ""  # a table column: resolved from the table (see _groups)
        else:
            axis = self.axes[-1] if self.axes else None
        if axis is None:
            return self.name
        return ", ".join(f"{_short_path(p)}={_display(point.values[p])}" for p in axis.paths)


def describe(values: dict[str, Any]) -> str:
    """'accelerator.rows=16, sparsity.n=2' (one line)."""
    return ", ".join(f"{k}={_display(v)}" for k, v in values.items()) or "the base workload"


def _display(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(", ", ": "))
    return v


def _short_path(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def precheck(wl: Workload) -> None:
    """Checks a run would make before doing any work, so a sweep rejects bad points before it starts:
    on sat, the accelerator must resolve and run the workload's N:M (sparsesim.sat.arch)."""
    if wl.target != "sat":
        return
    from ..sat.arch import check_patterns_supported, resolve

    check_patterns_supported(wl)
    arch = resolve(wl.accelerator)
    sp = wl.sparsity
    if sp.pattern in ("nm", "bdwp") and sp.n is not None and sp.m is not None and sp.n < sp.m:
        arch.check_nm(sp.n, sp.m)


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (not yet its points: see Sweep.points)."""
    path = Path(path)
    data = read_yaml_mapping(path)
    try:
        return sweep_from_dict(data, base_dir=path.parent, default_name=path.stem, source=path)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def sweep_from_dict(
    data: dict[str, Any],
    *,
    base_dir: Path | None = None,
    default_name: str = "sweep",
    source: Path | None = None,
) -> Sweep:
    base_dir = (base_dir or Path.cwd()).resolve()
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_error_line(exc)) from None
    if isinstance(spec.base, str):
        base_path = (base_dir / spec.base).resolve()
        try:
            base = load_workload(base_path)
        except SpecError as exc:
            raise SpecError(f"base: {exc}") from None
    else:
        try:
            # No default name from the sweep: renaming a sweep must not change its points' cache keys.
            base = workload_from_dict(dict(spec.base), base_dir=base_dir)
        except SpecError as exc:
            raise SpecError(f"base.{exc}") from None
    axes: list[Axis] = []
    seen: set[str] = set()

    def claim(path: str, where: str) -> None:
        if path in seen:
            raise SpecError(f"{where}: '{path}' is swept twice (each path in one axis or zip group only)")
        seen.add(path)
        try:
            check_path(path)
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None

    for path, values in spec.axes.items():
        where = f"axes['{path}']"
        claim(path, where)
        if not values:
            raise SpecError(f"{where}: needs at least one value")
        axes.append(Axis((path,), tuple((v,) for v in values)))
    for i, group in enumerate(spec.zip):
        where = f"zip[{i}]"
        if not group:
            raise SpecError(f"{where}: an empty group (give paths with lists of equal length)")
        lengths = {p: len(v) for p, v in group.items()}
        if len(set(lengths.values())) != 1:
            listing = ", ".join(f"{p}: {n}" for p, n in lengths.items())
            raise SpecError(f"{where}: the lists must have one length (got {listing})")
        if not next(iter(lengths.values())):
            raise SpecError(f"{where}: needs at least one value")
        for path in group:
            claim(path, where)
        axes.append(Axis(tuple(group), tuple(zip(*group.values()))))
    if spec.name is None:
        try:
            check_file_name(default_name)
        except ValueError as exc:
            raise SpecError(
                f"name: the sweep name defaults to the file's name {default_name!r}, which {exc}; set name:"
            ) from None
    name = spec.name or default_name
    output = Path(spec.output) if spec.output else Path("reports") / name
    sweep = Sweep(name, base, axes, output, spec.skip_invalid, spec.pareto, source)
    sweep.check_pareto()
    return sweep
