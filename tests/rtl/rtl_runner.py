"""`run_cocotb`: build a Verilog top and run a cocotb module on it through cocotb_tools.runner, returning the
bench's JSON report plus the measured build and run times (build folders under build/rtl, gitignored).

A module of its own, not conftest.py: several test folders have a conftest, and `from conftest import ...`
picks whichever was imported last."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from sparsesim.rtl import toolchain

HERE = Path(__file__).resolve().parent

# Verilator warnings Amaranth's output trips (widths, unused bits) are not errors.
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-WIDTH", "-Wno-UNOPTFLAT", "-Wno-UNUSED", "--x-assign", "0", "--x-initial", "0"]


def record_measurement(key: str, payload: dict) -> None:
    """build/rtl/measurements/<sim>-<key>.json: build and run times, cycles/s, checks (one file per bench, so
    parallel pytest workers do not race)."""
    path = toolchain.build_root() / "measurements" / f"{key.replace('/', '-')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload | {"when": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=1))


def get_sim_runner(sim: str, make_args: list[str] | None = None):
    """cocotb's runner; for Verilator without `--public-flat-rw`, which keeps every internal wire of the design
    as a VPI-visible C++ variable (no optimisation, ~3x the build time). The benches touch only top-level
    ports, which `--public-depth 1` keeps visible. `make_args`: variables for the model's make (e.g.
    `OPT_FAST=-O3`, which verilated.mk puts after CXXFLAGS, so `-CFLAGS` cannot override it)."""
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    if sim != "verilator":
        return runner
    base = type(runner)

    class LeanVerilator(base):  # type: ignore[misc, valid-type]
        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            cmds[0][1:1] = ["--public-depth", "1"]
            cmds[1] += make_args or []
            return cmds

    return LeanVerilator()


def run_cocotb(sim: str, verilog: Path, toplevel: str, test_module: str, key: str, spec: dict,
               plusargs: list[str] | None = None, build_args: list[str] | None = None,
               make_args: list[str] | None = None) -> dict:
    """Build `verilog` for `sim` (cached per key; `build_args` added to the simulator's, `make_args` to
    Verilator's make) and run `test_module` (with simulator `plusargs`); returns the bench report + timings."""
    from cocotb_tools.check_results import get_results

    toolchain.require_simulator(sim)
    build_dir = toolchain.build_root() / sim / key
    binary = build_dir / (toplevel if sim == "verilator" else "sim.vvp")
    if build_dir.exists() and (not binary.exists() or binary.stat().st_mtime < Path(verilog).stat().st_mtime):
        shutil.rmtree(build_dir)  # stale objects of an older design would be linked in
    report = build_dir / "report.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    # The spec goes to the bench as a file: in the environment a large one (an op's DRAM image) is more than
    # the 128 KiB one variable may hold (Linux MAX_ARG_STRLEN: E2BIG, "Argument list too long").
    spec_file = build_dir / "spec.json"
    spec_file.write_text(json.dumps(spec | {"report": str(report)}))
    runner = get_sim_runner(sim, make_args)
    t0 = time.perf_counter()
    runner.build(
        sources=[verilog],
        hdl_toplevel=toplevel,
        build_dir=build_dir,
        timescale=("1ns", "1ps"),
        build_args=(VERILATOR_ARGS if sim == "verilator" else []) + (build_args or []),
        log_file=build_dir / "build.log",
    )
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            test_dir=HERE,
            build_dir=build_dir,
            timescale=("1ns", "1ps"),
            extra_env={"SPARSESIM_RTL_BENCH": str(spec_file)},
            log_file=build_dir / "test.log",
            results_xml=str(build_dir / "results.xml"),
            plusargs=plusargs or [],
        )
    except SystemExit:
        pass  # the runner exits when a cocotb test failed; the results file says which
    test_s = time.perf_counter() - t1
    xml = build_dir / "results.xml"
    total, failed = get_results(xml) if xml.exists() else (0, 1)
    data = json.loads(report.read_text()) if report.exists() else {}
    data["_run"] = {"sim": sim, "build_s": build_s, "test_s": test_s, "tests": total, "failed": failed,
                    "log": str(build_dir / "test.log")}
    record_measurement(f"{sim}/{key}", data)
    return data
