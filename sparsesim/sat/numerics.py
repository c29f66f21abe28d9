"""The numeric contract of the PE datapath (docs/architecture.md contract 4; docs/pe_array.md, Numerics).

A bit-exact model of what the array computes for a GEMM tile sequence: FP16 x FP16 products (exact in FP32),
a pairwise FP32 adder tree over the P multiplier lanes, FP32 accumulation in the hardware's order with
round-to-nearest-even (numpy's float32 arithmetic is IEEE RNE), and INT8 x INT8 -> INT32 with wrap-around.
The RTL must equal it bit for bit; against torch it agrees to a stated tolerance (FP) or exactly (INT8).

Operands:
- dense A: `a[m, k]`; N:M-sparse A: `values[m, G, N]` and `indices[m, G, N]` (position within the group of M
  along k; G = k / M groups), as sparsesim.sparsity's NMTensor stores it. Padded slots carry value 0 and
  whatever index the format chose: they are real lanes, as in the hardware.
- B: `b[k, n]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

CANONICAL_NAN_BITS = np.uint32(0x7FC00000)
Precision = Literal["fp16", "int8"]


@dataclass(frozen=True)
class SparseA:
    """An N:M-sparse A operand along k, in the array's compressed form."""

    values: np.ndarray  # [m, G, N]
    indices: np.ndarray  # [m, G, N], ints in [0, M)
    m_group: int  # M

    @property
    def n_keep(self) -> int:
        return int(self.values.shape[-1])

    @property
    def k(self) -> int:
        return int(self.values.shape[1]) * self.m_group

    def to_dense(self) -> np.ndarray:
        rows, groups, n = self.values.shape
        dense = np.zeros((rows, groups, self.m_group), dtype=self.values.dtype)
        r = np.arange(rows)[:, None, None]
        g = np.arange(groups)[None, :, None]
        # Accumulate so that two slots on one index (possible only in padding) behave like the sum of lanes.
        np.add.at(dense, (r, g, self.indices.astype(np.int64)), self.values)
        return dense.reshape(rows, groups * self.m_group)


def canonicalize_nan(x: np.ndarray) -> np.ndarray:
    """Replace every NaN by the canonical quiet NaN 0x7FC00000 (the RTL's only NaN)."""
    x = np.asarray(x, dtype=np.float32).copy()
    nan = np.isnan(x)
    if nan.any():
        x.view(np.uint32)[nan] = CANONICAL_NAN_BITS
    return x


def _tree_sum(lanes: np.ndarray) -> np.ndarray:
    """Pairwise sum over the last axis (length P, a power of two): ((l0+l1)+(l2+l3))+..., FP32 or int."""
    while lanes.shape[-1] > 1:
        lanes = lanes[..., 0::2] + lanes[..., 1::2]
    return lanes[..., 0]


def _wrap32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64).astype(np.uint32).view(np.int32)  # two's-complement wrap to 32 bits


def step_sums(
    a: np.ndarray | SparseA, b: np.ndarray, *, multipliers: int, precision: Precision = "fp16"
) -> np.ndarray:
    """Tree sums of every beat: result[s, m, n] for reduction step s (E elements of k each).

    Dense: step s covers k in [s*P, (s+1)*P), lanes past k are gated to zero. Sparse: step s is group s.
    """
    p = multipliers
    if precision == "fp16":
        b32 = np.asarray(b, dtype=np.float16).astype(np.float32)
    else:
        b32 = np.asarray(b, dtype=np.int8).astype(np.int64)
    if isinstance(a, SparseA):
        rows, groups, n_keep = a.values.shape
        if n_keep > p:
            raise ValueError(f"N={n_keep} exceeds the {p} multipliers per PE")
        if precision == "fp16":
            vals = np.asarray(a.values, dtype=np.float16).astype(np.float32)
        else:
            vals = np.asarray(a.values, dtype=np.int8).astype(np.int64)
        # act[s, m, lane, n] = B[s*M + idx[m, s, lane], n]
        k_index = np.arange(groups)[None, :, None] * a.m_group + a.indices.astype(np.int64)  # [m, G, N]
        acts = b32[k_index]  # [m, G, N, n]
        with np.errstate(invalid="ignore", over="ignore"):
            prods = vals[..., None] * acts  # exact in FP32 for FP16 operands
        prods = np.moveaxis(prods, 1, 0)  # [G, m, N, n]
        pad = p - n_keep
        if pad:
            zeros = np.zeros(prods.shape[:2] + (pad,) + prods.shape[3:], dtype=prods.dtype)
            prods = np.concatenate([prods, zeros], axis=2)  # gated lanes contribute +0
    else:
        a_arr = np.asarray(a)
        rows, k = a_arr.shape
        if precision == "fp16":
            a32 = a_arr.astype(np.float16).astype(np.float32)
        else:
            a32 = a_arr.astype(np.int8).astype(np.int64)
        steps = -(-k // p)
        kp = steps * p
        a_pad = np.zeros((rows, kp), dtype=a32.dtype)
        a_pad[:, :k] = a32
        b_pad = np.zeros((kp, b32.shape[1]), dtype=b32.dtype)
        b_pad[:k] = b32
        with np.errstate(invalid="ignore", over="ignore"):
            prods = (
                a_pad.reshape(rows, steps, p)[..., None] * b_pad.reshape(steps, p, -1)[None]
            )  # [m, S, P, n]
        if kp > k:  # gated tail lanes are +0 whatever the (zero-padded) operands were
            lane_k = (np.arange(steps)[:, None] * p + np.arange(p)[None, :]) >= k
            prods[:, lane_k, :] = 0
        prods = np.moveaxis(prods, 1, 0)  # [S, m, P, n]
    prods = np.moveaxis(prods, 2, -1)  # [S, m, n, P]
    with np.errstate(invalid="ignore", over="ignore"):
        sums = _tree_sum(prods.astype(np.float32) if precision == "fp16" else prods)
    return sums if precision == "fp16" else _wrap32(sums).astype(np.int64)


def accumulate(steps: np.ndarray, *, precision: Precision = "fp16") -> np.ndarray:
    """Sequential accumulation from +0 over axis 0: ((+0 + s0) + s1) + ..."""
    if precision == "int8":
        return _wrap32(np.sum(steps, axis=0, dtype=np.int64))
    acc = np.zeros(steps.shape[1:], dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        for s in steps:
            acc = acc + s
    return acc


def gemm(
    a: np.ndarray | SparseA,
    b: np.ndarray,
    *,
    dataflow: Literal["ws", "os"],
    multipliers: int,
    rows: int,
    precision: Precision = "fp16",
) -> np.ndarray:
    """C = A . B as the array computes it, over the whole k (all k tiles of one output tile).

    OS accumulates every step in order in the PE. WS sums a fold of `rows` steps down a column from +0, then
    adds the folds, in order, into an output buffer that starts at +0.
    """
    sums = step_sums(a, b, multipliers=multipliers, precision=precision)
    if dataflow == "os":
        out = accumulate(sums, precision=precision)
    elif dataflow == "ws":
        folds = [accumulate(sums[i : i + rows], precision=precision) for i in range(0, sums.shape[0], rows)]
        out = accumulate(np.stack(folds), precision=precision)
    else:
        raise ValueError(f"dataflow must be 'ws' or 'os', got {dataflow!r}")
    return canonicalize_nan(out) if precision == "fp16" else out


# ------------------------------------------------------------------------------ the arithmetic units alone
# Bit-level references of the RTL's FP16 multiplier and FP32 adder (rtl/arith.py), on bit patterns. Inside the
# array they equal numpy's float32 arithmetic (see docs/pe_array.md, Numerics: no FP32 subnormal can arise);
# these also pin down the policy for operands the array never produces (FP32 subnormals, overflow).
_FP32_MIN_NORMAL = 2.0**-126


def fp16_mul(a_bits: np.ndarray, b_bits: np.ndarray) -> np.ndarray:
    """FP16 x FP16 -> exact FP32 product bits; any NaN, inf x 0 -> canonical qNaN."""
    a = np.asarray(a_bits, dtype=np.uint16).view(np.float16).astype(np.float32)
    b = np.asarray(b_bits, dtype=np.uint16).view(np.float16).astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        return fp32_bits(canonicalize_nan(a * b))


def fp32_add(a_bits: np.ndarray, b_bits: np.ndarray) -> np.ndarray:
    """FP32 + FP32 bits as the RTL adder computes them.

    Round to nearest even; subnormal inputs read as zero of their sign; the exact sum is rounded to 24
    significant bits with an unbounded exponent and flushed to zero of its sign if it is then below 2^-126;
    overflow gives +-inf; any NaN or inf - inf gives the canonical qNaN.
    """
    a = np.asarray(a_bits, dtype=np.uint32).view(np.float32)
    b = np.asarray(b_bits, dtype=np.uint32).view(np.float32)
    a = np.where((np.abs(a) < _FP32_MIN_NORMAL) & (a != 0), np.copysign(np.float32(0), a), a)
    b = np.where((np.abs(b) < _FP32_MIN_NORMAL) & (b != 0), np.copysign(np.float32(0), b), b)
    with np.errstate(invalid="ignore", over="ignore"):
        # float64 holds 53 >= 2*24 + 2 bits, so rounding the float64 sum to float32 is correctly rounded.
        exact = a.astype(np.float64) + b.astype(np.float64)
        out = exact.astype(np.float32)
        tiny = (np.abs(exact) < _FP32_MIN_NORMAL) & (exact != 0)
        if tiny.any():
            # Round with an unbounded exponent (scale into the normal range), then flush what stays tiny.
            scaled = (exact[tiny] * 2.0**100).astype(np.float32).astype(np.float64) * 2.0**-100
            kept = np.abs(scaled) >= _FP32_MIN_NORMAL
            out[tiny] = np.where(kept, scaled, np.copysign(0.0, exact[tiny])).astype(np.float32)
    return fp32_bits(canonicalize_nan(out))


def fp16_bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float16).view(np.uint16)


def fp32_bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).view(np.uint32)


# Tolerance against an FP32/FP64 reference of the same masked operands (torch.matmul in float64):
# each of the <= ceil(k/E)+log2(P) FP32 roundings on the way adds at most 2^-24 relative to the running sum's
# magnitude, so |err| <= (steps + log2 P) * 2^-24 * sum|a*b|. Tests use this bound, not a loose constant.
def fp_error_bound(
    a_dense: np.ndarray, b: np.ndarray, *, multipliers: int, elements_per_step: int
) -> np.ndarray:
    absprod = np.abs(a_dense.astype(np.float64)) @ np.abs(b.astype(np.float64))
    k = a_dense.shape[1]
    steps = -(-k // elements_per_step)
    roundings = steps + max(1, multipliers.bit_length() - 1)
    return absprod * roundings * 2.0**-24
