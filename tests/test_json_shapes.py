"""`--format json` has one documented shape per command (sparsesim.commands.JSON_SHAPES, README "Output as
JSON"): each command is run (in process, on the tiny workloads) and its top-level keys compared, whatever
the other flags (graph with and without --layers, sweep with and without --dry-run)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from sparsesim.cli import main
from sparsesim.commands import JSON_SHAPES
from sparsesim.summary import summary_keys

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml")
FPGA_TINY = str(ROOT / "workloads" / "fpga-tiny-2x2.yaml")


def run_json(capsys, *argv: str) -> dict:
    assert main([*argv, "--format", "json", "-q"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def keys(data: dict) -> tuple[str, ...]:
    return tuple(data)


def test_every_command_has_a_documented_shape():
    from sparsesim.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    documented = {c.split()[0] for c in JSON_SHAPES}
    with_json = {name for name, p in commands.items() if any("--format" in a.option_strings for a in p._actions)}
    groups = {"rtl", "fpga"}  # their actions have --format: `rtl export`, `fpga build`, `fpga info`
    assert with_json | groups == documented


def test_validate_models_and_prune(capsys):
    assert keys(run_json(capsys, "validate", TINY)) == JSON_SHAPES["validate"]
    assert keys(run_json(capsys, "models")) == JSON_SHAPES["models"]
    assert keys(run_json(capsys, "prune", TINY)) == JSON_SHAPES["prune"]


def test_graph_has_one_shape_for_ops_and_layers(capsys):
    ops = run_json(capsys, "graph", TINY)
    layers = run_json(capsys, "graph", TINY, "--layers")
    assert keys(ops) == keys(layers) == JSON_SHAPES["graph"]
    assert (ops["level"], layers["level"]) == ("ops", "layers")


def test_run_prints_its_summary_and_energy_its_table(capsys, tmp_path):
    summary = run_json(capsys, "run", TINY, "-o", str(tmp_path / "run"))
    assert JSON_SHAPES["run"] == ()  # the summary is the shape
    assert set(summary) <= set(summary_keys("sat")) and {"total_cycles", "speedup", "output_dir"} <= set(summary)
    assert keys(run_json(capsys, "energy", TINY)) == JSON_SHAPES["energy"]


def test_sweep_has_one_shape_with_or_without_dry_run(capsys, tmp_path):
    import yaml

    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        yaml.safe_dump(
            {"base": TINY, "axes": {"task.batch_size": [2]}, "output": str(tmp_path / "out")}, sort_keys=False
        )
    )
    dry = run_json(capsys, "sweep", str(sweep), "--dry-run")
    done = run_json(capsys, "sweep", str(sweep), "--workers", "0")
    assert keys(dry) == keys(done) == JSON_SHAPES["sweep"]
    assert [p["status"] for p in dry["points"]] == ["to run"] and [p["status"] for p in done["points"]] == ["ok"]
    assert keys(dry["counts"]) == keys(done["counts"]) and done["counts"]["ran"] == 1


def test_fpga_build_and_rtl_export_of_the_tiny_fpga_workload(capsys, tmp_path):
    """Both use the workload's array (its accelerator section), and print their one shape."""
    import yaml

    acc = yaml.safe_load(Path(FPGA_TINY).read_text())["accelerator"]
    built = run_json(capsys, "fpga", "build", FPGA_TINY, "-o", str(tmp_path / "fpga"), "--no-estimate", "--no-vivado")
    assert keys(built) == JSON_SHAPES["fpga build"]
    assert built["array"] == {"rows": acc["rows"], "cols": acc["cols"], "multipliers": acc["multipliers_per_pe"],
                              "max_m": acc["max_m"], "precision": acc["precision"]}  # fmt: skip
    assert built["clock"]["array_mhz"] == pytest.approx(acc["clock_mhz"], rel=1e-4)
    assert built["estimate"] is None and built["vivado"] is None
    exported = run_json(capsys, "rtl", "export", FPGA_TINY, "-o", str(tmp_path / "rtl"))
    assert keys(exported) == JSON_SHAPES["rtl export"]
    assert (exported["config"]["rows"], exported["config"]["cols"]) == (acc["rows"], acc["cols"])
    assert exported["origin"]["rows"].startswith("workload")


def test_fpga_info_is_the_info_register():
    """`fpga info` needs a card; its shape is the INFO block's fields (rtl.protocol), precision by name."""
    from sparsesim.rtl.protocol import InfoBlock

    assert JSON_SHAPES["fpga info"] == tuple(f.name for f in dataclasses.fields(InfoBlock))
