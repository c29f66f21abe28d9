"""Design-space sweeps (docs/sweeps.md): one base workload, axes over any spec field by dotted path, each
point an independent task on Dask, results cached by the hash of the point's resolved spec.

    sweep = load_sweep("workloads/sweep-array-vs-nm.yaml")  # validates the file and every point
    outcome = run_sweep(sweep, workers=2)  # or scheduler="tcp://host:8786", or workers=0 (no Dask)
    outcome.table  # one row per point: axis values + summary metrics

Cache and resume: the task of a point writes `<output>/points/<hash>.json` itself (atomically, from the
worker, so a point survives a crash of the client) and returns the same record. A point whose file exists is
not run again, so a rerun of an interrupted sweep only runs the missing points. The combined `sweep.csv` and
the Pareto plot are rebuilt from the cache at the end of every run. The sweep file format: docs/sweeps.md.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import itertools
import json
import logging
import math
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import __version__
from .errors import SparsesimError, SpecError, ToolError
from .io import atomic_write_text, check_output_dir, claim_dir
from .results import jsonable
from .spec import (
    MAX_PATH_CHARS,
    Workload,
    check_file_name,
    load_workload,
    read_yaml_file,
    validation_error_line,
    workload_from_dict,
)

Progress = Callable[..., None]

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
# Scalar summary keys of each target's run (sparsesim.sat.simulate / sparsesim.mobile.simulate), so that a
# pareto column can be checked before any point runs. tests/test_hardening_sat.py runs both targets and
# checks every scalar they produce is listed here.
_ENERGY_COLUMNS = frozenset(  # sparsesim.energy's summary scalars, the same on both targets
    "avg_power_w dense_energy_j energy_gain energy_j energy_model gflops_per_w static_energy_j".split()
)
SUMMARY_COLUMNS: dict[str, frozenset[str]] = {
    "sat": _ENERGY_COLUMNS
    | frozenset(
        "ablation_baseline array_bound_cycles array_bound_speedup batch_size clock_mhz "
        "dense_equivalent_tflops dense_latency_ms dense_simulation_wall_seconds dense_total_cycles "
        "dram_bandwidth_gbs dram_bytes effective_tflops front_end_wall_seconds ideal_speedup "
        "ideal_speedup_formula latency_ms macs model nm nm_formula_speedup note pattern seconds_simulated "
        "simulation_wall_seconds speedup task total_cycles useful_macs utilisation wall_seconds".split()
    ),
    "mobile": _ENERGY_COLUMNS
    | frozenset(
        "batch_size clock_mhz core cores_used dense_latency_ms dense_total_cycles dram_bytes "
        "effective_gflops latency_ms layout macs memory_bound_ops model name pattern seconds_simulated soc "
        "speedup target task threads total_cycles useful_macs utilisation weights_home".split()
    ),
}
TABLE_COLUMNS = ("point", "hash", "status", "error")  # build_table's own columns


# ---------------------------------------------------------------------------------------------- the file
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
    from .sat.arch import check_patterns_supported, resolve

    check_patterns_supported(wl)
    arch = resolve(wl.accelerator)
    sp = wl.sparsity
    if sp.pattern in ("nm", "bdwp") and sp.n is not None and sp.m is not None and sp.n < sp.m:
        arch.check_nm(sp.n, sp.m)


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


# ------------------------------------------------------------------------------------------- the cache
def point_path(points_dir: Path, key: str) -> Path:
    return points_dir / f"{key}.json"


def read_point(points_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached record of a point, or None when absent or unusable (then the point runs again)."""
    try:
        record = json.loads(point_path(points_dir, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("hash") != key:
        return None
    if record.get("status") not in POINT_STATUSES_CACHED:
        return None
    return record


def write_point(points_dir: Path, record: dict[str, Any]) -> Path:
    path = point_path(points_dir, record["hash"])
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=False) + "\n")
    return path


def run_point(spec: dict[str, Any], base_dir: str, key: str, points_dir: str | None, run_id: str) -> dict:
    """The task of one point (runs on a Dask worker): simulate, write the cache file, return the record.

    The worker writes the file when `points_dir` exists where it runs (local cluster, shared filesystem), so
    the point survives a crash of the client; otherwise the client writes it when the record arrives.
    A SparsesimError (e.g. an N:M the array cannot run) is a deterministic outcome: recorded with status
    "error" and cached. Any other exception is a bug: it propagates (the client records a crash, not cached).
    """
    from .commands.run import simulate

    wl = workload_from_dict(dict(spec), base_dir=Path(base_dir))
    if wl.spec_hash() != key:
        raise RuntimeError(f"spec hash differs between client ({key}) and worker ({wl.spec_hash()})")
    t0 = time.perf_counter()
    record: dict[str, Any] = {"hash": key, "status": "ok", "error": None}
    try:
        result = simulate(wl)
        record["summary"] = jsonable(result.summary)
    except SparsesimError as exc:
        record.update(status="error", error=str(exc), summary={})
    record.update(
        wall_seconds=time.perf_counter() - t0,
        finished_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        host=socket.gethostname(),
        run_id=run_id,
        sparsesim_version=__version__,
        workload=spec,
    )
    if points_dir is not None and Path(points_dir).is_dir():
        write_point(Path(points_dir), record)
    return record


# ---------------------------------------------------------------------------------------------- running
class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep, after the cluster was shut down; the cache holds every finished point."""

    def __init__(self, cached: int, total: int, points_dir: Path) -> None:
        super().__init__(f"{cached} of {total} points cached in {points_dir}")
        self.cached, self.total, self.points_dir = cached, total, points_dir


@dataclass
class SweepOutcome:
    sweep: Sweep
    points: list[Point]
    records: dict[int, dict[str, Any]]  # point index -> record (cached or new; absent for skipped points)
    table: pd.DataFrame
    front: list[int]  # point indices on the Pareto front
    pareto_axes: tuple[str, str]
    ran: int
    cached: int
    workers: int
    wall_seconds: float
    files: list[Path]
    notes: list[str]


def run_sweep(
    sweep: Sweep,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
) -> SweepOutcome:
    """Run the points that are not cached (all with `fresh`), then write sweep.csv and the Pareto plot.

    `workers=0` runs the points in this process (no Dask); `scheduler` connects to an existing Dask cluster;
    otherwise a local cluster of `workers` processes (default: min(points to run, CPUs)).
    """
    t0 = time.perf_counter()
    say = progress or (lambda *_a, **_k: None)
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
    sweep.check_pareto()
    check_output_dir(sweep.output)  # a folder sparsesim did not write is refused before any work
    points = sweep.points()
    valid = [p for p in points if p.key is not None]
    points_dir = sweep.points_dir

    def claim() -> None:  # only once the points can run (e.g. the scheduler answered): else nothing written
        claim_dir(sweep.output)
        points_dir.mkdir(parents=True, exist_ok=True)

    unique = list({p.key: p for p in reversed(valid)}.values())[::-1]  # first point of each spec
    by_key: dict[str, dict[str, Any]] = {}
    if not fresh:
        for p in unique:
            rec = read_point(points_dir, str(p.key))
            if rec is not None:
                by_key[str(p.key)] = rec
    cached = len(by_key)
    todo = [p for p in unique if p.key not in by_key]
    run_id = uuid.uuid4().hex[:12]
    used_workers = 0
    done = 0

    def on_done(point: Point, record: dict[str, Any]) -> None:
        nonlocal done
        key = str(point.key)
        if record.get("status") in POINT_STATUSES_CACHED:
            on_disk = read_point(points_dir, key)
            if on_disk is None or on_disk.get("run_id") != record.get("run_id"):
                write_point(points_dir, record)  # the worker could not (no shared filesystem)
        by_key[key] = record
        done += 1
        say(f"{sweep.name}: points", done=done, total=len(todo))

    if todo:
        say(f"{len(valid)} points: {cached} cached, {len(todo)} to run")
        try:
            if workers == 0 and scheduler is None:
                used_workers = 1
                claim()
                for p in todo:
                    on_done(p, _guarded(p, str(points_dir), run_id))
            else:
                used_workers = _run_on_dask(
                    todo, str(points_dir), run_id, workers, scheduler, on_done, ready=claim
                )
        except KeyboardInterrupt:
            have = sum(1 for p in unique if read_point(points_dir, str(p.key)) is not None)
            raise SweepInterrupted(have, len(unique), points_dir) from None
    claim()
    records = {p.index: by_key[p.key] for p in valid if p.key in by_key}
    outcome = _finish(sweep, points, records, cached, len(todo), used_workers, time.perf_counter() - t0)
    return outcome


def _guarded(point: Point, points_dir: str, run_id: str) -> dict[str, Any]:
    assert point.workload is not None and point.key is not None
    try:
        return run_point(
            point.workload.to_dict(), str(point.workload.base_dir), point.key, points_dir, run_id
        )
    except Exception as exc:  # a bug in the simulator: recorded, not cached, retried on rerun
        return _crash(point, exc)


def _crash(point: Point, exc: BaseException) -> dict[str, Any]:
    import traceback

    return {
        "hash": point.key,
        "status": "crash",
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
        "summary": {},
    }


def _run_on_dask(
    todo: list[Point],
    points_dir: str,
    run_id: str,
    workers: int | None,
    scheduler: str | None,
    on_done: Callable[[Point, dict[str, Any]], None],
    ready: Callable[[], None] = lambda: None,
) -> int:
    """Submit one task per point and hand each record to `on_done` as it completes; returns the worker count.
    `ready()` runs once the cluster is up, before the first task (it creates the output folder).

    On any exception (Ctrl-C included) the futures are cancelled and a local cluster is closed before the
    exception propagates; finished points are already in the cache.
    """
    try:
        from distributed import Client, LocalCluster, wait
    except ImportError:
        raise ToolError(
            "sweeps run on Dask, which is not installed: pip install 'sparsesim[sweep]' "
            "(or pass --workers 0 to run the points in this process)"
        ) from None
    cluster = None
    if scheduler:
        _probe_scheduler(scheduler)  # refused or unroutable: fails in seconds, not after Client's timeout
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise ToolError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    else:
        n = workers or min(len(todo), os.cpu_count() or 1)
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # The scheduler's HTTP routes on a free local port, not 8787 (busy: a warning on stderr).
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
            preload=[__name__],  # dask_setup below: the workers leave Ctrl-C to this process
        )
        client = Client(cluster)
    futures: list[Any] = []
    interrupted, restore_sigint = _watch_sigint()
    try:
        ready()
        n_workers = len(client.nthreads()) or (workers or 1)
        for p in todo:
            assert p.workload is not None
            spec, base_dir = p.workload.to_dict(), str(p.workload.base_dir)
            key = f"sparsesim-point-{p.key}"  # one task per spec, also across clients of a shared cluster
            futures.append(client.submit(run_point, spec, base_dir, p.key, points_dir, run_id, key=key))
        point_of = {f.key: p for f, p in zip(futures, todo)}
        pending = set(futures)
        while pending:
            # Checked between waits: distributed may swallow a KeyboardInterrupt raised inside its own code.
            if interrupted.is_set():
                raise KeyboardInterrupt
            try:
                finished, pending = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for fut in finished:
                p = point_of[fut.key]
                try:
                    record = fut.result()
                except Exception as exc:
                    record = _crash(p, exc)
                on_done(p, record)
        return n_workers
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
        raise
    finally:
        restore_sigint()
        _quietly_close(client, cluster)


SCHEDULER_TIMEOUT_SECONDS = 10  # our choice: a scheduler that accepted TCP answers in well under a second
_SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")


def check_scheduler_address(address: str) -> str:
    """`--scheduler`: 'tcp://host:port' (or tls/ws/wss, or plain 'host:port' for tcp). Returns the address
    with its scheme; raises a one-line SpecError naming what is wrong."""
    from urllib.parse import urlsplit

    text = address.strip()
    full = text if "://" in text else f"tcp://{text}"
    hint = "give tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
    try:
        parts = urlsplit(full)
        port = parts.port
    except ValueError as exc:
        raise SpecError(f"--scheduler {address!r}: {exc}; {hint}") from None
    if parts.scheme == "inproc":  # a cluster in this very process (distributed's in-process transport)
        return full
    if parts.scheme not in _SCHEDULER_SCHEMES:
        schemes = ", ".join(_SCHEDULER_SCHEMES)
        raise SpecError(f"--scheduler {address!r}: unknown scheme '{parts.scheme}' ({schemes}); {hint}")
    if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SpecError(f"--scheduler {address!r}: needs a host and a port; {hint}")
    if port == 0:
        raise SpecError(f"--scheduler {address!r}: port 0 is not a scheduler's port; {hint}")
    return full


def _probe_scheduler(address: str, timeout_s: float = 5.0) -> None:
    """Open (and close) a TCP connection to the scheduler: a refused or unroutable address fails fast."""
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme == "inproc":
        return
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ToolError(
            f"cannot reach the Dask scheduler at {address}: {reason} (is it running? start one with "
            "`dask scheduler`, or drop --scheduler to use a local cluster)"
        ) from None


def _watch_sigint() -> tuple[threading.Event, Callable[[], None]]:
    """Record Ctrl-C in an Event (and still raise KeyboardInterrupt at once); returns it and a restorer."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return interrupted, lambda: None

    def on_sigint(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    return interrupted, lambda: signal.signal(signal.SIGINT, previous)


def dask_setup(worker: Any) -> None:
    """Preload hook of the local cluster's workers: ignore SIGINT. A Ctrl-C at the terminal reaches the whole
    process group; this process then cancels the tasks and closes the cluster, and the workers must not die
    first with tracebacks of their own."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _quietly_close(client: Any, cluster: Any) -> None:
    """Close the client and a local cluster without the shutdown chatter of distributed's loggers."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with contextlib.suppress(Exception):
            client.close(timeout=10)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


# ------------------------------------------------------------------------------------ table and outputs
def flat_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """Scalar summary values, with the sections in FLATTEN as `section.key` columns."""
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if isinstance(v, dict):
            if k in FLATTEN:
                for kk, vv in v.items():
                    if isinstance(vv, list):
                        vv = " ".join(map(str, vv))
                    if not isinstance(vv, dict):
                        out[f"{k}.{kk}"] = vv
        elif isinstance(v, list):
            if len(v) <= 16 and all(not isinstance(x, dict | list) for x in v):
                out[k] = " ".join(map(str, v))
        else:
            out[k] = v
    return out


def cost_columns(summary: dict[str, Any]) -> dict[str, Any]:
    """pes = rows x cols; dsp = DSP48E2 slices of the PE array (SatArch.array_dsp: per multiplier lane; the
    sorter, vector and update lanes are not counted). Empty for targets without an array (mobile)."""
    arch = summary.get("arch") or {}
    if not all(isinstance(arch.get(k), int | float) for k in ("rows", "cols", "dsp")):
        return {}
    return {"pes": int(arch["rows"]) * int(arch["cols"]), "dsp": int(arch["dsp"])}


def build_table(sweep: Sweep, points: list[Point], records: dict[int, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for p in points:
        rec = records.get(p.index)
        row: dict[str, Any] = {"point": p.index, "hash": p.key or ""}
        if rec is None:
            row.update(status="skipped", error=p.error or "")
        else:
            row.update(status=rec.get("status", ""), error=rec.get("error") or "")
        row.update({path: _display(v) for path, v in p.values.items()})
        summary = (rec or {}).get("summary") or {}
        row.update(cost_columns(summary))
        row.update(flat_metrics(summary))
        rows.append(row)
    return pd.DataFrame(rows)


def _finish(
    sweep: Sweep,
    points: list[Point],
    records: dict[int, dict[str, Any]],
    cached: int,
    ran: int,
    workers: int,
    elapsed: float,
) -> SweepOutcome:
    from .report import sweep_report

    table = build_table(sweep, points, records)
    notes = [f"skipped point {p.index} ({describe(p.values)}): {p.error}" for p in points if p.key is None]
    x, y = sweep.pareto.x or sweep.default_pareto()[0], sweep.pareto.y or sweep.default_pareto()[1]
    sweep.output.mkdir(parents=True, exist_ok=True)
    csv_path = sweep.output / "sweep.csv"
    atomic_write_text(csv_path, table.to_csv(index=False))
    files = [csv_path]
    front: list[int] = []
    missing = [c for c in (x, y) if c not in table.columns]
    if missing:
        notes.append(
            f"pareto: no column {', '.join(repr(m) for m in missing)} in sweep.csv, so no Pareto plot "
            f"(set pareto.x / pareto.y to columns of sweep.csv)"
        )
    else:
        groups = _groups(sweep, points, table)
        front, page, chart = sweep_report.pareto_outputs(sweep, table, x, y, groups)
        for name, text in (("pareto.html", page), ("pareto.svg", chart)):
            atomic_write_text(sweep.output / name, text)
            files.append(sweep.output / name)
    return SweepOutcome(
        sweep, points, records, table, front, (x, y), ran, cached, workers, elapsed, files, notes
    )


def _groups(sweep: Sweep, points: list[Point], table: pd.DataFrame) -> list[str]:
    chosen = sweep.pareto.color
    if chosen and not any(chosen in a.paths or chosen == a.label for a in sweep.axes):
        if chosen in table.columns:
            return [f"{chosen}={v}" for v in table[chosen]]
        return [sweep.name] * len(points)
    return [sweep.color_of(p) for p in points]
