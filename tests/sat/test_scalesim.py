"""SCALE-Sim 3.0.0's files as sparsesim inputs, and its cycles reproduced per layer.

The expected numbers are SCALE-Sim's own COMPUTE_REPORT.csv files, produced by running SCALE-Sim 3.0.0 on
the topologies and configs in tests/sat/data/scalesim (README.md there gives the commands). They are
independent of sparsesim: nothing here derives them from our timing contract. The SCALE-Sim-style array runs
through the same path as every workload: spec -> arch -> scheduler (map_gemm) -> SimPy engines.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sparsesim.errors import SpecError
from sparsesim.sat.simulate import simulate_ops
from sparsesim.scalesim import read_config, read_topology
from sparsesim.spec import load_workload

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "scalesim"
TOLERANCE = 0.005  # the bound: 0.5 % per layer
CASES = [(t, df) for t in ("resnet18", "alexnet", "fc_train_dense") for df in ("ws32", "os32")]


def reference(topology: str, cfg: str) -> dict[str, dict[str, float]]:
    """SCALE-Sim's per-layer report, keyed by the topology's layer names (its LayerID is the row order)."""
    path = DATA / f"{topology}_{cfg}_COMPUTE_REPORT.csv"
    with path.open() as fh:
        rows = [[c.strip() for c in r] for r in csv.reader(fh) if r]
    header = [h for h in rows[0] if h]
    names = [layer.name for layer in read_topology(DATA / f"{topology}.csv").layers]
    out = {}
    for r in rows[1:]:
        rec = dict(zip(header, r))
        out[names[int(rec["LayerID"])]] = {
            "total": float(rec["Total Cycles"]),
            "stall": float(rec["Stall Cycles"]),
            "util": float(rec["Overall Util %"]),
        }
    assert len(out) == len(names), f"{path}: {len(out)} layers, topology has {len(names)}"
    return out


def simulate(topology: str, cfg: str):
    from sparsesim.pipeline import prepare
    from sparsesim.sat.arch import resolve

    wl = load_workload(DATA / f"{topology}-{cfg}.yaml")
    prepared = prepare(wl)
    return simulate_ops(prepared.ops, resolve(wl.accelerator), graph=prepared.graph)


@pytest.mark.parametrize("topology,cfg", CASES)
def test_per_layer_cycles_match_scalesim(topology, cfg):
    ref = reference(topology, cfg)
    assert all(r["stall"] == 0 for r in ref.values())  # CALC interface: SCALE-Sim reports no stalls
    ops = simulate(topology, cfg).ops.set_index("layer")
    for name, r in ref.items():
        ours = int(ops.loc[name, "cycles"])
        assert abs(ours - r["total"]) <= TOLERANCE * r["total"], (name, ours, r["total"])
        # Utilisation = MACs / (cycles x PEs): the same MAC count on the same array.
        assert ops.loc[name, "utilisation"] * 100 == pytest.approx(r["util"], rel=TOLERANCE), name


@pytest.mark.parametrize("cfg", ["ws32", "os32"])
def test_cli_total_cycles_match_scalesim(cfg, tmp_path):
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "sparsesim.cli", "run", str(DATA / f"resnet18-{cfg}.yaml"), "--format", "json",
         "--output", str(out)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    ref = reference("resnet18", cfg)
    want = sum(r["total"] for r in ref.values())
    assert abs(summary["total_cycles"] - want) <= TOLERANCE * want
    ops = pd.read_csv(out / "ops.csv").set_index("layer")
    for name, r in ref.items():
        assert abs(int(ops.loc[name, "cycles"]) - r["total"]) <= TOLERANCE * r["total"], name
    assert summary["arch"]["preset"] == "scalesim" and summary["arch"]["dataflow"] == cfg[:2]


def test_the_scheduler_maps_folds_as_scalesim_does():
    """The mapper (not a fold formula here) puts SCALE-Sim's dimensions on the array: count its folds."""
    topo = read_topology(DATA / "resnet18.csv")
    for cfg in ("ws32", "os32"):
        ops = simulate("resnet18", cfg).ops.set_index("layer")
        for layer in topo.layers:
            pixels = layer.ofmap_h * layer.ofmap_w
            sr, sc = (layer.window, layer.num_filters) if cfg == "ws32" else (pixels, layer.num_filters)
            assert ops.loc[layer.name, "tiles"] == math.ceil(sr / 32) * math.ceil(sc / 32), layer.name
            assert bool(ops.loc[layer.name, "transposed"]) == (cfg == "os32")
            assert ops.loc[layer.name, "dataflow"] == cfg[:2]


def test_the_preset_sequencing_would_not_match():
    """The agreement comes from the parameters: with the vcu1525 sequencing (two weight banks, bus loads,
    overlapped folds, serial OS drain) the same array is far from SCALE-Sim on some layer."""
    from sparsesim.pipeline import prepare
    from sparsesim.sat.arch import resolve

    for cfg in ("ws32", "os32"):
        wl = load_workload(DATA / f"resnet18-{cfg}.yaml")
        arch = dataclasses.replace(
            resolve(wl.accelerator), weight_banks=2, weight_load="bus", fold_overlap=True, os_drain="serial"
        )
        prepared = prepare(wl)
        ops = simulate_ops(prepared.ops, arch, graph=prepared.graph).ops.set_index("layer")
        ref = reference("resnet18", cfg)
        worst = max(abs(ops.loc[n, "cycles"] - r["total"]) / r["total"] for n, r in ref.items())
        assert worst > 0.2, (cfg, worst)


def test_topology_dims_are_scalesims():
    topo = read_topology(DATA / "resnet18.csv")
    conv1 = topo.layers[0]
    assert topo.form == "conv" and len(topo.layers) == 21
    assert (conv1.ofmap_h, conv1.ofmap_w, conv1.window) == (110, 110, 147)  # ceil((224 - 7) / 2) + 1
    gemm = read_topology(DATA / "fc_train_dense.csv")
    assert gemm.form == "gemm" and [(x.ifmap_h, x.num_filters, x.window) for x in gemm.layers] == [
        (128, 512, 512), (128, 512, 512), (512, 512, 128)
    ]  # fmt: skip
    cfg = read_config(DATA / "os32.cfg")
    assert (cfg.rows, cfg.cols, cfg.dataflow, cfg.ifmap_sram_kib) == (32, 32, "os", 64)


# ------------------------------------------------------------------------------------------------ errors
def _cli(tmp_path: Path, workload: str, files: dict[str, str], capsys) -> tuple[int, str]:
    """`sparsesim run` in process (the CLI's own entry point; one subprocess test below covers the rest)."""
    from sparsesim.cli import main

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "w.yaml").write_text(workload)
    capsys.readouterr()
    code = main(["run", str(tmp_path / "w.yaml"), "--output", str(tmp_path / "out")])
    return code, capsys.readouterr().err


GOOD_CSV = (DATA / "alexnet.csv").read_text()
GOOD_CFG = (DATA / "ws32.cfg").read_text()
WORKLOAD = "model: t.csv\nsparsity: dense\ntarget: sat\naccelerator: {scalesim: a.cfg}\n"
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


@pytest.mark.parametrize(
    "csv_text,cfg_text,workload,expect",
    [
        (HEADER + "C1, 13, 13, 3, 3, x, 8, 1,\n", GOOD_CFG, WORKLOAD, "t.csv:2: Channels must be a whole number"),
        (HEADER + "C1, 13, 13, 3, 3, 4,\n", GOOD_CFG, WORKLOAD, "t.csv:2: 6 fields, expected 8"),
        (HEADER + "C1, 13, 13, 3, 3, 4, 8, 1,\nC2, 2, 2, 3, 3, 4, 8, 1,\n", GOOD_CFG, WORKLOAD,
         "t.csv:3: the 3x3 filter is larger than the 2x2 ifmap"),
        (HEADER + "C1, 13, 13, 3, 3, 4, 8, 0,\n", GOOD_CFG, WORKLOAD, "t.csv:2: Strides must be >= 1"),
        (HEADER, GOOD_CFG, WORKLOAD, "t.csv: no layers after the header"),
        (GOOD_CSV, GOOD_CFG.replace("Dataflow : ws", "Dataflow : is"), WORKLOAD,
         "a.cfg:14: [architecture_presets] Dataflow must be ws or os, got 'is'"),
        (GOOD_CSV, GOOD_CFG.replace("ArrayHeight:    32", "ArrayHeight:    3x2"), WORKLOAD,
         "a.cfg:5: [architecture_presets] ArrayHeight must be a whole number"),
        (GOOD_CSV, GOOD_CFG.replace("ArrayWidth:     32\n", ""), WORKLOAD,
         "a.cfg: [architecture_presets] ArrayWidth: missing"),
        (GOOD_CSV, GOOD_CFG.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER"), WORKLOAD,
         "[run_presets] InterfaceBandwidth must be CALC"),
        (GOOD_CSV, GOOD_CFG.replace("SparsitySupport : false", "SparsitySupport : true"), WORKLOAD,
         "[sparsity] SparsitySupport must be false"),
        (GOOD_CSV, "ArrayHeight: 32\n" + GOOD_CFG, WORKLOAD, "a.cfg:1: a line before the first [section]"),
        (GOOD_CSV, GOOD_CFG, WORKLOAD.replace("scalesim: a.cfg", "scalesim: a.cfg, rows: 8"),
         "accelerator.rows: cannot be set with accelerator.scalesim"),
        (GOOD_CSV, GOOD_CFG, WORKLOAD + "task: {mode: train}\n", "task.mode: must be 'infer'"),
        (GOOD_CSV, GOOD_CFG, WORKLOAD.replace("a.cfg", "missing.cfg"), "missing.cfg: no such file"),
    ],
)
def test_malformed_files_are_one_line_errors(tmp_path, capsys, csv_text, cfg_text, workload, expect):
    code, err = _cli(tmp_path, workload, {"t.csv": csv_text, "a.cfg": cfg_text}, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert expect in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_malformed_file_through_the_command(tmp_path):
    (tmp_path / "t.csv").write_text(HEADER + "C1, 13, 13, 3, 3, x, 8, 1,\n")
    (tmp_path / "a.cfg").write_text(GOOD_CFG)
    (tmp_path / "w.yaml").write_text(WORKLOAD)
    res = subprocess.run(
        [sys.executable, "-m", "sparsesim.cli", "run", str(tmp_path / "w.yaml"), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and res.stderr.startswith("error: ")
    assert "t.csv:2: Channels must be a whole number" in res.stderr
    assert not (tmp_path / "out").exists()


def test_spec_errors_name_the_file():
    with pytest.raises(SpecError, match=r"resnet18.csv: no such file"):
        read_topology(DATA / "nope" / "resnet18.csv")


def test_resolved_workload_round_trips_and_sweeps():
    """The workload.yaml a run writes lists every field: it must load again, and sweeps may vary the .cfg."""
    from sparsesim.sat.arch import resolve
    from sparsesim.spec import workload_from_dict

    wl = load_workload(DATA / "resnet18-ws32.yaml")
    again = workload_from_dict(wl.to_dict(), base_dir=DATA)
    assert again.accelerator.scalesim == wl.accelerator.scalesim == str(DATA / "ws32.cfg")
    os_wl = wl.with_updates({"accelerator.scalesim": str(DATA / "os32.cfg")})
    assert resolve(os_wl.accelerator).dataflow == "os" and os_wl.task.mode == "infer"
