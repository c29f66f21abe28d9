"""Mobile CPU target: SoC presets, AArch64 micro-kernel cycle model, memory model, kernel library.

See docs/mobile_model.md. `run_workload(wl)` is what `sparsesim run` calls for `target: mobile`.
"""

from sparsesim.mobile.simulate import MobileSimulator, run_workload, simulate_prepared
from sparsesim.mobile.soc import PRESETS, SNAPDRAGON835, SNAPDRAGON855, describe, get_soc, resolve_soc

__all__ = [
    "PRESETS",
    "SNAPDRAGON835",
    "SNAPDRAGON855",
    "MobileSimulator",
    "describe",
    "get_soc",
    "resolve_soc",
    "run_workload",
    "simulate_prepared",
]
