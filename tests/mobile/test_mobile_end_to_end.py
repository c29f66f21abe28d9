"""`target: mobile` through `sparsesim run`, on the shipped MobileNet-v1 workloads and tiny models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sparsesim.errors import SpecError
from sparsesim.mobile.simulate import run_workload
from sparsesim.results import OPS_COLUMNS, RunResult
from sparsesim.spec import workload_from_dict

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = (
    "total_cycles", "latency_ms", "seconds_simulated", "clock_mhz", "dense_total_cycles", "dense_latency_ms",
    "speedup", "kernels", "sparse_layers", "dense_layers",
)  # fmt: skip


def _check_result(result) -> None:
    result.check()
    result.baseline.check()
    for key in SUMMARY_KEYS:
        assert key in result.summary, key
    ops = result.ops
    assert (ops["engine"] == "cpu").all()
    assert ops["end_cycle"].iloc[-1] == pytest.approx(result.summary["total_cycles"])
    assert (ops["start_cycle"].iloc[1:].to_numpy() == ops["end_cycle"].iloc[:-1].to_numpy()).all()
    assert result.summary["latency_ms"] == pytest.approx(
        result.summary["total_cycles"] / result.summary["clock_mhz"] / 1e3
    )


def _cli_run(workload: str, out: Path) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    res = subprocess.run(
        [sys.executable, "-m", "sparsesim.cli", "run", f"workloads/{workload}.yaml", "--format", "json",
         "-o", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    for key in SUMMARY_KEYS:
        assert key in summary, key
    assert summary["target"] == "mobile" and summary["soc"] == "snapdragon855"
    assert summary["model"] == "mobilenet_v1" and summary["task"] == "infer"
    assert summary["pattern"] in ("block", "group", "unstructured")
    assert summary["speedup"] == pytest.approx(summary["dense_total_cycles"] / summary["total_cycles"])
    # the written tables satisfy the results contract
    for table, name in (("ops.csv", summary["name"]), ("baseline_ops.csv", "dense")):
        ops = pd.read_csv(out / table)
        RunResult(name=name, target="mobile", summary={}, ops=ops).check()
        assert all(c in ops.columns for c in OPS_COLUMNS)
        assert (ops["engine"] == "cpu").all()
        assert ops["start_cycle"].iloc[1:].to_numpy() == pytest.approx(ops["end_cycle"].iloc[:-1].to_numpy())
    ops = pd.read_csv(out / "ops.csv")
    assert ops["end_cycle"].iloc[-1] == pytest.approx(summary["total_cycles"])
    return summary


def test_cli_block90_json(tmp_path):
    summary = _cli_run("mobilenet-v1-block-90", tmp_path / "out")
    assert summary["speedup"] > 1.0  # 90% sparse 1x1 convs on XNNPACK-style SpMM
    assert summary["latency_ms"] < summary["dense_latency_ms"]
    # 12 unstructured 1x1 convs on 32x1, the 1024-channel stage (4-blocks) on 32x4; the rest dense
    assert set(summary["sparse_layers"]) == {f"features.{i}.pw_conv" for i in range(1, 14)}
    assert summary["sparse_layers"]["features.13.pw_conv"] == "spmm 32x4"
    assert summary["sparse_layers"]["features.1.pw_conv"] == "spmm 32x1"
    assert summary["dense_layers"]["fc"] == "dense weights (last layer)"
    assert summary["kernels"]["dwconv chw 3x3s1 3x4"] == 9  # the sparse subgraph runs NCHW
    assert summary["dense_kernels"]["gemm 6x8"] == 13


def test_cli_group30_json(tmp_path):
    """30% group sparsity: the 1x1 convs fail XNNPACK's 2/3 rule for SpMM but run the group kernel (blocks
    of 4 output channels); the model's speedup is reported whatever it is (below 1 would be allowed)."""
    summary = _cli_run("mobilenet-v1-group-30", tmp_path / "out")
    assert summary["kernels"]["group 16x4"] == 13
    assert summary["layout"] == "nhwc"  # no SpMM layer: the depthwise convs stay NHWC
    assert 0.5 < summary["speedup"] < 2.0
    print(
        f"group-30 on snapdragon855: {summary['latency_ms']:.2f} ms vs dense {summary['dense_latency_ms']:.2f} ms,"
        f" speedup {summary['speedup']:.3f}"
    )


def _tiny(**mobile):
    return workload_from_dict(
        {"name": "tiny", "model": "tiny_cnn", "sparsity": {"pattern": "unstructured", "sparsity": 0.8},
         "target": "mobile", "mobile": mobile},
    )  # fmt: skip


def test_threads_ablation_and_two_thirds_rule_end_to_end():
    one = run_workload(_tiny())
    _check_result(one)
    assert one.summary["sparse_layers"] == {"conv3": "spmm 32x1"}  # the only 1x1 conv
    assert "spmm_layer_types" in one.summary["dense_layers"]["conv2"]  # 3x3: no XNNPACK SpMM
    two = run_workload(_tiny(threads=2), ablate=True)
    _check_result(two)
    assert two.summary["dense_total_cycles"] < one.summary["dense_total_cycles"]
    assert set(two.summary["ablation"]) == {"spmm kernel off"}
    assert two.summary["ablation"]["spmm kernel off"] == pytest.approx(1.0)
    strict = run_workload(_tiny(sparse_min_zero_fraction=0.85))
    assert strict.summary["sparse_layers"] == {}
    assert strict.summary["speedup"] == pytest.approx(1.0)
    assert "sparse_min_zero_fraction" in strict.summary["dense_layers"]["conv3"]


def test_nm_pattern_on_snapdragon835():
    wl = workload_from_dict(
        {"model": "tiny_cnn", "sparsity": {"pattern": "nm", "n": 1, "m": 4}, "target": "mobile",
         "mobile": {"soc": "snapdragon835"}},
    )  # fmt: skip
    result = run_workload(wl)
    _check_result(result)
    assert result.summary["sparse_layers"] == {"conv2": "nm 32x1 1:4", "conv3": "nm 32x1 1:4"}
    assert result.summary["clock_mhz"] == pytest.approx(2450.0)


def test_mobile_rejects_training():
    wl = workload_from_dict(
        {"model": "tiny_cnn", "sparsity": "dense", "target": "mobile", "task": {"mode": "train"}}
    )
    with pytest.raises(SpecError, match="inference only"):
        run_workload(wl)


@pytest.mark.parametrize("sparsity", [0.2, 0.02])  # the model picks the group kernel at 20%, dense at 2%
def test_sparse_only_if_faster_picks_the_fastest_kernel(sparsity):
    wl = workload_from_dict(
        {"model": "tiny_cnn", "sparsity": {"pattern": "group", "group_size": 4, "sparsity": sparsity},
         "target": "mobile", "mobile": {"sparse_only_if_faster": True}},
    )  # fmt: skip
    result = run_workload(wl)
    _check_result(result)
    for layer in ("conv2", "conv3"):
        row = result.ops[result.ops["layer"] == layer].iloc[0]
        assert "sparse_only_if_faster" in row["reason"]
        listed = dict(
            part.rsplit(" ", 2)[:2] for part in row["reason"].split("[")[1].split("]")[0].split(", ")
        )
        times = {k: float(v) for k, v in listed.items()}
        best = min(times, key=times.get)
        assert row["kernel"] == ("group" if best == "group" else "igemm" if layer == "conv2" else "gemm")
        assert row["time_us"] == pytest.approx(times[best], abs=0.06)
