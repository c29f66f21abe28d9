"""Design-space sweeps (docs/sweeps.md): one base workload, axes over any spec field by dotted path, each
point an independent task on Dask, results cached by the hash of the point's resolved spec.

    sweep = load_sweep("workloads/sweep-array-vs-nm.yaml")  # validates the file and every point
    outcome = run_sweep(sweep, workers=2)  # or scheduler="tcp://host:8786", or workers=0 (no Dask)
    outcome.table  # one row per point: axis values + summary metrics

The parts, one module each:
- `spec`: the sweep file's schema, and the columns sweep.csv will have;
- `points`: the grid (axes, zip groups) -> points, each a validated Workload keyed by its spec hash;
- `cache`: one record per point under `<output>/points/<hash>.json`, written by the task that ran it;
- `execution`: running the uncached points in this process or on Dask, Ctrl-C included;
- `front`: sweep.csv and the Pareto front and plot, rebuilt from the cache at the end of every run.

Nothing here imports the CLI layer: points run through sparsesim.targets.simulate.
"""

from __future__ import annotations

from .cache import point_path, read_point, run_point, write_point
from .execution import (
    SCHEDULER_TIMEOUT_SECONDS,
    Progress,
    SweepInterrupted,
    check_scheduler_address,
    dask_setup,
    run_sweep,
)
from .front import SweepOutcome, build_table, cost_columns, finish, flat_metrics
from .points import Axis, Point, Sweep, describe, load_sweep, precheck, sweep_from_dict
from .spec import (
    DEFAULT_PARETO,
    FLATTEN,
    POINT_STATUSES_CACHED,
    SUMMARY_COLUMNS,
    TABLE_COLUMNS,
    ParetoSpec,
    SweepSpec,
    check_path,
    read_yaml_mapping,
)

__all__ = [
    "DEFAULT_PARETO", "FLATTEN", "POINT_STATUSES_CACHED", "SCHEDULER_TIMEOUT_SECONDS", "SUMMARY_COLUMNS",
    "TABLE_COLUMNS", "Axis", "ParetoSpec", "Point", "Progress", "Sweep", "SweepInterrupted", "SweepOutcome",
    "SweepSpec", "build_table", "check_path", "check_scheduler_address", "cost_columns", "dask_setup",
    "describe", "finish", "flat_metrics", "load_sweep", "point_path", "precheck", "read_point",
    "read_yaml_mapping", "run_point", "run_sweep", "sweep_from_dict", "write_point",
]  # fmt: skip
