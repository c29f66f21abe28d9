"""Bad inputs to `sparsesim fpga build`: one `error:` line, exit 2 (3 for a missing tool), no traceback, and
no output folder (or the previous one untouched). None of these needs Yosys: each is refused before it runs."""

from __future__ import annotations

import pytest
from fpga_helpers import TINY_ACCELERATOR, run_cli, write_workload

from sparsesim.io import MARKER


def _fails(argv: list[str], code: int = 2) -> str:
    got, out, err, _ = run_cli(argv)
    assert got == code, (got, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and out == ""
    return lines[0]


def _no_output(tmp_path, name="tree"):
    assert not (tmp_path / name).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{name}.")], (
        "temporary folder left behind"
    )


def test_unknown_board(tmp_path):
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR)
    msg = _fails(["fpga", "build", str(wl), "--board", "zcu104", "-o", str(tmp_path / "tree")])
    assert "zcu104" in msg and "vcu1525" in msg
    _no_output(tmp_path)


def test_missing_workload_file(tmp_path):
    msg = _fails(["fpga", "build", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "tree")])
    assert "nope.yaml" in msg
    _no_output(tmp_path)


def test_buffers_that_cannot_fit_are_refused_before_synthesis(tmp_path):
    # 1 GiB of activation buffer: far more URAM288 than the XCVU9P's 960
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR | {"act_buffer_kib": 1 << 20})
    msg = _fails(["fpga", "build", str(wl), "-o", str(tmp_path / "tree"), "--yosys", "/nonexistent/yosys"])
    assert "URAM" in msg and "accelerator.act_buffer_kib" in msg and "960" in msg
    _no_output(tmp_path)


def test_an_unreachable_clock_is_refused(tmp_path):
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR | {"clock_mhz": 900.0})
    msg = _fails(["fpga", "build", str(wl), "-o", str(tmp_path / "tree"), "--no-estimate"])
    assert "clock_mhz" in msg and "900" in msg
    _no_output(tmp_path)


def test_output_path_that_is_a_file(tmp_path):
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR)
    (tmp_path / "tree").write_text("not a folder")
    msg = _fails(["fpga", "build", str(wl), "-o", str(tmp_path / "tree"), "--no-estimate"])
    assert "not a folder" in msg
    assert (tmp_path / "tree").read_text() == "not a folder"


def test_a_missing_yosys_is_a_tool_error_and_leaves_the_old_tree(tmp_path):
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR)
    old = tmp_path / "tree"
    old.mkdir()
    (old / "marker").write_text("previous build")
    (old / MARKER).write_text("an earlier sparsesim output")  # else refused as a foreign folder (exit 2)
    msg = _fails(["fpga", "build", str(wl), "-o", str(old), "--yosys", "/nonexistent/yosys"], code=3)
    assert "/nonexistent/yosys" in msg
    assert sorted(p.name for p in old.iterdir()) == sorted([MARKER, "marker"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tree.")]


@pytest.mark.parametrize("field,value", [("precision", "fp32"), ("rows", 0)])
def test_invalid_accelerator_fields(tmp_path, field, value):
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR | {field: value})
    msg = _fails(["fpga", "build", str(wl), "-o", str(tmp_path / "tree"), "--no-estimate"])
    assert field in msg
    _no_output(tmp_path)


@pytest.mark.parametrize("baud", ["0", "100000000"])
def test_impossible_baud_rates(tmp_path, baud):
    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR)
    msg = _fails(["fpga", "build", str(wl), "-o", str(tmp_path / "tree"), "--no-estimate", "--baud", baud])
    assert "baud" in msg
    _no_output(tmp_path)
