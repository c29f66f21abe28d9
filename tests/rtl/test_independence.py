"""The RTL is an independent ground truth for the simulator's cycle model: no module under rtl/ may take
anything from the timing model, the scheduler or the cycle-stepped reference (sparsesim.sat.timing,
.schedule, .refarray) except the plain data types that name a configuration (ArrayParams, Mode,
TileShape: fields and validation, no cycle formulas). A scan of every import in every file under rtl/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RTL = Path(__file__).resolve().parents[2] / "rtl"
MODEL_MODULES = {"sparsesim.sat.timing", "sparsesim.sat.schedule", "sparsesim.sat.refarray"}
DATA_TYPES = {"ArrayParams", "Mode", "TileShape"}


def model_imports(source: str) -> list[str]:
    """Every import of the model modules in `source` beyond the allowed data types, as readable strings."""
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
                bad += [f"from {node.module} import {a.name}" for a in node.names if a.name not in DATA_TYPES]
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


def test_the_scan_finds_model_imports():
    """The scan is not vacuous: each way of importing a model function is reported."""
    for src in (
        "from sparsesim.sat.timing import ws_bank_free_delay",
        "from sparsesim.sat import timing",
        "import sparsesim.sat.schedule",
        "def f():\n    from sparsesim.sat.refarray import run\n",
        "from sparsesim.sat.timing import Mode, tile_cycles",
        "from sparsesim import sat",
    ):
        assert model_imports(src), src
    assert model_imports("from sparsesim.sat.timing import ArrayParams, Mode, TileShape") == []
    assert model_imports("from sparsesim.sat import numerics") == []
