"""The Vivado report parser on hand-written fixture reports (fixtures/README.md: no Vivado here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sparsesim.fpga import vivado

FIX = Path(__file__).resolve().parent / "fixtures"


def test_utilization_post_place():
    u = vivado.parse_utilization((FIX / "sparsesim_vcu1525_utilization_place.rpt").read_text())
    assert u["lut"] == {"used": 812345, "available": 1182240, "percent": 68.71}
    assert u["ff"]["used"] == 401234 and u["ff"]["available"] == 2364480
    assert u["bram36"]["used"] == 2.5  # RAMB18s count as half a tile
    assert u["uram"] == {"used": 239, "available": 960, "percent": 24.90}
    assert u["dsp"]["used"] == 1024 and u["dsp"]["percent"] == pytest.approx(14.97)


def test_utilization_synth_marks_estimated_rows_with_a_star():
    u = vivado.parse_utilization((FIX / "sparsesim_vcu1525_utilization_synth.rpt").read_text())
    assert u["lut"]["used"] == 850000 and u["ff"]["used"] == 410000
    assert "dsp" not in u


def test_timing_summary_failing():
    t = vivado.parse_timing_summary((FIX / "sparsesim_vcu1525_timing.rpt").read_text())
    assert t["wns_ns"] == -0.412 and t["tns_ns"] == -123.456 and t["failing_endpoints"] == 789
    assert t["whs_ns"] == 0.021 and t["ths_ns"] == 0.0 and t["hold_failing_endpoints"] == 0
    assert t["met"] is False
    # the 300 MHz input only feeds the MMCM: its WNS column is blank in the intra-clock table
    assert t["clocks"] == {
        "clk300_0__p": {"period_ns": 3.333, "frequency_mhz": 300.0},
        "clk_array": {"period_ns": 5.0, "frequency_mhz": 200.0, "wns_ns": -0.412},
    }
    assert vivado.fmax_mhz(5.0, -0.412) == pytest.approx(1000 / 5.412)


def test_timing_summary_met():
    t = vivado.parse_timing_summary((FIX / "met_timing_summary.rpt").read_text())
    assert t["met"] is True and t["wns_ns"] == 0.734 and t["total_endpoints"] == 1234


def test_read_reports_prefers_post_route_and_post_place(tmp_path):
    for f in FIX.glob("sparsesim_vcu1525_*.rpt"):
        shutil.copy(f, tmp_path / f.name)
    r = vivado.read_reports(tmp_path, "sparsesim_vcu1525")
    assert r["timing_report"] == "sparsesim_vcu1525_timing.rpt"
    assert r["utilization_report"] == "sparsesim_vcu1525_utilization_place.rpt"
    assert r["utilization"]["uram"]["used"] == 239


def test_find_vivado_honours_the_environment(monkeypatch, tmp_path):
    fake = tmp_path / "my-vivado"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("VIVADO", str(fake))
    assert vivado.find_vivado() == str(fake)
    monkeypatch.setenv("VIVADO", str(tmp_path / "missing"))
    monkeypatch.delenv("AMARANTH_ENV_VIVADO", raising=False)
    assert vivado.find_vivado() is None
    settings = tmp_path / "settings64.sh"
    settings.write_text("export PATH=/opt/Xilinx/Vivado/bin:$PATH\n")
    monkeypatch.setenv("AMARANTH_ENV_VIVADO", str(settings))
    assert "settings64.sh" in vivado.find_vivado()


def test_a_build_with_vivado_runs_the_script_and_reports(tmp_path, monkeypatch):
    """`sparsesim fpga build` with a stand-in `vivado` on PATH that writes the fixture reports: the build
    runs the tree's script and summarises the reports (Vivado itself is not available here)."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fpga_helpers import TINY_ACCELERATOR, run_cli, write_workload

    fake = tmp_path / "bin" / "vivado"
    fake.parent.mkdir()
    copies = "\n".join(f'cp "{f}" .' for f in sorted(FIX.glob("sparsesim_vcu1525_*.rpt")))
    fake.write_text(f'#!/bin/sh\necho "$@" > vivado_args.txt\n{copies}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    monkeypatch.delenv("VIVADO", raising=False)
    monkeypatch.delenv("AMARANTH_ENV_VIVADO", raising=False)
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR)
    code, out, err, _ = run_cli(["fpga", "build", str(wl), "-o", str(tmp_path / "t"), "--no-estimate"])
    assert code == 0, err
    tree = tmp_path / "t"
    args = (tree / "vivado_args.txt").read_text().split()
    assert args == ["-mode", "batch", "-log", "sparsesim_vcu1525.log", "-source", "sparsesim_vcu1525.tcl"]
    summary = json.loads((tree / "vivado_summary.json").read_text())
    assert summary["timing"]["wns_ns"] == -0.412 and summary["utilization"]["uram"]["used"] == 239
    assert summary["array_fmax_mhz"] == pytest.approx(1000 / 5.412)
    assert "WNS -0.412 ns" in out and "timing NOT met" in out and "close at 185 MHz" in out
    assert "lut: 812,345.0 of 1,182,240 (68.71 %)" in out
