"""cocotb bench: whole GEMM ops through the op engine (sparsesim.rtl.opengine) with the HDL DRAM model behind
its AXI ports. The DRAM holds every op's operands from the start (+MEMINIT); per op, Python writes the
descriptor, pulses `start` and waits for `done` (one await: no Python in the per-cycle loop; the clock is
generated inside the Verilog top), then reads the engine's cycle counters. At the end the result regions are dumped
(+MEMDUMP) for the caller's checks (numerics, the simulator's cycles)."""

from __future__ import annotations

import json
import time

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from rtl_plan import bench_spec, write_report


@cocotb.test()
async def ops_from_dram(dut):
    spec = bench_spec()
    with open(spec["ops"]) as f:
        ops = json.load(f)
    dut.rst.value = 1
    dut.start.value = 0
    dut.dump.value = 0
    dut.ext_mem.value = 0  # the engine's ports go to the top's DRAM model
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    report = {}
    for op in ops:
        before = [getattr(dut, f"beats_{port}").value.to_unsigned() for port in ("rd_w", "rd_a", "wr")]
        dut.desc.value = int(op["desc"], 16)
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        t0, c0 = time.perf_counter(), time.process_time()
        await RisingEdge(dut.done)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        await Timer(1, unit="ns")
        report[op["name"]] = {
            "op_cycles": dut.op_cycles.value.to_unsigned(),
            "started_at": dut.started_at.value.to_unsigned(),
            "first_load": dut.first_load.value.to_unsigned(),
            "first_start": dut.first_start.value.to_unsigned(),
            "last_done": dut.last_done.value.to_unsigned(),
            "wall_s": wall,
            "cpu_s": cpu,  # the simulator process's CPU time (the model and cocotb): the load-free figure
        }
        for port, b0 in zip(("rd_w", "rd_a", "wr"), before):  # the op's beats on each AXI port
            report[op["name"]][f"beats_{port}"] = getattr(dut, f"beats_{port}").value.to_unsigned() - b0
        await RisingEdge(dut.clk)
    dut.dump_lo.value = spec["dump_lo"]
    dut.dump_hi.value = spec["dump_hi"]
    dut.dump.value = 1
    await RisingEdge(dut.clk)
    dut.dump.value = 0
    await ClockCycles(dut.clk, 2)
    write_report(spec, "ops", report)
