"""summary.md and report.html: present, built from the RunResult alone, self-contained, written atomically."""

from __future__ import annotations

import json
import re
from html import escape
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

SAT_CHARTS = {
    "chart-speedup": "Speedup vs dense",
    "chart-cycles-per-layer": "Cycles per layer, stacked by pass",
    "chart-utilisation": "PE utilisation per layer (GEMMs)",
    "chart-dram-bandwidth": "DRAM bandwidth over time",
    "chart-sparse-dense": "Sparse vs dense",
    "chart-energy": "Energy per iteration",
}


def charts(page: str) -> dict[str, dict]:
    """Every chart of a page: its Vega-Lite spec (a JSON block beside its placeholder), by chart id."""
    found = re.findall(r'<div class="chart" id="([^"]+)" data-spec="([^"]+)"', page)
    specs = dict(re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', page, flags=re.S))
    assert len(found) == len(specs), "a chart without its spec (or a spec without its chart)"
    return {chart_id: json.loads(specs[spec_id]) for chart_id, spec_id in found}


def title(spec: dict) -> str:
    t = spec.get("title")
    return t.get("text") if isinstance(t, dict) else t


def marks(spec: dict, name: str) -> list[dict]:
    """The data rows drawn by the mark named `name` (its own data, else the data it inherits)."""
    datasets = spec.get("datasets", {})

    def rows(data: dict | None) -> list[dict] | None:
        if not data:
            return None
        return datasets[data["name"]] if "name" in data else data.get("values")

    def walk(node: dict, inherited: list[dict] | None) -> list[dict] | None:
        own = rows(node.get("data")) or inherited
        if is_named(node, name):
            return own
        for key in ("layer", "hconcat", "vconcat", "concat"):
            for child in node.get(key, []):
                got = walk(child, own)
                if got is not None:
                    return got
        return None

    found = walk(spec, None)
    assert found is not None, f"no mark named {name}"
    return found


def is_named(node: dict, name: str) -> bool:
    """Altair makes names unique inside a concatenation by adding _<n>."""
    return re.fullmatch(rf"{re.escape(name)}(_\d+)?", str(node.get("name", ""))) is not None


def mark_names(spec: dict) -> set[str]:
    names = set()

    def walk(node: dict) -> None:
        if str(node.get("name", "")).startswith("data_"):
            names.add(re.sub(r"_\d+$", "", node["name"]))
        for key in ("layer", "hconcat", "vconcat", "concat"):
            for child in node.get(key, []):
                walk(child)

    walk(spec)
    return names


def assert_self_contained(page: str) -> None:
    """Nothing to fetch: no element with a src, no stylesheet links or frames, no CSS url() or @import, no
    script that imports a module. (The inlined Vega bundle holds URL strings, such as its schema's, that it
    never fetches; tests/report/test_browser.py checks that loading the page requests nothing.)"""
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.S | re.I)
    assert not [attrs for attrs, _ in scripts if "src=" in attrs]
    assert not [code for _, code in scripts if re.search(r"\bimport\s*\(|^\s*import\s", code, flags=re.M)]
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", page, flags=re.S | re.I)  # elements, not JS strings
    assert not re.search(r"<(img|link|iframe|object|embed|audio|video|source)\b", markup, flags=re.I)
    assert not re.search(r"\b(src|href)=\"(https?:|//)", markup, flags=re.I)
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?(https?:|//)", page)


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
    for chart_id, name in SAT_CHARTS.items():
        spec = found[chart_id]
        assert title(spec) == name
        assert spec["$schema"].endswith("/vega-lite/v6.4.1.json") or "vega-lite" in spec["$schema"]
        names = mark_names(spec)
        assert names and all(marks(spec, n) for n in names), f"{chart_id} draws nothing"
    assert page.count('<figure class="plot"') == len(SAT_CHARTS)
    for table in (
        "layer-table",
        "op-table",
        "arch-table",
        "pass-table",
        "ablation-table",
        "energy-component-table",
    ):
        assert f'id="{table}"' in page
    s = json.loads((sat_run_dir / "summary.json").read_text())
    assert f"{s['speedup']:.3f}x" in page and f"{s['total_cycles']:,}" in page
    assert f"{s['energy_j']:.4g} J" in page and f"{s['avg_power_w']:.3g} W" in page
    assert f"{s['gflops_per_w']:.3g} GFLOPS/W" in page and f"{s['energy_gain']:.2f}x less" in page
    # the resolved workload, as written beside the report
    assert escape((sat_run_dir / "workload.yaml").read_text()) in page
    assert page.count("<script>") == 3  # sorting, the Vega bundle, the renderer: nothing else runs
    assert_self_contained(page)


def test_cycles_chart_stacks_every_pass_of_every_layer(sat_result: RunResult):
    spec = charts(report_html(sat_result))["chart-cycles-per-layer"]
    ops = sat_result.ops
    per = ops.groupby(["layer", "pass"])["cycles"].sum()
    want = {(str(layer), str(p)): float(c) for (layer, p), c in per.items() if c > 0}
    got = {(r["layer"], r["pass"]): r["cycles"] for r in marks(spec, "data_cycles")}
    assert got == pytest.approx(want)
    dense = sat_result.baseline.ops.groupby("layer")["cycles"].sum()
    ticks = {r["layer"]: r["dense_cycles"] for r in marks(spec, "data_dense")}
    assert ticks == pytest.approx({str(k): float(v) for k, v in dense.items() if v > 0})


def test_bandwidth_chart_comes_from_the_timeline(sat_result: RunResult):
    spec = charts(report_html(sat_result))["chart-dram-bandwidth"]
    text = json.dumps(spec, ensure_ascii=False)
    peak = sat_result.summary["arch"]["dram_bandwidth_gbs"]
    assert f"DRAM peak {peak:.1f} GB/s" in text
    assert f"average {sat_result.summary['dram_bandwidth_gbs']:.1f} GB/s" in text
    strip = marks(spec, "data_strip")
    assert {"FF", "WU"} <= {r["pass"] for r in strip}
    # The bins hold every byte the timeline moved: integrate its rate steps here, independently.
    tl = sat_result.timeline
    cycles = np.diff(np.r_[tl["cycle"].to_numpy(), sat_result.summary["total_cycles"]])
    total_bytes = float(np.sum(tl["dram_bytes_per_cycle"].to_numpy() * cycles))
    clock_hz = sat_result.summary["clock_mhz"] * 1e6
    bins = marks(spec, "data_bandwidth")
    unit = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[re.search(r"time \((\w+)\)", text).group(1)]
    moved = sum(r["gbs"] * 1e9 * (r["end"] - r["start"]) * unit for r in bins)
    assert moved == pytest.approx(total_bytes, rel=1e-6)
    assert total_bytes / clock_hz > 0


def test_speedup_chart_shows_ideal_bound_array_bound_and_ablations(sat_result: RunResult):
    spec = charts(report_html(sat_result))["chart-speedup"]
    s = sat_result.summary
    bars = {r["bar"]: r["speedup"] for r in marks(spec, "data_speedup")}
    want = {"achieved": s["speedup"], "array bound (GEMMs at full rate)": s["array_bound_speedup"]}
    want.update({f"{name} off": v for name, v in s["ablation"].items()})
    assert bars == pytest.approx(want)
    assert f"ideal bound {s['ideal_speedup_formula']}" in json.dumps(spec)


def test_mobile_report_shows_latency_per_layer(mobile_result: RunResult, tmp_path: Path):
    write_reports(mobile_result, tmp_path)
    page = (tmp_path / "report.html").read_text()
    found = charts(page)
    assert set(found) == {
        "chart-speedup",
        "chart-latency-per-layer",
        "chart-utilisation",
        "chart-sparse-dense",
        "chart-energy",
    }
    rows = marks(found["chart-latency-per-layer"], "data_latency")
    clock = mobile_result.summary["clock_mhz"]
    sparse = mobile_result.ops.groupby("layer")["cycles"].sum() / clock
    got = {r["layer"]: r["latency_us"] for r in rows if r["run"] == "sparse"}
    assert got == pytest.approx({str(k): v for k, v in sparse.items() if str(k) in got})
    assert any(r["run"] == "dense baseline" for r in rows)
    # one pass (inference): energy by op kind, with the static energy as its own bar
    groups = {r["kind"] for r in marks(found["chart-energy"], "data_energy_group")}
    assert "static" in groups and set(mobile_result.ops["kind"]) <= groups
    assert "recorded no timeline" in page
    md = (tmp_path / "summary.md").read_text()
    assert f"| latency | {mobile_result.summary['latency_ms']:.3f} ms |" in md
    assert "| core utilisation |" in md
    assert_self_contained(page)


# --------------------------------------------------------------------------- reports read, never recompute
def synthetic_result(target: str = "sat", *, energy: bool = False) -> RunResult:
    """A RunResult with made-up numbers no simulator would produce: the reports must show exactly these.
    With `energy`, it has an energy model's outputs (and a dense baseline with its own)."""
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
            energy_j=[0.011, 0.013, 0.017, 0.019][i] if energy else np.nan,
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
        "task": "train",
        "cycles_per_pass": {"FF": 1777, "BP": 3000, "WU": 2000},
    }
    timeline = pd.DataFrame(
        {"cycle": [0.0, 100.0, 200.0], "dram_bytes_per_cycle": [10.0, 0.0, 5.0], "dram_flows": [1, 0, 1]}
    )
    result = RunResult(name="made-up", target=target, summary=summary, ops=ops, timeline=timeline)
    if energy:
        summary.update(
            energy_j=0.123,
            dense_energy_j=0.287,
            static_energy_j=0.063,
            avg_power_w=4.56,
            gflops_per_w=78.9,
            energy_gain=2.34,
            energy_breakdown={"compute": 0.031, "onchip": 0.017, "dram": 0.012, "static": 0.063},
            energy_model="made-up energy table",
        )
        dense = ops.assign(cycles=ops["cycles"] * 3, energy_j=[0.041, 0.043, 0.047, 0.049])
        result.baseline = RunResult(
            name="made-up (dense)",
            target=target,
            ops=dense,
            summary={
                "energy_j": 0.287,
                "static_energy_j": 0.107,
                "energy_breakdown": {"compute": 0.101, "onchip": 0.047, "dram": 0.032, "static": 0.107},
            },
        )
    return result


def test_reports_show_the_results_numbers_not_their_own():
    r = synthetic_result()
    page, md, text = report_html(r), summary_markdown(r), summary_text(r)
    for out in (page, md, text):
        assert "9.876x" in out and "4,242" in out and "12.500x from made-up bound" in out and "31.4%" in out
    found = charts(page)
    util = {
        (m["layer"], m["pass"]): m["utilisation"]
        for m in marks(found["chart-utilisation"], "data_utilisation")
    }
    assert util == {("a", "FF"): 0.5, ("a", "BP"): 0.25, ("a", "WU"): 0.125}
    cyc = {
        (m["layer"], m["pass"]): m["cycles"] for m in marks(found["chart-cycles-per-layer"], "data_cycles")
    }
    assert cyc == {("a", "FF"): 1000, ("a", "BP"): 3000, ("a", "WU"): 2000, ("b", "FF"): 777}
    # energy is NaN in every op: no energy anywhere
    assert "chart-energy" not in found and 'id="energy"' not in page and "GFLOPS/W" not in page
    assert "## Energy" not in md


def test_energy_and_sparse_vs_dense_show_the_runs_joules():
    r = synthetic_result(energy=True)
    page = report_html(r)
    found = charts(page)
    for shown in ("0.123 J", "4.56 W", "78.9 GFLOPS/W", "2.34x less", "made-up energy table"):
        assert shown in page, shown
    md = summary_markdown(r)
    assert "0.123 J, 4.56 W, 78.9 GFLOPS/W; dense baseline 0.287 J (2.34x more)." in md
    assert "| dram | 0.012 | 9.8% | 0.032 |" in md  # 0.012 of 0.123 J
    by_pass = {
        (m["pass"], m["run"]): m["energy_j"] for m in marks(found["chart-energy"], "data_energy_group")
    }
    assert by_pass == pytest.approx(
        {
            ("FF", "sparse"): 0.011 + 0.017,
            ("BP", "sparse"): 0.013,
            ("WU", "sparse"): 0.019,
            ("static", "sparse"): 0.063,
            ("FF", "dense baseline"): 0.041 + 0.047,
            ("BP", "dense baseline"): 0.043,
            ("WU", "dense baseline"): 0.049,
            ("static", "dense baseline"): 0.107,
        }
    )
    by_comp = {
        (m["component"], m["run"]): m["energy_j"]
        for m in marks(found["chart-energy"], "data_energy_component")
    }
    assert by_comp[("dram", "sparse")] == 0.012 and by_comp[("compute", "dense baseline")] == 0.101
    assert len(by_comp) == 8
    sd = found["chart-sparse-dense"]
    cyc = {(m["pass"], m["run"]): m["cycles"] for m in marks(sd, "data_cycles")}
    assert cyc == {
        ("FF", "sparse"): 1777,
        ("BP", "sparse"): 3000,
        ("WU", "sparse"): 2000,
        ("FF", "dense baseline"): 5331,
        ("BP", "dense baseline"): 9000,
        ("WU", "dense baseline"): 6000,
    }
    assert {(m["pass"], m["run"]) for m in marks(sd, "data_energy_j")} == set(cyc)
    table = re.search(r'<table[^>]*id="pass-table".*?</table>', page, flags=re.S).group(0)
    assert "5,331" in table and "3.000x" in table  # BP: 9000 dense / 3000 sparse


def test_ablation_table_has_speedup_cycles_and_energy():
    r = synthetic_result(energy=True)
    r.summary.update(
        ablation={"zero_skip": 1.25},
        ablation_total_cycles={"zero_skip": 8484},
        ablation_energy_j={"zero_skip": 0.369},
        ablation_baseline="made-up baseline",
    )
    page = report_html(r)
    table = re.search(r'<table[^>]*id="ablation-table".*?</table>', page, flags=re.S).group(0)
    for shown in ("zero_skip off", "1.250x", "8,484", "2.000x", "0.369", "3.000x"):
        assert shown in table, shown
    assert "made-up baseline" in page
    assert 'id="ablation-table"' not in report_html(synthetic_result())


SENSITIVITY = [
    {
        "parameter": "dram_latency",
        "source": "made-up source A",
        "low": 50.0,
        "high": 200.0,
        "baseline": 100.0,
        "total_cycles_low": 4000,
        "total_cycles_high": 4300,
        "speedup_low": 9.9,
        "speedup_high": 9.1,
        "energy_j_low": 0.120,
        "energy_j_high": 0.130,
    },
    {
        "parameter": "buffer_ports",
        "source": "made-up source B",
        "low": 1.0,
        "high": 4.0,
        "baseline": 2.0,
        "total_cycles_low": 5000,
        "total_cycles_high": 3000,
        "speedup_low": 8.0,
        "speedup_high": 12.0,
        "energy_j_low": 0.150,
        "energy_j_high": 0.110,
    },
    {
        "parameter": "clock_skew",
        "source": "made-up source C",
        "low": 0.0,
        "high": 1.0,
        "baseline": 0.5,
        "total_cycles_low": 4242,
        "total_cycles_high": 4250,
        "speedup_low": 9.876,
        "speedup_high": 9.85,
        "energy_j_low": 0.100,
        "energy_j_high": 0.200,
    },
]


def test_sensitivity_tornado_is_sorted_by_swing():
    r = synthetic_result(energy=True)
    r.summary["sensitivity"] = [dict(row) for row in SENSITIVITY]
    page = report_html(r)
    spec = charts(page)["chart-sensitivity"]
    cycles = marks(spec, "data_tornado_total_cycles")
    assert len(cycles) == 2 * len(SENSITIVITY)  # one bar per parameter and end of its range
    assert {(m["parameter"], m["total_cycles"]) for m in cycles} >= {
        ("buffer_ports", 5000),
        ("buffer_ports", 3000),
    }
    assert all(m["run_value"] == 4242 for m in cycles)

    def order(chart: dict, value: str) -> list[str]:
        def find(node):
            if is_named(node, f"data_tornado_{value}"):
                return node["encoding"]["y"]["sort"]
            for child in node.get("layer", []) + node.get("hconcat", []):
                got = find(child)
                if got:
                    return got

        return find(chart)

    # swings: cycles 2000 (buffer_ports), 300 (dram_latency), 8 (clock_skew); energy 0.1, 0.04, 0.01 J
    assert order(spec, "total_cycles") == ["buffer_ports", "dram_latency", "clock_skew"]
    assert order(spec, "energy_j") == ["clock_skew", "buffer_ports", "dram_latency"]
    table = re.search(r'<table[^>]*id="sensitivity-table".*?</table>', page, flags=re.S).group(0)
    assert table.index("buffer_ports") < table.index("dram_latency") < table.index("clock_skew")
    assert "made-up source B" in table and "2,000" in table
    assert "sensitivity" in page and 'href="#sensitivity"' in page


def test_no_sensitivity_key_shows_nothing():
    page = report_html(synthetic_result(energy=True))
    assert "chart-sensitivity" not in page and 'id="sensitivity"' not in page


def test_a_result_without_baseline_timeline_or_speedup_still_reports(tmp_path: Path):
    r = synthetic_result()
    r.timeline = None
    for key in ("speedup", "ideal_speedup", "ideal_speedup_formula"):
        r.summary.pop(key)
    write_reports(r, tmp_path)
    page = (tmp_path / "report.html").read_text()
    found = charts(page)
    assert set(found) == {"chart-cycles-per-layer", "chart-utilisation"}
    assert 'id="workload"' not in page  # no workload.yaml beside it


def test_chart_data_cannot_end_the_script_element():
    r = synthetic_result()
    r.ops["layer"] = r.ops["layer"].replace({"a": "</script><script>alert(1)</script><!--"})
    page = report_html(r)
    assert "alert(1)</script>" not in page
    rows = marks(charts(page)["chart-cycles-per-layer"], "data_cycles")
    assert {m["layer"] for m in rows} == {"</script><script>alert(1)</script><!--", "b"}


def test_every_chart_is_valid_vega_lite(sat_result: RunResult, mobile_result: RunResult):
    """The reports skip schema validation for speed; here every chart they draw is validated."""
    from sparsesim.report import charts as report_charts
    from sparsesim.report import vega

    rich = synthetic_result(energy=True)
    rich.summary["sensitivity"] = [dict(row) for row in SENSITIVITY]
    builders = [
        report_charts.speedup_chart, report_charts.cycles_per_layer_chart, report_charts.utilisation_chart,
        report_charts.bandwidth_chart, report_charts.sparse_vs_dense_chart, report_charts.energy_chart,
        report_charts.sensitivity_chart,
    ]  # fmt: skip
    checked = 0
    for result in (sat_result, rich):
        for build in builders:
            chart = build(result)
            if chart is not None:
                vega.spec(chart, validate=True)  # raises on a spec that breaks Vega-Lite's schema
                checked += 1
    vega.spec(report_charts.latency_per_layer_chart(mobile_result), validate=True)
    assert checked == 2 * len(builders) - 1  # sat_result has no sensitivity


def test_the_vendored_vega_bundle_compiles_the_specs_altair_writes():
    """The inlined Vega-Lite is the version Altair writes specs for (scripts/vendor_vega.py regenerates it)."""
    import altair as alt

    from sparsesim.report.vega import bundle

    head = bundle()[:400]
    bundled = tuple(int(v) for v in re.search(r"Vega-Lite (\d+)\.(\d+),", head).groups())
    written = tuple(int(v) for v in alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    # same major version, and at least Altair's minor: a newer Altair needs `scripts/vendor_vega.py` rerun
    assert bundled[0] == written[0] and bundled >= written, (head, alt.SCHEMA_VERSION)
    assert "window.vegaEmbed=" in bundle()[-400:]


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

    def explode(result, *args):
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
    from sparsesim.report.tables import pareto_front

    xs = [1, 2, 2, 3, 4, 4, float("nan")]
    ys = [9, 5, 6, 5, 1, 1, 0]
    assert pareto_front(xs, ys) == [0, 1, 4]


def test_pareto_outputs_plot_every_ok_point_and_ring_the_front():
    """pareto.html and pareto.svg from a made-up sweep table: a dot per point that ran, the front ringed."""
    from types import SimpleNamespace as NS

    from sparsesim.report import vega
    from sparsesim.report.sweep_report import LABELS, pareto_chart, pareto_outputs

    sweep = NS(
        name="made-up-sweep",
        axes=[NS(paths=["accelerator.rows"], label="accelerator.rows")],
        base=NS(model=NS(name="tiny_mlp"), target="sat"),
    )
    table = pd.DataFrame(
        {
            "point": [0, 1, 2, 3, 4],
            "status": ["ok", "ok", "ok", "ok", "error"],
            "error": ["", "", "", "", "made-up failure"],
            "accelerator.rows": [8, 16, 32, 64, 128],
            "dsp": [64, 128, 256, 512, 1024],
            "seconds_simulated": [4.0, 2.0, 2.5, 0.9, None],
        }
    )
    front, page, svg = pareto_outputs(sweep, table, "dsp", "seconds_simulated", ["a", "a", "b", "b", "b"])
    assert front == [0, 1, 3]  # point 2 is beaten by point 1 on both axes; point 4 did not run
    spec = charts(page)["chart-pareto"]
    dots = marks(spec, "data_points")
    assert sorted(m["point"] for m in dots) == [0, 1, 2, 3]
    assert sorted(m["point"] for m in marks(spec, "data_front")) == front
    assert {(m["point"], m["x"], m["y"]) for m in dots} >= {(3, 512, 0.9), (2, 256, 2.5)}
    drawn = dict(re.findall(r'<g class="mark-symbol role-mark (data_\w+?)_marks"[^>]*>(.*?)</g>', svg, re.S))
    assert {k: v.count("<path") for k, v in drawn.items()} == {"data_points": 4, "data_front": 3}
    assert "made-up failure" in page and 'id="failed-table"' in page
    assert_self_contained(page)
    vega.spec(pareto_chart(pd.DataFrame(dots).assign(front=False), LABELS["dsp"], "s", xlog=True, ylog=False,
                           title="t"), validate=True)  # fmt: skip


def test_mobile_ablation_table_without_cycles():
    """mobile ablations record speedup and energy, not total cycles: the table shows what there is."""
    r = synthetic_result("mobile", energy=True)
    r.summary.update(ablation={"spmm kernel off": 0.8}, ablation_energy_j={"spmm kernel off": 0.246})
    table = re.search(r'<table[^>]*id="ablation-table".*?</table>', report_html(r), flags=re.S).group(0)
    assert "spmm kernel off" in table and "0.800x" in table and "0.246" in table and "2.000x" in table
    assert "total cycles" not in table and "spmm kernel off off" not in table
