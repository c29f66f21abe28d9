"""Compressed weight formats: one dataclass per format, with `from_dense`, `to_dense` and exact metadata size.

- `NMTensor`  — N:M values + indices along one axis (SAT/BDWP, NVIDIA 2:4).
- `CSRDelta`  — XNNPACK's sparse packing for SpMM (Elsen et al., "Fast Sparse ConvNets", CVPR 2020).
- `BlockCSR`  — block-CSR of G output channels × 1 reduction element (group pattern; MNN-style).

All sizes are exact. `metadata_bits` counts stored index/offset data only; `value_count` counts stored weight
values (zeros stored inside a kept block or as N:M padding included); `nbytes(value_bytes)` is the footprint
with each array rounded up to whole bytes as noted per format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparsesim.errors import SparsityError
from sparsesim.sparsity.block import as_rows
from sparsesim.sparsity.nm import (
    check_nm,
    from_group_major,
    group_major,
    nm_axis_problem,
    nm_mask,
)

FLOAT_BYTES = 4  # sizeof(float) in XNNPACK's byte-scaled channel deltas


def index_bits(m: int) -> int:
    """Bits of one N:M index: ceil(log2 M) (0 for M = 1)."""
    return (int(m) - 1).bit_length()


def _cumsum_rows(x: np.ndarray) -> np.ndarray:
    """Cumulative sum down the rows of a short, wide `(m, G)` array (np.cumsum along axis 0 is slow here)."""
    out = np.empty(x.shape, dtype=np.int16)
    out[0] = x[0]
    for i in range(1, x.shape[0]):  # loop over the m positions of a group, vectorised over groups
        np.add(out[i - 1], x[i], out=out[i])
    return out


def _bytes(bits: int) -> int:
    return (bits + 7) // 8


# ------------------------------------------------------------------------------------------------ N:M


@dataclass(frozen=True, eq=False)
class NMTensor:
    """N:M compressed tensor along `axis` of a dense tensor of `shape`.

    `values[..., G, N]` and `indices[..., G, N]` have the dense shape with `axis` removed (other axes in
    order) followed by G = shape[axis] / M groups and N slots. `indices` (uint8) is the position within the
    group, each stored in ceil(log2 M) bits; within a group the slots are in ascending index order.
    Padding: a group with fewer than N kept weights (BDWP nested BP mask) is filled with the lowest unused
    positions of the group, stored with value 0, so every group still has N distinct slots and the hardware
    sees a fixed-size group (padded slots cost a slot and metadata like any other).
    """

    values: np.ndarray
    indices: np.ndarray
    n: int
    m: int
    axis: int
    shape: tuple[int, ...]

    @classmethod
    def from_dense(
        cls,
        w: np.ndarray,
        n: int,
        m: int,
        axis: int = 1,
        *,
        mask: np.ndarray | None = None,
    ) -> NMTensor:
        """Compress `w` keeping `mask` (default: `nm_mask(w, n, m, axis)`); at most N kept per group."""
        w = np.asarray(w)
        axis = axis % w.ndim
        check_nm(n, m)
        if m > 256:
            raise SparsityError(f"m={m} does not fit the uint8 N:M index; use m <= 256")
        problem = nm_axis_problem(w.shape, m, axis)
        if problem:
            raise SparsityError(f"{problem}; pick an M that divides it")
        if mask is None:
            mask = nm_mask(w, n, m, axis)
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != w.shape:
            raise SparsityError(f"mask shape {mask.shape} differs from weight shape {w.shape}")
        kept = group_major(mask, m, axis)  # (m, G): row i = position i of every group
        counts = kept.sum(axis=0, dtype=np.int64)
        if counts.size and counts.max() > n:
            raise SparsityError(
                f"mask keeps {int(counts.max())} weights in a group of m={m}, more than n={n}"
            )
        num_groups = kept.shape[1]
        if n == m:
            idx = np.broadcast_to(np.arange(m, dtype=np.int64)[:, None], (m, num_groups))
        else:
            pruned = ~kept
            slots = kept | (pruned & (_cumsum_rows(pruned) <= n - counts))  # exactly n per group
            filled = _cumsum_rows(slots)
            # slot s holds the position of the (s+1)-th slot of the group = #positions with filled <= s
            idx = np.stack([(filled <= s).sum(axis=0, dtype=np.int64) for s in range(n)])
        flat = (idx * num_groups + np.arange(num_groups)).ravel()
        values = group_major(w, m, axis).ravel()[flat].reshape(n, num_groups)
        values[~kept.ravel()[flat].reshape(n, num_groups)] = 0
        return cls(
            values=cls._to_layout(values, w.shape, axis, n),
            indices=cls._to_layout(idx.astype(np.uint8), w.shape, axis, n),
            n=int(n),
            m=int(m),
            axis=axis,
            shape=tuple(w.shape),
        )

    @staticmethod
    def _to_layout(slots_gm: np.ndarray, shape: tuple[int, ...], axis: int, n: int) -> np.ndarray:
        """(n, G) slot-major -> (*shape without axis, L/M, n)."""
        pre, post = shape[:axis], shape[axis + 1 :]
        groups_along = slots_gm.shape[1] // max(1, math.prod(pre) * math.prod(post))
        v = slots_gm.reshape(n, math.prod(pre), groups_along, math.prod(post)).transpose(1, 3, 2, 0)
        return np.ascontiguousarray(v).reshape(*pre, *post, groups_along, n)

    def _slot_major(self, x: np.ndarray) -> np.ndarray:
        """Inverse of `_to_layout`: (..., L/M, n) -> (n, G) in group-major group order."""
        pre, post = self.shape[: self.axis], self.shape[self.axis + 1 :]
        v = x.reshape(math.prod(pre), math.prod(post), x.shape[-2], self.n).transpose(3, 0, 2, 1)
        return np.ascontiguousarray(v).reshape(self.n, -1)

    def to_dense(self) -> np.ndarray:
        values = self._slot_major(self.values)
        idx = self._slot_major(self.indices).astype(np.int64)
        num_groups = values.shape[1]
        dense_gm = np.zeros((self.m, num_groups), dtype=self.values.dtype)
        dense_gm.ravel()[(idx * num_groups + np.arange(num_groups)).ravel()] = values.ravel()
        return from_group_major(dense_gm, self.shape, self.m, self.axis)

    @staticmethod
    def slots_for(shape: tuple[int, ...], n: int, m: int) -> int:
        """Slots of any N:M tensor of `shape`: N per group of M along the grouped axis (padding included)."""
        return math.prod(shape) // int(m) * int(n)

    @classmethod
    def sizes_for(cls, shape: tuple[int, ...], n: int, m: int) -> tuple[int, int]:
        """(value_count, metadata_bits) of an N:M tensor of `shape`: they depend on the shape alone, so the
        pruner sizes a layer without building the compressed arrays."""
        slots = cls.slots_for(shape, n, m)
        return slots, slots * index_bits(m)

    @property
    def slot_count(self) -> int:
        return self.slots_for(self.shape, self.n, self.m)

    @property
    def value_count(self) -> int:
        """Stored values = slots (N per group, padding included)."""
        return self.slot_count

    @property
    def bits_per_index(self) -> int:
        return index_bits(self.m)

    @property
    def metadata_bits(self) -> int:
        """slots · ceil(log2 M): indices packed densely, no per-group header."""
        return self.sizes_for(self.shape, self.n, self.m)[1]

    def nbytes(self, value_bytes: int) -> int:
        """value_count · value_bytes + ceil(metadata_bits / 8)."""
        return self.value_count * value_bytes + _bytes(self.metadata_bits)


# ------------------------------------------------------------------------------------------------ XNNPACK


def _nonzero_map(w2d: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        return w2d != 0
    mask = as_rows(np.asarray(mask, dtype=bool))
    if mask.shape != w2d.shape:
        raise SparsityError(f"mask shape {mask.shape} differs from the weight's [Cout, K] view {w2d.shape}")
    return mask


def xnnpack_block_size(w2d: np.ndarray, *, mask: np.ndarray | None = None) -> int:
    """XNNPACK's choice of output-channel block `nr` for SpMM (convolution-nchw.c, f32 path).

    Counts (over the `[Cout, K]` view; "nonzero" = `w != 0`, or `mask` if given):
    - 4-blocks: aligned channels [4b, 4b+4) for b < Cout // 4, per input channel k: `num_block4_nonzeroes`
      (nonzeros in those rows) and `num_nonzero_blocks4` (blocks with any nonzero);
    - 2-blocks: the same over rows below round_down(Cout, 2) (this includes the 4-block rows).
    nr = 4 if `num_block4_nonzeroes·5 >= num_nonzero_blocks4·18` (≥ 3.6 of 4 nonzero, "90%+"),
    else 2 if `num_block2_nonzeroes·5 >= num_nonzero_blocks2·9`, else 1.
    Assumptions: the ARM64 configuration, where the 2- and 4-block micro-kernels exist. As in XNNPACK, a
    tensor with no full 4-block nonzeros (all zero, or Cout < 4) passes the 4-block test (0 >= 0) and gets
    nr = 4; its channels are then all "remainder" channels encoded one by one, i.e. the nr = 1 layout.
    """
    w2d = as_rows(np.asarray(w2d))
    nz = _nonzero_map(w2d, mask)
    cout, k = nz.shape
    rows4, rows2 = cout // 4 * 4, cout // 2 * 2
    b4 = nz[:rows4].reshape(-1, 4, k)
    b2 = nz[:rows2].reshape(-1, 2, k)
    block4_nonzeroes = int(np.count_nonzero(b4))
    nonzero_blocks4 = int(np.count_nonzero(b4.any(axis=1)))
    block2_nonzeroes = int(np.count_nonzero(b2))
    nonzero_blocks2 = int(np.count_nonzero(b2.any(axis=1)))
    if block4_nonzeroes * 5 >= nonzero_blocks4 * 18:
        return 4
    if block2_nonzeroes * 5 >= nonzero_blocks2 * 9:
        return 2
    return 1


def _ranks_within(owner: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Position of each item within its owner, items sorted by owner (`counts` items per owner)."""
    starts = np.cumsum(counts) - counts
    return np.arange(owner.size) - np.repeat(starts, counts)


@dataclass(frozen=True, eq=False)
class CSRDelta:
    """XNNPACK SpMM packing of a `[Cout, K]` weight (Elsen et al., "Fast Sparse ConvNets", CVPR 2020).

    - Output channels are packed in blocks of `nr` ∈ {1, 2, 4}; channels after the last full block
      (Cout % nr of them) are encoded one by one, so there are `Cout // nr + Cout % nr` output-channel blocks.
    - `output_channel_nonzeros` (uint32, one per output-channel block): nonzero blocks in it. A nonzero
      block is `nr` channels × one input channel k with any nonzero; for a remainder channel, a nonzero
      weight.
    - `input_channel_diffs` (int32, one per nonzero block): (k_next - k) · sizeof(float) between successive
      nonzero blocks, running across output-channel blocks; the last entry wraps back to the first nonzero's
      k, so the input pointer ends where it started. Empty when there is no nonzero.
    - `values` (float): per output-channel block, `nr` bias values (1 for a remainder channel), then the `nr`
      weights of each nonzero block (zeros inside a nonzero block are stored).
    - `first_input_channel`: the k of the first nonzero block; XNNPACK keeps it in the operator (it offsets
      the input pointer), not in the packed buffer, so it is not counted as metadata.
    `shape` is the original weight shape (N-D weights are packed as their `[Cout, R]` view); `to_dense`
    returns that shape. XNNPACK uses this path only for 1×1 convs; for other convs the view is the im2col
    GEMM.
    """

    shape: tuple[int, ...]
    nr: int
    output_channel_nonzeros: np.ndarray
    input_channel_diffs: np.ndarray
    values: np.ndarray
    first_input_channel: int

    @classmethod
    def from_dense(
        cls,
        w: np.ndarray,
        nr: int | None = None,
        *,
        bias: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> CSRDelta:
        """Pack `w` (nonzero = `w != 0`, or `mask`). `nr=None` picks it with `xnnpack_block_size`."""
        w = np.asarray(w)
        w2d = as_rows(w)
        nz = _nonzero_map(w2d, mask)
        cout, k = w2d.shape
        if nr is None:
            nr = xnnpack_block_size(w2d, mask=nz)
        if nr not in (1, 2, 4):
            raise SparsityError(f"XNNPACK output-channel block nr={nr} is not supported; use 1, 2 or 4")
        bias = np.zeros(cout, dtype=w2d.dtype) if bias is None else np.asarray(bias, dtype=w2d.dtype)
        if bias.shape != (cout,):
            raise SparsityError(f"bias shape {bias.shape} does not match Cout={cout}")
        full = cout // nr
        rows_full = full * nr
        blocks = nz[:rows_full].reshape(full, nr, k).any(axis=1)
        rem = nz[rows_full:]
        blk_b, blk_k = np.nonzero(blocks)
        rem_r, rem_k = np.nonzero(rem)
        counts = np.concatenate([blocks.sum(axis=1), rem.sum(axis=1)]).astype(np.int64)
        ks = np.concatenate([blk_k, rem_k]).astype(np.int64)
        if ks.size:
            diffs = np.diff(ks, append=ks[:1]) * FLOAT_BYTES
            if diffs.min() < np.iinfo(np.int32).min or diffs.max() > np.iinfo(np.int32).max:
                raise SparsityError(
                    "input-channel delta exceeds int32 range; the weight is too wide for XNNPACK"
                )
            first = int(ks[0])
        else:
            diffs = np.zeros(0, dtype=np.int64)
            first = 0

        lengths = np.concatenate([nr + nr * counts[:full], 1 + counts[full:]])
        offsets = np.cumsum(lengths) - lengths
        values = np.empty(int(lengths.sum()), dtype=w2d.dtype)
        lanes = np.arange(nr)
        values[(offsets[:full, None] + lanes).ravel()] = bias[:rows_full]
        values[offsets[full:]] = bias[rows_full:]
        t = _ranks_within(blk_b, counts[:full])
        pos = offsets[blk_b, None] + nr + t[:, None] * nr + lanes
        values[pos.ravel()] = w2d[blk_b[:, None] * nr + lanes, blk_k[:, None]].ravel()
        t_rem = _ranks_within(rem_r, counts[full:])
        values[offsets[full + rem_r] + 1 + t_rem] = w2d[rows_full + rem_r, rem_k]
        return cls(
            shape=tuple(w.shape),
            nr=int(nr),
            output_channel_nonzeros=counts.astype(np.uint32),
            input_channel_diffs=diffs.astype(np.int32),
            values=values,
            first_input_channel=first,
        )

    @property
    def cout(self) -> int:
        return int(self.shape[0])

    @property
    def num_full_blocks(self) -> int:
        return self.cout // self.nr

    @property
    def num_output_channel_blocks(self) -> int:
        return int(self.output_channel_nonzeros.size)

    @property
    def num_nonzero_blocks(self) -> int:
        return int(self.input_channel_diffs.size)

    def _layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(owner oc-block of each nonzero block, its rank there, oc-block offsets in values, channels)."""
        counts = self.output_channel_nonzeros.astype(np.int64)
        full = self.num_full_blocks
        lengths = np.concatenate([self.nr + self.nr * counts[:full], 1 + counts[full:]])
        offsets = np.cumsum(lengths) - lengths
        owner = np.repeat(np.arange(counts.size), counts)
        rank = _ranks_within(owner, counts)
        diffs = self.input_channel_diffs.astype(np.int64) // FLOAT_BYTES
        ks = self.first_input_channel + np.concatenate([[0], np.cumsum(diffs[:-1])]) if diffs.size else diffs
        return owner, rank, offsets, ks.astype(np.int64)

    def to_dense(self) -> np.ndarray:
        rows = self.cout
        k = math.prod(self.shape[1:]) if len(self.shape) > 1 else 1
        dense = np.zeros((rows, k), dtype=self.values.dtype)
        owner, rank, offsets, ks = self._layout()
        nr, full = self.nr, self.num_full_blocks
        in_full = owner < full
        lanes = np.arange(nr)
        ob, rb, kb = owner[in_full], rank[in_full], ks[in_full]
        pos = offsets[ob, None] + nr + rb[:, None] * nr + lanes
        dense[ob[:, None] * nr + lanes, kb[:, None]] = self.values[pos]
        orr, rr, kr = owner[~in_full], rank[~in_full], ks[~in_full]
        dense[full * nr + (orr - full), kr] = self.values[offsets[orr] + 1 + rr]
        return dense.reshape(self.shape)

    def bias(self) -> np.ndarray:
        _, _, offsets, _ = self._layout()
        full = self.num_full_blocks
        lanes = np.arange(self.nr)
        return np.concatenate(
            [self.values[(offsets[:full, None] + lanes).ravel()], self.values[offsets[full:]]]
        )

    @property
    def value_count(self) -> int:
        """Stored weight values (zeros inside nonzero blocks included), biases excluded."""
        return int(self.values.size) - self.cout

    @property
    def bias_count(self) -> int:
        return self.cout

    @property
    def metadata_bits(self) -> int:
        """int32 input_channel_diffs + uint32 output_channel_nonzeros (stored at operator creation)."""
        return 32 * (self.num_nonzero_blocks + self.num_output_channel_blocks)

    @property
    def runtime_metadata_bits(self) -> int:
        """int32 input_increments (diff × H·W), derived from the diffs at setup: one per nonzero block."""
        return 32 * self.num_nonzero_blocks

    def nbytes(self, value_bytes: int) -> int:
        """(weights + biases) · value_bytes + stored metadata bytes (runtime increments excluded)."""
        return (self.value_count + self.bias_count) * value_bytes + _bytes(self.metadata_bits)

    def packed_nbytes(self) -> int:
        """XNNPACK's f32 packed-buffer size: 4·(nnz_values + Cout) + 8·nnz_blocks + 4·oc_blocks."""
        return self.nbytes(4) + _bytes(self.runtime_metadata_bits)


# ------------------------------------------------------------------------------------------------ block CSR


@dataclass(frozen=True, eq=False)
class BlockCSR:
    """Block-CSR of blocks of G consecutive output channels × 1 reduction element over the `[Cout, R]` view.

    - `row_ptr` (uint32, Cout/G + 1 entries, standard CSR): kept blocks of block-row b are
      `row_ptr[b]:row_ptr[b+1]`.
    - `col_idx` (one per kept block, ascending within a block-row): reduction index r; stored as uint16 when
      R < 65536, else uint32 (`col_bits`).
    - `values[nblocks, G]`: the G weights of each kept block, zeros inside a kept block stored.
    A block is kept if any of its G weights is kept (`mask`, default `w != 0`).
    """

    shape: tuple[int, ...]
    group_size: int
    row_ptr: np.ndarray
    col_idx: np.ndarray
    values: np.ndarray

    @classmethod
    def from_dense(cls, w: np.ndarray, group_size: int, *, mask: np.ndarray | None = None) -> BlockCSR:
        w = np.asarray(w)
        w2d = as_rows(w)
        cout, r = w2d.shape
        if group_size < 1 or cout % group_size:
            raise SparsityError(f"Cout={cout} is not a multiple of group_size={group_size}")
        nz = _nonzero_map(w2d, mask)
        kept = nz.reshape(cout // group_size, group_size, r).any(axis=1)
        brow, col = np.nonzero(kept)
        row_ptr = np.concatenate([[0], np.cumsum(kept.sum(axis=1))]).astype(np.uint32)
        values = w2d.reshape(cout // group_size, group_size, r)[brow, :, col]
        return cls(
            shape=tuple(w.shape),
            group_size=int(group_size),
            row_ptr=row_ptr,
            col_idx=col.astype(cls.col_dtype_for(r)),
            values=np.ascontiguousarray(values),
        )

    @staticmethod
    def col_dtype_for(r: int) -> type[np.unsignedinteger]:
        return np.uint16 if r < 65536 else np.uint32

    @property
    def reduction(self) -> int:
        return math.prod(self.shape[1:]) if len(self.shape) > 1 else 1

    @property
    def num_blocks(self) -> int:
        return int(self.col_idx.size)

    @property
    def col_bits(self) -> int:
        return 8 * np.dtype(self.col_dtype_for(self.reduction)).itemsize

    def to_dense(self) -> np.ndarray:
        cout, g = self.shape[0], self.group_size
        dense = np.zeros((cout // g, g, self.reduction), dtype=self.values.dtype)
        brow = np.repeat(np.arange(cout // g), np.diff(self.row_ptr.astype(np.int64)))
        dense[brow, :, self.col_idx.astype(np.intp)] = self.values
        return dense.reshape(self.shape)

    @property
    def value_count(self) -> int:
        return int(self.values.size)

    @property
    def metadata_bits(self) -> int:
        """32 · (Cout/G + 1) row pointers + col_bits · kept blocks."""
        return 32 * int(self.row_ptr.size) + self.col_bits * self.num_blocks

    def nbytes(self, value_bytes: int) -> int:
        return self.value_count * value_bytes + _bytes(self.metadata_bits)
