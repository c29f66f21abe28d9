"""report.html and pareto.html load in headless Chromium (Debian's `chromium`) with no console errors, no
uncaught exceptions, no network request beyond the file itself, and every chart rendered by the inlined Vega
as an SVG with as many data marks as its spec has rows.

Chromium is required: CI installs it (scripts/setup.sh, as root). Without it these tests fail with a message
saying how to install it; set SPARSESIM_SKIP_BROWSER=1 to skip them deliberately on a machine without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from sparsesim.report import write_reports
from sparsesim.sweep import run_sweep, sweep_from_dict

from .browser import PROBE, Chromium, find_chromium

SAT_TITLES = [
    "Speedup vs dense",
    "Cycles per layer, stacked by pass",
    "PE utilisation per layer (GEMMs)",
    "DRAM bandwidth over time",
    "Sparse vs dense",
    "Energy per iteration",
]
MOBILE_TITLES = [
    "Speedup vs dense",
    "Latency per layer, sparse vs dense",
    "Core utilisation per layer (GEMMs)",
    "Sparse vs dense",
    "Energy per run",
]


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        if os.environ.get("SPARSESIM_SKIP_BROWSER") == "1":
            pytest.skip("SPARSESIM_SKIP_BROWSER=1: headless-browser checks of report.html skipped")
        pytest.fail(
            "chromium is not installed, so report.html cannot be checked in a headless browser: "
            "`apt-get install chromium` (scripts/setup.sh does it when run as root or with sudo), or set "
            "SPARSESIM_CHROMIUM=/path/to/chrome, or SPARSESIM_SKIP_BROWSER=1 to skip these tests",
            pytrace=False,
        )
    with Chromium(exe) as b:
        yield b


def check_page(report, titles: list[str], tables: set[str]) -> None:
    assert report.problems() == [], f"{report.url}: {report.problems()}"
    assert report.requests == [report.url], report.requests
    facts = report.facts
    assert facts["figures"] == len(titles)
    assert [c["title"] for c in facts["charts"]] == titles
    for c in facts["charts"]:
        assert c["svg"], f"{c['id']} was not rendered"
        assert c["title"] in c["titles"], c  # the title Vega drew
        assert c["width"] > 100 and c["height"] > 100, c
        assert c["marks"] and all(n > 0 for n in c["marks"].values()), f"{c['id']} has no marks: {c}"
    shown = {t["id"]: t["rows"] for t in facts["tables"]}
    assert tables <= set(shown) and all(shown[t] > 0 for t in tables), shown
    assert facts["sorted"] == "descending"  # the sort script ran (two clicks on a header)
    assert facts["external"] == []


def rendered(report, chart_id: str) -> dict[str, int]:
    return next(c["marks"] for c in report.facts["charts"] if c["id"] == chart_id)


def test_sat_report_in_chromium(browser, sat_run_dir: Path):
    report = browser.load(sat_run_dir / "report.html", PROBE)
    check_page(report, SAT_TITLES, {"layer-table", "op-table", "arch-table", "pass-table", "ablation-table"})
    assert report.facts["title"] == "sparsesim: tiny-cnn-nm-2of4 on sat"
    # as many marks as the run has: a bar per (layer, pass) with cycles, a tick per layer of the baseline
    ops = pd.read_csv(sat_run_dir / "ops.csv")
    base = pd.read_csv(sat_run_dir / "baseline_ops.csv")
    per = ops.groupby(["layer", "pass"])["cycles"].sum()
    dense = base.groupby("layer")["cycles"].sum()
    assert rendered(report, "chart-cycles-per-layer") == {"data_cycles": int((per > 0).sum()),
                                                         "data_dense": int((dense > 0).sum())}  # fmt: skip
    summary = json.loads((sat_run_dir / "summary.json").read_text())
    assert rendered(report, "chart-speedup") == {"data_speedup": 2 + len(summary["ablation"])}
    passes = ops["pass"].nunique()
    assert rendered(report, "chart-sparse-dense") == {"data_cycles": 2 * passes, "data_energy_j": 2 * passes}


def test_sensitivity_tornado_in_chromium(browser, tmp_path: Path):
    from .test_report import SENSITIVITY, synthetic_result

    r = synthetic_result(energy=True)
    r.summary["sensitivity"] = [dict(row) for row in SENSITIVITY]
    write_reports(r, tmp_path)
    report = browser.load(tmp_path / "report.html", PROBE)
    assert report.problems() == [] and report.requests == [report.url], report.problems()
    n = 2 * len(SENSITIVITY)
    assert rendered(report, "chart-sensitivity") == {
        "data_tornado_total_cycles": n,
        "data_tornado_energy_j": n,
    }


def test_mobile_report_in_chromium(browser, mobile_result, tmp_path: Path):
    write_reports(mobile_result, tmp_path)
    check_page(browser.load(tmp_path / "report.html", PROBE), MOBILE_TITLES, {"layer-table", "op-table"})


def test_pareto_page_in_chromium(browser, tmp_path: Path):
    sweep = sweep_from_dict(
        {
            "name": "tiny-pareto",
            "base": {"model": "tiny_mlp", "sparsity": {"pattern": "nm", "n": 2, "m": 8}, "target": "sat"},
            "axes": {"accelerator.rows": [8, 16], "accelerator.cols": [16, 32]},
            "output": str(tmp_path / "sweep"),
        }
    )
    outcome = run_sweep(sweep, workers=0)
    assert outcome.front
    report = browser.load(tmp_path / "sweep" / "pareto.html", PROBE)
    check_page(report, ["tiny-pareto: seconds_simulated vs dsp"], {"front-table", "points-table"})
    assert report.facts["charts"][0]["marks"] == {"data_points": 4, "data_front": len(outcome.front)}


def test_the_checker_sees_errors(browser, tmp_path: Path):
    """The check is not vacuous: a page with a console error, an exception and an external fetch fails it."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<img src="http://127.0.0.1:9/missing.png">'
        '<script>console.error("boom"); undefined_function();</script></body></html>'
    )
    report = browser.load(bad, PROBE)
    assert report.console_errors == ["boom"]
    assert any("undefined_function" in e for e in report.exceptions)
    assert report.external_requests == ["http://127.0.0.1:9/missing.png"]
