"""sparsesim: sparse DNN training/inference co-design from one workload.yaml.

The Python API (README "Python API"; sparsesim.api): `import sparsesim as ss`, then `ss.load`, `ss.validate`,
`ss.run`, `ss.save`, `ss.prepare`, `ss.load_sweep`, `ss.run_sweep`, `ss.list_models`, the errors
(`ss.SparsesimError`, `ss.SpecError`, ...) and the types (`ss.Workload`, `ss.RunResult`, `ss.Summary`).
They are imported on first use, so `import sparsesim` (and the CLI's `--help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it (imported on first access: the simulators pull in torch and SimPy)
_EXPORTS = {
    **dict.fromkeys(
        ("load", "validate", "resolved", "with_resolved", "prepare", "run", "save", "load_sweep", "run_sweep",
         "list_models"),
        "sparsesim.api",
    ),
    **dict.fromkeys(
        ("SparsesimError", "SpecError", "ModelError", "SparsityError", "ToolError"), "sparsesim.errors"
    ),
    "Workload": "sparsesim.spec",
    "RunResult": "sparsesim.results",
    "Summary": "sparsesim.summary",
    "SatSummary": "sparsesim.summary",
    "MobileSummary": "sparsesim.summary",
}  # fmt: skip
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # the same names, for type checkers and IDEs (redundant aliases: re-exports)
    from .api import list_models as list_models
    from .api import load as load
    from .api import load_sweep as load_sweep
    from .api import prepare as prepare
    from .api import resolved as resolved
    from .api import run as run
    from .api import run_sweep as run_sweep
    from .api import save as save
    from .api import validate as validate
    from .api import with_resolved as with_resolved
    from .errors import ModelError as ModelError
    from .errors import SparsesimError as SparsesimError
    from .errors import SparsityError as SparsityError
    from .errors import SpecError as SpecError
    from .errors import ToolError as ToolError
    from .results import RunResult as RunResult
    from .spec import Workload as Workload
    from .summary import MobileSummary as MobileSummary
    from .summary import SatSummary as SatSummary
    from .summary import Summary as Summary


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sparsesim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
