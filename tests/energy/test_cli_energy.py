"""Energy through the CLI: `run --format json` keys, ops.csv energy_j, and `sparsesim energy`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"energy_j", "avg_power_w", "gflops_per_w", "energy_breakdown", "dense_energy_j", "energy_gain"}


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "sparsesim.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env
    )


def _check(summary: dict, out: Path) -> None:
    assert KEYS <= set(summary)
    assert summary["energy_j"] > 0 and summary["avg_power_w"] > 0 and summary["gflops_per_w"] > 0
    assert {"compute", "onchip", "dram", "static"} <= set(summary["energy_breakdown"])
    assert summary["energy_gain"] == pytest.approx(summary["dense_energy_j"] / summary["energy_j"])
    ops = pd.read_csv(out / "ops.csv")
    assert not ops["energy_j"].isna().any()
    assert ops["energy_j"].sum() + summary.get("static_energy_j", 0.0) == pytest.approx(summary["energy_j"])
    assert not pd.read_csv(out / "baseline_ops.csv")["energy_j"].isna().any()


def test_sat_run_reports_energy_and_ablation_energy(tmp_path):
    out = tmp_path / "out"
    res = cli("run", "workloads/tiny-cnn-nm-2of4.yaml", "--format", "json", "-o", str(out), "-q", "--ablate")
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    _check(s, out)
    assert set(s["ablation_energy_j"]) == set(s["ablation"])
    assert all(v > 0 for v in s["ablation_energy_j"].values())


def test_mobile_run_reports_energy(tmp_path):
    out = tmp_path / "out"
    res = cli("run", "workloads/mobilenet-v1-group-30.yaml", "--format", "json", "-o", str(out), "-q")
    assert res.returncode == 0, res.stderr
    _check(json.loads(res.stdout), out)
    # Instruction classes, independently of the core model's mixes: every multiply-accumulate of a GEMM op
    # is an FP32 FMLA lane, four per Q-form FMLA, so 4 x FMLAs is at least the op's useful MACs and at most
    # a little more (lanes padded at tile edges, the first conv's 3 input channels padded to 4).
    ops = pd.read_csv(out / "ops.csv")
    gemm = ops[ops["kind"] == "gemm"]
    lanes_per_mac = 4 * gemm["neon_mac_instructions"] / (gemm["macs"] * gemm["density"])
    assert ((lanes_per_mac > 0.95) & (lanes_per_mac < 1.5)).all(), lanes_per_mac.describe()
    assert (gemm["ldst_instructions"] > 0).all() and (gemm["l1_bytes"] >= 4 * gemm["ldst_instructions"]).all()


def test_energy_command_prints_the_action_table(tmp_path):
    res = cli("energy", "workloads/tiny-cnn-nm-2of4.yaml", "-q")
    assert res.returncode == 0, res.stderr
    for action in ("pe_multiply", "dram_read_byte", "device_static"):
        assert action in res.stdout
    assert "Horowitz" in res.stdout
    res = cli("energy", "workloads/tiny-cnn-nm-2of4.yaml", "-q", "--format", "json")
    rows = json.loads(res.stdout)["actions"]
    assert {"action", "energy_per_action", "count", "source"} <= set(rows[0])
    assert not list(tmp_path.iterdir())  # writes nothing


def test_bad_technology_is_a_spec_error(tmp_path):
    wl = tmp_path / "w.yaml"
    wl.write_text("model: tiny_cnn\nsparsity: dense\ntarget: sat\naccelerator: {technology: 3}\n")
    res = cli("energy", str(wl), "-q")
    assert res.returncode == 2
    assert res.stderr.startswith("error:") and "technology" in res.stderr


def test_static_power_is_user_set_and_dynamic_energy_reported(tmp_path):
    """The run reports its energy without the time-proportional part; setting accelerator.static_power_w
    moves energy_j by exactly (new - default) W x simulated seconds and leaves the dynamic part alone."""
    runs = {}
    for label, extra in (("default", ""), ("user", "accelerator: {static_power_w: 7.0}\n")):
        wl = tmp_path / f"{label}.yaml"
        wl.write_text((ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml").read_text() + extra)
        res = cli("energy", str(wl), "-q", "--format", "json")
        assert res.returncode == 0, res.stderr
        runs[label] = json.loads(res.stdout)
    d, u = runs["default"], runs["user"]
    assert d["dynamic_energy_j"] == pytest.approx(d["energy_j"] - d["static_energy_j"])
    assert u["dynamic_energy_j"] == pytest.approx(d["dynamic_energy_j"])
    seconds = d["energy_j"] / d["avg_power_w"]
    assert u["energy_j"] - d["energy_j"] == pytest.approx((7.0 - 3.0) * seconds, rel=1e-9)
    static = next(r for r in u["actions"] if r["action"] == "device_static")
    assert static["energy_per_action"] == 7.0 and static["plausible"] is None
    assert next(r for r in d["actions"] if r["action"] == "device_static")["plausible"] == [2.0, 10.0]


def test_negative_static_power_is_a_spec_error(tmp_path):
    wl = tmp_path / "w.yaml"
    wl.write_text("model: tiny_cnn\nsparsity: dense\ntarget: sat\naccelerator: {static_power_w: -1}\n")
    res = cli("energy", str(wl), "-q")
    assert res.returncode == 2
    assert res.stderr.startswith("error:") and "static_power_w" in res.stderr
