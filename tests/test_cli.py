"""The `sparsesim` command end to end (subprocesses, as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "sparsesim.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
    )


def _assert_clean_error(res: subprocess.CompletedProcess, fragment: str) -> None:
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in res.stderr and res.stdout == ""


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("model: [\nsparsity", "invalid YAML"),
        ("model: resnet9000\nsparsity: dense\ntarget: sat\n", "model.name: unknown model 'resnet9000'"),
        (
            "model: resnet18\nsparsity: {pattern: nm, n: 5, m: 4}\ntarget: sat\n",
            "sparsity.n: must be <= sparsity.m (got n=5, m=4)",
        ),
        ("model: missing.onnx\nsparsity: dense\ntarget: sat\n", "model.name: ONNX file not found"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(200), "binary file"),
    ],
    ids=["yaml", "unknown-model", "n-gt-m", "missing-onnx", "binary"],
)
@pytest.mark.parametrize("command", ["validate", "prune", "graph"])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, content, fragment, command):
    f = tmp_path / "w.yaml"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    extra = ["--save", str(tmp_path / "out")] if command == "prune" else []
    res = run(command, str(f), *extra)
    _assert_clean_error(res, fragment)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.yaml"]


def test_corrupt_onnx_is_clean_error(tmp_path):
    (tmp_path / "net.onnx").write_bytes(b"\x08\x01\x12\x04junk" * 50)
    f = tmp_path / "w.yaml"
    f.write_text("model: net.onnx\nsparsity: dense\ntarget: sat\n")
    _assert_clean_error(run("prune", str(f)), "is not a valid ONNX model")


def test_validate_prints_resolved_yaml():
    res = run("validate", "workloads/tiny-cnn-nm-2of4.yaml")
    assert res.returncode == 0, res.stderr
    import yaml

    data = yaml.safe_load(res.stdout)
    assert data["task"]["batch_size"] == 32 and data["sparsity"]["n"] == 2 and data["target"] == "sat"


def test_prune_json_and_save(tmp_path):
    out = tmp_path / "masks"
    res = run("prune", "workloads/tiny-cnn-nm-2of4.yaml", "--format", "json", "--save", str(out))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    layers = {r["layer"]: r for r in data["layers"]}
    for key in ("layer", "pattern", "ff_density", "bp_density", "metadata_bytes"):
        assert all(key in r for r in data["layers"])
    pruned = [r for r in data["layers"] if r["pattern"] != "dense"]
    assert pruned and all(r["ff_density"] == 0.5 for r in pruned)
    assert layers[data["layers"][0]["layer"]]["dense_reason"] == "first layer"
    import numpy as np

    masks = np.load(out / "masks.npz")
    assert {f"{r['layer']}/ff" for r in pruned} <= set(masks.files)
    assert (out / "layergraph.json").exists() and (out / "ops.csv").exists()
    table = run("prune", "workloads/tiny-cnn-nm-2of4.yaml")
    assert table.returncode == 0 and "first layer" in table.stdout and "ff_density" in table.stdout


def test_resnet50_bdwp_prune_densities_exact():
    """Issue 2's done criterion: every pruned layer has FF and BP density exactly 0.25."""
    res = run("prune", "workloads/resnet50-bdwp-2of8.yaml", "--format", "json")
    assert res.returncode == 0, res.stderr
    layers = json.loads(res.stdout)["layers"]
    pruned = [r for r in layers if r["pattern"] == "bdwp"]
    assert len(pruned) == 52
    assert all(r["ff_density"] == 0.25 and r["bp_density"] == 0.25 for r in pruned)
    assert {r["layer"] for r in layers if r["pattern"] == "dense"} == {"conv1", "fc"}


def test_graph_csv_and_json(tmp_path):
    res = run("graph", "workloads/tiny-cnn-nm-2of4.yaml")
    assert res.returncode == 0, res.stderr
    header = res.stdout.splitlines()[0].split(",")
    assert {"op", "layer", "pass", "m", "n", "k", "macs"} <= set(header)
    assert {"FF", "BP", "WU", "UPD", "GEN"} <= {
        line.split(",")[header.index("pass")] for line in res.stdout.splitlines()[1:]
    }
    out = tmp_path / "ops.json"
    res = run("graph", "workloads/tiny-cnn-nm-2of4.yaml", "--format", "json", "-o", str(out))
    assert res.returncode == 0 and res.stdout == ""
    data = json.loads(out.read_text())
    assert (data["model"], data["level"]) == ("tiny_cnn", "ops")
    ops = data["rows"]
    ff = [o for o in ops if o["pass"] == "FF" and o["kind"] == "gemm"]
    assert ff and all(o["macs"] == o["m"] * o["n"] * o["k"] * o["repeat"] for o in ff)


def test_models_lists_the_zoo():
    res = run("models", "--format", "json")
    assert res.returncode == 0
    names = {m["name"] for m in json.loads(res.stdout)["models"]}
    assert {"resnet50", "bert_base", "vit_small", "tiny_cnn"} <= names


def test_no_command_prints_help_and_fails():
    res = run()
    assert res.returncode == 2 and "usage" in res.stdout


def test_validate_shows_the_resolved_preset_values_and_their_sources(tmp_path):
    """Not `rows: null`: the accelerator values the run uses, the file's overrides kept, each with its source."""
    import yaml

    from sparsesim.sat.arch import resolve
    from sparsesim.spec import AcceleratorSpec

    preset = resolve(AcceleratorSpec())
    wl = tmp_path / "w.yaml"
    wl.write_text("model: tiny_cnn\nsparsity: dense\ntarget: sat\naccelerator: {rows: 4}\n")
    res = run("validate", str(wl))
    assert res.returncode == 0, res.stderr
    acc = yaml.safe_load(res.stdout)["accelerator"]
    assert acc["rows"] == 4 and acc["cols"] == preset.cols and acc["clock_mhz"] == preset.clock_mhz
    assert all(acc[k] is not None for k in ("mul_latency_cycles", "dram_mts", "sorter_lanes"))
    comments = [line for line in res.stdout.splitlines() if line.startswith("#   accelerator.")]
    cols = next(line for line in comments if line.split()[1] == "accelerator.cols")
    assert preset.sources["cols"][:40] in cols
    res = run("validate", str(wl), "--format", "json")
    data = json.loads(res.stdout)
    assert data["workload"]["accelerator"]["rows"] == 4
    assert data["sources"]["accelerator.rows"] != data["sources"]["accelerator.cols"]


def test_validate_shows_the_mobile_presets_values_and_their_sources(tmp_path):
    wl = tmp_path / "w.yaml"
    wl.write_text("model: tiny_cnn\nsparsity: dense\ntarget: mobile\nmobile: {soc: snapdragon835}\n")
    res = run("validate", str(wl))
    assert res.returncode == 0, res.stderr
    import yaml

    mobile = yaml.safe_load(res.stdout)["mobile"]
    # Snapdragon 835: four Kryo 280 performance cores at 2.45 GHz (AnandTech 10948)
    assert mobile["clock_mhz"] == 2450 and mobile["dram_bandwidth_gbs"] is not None
    comments = [line for line in res.stdout.splitlines() if line.startswith("#   mobile.")]
    assert len(comments) == 3 and "2.45 GHz" in comments[0]
