"""summary.md and report.html: present, built from the RunResult alone, self-contained, written atomically."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparsesim import cli
from sparsesim.io import MARKER
from sparsesim.report import write_reports
from sparsesim.report.html import report_html
from sparsesim.report.markdown import summary_markdown
from sparsesim.report.text import summary_text
from sparsesim.results import OPS_COLUMNS, RunResult

from .conftest import SAT_WORKLOAD

SVG_NS = "{http://www.w3.org/2000/svg}"
SAT_CHARTS = {
    "chart-speedup": "Speedup vs dense",
    "chart-cycles-per-layer": "Cycles per layer, stacked by pass",
    "chart-utilisation": "PE utilisation per layer (GEMMs)",
    "chart-dram-bandwidth": "DRAM bandwidth over time",
}


def charts(page: str) -> dict[str, ET.Element]:
    """Every chart of a page, parsed as XML (so each is well-formed), by id."""
    found = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    parsed = [ET.fromstring(s) for s in found]
    return {el.get("id"): el for el in parsed}


def assert_self_contained(page: str) -> None:
    """No fetch of anything: no src/href to other sites, no stylesheet links, no CSS url(), no imports."""
    urls = re.findall(r"https?://[^\s\"'<>)]+", page)
    assert set(urls) <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"<(img|link|iframe|object|embed)\b", page, flags=re.I)
    assert not re.search(r"<script[^>]*\bsrc=", page, flags=re.I)
    assert "url(" not in page and "@import" not in page


# -------------------------------------------------------------------------------------------- sparsesim run
def test_run_writes_every_output(sat_run_dir: Path):
    names = {p.name for p in sat_run_dir.iterdir()}
    assert {"summary.md", "ops.csv", "summary.json", "report.html"} <= names
    assert {"baseline_ops.csv", "timeline.csv", "workload.yaml"} <= names
    assert not [n for n in names if n.startswith(".") and n != MARKER]


def test_summary_md_has_the_key_numbers_of_summary_json(sat_run_dir: Path):
    s = json.loads((sat_run_dir / "summary.json").read_text())
    md = (sat_run_dir / "summary.md").read_text()
    assert md.startswith("# tiny-cnn-nm-2of4 on sat")
    assert f"| total cycles | {s['total_cycles']:,.0f} |" in md
    assert f"| speedup vs dense | {s['speedup']:.3f}x |" in md
    assert f"| dense baseline cycles | {s['dense_total_cycles']:,.0f} |" in md
    assert f"{s['ideal_speedup']:.3f}x from {s['ideal_speedup_formula']}" in md
    assert f"| PE utilisation | {s['utilisation']:.1%} |" in md
    for p, cycles in s["cycles_per_pass"].items():
        assert f"| {p} | {cycles:,.0f} |" in md
    for name, v in s["ablation"].items():
        assert f"| {name} | {v:.3f}x |" in md
    ops = pd.read_csv(sat_run_dir / "ops.csv")
    longest = ops.sort_values("cycles", ascending=False).iloc[0]
    assert f"| {longest['op']} |" in md


def test_report_html_has_the_plots_and_tables(sat_run_dir: Path):
    page = (sat_run_dir / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    found = charts(page)
    assert set(found) == set(SAT_CHARTS)
    for chart_id, title in SAT_CHARTS.items():
        el = found[chart_id]
        assert el.find(f"{SVG_NS}title").text == title
        assert float(el.get("width")) > 100 and float(el.get("height")) > 100
        marks = [e for e in el.iter() if "mark" in (e.get("class") or "").split()]
        assert marks, f"{chart_id} draws nothing"
    assert page.count('<figure class="plot"') == 4
    for table in ("layer-table", "op-table", "arch-table"):
        assert f'id="{table}"' in page
    s = json.loads((sat_run_dir / "summary.json").read_text())
    assert f"{s['speedup']:.3f}x" in page and f"{s['total_cycles']:,}" in page
    assert_self_contained(page)


def test_cycles_chart_stacks_every_pass_of_every_layer(sat_result: RunResult):
    page = report_html(sat_result)
    chart = charts(page)["chart-cycles-per-layer"]
    tips = [t.text for t in chart.iter(f"{SVG_NS}title")]
    ops = sat_result.ops
    per = ops.groupby(["layer", "pass"])["cycles"].sum()
    for (layer, p), cycles in per.items():
        if cycles > 0:
            assert any(t.startswith(f"{layer} {p}: ") for t in tips), (layer, p)
    dense = sat_result.baseline.ops.groupby("layer")["cycles"].sum()
    assert sum(1 for t in tips if " dense baseline: " in t) == int((dense > 0).sum())


def test_bandwidth_chart_comes_from_the_timeline(sat_result: RunResult):
    chart = charts(report_html(sat_result))["chart-dram-bandwidth"]
    text = ET.tostring(chart, encoding="unicode")
    peak = sat_result.summary["arch"]["dram_bandwidth_gbs"]
    assert f"DRAM peak {peak:.1f} GB/s" in text
    assert f"average {sat_result.summary['dram_bandwidth_gbs']:.1f} GB/s" in text
    assert "PE array: FF" in text and "PE array: WU" in text


def test_speedup_chart_shows_ideal_bound_array_bound_and_ablations(sat_result: RunResult):
    chart = charts(report_html(sat_result))["chart-speedup"]
    text = ET.tostring(chart, encoding="unicode")
    s = sat_result.summary
    assert f"achieved: {s['speedup']:.3f}x" in text
    assert f"array bound (GEMMs at full rate): {s['array_bound_speedup']:.3f}x" in text
    assert f"ideal bound {s['ideal_speedup_formula']}: {s['ideal_speedup']:.3f}x" in text
    for name, v in s["ablation"].items():
        assert f"{name} off: {v:.3f}x" in text


def test_mobile_report_shows_latency_per_layer(mobile_result: RunResult, tmp_path: Path):
    write_reports(mobile_result, tmp_path)
    page = (tmp_path / "report.html").read_text()
    found = charts(page)
    assert set(found) == {"chart-speedup", "chart-latency-per-layer", "chart-utilisation"}
    tips = [t.text for t in found["chart-latency-per-layer"].iter(f"{SVG_NS}title")]
    assert any(" sparse: " in t for t in tips) and any(" dense baseline: " in t for t in tips)
    assert "recorded no timeline" in page
    md = (tmp_path / "summary.md").read_text()
    assert f"| latency | {mobile_result.summary['latency_ms']:.3f} ms |" in md
    assert "| core utilisation |" in md
    assert_self_contained(page)


# --------------------------------------------------------------------------- reports read, never recompute
def synthetic_result(target: str = "sat") -> RunResult:
    """A RunResult with made-up numbers no simulator would produce: the reports must show exactly these."""
    rows = []
    for i, (layer, p, kind, cycles, util) in enumerate(
        [
            ("a", "FF", "gemm", 1000, 0.5),
            ("a", "BP", "gemm", 3000, 0.25),
            ("b", "FF", "act", 777, np.nan),
            ("a", "WU", "gemm", 2000, 0.125),
        ]
    ):
        row = dict.fromkeys(OPS_COLUMNS, 0)
        row.update(
            op=f"{layer}:{p}",
            layer=layer,
            kind=kind,
            engine="pe_array" if kind == "gemm" else "vector",
            mode="x",
            start_cycle=i * 100,
            end_cycle=i * 100 + cycles,
            cycles=cycles,
            compute_cycles=cycles,
            utilisation=util,
            energy_j=np.nan,
            density=1.0,
        )
        row["pass"] = p
        rows.append(row)
    ops = pd.DataFrame(rows)
    summary = {
        "total_cycles": 4242,
        "speedup": 9.876,
        "ideal_speedup": 12.5,
        "ideal_speedup_formula": "made-up bound",
        "utilisation": 0.314,
        "clock_mhz": 100.0,
        "cycles_per_pass": {"FF": 1777, "BP": 3000, "WU": 2000},
    }
    timeline = pd.DataFrame(
        {"cycle": [0.0, 100.0, 200.0], "dram_bytes_per_cycle": [10.0, 0.0, 5.0], "dram_flows": [1, 0, 1]}
    )
    return RunResult(name="made-up", target=target, summary=summary, ops=ops, timeline=timeline)


def test_reports_show_the_results_numbers_not_their_own():
    r = synthetic_result()
    page, md, text = report_html(r), summary_markdown(r), summary_text(r)
    for out in (page, md, text):
        assert "9.876x" in out and "4,242" in out and "12.500x from made-up bound" in out and "31.4%" in out
    found = charts(page)
    tips = [t.text for t in found["chart-utilisation"].iter(f"{SVG_NS}title")]
    assert "a FF: 50%" in tips and "a BP: 25%" in tips and "a WU: 12%" in tips
    tips = [t.text for t in found["chart-cycles-per-layer"].iter(f"{SVG_NS}title")]
    assert "a BP: 3000 cycles" in tips and "b FF: 777 cycles" in tips


def test_a_result_without_baseline_timeline_or_speedup_still_reports(tmp_path: Path):
    r = synthetic_result()
    r.timeline = None
    for key in ("speedup", "ideal_speedup", "ideal_speedup_formula"):
        r.summary.pop(key)
    write_reports(r, tmp_path)
    found = charts((tmp_path / "report.html").read_text())
    assert set(found) == {"chart-cycles-per-layer", "chart-utilisation"}


def test_summary_text_names_the_ideal_bound_formula(sat_result: RunResult):
    text = summary_text(sat_result)
    s = sat_result.summary
    assert f"ideal bound                  {s['ideal_speedup']:.3f}x from {s['ideal_speedup_formula']}" in text
    assert "speedup vs dense with one optimisation off:" in text


# ---------------------------------------------------------------------------------------------- atomicity
@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "over-old-folder"])
def test_failure_while_writing_the_report_leaves_no_output(tmp_path, monkeypatch, sat_result, exc, existing):
    """The report is written inside run's atomic folder: a crash or Ctrl-C half way through report.html
    leaves neither a new folder nor a temporary one, and an existing output folder untouched."""
    import sparsesim.report.html as html_mod
    import sparsesim.targets as run_mod

    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "summary.md").write_text("old report\n")
        (out / MARKER).write_text("an earlier run\n")
    monkeypatch.setattr(run_mod, "simulate", lambda wl, **kw: sat_result)
    written = []

    def explode(result):
        written.extend(p.name for p in tmp_path.rglob("summary.md"))
        raise exc

    monkeypatch.setattr(html_mod, "report_html", explode)
    code = cli.main(["run", str(SAT_WORKLOAD), "-o", str(out), "--quiet"])
    assert code == (130 if isinstance(exc, KeyboardInterrupt) else 1)
    assert written, "summary.md was written before report.html failed (the half report existed)"
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out"] if existing else [])
    if existing:
        assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "summary.md"])
        assert (out / "summary.md").read_text() == "old report\n"


# --------------------------------------------------------------------------------------------------- views
def test_bin_timeline_integrates_the_rate_steps_exactly():
    from sparsesim.report.tables import bin_timeline

    # 10 B/cycle on [0, 100), 0 on [100, 150), 4 B/cycle on [150, 400); two rows at 150: the last holds.
    tl = pd.DataFrame({"cycle": [0.0, 100.0, 150.0, 150.0], "dram_bytes_per_cycle": [10.0, 0.0, 7.0, 4.0]})
    edges, avg = bin_timeline(tl, 400.0, bins=4)
    assert list(edges) == [0.0, 100.0, 200.0, 300.0, 400.0]
    assert list(avg) == pytest.approx([10.0, 2.0, 4.0, 4.0])
    edges, avg = bin_timeline(tl, 400.0, bins=7)
    assert float(np.sum(avg * np.diff(edges))) == pytest.approx(10 * 100 + 4 * 250)


def test_bin_timeline_starting_late_counts_zero_before_the_first_event():
    from sparsesim.report.tables import bin_timeline

    tl = pd.DataFrame({"cycle": [50.0], "dram_bytes_per_cycle": [8.0]})
    edges, avg = bin_timeline(tl, 100.0, bins=2)
    assert list(avg) == pytest.approx([0.0, 8.0])


def test_pareto_front():
    from sparsesim.report.svg import pareto_front

    xs = [1, 2, 2, 3, 4, 4, float("nan")]
    ys = [9, 5, 6, 5, 1, 1, 0]
    assert pareto_front(xs, ys) == [0, 1, 4]


def test_ticks_are_round():
    from sparsesim.report.svg import log_ticks, nice_max, nice_ticks

    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80]
    assert nice_max(97) == 100 and nice_max(55) == 60 and nice_max(0) == 1.0
    assert log_ticks(200, 2600, pow2=True) == [256, 512, 1024, 2048]
    assert log_ticks(1e-4, 1e-1) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
