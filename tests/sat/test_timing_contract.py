"""The closed-form timing model agrees exactly with the cycle-stepped reference array; numerics agree with
the reference array's lane-by-lane arithmetic and with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sparsesim.sat import numerics, refarray, timing
from sparsesim.sat.refarray import TileData, run_os, run_ws
from sparsesim.sat.timing import ArrayParams, Mode, TileShape

PARAMS = [
    ArrayParams(rows=2, cols=3, multipliers=2, max_m=8, mul_latency=1, add_latency=1),
    ArrayParams(rows=3, cols=2, multipliers=2, max_m=8, mul_latency=2, add_latency=3),
    ArrayParams(rows=4, cols=4, multipliers=4, max_m=8, mul_latency=2, add_latency=2),
    ArrayParams(rows=2, cols=2, multipliers=1, max_m=4, mul_latency=1, add_latency=4),
]
MODES_NM = [None, (1, 4), (2, 4), (2, 8), (1, 8), (4, 8)]


def _modes(p: ArrayParams, dataflow: str):
    for nm in MODES_NM:
        if nm is None:
            yield Mode(dataflow)
        elif nm[0] <= p.multipliers and nm[1] <= p.max_m:
            for il in (True, False) if dataflow == "os" else (True,):
                yield Mode(dataflow, nm[0], nm[1], interleave=il)
    if dataflow == "os":
        yield Mode("os", interleave=False)


def _nm_operand(rng, rows: int, k: int, n: int, m: int) -> tuple[numerics.SparseA, np.ndarray]:
    groups = k // m
    idx = np.stack([np.sort(rng.permutation(m)[:n]) for _ in range(rows * groups)]).reshape(rows, groups, n)
    vals = rng.standard_normal((rows, groups, n)).astype(np.float16)
    sa = numerics.SparseA(vals, idx.astype(np.uint8), m)
    return sa, sa.to_dense()


def _tile_operands(rng, p, mode, shape: TileShape):
    if mode.sparse:
        a, a_dense = _nm_operand(rng, shape.m, shape.k, mode.n, mode.m)
    else:
        a = rng.standard_normal((shape.m, shape.k)).astype(np.float16)
        a_dense = a
    b = rng.standard_normal((shape.k, shape.n)).astype(np.float16)
    return a, a_dense, b


def _random_ws_tiles(rng, p, mode, count):
    e = timing.elements_per_cycle(p, mode)
    cap = timing.capacity(p, mode)
    tiles = []
    for _ in range(count):
        kmax = cap.k
        if mode.sparse:
            k = mode.m * int(rng.integers(1, kmax // mode.m + 1))
        else:
            k = int(rng.integers(1, kmax + 1))
        tiles.append(
            TileShape(
                int(rng.integers(1, cap.m + 1)), int(rng.integers(1, 3 * p.rows * max(1, e // 2) + 8)), k
            )
        )
    return tiles


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"{p.rows}x{p.cols}P{p.multipliers}L{p.add_latency}")
def test_ws_sequences_match_reference_array(p):
    rng = np.random.default_rng(p.rows * 100 + p.cols * 10 + p.add_latency)
    for mode in _modes(p, "ws"):
        for count in (1, 2, 5):
            shapes = _random_ws_tiles(rng, p, mode, count)
            times = timing.sequence(p, mode, shapes)
            ops = [_tile_operands(rng, p, mode, s) for s in shapes]
            res = run_ws(
                p,
                mode,
                [TileData(a, b) for a, _, b in ops],
                [t.load for t in times],
                [t.start for t in times],
            )
            assert res.hazards == [], (mode, shapes, res.hazards[:3])
            assert res.last_cycle == [t.end for t in times], (mode, shapes)
            for (a, _a_dense, b), out in zip(ops, res.outputs):
                # One fold per tile: the reference array's sums equal numerics' WS order, bit for bit.
                want = numerics.gemm(a, b, dataflow="ws", multipliers=p.multipliers, rows=p.rows)
                np.testing.assert_array_equal(numerics.fp32_bits(out), numerics.fp32_bits(want))


@pytest.mark.parametrize("p", PARAMS[:3], ids=lambda p: f"{p.rows}x{p.cols}P{p.multipliers}L{p.add_latency}")
def test_ws_schedule_is_tight(p):
    """Loading or streaming any tile one cycle earlier than the timing model says breaks the array."""
    rng = np.random.default_rng(7)
    mode = Mode("ws", 2, 8) if p.max_m >= 8 else Mode("ws")
    for lengths in ([3, 3, 3, 3], [1, 9, 2, 12, 1], [20, 20, 20]):
        shapes = [TileShape(p.cols, n, timing.capacity(p, mode).k) for n in lengths]
        times = timing.sequence(p, mode, shapes)
        ops = [TileData(*_tile_operands(rng, p, mode, s)[::2]) for s in shapes]
        loads, starts = [t.load for t in times], [t.start for t in times]
        for i in range(len(shapes)):
            for which in ("load", "start"):
                early_l, early_s = list(loads), list(starts)
                if which == "load":
                    early_l[i] -= 1
                else:
                    early_s[i] -= 1
                if early_l[i] < 0 or early_s[i] < 0:
                    continue
                res = run_ws(p, mode, ops, early_l, early_s)
                # Moving a load earlier is harmless only when the stream start (one later) is not bound by it.
                binding = which == "start" or starts[i] == loads[i] + 1
                if binding and which == "start" and i > 0 and starts[i] == starts[i - 1] + lengths[i - 1]:
                    assert res.hazards, f"start of tile {i} moved earlier without a hazard"
                elif (
                    which == "load"
                    and i > 0
                    and (
                        loads[i] == loads[i - 1] + p.rows
                        or (
                            i >= 2
                            and loads[i] == starts[i - 2] + lengths[i - 2] + timing.ws_bank_free_delay(p)
                        )
                    )
                ):
                    assert res.hazards, f"load of tile {i} moved earlier without a hazard"
                elif which == "start" and starts[i] == loads[i] + 1:
                    assert res.hazards, f"start of tile {i} before its row 0 was written, without a hazard"


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"{p.rows}x{p.cols}P{p.multipliers}L{p.add_latency}")
def test_os_sequences_match_reference_array(p):
    rng = np.random.default_rng(p.rows + 31 * p.add_latency)
    for mode in _modes(p, "os"):
        cap = timing.capacity(p, mode)
        for count in (1, 3):
            shapes = []
            for _ in range(count):
                e = timing.elements_per_cycle(p, mode)
                k = mode.m * int(rng.integers(1, 5)) if mode.sparse else int(rng.integers(1, 4 * e + 3))
                shapes.append(TileShape(int(rng.integers(1, cap.m + 1)), int(rng.integers(1, cap.n + 1)), k))
            times = timing.sequence(p, mode, shapes)
            ops = [_tile_operands(rng, p, mode, s) for s in shapes]
            res = run_os(p, mode, [TileData(a, b) for a, _, b in ops], [t.start for t in times])
            assert res.hazards == [], (mode, shapes, res.hazards[:3])
            assert res.last_cycle == [t.end for t in times], (mode, shapes)
            for (a, _, b), out in zip(ops, res.outputs):
                want = numerics.gemm(a, b, dataflow="os", multipliers=p.multipliers, rows=p.rows)
                np.testing.assert_array_equal(numerics.fp32_bits(out), numerics.fp32_bits(want))


def test_os_accumulator_needs_interleave_or_stalls(monkeypatch):
    p = ArrayParams(rows=2, cols=2, multipliers=2, max_m=8, mul_latency=1, add_latency=4)
    rng = np.random.default_rng(3)
    a, _, b = _tile_operands(rng, p, Mode("os"), TileShape(2, 2, 16))
    with monkeypatch.context() as broken:  # one accumulator, a beat every cycle (what interleave avoids)
        broken.setattr(refarray, "os_slots", lambda p, mode: 1)
        broken.setattr(refarray, "os_beat_gap", lambda p, mode: 1)
        assert run_os(p, Mode("os"), [TileData(a, b)], [0]).hazards  # reads sums still in the adder
    assert run_os(p, Mode("os"), [TileData(a, b)], [0]).hazards == []
    assert run_os(p, Mode("os", interleave=False), [TileData(a, b)], [0]).hazards == []
    # Per output, interleave mapping does L_add outputs in the time no-interleave does one.
    k = 64
    on = timing.os_tile_cycles(p, Mode("os"), k) / (p.rows * p.cols * p.add_latency)
    off = timing.os_tile_cycles(p, Mode("os", interleave=False), k) / (p.rows * p.cols)
    assert off / on > 3.0


@pytest.mark.parametrize("p", PARAMS[1:3], ids=["3x2", "4x4"])
def test_run_cycles_closed_form_equals_sequence(p):
    for mode in (Mode("ws"), Mode("ws", 2, 8), Mode("os"), Mode("os", 1, 4, interleave=False)):
        cap = timing.capacity(p, mode)
        for n in (1, 2, 5, 17, 64):
            tile = TileShape(cap.m, min(n, cap.n or n), cap.k or 8)
            for count in range(1, 40):
                seq = timing.sequence(p, mode, [tile] * count)
                assert timing.run_cycles(p, mode, tile, count) == seq[-1].end + 1, (mode, n, count)


def test_numerics_against_torch_fp16_and_int8():
    rng = np.random.default_rng(11)
    for n, m in ((2, 4), (1, 4), (2, 8), (1, 8)):
        sa, a_dense = _nm_operand(rng, 16, 64, n, m)
        b = rng.standard_normal((64, 24)).astype(np.float16)
        for df in ("ws", "os"):
            got = numerics.gemm(sa, b, dataflow=df, multipliers=2, rows=4)
            ref = torch.from_numpy(a_dense.astype(np.float64)) @ torch.from_numpy(b.astype(np.float64))
            bound = numerics.fp_error_bound(a_dense, b, multipliers=2, elements_per_step=m)
            assert np.all(np.abs(got.astype(np.float64) - ref.numpy()) <= bound)
    a8 = rng.integers(-128, 128, (8, 40), dtype=np.int8)
    b8 = rng.integers(-128, 128, (40, 5), dtype=np.int8)
    got = numerics.gemm(a8, b8, dataflow="os", multipliers=4, rows=2, precision="int8")
    ref = torch.from_numpy(a8.astype(np.int32)) @ torch.from_numpy(b8.astype(np.int32))
    np.testing.assert_array_equal(got, ref.numpy())


def test_fp_special_values_follow_the_policy():
    # +0/-0, inf, NaN, subnormal FP16 inputs, through both dataflows.
    sub = np.float16(2.0**-24)
    a = np.array(
        [[0.0, -0.0, 1.0, 2.0], [np.inf, 1.0, 0.0, 0.0], [np.nan, 1.0, 1.0, 1.0], [sub, sub, 1.0, -1.0]],
        dtype=np.float16,
    )
    b = np.array([[1.0], [1.0], [-1.0], [0.5]], dtype=np.float16)
    for df in ("ws", "os"):
        out = numerics.gemm(a, b, dataflow=df, multipliers=2, rows=1)
        bits = numerics.fp32_bits(out)[:, 0]
        assert out[0, 0] == 0.0 and bits[0] == 0  # -1 + 1 = +0, never -0 (accumulation starts at +0)
        assert np.isposinf(out[1, 0])
        assert bits[2] == numerics.CANONICAL_NAN_BITS
        # subnormal FP16 inputs are exact: (s + s) + (-1 + -0.5) = 2^-23 - 1.5, representable in FP32
        assert out[3, 0] == np.float32(-1.5) + np.float32(2.0**-23)
    inf_times_zero = numerics.gemm(
        np.array([[np.inf, 0.0]], np.float16),
        np.array([[0.0], [1.0]], np.float16),
        dataflow="os",
        multipliers=2,
        rows=1,
    )
    assert numerics.fp32_bits(inf_times_zero)[0, 0] == numerics.CANONICAL_NAN_BITS
