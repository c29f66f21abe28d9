"""The sparse PE on Icarus through cocotb (tb_pe.py), FP16 and INT8: chain mode against the unit references,
accumulator mode (interleaved and not) against numerics.gemm and torch."""

from __future__ import annotations

from pathlib import Path

import pytest
from rtl_runner import run_cocotb
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.export import pe_verilog
from sparsesim.rtl.toolchain import build_root

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_pe_cocotb_icarus(precision):
    # tb_pe's beat model is the FP32-adder design's; the exact design's PE: test_pe_exact.py (Amaranth)
    cfg = ArrayConfig(rows=1, cols=1, multipliers=4, max_m=8, precision=precision,
                      accumulator="fp32" if precision == "fp16" else None)
    key = f"pe_p{cfg.multipliers}_m{cfg.max_m}_{precision}_l{cfg.mul_latency}{cfg.add_latency}"
    verilog = pe_verilog(cfg, build_root() / "verilog" / key)
    data = run_cocotb("icarus", Path(verilog), "sparse_pe", "tb_pe", key,
                      {"config": cfg.to_dict(), "seed": 3, "beats": 1500})
    run = data["_run"]
    assert run["tests"] == 2 and run["failed"] == 0, (data, run["log"])
    assert data["chain_mode"]["beats"] == 1500 and data["accumulator_mode"]["tiles"] == 12
    print(f"\nicarus PE {precision}: build {run['build_s']:.1f} s, tests {run['test_s']:.1f} s")
