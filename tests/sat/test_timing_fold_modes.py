"""The fold-sequencing parameters of the timing contract (weight banks, weight load, fold overlap, OS drain,
a one-cycle MAC) against the cycle-stepped reference array, on random tiles in every combination.

The reference array (sparsesim.sat.refarray) moves data register by register: it models one or two weight
banks, shift loading (a row's register is in transit until the last shift) and shadow accumulators, and
reports hazards. It does not import the closed forms it checks.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sparsesim.sat import numerics, timing
from sparsesim.sat.refarray import TileData, run_os, run_ws
from sparsesim.sat.timing import ArrayParams, Mode, TileShape

BASES = [
    dict(rows=3, cols=2, multipliers=1, max_m=1, mul_latency=0, add_latency=1),  # SCALE-Sim-like MAC
    dict(rows=2, cols=3, multipliers=2, max_m=8, mul_latency=1, add_latency=1),
    dict(rows=3, cols=3, multipliers=2, max_m=8, mul_latency=2, add_latency=3),
]
WS_VARIANTS = [
    dict(weight_banks=b, weight_load=w, fold_overlap=o)
    for b, w, o in itertools.product((1, 2), ("bus", "shift"), (True, False))
]


def _params(base, **kw) -> ArrayParams:
    return ArrayParams(**base, **kw)


def _ids(base) -> str:
    return f"{base['rows']}x{base['cols']}P{base['multipliers']}Lm{base['mul_latency']}La{base['add_latency']}"


def _operands(rng, shape: TileShape):
    a = rng.standard_normal((shape.m, shape.k)).astype(np.float16)
    b = rng.standard_normal((shape.k, shape.n)).astype(np.float16)
    return a, b


@pytest.mark.parametrize("base", BASES, ids=_ids)
def test_ws_fold_modes_match_reference_array(base):
    rng = np.random.default_rng(base["rows"] * 7 + base["add_latency"])
    for variant in WS_VARIANTS:
        p = _params(base, **variant)
        cap = timing.capacity(p, Mode("ws"))
        for count in (1, 2, 4):
            shapes = [
                TileShape(int(rng.integers(1, cap.m + 1)), int(rng.integers(1, 3 * p.rows + 6)),
                          int(rng.integers(1, cap.k + 1)))
                for _ in range(count)
            ]  # fmt: skip
            times = timing.sequence(p, Mode("ws"), shapes)
            ops = [_operands(rng, s) for s in shapes]
            res = run_ws(p, Mode("ws"), [TileData(a, b) for a, b in ops], [t.load for t in times],
                         [t.start for t in times])  # fmt: skip
            assert res.hazards == [], (variant, shapes, res.hazards[:3])
            assert res.last_cycle == [t.end for t in times], (variant, shapes)
            for (a, b), out in zip(ops, res.outputs):
                want = numerics.gemm(a, b, dataflow="ws", multipliers=p.multipliers, rows=p.rows)
                np.testing.assert_array_equal(numerics.fp32_bits(out), numerics.fp32_bits(want))
            runs = [(s.n, 1) for s in shapes]
            assert timing.ws_runs_cycles(p, runs) == times[-1].end + 1


@pytest.mark.parametrize("base", BASES[:2], ids=_ids)
def test_single_bank_and_shift_loading_are_tight(base):
    """One cycle earlier than the contract allows, a single-buffered or shift-loaded array breaks."""
    rng = np.random.default_rng(5)
    for variant in (dict(weight_banks=1), dict(weight_load="shift"), dict(weight_banks=1, weight_load="shift")):
        p = _params(base, **variant)
        cap = timing.capacity(p, Mode("ws"))
        shapes = [TileShape(cap.m, n, cap.k) for n in (4, 2, 7, 1, 5)]
        times = timing.sequence(p, Mode("ws"), shapes)
        ops = [TileData(*_operands(rng, s)) for s in shapes]
        loads, starts = [t.load for t in times], [t.start for t in times]
        found = 0
        for i in range(1, len(shapes)):
            early_l, early_s = list(loads), list(starts)
            early_l[i] -= 1
            early_s[i] -= 1
            res = run_ws(p, Mode("ws"), ops, early_l, early_s)  # load and stream one cycle earlier
            bound_by_bank_or_load = starts[i] == loads[i] + timing.load_to_stream(p) and starts[i] > (
                starts[i - 1] + shapes[i - 1].n
            )
            if bound_by_bank_or_load:
                assert res.hazards, (variant, i)
                found += 1
        assert found, f"no tile of {variant} was bound by its bank or load"


def test_single_bank_serialises_what_double_buffering_overlaps():
    base = BASES[1]
    two, one = _params(base), _params(base, weight_banks=1)
    lengths = [5] * 6
    t2 = timing.ws_runs_cycles(two, [(5, 6)])
    t1 = timing.ws_runs_cycles(one, [(5, 6)])
    assert t1 > t2
    # Single-buffered: each load waits for the previous stream to clear every row of its bank.
    seq = timing.sequence(one, Mode("ws"), [TileShape(1, n, 1) for n in lengths])
    for a, b in zip(seq, seq[1:]):
        assert b.load == a.start + 5 + timing.ws_bank_free_delay(one)


@pytest.mark.parametrize("base", BASES, ids=_ids)
def test_os_drain_modes_match_reference_array(base):
    rng = np.random.default_rng(base["cols"] * 11 + base["mul_latency"])
    for drain, interleave in itertools.product(("serial", "overlapped"), (True, False)):
        p = _params(base, os_drain=drain)
        mode = Mode("os", interleave=interleave)
        cap = timing.capacity(p, mode)
        e = timing.elements_per_cycle(p, mode)
        for count in (1, 2, 4):
            # Short and long reductions: short ones exercise the shadow-register bound.
            shapes = [
                TileShape(int(rng.integers(1, cap.m + 1)), int(rng.integers(1, cap.n + 1)),
                          int(rng.integers(1, 6 * e + 2)))
                for _ in range(count)
            ]  # fmt: skip
            times = timing.sequence(p, mode, shapes)
            ops = [_operands(rng, s) for s in shapes]
            res = run_os(p, mode, [TileData(a, b) for a, b in ops], [t.start for t in times])
            assert res.hazards == [], (drain, shapes, res.hazards[:3])
            assert res.last_cycle == [t.end for t in times], (drain, shapes)
            for (a, b), out in zip(ops, res.outputs):
                want = numerics.gemm(a, b, dataflow="os", multipliers=p.multipliers, rows=p.rows)
                np.testing.assert_array_equal(numerics.fp32_bits(out), numerics.fp32_bits(want))
            assert timing.os_runs_cycles(p, mode, [(s.k, 1) for s in shapes]) == times[-1].end + 1


def test_overlapped_drain_needs_its_shadow_registers_and_their_bound():
    """The overlapped schedule on an array without shadow registers overwrites undrained sums; tiles too
    short to hide the drain start exactly late enough (one cycle earlier overwrites a shadow)."""
    over = _params(BASES[0], os_drain="overlapped")
    serial = _params(BASES[0])
    rng = np.random.default_rng(9)
    shapes = [TileShape(over.rows, over.cols, 12)] * 3
    times = timing.sequence(over, Mode("os"), shapes)
    assert times[1].start == times[0].start + timing.os_last_final(over, Mode("os"), 12)
    ops = [TileData(*_operands(rng, s)) for s in shapes]
    starts = [t.start for t in times]
    assert run_os(over, Mode("os"), ops, starts).hazards == []
    assert run_os(serial, Mode("os"), ops, starts).hazards  # no shadows: the next tile overwrites
    short = [TileShape(over.rows, over.cols, 1)] * 3
    assert timing.os_shadow_deficit(over, Mode("os"), 1) > 0
    times = timing.sequence(over, Mode("os"), short)
    ops = [TileData(*_operands(rng, s)) for s in short]
    starts = [t.start for t in times]
    assert run_os(over, Mode("os"), ops, starts).hazards == []
    assert run_os(over, Mode("os"), ops, [starts[0], starts[1] - 1, starts[2] - 1]).hazards


@pytest.mark.parametrize("variant", WS_VARIANTS, ids=lambda v: "-".join(str(x) for x in v.values()))
def test_run_cycles_closed_form_in_every_fold_mode(variant):
    p = _params(BASES[2], **variant)
    for n in (1, 3, 17):
        for count in range(1, 12):
            tile = TileShape(p.cols, n, p.rows)
            assert timing.run_cycles(p, Mode("ws"), tile, count) == (
                timing.sequence(p, Mode("ws"), [tile] * count)[-1].end + 1
            )
    for drain in ("serial", "overlapped"):
        q = _params(BASES[2], os_drain=drain)
        for k in (1, 4, 30):
            tile = TileShape(q.rows, q.cols, k)
            for count in range(1, 6):
                assert timing.run_cycles(q, Mode("os"), tile, count) == (
                    timing.sequence(q, Mode("os"), [tile] * count)[-1].end + 1
                )
