"""Energy per action, per target, each value with its source beside it (Accelergy style).

Three tables, one per target the simulator runs:

- `fpga_table(arch)`: the SAT-style accelerator on the XCVU9P (16 nm FinFET). Xilinx's per-resource power
  data (the XPE spreadsheet) is not available where sparsesim is built, so each fabric action is the ASIC
  energy of the same operation (Horowitz, 45 nm) scaled to 16 nm (Stillmaker & Baas) and multiplied by
  the FPGA/ASIC dynamic-power gap of the resource type (Kuon & Rose). Hard blocks (DSP48E2, UltraRAM) get
  no gap (a lower bound, see `HARD_BLOCK_GAP`). DDR4 energy per byte follows Micron TN-40-07's method with
  datasheet IDD values. Clock power uses the flip-flop count of the Yosys estimate recorded for the array.
- `asic_table(arch, technology_nm)`: the same accelerator as an ASIC at a node (7-130 nm): Horowitz's 45 nm
  figures scaled with Stillmaker & Baas, the same banked buffers and the same DDR4.
- `mobile_table(soc)`: phone CPU cores: per core cycle (instruction overhead), per FP32 SIMD lane MAC, per
  byte moved at L2/L3, per DRAM byte.

Nothing here is fitted to a published efficiency (SAT's or anyone's): every value is chosen and cited, and
the results fall where they fall. docs/energy_model.md lists every coefficient and what the model leaves out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..mobile.soc import src

PJ = 1e-12

# ------------------------------------------------------------------------------------------ sources
HOROWITZ = (
    'M. Horowitz, "Computing\'s Energy Problem (and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V'
)
STILLMAKER = (
    'A. Stillmaker and B. Baas, "Scaling equations for the accurate prediction of CMOS device performance '
    'from 180 nm to 7 nm", Integration 58 (2017): energy polynomials per node, evaluated at one supply '
    "(0.8 V) for both nodes as Accelergy's technology scaling does"
)
KUON_ROSE = (
    'I. Kuon and J. Rose, "Measuring the Gap Between FPGAs and ASICs", IEEE TCAD 26(2), 2007: dynamic power '
    "of LUT/flip-flop logic is ~14x that of standard cells in the same process"
)
MICRON_DIMM = (
    "Micron MTA4ATF51264AZ 4GB DDR4 UDIMM data sheet, Table 13 (IDD values at DDR4-2400 for the module's "
    "four MT40A512M16 8Gb x16 devices): IDD0 320 mA, IDD2N 136 mA, IDD3N 188 mA, IDD4R 972 mA, IDD4W "
    "912 mA, VDD 1.2 V"
)
MICRON_TN4007 = 'Micron TN-40-07 "Calculating Memory Power for DDR4 SDRAM"'
DDR4_TIMING = (
    "Micron 8Gb DDR4 SDRAM data sheet, speed grade -083E (DDR4-2400): tRP 13.32 ns, tRAS 32 ns, "
    "tRC = tRAS + tRP; page 2 KB per x16 device"
)
YOSYS_RECORD = (
    "Yosys synth_xilinx -family xcup of this project's board core (sparsesim fpga build, recorded in "
    "docs/fpga.md): one FP16 PE cell (P = 2, MMAX = 8) with FP32 adders 1,864 LUTs, 865 FFs, 2 DSP48E2, the "
    "rest of the core 31,326 LUTs, 20,624 FFs, 239 URAM; with the exact-accumulation PE (the preset) one "
    "cell 949 LUTs, 790 FFs, 4 DSP48E2, the rest (32 edge roundings included) 52,940 LUTs, 29,017 FFs"
)
YOSYS_UNITS = (
    'Yosys synth_xilinx -family xcup of the PE\'s arithmetic units (docs/fpga.md, "PE designs compared"): '
    "FP32 adder 534 and 538 LUTs (the cell's two, without -flatten); FP16ExactProduct with the shift in "
    "DSP48E2 147 LUTs, 2 DSP48E2; ExactAdder 99 LUTs (one CARRY8 chain); ExactToFP32 640 LUTs, 272 FFs"
)


@dataclass(frozen=True)
class Coefficient:
    """One energy (or power) per action with where it comes from. `source` may be a `Source` carrying the
    value's plausible range (low, high), in the value's own unit, when the value is an estimate rather than
    a cited figure; `plausible` reads it (None: cited or derived, not varied by a sensitivity study)."""

    value: float
    unit: str  # "J" per action, or "W" for a power drawn for the whole run
    source: str
    derivation: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and self.value >= 0):
            raise ValueError(f"energy coefficient must be finite and >= 0, got {self.value}")

    @property
    def plausible(self) -> tuple[float, float] | None:
        return getattr(self.source, "plausible", None)


# Horowitz ISSCC 2014, 45 nm, in pJ per operation (the table every Accelergy/Timeloop tutorial cites).
HOROWITZ_45NM_PJ: dict[str, float] = {
    "add_int8": 0.03,
    "add_int16": 0.05,
    "add_int32": 0.1,
    "add_fp16": 0.4,
    "add_fp32": 0.9,
    "mul_int8": 0.2,
    "mul_int32": 3.1,
    "mul_fp16": 1.1,
    "mul_fp32": 3.7,
    "sram_8kb_64b": 10.0,  # read of 64 bits from an 8 KB SRAM
    "sram_32kb_64b": 20.0,
    "sram_1mb_64b": 100.0,
    "dram_64b": 1300.0,  # low end of 1.3-2.6 nJ per 64-bit DRAM access
    "instruction": 70.0,  # energy of one instruction on a simple RISC core, overhead included
}

# Stillmaker & Baas energy polynomial a*V^2 + b*V + c per node (nm), as tabulated by Accelergy's library.
STILLMAKER_NODES_NM: tuple[float, ...] = (130, 90, 65, 45, 32, 20, 16, 14, 10, 7)
STILLMAKER_ENERGY_POLY: tuple[tuple[float, float, float], ...] = (
    (7.171, -6.709, 2.904),
    (4.762, -4.781, 2.092),
    (3.755, -4.398, 1.975),
    (1.103, -0.362, 0.2767),
    (0.9559, -0.7823, 0.471),
    (0.373, -0.1582, 0.04104),
    (0.2958, -0.1241, 0.03024),
    (0.2363, -0.09675, 0.02239),
    (0.2068, -0.09311, 0.02375),
    (0.1776, -0.09097, 0.02447),
)
SCALING_VDD = 0.8  # Accelergy's default supply for the polynomial (one voltage for both nodes)

# The exact-accumulation PE (rtl/arith.py FP16ExactProduct, ExactAdder, ExactToFP32; the preset's PE) has no
# operation in Horowitz's table, so its energies are derived from its structure with his figures:
# - DSP48E2 work (hard block): energy per partial-product bit of an integer array multiplier, his INT32
#   multiply over its 32 x 32 partial products (3.03 fJ; his INT8 multiply gives 0.2 pJ / 64 = 3.1 fJ, the
#   same within 3 %), times the bit widths of the two multiplications the product unit maps to DSP48E2: the
#   11 x 11-bit significand product and the shift as a 23-bit signed product times a 17-bit one-hot
#   (charged as a full 23 x 17 multiply: XPE, UG440, charges a DSP48E2 by its input toggle rate, not its
#   values; a one-hot operand toggles fewer bits, which the RTL cross-check measures).
# - fabric logic: energy per LUT per operation, Horowitz's FP32 add over the LUTs of this project's FP32
#   adder in Yosys (536, the mean of the cell's two), i.e. a LUT of the exact units switches per operation
#   as a LUT of the FP32 adder does (our approximation), times each unit's LUT count from Yosys. A
#   width-based figure for the adder, Horowitz's INT32 add per bit (3.1 fJ) x 97 bits = 0.30 pJ at 45 nm, is
#   1.8x the LUT-based 0.17 pJ: the spread of the two derivations.
MUL_PJ_PER_PP_BIT_45NM = HOROWITZ_45NM_PJ["mul_int32"] / (32 * 32)
FP32_ADDER_LUTS = (534 + 538) / 2
LUT_PJ_PER_OP_45NM = HOROWITZ_45NM_PJ["add_fp32"] / FP32_ADDER_LUTS
EXACT_PRODUCT_DSP_BITS = ((11, 11), (23, 17))  # significand product; shift by a one-hot (rtl/arith.py)
EXACT_PRODUCT_LUTS = 147
EXACT_ADDER_LUTS = 99
EXACT_ROUND_LUTS = 640
# Flip-flops of the board core per PE design, from the recorded Yosys estimate: (per cell, rest of the core).
CELL_FLIP_FLOPS: dict[str, tuple[int, int]] = {"exact": (790, 29_017), "fp32": (865, 20_624)}

# Engineering choices (each "our choice" with the reason; docs/energy_model.md discusses their weight).
FABRIC_GAP = 14.0  # Kuon & Rose: LUT/FF logic vs standard cells, dynamic power
HARD_BLOCK_GAP = 1.0  # our choice: DSP48E2/UltraRAM are custom blocks in the same process (lower bound)
# Clock energy per flip-flop per cycle at 45 nm: our estimate, not a cited figure (no public per-flip-flop
# clock energy for UltraScale+ could be found; Xilinx's per-resource clock figures live in XPE). The
# derivation: about 1 fF of clock pin per flip-flop (a 45 nm standard-cell D flip-flop, as in the Nangate
# 45 nm open cell library) plus its internal clock buffers and its share of the clock tree's wire, ~5 fF in
# all, switched at 0.9 V once per cycle: C V^2 = 4 fJ, rounded to 5. Plausible range 2-15 fJ: the low end
# the pin alone, the high end a long FPGA clock spine per flip-flop. A user with a measured or Vivado
# figure sets `accelerator.clock_energy_fj_per_ff` instead (the value at the target's node, used as is).
FF_CLOCK_45NM_PJ = 0.005
FF_CLOCK_45NM_PLAUSIBLE_PJ = (0.002, 0.015)
XCVU9P_NODE_NM = 16.0  # XCVU9P: TSMC 16 nm FinFET (Xilinx UltraScale+ product overview, DS890)
# XCVU9P device static power: our estimate, not a cited figure. Xilinx publishes static power per device
# only through XPE (Xilinx Power Estimator User Guide UG440: "device static" is the leakage of the powered,
# unconfigured device, a function of device, process corner and junction temperature); no published VU9P
# measurement could be found here. 3.0 W is our estimate for a typical part at a moderate junction
# temperature; the plausible range 2-10 W spans a cool junction to a hot, worst-case part (leakage grows
# steeply with temperature: Xilinx WP221 "Static Power and the Importance of Realistic Junction Temperature
# Analysis"). A user sets `accelerator.static_power_w` from Vivado's report_power on the built design
# (`sparsesim fpga build`), the authoritative figure. Runs also report the energy without it
# (`dynamic_energy_j`), so the dynamic part stands on cited coefficients alone.
XCVU9P_STATIC_W = 3.0
XCVU9P_STATIC_PLAUSIBLE_W = (2.0, 10.0)
USER_SET = "set in the workload (accelerator.{field})"
URAM_BITS = 72  # UltraRAM port width (Xilinx UG573 UltraScale Memory Resources)
URAM_KB = 36  # 288 Kb per UltraRAM block (UG573)
SRAM_DEPTH_EXPONENT = 1.56 / 2  # CACTI-based depth scaling of SRAM access energy, as Accelergy applies it

# Measured energy per instruction on an ARM core: E. Vasilakis, "An Instruction Level Energy Characterization
# of ARM Processors", FORTH-ICS technical report TR-450 (2015), measured with the on-board power sensors of an
# Odroid-XU+E (Exynos 5410, Samsung 28 nm) on its Cortex-A7 cores: integer instructions 50-80 pJ, float and
# double 80-350 pJ, loads and stores 150-200 pJ each (the report's abstract; its per-instruction tables were
# not readable where sparsesim is built, so the ranges' midpoints are used, the ranges kept as plausible).
VASILAKIS = (
    'E. Vasilakis, "An Instruction Level Energy Characterization of ARM Processors", FORTH-ICS TR-450, 2015: '
    "Cortex-A7 (Exynos 5410, 28 nm) measured, integer instructions 50-80 pJ, loads/stores 150-200 pJ"
)
A7_NODE_NM = 28.0
A7_INTEGER_PJ = (50.0, 80.0)
A7_LDST_PJ = (150.0, 200.0)
A7_L1_KIB = 32  # Cortex-A7 L1 data cache of the Exynos 5410 (ARM Cortex-A7 MPCore TRM: 8-64 KB; 32 KB here)
A7_LDST_BYTES = 4  # the measured loads and stores move a 32-bit word (our reading of the benchmark)

# LPDDR4 per byte (mobile DRAM): vendor IDD values as DRAMPower (the DRAM power model of TU Kaiserslautern /
# Fraunhofer IESE) ships them, memspec MICRON_6Gb_LPDDR4-3200_32bit_A (one x16 channel, 1600 MHz clock):
# VDD1 1.8 V: IDD0 3.5, IDD2N 2.0, IDD3N 2.25, IDD4R 2.25, IDD4W 2.25 mA; VDD2 1.1 V: IDD0 45, IDD2N 27,
# IDD3N 30, IDD4R 275, IDD4W 210 mA; tRAS 68, tRP(per bank) 29, tRC 97 clocks; 1024 columns x 16 bits per row.
# LPDDR4X (JEDEC JESD209-4-1) lowers only the I/O supply VDDQ (1.1 -> 0.6 V); the core currents on VDD1/VDD2
# and hence these figures, which leave the I/O (VDDQ) out as the DDR4 figures do, hold for LPDDR4X too.
DRAMPOWER_LPDDR4 = (
    "DRAMPower memspec MICRON_6Gb_LPDDR4-3200_32bit_A (Micron LPDDR4 IDD values per x16 channel): VDD1 1.8 V "
    "IDD0/2N/3N/4R/4W 3.5/2.0/2.25/2.25/2.25 mA, VDD2 1.1 V 45/27/30/275/210 mA, tRAS/tRPpb/tRC 68/29/97 tCK "
    "at 1600 MHz, 2 KB rows; method of Micron TN-40-07 (burst current above active standby over the peak "
    "bandwidth, activation per row); LPDDR4X differs only in VDDQ (JEDEC JESD209-4-1), which is left out"
)


@dataclass(frozen=True)
class Lpddr4Figures:
    read_j_per_byte: float
    write_j_per_byte: float
    activate_j_per_byte: float
    background_w_per_channel: float


def lpddr4_figures() -> Lpddr4Figures:
    """LPDDR4 energy per byte of one x16 channel at 3200 MT/s by TN-40-07's method (DRAMPOWER_LPDDR4)."""
    rails = {  # V: (IDD0, IDD2N, IDD3N, IDD4R, IDD4W) in A
        1.8: (3.5e-3, 2.0e-3, 2.25e-3, 2.25e-3, 2.25e-3),
        1.1: (45e-3, 27e-3, 30e-3, 275e-3, 210e-3),
    }
    tck = 1 / 1600e6
    t_ras, t_rp, t_rc = 68 * tck, 29 * tck, 97 * tck
    bytes_per_s = 2 * 3200e6  # x16 at 3200 MT/s
    row_bytes = 1024 * 16 / 8
    read = sum((i[3] - i[2]) * v for v, i in rails.items()) / bytes_per_s
    write = sum((i[4] - i[2]) * v for v, i in rails.items()) / bytes_per_s
    act = sum((i[0] * t_rc - i[2] * t_ras - i[1] * t_rp) * v for v, i in rails.items())
    background = sum(i[2] * v for v, i in rails.items())  # active standby, IDD3N on both core rails
    return Lpddr4Figures(read, write, act / row_bytes, background)


# The SoCs' DRAM bus: x16 LPDDR4X channels (bus bits / 16), as the SoC presets' own sources state it.
SOC_DRAM_BUS_BITS: dict[str, tuple[int, str]] = {
    "snapdragon855": (64, "LPDDR4X 4 x 16-bit (AnandTech 13786, the SD855 preset's source)"),
    "snapdragon835": (64, "LPDDR4X 2 x 32-bit (the SD835 preset's source)"),
}


# Mobile SoC process nodes (the vendors' announcements): SD855 TSMC 7 nm (N7), SD835 Samsung 10 nm LPE.
SOC_NODE_NM: dict[str, tuple[float, str]] = {
    "snapdragon855": (7.0, "Qualcomm Snapdragon 855 product brief: TSMC 7 nm"),
    "snapdragon835": (10.0, "Qualcomm Snapdragon 835 product brief: Samsung 10 nm LPE"),
}


# ------------------------------------------------------------------------------------- derivations
def _poly(idx: int, vdd: float) -> float:
    a, b, c = STILLMAKER_ENERGY_POLY[idx]
    return a * vdd * vdd + b * vdd + c


def _node_energy(node_nm: float, vdd: float) -> float:
    nodes = STILLMAKER_NODES_NM
    if not nodes[-1] <= node_nm <= nodes[0]:
        raise ValueError(f"technology {node_nm} nm outside {nodes[-1]:g}-{nodes[0]:g} nm")
    for i in range(len(nodes) - 1):
        hi, lo = nodes[i], nodes[i + 1]
        if lo <= node_nm <= hi:
            w = (hi - node_nm) / (hi - lo)  # linear between the tabulated nodes
            return _poly(i, vdd) * (1 - w) + _poly(i + 1, vdd) * w
    return _poly(len(nodes) - 1, vdd)


def tech_scale(from_nm: float, to_nm: float, vdd: float = SCALING_VDD) -> float:
    """Energy ratio of the same circuit at `to_nm` vs `from_nm` (Stillmaker & Baas polynomials)."""
    return _node_energy(to_nm, vdd) / _node_energy(from_nm, vdd)


def sram_pj_per_64b(kib: float) -> float:
    """Horowitz's SRAM access energy for a capacity: the nearest published size at or below it, scaled
    by (depth ratio)^0.78 (CACTI-based rule as in Accelergy) above 1 MB."""
    kb = kib
    if kb <= 8:
        return HOROWITZ_45NM_PJ["sram_8kb_64b"]
    if kb <= 32:
        return HOROWITZ_45NM_PJ["sram_32kb_64b"]
    if kb <= 1024:  # log-linear between the 32 KB and 1 MB points
        t = math.log(kb / 32) / math.log(1024 / 32)
        lo, hi = HOROWITZ_45NM_PJ["sram_32kb_64b"], HOROWITZ_45NM_PJ["sram_1mb_64b"]
        return lo * (hi / lo) ** t
    return HOROWITZ_45NM_PJ["sram_1mb_64b"] * (kb / 1024) ** SRAM_DEPTH_EXPONENT


@dataclass(frozen=True)
class Ddr4Figures:
    read_j_per_byte: float
    write_j_per_byte: float
    activate_j_per_byte: float
    background_w_per_channel: float


def ddr4_figures(mts: int = 2400, bus_bits: int = 64) -> Ddr4Figures:
    """DDR4 energy per byte by TN-40-07's method from the module's IDD values.

    Read/write burst power above active standby, (IDD4R - IDD3N) x VDD, spread over the module's peak
    bytes per second; one row activation, (IDD0 x tRC - IDD3N x tRAS - IDD2N x tRP) x VDD, per module row
    (4 devices x 2 KB), i.e. streaming access that uses whole rows; active standby IDD3N x VDD as the
    background power of a channel (scaled to `bus_bits`). I/O and termination power, refresh and VPP are not
    included."""
    vdd = 1.2
    idd0, idd2n, idd3n, idd4r, idd4w = 0.320, 0.136, 0.188, 0.972, 0.912  # A, 64-bit module
    t_rp, t_ras = 13.32e-9, 32e-9
    t_rc = t_ras + t_rp
    bytes_per_s = 64 / 8 * mts * 1e6
    row_bytes = 4 * 2048
    act = (idd0 * t_rc - idd3n * t_ras - idd2n * t_rp) * vdd
    width = bus_bits / 64
    return Ddr4Figures(
        read_j_per_byte=(idd4r - idd3n) * vdd / bytes_per_s,
        write_j_per_byte=(idd4w - idd3n) * vdd / bytes_per_s,
        activate_j_per_byte=act / row_bytes,
        background_w_per_channel=idd3n * vdd * width,
    )


# -------------------------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class EnergyTable:
    """Coefficients of one target: action -> Coefficient, plus which component each action belongs to."""

    target: str  # fpga | asic | mobile
    description: str
    actions: Mapping[str, Coefficient]
    components: Mapping[str, str]  # action -> compute | onchip | dram | static
    resources: Mapping[str, Any]

    def energy(self, action: str) -> float:
        return self.actions[action].value

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"action": a, "component": self.components[a], "value": c.value, "unit": c.unit,
             "source": c.source, "derivation": c.derivation, "plausible": c.plausible}
            for a, c in self.actions.items()
        ]  # fmt: skip

    def uncertain(self) -> dict[str, tuple[float, float]]:
        """Action -> plausible (low, high) of every coefficient that is an estimate (for a sensitivity
        study: vary one with `with_value` and recompute the energy; counts do not change)."""
        return {a: c.plausible for a, c in self.actions.items() if c.plausible is not None}

    def with_value(self, action: str, value: float) -> EnergyTable:
        """The same table with one coefficient replaced (its source says so)."""
        old = self.actions[action]
        new = Coefficient(value, old.unit, f"varied from {old.value:.4g} ({old.source})", old.derivation)
        return replace(self, actions={**self.actions, action: new})


# Actions of the SAT-style accelerator and the component each belongs to.
SAT_COMPONENTS: dict[str, str] = {
    "pe_multiply": "compute",
    "pe_add": "compute",
    "nm_index_select": "compute",
    "vector_op": "compute",
    "wu_multiply": "compute",
    "wu_add": "compute",
    "sorter_compare": "compute",
    **{
        f"{b}_buffer_{rw}_byte": "onchip"
        for b in ("act", "weight", "out", "grad")
        for rw in ("read", "write")
    },
    "dram_read_byte": "dram",
    "dram_write_byte": "dram",
    "clock_ff_cycle": "static",
    "device_static": "static",
    "dram_background": "static",
}


# The exact-accumulation PE's own action: one rounding of an exact column sum to FP32 at the array's edge.
EXACT_COMPONENTS: dict[str, str] = {"edge_round": "compute"}


def accumulator_of(arch: Any, accumulator: str | None = None) -> str:
    """The PE design the table describes: `accumulator` when given (the RTL benches build either), else the
    preset's for the precision (rtl/latency.py: FP16 "exact", INT8 "int32")."""
    from ..rtl.latency import preset_accumulator

    return accumulator or preset_accumulator(arch.precision)


def array_flip_flops(arch: Any, accumulator: str | None = None) -> tuple[int, str]:
    """Flip-flops of the board core for the configured array, from the recorded Yosys estimate of its PE
    design (FP16 cells; INT8 arrays use the FP32-adder cell, an upper bound): rest + rows x cols x cell,
    the cell's FFs scaled by P/2 and MMAX/8 (the cells were measured at P = 2, MMAX = 8; registers grow
    with both: our linear approximation for other shapes)."""
    acc = accumulator_of(arch, accumulator)
    per_cell, rest = CELL_FLIP_FLOPS["exact" if acc == "exact" else "fp32"]
    cell = per_cell * (arch.multipliers_per_pe / 2 + arch.max_m / 8) / 2
    ffs = round(rest + arch.rows * arch.cols * cell)
    return ffs, f"{YOSYS_RECORD}; {arch.rows} x {arch.cols} {acc} cells"


def _exact_pe_actions(s: float, scaled: str, fabric_gap: float, hard_gap: float,
                      fab: str) -> dict[str, Coefficient]:  # fmt: skip
    """pe_multiply, pe_add and edge_round of the exact-accumulation PE (see EXACT_* above)."""
    pp_bits = sum(a * b for a, b in EXACT_PRODUCT_DSP_BITS)
    dsp_pj = pp_bits * MUL_PJ_PER_PP_BIT_45NM
    lut = LUT_PJ_PER_OP_45NM
    src_ = f"{HOROWITZ}; {YOSYS_UNITS}"
    per_pp = f"{MUL_PJ_PER_PP_BIT_45NM * 1000:.2f} fJ per partial-product bit (INT32 multiply / 32 x 32)"
    per_lut = f"{lut * 1000:.2f} fJ per LUT (FP32 add / {FP32_ADDER_LUTS:g} LUTs of our FP32 adder)"
    gap_note = f" x {fabric_gap:g} fabric" if fabric_gap != 1 else ""
    hard_note = f" x {hard_gap:g} hard block" if hard_gap != 1 else ""
    return {
        "pe_multiply": Coefficient(
            (dsp_pj * hard_gap + EXACT_PRODUCT_LUTS * lut * fabric_gap) * s * PJ, "J", src_,
            f"FP16 exact product: DSP48E2 11 x 11 significand product + 23 x 17 shift by a one-hot = "
            f"{pp_bits} partial-product bits x {per_pp} = {dsp_pj:.3f} pJ{hard_note}, + {EXACT_PRODUCT_LUTS} "
            f"LUTs (sign, exponent sum, window placement) x {per_lut} = {EXACT_PRODUCT_LUTS * lut:.3f} pJ"
            f"{gap_note}; {scaled} {fab}".strip(),
        ),
        "pe_add": Coefficient(
            EXACT_ADDER_LUTS * lut * fabric_gap * s * PJ, "J", src_,
            f"97-bit fixed-point add (tree and accumulation): {EXACT_ADDER_LUTS} LUTs x {per_lut} = "
            f"{EXACT_ADDER_LUTS * lut:.3f} pJ{gap_note} (width-based alternative: INT32 add per bit x 97 = "
            f"{HOROWITZ_45NM_PJ['add_int32'] / 32 * 97:.2f} pJ); {scaled} {fab}".strip(),
        ),
        "edge_round": Coefficient(
            EXACT_ROUND_LUTS * lut * fabric_gap * s * PJ, "J", src_,
            f"one rounding of a column's exact sum to FP32 at the array's edge (magnitude, leading one, "
            f"normalise, round): {EXACT_ROUND_LUTS} LUTs x {per_lut} = {EXACT_ROUND_LUTS * lut:.3f} pJ"
            f"{gap_note}; {scaled} {fab}".strip(),
        ),
    }  # fmt: skip


def _sat_table(arch: Any, *, node_nm: float, fabric_gap: float, hard_gap: float, target: str,
               description: str, static: Coefficient, clock_fj_per_ff: float | None,
               accumulator: str | None = None) -> EnergyTable:  # fmt: skip
    s = tech_scale(45.0, node_nm)
    scaled = f"x {s:.4f} (45 -> {node_nm:g} nm, {STILLMAKER})"
    fab = f"x {fabric_gap:g} (FPGA fabric, {KUON_ROSE})" if fabric_gap != 1 else ""
    hard = f"x {hard_gap:g} (hard block, our choice: lower bound)" if target == "fpga" else ""
    h = HOROWITZ_45NM_PJ
    int8 = arch.precision == "int8"
    mul, add = ("mul_int8", "add_int32") if int8 else ("mul_fp16", "add_fp32")

    def op(key: str, gap: float, note: str, extra: str = "", factor: float = 1.0) -> Coefficient:
        pj = h[key] * factor * s * gap
        return Coefficient(pj * PJ, "J", HOROWITZ, f"{h[key]:g} pJ ({key}{extra}) {scaled} {note}".strip())

    acts: dict[str, Coefficient] = {
        "pe_multiply": op(
            mul, hard_gap, hard if target == "fpga" else "", ", DSP48E2" if target == "fpga" else ""
        ),
        "pe_add": op(add, fabric_gap, fab, ", adder tree + accumulate in fabric" if target == "fpga" else ""),
        "nm_index_select": op(
            "add_int16",
            fabric_gap,
            fab,
            "; an M:1 select of a 16-bit value switches about as much as a 16-bit adder (our approximation)",
        ),
        "vector_op": op("add_fp32", fabric_gap, fab, "; one FP32 operation per element and pass"),
        "wu_multiply": op("mul_fp32", hard_gap, hard),
        "wu_add": op("add_fp32", fabric_gap, fab),
        "sorter_compare": op(
            "add_int16", fabric_gap, fab, "; a 16-bit magnitude compare is a 16-bit subtract"
        ),
    }
    acc = accumulator_of(arch, accumulator)
    components = dict(SAT_COMPONENTS)
    if acc == "exact":
        acts.update(_exact_pe_actions(s, scaled, fabric_gap, hard_gap, fab))
        components.update(EXACT_COMPONENTS)
        description += "; exact-accumulation PE"
    # Banked buffers: every buffer row spans many UltraRAM-sized banks (the preset's rows are 15-29 URAMs
    # wide), so an access costs a ~32 KB bank per 8 bytes, whatever the buffer's total size (our choice, the
    # same for the FPGA and the ASIC; the wires that spread a row across the banks are not modelled).
    pj_word = h["sram_32kb_64b"] * URAM_BITS / 64
    pj_byte = pj_word / (URAM_BITS / 8) * s * (hard_gap if target == "fpga" else 1.0)
    how = (
        f"{h['sram_32kb_64b']:g} pJ per 64 b (a 32 KB SRAM bank, about one {URAM_KB} KB UltraRAM, UG573) "
        f"per 8 B {scaled} {hard}"
    ).strip()
    for buf in ("act", "weight", "out", "grad"):
        for rw in ("read", "write"):
            # our choice: writes cost as reads (Horowitz gives reads; CACTI's write energy is similar)
            acts[f"{buf}_buffer_{rw}_byte"] = Coefficient(pj_byte * PJ, "J", HOROWITZ, how)
    # A SCALE-Sim CALC interface has no DRAM timing (dram_mts 0): its bytes are costed at the DDR4-2400 x64
    # module the figures come from (our choice: the energy of moving a byte does not depend on the idealised
    # bandwidth).
    d = ddr4_figures() if arch.dram_calc else ddr4_figures(arch.dram_mts, arch.dram_bus_bits)
    act_note = f" + row activation {d.activate_j_per_byte / PJ:.2f} pJ/B (whole 8 KB rows, streaming)"
    acts["dram_read_byte"] = Coefficient(
        d.read_j_per_byte + d.activate_j_per_byte,
        "J",
        f"{MICRON_TN4007}; {MICRON_DIMM}; {DDR4_TIMING}",
        f"(IDD4R - IDD3N) x VDD / peak bytes/s = {d.read_j_per_byte / PJ:.2f} pJ/B{act_note}",
    )
    acts["dram_write_byte"] = Coefficient(
        d.write_j_per_byte + d.activate_j_per_byte,
        "J",
        f"{MICRON_TN4007}; {MICRON_DIMM}; {DDR4_TIMING}",
        f"(IDD4W - IDD3N) x VDD / peak bytes/s = {d.write_j_per_byte / PJ:.2f} pJ/B{act_note}",
    )
    ffs, ff_src = array_flip_flops(arch, acc)
    if clock_fj_per_ff is None:
        lo, hi = (v * s * fabric_gap for v in FF_CLOCK_45NM_PLAUSIBLE_PJ)
        acts["clock_ff_cycle"] = Coefficient(
            FF_CLOCK_45NM_PJ * s * fabric_gap * PJ, "J",
            src("our estimate (FF_CLOCK_45NM_PJ: ~5 fF of clock load per flip-flop at 0.9 V in 45 nm); "
                + (KUON_ROSE if fabric_gap != 1 else STILLMAKER), lo * PJ, hi * PJ),
            f"{FF_CLOCK_45NM_PJ * 1000:g} fJ per flip-flop per cycle at 45 nm {scaled} {fab}; "
            f"x {ffs:,} flip-flops ({ff_src}) x every cycle of the run",
        )  # fmt: skip
    else:
        acts["clock_ff_cycle"] = Coefficient(
            clock_fj_per_ff * 1e-15, "J", USER_SET.format(field="clock_energy_fj_per_ff"),
            f"{clock_fj_per_ff:g} fJ per flip-flop per cycle x {ffs:,} flip-flops ({ff_src}) x every cycle",
        )  # fmt: skip
    acts["device_static"] = static
    acts["dram_background"] = Coefficient(
        d.background_w_per_channel * arch.dram_channels, "W", f"{MICRON_TN4007}; {MICRON_DIMM}",
        f"IDD3N x VDD = {d.background_w_per_channel:.3f} W per channel x {arch.dram_channels} channels "
        "(active standby for the whole run; refresh not included)",
    )  # fmt: skip
    resources = {"flip_flops": ffs, "node_nm": node_nm, "accumulator": acc}
    return EnergyTable(target, description, acts, components, resources)


def _user_static(watts: float) -> Coefficient:
    return Coefficient(watts, "W", USER_SET.format(field="static_power_w"), "drawn for the whole run")


def fpga_table(arch: Any, *, static_power_w: float | None = None, clock_energy_fj_per_ff: float | None = None,
               accumulator: str | None = None) -> EnergyTable:  # fmt: skip
    """The SAT-style accelerator on the XCVU9P (the vcu1525 preset's device); `static_power_w` and
    `clock_energy_fj_per_ff` replace the two estimates of the table when the user knows better;
    `accumulator` picks the PE design ("exact", "fp32", "int32"; default the preset's)."""
    if static_power_w is None:
        static = Coefficient(
            XCVU9P_STATIC_W, "W",
            src("our estimate (XCVU9P_STATIC_W; Xilinx publishes device static power only through XPE, "
                "UG440); temperature dependence: Xilinx WP221", *XCVU9P_STATIC_PLAUSIBLE_W),
            "drawn for the whole run; Vivado's report_power on the built design is the authoritative number",
        )  # fmt: skip
    else:
        static = _user_static(static_power_w)
    return _sat_table(
        arch, node_nm=XCVU9P_NODE_NM, fabric_gap=FABRIC_GAP, hard_gap=HARD_BLOCK_GAP, target="fpga",
        description="XCVU9P FPGA (16 nm): Horowitz 45 nm energies scaled to 16 nm x the FPGA/ASIC gap",
        static=static, clock_fj_per_ff=clock_energy_fj_per_ff, accumulator=accumulator,
    )  # fmt: skip


def asic_table(arch: Any, technology_nm: float, *, static_power_w: float | None = None,
               clock_energy_fj_per_ff: float | None = None,
               accumulator: str | None = None) -> EnergyTable:  # fmt: skip
    """The same accelerator as an ASIC at `technology_nm` (7-130 nm)."""
    if static_power_w is None:
        static = Coefficient(
            0.0, "W", "not modelled: logic and SRAM leakage of the ASIC projection are left out (0 W)",
            "set accelerator.static_power_w to include a leakage figure",
        )  # fmt: skip
    else:
        static = _user_static(static_power_w)
    return _sat_table(
        arch, node_nm=technology_nm, fabric_gap=1.0, hard_gap=1.0, target="asic",
        description=f"ASIC projection at {technology_nm:g} nm: Horowitz 45 nm energies, "
        "Stillmaker & Baas scaling",
        static=static, clock_fj_per_ff=clock_energy_fj_per_ff, accumulator=accumulator,
    )  # fmt: skip


MOBILE_COMPONENTS: dict[str, str] = {
    "ldst_instruction": "compute",
    "neon_mac_instruction": "compute",
    "neon_instruction": "compute",
    "scalar_instruction": "compute",
    "l1_byte": "onchip",
    "l2_byte": "onchip",
    "l3_byte": "onchip",
    "dram_byte": "dram",
    "dram_background": "static",
}


def mobile_table(soc: Any) -> EnergyTable:
    """Phone CPU cores of a SoC preset: the instruction energies measured on a Cortex-A7 (Vasilakis) and
    Horowitz's arithmetic and SRAM figures, scaled to the SoC's process node; LPDDR4 per byte (DRAMPower's
    Micron memspec)."""
    node, node_src = SOC_NODE_NM.get(soc.name, (7.0, "unknown SoC: 7 nm assumed (our choice)"))
    s = tech_scale(45.0, node)
    a7 = tech_scale(A7_NODE_NM, node)  # the A7 measurements' 28 nm to the SoC's node
    h45_28 = tech_scale(45.0, A7_NODE_NM)
    scaled = f"x {s:.4f} (45 -> {node:g} nm, {STILLMAKER}; node: {node_src})"
    scaled_a7 = f"x {a7:.4f} (28 -> {node:g} nm, Stillmaker & Baas; node: {node_src})"
    h = HOROWITZ_45NM_PJ
    l2_kib = soc.cores[0].l2_bytes / 1024
    l3_kib = soc.l3_bytes / 1024 if soc.l3_bytes else l2_kib
    l1_kib = soc.l1_bytes / 1024
    base = sum(A7_INTEGER_PJ) / 2  # measured integer instruction on the A7 at 28 nm
    a7_l1 = A7_LDST_BYTES * sram_pj_per_64b(A7_L1_KIB) / 8 * h45_28  # its load's own L1 access, at 28 nm
    ldst = sum(A7_LDST_PJ) / 2 - a7_l1
    lanes_fma = 4 * (h["mul_fp32"] + h["add_fp32"]) * h45_28
    lanes_add = 4 * h["add_fp32"] * h45_28
    why = (
        f"{base:g} pJ per instruction at 28 nm (the midpoint of the Cortex-A7's measured 50-80 pJ per "
        "integer instruction: fetch, decode, register file, control of a real ARM core; a lower bound for an "
        "out-of-order core)"
    )
    lanes_src = f"{VASILAKIS}; {HOROWITZ}"
    acts = {
        "ldst_instruction": Coefficient(
            ldst * a7 * PJ, "J",
            src(VASILAKIS, (A7_LDST_PJ[0] - a7_l1) * a7 * PJ, (A7_LDST_PJ[1] - a7_l1) * a7 * PJ),
            f"{sum(A7_LDST_PJ) / 2:g} pJ per load/store measured on the A7 (midpoint of 150-200 pJ) minus "
            f"its own L1 access ({A7_LDST_BYTES} B of a {A7_L1_KIB} KB SRAM, Horowitz at 28 nm: "
            f"{a7_l1:.1f} pJ), since the data access is `l1_byte`; {scaled_a7}",
        ),
        "neon_mac_instruction": Coefficient(
            (base + lanes_fma) * a7 * PJ, "J", lanes_src,
            f"{why} + 4 lanes x (FP32 multiply {h['mul_fp32']:g} + add {h['add_fp32']:g} pJ, Horowitz 45 nm "
            f"x {h45_28:.3f} to 28 nm) = {base + lanes_fma:.1f} pJ: a Q-form FMLA (D-form and scalar forms, "
            f"remainder code, counted as Q-form) {scaled_a7}",
        ),
        "neon_instruction": Coefficient(
            (base + lanes_add) * a7 * PJ, "J", lanes_src,
            f"{why} + 4 lanes x FP32 add {h['add_fp32']:g} pJ (Horowitz 45 nm x {h45_28:.3f}; FADD, "
            f"FMIN/FMAX, moves and broadcasts as an FP32 add per lane: our approximation) {scaled_a7}",
        ),
        "scalar_instruction": Coefficient(
            base * a7 * PJ, "J", src(VASILAKIS, A7_INTEGER_PJ[0] * a7 * PJ, A7_INTEGER_PJ[1] * a7 * PJ),
            f"{why} {scaled_a7}",
        ),
        "l1_byte": Coefficient(
            sram_pj_per_64b(l1_kib) / 8 * s * PJ, "J", HOROWITZ,
            f"{sram_pj_per_64b(l1_kib):.1f} pJ per 64 b for a {l1_kib:g} KiB SRAM per 8 B {scaled}",
        ),
        "l2_byte": Coefficient(
            sram_pj_per_64b(l2_kib) / 8 * s * PJ, "J", HOROWITZ,
            f"{sram_pj_per_64b(l2_kib):.1f} pJ per 64 b for a {l2_kib:g} KiB SRAM per 8 B {scaled}",
        ),
        "l3_byte": Coefficient(
            sram_pj_per_64b(l3_kib) / 8 * s * PJ, "J", HOROWITZ,
            f"{sram_pj_per_64b(l3_kib):.1f} pJ per 64 b for a {l3_kib:g} KiB SRAM per 8 B {scaled}",
        ),
    }  # fmt: skip
    lp = lpddr4_figures()
    acts["dram_byte"] = Coefficient(
        lp.read_j_per_byte + lp.activate_j_per_byte,
        "J",
        DRAMPOWER_LPDDR4,
        f"(IDD4R - IDD3N) x V over both core rails / 6.4 GB/s = {lp.read_j_per_byte / PJ:.2f} pJ/B + row "
        f"activation {lp.activate_j_per_byte / PJ:.2f} pJ/B (whole 2 KB rows); every DRAM byte at the read "
        f"figure (our choice: the per-op table does not split reads and writes; a write costs "
        f"{lp.write_j_per_byte / PJ:.2f} pJ/B); I/O (VDDQ), refresh and the SoC's memory controller left out",
    )
    bus, bus_src = SOC_DRAM_BUS_BITS.get(soc.name, (64, "unknown SoC: a 64-bit bus assumed (our choice)"))
    acts["dram_background"] = Coefficient(
        lp.background_w_per_channel * bus / 16, "W", DRAMPOWER_LPDDR4,
        f"IDD3N x V over both core rails = {lp.background_w_per_channel * 1e3:.2f} mW per x16 channel "
        f"(active standby for the whole run; power-down modes and refresh not included) x {bus // 16} "
        f"channels ({bus_src})",
    )  # fmt: skip
    return EnergyTable("mobile", f"{soc.name} CPU at {node:g} nm", acts, MOBILE_COMPONENTS, {"node_nm": node})
