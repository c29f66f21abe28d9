"""The search's resource model against stored Yosys runs (tests/search/data/yosys_rest.json, written by
`bench/search_resources.py --write`; the file names the command, the tool and the date).

The expected numbers are Yosys's, not the model's: the model is fitted on the runs labelled `calibration`
only (they must be the model's own calibration set) and must predict the board core's LUT, FF and DSP of
every `held-out` run within 5 %.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparsesim.search.resources import CALIBRATION, FITTED, fit_rest

DATA = Path(__file__).parent / "data" / "yosys_rest.json"
DOC = json.loads(DATA.read_text())
TOLERANCE = 0.05  # the bar for the model against a full Yosys run


def _configs():
    return [pytest.param(c, id=f"P{c['multipliers_per_pe']}") for c in DOC["configs"]]


def test_the_stored_calibration_set_is_the_models():
    assert [tuple(c) for c in DOC["calibration"]] == list(CALIBRATION)
    sizes = set()
    for config in DOC["configs"]:
        calib = [(r["rows"], r["cols"]) for r in config["runs"] if r["role"] == "calibration"]
        held = [(r["rows"], r["cols"]) for r in config["runs"] if r["role"] == "held-out"]
        assert sorted(calib) == sorted(CALIBRATION)
        assert held and not set(held) & set(CALIBRATION)
        sizes |= set(held)
    assert len(sizes) >= 2  # at least two held-out array sizes


@pytest.mark.parametrize("config", _configs())
def test_the_model_predicts_held_out_yosys_runs_within_5_percent(config):
    calib = [r for r in config["runs"] if r["role"] == "calibration"]
    fit = fit_rest([{"rows": r["rows"], "cols": r["cols"], "rest": r["rest"]} for r in calib])
    cell = config["cell"]
    for run in (r for r in config["runs"] if r["role"] == "held-out"):
        rows, cols = run["rows"], run["cols"]
        rest = fit.rest(rows, cols)
        for res in FITTED:
            predicted = rows * cols * cell[res] + rest[res]
            measured = run["total"][res]
            assert predicted == pytest.approx(measured, rel=TOLERANCE), (rows, cols, res)


@pytest.mark.parametrize("config", _configs())
def test_the_fit_never_clamps_the_rest_of_the_searched_arrays(config):
    calib = [r for r in config["runs"] if r["role"] == "calibration"]
    fit = fit_rest([{"rows": r["rows"], "cols": r["cols"], "rest": r["rest"]} for r in calib])
    for rows in (8, 16, 32):
        for cols in (8, 16, 32, 48):
            rest = fit.rest(rows, cols)
            assert all(rest[r] >= 0 for r in FITTED)
            assert rest["lut"] >= min(r["rest"]["lut"] for r in calib)  # more PEs never shrink the rest
