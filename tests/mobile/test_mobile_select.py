"""Kernel selection rules (XNNPACK's 2/3 rule and the configurable ones) and SoC presets' sources."""

from __future__ import annotations

import pytest

from sparsesim.errors import SpecError
from sparsesim.mobile.select import LayerView, decide, layer_type, subgraph_zero_fraction
from sparsesim.mobile.soc import PRESETS, SNAPDRAGON835, SNAPDRAGON855, describe, resolve_soc
from sparsesim.spec import MobileSpec


def _view(z: float, *, pattern="unstructured", ltype="conv1x1", params=1000, **kw) -> LayerView:
    return LayerView("l", "conv", ltype, pattern, None, z, params, **kw)


def test_two_thirds_rule_flips_at_the_threshold():
    spec = MobileSpec()
    assert spec.sparse_min_zero_fraction == pytest.approx(2 / 3)
    assert decide(_view(2 / 3), spec).family == "spmm"
    below = decide(_view(2 / 3 - 1e-6), spec)
    assert below.family == "dense"
    assert "0.667 (sparse_min_zero_fraction)" in below.reason


def test_threshold_is_configurable():
    spec = MobileSpec(sparse_min_zero_fraction=0.5)
    assert decide(_view(0.55), spec).family == "spmm"
    assert decide(_view(0.45), spec).family == "dense"
    assert decide(_view(0.95), MobileSpec(sparse_min_zero_fraction=1.0)).family == "dense"


def test_spmm_layer_types():
    spec = MobileSpec()
    d = decide(_view(0.9, ltype="conv"), spec)
    assert d.family == "dense" and "spmm_layer_types" in d.reason
    assert decide(_view(0.9, ltype="conv"), MobileSpec(spmm_layer_types=["conv1x1", "conv"])).family == "spmm"
    assert decide(_view(0.9, ltype="linear"), spec).family == "dense"
    assert decide(_view(0.9, ltype="dwconv"), spec).family == "dense"


def test_layer_type_is_xnnpacks_spmm_condition():
    base = {"kind": "conv", "kernel": (1, 1), "stride": (1, 1), "padding": (0, 0), "groups": 1}
    assert layer_type(base) == "conv1x1"
    assert layer_type({**base, "stride": (2, 2)}) == "conv"  # strided 1x1: not XNNPACK's spmm path
    assert layer_type({**base, "kernel": (3, 3), "padding": (1, 1)}) == "conv"
    assert layer_type({"kind": "linear"}) == "linear"


def test_subgraph_scope_is_all_or_nothing():
    spec = MobileSpec(sparse_rule_scope="subgraph")
    views = [_view(0.9), _view(0.3)]
    z = subgraph_zero_fraction(views, spec)
    assert z == pytest.approx(0.6)
    assert {decide(v, spec, z).family for v in views} == {"dense"}
    views = [_view(0.9), _view(0.5)]
    z = subgraph_zero_fraction(views, spec)
    assert {decide(v, spec, z).family for v in views} == {"spmm"}


def test_group_and_nm_patterns_pick_their_kernels_and_fall_back():
    spec = MobileSpec()
    g = _view(0.3, pattern="group", block=4)
    assert decide(g, spec).family == "group"
    off = MobileSpec(sparse_kernels=["spmm", "nm"])
    d = decide(g, off)
    assert (
        d.family == "dense"
        and "group: group not in sparse_kernels" in d.reason
        and "spmm: zero fraction" in d.reason
    )
    assert decide(_view(0.9, pattern="group", block=4), off).family == "spmm"  # 4-blocks run XNNPACK 32x4
    assert decide(_view(0.3, pattern="group", block=3), spec).family == "dense"  # no G=3 kernel
    nm = _view(0.5, pattern="nm", n=2, m=4, ltype="conv")
    assert decide(nm, spec).family == "nm"
    assert decide(nm, MobileSpec(nm_min_zero_fraction=0.6)).family == "dense"


def test_dense_pattern_reports_the_pruners_reason():
    v = LayerView("fc", "linear", "linear", "dense", "last layer", 0.0, 10)
    d = decide(v, MobileSpec())
    assert d.family == "dense" and d.reason == "dense weights (last layer)"


# ------------------------------------------------------------------------------------------ presets

TAGS = ("[V]", "[D]", "[M]", "our choice", "workload override", "calibrated on")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_number_has_a_tagged_source(name):
    rows = describe(PRESETS[name])
    assert len(rows) > 20
    for row in rows:
        assert any(tag in row["source"] for tag in TAGS), row


def test_preset_values_are_the_notes():
    s855, s835 = SNAPDRAGON855, SNAPDRAGON835
    assert [c.clock_ghz for c in s855.cores] == [2.84, 2.42, 2.42, 2.42]
    assert [c.l2_bytes for c in s855.cores] == [512 * 1024] + [256 * 1024] * 3
    assert s855.l3_bytes == 2 * 1024 * 1024 and s855.dram_gbs == 34.1
    assert s855.l1_latency_cycles == 4 and s855.l2_latency_cycles == 9
    assert s855.core.peak_macs_per_cycle == 8.0
    assert [c.clock_ghz for c in s835.cores] == [2.45] * 4
    assert s835.l2_shared and s835.cores[0].l2_bytes == 2 * 1024 * 1024 and s835.l3_bytes == 0
    assert s835.dram_gbs == 29.9


def test_resolve_soc_checks_threads_and_applies_overrides():
    with pytest.raises(SpecError, match="threads"):
        resolve_soc(MobileSpec(threads=5))
    soc = resolve_soc(MobileSpec(soc="snapdragon835", clock_mhz=1900, dram_bandwidth_gbs=10))
    assert soc.clock_ghz == pytest.approx(1.9) and soc.dram_gbs == 10
    assert any("workload override" in r["source"] for r in describe(soc))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_uncertain_number_states_a_plausible_range(name):
    """Chosen, secondary-source and calibrated numbers carry (low, high) beside their source text, and the
    value lies inside it; verified numbers need none."""
    for row in describe(PRESETS[name]):
        value, source = row["value"], row["source"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not any(tag in source for tag in ("our choice", "[M]", "calibrated on")):
            continue
        if name == "snapdragon835" and row["parameter"].startswith("l3_"):
            continue  # no L3: unused
        assert row["range"] is not None, row
        low, high = row["range"]
        assert low <= value <= high, row
