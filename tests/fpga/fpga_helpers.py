"""Helpers of the FPGA tests, importable as `fpga_helpers` (conftest.py puts this folder on sys.path).

A module of its own, not conftest.py: several test folders have a conftest, and `from conftest import ...`
can pick another folder's under pytest-xdist.

- `run_board_bench` builds the board core's Verilog for Icarus and runs the cocotb module tb_board.py on it in
  one runner call (builds under build/rtl/fpga, gitignored), returning its JSON report plus measured times.
- `write_workload` writes a workload with a given accelerator (`TINY_ACCELERATOR`: the 2x2 INT8 array with
  1 KiB buffers of the shipped workloads/fpga-tiny-2x2.yaml); `run_cli` runs the CLI in-process; `build_once`
  runs `sparsesim fpga build` of that shipped file once per session folder, under a lock so one xdist worker
  builds while the other waits.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from session_tools import locked

HERE = Path(__file__).resolve().parent

# The shipped tiny FPGA workload (README "FPGA"): its accelerator section is the tests' tiny configuration, and
# `build_once` builds the file itself, so the example users run is the one the tests synthesise.
TINY_WORKLOAD = HERE.parents[1] / "workloads" / "fpga-tiny-2x2.yaml"
TINY_ACCELERATOR: dict = yaml.safe_load(TINY_WORKLOAD.read_text())["accelerator"]


def write_workload(path: Path, accelerator: dict) -> Path:
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "name": path.stem,
                "model": "tiny_mlp",
                "sparsity": {"pattern": "dense"},
                "target": "sat",
                "accelerator": accelerator,
            },
            sort_keys=False,
        )
    )
    return path


def run_board_bench(params, *, key: str, seed: int = 5) -> dict:
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner
    from sparsesim.rtl import toolchain
    from sparsesim.rtl.board import BoardCore, ram_verilog
    from sparsesim.rtl.export import write_verilog

    toolchain.require_simulator("icarus")
    root = toolchain.build_root() / "fpga" / key
    t0 = time.perf_counter()
    verilog = write_verilog(
        lambda: BoardCore(params), "board_core", root / "board_core.v", params.verilog_key()
    )
    ram = root / "sparsesim_sdp_ram.v"
    if not ram.exists() or ram.read_text() != ram_verilog():
        ram.write_text(ram_verilog())
    convert_s = time.perf_counter() - t0
    build_dir = root / "icarus"
    binary = build_dir / "sim.vvp"
    newest = max(verilog.stat().st_mtime, ram.stat().st_mtime)
    if build_dir.exists() and (not binary.exists() or binary.stat().st_mtime < newest):
        shutil.rmtree(build_dir)
    report = build_dir / "report.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    runner = get_runner("icarus")
    t1 = time.perf_counter()
    runner.build(
        sources=[ram, verilog],
        hdl_toplevel="board_core",
        build_dir=build_dir,
        timescale=("1ns", "1ps"),
        log_file=build_dir / "build.log",
    )
    build_s = time.perf_counter() - t1
    spec = {
        "config": params.cfg.to_dict(),
        "clocks_per_bit": params.clocks_per_bit,
        "info": params.info().pack().hex(),
        "board": {k: v for k, v in params.key().items() if k != "cfg"},  # BoardParams but the array
        "seed": seed,
        "report": str(report),
    }
    xml = build_dir / "results.xml"
    xml.unlink(missing_ok=True)
    t2 = time.perf_counter()
    try:
        runner.test(
            test_module="tb_board",
            hdl_toplevel="board_core",
            test_dir=HERE,
            build_dir=build_dir,
            timescale=("1ns", "1ps"),
            extra_env={"SPARSESIM_FPGA_BENCH": json.dumps(spec)},
            log_file=build_dir / "test.log",
            results_xml=str(xml),
        )
    except SystemExit:
        pass  # the runner exits when a cocotb test failed; the results file says which
    test_s = time.perf_counter() - t2
    total, failed = get_results(xml) if xml.exists() else (0, 1)
    data = json.loads(report.read_text()) if report.exists() else {}
    data["_run"] = {
        "convert_s": convert_s,
        "build_s": build_s,
        "test_s": test_s,
        "tests": total,
        "failed": failed,
        "log": str(build_dir / "test.log"),
    }
    return data


@dataclass
class Built:
    tree: Path
    workload: Path
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(argv: list[str]) -> tuple[int, str, str, float]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from sparsesim.cli import main

    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - t0


def build_once(shared: Path, name: str, extra: list[str]) -> Built:
    root = shared / name
    with locked(shared / f"{name}.lock"):
        done = root / "result.json"
        if done.exists():
            return Built(
                **{
                    k: Path(v) if k in ("tree", "workload") else v
                    for k, v in json.loads(done.read_text()).items()
                }
            )
        root.mkdir(parents=True, exist_ok=True)
        workload = TINY_WORKLOAD
        tree = root / "tree"
        code, out, err, secs = run_cli(
            ["fpga", "build", str(workload), "--board", "vcu1525", "-o", str(tree), "--no-vivado", *extra]
        )
        built = Built(tree, workload, code, out, err, secs)
        done.write_text(
            json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in built.__dict__.items()})
        )
        return built
