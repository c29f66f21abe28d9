"""Pipeline depths of the PE's arithmetic units (rtl/arith.py) in the preset build: the one place they are
written. The RTL elaborates with them by default (`ArrayConfig`, the units' constructors) and the simulator's
preset (sparsesim.sat.arch) reads them, so the cycle counts it reports are those of this RTL.

Kept free of Amaranth so the simulator imports it at no cost. tests/rtl/test_latency_tie.py measures the
elaborated units' depths in Amaranth's simulator and checks the preset against the measurement.
"""

from __future__ import annotations

# precision -> (multiplier, adder) pipeline depth in cycles. Our choice, per unit: the FP16 multiplier's
# two phases (DSP48E2 significand product; normalise and pack) and the FP32 adder's four (unpack and order,
# align, add, normalise and round) each get one register; INT8 x INT8 and the INT32 add fit one cycle.
PIPELINE_LATENCIES: dict[str, tuple[int, int]] = {"fp16": (2, 4), "int8": (1, 1)}

# The exact-accumulation PE design (docs/fpga.md, "PE designs compared", design b; not the preset's):
# (product to its fixed-point place, integer add) pipeline depths, and the rounding to FP32 at the array's
# edge. Our choice: the product's two phases (DSP48E2 significand product; sign and shift into the window)
# get one register each; the integer add is one carry chain (one cycle, so one OS accumulator slot); the
# rounding's four phases (magnitude, leading one, normalise, round and pack) one each.
EXACT_LATENCIES: tuple[int, int] = (2, 1)
EXACT_ROUND_LATENCY = 4

UNIT_NAMES: dict[str, tuple[str, str]] = {
    "fp16": ("FP16 multiplier", "FP32 adder"),
    "int8": ("INT8 multiplier", "INT32 adder"),
}


def mul_latency(precision: str) -> int:
    return PIPELINE_LATENCIES[precision][0]


def add_latency(precision: str) -> int:
    return PIPELINE_LATENCIES[precision][1]
