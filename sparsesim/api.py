"""The Python API: what the `sparsesim` command does, as functions for scripts and notebooks.

    import sparsesim as ss

    wl = ss.load("workloads/tiny-cnn-nm-2of4.yaml")       # or ss.load({...}) from a mapping built in code
    wl = wl.with_updates({"accelerator.rows": 16})       # change any field by its dotted path (re-validated)
    result = ss.run(wl)                                  # its target's simulation and the dense baseline
    result.summary["speedup"]                            # the typed summary (sparsesim.summary.Summary)
    result.ops                                           # the per-op table (pandas DataFrame)
    ss.save(result, "reports/tiny")                      # ops.csv, summary.json, report.html, ...

Every function raises the CLI's errors (sparsesim.errors): `SpecError` for a bad workload, `ModelError`,
`SparsityError`, `ToolError` (exit code 3 on the CLI); all are `SparsesimError`, whose `str()` is the one line
the CLI prints after `error:`. The CLI (sparsesim.commands) is a thin layer over these functions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from .errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

    from .pipeline import Prepared, Progress
    from .results import RunResult
    from .spec import Workload
    from .sweep import Sweep, SweepOutcome

# The spec (pydantic's models) is imported by the functions that read one: `model_rows` needs none of it.
WorkloadSource: TypeAlias = "str | Path | Mapping[str, Any] | Workload"


def load(source: WorkloadSource, *, base_dir: str | Path | None = None) -> Workload:
    """A validated Workload from a workload.yaml path, a mapping (the YAML's structure, built in code) or a
    Workload (returned as is). Relative paths in a mapping (ONNX files, modules) resolve against `base_dir`
    (default: the current folder). Raises SpecError naming the field and the fix."""
    from .spec import Workload, load_workload, workload_from_dict

    if isinstance(source, Workload):
        return source
    if isinstance(source, Mapping):
        return workload_from_dict(dict(source), base_dir=Path(base_dir) if base_dir else None)
    if isinstance(source, str | Path):
        return load_workload(source)
    raise SpecError(
        f"a workload is a path to a workload.yaml, a mapping or a Workload (got {type(source).__name__})"
    )


def validate(source: WorkloadSource) -> Workload:
    """`sparsesim validate`: load the workload and make the checks a run makes before any work (the zoo's
    defaults filled in for knobs the file leaves unset; on sat, sparsity the array can run). Returns the
    workload with the zoo's defaults filled in."""
    wl = load(source)
    if wl.model.source == "zoo":
        from .models import ZOO

        entry = ZOO[wl.model.name]
        defaults = {
            "model.input_size": entry.default_input_size,
            "model.seq_len": entry.default_seq_len,
            "model.num_classes": entry.default_num_classes,
        }
        unset = {
            k: v for k, v in defaults.items() if v is not None and getattr(wl.model, k.split(".")[1]) is None
        }
        wl = wl.with_updates(unset) if unset else wl
    if wl.target == "sat":
        from .sat.arch import check_workload_sparsity, resolve

        check_workload_sparsity(wl, resolve(wl.accelerator))
    return wl


def resolved(source: WorkloadSource) -> dict[str, dict[str, Any]]:
    """The hardware parameters the run uses, after the preset and the workload's overrides: dotted field ->
    {"value": ..., "source": ...} for the target's section (what `sparsesim validate` shows). On sat: every
    `accelerator.*` field the preset fills (empty with accelerator.scalesim, whose .cfg file describes the
    array). On mobile: the SoC preset's values behind the override fields (`mobile.clock_mhz`,
    `mobile.dram_bandwidth_gbs`, `mobile.dram_efficiency`). An entry with `"exact": False` is shown but
    cannot be written back as the field (a clock that differs between the cores the threads run on)."""
    wl = load(source)
    out: dict[str, dict[str, Any]] = {}
    if wl.target == "sat":
        if wl.accelerator.scalesim is not None:
            return out  # the .cfg file describes the array (sparsesim.scalesim)
        from .sat.arch import resolve

        arch = resolve(wl.accelerator)
        values = arch.to_dict()
        for name in type(wl.accelerator).model_fields:
            if name in values and name != "optimisations":
                out[f"accelerator.{name}"] = {"value": values[name], "source": arch.sources.get(name, "")}
        return out
    if wl.target == "mobile":
        return _resolved_mobile(wl)
    return out


def _resolved_mobile(wl: Workload) -> dict[str, dict[str, Any]]:
    """The SoC preset's values behind `mobile.clock_mhz`, `.dram_bandwidth_gbs` and `.dram_efficiency`."""
    from .mobile.soc import resolve_soc

    soc = resolve_soc(wl.mobile)
    # clock_mhz sets every big core's clock; it states the preset exactly only when the cores the threads
    # use share one clock (the Snapdragon 855's prime core runs faster than its other Gold cores).
    clocks_mhz = [round(c.clock_ghz * 1000, 6) for c in soc.cores[: wl.mobile.threads]]
    clock: dict[str, Any] = {"value": clocks_mhz[0], "source": soc.sources.get("cores", "")}
    if len(set(clocks_mhz)) > 1:
        clock["exact"] = False
        clock["source"] = (
            f"thread 0's core; the other threads' cores at {', '.join(f'{c:g}' for c in clocks_mhz[1:])} MHz "
            f"(so not written back). {clock['source']}"
        )
    return {
        "mobile.clock_mhz": clock,
        "mobile.dram_bandwidth_gbs": {"value": soc.dram_gbs, "source": soc.sources.get("dram_gbs", "")},
        "mobile.dram_efficiency": {
            "value": soc.dram_efficiency,
            "source": soc.sources.get("dram_efficiency", ""),
        },
    }


def with_resolved(wl: Workload) -> Workload:
    """A copy of `wl` whose unset hardware fields hold the values the run uses (`resolved`; entries marked
    `"exact": False` are left unset)."""
    unset = {
        path: item["value"]
        for path, item in resolved(wl).items()
        if item.get("exact", True) and getattr(getattr(wl, path.split(".")[0]), path.split(".")[1]) is None
    }
    return wl.with_updates(unset) if unset else wl


def prepare(
    source: WorkloadSource,
    *,
    progress: Progress | None = None,
    dense: bool = False,
    cache: bool | None = False,
) -> Prepared:
    """The front end alone: the traced layer graph (`.graph`, a networkx DiGraph), the masks (`.prune`) and
    the lowered op graph (`.ops`; `.ops_frame()` as a DataFrame). `dense=True` ignores the sparsity.
    `cache`: read and store a built-in model's front end in the cache folder (sparsesim.front_cache; None:
    unless SPARSESIM_NO_CACHE is set); the default builds it fresh."""
    from .pipeline import prepare as _prepare

    return _prepare(load(source), progress=progress, dense=dense, cache=cache)


def run(
    source: WorkloadSource,
    *,
    ablate: bool = False,
    sensitivity: bool = False,
    progress: Progress | None = None,
    cache: bool | None = None,
) -> RunResult:
    """Simulate the workload on its target and its dense baseline (`result.baseline`). With `ablate`, also
    with each optimisation (sat) or sparse kernel (mobile) off; with `sensitivity`, also with each uncertain
    preset parameter at the ends of its plausible range (summary `sensitivity`). `progress(message, done=,
    total=)` follows the steps. `cache`: keep a built-in model's front end in the user's cache folder and
    reuse it (sparsesim.front_cache: no torch import on a hit); None means on unless the environment sets
    SPARSESIM_NO_CACHE, False reads and writes nothing there. Returns a RunResult: `.summary`, `.ops`,
    `.graph`, `.energy`, `.baseline`."""
    from .targets import simulate

    t0 = time.perf_counter()
    wl = load(source)
    result = simulate(wl, progress=progress, ablate=ablate, sensitivity=sensitivity, cache=cache)
    result.summary["wall_seconds"] = time.perf_counter() - t0
    return result


def save(result: RunResult, folder: str | Path | None = None, *, workload: Workload | None = None) -> Path:
    """Write the run's outputs into `folder` (default: the workload's output.dir): workload.yaml, ops.csv,
    baseline_ops.csv, timeline.csv (sat), summary.json and the reports. The folder is written whole or not
    at all; a folder sparsesim did not write is refused (SpecError). `workload` (default: the result's) is
    written as workload.yaml. Returns the folder."""
    from .io import atomic_dir, check_output_dir
    from .report import write_reports
    from .results import write_outputs

    wl = workload if workload is not None else result.workload
    if folder is not None:
        out = Path(folder)
    elif wl is not None:
        out = wl.output_dir()
    else:
        raise SpecError("save: give the output folder (this result carries no workload to take it from)")
    check_output_dir(out, "folder" if folder is not None else "output.dir")
    with atomic_dir(out) as tmp:
        if wl is not None:
            (tmp / "workload.yaml").write_text(wl.to_yaml())
        write_outputs(result, tmp)
        write_reports(result, tmp)
        if "sensitivity" in result.summary:
            from .sensitivity import write_csv

            write_csv(result.summary["sensitivity"], tmp)
    result.summary["output_dir"] = str(out)
    return out


def load_sweep(source: str | Path | Mapping[str, Any], *, base_dir: str | Path | None = None) -> Sweep:
    """A validated sweep (docs/sweeps.md) from a sweep file or a mapping; `base` paths in a mapping resolve
    against `base_dir` (default: the current folder)."""
    from .sweep import load_sweep as _load_file
    from .sweep import sweep_from_dict

    if isinstance(source, Mapping):
        return sweep_from_dict(dict(source), base_dir=Path(base_dir) if base_dir else None)
    return _load_file(source)


def run_sweep(
    source: str | Path | Mapping[str, Any] | Sweep,
    *,
    workers: int | None = 0,
    output: str | Path | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
) -> SweepOutcome:
    """Run a sweep's points (cached by spec hash under `output`/points), then write sweep.csv and the Pareto
    plot. `workers=0` (the default here) runs the points in this process; `None` starts a local Dask cluster.
    The outcome's `.table` is sweep.csv as a DataFrame, `.front` the Pareto front's point numbers."""
    from .io import check_output_dir
    from .sweep import Sweep
    from .sweep import run_sweep as _run

    sweep = source if isinstance(source, Sweep) else load_sweep(source)
    if output is not None:
        sweep.output = Path(output)
        check_output_dir(sweep.output, "output")
    return _run(sweep, workers=workers, fresh=fresh, progress=progress)


def model_rows() -> list[dict[str, str]]:
    """The built-in models (`sparsesim models`): name, kind, description (no pandas or torch imported)."""
    from .models import ZOO

    return [
        {"name": e.name, "kind": str(getattr(e.kind, "value", e.kind)), "description": e.description}
        for e in sorted(ZOO.values(), key=lambda e: e.name)
    ]


def list_models() -> pd.DataFrame:
    """The built-in models as a DataFrame: name, kind, description."""
    import pandas as pd

    return pd.DataFrame(model_rows(), columns=["name", "kind", "description"])
