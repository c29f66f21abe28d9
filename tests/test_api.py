"""The Python API (sparsesim.api, README "Python API"): the README's example runs as written, and the API
raises the CLI's errors, fills the resolved values and returns what it documents."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

import sparsesim as ss

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD = ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "README lost its Python API example"
    return match.group(1)


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    (tmp_path / "workloads").mkdir()
    shutil.copy(WORKLOAD, tmp_path / "workloads")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    scope: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README.md (Python API)", "exec"), scope)
    printed = out.getvalue()
    result = scope["result"]
    assert isinstance(result, ss.RunResult) and result.target == "sat"
    assert result.summary["batch_size"] == 8 and result.summary["arch"]["rows"] == 8  # the changes took
    assert f"{result.summary['speedup']:.2f}x over dense" in printed
    assert "error: sparsity" in printed and "n" in printed  # the SpecError's one line
    written = {p.name for p in (tmp_path / "reports" / "tiny-api").iterdir()}
    assert {"workload.yaml", "ops.csv", "summary.json", "report.html"} <= written
    assert len(scope["outcome"].table) == 2 and set(scope["outcome"].table["status"]) == {"ok"}
    # nothing outside the folders the example chose
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports", "workloads"]


def test_load_takes_a_path_a_mapping_or_a_workload(tmp_path):
    from_file = ss.load(WORKLOAD)
    from_dict = ss.load(
        {"name": "tiny-cnn-nm-2of4", **{k: v for k, v in from_file.to_dict().items() if k != "name"}}
    )
    assert from_dict.spec_hash() == from_file.spec_hash()
    assert ss.load(from_file) is from_file
    with pytest.raises(ss.SpecError, match="a workload is a path"):
        ss.load(42)  # type: ignore[arg-type]  # the wrong type on purpose
    with pytest.raises(ss.SpecError, match=str(tmp_path / "missing.yaml")):
        ss.load(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("doc", "error", "where"),
    [
        ({"model": "tiny_cnn", "sparsity": {"pattern": "nm", "n": 5, "m": 4}, "target": "sat"}, ss.SpecError,
         "sparsity"),
        ({"model": "no_such_net", "sparsity": "dense", "target": "sat"}, ss.SpecError, "model"),
        ({"model": "tiny_cnn", "sparsity": {"pattern": "nm", "n": 1, "m": 16}, "target": "sat"},
         ss.SparsesimError, "1:16"),
    ],
)  # fmt: skip
def test_errors_are_the_clis(doc, error, where, tmp_path, capsys):
    """The exception the API raises has the one-line message the CLI prints after `error:`."""
    from sparsesim.cli import main

    with pytest.raises(error) as info:
        ss.validate(doc)
    message = str(info.value)
    assert where in message and "\n" not in message
    path = tmp_path / "w.yaml"
    import yaml

    path.write_text(yaml.safe_dump(doc))
    assert main(["validate", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_resolved_values_come_from_the_preset_or_the_file():
    from sparsesim.sat.arch import resolve

    wl = ss.load({"model": "tiny_cnn", "sparsity": "dense", "target": "sat", "accelerator": {"rows": 4}})
    values = ss.resolved(wl)
    preset = resolve(ss.load({"model": "tiny_cnn", "sparsity": "dense", "target": "sat"}).accelerator)
    assert values["accelerator.rows"]["value"] == 4 and values["accelerator.rows"]["source"] != ""
    assert values["accelerator.cols"]["value"] == preset.cols  # unset: the preset's
    assert values["accelerator.rows"]["source"] != preset.sources["rows"]  # the file's, not the preset's
    filled = ss.with_resolved(wl)
    assert filled.accelerator.cols == preset.cols and filled.accelerator.rows == 4
    assert ss.with_resolved(filled).to_dict() == filled.to_dict()  # a fixed point


def test_list_models_and_prepare():
    zoo = ss.list_models()
    assert {"resnet50", "tiny_cnn"} <= set(zoo["name"])
    prep = ss.prepare(WORKLOAD)
    frame = prep.ops_frame()
    assert len(frame) == prep.ops.number_of_nodes() and {"op", "pass", "macs"} <= set(frame.columns)
    assert set(prep.graph.weight_layers()) <= set(prep.graph.nodes)


def test_a_result_shows_as_tables_in_jupyter(sat_tiny_result):
    html = sat_tiny_result._repr_html_()
    assert "<table" in html and "speedup" in html and sat_tiny_result.ops["op"].iloc[0] in html
    assert sat_tiny_result.scalars()["model"] == "tiny_cnn"


@pytest.fixture(scope="module")
def sat_tiny_result():
    return ss.run(ss.load(WORKLOAD).with_updates({"task.batch_size": 2}))


def test_resolved_mobile_values_come_from_the_soc_preset():
    """Mobile too: the SoC preset's clock and DRAM behind the override fields (the Snapdragon 855's prime
    core at 2.84 GHz and LPDDR4x at 34.1 GB/s, AnandTech 13786), the file's override kept as the file's."""
    one = ss.load(
        {"model": "tiny_cnn", "sparsity": "dense", "target": "mobile", "mobile": {"dram_efficiency": 0.5}}
    )
    values = ss.resolved(one)
    assert values["mobile.clock_mhz"]["value"] == 2840 and "2.84 GHz" in values["mobile.clock_mhz"]["source"]
    assert values["mobile.dram_bandwidth_gbs"]["value"] == 34.1
    assert values["mobile.dram_efficiency"] == {
        "value": 0.5,
        "source": "workload override (mobile.dram_efficiency)",
    }
    filled = ss.with_resolved(one)
    assert (filled.mobile.clock_mhz, filled.mobile.dram_bandwidth_gbs) == (2840, 34.1)
    assert ss.with_resolved(filled).to_dict() == filled.to_dict()  # a fixed point
    # The filled-in workload is the same machine: the same cycles.
    assert ss.run(filled).summary["total_cycles"] == ss.run(one).summary["total_cycles"]
    # Four threads on the 855 run on cores of two clocks: no one clock_mhz states that, so it stays unset.
    four = one.with_updates({"mobile.threads": 4})
    clock = ss.resolved(four)["mobile.clock_mhz"]
    assert clock["exact"] is False and "2420" in clock["source"]
    assert ss.with_resolved(four).mobile.clock_mhz is None
