"""Action counts against values computed independently from the op dimensions and masks, and the energy sums."""

from __future__ import annotations

import math

import pytest

from sparsesim.energy.actions import sat_op_counts
from sparsesim.energy.model import sat_energy, sat_table_for
from sparsesim.graph.lower import GemmOp
from sparsesim.pipeline import prepare
from sparsesim.sat.arch import resolve
from sparsesim.sat.schedule import map_gemm, plan_gemm
from sparsesim.sat.simulate import simulate_ops
from sparsesim.spec import AcceleratorSpec, workload_from_dict

TINY = {
    "name": "tiny-bdwp",
    "model": "tiny_cnn",
    "task": {"mode": "train", "batch_size": 8},
    "sparsity": {"pattern": "bdwp", "n": 2, "m": 8},
    "target": "sat",
}


@pytest.fixture(scope="module")
def tiny_sim():
    prep = prepare(workload_from_dict(dict(TINY)))
    arch = resolve(AcceleratorSpec())
    return simulate_ops(prep.ops, arch, graph=prep.graph), arch


def test_multiplies_are_at_least_the_kept_macs(tiny_sim):
    """Every kept MAC is one multiply the array issues; tiles smaller than the array add the padding's
    multiplies (checked exactly below and against the RTL's trace in test_energy_vs_rtl.py)."""
    sim, arch = tiny_sim
    s = sim.schedule
    sparse_seen = exact = 0
    for name in sim.ops["op"]:
        op = s.ops[name]
        if getattr(op, "kind", "") != "gemm":
            continue
        counts = sat_op_counts(op, s.plans[name], arch)
        g = s.plans[name].gemm
        kept = op.m * op.n * op.k * op.repeat * (g.mode.n / g.mode.m if g.mode.sparse else 1)
        if g.mode.sparse:
            sparse_seen += 1
            assert counts["nm_index_select"] == counts["pe_multiply"]
        assert counts["pe_multiply"] >= kept
        exact += counts["pe_multiply"] == kept
    assert sparse_seen > 0 and exact > 0


def test_padded_ws_tile_by_hand():
    """A dense WS GEMM of 10 outputs on the preset's 16 x 32 array (P = 2): one tile, k = 32 fills the 16
    rows (2 per row); each of the 8 activation beats passes all 32 columns (the live lanes are set per row,
    for every column: the 22 unused columns multiply zero weights), so 32 x 8 x 32 multiplies; per column
    and beat 16 tree adds (P - 1 per row) + 16 chain adds (every row); 8 result words of 32 columns, each
    rounded once at the edge (exact accumulation)."""
    arch = resolve(AcceleratorSpec(dataflow="ws"))
    op = GemmOp(
        name="fc:FF", layer="fc", pass_="FF", role="fwd", m=10, n=8, k=32, repeat=1, a_kind="weight",
        b_kind="act", c_kind="act", pattern="dense", density=1.0, nm=None, mask=None,
    )  # fmt: skip
    plan = plan_gemm(op, arch, map_gemm(op, arch))
    assert not plan.gemm.transposed and plan.gemm.tiles == 1
    c = sat_op_counts(op, plan, arch, "exact")
    assert c["pe_multiply"] == 32 * 8 * 32
    assert c["pe_add"] == 32 * 8 * (16 + 16)
    assert c["edge_round"] == 8 * 32
    assert c["out_buffer_write_byte"] == 8 * 32 * 4  # FP32 result words, padding included
    assert "edge_round" not in sat_op_counts(op, plan, arch, "fp32")


def test_dram_bytes_of_a_gemm_that_fits_on_chip():
    arch = resolve(AcceleratorSpec())
    op = GemmOp(
        name="g:FF", layer="g", pass_="FF", role="fwd", m=32, n=64, k=64, repeat=1, a_kind="weight",
        b_kind="act", c_kind="act", pattern="nm", density=0.5, nm=(2, 4), mask="ff",
    )  # fmt: skip
    plan = plan_gemm(op, arch, map_gemm(op, arch))
    c = sat_op_counts(op, plan, arch)
    # A: 32 x 64 weights, 2 of 4 kept, FP16 value + 2-bit index each; B: 64 x 64 FP16; C: 32 x 64 FP16
    a_bytes = 32 * 64 // 4 * 2 * (2 + 2 / 8)
    assert c["dram_read_byte"] == a_bytes + 64 * 64 * 2
    assert c["dram_write_byte"] == 32 * 64 * 2
    # every operand byte the array consumes is read from a buffer at least once
    assert c["weight_buffer_read_byte"] >= a_bytes
    assert c["act_buffer_read_byte"] >= 64 * 64 * 2


def test_dram_split_matches_the_schedule(tiny_sim):
    sim, arch = tiny_sim
    s = sim.schedule
    for name in sim.ops["op"]:
        c = sat_op_counts(s.ops[name], s.plans[name], arch)
        if s.plans[name].fused_into:
            assert c == {}
            continue
        assert c["dram_read_byte"] + c["dram_write_byte"] == s.plans[name].dram_bytes
        assert min(c.values()) >= 0


@pytest.mark.parametrize("technology", [None, 28.0])
def test_ops_plus_static_is_the_total(tiny_sim, technology):
    sim, arch = tiny_sim
    rep = sat_energy(sim, sat_table_for(arch, technology))
    assert all(math.isfinite(e) and e >= 0 for e in rep.op_j)
    assert sum(rep.op_j) + rep.static_j == pytest.approx(rep.energy_j)
    assert sum(rep.by_component_j.values()) == pytest.approx(rep.energy_j)
    assert rep.by_component_j["static"] == pytest.approx(rep.static_j)
    s = rep.summary()
    assert s["avg_power_w"] == pytest.approx(rep.energy_j / sim.summary["seconds_simulated"])


def test_asic_projection_uses_less_energy_at_a_finer_node(tiny_sim):
    sim, arch = tiny_sim
    e28 = sat_energy(sim, sat_table_for(arch, 28.0))
    e7 = sat_energy(sim, sat_table_for(arch, 7.0))
    assert e7.by_component_j["compute"] < e28.by_component_j["compute"]
    assert e7.by_component_j["dram"] == pytest.approx(e28.by_component_j["dram"])  # DRAM is off chip
