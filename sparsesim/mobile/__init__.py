"""Mobile CPU target: SoC presets, AArch64 micro-kernel cycle model, memory model, kernel library.

See docs/mobile_model.md. `run_workload(wl)` is what `sparsesim run` calls for `target: mobile`.

The names below are imported on first access: the SAT-style target and `sparsesim validate` read the SoC
presets' source tags (sparsesim.mobile.soc) and must not pay for the simulator (SimPy, numba, pandas).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    **dict.fromkeys(("MobileSimulator", "run_workload", "simulate_prepared"), "sparsesim.mobile.simulate"),
    **dict.fromkeys(
        ("PRESETS", "SNAPDRAGON835", "SNAPDRAGON855", "describe", "get_soc", "resolve_soc"),
        "sparsesim.mobile.soc",
    ),
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers (redundant aliases: re-exports)
    from sparsesim.mobile.simulate import MobileSimulator as MobileSimulator
    from sparsesim.mobile.simulate import run_workload as run_workload
    from sparsesim.mobile.simulate import simulate_prepared as simulate_prepared
    from sparsesim.mobile.soc import PRESETS as PRESETS
    from sparsesim.mobile.soc import SNAPDRAGON835 as SNAPDRAGON835
    from sparsesim.mobile.soc import SNAPDRAGON855 as SNAPDRAGON855
    from sparsesim.mobile.soc import describe as describe
    from sparsesim.mobile.soc import get_soc as get_soc
    from sparsesim.mobile.soc import resolve_soc as resolve_soc


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sparsesim.mobile' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
