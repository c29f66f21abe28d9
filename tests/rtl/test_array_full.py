"""The 16x16 FP16 array on Verilator with the full plan (every mode, both dataflows, FP edge cases, stalls).
Marked rtl_full only (not rtl): excluded by default and from `-m rtl`; `tox -e rtl-full` runs it."""

from __future__ import annotations

import pytest
from sparsesim.rtl.config import ArrayConfig
from test_array import run_array_bench

pytestmark = pytest.mark.rtl_full


def test_array_cocotb_16x16_fp16_verilator():
    run_array_bench("verilator", ArrayConfig(rows=16, cols=16, multipliers=2, max_m=8, precision="fp16"), "full")
