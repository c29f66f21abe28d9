"""`sparsesim run --sensitivity`: one-at-a-time study over the preset's uncertain parameters (sat and mobile),
end to end through the CLI on tiny workloads, plus the study's own bookkeeping."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sparsesim.sat.simulate import run_workload
from sparsesim.sensitivity import SENSITIVITY_COLUMNS, Outcome, Uncertain, run_sensitivity
from sparsesim.spec import workload_from_dict

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "parameter", "source", "low", "high", "baseline", "total_cycles_low", "total_cycles_high",
    "speedup_low", "speedup_high", "energy_j_low", "energy_j_high",
}  # fmt: skip  (the report's tornado reads exactly these)
SAT_INFER = {
    "name": "tiny-sat-infer",
    "model": "tiny_cnn",
    "task": {"mode": "infer", "batch_size": 4},
    "sparsity": {"pattern": "nm", "n": 2, "m": 4},
    "target": "sat",
}


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "sparsesim.cli", "run", *args], capture_output=True, text=True, cwd=ROOT, env=env
    )


def test_sat_sensitivity_through_the_cli(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(SAT_INFER))
    out = tmp_path / "out"
    res = cli(str(path), "--sensitivity", "--output", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "sensitivity (each parameter alone" in res.stdout and "dram_mts" in res.stdout
    s = json.loads((out / "summary.json").read_text())
    rows = {r["parameter"]: r for r in s["sensitivity"]}
    assert all(set(r) == KEYS for r in rows.values())
    with (out / "sensitivity.csv").open() as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == SENSITIVITY_COLUMNS == tuple(sorted(KEYS, key=SENSITIVITY_COLUMNS.index))
    assert [r["parameter"] for r in table] == [r["parameter"] for r in s["sensitivity"]]
    total = s["total_cycles"]

    # A parameter that matters moves the result the expected way: less DRAM bandwidth, more cycles.
    dram = rows["dram_mts"]
    assert dram["low"] < dram["baseline"] == dram["high"]
    assert dram["total_cycles_low"] > total == dram["total_cycles_high"]
    # ... and the study's number is what a workload asking for that value directly gets (an independent run
    # through the workload's accelerator section, not the study's code path).
    direct = run_workload(workload_from_dict({**SAT_INFER, "accelerator": {"dram_mts": int(dram["low"])}}))
    assert direct.summary["total_cycles"] == dram["total_cycles_low"]
    # A slower clock makes DRAM relatively faster: fewer cycles (same bytes per second, more per cycle).
    clock = rows["clock_mhz"]
    assert clock["total_cycles_low"] < total < clock["total_cycles_high"]

    # A parameter that cannot matter: inference has no weight update, so the update engine's lanes and
    # port change nothing at all.
    for name in ("wu_lanes", "wu_port_bytes_per_cycle"):
        r = rows[name]
        assert r["low"] < r["baseline"] < r["high"]
        assert r["total_cycles_low"] == r["total_cycles_high"] == total
        assert r["speedup_low"] == r["speedup_high"] == pytest.approx(s["speedup"])
        assert r["energy_j_low"] == r["energy_j_high"] == pytest.approx(s["energy_j"])
    # Verified values (latencies of our RTL, the SORE's lanes from the paper) are not varied.
    assert not {"mul_latency_cycles", "add_latency_cycles", "sorter_lanes"} & set(rows)


def test_mobile_sensitivity_through_the_cli(tmp_path):
    path = tmp_path / "m.yaml"
    spec = {
        "name": "tiny-mobile", "model": "tiny_cnn", "task": {"mode": "infer", "batch_size": 1},
        "sparsity": {"pattern": "unstructured", "sparsity": 0.8}, "target": "mobile",
    }  # fmt: skip
    path.write_text(yaml.safe_dump(spec))
    res = cli(str(path), "--sensitivity", "--format", "json", "--output", str(tmp_path / "o"), "--quiet")
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    rows = {r["parameter"]: r for r in s["sensitivity"]}
    assert rows and all(set(r) == KEYS for r in rows.values())
    # The core's outstanding misses overlap: fewer of them in flight means more cycles.
    mlp = rows["miss_overlap"]
    assert mlp["total_cycles_low"] > s["total_cycles"] > mlp["total_cycles_high"]
    assert (tmp_path / "o" / "sensitivity.csv").is_file()


def test_run_sensitivity_reuses_the_baseline_and_orders_by_swing():
    calls, seen = [], []
    base = Outcome(1000, 2.0, 1.0)

    def evaluate(name, value):
        calls.append((name, value))
        return Outcome(1000 + (500 if name == "big" else 10) * (1 if value > 1 else -1), 2.0, 1.0)

    params = [
        Uncertain("small", "s", 1.0, 0.5, 2.0),
        Uncertain("big", "b", 4.0, 2.0, 4.0, integer=True),  # high end = the preset: no rerun
    ]
    rows = run_sensitivity(params, evaluate, base, lambda msg, done, total: seen.append((done, total)))
    assert [r["parameter"] for r in rows] == ["big", "small"]
    assert ("big", 4) not in calls and len(calls) == 3
    assert rows[0]["total_cycles_high"] == 1000 and rows[0]["total_cycles_low"] == 1500
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
