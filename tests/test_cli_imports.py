"""`sparsesim --help`, `models` and `validate` answer without importing torch or the numeric stack.

Checked in a fresh interpreter by inspecting sys.modules after the command ran: not timing based, so it fails
exactly when someone adds a module-level `import torch` on these commands' path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "pandas", "scipy", "networkx", "simpy", "amaranth", "onnx", "numba", "altair", "sympy")

PROBE = """
import contextlib, io, json, sys
from sparsesim.cli import main
HEAVY = set(sys.argv.pop(1).split(","))
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:  # --help exits through argparse
        code = exc.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
print(json.dumps({"code": code, "loaded": loaded, "chars": len(out.getvalue())}))
"""


def _probe(*argv: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("models",),
        ("models", "--format", "json"),
        ("validate", "workloads/resnet50-bdwp-2of8.yaml"),
        ("validate", "workloads/mobilenet-v1-group-30.yaml", "--format", "json"),
        ("validate", "workloads/vit-small-bdwp-2of8.yaml"),
        ("validate", "workloads/mobilenet-v1-block-90.yaml"),  # mobile: the SoC preset's values resolved
    ],
)
def test_light_commands_import_no_numeric_library(argv):
    result = _probe(*argv)
    assert result["code"] == 0
    assert result["chars"] > 0  # the command did print its answer
    assert result["loaded"] == [], result["loaded"]  # resolving a preset needs none of them


def test_the_probe_sees_torch_when_it_is_imported():
    """The check can fail: `graph` needs torch, and the same probe reports it."""
    result = _probe("graph", "workloads/tiny-cnn-nm-2of4.yaml", "-q")
    assert result["code"] == 0 and "torch" in result["loaded"]


def test_models_package_names_resolve():
    """Every name sparsesim.models exports (most imported lazily) resolves to the object it names."""
    import sparsesim.models as models
    from sparsesim.models import loader, resnet

    assert {n: getattr(models, n) is not None for n in models.__all__} == dict.fromkeys(models.__all__, True)
    assert models.load_model is loader.load_model and models.build_resnet50 is resnet.build_resnet50
    assert models.ZOO["resnet50"].factory is resnet.build_resnet50


def test_models_does_not_build_the_spec():
    """`models` lists the zoo: pydantic's models of the workload spec are not needed to print it."""
    result = _probe("models")
    assert result["code"] == 0 and result["loaded"] == []
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.replace("HEAVY = set(", "HEAVY = {'pydantic', 'yaml'} | set("), "x", "models"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["loaded"] == []
