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
    accumulator: str = "fp32",
) -> np.ndarray:
    """C = A . B as the array computes it, over the whole k (all k tiles of one output tile).

    OS accumulates every step in order in the PE. WS sums a fold of `rows` steps down a column from +0, then
    adds the folds, in order, into an output buffer that starts at +0. `accumulator` "exact" (FP16 only):
    the exact-accumulation design, `gemm_exact`.
    """
    if accumulator == "exact" and precision == "fp16":
        return gemm_exact(a, b, dataflow=dataflow, multipliers=multipliers, rows=rows)
    if accumulator not in ("fp32", "exact", "int32"):
        raise ValueError(f"accumulator must be 'fp32', 'exact' or 'int32', got {accumulator!r}")
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


# ----------------------------------------------------------------- exact (Kulisch-style) accumulation format
# The alternative PE design of docs/fpga.md ("PE designs compared", design b): every FP16 x FP16 product is
# turned into a two's-complement fixed-point integer S with value S * 2^EXACT_LSB_EXP, summed exactly (tree
# and accumulation are integer adds), and the sum is rounded to FP32 once. The window follows from FP16's
# range (IEEE 754-2008 binary16): |product| >= 2^-24 * 2^-24 = 2^-48 (both operands the smallest
# subnormal) and < 2^16 * 2^16 = 2^32, so a product is an integer multiple of 2^-48 below 2^80 of them.
EXACT_LSB_EXP = -48
EXACT_PRODUCT_BITS = 80  # |S| of one product < 2^80


def exact_sum_bits(k_bits: int) -> int:
    """Width W of the exact sum: a tile's k < 2^k_bits products each below 2^80, plus the sign."""
    return EXACT_PRODUCT_BITS + k_bits + 1


def exact_word_bits(k_bits: int) -> int:
    """An exact word: S (W bits, two's complement), then +inf and -inf flags (both set: NaN). The flags of
    a sum are the OR of its terms' flags, which is IEEE's rule: inf + -inf and NaN + anything are NaN."""
    return exact_sum_bits(k_bits) + 2


def exact_product(a_bits, b_bits, *, k_bits: int = 16) -> list[int]:
    """FP16 x FP16 bits -> exact words (Python ints): S = +-(ma * mb) << (ea' + eb' - 2), where ma, mb are
    the significands with their hidden bit and e' = max(e, 1) the effective exponents; NaN operand or
    inf x 0 -> both flags; inf x finite -> the flag of the product's sign; special products have S = 0."""
    w = exact_sum_bits(k_bits)
    out = []
    for a, b in zip(np.asarray(a_bits, dtype=np.int64).ravel(), np.asarray(b_bits, dtype=np.int64).ravel()):
        a, b = int(a), int(b)
        ea, fa, sa = (a >> 10) & 31, a & 0x3FF, a >> 15 & 1
        eb, fb, sb = (b >> 10) & 31, b & 0x3FF, b >> 15 & 1
        a_nan, b_nan = ea == 31 and fa, eb == 31 and fb
        a_inf, b_inf = ea == 31 and not fa, eb == 31 and not fb
        a_zero, b_zero = ea == 0 and not fa, eb == 0 and not fb
        neg = sa ^ sb
        if a_nan or b_nan or (a_inf and b_zero) or (b_inf and a_zero):
            out.append(3 << w)
            continue
        if a_inf or b_inf:
            out.append((2 if neg else 1) << w)
            continue
        ma = fa | (1 << 10 if ea else 0)
        mb = fb | (1 << 10 if eb else 0)
        s = (ma * mb) << (max(ea, 1) + max(eb, 1) - 2)
        out.append((-s if neg else s) & ((1 << w) - 1))
    return out


def exact_add(a_words, b_words, *, k_bits: int = 16) -> list[int]:
    """Exact words a + b: S wraps modulo 2^W (never reached within a tile), flags OR."""
    w = exact_sum_bits(k_bits)
    mask = (1 << w) - 1
    return [((int(a) + int(b)) & mask) | ((int(a) | int(b)) & (3 << w)) for a, b in zip(a_words, b_words)]


def exact_to_fp32(words, *, k_bits: int = 16) -> np.ndarray:
    """Exact words -> FP32 bits: S * 2^-48 rounded to nearest even (always a normal FP32 or zero: 2^-48 <=
    |S * 2^-48| < 2^48); S = 0 -> +0; +inf, -inf flag -> +-inf; both -> canonical qNaN."""
    w = exact_sum_bits(k_bits)
    out = np.empty(len(words), dtype=np.uint32)
    for i, word in enumerate(words):
        word = int(word)
        flags = word >> w
        if flags == 3:
            out[i] = CANONICAL_NAN_BITS
            continue
        if flags:
            out[i] = 0x7F800000 | (0x80000000 if flags == 2 else 0)
            continue
        s = word & ((1 << w) - 1)
        s = s - (1 << w) if s >> (w - 1) else s
        out[i] = _round_scaled_int(s)
    return out


def _round_scaled_int(s: int) -> int:
    """FP32 bits of s * 2^-48 rounded to nearest even (s an exact integer; 0 -> +0)."""
    if s == 0:
        return 0
    sign = 0x80000000 if s < 0 else 0
    mag = abs(s)
    msb = mag.bit_length() - 1
    if msb > 23:
        drop = msb - 23
        sig, rem = mag >> drop, mag & ((1 << drop) - 1)
        half = 1 << (drop - 1)
        if rem > half or (rem == half and sig & 1):
            sig += 1
        if sig >> 24:  # the rounding carried into a new leading bit
            sig >>= 1
            msb += 1
    else:
        sig = mag << (23 - msb)
    exp_field = msb + EXACT_LSB_EXP + 127
    return sign | (exp_field << 23) | (sig & 0x7FFFFF)


def _exact_terms(a_vals: np.ndarray, b_vals: np.ndarray) -> tuple[np.ndarray, ...]:
    """Products of FP16 operand arrays (broadcast) as (signed significand product, shift, +inf, -inf):
    the product is significand << shift in units of 2^-48."""
    a = np.asarray(a_vals, dtype=np.float16).view(np.uint16).astype(np.int64)
    b = np.asarray(b_vals, dtype=np.float16).view(np.uint16).astype(np.int64)
    ea, fa, sa = (a >> 10) & 31, a & 0x3FF, a >> 15
    eb, fb, sb = (b >> 10) & 31, b & 0x3FF, b >> 15
    a_nan, b_nan = (ea == 31) & (fa != 0), (eb == 31) & (fb != 0)
    a_inf, b_inf = (ea == 31) & (fa == 0), (eb == 31) & (fb == 0)
    a_zero, b_zero = (ea == 0) & (fa == 0), (eb == 0) & (fb == 0)
    neg = (sa ^ sb).astype(bool)
    nan = a_nan | b_nan | (a_inf & b_zero) | (b_inf & a_zero)
    inf = ~nan & (a_inf | b_inf)
    special = nan | inf
    sig = (fa | np.where(ea != 0, 1 << 10, 0)) * (fb | np.where(eb != 0, 1 << 10, 0))
    sig = np.where(special, 0, np.where(neg, -sig, sig))
    shift = np.maximum(ea, 1) + np.maximum(eb, 1) - 2
    return sig, shift, nan | (inf & ~neg), nan | (inf & neg)


_LIMB_BITS = 24  # limb sums of up to 2^39 terms stay within int64


def _exact_sums(sig: np.ndarray, shift: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Exact sums over `axes` of sig << shift, as an object array of Python ints."""
    total = None
    mask = (1 << _LIMB_BITS) - 1
    mag = np.abs(sig).astype(np.uint64)
    neg = sig < 0
    for j in range(-(-(EXACT_PRODUCT_BITS) // _LIMB_BITS)):
        t = shift - _LIMB_BITS * j
        up = (mag << np.clip(t, 0, 63).astype(np.uint64)) & np.uint64(mask)
        down = (mag >> np.clip(-t, 0, 63).astype(np.uint64)) & np.uint64(mask)
        limb = np.where(t >= 0, up, np.where(-t >= 40, np.uint64(0), down)).astype(np.int64)
        part = np.sum(np.where(neg, -limb, limb), axis=axes).astype(object) * (1 << (_LIMB_BITS * j))
        total = part if total is None else total + part
    return total


def gemm_exact(
    a: np.ndarray | SparseA, b: np.ndarray, *, dataflow: Literal["ws", "os"], multipliers: int, rows: int
) -> np.ndarray:
    """C = A . B (FP16 operands) as the exact-accumulation PE design computes it: OS rounds each output's
    exact sum once; WS rounds each fold's exact column sum once (at the array's edge) and adds the folds in
    FP32, in order, from +0 (the output buffer, as in `gemm`). Same operand forms and lane gating as `gemm`;
    the grouping of products into steps does not matter to an exact sum, only the fold boundaries do."""
    if isinstance(a, SparseA):
        steps = a.values.shape[1]
        per = a.m_group
        k_index = np.arange(steps)[None, :, None] * per + a.indices.astype(np.int64)  # [m, G, N]
        b16 = np.asarray(b, dtype=np.float16)
        acts = b16[k_index]  # [m, G, N, n]
        sig, shift, pinf, ninf = _exact_terms(np.asarray(a.values, dtype=np.float16)[..., None], acts)
        step_axis, lane_axes = 1, (2,)
    else:
        a16, b16 = np.asarray(a, dtype=np.float16), np.asarray(b, dtype=np.float16)
        k = a16.shape[1]
        sig, shift, pinf, ninf = _exact_terms(a16[:, :, None], b16[None, :, :])  # [m, k, n]
        steps, per = -(-k // multipliers), multipliers
        pad = steps * per - k
        if pad:  # gated tail lanes are exact zeros
            z = np.zeros((sig.shape[0], pad, sig.shape[2]), dtype=np.int64)
            sig, shift = np.concatenate([sig, z], 1), np.concatenate([shift, z], 1)
            pinf = np.concatenate([pinf, z.astype(bool)], 1)
            ninf = np.concatenate([ninf, z.astype(bool)], 1)
        shape = (sig.shape[0], steps, per, sig.shape[2])
        sig, shift, pinf, ninf = (x.reshape(shape) for x in (sig, shift, pinf, ninf))
        step_axis, lane_axes = 1, (2,)
    if dataflow == "os":
        folds = [(0, steps)]
    elif dataflow == "ws":
        folds = [(i, min(steps, i + rows)) for i in range(0, steps, rows)]
    else:
        raise ValueError(f"dataflow must be 'ws' or 'os', got {dataflow!r}")
    acc = None
    for lo, hi in folds:
        sl = (slice(None),) * step_axis + (slice(lo, hi),)
        axes = (step_axis,) + lane_axes
        sums = _exact_sums(sig[sl], shift[sl], axes)
        p_any, n_any = pinf[sl].any(axis=axes), ninf[sl].any(axis=axes)
        rounded = [_round_scaled_int(int(s)) for s in sums.ravel()]
        bits = np.array(rounded, dtype=np.uint32).reshape(sums.shape)
        bits = np.where(p_any & n_any, CANONICAL_NAN_BITS,
                        np.where(p_any, np.uint32(0x7F800000), np.where(n_any, np.uint32(0xFF800000), bits)))
        fold = bits.astype(np.uint32).view(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            acc = np.zeros_like(fold) + fold if acc is None else acc + fold
    return canonicalize_nan(acc)


def exact_error_bound(a_dense: np.ndarray, b: np.ndarray, *, folds: int) -> np.ndarray:
    """Tolerance of `gemm_exact` against an exact reference (torch.matmul in float64 of the same operands):
    each fold's sum is rounded once (at most 2^-24 of its magnitude) and the `folds` FP32 additions of
    the folds each add at most 2^-24 of the running sum, so |err| <= (2 folds - 1) * 2^-24 * sum |a*b|
    (OS: one fold, one rounding)."""
    absprod = np.abs(a_dense.astype(np.float64)) @ np.abs(b.astype(np.float64))
    return absprod * (2 * folds - 1) * 2.0**-24
