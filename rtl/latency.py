"""Pipeline depths of the PE's arithmetic units (rtl/arith.py) and the preset build's accumulation design:
the one place they are written. The RTL elaborates with them by default (`ArrayConfig`, the units'
constructors) and the simulator's preset (sparsesim.sat.arch) reads them, so the cycle counts it reports are
those of this RTL.

Kept free of Amaranth so the simulator imports it at no cost. tests/rtl/test_latency_tie.py measures the
elaborated units' depths in Amaranth's simulator and checks the preset against the measurement.
"""

from __future__ import annotations

# How the PE sums its products (docs/fpga.md, "PE designs compared"): "exact", FP16 products as fixed-point
# integers summed exactly and rounded to FP32 once at the array's edge (the preset: half the LUTs of "fp32"
# and within the depth limit, measured); "fp32", FP32 adders in fabric for the tree and the accumulator;
# "int32", INT8 products summed in INT32.
PRESET_ACCUMULATOR: dict[str, str] = {"fp16": "exact", "int8": "int32"}

# accumulator -> (multiplier, adder) pipeline depth in cycles. Our choice, per unit: "exact": the product's
# two phases (DSP48E2 significand product; sign and shift into the fixed-point window) get one register
# each, the integer add is one carry chain (one cycle, so one OS accumulator slot); "fp32": the FP16
# multiplier's two phases (significand product; normalise and pack) and the FP32 adder's four (unpack and
# order, align, add, normalise and round) get one register each; INT8 x INT8 and the INT32 add fit one cycle.
PIPELINE_LATENCIES: dict[str, tuple[int, int]] = {"exact": (2, 1), "fp32": (2, 4), "int32": (1, 1)}

# The op engine's out buffer (rtl/opengine/accum.py): unit -> its adders' pipeline depth in cycles. Our
# choice: "fp32", FP32AdderDeep's seven phases (unpack and order; the alignment shift's multiple of 8; its
# rest; add; leading one; normalise; round and pack) in six stages, the alignment's rest sharing the add's
# (each stage 6 LUT levels or fewer in Yosys synth_xilinx, within the 8 of 200 MHz: docs/fpga.md, "Logic
# depth"); not seven: a WS output word's next part comes one stream (8 words on the 4x4 tests' shortest)
# after its previous one and must find that sum written back (latency + 2 cycles), else the array waits.
# The PE's FP32Adder (PIPELINE_LATENCIES) keeps its four. "int32": the INT32 add in one cycle.
OUT_BUFFER_ADD_LATENCIES: dict[str, int] = {"fp32": 6, "int32": 1}

# The op engine's sequencer (rtl/opengine/sequencer.py) computes its jobs' arithmetic in registers, from the
# state and earlier such registers: after a state change it emits again once they show it, 1 cycle after a
# tile of the same block step, SEQUENCER_STEP_SETTLE cycles after the op's start or a step's last tile (the
# longest chain of those registers). Our choice: the chain's stages each within the LUT levels of 200 MHz
# (docs/fpga.md, "Logic depth"). The start's wait is on the op's issue path (sparsesim.sat.arch,
# op_issue_cycles).
SEQUENCER_TILE_SETTLE = 1
SEQUENCER_STEP_SETTLE = 5

# accumulator -> cycles of the rounding to FP32 at the array's edge ("exact": its five phases, magnitude,
# each 16-bit group's leading one, the highest group's, normalise, round and pack, one register each: with
# the leading one in a single phase the preset's deepest register path was 9 LUT levels, over the limit of
# 8, docs/fpga.md "Logic depth"; the others leave the PEs as FP32 / INT32).
ROUND_LATENCIES: dict[str, int] = {"exact": 5, "fp32": 0, "int32": 0}

# accumulator -> DSP48E2 per multiplier lane in Yosys's synth_xilinx of the PE cell (scripts/pe_designs.py,
# docs/fpga.md): "exact" the significand product and the shift by a one-hot; the others the product only.
DSP_PER_MULTIPLIER: dict[str, int] = {"exact": 2, "fp32": 1, "int32": 1}

UNIT_NAMES: dict[str, tuple[str, str]] = {
    "exact": ("FP16 exact product", "fixed-point adder"),
    "fp32": ("FP16 multiplier", "FP32 adder"),
    "int32": ("INT8 multiplier", "INT32 adder"),
}


def preset_accumulator(precision: str) -> str:
    return PRESET_ACCUMULATOR[precision]


def mul_latency(accumulator: str) -> int:
    return PIPELINE_LATENCIES[accumulator][0]


def add_latency(accumulator: str) -> int:
    return PIPELINE_LATENCIES[accumulator][1]


def out_buffer_add_latency(unit: str) -> int:
    """The out buffer's adders' depth in cycles ("fp32" or "int32")."""
    return OUT_BUFFER_ADD_LATENCIES[unit]


def round_latency(accumulator: str) -> int:
    return ROUND_LATENCIES[accumulator]


# SLR crossings (docs/fpga.md, "Floorplan"; the split is sparsesim.fpga.floorplan's): registers per SLR
# boundary on every array signal that crosses one, one at the receiving Laguna site (UG912 USER_SLL_REG),
# the sending side being the PE cell's existing output register (our choice after UG949's flop-to-flop
# crossing advice). rtl/array.py names each such register CROSSING_NAME<s>_<signal> (s: its SLR), which the
# floorplan's pblocks match.
LAGUNA_REGISTERS_PER_CROSSING = 1
CROSSING_NAME = "xin_slr"


def sequence_latency_cycles(
    crossings: int, registers_per_crossing: int = LAGUNA_REGISTERS_PER_CROSSING
) -> int:
    """Cycles the crossing registers add to a tile sequence: operands out through `crossings` SLR boundaries,
    results back through the same ones."""
    return 2 * crossings * registers_per_crossing

