"""The exact-accumulation numeric contract (sparsesim.sat.numerics.gemm_exact, the preset PE's): against
Python's exact rationals (OS: the exact sum rounded once, to nearest even) and against torch (float64 matmul
of the same FP16 operands) within `exact_error_bound`, which is tighter than the FP32-adder design's
`fp_error_bound`; dense and N:M operands, gated tail lanes, special values."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from sparsesim.sat import numerics


def _fp16(rng, shape, spread=10):
    return (rng.standard_normal(shape) * np.exp2(rng.integers(-spread, spread + 1, shape))).astype(np.float16)


def _round_fp32(q: Fraction) -> np.float32:
    """q rounded to the nearest FP32, ties to even, by exact rational arithmetic (q a normal-range value)."""
    if q == 0:
        return np.float32(0.0)
    sign = -1 if q < 0 else 1
    q = abs(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    scaled = q / Fraction(2) ** (e - 23)  # in [2^23, 2^24)
    sig = scaled.numerator // scaled.denominator
    rem = scaled - sig
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and sig % 2):
        sig += 1
    return np.float32(sign * float(Fraction(sig) * Fraction(2) ** (e - 23)))


def test_os_is_the_exact_sum_rounded_once():
    rng = np.random.default_rng(1)
    a, b = _fp16(rng, (6, 45)), _fp16(rng, (45, 5))
    got = numerics.gemm_exact(a, b, dataflow="os", multipliers=2, rows=4)
    for i in range(6):
        for j in range(5):
            exact = sum(Fraction(float(a[i, t])) * Fraction(float(b[t, j])) for t in range(45))
            assert got[i, j] == _round_fp32(exact), (i, j)


def test_cancellation_is_exact():
    """x + y - x = y exactly, however large x: an FP32 accumulator loses y entirely."""
    a = np.array([[60000.0, 0.001, -60000.0]], dtype=np.float16)
    b = np.array([[60000.0], [0.001], [60000.0]], dtype=np.float16)
    want = np.float32(float(Fraction(float(a[0, 1])) * Fraction(float(b[1, 0]))))
    assert numerics.gemm_exact(a, b, dataflow="os", multipliers=1, rows=1)[0, 0] == want
    assert numerics.gemm(a, b, dataflow="os", multipliers=1, rows=1)[0, 0] != want  # FP32 adders


@pytest.mark.parametrize("dataflow", ["os", "ws"])
@pytest.mark.parametrize("nm", [None, (2, 8), (1, 4)])
def test_within_the_stated_bound_of_torch(dataflow, nm):
    rng = np.random.default_rng(7)
    rows, k = 4, 96
    b = _fp16(rng, (k, 9), spread=6)
    if nm:
        n, m = nm
        vals = _fp16(rng, (5, k // m, n), spread=6)
        idx = np.stack([np.sort(rng.choice(m, n, replace=False)) for _ in range(5 * (k // m))])
        a = numerics.SparseA(vals, idx.reshape(5, k // m, n).astype(np.uint8), m)
        dense, per = a.to_dense(), m
    else:
        a = dense = _fp16(rng, (5, k - 3), spread=6)  # a gated tail lane
        b = b[: k - 3]
        per = 2
    got = numerics.gemm(a, b, dataflow=dataflow, multipliers=2, rows=rows, accumulator="exact")
    ref = (torch.from_numpy(dense.astype(np.float64)) @ torch.from_numpy(b.astype(np.float64))).numpy()
    steps = -(-dense.shape[1] // per)
    folds = 1 if dataflow == "os" else -(-steps // rows)
    bound = numerics.exact_error_bound(dense, b, folds=folds)
    assert np.all(np.abs(got.astype(np.float64) - ref) <= bound)
    assert np.all(bound <= numerics.fp_error_bound(dense, b, multipliers=2, elements_per_step=per))


def test_special_values():
    inf, nan = np.float16(np.inf), np.float16(np.nan)
    a = np.array([[inf, 1.0], [inf, 0.0], [1.0, 2.0], [-inf, 1.0]], dtype=np.float16)
    b = np.array([[2.0, -2.0, 0.0], [1.0, 1.0, 1.0]], dtype=np.float16)
    got = numerics.gemm_exact(a, b, dataflow="os", multipliers=2, rows=1)
    assert got[0, 0] == np.inf and got[0, 1] == -np.inf and np.isnan(got[0, 2])  # inf * 0 -> NaN
    assert got[2, 2] == 2.0 and got[3, 0] == -np.inf
    got = numerics.gemm_exact(np.array([[inf, -inf]], np.float16), np.array([[1.0], [1.0]], np.float16),
                              dataflow="os", multipliers=2, rows=1)
    assert got.view(np.uint32)[0, 0] == numerics.CANONICAL_NAN_BITS  # inf - inf
    got = numerics.gemm_exact(np.array([[nan]], np.float16), np.array([[1.0]], np.float16),
                              dataflow="os", multipliers=1, rows=1)
    assert got.view(np.uint32)[0, 0] == numerics.CANONICAL_NAN_BITS
    # an exact zero is +0 (even from negative zeros)
    got = numerics.gemm_exact(np.array([[-0.0]], np.float16), np.array([[1.0]], np.float16),
                              dataflow="os", multipliers=1, rows=1)
    assert got.view(np.uint32)[0, 0] == 0
