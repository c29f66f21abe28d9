"""Measure the PE cell designs of docs/fpga.md ("PE designs compared") with Yosys: LUT, FF, DSP48E2 and
logic depth of one FP16 PE cell (P = 2, MMAX = 8) per design, the edge rounding unit of the exact design
(one per array column), and each design's numeric error against torch on one FP16 GEMM.

    .venv/bin/python scripts/pe_designs.py [WORKDIR]

Each synthesis takes about a minute (cached afterwards, like the build's estimate)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import sparsesim.rtl.arith as arith
import torch
from amaranth.back import verilog
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga import device, estimate
from sparsesim.sat import numerics

# (label, accumulator, FP32 adder alignment, exact product alignment)
DESIGNS = [
    ("a0 FP32 adders in fabric", "fp32", "fabric", None),
    ("a1 FP32 adders, alignment in DSP48E2", "fp32", "dsp", None),
    ("b0 exact accumulation, product shift in fabric", "exact", None, "fabric"),
    ("b1 exact accumulation, product shift in DSP48E2", "exact", None, "dsp"),
]


def numeric_error(accumulator: str, seed: int = 0) -> dict[str, float]:
    """max |C - torch| / sum |a*b| of a 64 x 1024 by 1024 x 64 FP16 GEMM (OS and WS on 16 rows), with
    operands spread over 2^-8..2^8 so that the sums cancel and the terms differ in scale."""
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal((64, 1024)) * np.exp2(rng.integers(-8, 9, (64, 1024)))).astype(np.float16)
    b = (rng.standard_normal((1024, 64)) * np.exp2(rng.integers(-8, 9, (1024, 64)))).astype(np.float16)
    ref = (torch.from_numpy(a.astype(np.float64)) @ torch.from_numpy(b.astype(np.float64))).numpy()
    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    out = {}
    for df in ("os", "ws"):
        got = numerics.gemm(a, b, dataflow=df, multipliers=2, rows=16, accumulator=accumulator)
        out[df] = float(np.max(np.abs(got.astype(np.float64) - ref) / scale))
    return out


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pe_designs_"))
    tool = estimate.find_yosys()
    print("| design | LUT | FF | DSP48E2 | LUT levels (reg to reg) | DSP48E2 without registers | "
          "error / sum abs(a*b), OS / WS |")
    print("|---|---:|---:|---:|---:|---:|---|")
    saved = arith.FP_ADDER_ALIGN, arith.EXACT_ALIGN
    try:
        for label, acc, fp_align, x_align in DESIGNS:
            arith.FP_ADDER_ALIGN = fp_align or saved[0]  # the PE's units read these at elaboration
            arith.EXACT_ALIGN = x_align or saved[1]
            cfg = ArrayConfig(rows=16, cols=32, multipliers=2, max_m=8, precision="fp16", accumulator=acc)
            res, syn = estimate.estimate_cell(cfg, work / label.split()[0], tool)
            depth = syn.levels
            err = numeric_error(acc)
            print(
                f"| {label} | {res['lut']:,} | {res['ff']:,} | {res['dsp']} | "
                f"{depth['paths'].get('reg_to_reg', {}).get('lut', 0)} | {depth['dsp_without_registers']} | "
                f"{err['os']:.1e} / {err['ws']:.1e} |",
                flush=True,
            )
    finally:
        arith.FP_ADDER_ALIGN, arith.EXACT_ALIGN = saved
    # the exact design's rounding to FP32, one per array column
    unit = arith.ExactToFP32(16)
    src = work / "round" / "src" / "exact_to_fp32.v"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(verilog.convert(unit, name="exact_to_fp32", emit_src=False))
    syn = estimate.synthesize(tool, [src], "exact_to_fp32", work / "round", tag="unit")
    res = device.resources_from_cells(syn.cells)
    levels = syn.levels["paths"].get("reg_to_reg", {}).get("lut", 0)
    print(f"\nExactToFP32 (edge rounding, per column): {res['lut']:,} LUT, {res['ff']:,} FF, "
          f"{res['dsp']} DSP48E2, {levels} LUT levels")


if __name__ == "__main__":
    main()
