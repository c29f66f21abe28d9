"""Measure the PE cell designs of docs/fpga.md ("PE designs compared") with Yosys: LUT, FF, DSP48E2 and
logic depth of one FP16 PE cell (P = 2, MMAX = 8) for each FP32 adder alignment style.

    .venv/bin/python scripts/pe_designs.py [WORKDIR]

Each synthesis takes about a minute (cached afterwards, like the build's estimate)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import sparsesim.rtl.arith as arith
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga import estimate


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pe_designs_"))
    cfg = ArrayConfig(rows=16, cols=32, multipliers=2, max_m=8, precision="fp16")
    tool = estimate.find_yosys()
    print("| align | LUT | FF | DSP48E2 | LUT levels (reg to reg) | DSP48E2 without registers |")
    print("|---|---:|---:|---:|---:|---:|")
    chosen = arith.FP_ADDER_ALIGN
    try:
        for style in arith.ALIGN_STYLES:
            arith.FP_ADDER_ALIGN = style  # make_adder reads it at elaboration
            res, syn = estimate.estimate_cell(cfg, work / style, tool)
            depth = syn.levels
            print(
                f"| {style} | {res['lut']:,} | {res['ff']:,} | {res['dsp']} | "
                f"{depth['paths'].get('reg_to_reg', {}).get('lut', 0)} | {depth['dsp_without_registers']} |"
            )
    finally:
        arith.FP_ADDER_ALIGN = chosen


if __name__ == "__main__":
    main()
