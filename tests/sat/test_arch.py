"""Architecture presets: resolution from the workload spec, a source for every value, derived units."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from sparsesim.errors import SpecError
from sparsesim.sat.arch import PRESETS, WORKLOAD, SatArch, preset_table, resolve
from sparsesim.spec import AcceleratorSpec, Optimisations


def test_default_preset_values_and_sources():
    arch = resolve(None)
    assert (arch.rows, arch.cols, arch.multipliers_per_pe, arch.max_m) == (16, 32, 2, 8)
    # the RTL's exact-accumulation pipelines: product, one-cycle integer add, rounding at the edge
    assert (arch.mul_latency_cycles, arch.add_latency_cycles, arch.round_latency_cycles) == (2, 1, 5)
    assert arch.sorter_lanes == 32 and arch.precision == "fp16" and arch.dataflow == "auto"
    names = [f.name for f in dataclasses.fields(SatArch) if f.name != "sources"]
    for name in names:
        assert arch.sources.get(name), f"no source for {name}"
    for row in preset_table():
        assert row["source"] and row["name"] in names


def test_every_spec_field_has_a_preset_value():
    """A knob added to AcceleratorSpec must get a preset value and a source here."""
    # technology, static power and clock energy pick the energy table (sparsesim.energy), not parameters of
    # the architecture; scalesim replaces the whole preset by a SCALE-Sim .cfg
    from sparsesim.energy.model import ACCELERATOR_ENERGY_FIELDS

    knobs = set(AcceleratorSpec.model_fields) - {"preset", "optimisations", "scalesim", *ACCELERATOR_ENERGY_FIELDS}
    assert knobs <= set(PRESETS["vcu1525"]) | {"dataflow"}


def test_overrides_win_and_are_attributed():
    spec = AcceleratorSpec(rows=8, clock_mhz=250, dram_channels=2, dataflow="os")
    arch = resolve(spec)
    assert (arch.rows, arch.clock_mhz, arch.dram_channels, arch.dataflow) == (8, 250, 2, "os")
    assert arch.sources["rows"] == WORKLOAD and arch.sources["cols"] != WORKLOAD
    assert arch.cols == 32


def test_int8_takes_single_cycle_latencies_unless_set():
    assert (
        resolve(AcceleratorSpec(precision="int8")).mul_latency_cycles,
        resolve(AcceleratorSpec(precision="int8")).add_latency_cycles,
    ) == (1, 1)
    arch = resolve(AcceleratorSpec(precision="int8", add_latency_cycles=3))
    assert arch.add_latency_cycles == 3 and arch.element_bytes == 1


def test_derived_quantities_carry_units():
    arch = resolve(None)
    # DDR4-2400 x 64 bit = 19.2 GB/s per channel = 96 B per 200 MHz cycle; 120 ns = 24 cycles.
    assert arch.dram_channel_bytes_per_cycle == pytest.approx(96.0)
    assert arch.dram_bytes_per_cycle == pytest.approx(384.0)
    assert arch.dram_latency_cycles == pytest.approx(24.0)
    assert arch.peak_macs_per_cycle == 16 * 32 * 2
    assert arch.supported_nm == ((1, 2), (1, 4), (2, 4), (1, 8), (2, 8))
    assert arch.supports((2, 8)) and not arch.supports((4, 8)) and not arch.supports(None)
    d = arch.to_dict()
    assert d["dram_bandwidth_gbs"] == pytest.approx(76.8) and d["supported_nm"][-1] == "2:8"


def test_optimisations_resolve_and_toggle():
    arch = resolve(AcceleratorSpec(optimisations=Optimisations(interleave=False)))
    assert not arch.interleave and arch.pregenerate and arch.sources["interleave"] == WORKLOAD
    assert arch.with_optimisations(pregenerate=False).pregenerate is False


def test_inconsistent_array_is_a_spec_error():
    with pytest.raises(SpecError, match="powers of two"):
        resolve(AcceleratorSpec(multipliers_per_pe=3))


def test_spec_resolution_needs_neither_torch_nor_simpy():
    code = (
        "import sys; from sparsesim.spec import AcceleratorSpec; r = AcceleratorSpec(rows=4).resolved(); "
        "assert r['rows'] == 4 and r['cols'] == 32; "
        "assert 'torch' not in sys.modules and 'simpy' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
