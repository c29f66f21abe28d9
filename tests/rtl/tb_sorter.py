"""cocotb bench of the sparse-weight generator lane (sparsesim.rtl.sorter.TopNSorter): a driver streaming groups
one value per cycle, a monitor on the result stream, the reference (torch stable sort of -|w|, and
sparsesim.sparsity.nm.nm_mask) and a scoreboard; also checks the M-cycles-per-group throughput."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from rtl_plan import bench_spec, write_report
from sorter_ref import nm_topn, random_groups, to_bits, torch_topn


@cocotb.test()
async def groups_match_torch_topk(dut):
    spec = bench_spec()
    n_max, max_m, fmt = spec["n_max"], spec["max_m"], spec["fmt"]
    width = {"fp16": 16, "fp32": 32, "int8": 8}[fmt]
    ib = max(1, (max_m - 1).bit_length())
    rng = np.random.default_rng(spec.get("seed", 1))
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.din__valid.value = 0
    dut.dout__ready.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    errors, groups_done = [], 0
    for n, m in [(n, m) for n, m in ((2, 4), (1, 4), (2, 8), (1, 8), (4, 8), (3, 8)) if n <= n_max and m <= max_m]:
        groups = random_groups(rng, spec.get("groups", 50), m, fmt)
        flat = to_bits(groups, fmt).reshape(-1)
        dut.n.value, dut.log2m.value = n, m.bit_length() - 1
        got, out_cycles, cycle, i = [], [], 0, 0
        while len(got) < len(groups):
            dut.din__valid.value = int(i < flat.size)
            dut.din__payload.value = int(flat[i]) if i < flat.size else 0
            await ReadOnly()
            if int(dut.dout__valid.value):
                word = dut.dout__payload.value.to_unsigned()
                got.append([(word >> (n_max * width + s * ib)) & ((1 << ib) - 1) for s in range(n)])
                out_cycles.append(cycle)
            if i < flat.size and int(dut.din__ready.value):
                i += 1
            await RisingEdge(dut.clk)
            cycle += 1
        got_arr = np.array(got)
        for name, ref in (("torch", torch_topn(groups, n)), ("nm_mask", nm_topn(groups, n))):
            bad = np.nonzero((got_arr != ref).any(axis=1))[0]
            if bad.size:
                g = bad[0]
                errors.append(f"{fmt} {n}:{m} group {g} {groups[g].tolist()}: rtl {got_arr[g].tolist()}, {name} {ref[g].tolist()}")
        if out_cycles != [(g + 1) * m for g in range(len(groups))]:
            errors.append(f"{n}:{m}: results at cycles {out_cycles[:4]}..., expected one every M={m} cycles")
        groups_done += len(groups)
        dut.din__valid.value = 0
        await ClockCycles(dut.clk, 2)
    write_report(spec, "sorter", {"groups": groups_done, "mismatches": errors[:20]})
    assert not errors, "\n".join(errors[:10])
