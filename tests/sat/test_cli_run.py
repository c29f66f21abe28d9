"""`sparsesim run` for target sat, end to end through the CLI (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml"
REQUIRED = {
    "total_cycles",
    "dense_total_cycles",
    "speedup",
    "ideal_speedup",
    "seconds_simulated",
    "wall_seconds",
}


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "sparsesim.cli", "run", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )


def test_run_json_with_output_dir_and_ablate(tmp_path):
    out = tmp_path / "out"
    res = run(str(WORKLOAD), "--format", "json", "--output", str(out), "--ablate")
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert REQUIRED <= set(s)
    assert s["speedup"] > 0 and s["total_cycles"] > 0 and s["output_dir"] == str(out)
    assert set(s["ablation"]) == {"interleave", "pregenerate", "offline_schedule"}
    assert {"ops.csv", "baseline_ops.csv", "summary.json", "workload.yaml"} <= {p.name for p in out.iterdir()}
    ops = pd.read_csv(out / "ops.csv")
    total = ops["compute_cycles"] + ops["memory_cycles"] + ops["stall_cycles"]
    assert (ops["cycles"] == total).all() and ops["end_cycle"].max() == s["total_cycles"]
    assert json.loads((out / "summary.json").read_text())["total_cycles"] == s["total_cycles"]


def test_run_text_summary(tmp_path):
    res = run(str(WORKLOAD), "--output", str(tmp_path / "t"))
    assert res.returncode == 0, res.stderr
    for label in ("total cycles", "speedup vs dense", "cycles per pass", "FF", "dense baseline cycles"):
        assert label in res.stdout
    assert "speedup vs dense with one optimisation off" not in res.stdout
    assert (tmp_path / "t" / "ops.csv").is_file()


def test_unsupported_nm_is_a_clean_error(tmp_path):
    f = tmp_path / "w.yaml"
    f.write_text("model: tiny_cnn\nsparsity: {pattern: bdwp, n: 4, m: 8}\ntarget: sat\n")
    res = run(str(f), "--output", str(tmp_path / "o"))
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: accelerator.multipliers_per_pe:") and "4:8" in res.stderr
    assert not (tmp_path / "o").exists()
