"""The run summary (results contract, docs/architecture.md): every key either target writes, typed once.

`RunResult.summary` is a plain dict at run time (it is written to summary.json and cached by sweeps as JSON),
typed as the TypedDict `Summary` so that a type checker catches a misspelled or unknown key wherever a
summary is built or read (mypy, configured in pyproject.toml, runs in the tests).

- `CommonSummary`: the keys both targets write (and `EnergySummary`, sparsesim.energy's keys);
- `SatSummary` / `MobileSummary`: what `sparsesim.sat.simulate` / `sparsesim.mobile.simulate` add;
- `Summary`: either target's summary: the type of `RunResult.summary`, which both simulators build and every
  reader (reports, sweeps, the CLI) takes. The per-target classes say which keys each target writes.

Every key is optional to the type checker: a dense baseline's summary holds only the simulation's own keys,
and `--ablate` adds the ablation keys. `summary_keys(target)` and `column_keys(target)` list the keys of a
target (sweeps check a Pareto column against them before any point runs); tests run both targets and check
that what they write is declared here.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict, get_type_hints

Target = Literal["sat", "mobile"]


class EnergySummary(TypedDict, total=False):
    """sparsesim.energy.model.EnergyReport.summary(): the same keys on both targets."""

    energy_j: float  # the run's energy, J (every op's actions + static)
    avg_power_w: float
    gflops_per_w: float  # useful FLOP / J / 1e9
    energy_breakdown: Mapping[str, float]  # component (compute, onchip, dram, static) -> J
    static_energy_j: float
    dynamic_energy_j: float  # energy_j without the static (time-proportional) part
    dynamic_gflops_per_w: float  # useful FLOP per dynamic joule / 1e9
    energy_model: str  # the energy table's description (device or ASIC node)
    energy_by_action_j: Mapping[str, float]


class CommonSummary(EnergySummary, total=False):
    """Keys both targets write, in the order the sat summary leads with."""

    model: str
    task: str  # train | infer
    batch_size: int | None  # set by the spec's defaults (32 train, 1 infer) once validated
    pattern: str  # the sparsity pattern
    total_cycles: float  # of the simulated iteration (sat: array clock; mobile: the SoC's reference clock)
    seconds_simulated: float
    clock_mhz: float
    utilisation: float  # useful MACs / (cycles x peak MACs per cycle)
    dram_bytes: float
    macs: float  # dense-equivalent
    useful_macs: float  # MACs on kept weights
    cycles_per_pass: Mapping[str, float]  # FF, BP, WU, UPD, GEN -> cycles
    latency_ms: float  # inference runs
    dense_total_cycles: float  # the dense baseline on the same hardware
    dense_latency_ms: float
    speedup: float  # dense_total_cycles / total_cycles
    dense_energy_j: float
    energy_gain: float  # dense_energy_j / energy_j
    ablation: Mapping[str, float]  # --ablate: optimisation (sat) or kernel (mobile) off -> speedup over dense
    ablation_energy_j: Mapping[str, float]
    sensitivity: Sequence[Mapping[str, Any]]  # --sensitivity: a row per uncertain parameter
    wall_seconds: float  # host time of the whole run
    output_dir: str  # `sparsesim run`: where the outputs went


class SatSummary(CommonSummary, total=False):
    """sparsesim.sat.simulate: the SAT-style array."""

    nm: str | None  # 'N:M' for nm/bdwp patterns
    dram_bandwidth_gbs: float
    effective_tflops: float
    dense_equivalent_tflops: float
    stall_cycles_by_cause: Mapping[str, float]
    engine_busy_cycles: Mapping[str, float]
    engine_utilisation: Mapping[str, float]
    engine_idle_cycles: Mapping[str, float]
    array_bound_cycles: float  # GEMMs alone at the array's full rate
    ideal_speedup: float
    ideal_speedup_formula: str
    nm_formula_speedup: float
    array_bound_speedup: float
    note: str  # weight layers a sparse run left dense, and why
    ablation_total_cycles: Mapping[str, float]
    ablation_baseline: str
    arch: Mapping[str, Any]  # the resolved architecture (sparsesim.sat.arch.SatArch.to_dict)
    front_end_wall_seconds: float
    simulation_wall_seconds: float
    dense_simulation_wall_seconds: float


class MobileSummary(CommonSummary, total=False):
    """sparsesim.mobile.simulate: ARM big cores of a mobile SoC."""

    name: str
    target: str
    soc: str
    core: str
    threads: int
    cores_used: list[str]
    layout: str  # activation layout (NCHW, NHWC)
    weights_home: str  # the cache level the weights are expected in
    effective_gflops: float
    kernels: Mapping[str, int]  # kernel -> ops
    dense_kernels: Mapping[str, int]
    cycles_by_kernel: Mapping[str, float]
    sparse_layers: Mapping[str, str]  # layer -> kernel
    dense_layers: Mapping[str, str]  # layer -> why it ran dense
    memory_bound_ops: int


class Summary(SatSummary, MobileSummary, total=False):
    """Either target's summary: what readers take."""


_TARGET_TYPES: dict[str, type] = {"sat": SatSummary, "mobile": MobileSummary}


def summary_keys(target: str | None = None) -> dict[str, Any]:
    """Key -> declared type of `target`'s summary (every key of both targets when None)."""
    cls = _TARGET_TYPES.get(target, Summary) if target else Summary
    return get_type_hints(cls)


_SCALARS = (int, float, str, bool, type(None))


def _is_column(hint: Any) -> bool:
    """One number or string, or a list of them (a sweep.csv column, space-separated)."""
    if typing.get_origin(hint) is list:
        return all(a in _SCALARS for a in typing.get_args(hint))
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return all(a in _SCALARS for a in args)


def column_keys(target: str) -> frozenset[str]:
    """Keys of `target`'s summary that become one column each of sweep.csv (sparsesim.sweep.flat_metrics)."""
    return frozenset(k for k, hint in summary_keys(target).items() if _is_column(hint))
