"""Helpers to run small blocks in Amaranth's own simulator (no external tools)."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Value
from amaranth.sim import Simulator


def run_pipelined(dut, inputs: dict[str, np.ndarray], output: str, latency: int) -> np.ndarray:
    """Present one vector of `inputs` per cycle; return `output` `latency` cycles after each."""
    count = len(next(iter(inputs.values())))
    got: list[int] = []

    async def bench(ctx):
        for i in range(count + latency):
            if i < count:
                for name, values in inputs.items():
                    ctx.set(getattr(dut, name), int(values[i]))
            if i >= latency:
                got.append(ctx.get(getattr(dut, output)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    wide = len(Value.cast(getattr(dut, output))) > 64
    return np.array(got, dtype=object if wide else np.uint64)  # Python ints for words over 64 bits


def run_array(dut, plan, *, max_cycles: int = 200_000) -> dict:
    """Drive a rtl_plan.Plan into a SparseArray with full streams; collect results and event cycles."""
    cmds, weights, acts = plan.streams()
    tiles = len(cmds)
    out: dict = {"results": [], "load": [], "start": [], "done": [], "cycles": 0}

    async def bench(ctx):
        ci = wi = ai = lasts = 0
        ctx.set(dut.results.ready, 1)
        for _ in range(max_cycles):
            ctx.set(dut.cmd.valid, ci < len(cmds))
            ctx.set(dut.cmd.payload.as_value(), cmds[ci] if ci < len(cmds) else 0)
            ctx.set(dut.weights.valid, wi < len(weights))
            ctx.set(dut.weights.payload.as_value(), weights[wi] if wi < len(weights) else 0)
            ctx.set(dut.acts.valid, ai < len(acts))
            ctx.set(dut.acts.payload.as_value(), acts[ai] if ai < len(acts) else 0)
            cycle = ctx.get(dut.cycle)
            for ev in ("load", "start", "done"):
                if ctx.get(getattr(dut, f"ev_{ev}")):
                    out[ev].append(cycle)
            if ctx.get(dut.results.valid):
                out["results"].append(ctx.get(dut.results.payload.as_value()))
                lasts += ctx.get(dut.results.payload.last)
            ci += ci < len(cmds) and ctx.get(dut.cmd.ready)
            wi += wi < len(weights) and ctx.get(dut.weights.ready)
            ai += ai < len(acts) and ctx.get(dut.acts.ready)
            await ctx.tick()
            out["cycles"] += 1
            if len(out["done"]) == tiles and lasts == tiles:
                break

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out
