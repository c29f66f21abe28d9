"""MMCME4 divider search: exact settings within the UltraScale+ -2 limits, refusal of unreachable clocks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sparsesim.rtl.board import DIVCLK_MAX, MULT_RANGE, OUT_DIV_RANGE, PFD_MHZ, VCO_MHZ, mmcm_dividers


def _legal(d):
    assert VCO_MHZ[0] <= d.vco_mhz <= VCO_MHZ[1]
    assert PFD_MHZ[0] <= d.fin_mhz / d.divclk <= PFD_MHZ[1]
    assert MULT_RANGE[0] <= d.mult <= MULT_RANGE[1] and (d.mult * 8).is_integer()
    assert OUT_DIV_RANGE[0] <= d.out_div <= OUT_DIV_RANGE[1] and (d.out_div * 8).is_integer()
    assert 1 <= d.divclk <= DIVCLK_MAX


def test_the_vcu1525_preset_clock():
    d = mmcm_dividers(300.0, 200.0)
    _legal(d)
    assert d.fout_mhz == 200.0 and d.mult.is_integer() and d.out_div.is_integer()
    assert d.vco_mhz == 1600.0  # the highest VCO among exact integer settings


@pytest.mark.parametrize("mhz", [100.0, 125.0, 150.0, 166.0, 250.0, 300.0, 400.0, 775.0, 6.25])
def test_common_clocks_are_exact(mhz):
    d = mmcm_dividers(300.0, mhz)
    _legal(d)
    assert d.fout_mhz == pytest.approx(mhz, rel=1e-4)


@given(st.floats(7.0, 775.0))
def test_any_frequency_in_range_is_made_or_refused_with_the_closest(mhz):
    """Not every frequency is reachable within 100 ppm (M and O move in steps of 1/8, D is an integer; e.g.
    599.5 MHz is not): the search returns a legal setting within 100 ppm, or refuses naming the closest one,
    which must then really be further than 100 ppm away."""
    try:
        d = mmcm_dividers(300.0, mhz)
    except ValueError as err:
        closest = float(re.search(r"closest is ([\d.]+) MHz", str(err)).group(1))
        assert abs(closest - mhz) / mhz > 1e-4 - 1e-6, (mhz, closest)
        return
    _legal(d)
    assert abs(d.fout_mhz - mhz) / mhz <= 1e-4


def test_whole_megahertz_clocks_are_reachable_but_769():
    missing = []
    for mhz in range(7, 776):
        try:
            d = mmcm_dividers(300.0, float(mhz))
        except ValueError:
            missing.append(mhz)
            continue
        _legal(d)
    assert missing == [769]


@pytest.mark.parametrize("mhz", [800.0, 1000.0, 6.0, 1.0])
def test_unreachable_frequencies_are_refused(mhz):
    with pytest.raises(ValueError, match="output range"):
        mmcm_dividers(300.0, mhz)
