"""cocotb bench: whole GEMM ops (rtl_ops.py) as back-to-back tile streams into the array top. The tile
streams come from a JSON file the runner wrote (SPARSESIM_RTL_BENCH: `streams`); the bench drives them with
full streams and records every result word and the ev_load / ev_start / ev_done cycles; the checks
(numerics, the simulator's cycles) are done by the caller on the report."""

from __future__ import annotations

import json
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge
from rtl_plan import bench_config, write_report
from tb_array import EventMonitor, ResultMonitor, StreamDriver, reset


@cocotb.test()
async def op_streams(dut):
    cfg, spec = bench_config()
    with open(spec["streams"]) as f:
        ops = json.load(f)
    Clock(dut.clk, 10, unit="ns").start()
    report = {}
    for op in ops:
        await reset(dut)
        drivers = [StreamDriver(dut, name, op[name]) for name in ("cmd", "weights", "acts")]
        results = ResultMonitor(dut)
        results.last_bit = 32 * cfg.cols
        events = EventMonitor(dut)
        tiles = len(op["cmd"])
        limit = 40 * (len(op["weights"]) + len(op["acts"]) + op["result_beats"]) + 1000
        cycles = 0
        t0 = time.perf_counter()
        while len(events.cycles["done"]) < tiles or results.tiles < tiles:
            for d in drivers:
                d.drive()
            results.drive()
            await ReadOnly()
            for d in drivers:
                d.sample()
            results.sample()
            events.sample()
            await RisingEdge(dut.clk)
            cycles += 1
            assert cycles < limit, f"{op['name']}: no progress after {cycles} cycles"
        report[op["name"]] = {
            "words": results.words,
            "events": events.cycles,
            "cycles": cycles,
            "wall_s": time.perf_counter() - t0,
        }
    write_report(spec, "ops", report)
