"""Mobile energy per instruction class: the per-class counts of a kernel from its body's mix, by hand."""

from __future__ import annotations

import pytest

from sparsesim.energy import tables as T
from sparsesim.energy.actions import mobile_op_counts
from sparsesim.mobile.isa import instruction_class
from sparsesim.mobile.microkernels import Timing, instruction_counts
from sparsesim.mobile.soc import resolve_soc
from sparsesim.spec import MobileSpec


def _timing(instrs: dict[str, float], cycles: float) -> Timing:
    return Timing(body="t", cycles=cycles, bound="V", port_cycles={}, chain_cycles=0.0, decode_cycles=0.0,
                  dispatch_cycles=0.0, instructions=sum(instrs.values()), uops={}, spilled_registers=0,
                  macs=0.0, instrs=instrs)  # fmt: skip


def test_instruction_counts_scale_the_body_mix_to_the_cycles():
    # a body of 2 Q loads, 8 FMLAs, 2 clamps, a counter and a branch, timed at 4 cycles, run for 40 cycles
    t = _timing({"LDR_Q": 2, "FMLA_4S": 8, "FMINMAX_4S": 2, "SUBS": 1, "B": 1}, 4.0)
    c = instruction_counts(t, 40.0)
    assert c == {"ldst": 20.0, "neon_mac": 80.0, "neon": 20.0, "scalar": 20.0, "l1_bytes": 320.0}
    assert instruction_counts(None, 40.0)["ldst"] == 0.0


def test_instruction_classes():
    assert instruction_class("LDP_Q") == instruction_class("STR_S") == "ldst"
    assert instruction_class("FMLA_E") == "neon_mac"
    assert instruction_class("DUP_E") == "neon"
    assert instruction_class("ADD_LSL") == instruction_class("B") == "scalar"


def test_mobile_table_energy_per_class_by_hand():
    soc = resolve_soc(MobileSpec(soc="snapdragon855"))
    t = T.mobile_table(soc)
    s = T.tech_scale(45, 7)
    a7 = T.tech_scale(28, 7)  # the Cortex-A7 measurements (28 nm) to the SD855's 7 nm
    h28 = T.tech_scale(45, 28)
    # Vasilakis (Cortex-A7, measured): integer 50-80 pJ -> 65 pJ; loads/stores 150-200 pJ -> 175 pJ less
    # its own 4-byte L1 access (Horowitz 32 KB SRAM: 20 pJ per 8 B, at 28 nm); FMLA adds 4 x (3.7 + 0.9) pJ
    assert t.energy("scalar_instruction") == pytest.approx(65e-12 * a7)
    assert t.energy("ldst_instruction") == pytest.approx((175 - 4 * 20 / 8 * h28) * 1e-12 * a7)
    assert t.energy("neon_mac_instruction") == pytest.approx((65 + 4 * 4.6 * h28) * 1e-12 * a7)
    lo, hi = t.actions["scalar_instruction"].plausible
    assert lo == pytest.approx(50e-12 * a7) and hi == pytest.approx(80e-12 * a7)
    # L1 (64 KiB): between Horowitz's 32 KB (20 pJ) and 1 MB (100 pJ) points per 64 b, per byte
    assert 20e-12 / 8 * s < t.energy("l1_byte") < 100e-12 / 8 * s
    assert t.energy("l1_byte") < t.energy("l2_byte") < t.energy("dram_byte")


def test_lpddr4_energy_per_byte_by_hand():
    """DRAMPower's Micron LPDDR4-3200 memspec (x16 channel, 6.4 GB/s), TN-40-07's method, by hand."""
    lp = T.lpddr4_figures()
    # reads: VDD2 (275 - 30) mA x 1.1 V (VDD1's IDD4R equals its IDD3N) over 6.4 GB/s = 42.1 pJ/B
    assert lp.read_j_per_byte == pytest.approx(0.245 * 1.1 / 6.4e9)
    assert lp.write_j_per_byte == pytest.approx(0.180 * 1.1 / 6.4e9)
    # one activation, tCK 0.625 ns: VDD1 (3.5 x 97 - 2.25 x 68 - 2.0 x 29) mA tCK x 1.8 V, VDD2 likewise
    tck = 0.625e-9
    act = (
        1.8 * (3.5 * 97 - 2.25 * 68 - 2.0 * 29) * 1e-3 * tck
        + 1.1 * (45 * 97 - 30 * 68 - 27 * 29) * 1e-3 * tck
    )
    assert lp.activate_j_per_byte == pytest.approx(act / 2048)
    t = T.mobile_table(resolve_soc(MobileSpec(soc="snapdragon855")))
    assert t.energy("dram_byte") == pytest.approx(lp.read_j_per_byte + lp.activate_j_per_byte)
    assert "DRAMPower" in t.actions["dram_byte"].source


def test_mobile_op_counts_read_the_instruction_columns():
    row = {"ldst_instructions": 5.0, "neon_mac_instructions": 7.0, "neon_instructions": 1.0,
           "scalar_instructions": 2.0, "l1_bytes": 80.0, "l2_bytes": 64.0, "l3_bytes": 0.0,
           "dram_bytes": 32.0}  # fmt: skip
    c = mobile_op_counts(row)
    assert c["neon_mac_instruction"] == 7.0 and c["l1_byte"] == 80.0 and c["dram_byte"] == 32.0


def test_mobile_dram_background_over_the_run():
    """The LPDDR4X's active standby (IDD3N on both core rails, per x16 channel, four channels on the
    SD855's 64-bit bus) is drawn for the whole run, as static energy beside the ops' actions."""
    import pandas as pd

    from sparsesim.energy.model import mobile_energy

    soc = resolve_soc(MobileSpec(soc="snapdragon855"))
    row = {"scalar_instructions": 10.0, "l2_bytes": 0.0, "l3_bytes": 0.0, "dram_bytes": 64.0}
    rep = mobile_energy(pd.DataFrame([row]), {"seconds_simulated": 0.01, "useful_macs": 0.0}, soc)
    background_w = 4 * (2.25e-3 * 1.8 + 30e-3 * 1.1)
    assert rep.static_j == pytest.approx(0.01 * background_w)
    assert rep.by_component_j["static"] == pytest.approx(rep.static_j)
    assert rep.energy_j == pytest.approx(sum(rep.op_j) + rep.static_j)
    assert rep.op_j[0] == pytest.approx(10 * T.mobile_table(soc).energy("scalar_instruction") + 64 * 42.7e-12,
                                        rel=1e-3)  # fmt: skip
