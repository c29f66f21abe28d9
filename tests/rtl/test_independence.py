"""The RTL is an independent ground truth for the simulator's cycle model: no module under rtl/ may take
anything from the timing model, the scheduler or the cycle-stepped reference (sparsesim.sat.timing,
.schedule, .refarray), not even a data type. The types that name a configuration (ArrayParams, Mode,
TileShape) live in sparsesim.sat.array_types, which holds fields and validation only.

Two checks: a scan of every import statement in every file under rtl/, and an import of every RTL module in a
fresh interpreter, after which none of the model modules may have been loaded (no transitive path either)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from sparsesim.sat import array_types

RTL = Path(__file__).resolve().parents[2] / "rtl"
MODEL_MODULES = {"sparsesim.sat.timing", "sparsesim.sat.schedule", "sparsesim.sat.refarray"}


def model_imports(source: str) -> list[str]:
    """Every import of (anything from) the model modules in `source`, as readable strings."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            bad += [
                f"import {a.name}"
                for a in node.names
                if any(a.name == mod or a.name.startswith(mod + ".") for mod in MODEL_MODULES)
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in MODEL_MODULES:
                bad += [f"from {node.module} import {a.name}" for a in node.names]
            elif node.module in ("sparsesim.sat", "sparsesim"):
                bad += [
                    f"from {node.module} import {a.name}"
                    for a in node.names
                    if f"{node.module}.{a.name}" in MODEL_MODULES or a.name == "sat"
                ]
    return bad


def rtl_files() -> list[Path]:
    files = sorted(RTL.rglob("*.py"))
    assert len(files) >= 8, f"expected the RTL sources under {RTL}"
    return files


@pytest.mark.parametrize("path", rtl_files(), ids=lambda p: str(p.relative_to(RTL)))
def test_rtl_does_not_import_the_cycle_model(path):
    assert model_imports(path.read_text()) == [], f"{path.name} imports the cycle model"


def test_importing_the_rtl_loads_no_model_module():
    """Every RTL module imported in a fresh interpreter: the model modules stay unloaded (transitively)."""
    modules = [
        "sparsesim.rtl." + ".".join(p.relative_to(RTL).with_suffix("").parts)
        for p in rtl_files()
        if p.name != "__init__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in {sorted(MODEL_MODULES)!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"importing rtl/ loaded {out.stdout.strip()}"


def test_the_scan_finds_model_imports():
    """The scan is not vacuous: each way of importing from a model module is reported."""
    for src in (
        "from sparsesim.sat.timing import ws_bank_free_delay",
        "from sparsesim.sat import timing",
        "import sparsesim.sat.schedule",
        "def f():\n    from sparsesim.sat.refarray import run\n",
        "from sparsesim.sat.timing import Mode, tile_cycles",
        "from sparsesim.sat.timing import ArrayParams, Mode, TileShape",
        "from sparsesim import sat",
    ):
        assert model_imports(src), src
    assert model_imports("from sparsesim.sat.array_types import ArrayParams, Mode, TileShape") == []
    assert model_imports("from sparsesim.sat import numerics") == []


def test_the_data_types_hold_no_formulas():
    """sparsesim.sat.array_types is data only: it imports nothing from sparsesim, and the only behaviour on its
    types is validation (`__post_init__`, `Mode.check`) and `Mode.sparse` (is n set)."""
    tree = ast.parse(inspect.getsource(array_types))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.startswith("sparsesim") or m.startswith(".")], imported
    assert not [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    allowed = {"__post_init__", "check", "sparse"}
    for cls in (array_types.ArrayParams, array_types.Mode, array_types.TileShape):
        assert dataclasses.is_dataclass(cls)
        own = {n for n, v in vars(cls).items() if callable(v) or isinstance(v, property)}
        own -= {n for n in own if n.startswith("__") and n != "__post_init__"}
        assert own <= allowed, f"{cls.__name__} carries {sorted(own - allowed)}"
