"""The energy tables: every coefficient cited, positive and finite; derivations checked by hand arithmetic."""

from __future__ import annotations

import math

import pytest

from sparsesim.energy import tables as T
from sparsesim.mobile.soc import resolve_soc
from sparsesim.sat.arch import resolve
from sparsesim.spec import AcceleratorSpec, MobileSpec


def _all_tables():
    arch = resolve(AcceleratorSpec())
    int8 = resolve(AcceleratorSpec(precision="int8"))
    out = [T.fpga_table(arch), T.fpga_table(arch, accumulator="fp32"), T.fpga_table(int8),
           T.asic_table(arch, 45), T.asic_table(arch, 7)]  # fmt: skip
    for soc in ("snapdragon855", "snapdragon835"):
        out.append(T.mobile_table(resolve_soc(MobileSpec(soc=soc))))
    return out


@pytest.mark.parametrize("table", _all_tables(), ids=lambda t: t.description[:30])
def test_every_entry_has_a_source_and_a_finite_value(table):
    assert set(table.actions) == set(table.components)
    for action, c in table.actions.items():
        assert c.source.strip(), action
        assert c.unit in ("J", "W"), action
        assert math.isfinite(c.value) and c.value >= 0, action
        if c.unit == "J" or action == "dram_background":
            assert c.value > 0, action
        assert table.components[action] in ("compute", "onchip", "dram", "static")


def test_tech_scaling_identity_and_direction():
    assert T.tech_scale(45, 45) == pytest.approx(1.0)
    # Stillmaker & Baas at 0.8 V, by hand: 45 nm 1.103*.64 - .362*.8 + .2767; 7 nm likewise.
    e45 = 1.103 * 0.64 - 0.362 * 0.8 + 0.2767
    e7 = 0.1776 * 0.64 - 0.09097 * 0.8 + 0.02447
    assert T.tech_scale(45, 7) == pytest.approx(e7 / e45)
    nodes = [130, 90, 65, 45, 32, 20, 16, 14, 10, 7]
    scales = [T.tech_scale(45, n) for n in nodes]
    assert all(a > b for a, b in zip(scales, scales[1:], strict=False))
    with pytest.raises(ValueError):
        T.tech_scale(45, 5)


def test_ddr4_energy_per_byte_by_hand():
    d = T.ddr4_figures(2400, 64)
    # (IDD4R - IDD3N) x VDD over 19.2 GB/s: (0.972 - 0.188) * 1.2 / 19.2e9 = 49.0 pJ/B
    assert d.read_j_per_byte == pytest.approx(49.0e-12, rel=1e-3)
    assert d.write_j_per_byte == pytest.approx((0.912 - 0.188) * 1.2 / 19.2e9)
    # one activation: (320 mA x 45.32 ns - 188 mA x 32 ns - 136 mA x 13.32 ns) x 1.2 V over an 8 KB row
    act = (0.320 * 45.32e-9 - 0.188 * 32e-9 - 0.136 * 13.32e-9) * 1.2
    assert d.activate_j_per_byte == pytest.approx(act / 8192)
    assert d.background_w_per_channel == pytest.approx(0.188 * 1.2)


def test_asic_at_45nm_is_horowitz():
    arch = resolve(AcceleratorSpec())
    t = T.asic_table(arch, 45, accumulator="fp32")
    assert t.energy("pe_multiply") == pytest.approx(1.1e-12)  # FP16 multiply
    assert t.energy("pe_add") == pytest.approx(0.9e-12)  # FP32 add
    int8 = T.asic_table(resolve(AcceleratorSpec(precision="int8")), 45)
    assert int8.energy("pe_multiply") == pytest.approx(0.2e-12)
    # fpga = ASIC at 16 nm x the fabric gap for soft logic, x 1 for the DSP
    f, a16 = T.fpga_table(arch, accumulator="fp32"), T.asic_table(arch, 16, accumulator="fp32")
    assert f.energy("pe_add") == pytest.approx(14 * a16.energy("pe_add"))
    assert f.energy("pe_multiply") == pytest.approx(a16.energy("pe_multiply"))


def test_exact_pe_energies_by_hand():
    """The preset's exact-accumulation PE, by hand from Horowitz 45 nm and the Yosys counts of docs/fpga.md:
    per partial-product bit 3.1 pJ / 1024; per LUT 0.9 pJ / 536 (our FP32 adder's LUTs)."""
    arch = resolve(AcceleratorSpec())
    t = T.asic_table(arch, 45)  # the preset's accumulator for FP16: exact
    pp, lut = 3.1e-12 / 1024, 0.9e-12 / 536
    assert t.energy("pe_multiply") == pytest.approx((11 * 11 + 23 * 17) * pp + 147 * lut)
    assert t.energy("pe_add") == pytest.approx(99 * lut)
    assert t.energy("edge_round") == pytest.approx(640 * lut)
    assert t.components["edge_round"] == "compute"
    f, a16 = T.fpga_table(arch), T.asic_table(arch, 16)
    assert f.energy("pe_add") == pytest.approx(14 * a16.energy("pe_add"))  # fabric
    dsp = (11 * 11 + 23 * 17) * pp * T.tech_scale(45, 16)
    assert f.energy("pe_multiply") == pytest.approx(dsp + 14 * (a16.energy("pe_multiply") - dsp))
    # per MAC the exact PE spends about half the FP32-adder PE's (half its LUTs, docs/fpga.md)
    fp32 = T.fpga_table(arch, accumulator="fp32")
    mac = f.energy("pe_multiply") + f.energy("pe_add")
    assert 0.4 < mac / (fp32.energy("pe_multiply") + fp32.energy("pe_add")) < 0.7
    assert "edge_round" not in fp32.actions


def test_sram_energy_grows_with_size():
    sizes = [4, 8, 32, 256, 1024, 2048, 4096]
    e = [T.sram_pj_per_64b(s) for s in sizes]
    assert all(a <= b for a, b in zip(e, e[1:], strict=False))
    assert T.sram_pj_per_64b(1024) == pytest.approx(100.0)


def test_flip_flops_from_the_recorded_yosys_estimate():
    arch = resolve(AcceleratorSpec())
    # docs/fpga.md: the preset's Yosys estimates, 433,497 FFs (exact PE) and 463,504 FFs (FP32 adders)
    assert T.array_flip_flops(arch)[0] == 433_497
    assert T.array_flip_flops(arch, "fp32")[0] == 463_504


def test_docs_list_every_action():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "energy_model.md").read_text()
    for table in _all_tables():
        for action in table.actions:
            if "_buffer_" in action:
                action = "_buffer_"
            assert action in doc, action


def test_estimates_carry_a_plausible_range_and_can_be_replaced():
    arch = resolve(AcceleratorSpec())
    t = T.fpga_table(arch)
    est = t.uncertain()
    # the two time-proportional estimates of the FPGA table, each range around its value
    assert {"device_static", "clock_ff_cycle"} <= set(est)
    for action, (lo, hi) in est.items():
        assert lo < t.energy(action) < hi, action
    assert est["device_static"] == (2.0, 10.0)
    # cited or derived coefficients are not varied
    assert "pe_multiply" not in est and "dram_read_byte" not in est
    v = t.with_value("device_static", 7.5)
    assert v.energy("device_static") == 7.5 and t.energy("device_static") == 3.0
    assert v.energy("pe_add") == t.energy("pe_add")


def test_user_set_static_power_and_clock_energy_replace_the_estimates():
    from sparsesim.energy.model import sat_table_for

    arch = resolve(AcceleratorSpec())
    t = sat_table_for(arch, None, static_power_w=2.4, clock_energy_fj_per_ff=10.0)
    assert t.energy("device_static") == 2.4
    assert t.energy("clock_ff_cycle") == pytest.approx(10e-15)
    assert "accelerator.static_power_w" in t.actions["device_static"].source
    assert t.uncertain() == {}  # nothing left to vary once the user has set both
    asic = sat_table_for(arch, 7.0, static_power_w=0.5)
    assert asic.energy("device_static") == 0.5
    assert sat_table_for(arch, 7.0).energy("device_static") == 0.0
