"""Target dispatch: a Workload -> its target's simulator (sat or mobile) -> a RunResult (and dense baseline).

The one place that maps `workload.target` to a simulator; the CLI (`run`, `energy`), sweeps and the Python API
(sparsesim.api) all call `simulate`. Simulators are imported on first use (they pull in SimPy and torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import SparsesimError

if TYPE_CHECKING:
    from .pipeline import Progress
    from .results import RunResult
    from .spec import Workload

TARGETS = ("sat", "mobile")


def simulate(
    wl: Workload,
    *,
    progress: Progress | None = None,
    ablate: bool = False,
    sensitivity: bool = False,
    cache: bool | None = None,
) -> RunResult:
    """Simulate `wl` on its target and its dense baseline (`result.baseline`); with `ablate`, also with each
    optimisation (sat) or sparse kernel (mobile) off in turn; with `sensitivity`, the sensitivity study.
    `cache`: the front-end cache (sparsesim.front_cache; None: on unless $SPARSESIM_NO_CACHE is set). Only
    sat uses it: its simulation reads shapes and densities, while mobile's kernels read the pruned weights'
    values, which a cache entry does not hold (reading them would build the front end anyway)."""
    if wl.target == "sat":
        from .sat.simulate import run_workload

        return run_workload(wl, progress=progress, ablate=ablate, sensitivity=sensitivity, cache=cache)
    if wl.target == "mobile":
        from .mobile.simulate import run_workload as run_mobile

        return run_mobile(wl, progress=progress, ablate=ablate, sensitivity=sensitivity)
    # the spec forbids this; kept so a new target fails loudly
    raise SparsesimError(f"target: unknown target {wl.target!r} (one of {', '.join(TARGETS)})")
