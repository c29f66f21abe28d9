"""`sparsesim search` end to end on the tiny CNN (no Yosys: board constraint off), and its parts.

Expected values come from outside the search code: the Pareto front is recomputed here by brute force from
trials.csv, each Pareto workload.yaml is run through `sparsesim run` (tracing and pruning from scratch), and
the retained magnitude is recomputed from the masks `prune_layers` gives for the written workload.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sparsesim.cli import main

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml"


def write_search(folder: Path, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BASE, folder / BASE.name)
    data = {
        "workload": BASE.name,
        "space": {
            "accelerator": {"rows": [4, 8], "cols": [8, 16]},
            "sparsity": {"choices": ["1:4", "2:4", "dense"]},
        },
        "constraints": {"board": None, "retained_magnitude": 0.6},
        "objectives": ["time_s", "energy_j"],
        "trials": 40,
        "batch": 6,
        "seed": 3,
        "full_estimates": 0,
    }
    data.update(changes)
    path = folder / "search.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_search(path: Path, out: Path, *extra: str, capsys=None) -> dict:
    code = main(["search", str(path), "-o", str(out), "--workers", "0", "--format", "json", *extra])
    assert code == 0
    text = capsys.readouterr().out if capsys else ""
    doc = json.loads(text) if text else {}
    if doc:
        from sparsesim.commands import JSON_SHAPES

        assert tuple(doc) == JSON_SHAPES["search"]  # the documented shape (README "Output as JSON")
    return doc


def brute_front(trials: pd.DataFrame, objectives: list[str]) -> set[str]:
    ok = trials[(trials["status"] == "ok") & trials["feasible"]].drop_duplicates(subset="key")
    v = ok[objectives].to_numpy(float)
    front = set()
    for i in range(len(v)):
        if not any((v[j] <= v[i]).all() and (v[j] < v[i]).any() for j in range(len(v))):
            front.add(ok["key"].iloc[i])
    return front


@pytest.fixture(scope="module")
def exhaustive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    path = write_search(folder)
    out = folder / "out"
    assert main(["search", str(path), "-o", str(out), "--workers", "0"]) == 0
    return path, out


def test_a_small_space_is_enumerated_and_every_output_is_written(exhaustive):
    _, out = exhaustive
    trials = pd.read_csv(out / "trials.csv")
    summary = json.loads((out / "search.json").read_text())
    # 2 x 2 array shapes x 3 choices for each of the tiny CNN's searched layers
    searched = [c for c in trials.columns if c.startswith("nm:")]
    enumerated = trials[trials["stage"] == "search"]
    assert summary["space_size"] == 4 * 3 ** len(searched) and len(enumerated) == min(40, summary["space_size"])
    assert summary["sampler"] == "exhaustive enumeration"
    # no board: no resource model, so no full estimate either, and the summary says why
    assert summary["full_estimates"]["points"] == [] and summary["full_estimates"]["requested"] is None
    for name in ("pareto.csv", "search.html", "search.json"):
        assert (out / name).stat().st_size > 0
    html = (out / "search.html").read_text()
    assert "Pareto front" in html and "<script" in html
    assert "The preset hardware with its best N:M on the same constraints" in html and "baseline-vs-best" in html


def test_the_front_is_the_non_dominated_feasible_trials(exhaustive):
    _, out = exhaustive
    trials = pd.read_csv(out / "trials.csv")
    front = pd.read_csv(out / "pareto.csv")
    assert set(front["key"]) == brute_front(trials, ["time_s", "energy_j"])
    assert (front["retained_magnitude"] >= 0.6).all()
    assert (trials.loc[trials["retained_magnitude"] < 0.6, "feasible"] == False).all()  # noqa: E712


def test_each_pareto_workload_runs_and_gives_the_searched_cycles(exhaustive, tmp_path, capsys):
    _, out = exhaustive
    front = pd.read_csv(out / "pareto.csv")
    assert len(front) >= 1
    for i, row in front.iterrows():
        wl = out / "pareto" / str(i) / "workload.yaml"
        capsys.readouterr()
        assert main(["run", str(wl), "-o", str(tmp_path / f"run{i}"), "--format", "json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["total_cycles"] == row["total_cycles"] == row["verified_total_cycles"]
        assert summary["energy_j"] == pytest.approx(row["energy_j"], rel=1e-9)
        # the trial reused its array's dense baseline (Evaluator memo); `sparsesim run` simulates it afresh
        assert summary["speedup"] == pytest.approx(row["speedup"], rel=1e-12)


def test_the_preset_baseline_is_the_best_preset_trial_that_meets_the_constraints(exhaustive):
    """search.json's yardstick, recomputed from trials.csv: the preset-stage trials all run the base
    workload's own array, and the yardstick's best per objective is their feasible minimum."""
    from sparsesim.sat.arch import resolve
    from sparsesim.spec import load_workload

    _, out = exhaustive
    trials = pd.read_csv(out / "trials.csv")
    summary = json.loads((out / "search.json").read_text())
    preset = trials[trials["stage"] == "preset"]
    acc = resolve(load_workload(BASE).accelerator)
    assert len(preset) == summary["preset_baseline"]["trials"] >= 2
    assert (preset["accelerator.rows"] == acc.rows).all() and (preset["accelerator.cols"] == acc.cols).all()
    ok = preset[preset["feasible"].astype(bool)]
    assert not ok.empty and (ok["retained_magnitude"] >= 0.6).all()
    front = pd.read_csv(out / "pareto.csv")
    for o in ("time_s", "energy_j"):
        assert summary["preset_baseline"]["best"][o] == pytest.approx(ok[o].min(), rel=1e-12)
        best = summary["best"][o]
        assert best["best"] == pytest.approx(front[o].min(), rel=1e-12)
        assert best["preset_over_best"] == pytest.approx(ok[o].min() / front[o].min(), rel=1e-12)


def test_the_preset_baseline_finds_the_exact_optimum_of_a_small_case(tmp_path, capsys):
    """With the preset's array as the only accelerator point, every N:M assignment is enumerated: the
    yardstick (start, single moves, knapsack optima; far fewer trials) must reach the enumeration's best."""
    kw = {"space": {"accelerator": {"rows": [16], "cols": [32]},
                    "sparsity": {"choices": ["1:4", "2:4", "dense"]}}}  # fmt: skip
    path = write_search(tmp_path, **kw)
    doc = run_search(path, tmp_path / "out", capsys=capsys)
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    every = trials[(trials["stage"] == "search") & trials["feasible"].astype(bool)]
    assert doc["exhaustive"] and len(trials[trials["stage"] == "search"]) == doc["space_size"]
    for o in ("time_s", "energy_j"):
        assert doc["preset_baseline"]["best"][o] == pytest.approx(every[o].min(), rel=1e-12)


def test_the_search_is_seeded_with_the_preset_baseline_and_never_worse(tmp_path, capsys):
    kw = {"trials": 8, "batch": 4, "space": {"accelerator": {"rows": [8, 16], "cols": [16, 32]},
                                              "sparsity": {"choices": ["1:4", "2:4", "dense"]}}}  # fmt: skip
    path = write_search(tmp_path, **kw)
    doc = run_search(path, tmp_path / "out", capsys=capsys)
    assert not doc["exhaustive"]
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    search = trials[trials["stage"] == "search"].reset_index(drop=True)
    params = [c for c in trials.columns if c.startswith(("accelerator.", "nm:"))]
    seeds = [p["params"] for p in doc["preset_baseline"]["front"]]
    for i, seed in enumerate(seeds):  # asked first, in the yardstick's order
        assert {k: str(search.loc[i, k]) for k in params} == {k: str(v) for k, v in seed.items()}
    front = pd.read_csv(tmp_path / "out" / "pareto.csv")
    v = front[["time_s", "energy_j"]].to_numpy(float)
    for point in doc["preset_baseline"]["front"]:
        assert ((v <= [point["time_s"], point["energy_j"]]).all(axis=1)).any()


def test_retained_magnitude_agrees_with_the_masks_of_the_written_workload(exhaustive):
    from sparsesim.pipeline import build_layer_graph, weight_layers
    from sparsesim.sparsity import prune_layers
    from sparsesim.spec import load_workload

    _, out = exhaustive
    front = pd.read_csv(out / "pareto.csv")
    wl = load_workload(out / "pareto" / "0" / "workload.yaml")
    graph = build_layer_graph(wl)
    pruned = prune_layers(weight_layers(graph), wl.sparsity)
    kept = total = 0.0
    for lp in pruned.layers:
        w = np.abs(np.asarray(graph.weights[lp.name], dtype=np.float64))
        total += w.sum()
        kept += w.sum() if lp.ff_mask is None else w[np.asarray(lp.ff_mask, bool)].sum()
    assert front["retained_magnitude"].iloc[0] == pytest.approx(kept / total, rel=1e-12)


def test_a_rerun_is_served_from_the_cache_and_identical(exhaustive, capsys):
    path, out = exhaustive
    before = pd.read_csv(out / "trials.csv")
    doc = run_search(path, out, capsys=capsys)
    assert doc["cached_trials"] == len(before)
    after = pd.read_csv(out / "trials.csv")
    cols = [c for c in before.columns if c not in ("trial_seconds",)]
    pd.testing.assert_frame_equal(before[cols], after[cols])


def test_nsga2_is_seeded_and_an_interrupted_search_resumes(tmp_path, capsys):
    # 12 trials of a larger space: NSGA-II; the same file twice gives the same trials
    kw = {"trials": 12, "space": {"accelerator": {"rows": [2, 4, 8], "cols": [4, 8, 16]},
                                  "sparsity": {"choices": ["1:4", "2:4", "dense"]}}}  # fmt: skip
    path = write_search(tmp_path / "a", **kw)
    first = run_search(path, tmp_path / "a" / "out", capsys=capsys)
    assert not first["exhaustive"]
    again = run_search(write_search(tmp_path / "b", **kw), tmp_path / "b" / "out", capsys=capsys)
    t1 = pd.read_csv(tmp_path / "a" / "out" / "trials.csv")
    t2 = pd.read_csv(tmp_path / "b" / "out" / "trials.csv")
    params = [c for c in t1.columns if c.startswith(("accelerator.", "nm:"))]
    pd.testing.assert_frame_equal(t1[params], t2[params])
    assert again["cached_trials"] == first["cached_trials"]
    # a "killed" search: half the trial cache lost; the rerun recomputes only those and ends identical
    cache = sorted((tmp_path / "a" / "out" / "trials").glob("*.json"))
    for f in cache[: len(cache) // 2]:
        f.unlink()
    resumed = run_search(path, tmp_path / "a" / "out", capsys=capsys)
    assert resumed["cached_trials"] >= len(t1) - len(cache) // 2 - (len(t1) - len(cache))
    t3 = pd.read_csv(tmp_path / "a" / "out" / "trials.csv")
    pd.testing.assert_frame_equal(t1[params], t3[params])


def test_a_choice_the_array_cannot_run_makes_the_trial_infeasible(tmp_path, capsys):
    # 4:8 needs 4 multipliers per PE; with 2 every trial that picks it somewhere violates nm_unsupported
    kw = {"space": {"accelerator": {"multipliers_per_pe": [2, 4]}, "sparsity": {"choices": ["2:8", "4:8"]}},
          "trials": 64, "constraints": {"board": None}}  # fmt: skip
    base = tmp_path / "s"
    path = write_search(base, **kw)
    data = yaml.safe_load((base / BASE.name).read_text())
    data["sparsity"] = {"pattern": "nm", "n": 2, "m": 8}
    (base / BASE.name).write_text(yaml.safe_dump(data))
    run_search(path, base / "out", capsys=capsys)
    trials = pd.read_csv(base / "out" / "trials.csv")
    layers = [c for c in trials.columns if c.startswith("nm:")]
    uses_48 = (trials[layers] == "4:8").any(axis=1)
    bad = uses_48 & (trials["accelerator.multipliers_per_pe"] == 2)
    assert bad.any() and (~trials.loc[bad, "feasible"].astype(bool)).all()
    assert (trials.loc[bad, "violation_nm_unsupported"] > 0).all()
    front = pd.read_csv(base / "out" / "pareto.csv")
    assert not ((front[layers] == "4:8").any(axis=1) & (front["accelerator.multipliers_per_pe"] == 2)).any()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"space": {"accelerator": {"rowz": [2]}}}, "unknown accelerator parameter 'rowz'"),
        ({"space": {"sparsity": {"choices": ["3:5"]}}}, "'3:5'"),
        ({"space": {}}, "give accelerator choices, sparsity choices or both"),
        ({"objectives": ["speed"]}, "objectives"),
        ({"workload": "missing.yaml"}, "missing.yaml"),
        ({"constraints": {"board": None, "resources": {"lut": -5}}}, "lut: a positive count"),
        ({"constraints": {"board": None, "resources": {"luts": 5}}}, "unknown resource 'luts'"),
    ],
)
def test_bad_search_files_get_one_error_line(tmp_path, capsys, change, message):
    path = write_search(tmp_path, **change)
    assert main(["search", str(path), "-o", str(tmp_path / "out"), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_the_resource_model_fits_the_rest_and_scales_the_cell(tmp_path):
    """The model's arithmetic on synthetic Yosys results: rest linear in rows and cols, cell x R x C."""
    from types import SimpleNamespace

    from sparsesim.sat.arch import resolve
    from sparsesim.search.resources import ResourceModel

    cell = {"lut": 1000, "ff": 500, "dsp": 2, "bram36": 0, "uram": 0}

    def rest(r, c):
        return {"lut": 300 + 40 * r + 70 * c, "ff": 200 + 11 * r + 13 * c, "dsp": 0, "bram36": 0, "uram": 0}

    model = ResourceModel(tmp_path)
    levels = {"worst": 5, "cell": 3, "rest": 5, "across_cell_boundary": 4}
    model._estimate = lambda acc, r, c, tag: SimpleNamespace(
        rest=rest(r, c), cell=cell, resources={}, logic_levels=levels
    )
    acc = resolve(None).to_dict()
    est = model.estimate({**acc, "rows": 16, "cols": 32})
    assert est["resources"]["lut"] == pytest.approx(512 * 1000 + rest(16, 32)["lut"])
    assert est["resources"]["ff"] == pytest.approx(512 * 500 + rest(16, 32)["ff"])
    assert est["resources"]["dsp"] == pytest.approx(1024)
    assert est["resources"]["uram"] > 0  # the buffers, from the buffer table


def test_the_depth_is_the_deepest_calibration_run_against_the_clocks_limit():
    """resources.depth / violations on hand-made calibration runs; limits written out from docs/fpga.md's
    rule floor((1000 / MHz - 1) / 0.5): 11 levels at 150 MHz, 8 at 200, 6 at 250."""
    from types import SimpleNamespace

    from sparsesim.search.resources import depth, violations

    points = [{"levels": {"worst": w, "cell": 7, "rest": w, "across_cell_boundary": 7}} for w in (8, 10, 9)]
    assert [depth(points, mhz)["limit"] for mhz in (150.0, 200.0, 250.0)] == [11, 8, 6]
    assert depth(points, 200.0)["worst"] == 10 and depth(points, 200.0)["rest"] == 10
    res = {"lut": 600_000.0, "ff": 1.0, "dsp": 10.0, "bram36": 0.0, "uram": 0.0}
    pct = {"lut": 50.75, "ff": 0.0, "dsp": 0.15, "bram36": 0.0, "uram": 0.0}
    board = SimpleNamespace(board="vcu1525", budget=True, resources={"dsp": 8.0}, logic_depth=True)
    v = violations(res, pct, board, worst_levels=10, clock_mhz=150.0)
    assert v["logic_depth"] == -1.0 and v["lut_over"] == pytest.approx(0.75) and v["dsp_cap"] == 2.0
    assert violations(res, pct, board, worst_levels=10, clock_mhz=200.0)["logic_depth"] == 2.0
    off = SimpleNamespace(board="vcu1525", budget=True, resources=None, logic_depth=False)
    assert "logic_depth" not in violations(res, pct, off, worst_levels=10, clock_mhz=250.0)
