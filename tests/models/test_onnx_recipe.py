"""The README's ONNX export recipe runs as written with the pinned torch, and its file is a usable model."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from sparsesim.graph.onnx_import import trace_onnx
from sparsesim.graph.trace import trace_module
from sparsesim.models import ZOO

README = Path(__file__).resolve().parents[2] / "README.md"


def _recipe() -> str:
    text = README.read_text()
    match = re.search(r"<!-- onnx-export-recipe -->\n```python\n(.*?)```", text, re.S)
    assert match, "README lost its ONNX export recipe"
    return match.group(1)


def test_readme_onnx_recipe_runs_and_traces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recipe writes my_model.onnx into the current folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter warns that it is deprecated
        exec(compile(_recipe(), "README.md (onnx recipe)", "exec"), {})
    assert os.path.getsize(tmp_path / "my_model.onnx") > 0
    graph = trace_onnx(tmp_path / "my_model.onnx")
    entry = ZOO["tiny_cnn"]
    module = entry.build()
    reference = trace_module(module, entry.example_input(module))
    assert graph.total_macs() == reference.total_macs() > 0
