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
    # Horowitz 45 nm: 70 pJ per instruction; FMLA adds 4 x (3.7 + 0.9) pJ; a scalar add 0.1 pJ
    assert t.energy("ldst_instruction") == pytest.approx(70e-12 * s)
    assert t.energy("neon_mac_instruction") == pytest.approx((70 + 4 * 4.6) * 1e-12 * s)
    assert t.energy("scalar_instruction") == pytest.approx(70.1e-12 * s)
    # L1 (64 KiB): between Horowitz's 32 KB (20 pJ) and 1 MB (100 pJ) points per 64 b, per byte
    assert 20e-12 / 8 * s < t.energy("l1_byte") < 100e-12 / 8 * s
    assert t.energy("l1_byte") < t.energy("l2_byte") < t.energy("dram_byte")


def test_mobile_op_counts_read_the_instruction_columns():
    row = {"ldst_instructions": 5.0, "neon_mac_instructions": 7.0, "neon_instructions": 1.0,
           "scalar_instructions": 2.0, "l1_bytes": 80.0, "l2_bytes": 64.0, "l3_bytes": 0.0,
           "dram_bytes": 32.0}  # fmt: skip
    c = mobile_op_counts(row)
    assert c["neon_mac_instruction"] == 7.0 and c["l1_byte"] == 80.0 and c["dram_byte"] == 32.0
