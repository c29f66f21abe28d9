"""`sparsesim rtl export FILE -o DIR`: the accelerator section (resolved by sparsesim.sat.arch) becomes
Verilog that Icarus elaborates, plus a JSON description; bad parameters are one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from sparsesim.cli import main
from sparsesim.io import MARKER

pytestmark = pytest.mark.rtl

WORKLOAD = """\
name: export-test
model: tiny_cnn
sparsity: {pattern: nm, n: 1, m: 4}
target: sat
accelerator: {rows: 2, cols: 3, multipliers_per_pe: 2, max_m: 4, precision: %s}
"""


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_export_writes_verilog_icarus_elaborates(tmp_path, capsys, precision):
    wl = tmp_path / "wl.yaml"
    wl.write_text(WORKLOAD % precision)
    out = tmp_path / "rtl"
    assert main(["rtl", "export", str(wl), "-o", str(out), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["rows"] == 2 and summary["config"]["cols"] == 3
    assert summary["config"]["precision"] == precision
    desc = json.loads((out / "sparse_array.json").read_text())
    assert desc["origin"]["rows"].startswith("workload")
    assert desc["config"]["add_latency"] == 1  # FP16: the exact design's one-cycle adder; INT32: one cycle
    assert desc["config"]["accumulator"] == ("exact" if precision == "fp16" else "int32")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER, "sparse_array.json", "sparse_array.v", "sparse_weight_lane.v"])
    text = (out / "sparse_array.v").read_text()
    assert "module sparse_array(" in text and "module sparse_array_cell(" in text
    if shutil.which("iverilog"):
        for top, src in (("sparse_array", "sparse_array.v"), ("sparse_weight_lane", "sparse_weight_lane.v")):
            res = subprocess.run(["iverilog", "-g2012", "-s", top, "-o", str(tmp_path / f"{top}.vvp"),
                                  str(out / src)], capture_output=True, text=True)
            assert res.returncode == 0, res.stderr[-2000:]


def test_export_rejects_impossible_array(tmp_path, capsys):
    wl = tmp_path / "wl.yaml"
    wl.write_text(WORKLOAD.replace("max_m: 4", "max_m: 2").replace("multipliers_per_pe: 2", "multipliers_per_pe: 4")
                  % "fp16")
    assert main(["rtl", "export", str(wl), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "max_m" in err


def test_export_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    wl = tmp_path / "wl.yaml"
    wl.write_text(WORKLOAD % "int8")
    # tmp_path holds wl.yaml: exporting into it must not replace the user's folder
    assert main(["rtl", "export", str(wl), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --output") and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wl.yaml"]
