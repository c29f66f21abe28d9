"""The SAT-style accelerator's architecture: every parameter with its unit and the source of its value.

Timeloop's separation: this module is the *architecture* (what the hardware is); the OpGraph is the problem
and `schedule` the mapping. `resolve(spec)` turns a workload's `accelerator:` section into a `SatArch`:
fields the workload sets win (source "workload file"), the others come from the preset, each with a citation.

Source tags (docs/sat_model.md): [C] confirmed from the SAT paper (its abstract and published summaries),
[K] vendor datasheet or board knowledge, "our RTL" (rtl/, the pipeline depths the timing contract is
measured against), "our choice" with the reason. Nothing here is fitted to a published result.

Resource budget behind the vcu1525 preset, first estimated, then measured with Yosys (`sparsesim fpga build`,
synth_xilinx -family xcup; docs/fpga.md, "Resource estimate"):
- first estimate: a PE with P = 2 = 2 DSP48E2 (one per FP16 multiplier: the 11x11-bit significand product
  fits the 27x18 multiplier) + ~1,000 LUTs (~50 per multiplier's sign/exponent logic, ~400 per 4-stage FP32
  adder in fabric, muxes, registers), so 512 PEs = 15 % DSP, ~43 % LUT.
- measured: one PE cell of rtl/pe.py (FP16, P = 2, MMAX = 8) is 2 DSP48E2, 1,864 LUTs and 865 FFs; the
  fabric FP32 adders and the 8:1 index muxes cost about twice the first estimate. The 16 x 32 board core
  (array, buffers, UART, controller) is 1,024 DSP48E2 (15 %), ~0.99 M LUTs (83 %), ~0.46 M FFs (20 %),
  239 URAM (25 %): it fits, but not with the headroom the SORE, the vector/weight-update lanes, four DDR4
  controllers and the interconnect of a whole SAT would need. A design meant for the card would move the
  FP32 adders into DSP slices (Xilinx's Floating-Point Operator, PG060, offers DSP-based adders; the device
  has 6,840 DSP48E2, of which the array uses 15 %) or use a 16 x 16 array. The preset keeps 16 x 32 as the
  simulated design point: what it models is the PE count and the data paths, not this RTL's LUT cost.
- budget: `sparsesim fpga build` allows 50 % of the LUTs and 70 % of the DSP48E2 and 8 LUT levels at 200 MHz
  (docs/fpga.md); that PE cell measured 12 LUT levels. Moving the adders' alignment into DSP48E2 saves only
  88 LUTs per cell for 8 more DSPs (measured; docs/fpga.md, "PE designs compared").
- the preset's PE now accumulates exactly (docs/fpga.md, "PE designs compared", design b1): each FP16
  product becomes a 97-bit fixed-point word (significand product and shift in 2 DSP48E2), tree and
  accumulator are one-cycle integer adds, the sum is rounded to FP32 once per column at the array's edge.
  Measured: one cell 4 DSP48E2, 949 LUTs, 790 FFs, 7 LUT levels; the 16 x 32 board core 2,048 DSP48E2
  (29.9 %), 538,828 LUTs (45.6 %), 433,497 FFs (18.3 %), 239 URAM (24.9 %): within the build budget (50 %
  LUT, 70 % DSP). So the preset keeps 16 x 32 at 200 MHz, with L_add = 1 and a 5-cycle edge rounding
  (round_latency_cycles; 4 before its leading-one search took two phases). Rerun after the array's
  control was pipelined (`sparsesim fpga build
  workloads/resnet50-bdwp-2of8.yaml --board vcu1525 -o DIR --no-vivado --force`, docs/fpga.md): 538,427
  LUTs (45.54 %), 435,078 FFs, 2,048 DSP48E2 (29.94 %); logic levels PE cell 7, rest 8, across the cell
  boundary 9 (the bank scan's OR over the cells' tokens), one over the limit of 8 at 200 MHz. With the
  bank scan in two register stages, the edge rounding in five stages and the RUN's index verdict in its
  own state (`sparsesim fpga build workloads/resnet50-bdwp-2of8.yaml --board vcu1525 -o DIR --no-vivado`,
  main at db1b65a): 540,434 LUTs (45.71 %), 439,703 FFs, 2,048 DSP48E2 (29.94 %), logic levels PE cell 7,
  rest 8, across 8: within the limit, built without --force (docs/fpga.md, "The rounding in five stages").
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from ..fpga import floorplan as _floorplan
from ..mobile.soc import src
from ..rtl.latency import (
    DSP_PER_MULTIPLIER,
    PIPELINE_LATENCIES,
    ROUND_LATENCIES,
    SEQUENCER_STEP_SETTLE,
    UNIT_NAMES,
    out_buffer_add_latency,
    preset_accumulator,
)
from ..rtl.opengine.bus import PORT_BYTES
from .timing import ArrayParams

KIB = 1024
WORKLOAD = "workload file (accelerator section)"


@dataclass(frozen=True)
class PresetValue:
    value: Any
    unit: str
    source: str


def _rtl_latencies(precision: str) -> dict[str, PresetValue]:
    """The PE's pipeline depths as the RTL is built (owned by rtl/latency.py, measured by its tests)."""
    acc = preset_accumulator(precision)
    mul, add = PIPELINE_LATENCIES[acc]
    rnd = ROUND_LATENCIES[acc]
    mul_name, add_name = UNIT_NAMES[acc]

    def source(unit: str, stages: int) -> str:
        return f"our RTL: the {unit} has {stages} pipeline stage{'' if stages == 1 else 's'}"

    rnd_source = "our RTL: results leave the PEs in their final format"
    if rnd:
        rnd_source = (
            f"our RTL: the exact sums are rounded to FP32 at the array's edge in {rnd} pipeline stages "
            "(docs/fpga.md, PE designs compared)"
        )
    return {
        "mul_latency_cycles": PresetValue(mul, "cycles", source(mul_name, mul)),
        "add_latency_cycles": PresetValue(add, "cycles", source(add_name, add)),
        "round_latency_cycles": PresetValue(rnd, "cycles", rnd_source),
    }


def _out_buffer_latency(precision: str) -> dict[str, PresetValue]:
    """The op engine's out buffer adds partial sums with the lanes' FP32 adders (INT32 on INT8 arrays) of
    rtl/arith.py, whose depth rtl/latency.py owns (out_buffer_add_latency; rtl/opengine/accum.py elaborates
    with the same)."""
    unit = "fp32" if precision == "fp16" else "int32"
    stages = out_buffer_add_latency(unit)
    cycles = 1 + stages
    return {
        "op_accumulate_cycles": PresetValue(
            cycles,
            "cycles",
            f"our RTL (rtl/opengine/accum.py): a final sum leaves the out buffer {cycles} cycles after its "
            f"result word, the stored partial sum's read register and the {UNIT_NAMES[unit][1]}'s "
            f"{stages} pipeline stages; on the path of WS ops and OS ops with several k-blocks "
            "(an OS op of one k-block passes its results by the adders)",
        ),
    }


# ------------------------------------------------------------------------------------------------ vcu1525
_DEVICE = (
    "XCVU9P-FSGD2104-2L on the VCU1525 [C part; device totals K: 6,840 DSP48E2, "
    "1,182,240 LUTs, 2,160 BRAM36, 960 URAM]"
)

VCU1525: dict[str, PresetValue] = {
    "rows": PresetValue(
        16,
        "PEs",
        src(
            "our choice: the 512 PEs fit the XCVU9P within the build budget (Yosys estimate of the board "
            "core with the exact-accumulation PE: 29.9 % DSP, 45.6 % LUT, within 8 LUT levels at 200 MHz; "
            "module docstring); "
            "16 rows keep the WS fill/drain (rows x add latency) short and k_t = 16 x 8 = 128 covers 2:8 "
            "layers with 64 input channels in one tile; plausible 8-32 (the paper is silent on the array "
            "size)",
            8, 32,
        ),
    ),
    "cols": PresetValue(
        32,
        "PEs",
        src(
            "our choice: 32 output channels per WS tile; the paper is silent on the array size [U]; "
            "32 matches the SORE's 32 lanes [C] (one generated group per column per M cycles); "
            "plausible 16-64",
            16, 64,
        ),
    ),
    "multipliers_per_pe": PresetValue(
        2,
        "FP16 multipliers",
        "our choice: P = 2 = the N of the paper's headline 2:8 [C], so 2:8 runs M/P = 4x faster per PE "
        "than dense and 1:4, 2:4, 1:8 run too; one DSP48E2 per multiplier",
    ),
    "max_m": PresetValue(
        8,
        "elements",
        "our choice: MMAX = 8 covers 2:8 [C] and 2:4/1:4; M = 16 would double the activation registers "
        "and make the index muxes 16:1",
    ),
    "precision": PresetValue(
        "fp16",
        "",
        "[C] SAT paper: FP16 forward/backward, FP32 weight update (AMP style); FP32 accumulation "
        "is our choice (docs/pe_array.md, numerics); int8 (INT32 accumulate) is an option",
    ),
    "dataflow": PresetValue(
        "auto", "", "[C] switchable OS/WS systolic interconnect; the offline scheduler picks per op"
    ),
    "clock_mhz": PresetValue(
        200.0,
        "MHz",
        src(
            "our choice, the paper is silent [U]: a 2-stage FP16 multiplier and a 4-stage FP32 adder in "
            "UltraScale+ -2L fabric close comfortably at 200 MHz across SLR crossings; typical of VU9P FP16 "
            "designs (published UltraScale+ training accelerators run at 150-250 MHz)",
            150.0, 250.0,
        ),
    ),
    **_rtl_latencies("fp16"),
    "act_buffer_kib": PresetValue(
        4096,
        "KiB",
        src(
            "our choice: the WS stream reads rows x MMAX FP16 = 256 B/cycle, 29 URAM (72-bit) wide; "
            "4 such rows deep = 116 URAM = 4 MiB (12 % of the 960 URAM); plausible 2-8 MiB",
            2048, 8192,
        ),
    ),
    "weight_buffer_kib": PresetValue(
        2048,
        "KiB",
        src(
            "our choice: a WS bank row is cols x P x (16 + 3) bits = 1,216 bits/cycle, 17 URAM wide; 2 MiB "
            "(57 URAM) double-buffers ResNet-50's largest 2:8 layer (1.4 MB compressed) in two blocks; "
            "plausible 1-4 MiB",
            1024, 4096,
        ),
    ),
    "out_buffer_kib": PresetValue(
        2048,
        "KiB",
        src(
            "our choice: FP32 partial sums with accumulate-on-write, cols x 32 bits read + write per cycle "
            "(15 URAM wide, both ports); 2 MiB = 57 URAM; plausible 1-4 MiB",
            1024, 4096,
        ),
    ),
    "grad_buffer_kib": PresetValue(
        2048,
        "KiB",
        src(
            "our choice: gradient operands (dY) of BP and WU, like the weight buffer; 2 MiB = 57 URAM; "
            "plausible 1-4 MiB",
            1024, 4096,
        ),
    ),
    "dram_channels": PresetValue(
        4,
        "channels",
        src(
            "VCU1525 board: 4 DDR4 DIMMs [K]; the paper does not say how many SAT uses [U]: we use all four, "
            "address-interleaved; plausible 2-4",
            2, 4,
        ),
    ),
    "dram_mts": PresetValue(
        2400,
        "MT/s",
        src(
            "VCU1525 board: DDR4-2400 [K]; the model has no refresh, bank or turnaround losses, and DDR4 "
            "sustains ~70-100 % of peak, so the effective rate is plausibly 1,680-2,400 MT/s",
            1680, 2400,
        ),
    ),
    "dram_bus_bits": PresetValue(
        64, "bits", "DDR4 DIMM data width, ECC bits excluded [K]: 19.2 GB/s/channel"
    ),
    "dram_latency_ns": PresetValue(
        120.0,
        "ns",
        src(
            "our estimate: DDR4-2400 CL17 tRCD + CL = 2 x 14.2 ns [K] plus ~90 ns through the memory "
            "controller, PHY and AXI interconnect for a closed-page read; plausible 80-200 ns",
            80.0, 200.0,
        ),
    ),
    "dram_port_bytes": PresetValue(
        PORT_BYTES,
        "B/cycle",
        "our RTL (rtl/opengine/bus.py): each operand (weights, activations, results) has its own AXI4 port "
        "of 1,024 bits, the widest data bus AXI4 allows [K: ARM IHI 0022, AMBA AXI and ACE Protocol "
        "Specification, A1.3], one beat per cycle; an operand's DRAM stream cannot be faster",
    ),
    "sorter_lanes": PresetValue(
        32,
        "lanes",
        "[C] SAT paper: the SORE has 32 lanes, each one element per cycle, M cycles per group",
    ),
    "wu_lanes": PresetValue(
        16,
        "FP32 lanes",
        src(
            "our choice: an update moves 20 B per parameter (FP32 weight + momentum in and out, FP16 grad "
            "in, FP16 copy out); 16 lanes x 20 B = 320 B/cycle, just under the 384 B/cycle of 4 channels at "
            "200 MHz; plausible 8-32",
            8, 32,
        ),
    ),
    "weight_banks": PresetValue(
        2,
        "banks",
        "our RTL: each PE holds two stationary-weight banks, so a WS tile's weights load while the previous "
        "tile streams (docs/pe_array.md, WS weight loading)",
    ),
    "weight_load": PresetValue(
        "bus", "", "our RTL: a load bus writes weight row r in cycle load + r; the stream follows row 0"
    ),
    "fold_overlap": PresetValue(
        True,
        "",
        "our RTL: a WS tile's load starts as soon as the load bus and its bank are free, overlapping the "
        "previous tile's stream and drain",
    ),
    "os_drain": PresetValue(
        "serial",
        "",
        "our RTL: an OS tile's results shift out of the accumulators before the next tile starts (no shadow "
        "registers)",
    ),
    "slr_latency_cycles": PresetValue(
        _floorplan.sequence_latency_cycles(_floorplan.SLR_COUNT - 1),
        "cycles",
        "floorplan (sparsesim/fpga/floorplan.py): the 16 x 32 board core (45.6 % of the XCVU9P's LUTs as "
        "measured, docs/fpga.md) spans all three SLRs at the 50 % budget per SLR (columns 0-7, 8-19, "
        "20-31); split by columns with the controller in SLR0, "
        "operands cross 2 SLR boundaries out and results 2 back, one Laguna register per crossing [K: "
        "UG949, SLR crossings]; once per tile sequence. A workload that changes the array sets the value "
        "`sparsesim fpga build` prints for it",
    ),
    # The op engine's fixed register stages on its DRAM paths (rtl/opengine; docs/pe_array.md, "Op engine",
    # lists the registers). Counted in cycles of the op: from the start to the first read address, from an
    # operand beat's arrival to the array's first action, from the array's last result to its write beat,
    # from the last write response to the op's end. The DRAM latency itself is dram_latency_ns.
    "op_issue_cycles": PresetValue(
        4 + SEQUENCER_STEP_SETTLE,
        "cycles",
        f"our RTL (rtl/opengine): from an op's start to its first AXI read address, 4 registers: the "
        f"sequencer's descriptor latch, the job FIFO (a SyncFIFO: written in one cycle, read in the next), "
        f"the read DMA's job registers (address, words left) and its AR address register; and the "
        f"sequencer's {SEQUENCER_STEP_SETTLE} cycles until its registered arithmetic shows the op's first "
        f"block step (rtl/latency.py, SEQUENCER_STEP_SETTLE); the DRAM latency counts from the address",
    ),
    "op_fill_ws_cycles": PresetValue(
        3,
        "cycles",
        "our RTL (rtl/opengine, rtl/array.py): from a WS op's first weight beat arriving from DRAM to the "
        "cycle the array writes the first weight row (where its array cycles start), 3 registers: the read "
        "DMA's operand buffer (a SyncFIFO), the array's input buffer (StreamBuffer) and its control stage",
    ),
    "op_fill_os_cycles": PresetValue(
        4,
        "cycles",
        "our RTL (rtl/opengine, rtl/array.py): from an OS op's first operand beats arriving from DRAM to the "
        "cycle its first beat is at PE(0, 0) (where its array cycles start), 4 registers: the operand "
        "buffer, the array's input buffer, its control stage and PE(0, 0)'s input register",
    ),
    "op_reload_cycles": PresetValue(
        2,
        "cycles",
        "our RTL (rtl/opengine/buffer.py, rtl/array.py): from the cycle after the array's controller takes a "
        "block's last word (where the block's use ends) to the cycle it could take a one-beat word of the "
        "next load into the block's half, when that load waited for the half, beyond the DRAM latency: the "
        "block buffer reads the word 2 cycles before the controller takes it (its memory's registered read, "
        "the array's input buffer) and registers the release in that cycle, takes the load job in the next "
        "and registers its AXI read address in the one after (3 registers), so the address is out in the "
        "cycle after the take (0); the first beat, a DRAM latency later, passes the same 2 registers to the "
        "controller (2). Measured on the 16x16 WS 2:8 op (docs/pe_array.md): release of block 0 in cycle "
        "83 of the op, its address 83, the next load's first beat 107",
    ),
    "op_writeback_cycles": PresetValue(
        1,
        "cycles",
        "our RTL (rtl/opengine, rtl/array.py): from the op's last array cycle to its last AXI write beat: 2 "
        "registers, the array's result buffer (StreamBuffer) and the write DMA's result buffer (a SyncFIFO; "
        "the burst's address and length went out ahead), less the cycle the result enters the first, which "
        "ends the array cycles; the DRAM latency counts from the beat",
    ),
    **_out_buffer_latency("fp16"),
    "op_response_cycles": PresetValue(
        1,
        "cycles",
        "our RTL (rtl/opengine): from the last write response to the op's end, 1 register: the write DMA's "
        "count of outstanding bursts, which the engine's idle test reads",
    ),
    "sram_streaming": PresetValue(
        False,
        "",
        "our choice: on-chip blocks must fit the double-buffered buffers; the mapper sizes them (module "
        "sparsesim.sat.schedule)",
    ),
    "mapping": PresetValue(
        "search", "", "offline scheduler: searches the GEMM's orientation (transposed or not) per op"
    ),
    "dram_calc": PresetValue(
        False, "", "DRAM is modelled (channels, bandwidth, latency above), not an unlimited interface"
    ),
    "vector_lanes": PresetValue(
        128,
        "FP32 lanes",
        src(
            "our choice, the paper is silent on non-GEMM ops [U]: an elementwise op moves 4 B per element "
            "(FP16 in and out), so 4 channels feed 96 elements/cycle; 128 lanes keep vector ops DRAM-bound; "
            "plausible 64-256",
            64, 256,
        ),
    ),
    # On-chip costs (sparsesim.sat.onchip; docs/sat_model.md, section 2, "On-chip costs").
    "onchip_costs": PresetValue(
        True,
        "",
        "our choice: buffer ports and bank conflicts, address generation, partial-sum read-modify-write and "
        "the update and vector engines' ports cost cycles (the SCALE-Sim architecture models none of them)",
    ),
    "buffer_word_bytes": PresetValue(
        8,
        "bytes",
        "[K] URAM288: 4K x 72-bit words, two ports (Xilinx UG573 UltraScale Architecture Memory Resources); "
        "64 data bits = 8 B per bank and port per cycle; a bank is one URAM column",
    ),
    "bank_mapping": PresetValue(
        "interleaved",
        "",
        "our choice: bank = word address mod banks (plain low-order interleaving): a contiguous run of up to "
        "a port's width reads in one cycle, whatever its alignment; pixels of a channel-last tensor whose "
        "pitch is a multiple of the port width land in the same banks (sat.onchip; `skewed` rotates each row "
        "of banks by one, which breaks contiguous runs instead: docs/sat_model.md compares them)",
    ),
    "pitch_pad_bytes": PresetValue(
        64,
        "bytes",
        "our choice: a channel-last tensor whose pixel or image row is a multiple of the port width (e.g. "
        "FP16 pixels of 128 channels) is stored with 64 B (8 banks) of padding per pixel or row, so the two "
        "pixels an OS beat reads, or the kernel rows of a WS beat, fall into different banks; the padding's "
        "capacity is not charged to the buffers",
    ),
    "act_port_bytes_per_cycle": PresetValue(
        256,
        "bytes/cycle",
        src(
            "our choice: the act buffer's array-side port is as wide as a 2:8 WS beat reads (rows x MMAX x "
            "FP16 = 256 B, 32 banks of 8 B); plausible 128-512",
            128, 512,
        ),
    ),
    "grad_port_bytes_per_cycle": PresetValue(
        256,
        "bytes/cycle",
        src(
            "our choice: as the act buffer (BP streams dY as FF streams im2col(X)); plausible 128-512",
            128, 512,
        ),
    ),
    "out_port_bytes_per_cycle": PresetValue(
        128,
        "bytes/cycle",
        src(
            "our choice: cols x FP32 = 128 B per cycle on each of the out buffer's two ports (one reads "
            "partial sums and results, one writes them): what a WS beat produces; plausible 64-256",
            64, 256,
        ),
    ),
    "agu_runs_per_cycle": PresetValue(
        8,
        "runs/cycle",
        src(
            "our choice: the im2col/col2im address generator issues 8 contiguous runs (base, length) per "
            "cycle, one per 4 banks of a 256 B port: a WS beat of the forward pass is 1-3 runs; "
            "plausible 4-32",
            4, 32,
        ),
    ),
    "wu_port_bytes_per_cycle": PresetValue(
        128,
        "bytes/cycle",
        src(
            "our choice: the update engine has one 1,024-bit AXI4 read and one write data bus (the widest "
            "AXI4 allows: AMBA AXI and ACE Protocol Specification, ARM IHI 0022); 10 B in and 10 B out per "
            "parameter give 12.8 parameters per cycle; plausible 64-256",
            64, 256,
        ),
    ),
    "vector_port_bytes_per_cycle": PresetValue(
        256,
        "bytes/cycle",
        src(
            "our choice: the vector unit reads and writes 128 lanes x FP16 per cycle on separate ports; "
            "plausible 128-512",
            128, 512,
        ),
    ),
}

# INT8 mode: the RTL's INT8 multiplier and INT32 adder are single-cycle.
INT8_LATENCIES: dict[str, PresetValue] = _rtl_latencies("int8") | _out_buffer_latency("int8")

PRESETS: dict[str, dict[str, PresetValue]] = {"vcu1525": VCU1525}
DEVICE_NOTES: dict[str, str] = {"vcu1525": _DEVICE}

OPTIMISATION_SOURCES = {
    "interleave": "[C] interleave mapping (SAT paper); mechanism [I]: OS accumulator slots = L_add",
    "pregenerate": "[C] pre-generation of N:M weights; mechanism [I]: GEN right after the layer's UPD",
    "offline_schedule": "[C] offline scheduling; mechanism [I]: per-op tiling, dataflow and overlap",
}


@dataclass(frozen=True)
class SatArch:
    """The resolved accelerator. Field names carry their unit; `sources` cites every value."""

    preset: str
    rows: int
    cols: int
    multipliers_per_pe: int
    max_m: int
    precision: str
    dataflow: str
    clock_mhz: float
    mul_latency_cycles: int
    add_latency_cycles: int
    act_buffer_kib: int
    weight_buffer_kib: int
    out_buffer_kib: int
    grad_buffer_kib: int
    dram_channels: int
    dram_mts: int
    dram_bus_bits: int
    dram_latency_ns: float
    sorter_lanes: int
    wu_lanes: int
    vector_lanes: int
    # How tiles follow one another on the array (sparsesim.sat.timing.ArrayParams) and what bounds them.
    weight_banks: int = 2
    weight_load: str = "bus"  # bus | shift
    fold_overlap: bool = True
    os_drain: str = "serial"  # serial | overlapped
    slr_latency_cycles: int = 0  # SLR crossing registers, once per tile sequence (fpga/floorplan.py)
    # Bytes per cycle of the op engine's AXI4 port per operand (weights, activations, results); 0: no
    # per-port limit (only the DRAM's data rate binds, e.g. SCALE-Sim's interface).
    dram_port_bytes: int = 0
    # The op engine's fixed register stages around an array op's DRAM latencies (preset: our RTL's counts);
    # 0 unless the preset models them (SCALE-Sim's array has no DMA engine: its interface never stalls).
    op_issue_cycles: int = 0  # start -> the first read address
    op_fill_ws_cycles: int = 0  # first weight beat from DRAM -> the WS array's first weight-row write
    op_fill_os_cycles: int = 0  # first operand beats from DRAM -> the OS array's first beat at PE(0, 0)
    op_reload_cycles: int = 0  # a block's release -> the next load's first word at the array, - DRAM latency
    op_writeback_cycles: int = 0  # the last result into the array's result buffer -> its write beat
    op_accumulate_cycles: int = 0  # the out buffer's add of a final sum (WS; OS with several k-blocks)
    op_response_cycles: int = 0  # the last write response -> the op's end
    # True: operand SRAMs are prefetching FIFOs (SCALE-Sim's double-buffered scratchpads), so their size does
    # not bound a tile's stream; DRAM bytes are then each operand once. False: blocks must fit the buffers.
    sram_streaming: bool = False
    # search: the scheduler picks the GEMM's orientation per op; scalesim: SCALE-Sim's fixed assignment
    # (WS: weights stationary, reduction on rows, filters on columns; OS: output pixels on rows).
    mapping: str = "search"
    # True: SCALE-Sim's CALC interface: the bandwidth is whatever the array demands (no DRAM stalls, no
    # latency).
    dram_calc: bool = False
    # On-chip costs (sparsesim.sat.onchip): off unless the preset models them (SCALE-Sim's array has none).
    onchip_costs: bool = False
    buffer_word_bytes: int = 8
    bank_mapping: str = "interleaved"  # interleaved | skewed (sat.onchip.bank_of)
    pitch_pad_bytes: int = 0
    act_port_bytes_per_cycle: int = 256
    grad_port_bytes_per_cycle: int = 256
    out_port_bytes_per_cycle: int = 128
    agu_runs_per_cycle: int = 8
    wu_port_bytes_per_cycle: int = 128
    vector_port_bytes_per_cycle: int = 256
    interleave: bool = True
    pregenerate: bool = True
    offline_schedule: bool = True
    # Cycles from a result leaving the PEs to leaving the array (the exact design's rounding at the edge).
    round_latency_cycles: int = 0
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            _ = self.array
        except ValueError as exc:
            raise SpecError(str(exc), path="accelerator") from None

    # ---------------------------------------------------------------------------------------- derived
    @property
    def array(self) -> ArrayParams:
        return ArrayParams(
            rows=self.rows, cols=self.cols, multipliers=self.multipliers_per_pe, max_m=self.max_m,
            mul_latency=self.mul_latency_cycles, add_latency=self.add_latency_cycles,
            round_latency=self.round_latency_cycles,
            weight_banks=self.weight_banks, weight_load=self.weight_load,  # type: ignore[arg-type]
            fold_overlap=self.fold_overlap, os_drain=self.os_drain,  # type: ignore[arg-type]
            slr_latency_cycles=self.slr_latency_cycles,
        )  # fmt: skip

    @property
    def supported_nm(self) -> tuple[tuple[int, int], ...]:
        """N:M modes the array runs sparse: M a power of two <= MMAX, 1 <= N <= min(P, M - 1)."""
        out = []
        m = 2
        while m <= self.max_m:
            out += [(n, m) for n in range(1, min(self.multipliers_per_pe, m - 1) + 1)]
            m *= 2
        return tuple(out)

    def supports(self, nm: tuple[int, int] | None) -> bool:
        return nm is not None and tuple(nm) in self.supported_nm

    def check_nm(self, n: int, m: int) -> None:
        """Raise a SpecError naming the knob to change if N:M (N < M) cannot run sparse on the array."""
        if n < m and not self.supports((n, m)):
            modes = ", ".join(f"{a}:{b}" for a, b in self.supported_nm)
            raise SpecError(
                f"the array cannot run {n}:{m} sparse (supported: {modes}; "
                "N <= multipliers_per_pe, M <= max_m)",
                path="accelerator.multipliers_per_pe" if n > self.multipliers_per_pe else "accelerator.max_m",
            )

    @property
    def element_bytes(self) -> int:
        """Bytes of one activation, gradient or weight value in the GEMMs (FP16 or INT8)."""
        return 2 if self.precision == "fp16" else 1

    @property
    def accum_bytes(self) -> int:
        """Bytes of one partial sum (FP32 or INT32)."""
        return 4

    @property
    def dram_channel_bytes_per_cycle(self) -> float:
        """Peak bytes per array-clock cycle of one channel: width x data rate / clock."""
        return self.dram_bus_bits / 8 * self.dram_mts / self.clock_mhz

    @property
    def dram_bytes_per_cycle(self) -> float:
        if self.dram_calc:
            return math.inf
        return self.dram_channels * self.dram_channel_bytes_per_cycle

    @property
    def dram_latency_cycles(self) -> float:
        if self.dram_calc:
            return 0.0
        return self.dram_latency_ns * self.clock_mhz / 1000.0

    @property
    def op_engine_streams(self) -> bool:
        """Whether the array is fed by the op engine (its per-operand DRAM ports, `dram_port_bytes`), which
        streams operands into the array as they arrive and results out as they are made (rtl/opengine); an
        interface without it (SCALE-Sim's) loads the first tile's operands before the array starts."""
        return self.dram_port_bytes > 0

    # The op engine's stream words (rtl/opengine: descriptor.py, buffer.py; rtl/config.py lays them out),
    # as the simulator sees them: a word carries one entry per lane, lanes = max(rows, cols) (WS uses cols
    # of them for a weights row and rows for an activation vector, OS the other way round).
    @property
    def stream_lanes(self) -> int:
        return max(self.rows, self.cols)

    @property
    def weight_word_bits(self) -> int:
        """Bits of a weight word (a WS weights row / an OS A step): per lane P values and P log2(MMAX)-bit
        indices, in every mode (the array's weight format; dense weights carry unused indices)."""
        idx_bits = max(1, (self.max_m - 1).bit_length())
        return self.stream_lanes * self.multipliers_per_pe * (8 * self.element_bytes + idx_bits)

    def act_word_bits(self, elements: int) -> int:
        """Bits of a packed activation word in DRAM: each lane's E = `elements` values (E = M in N:M mode,
        P dense), without the array word's MMAX - E zero slots."""
        return self.stream_lanes * elements * 8 * self.element_bytes

    def port_cycles_per_word(self, operand: str, elements: int) -> float:
        """Cycles of its DRAM port (`dram_port_bytes` a cycle) one stream word of `operand` ("weight" or
        "act") takes: a weight word occupies whole beats (padded); packed activation words lie back to back
        in lines of a beat or of a full word (MMAX elements a lane) where that is wider, so they take
        bits / beat bits each (several a beat, or a power of two beats). 0 without a port limit."""
        if not self.dram_port_bytes:
            return 0.0
        beat = 8 * self.dram_port_bytes
        if operand == "weight":
            return float(-(-self.weight_word_bits // beat))
        return self.act_word_bits(elements) / beat

    def op_prologue_stage_cycles(self, dataflow: str) -> int:
        """Fixed cycles of an array op before its array cycles, beyond the DRAM latency (issue and fill)."""
        return self.op_issue_cycles + (self.op_fill_ws_cycles if dataflow == "ws" else self.op_fill_os_cycles)

    def op_epilogue_stage_cycles(self, dataflow: str, k_block: int, k: int) -> int:
        """Fixed cycles of an array op after its array cycles, beyond the DRAM latency (write, response, and
        the out buffer's add where its final sums pass the adders: `op_accumulates`), for k-blocks of
        `k_block` of the op's `k`."""
        add = self.op_accumulate_cycles if self.op_accumulates(dataflow, k_block, k) else 0
        return self.op_writeback_cycles + add + self.op_response_cycles

    @staticmethod
    def op_accumulates(dataflow: str, k_block: int, k: int) -> bool:
        """Whether an op's final sums pass the op engine's out buffer adders: every WS op (its k-tiles'
        sums are added there, the first from +0) and OS ops of more than one k-block (`k_block` < `k`);
        an OS op of one k-block passes the PEs' sums by (rtl/opengine/sequencer.py, `keep`)."""
        return dataflow == "ws" or k_block < k

    @property
    def peak_macs_per_cycle(self) -> int:
        """Multiplications per cycle with every multiplier busy (dense MACs per cycle)."""
        return self.rows * self.cols * self.multipliers_per_pe

    def buffer_bytes(self, name: str) -> int:
        return int(getattr(self, f"{name}_buffer_kib")) * KIB

    def pitch(self, buffer: str, elements: int) -> int:
        """Elements from one pixel (or image row) of `elements` to the next in `buffer`: padded by
        pitch_pad_bytes when the pitch is a multiple of the port width."""
        if self.pitch_pad_bytes and (elements * self.element_bytes) % self.port_bytes_per_cycle(buffer) == 0:
            return elements + self.pitch_pad_bytes // self.element_bytes
        return elements

    def port_bytes_per_cycle(self, buffer: str) -> float:
        """Bytes per cycle a buffer's array-side port delivers (weights are pre-tiled: their load bus is
        timed by the timing contract, so it has no separate port limit here)."""
        if buffer == "weight":
            return math.inf
        return float(getattr(self, f"{buffer}_port_bytes_per_cycle"))

    def with_optimisations(self, **flags: bool) -> SatArch:
        return dataclasses.replace(self, **flags)

    # ------------------------------------------------------------------------------------------- views
    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "sources"}
        d["supported_nm"] = [f"{n}:{m}" for n, m in self.supported_nm]
        d["dram_bandwidth_gbs"] = (
            None if self.dram_calc else self.dram_channels * self.dram_bus_bits / 8 * self.dram_mts / 1000
        )
        d["peak_dense_tflops"] = 2 * self.peak_macs_per_cycle * self.clock_mhz * 1e6 / 1e12
        d["dsp"] = self.array_dsp
        return d

    @property
    def array_dsp(self) -> int:
        """DSP48E2 slices of the PE array: per multiplier lane, 2 for the FP16 exact-accumulation PE (the
        significand product and the shift), 1 for INT8 (rtl/latency.py, DSP_PER_MULTIPLIER; Yosys synth_xilinx
        of rtl/pe.py's cell with P = 2: 4 and 2 DSP48E2, docs/fpga.md). Sorter, vector, update lanes
        excluded."""
        per_lane = DSP_PER_MULTIPLIER[preset_accumulator(self.precision)]
        return self.rows * self.cols * self.multipliers_per_pe * per_lane

    def table(self) -> list[dict[str, Any]]:
        """One row per parameter: name, value, unit, source (for docs and reports)."""
        units = {k: v.unit for k, v in PRESETS.get(self.preset, VCU1525).items()}
        rows = []
        for f in dataclasses.fields(self):
            if f.name in ("sources",):
                continue
            rows.append(
                {"name": f.name, "value": getattr(self, f.name), "unit": units.get(f.name, ""),
                 "source": self.sources.get(f.name, "")}
            )  # fmt: skip
        return rows


def resolve(spec: Any = None) -> SatArch:
    """A `SatArch` from an `AcceleratorSpec` (or None: the default preset). Set fields win over the preset."""
    from ..spec import AcceleratorSpec

    spec = spec if spec is not None else AcceleratorSpec()
    if getattr(spec, "scalesim", None):
        from ..scalesim import arch_from_config, read_config

        return arch_from_config(read_config(spec.scalesim))
    preset = PRESETS.get(spec.preset)
    if preset is None:  # the spec's Literal forbids this; kept so a new preset name fails loudly
        raise SpecError(
            f"unknown preset {spec.preset!r} (known: {', '.join(PRESETS)})", path="accelerator.preset"
        )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {"preset": DEVICE_NOTES[spec.preset]}
    precision = spec.precision or preset["precision"].value
    for name, pv in preset.items():
        given = getattr(spec, name, None)
        if given is not None and name != "dataflow":
            values[name], sources[name] = given, WORKLOAD
            continue
        if name == "dataflow" and given not in (None, "auto"):
            values[name], sources[name] = given, WORKLOAD
            continue
        chosen = INT8_LATENCIES.get(name, pv) if precision == "int8" else pv
        values[name], sources[name] = chosen.value, chosen.source
    values["precision"] = precision
    opt = spec.optimisations
    for name, text in OPTIMISATION_SOURCES.items():
        values[name] = bool(getattr(opt, name))
        sources[name] = text if getattr(opt, name) else WORKLOAD
    return SatArch(preset=spec.preset, sources=sources, **values)


def preset_table(name: str = "vcu1525") -> list[dict[str, Any]]:
    """The preset's parameters as rows (name, fp16 value, unit, source), for docs."""
    return [
        {"name": k, "value": v.value, "unit": v.unit, "source": v.source} for k, v in PRESETS[name].items()
    ]


# Sparsity patterns the array runs (N:M in hardware; dense); others belong to target mobile.
SAT_PATTERNS = ("dense", "nm", "bdwp")


def check_patterns_supported(wl: Any) -> None:
    """Raise a one-line error if the workload asks the SAT target for sparsity its array cannot exploit."""
    sp = wl.sparsity
    asked = [("sparsity.pattern", sp.pattern)]
    asked += [(f"sparsity.overrides['{glob}'].pattern", ov.pattern) for glob, ov in sp.overrides.items()]
    for where, pattern in asked:
        if pattern is not None and pattern not in SAT_PATTERNS:
            raise SpecError(
                f"{where}: '{pattern}' sparsity cannot run on target sat, whose array exploits only N:M "
                f"({', '.join(SAT_PATTERNS)}); use pattern nm or bdwp, or target: mobile for {pattern} "
                "kernels"
            )


def check_workload_sparsity(wl: Any, arch: SatArch) -> None:
    """Fail before the front end runs if the workload's N:M cannot run sparse on the array."""
    check_patterns_supported(wl)
    sp = wl.sparsity
    wanted = []
    if sp.pattern in ("nm", "bdwp"):
        wanted.append((sp.n, sp.m))
    for ov in sp.overrides.values():
        if (ov.pattern or sp.pattern) in ("nm", "bdwp"):
            wanted.append((ov.n if ov.n is not None else sp.n, ov.m if ov.m is not None else sp.m))
    for n, m in wanted:
        arch.check_nm(n, m)
