"""Compressed formats: hypothesis round trips, hand-checked layouts and metadata sizes, XNNPACK block rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sparsesim.errors import SparsityError
from sparsesim.sparsity import (
    BlockCSR,
    CSRDelta,
    NMTensor,
    bdwp_masks,
    block_mask,
    index_bits,
    nm_group_counts,
    nm_groups_along,
    nm_mask,
    xnnpack_block_size,
)


def sparse_matrix(draw: st.DrawFn, max_rows: int = 13, max_cols: int = 20) -> np.ndarray:
    """Small weights with many exact zeros and the edge cases: zero rows, dense, single column."""
    rows = draw(st.integers(1, max_rows))
    cols = draw(st.integers(1, max_cols))
    kind = draw(st.sampled_from(["random", "dense", "zero", "zero_rows", "blocky"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.integers(1, 9, size=(rows, cols)).astype(np.float32) * rng.choice([-1, 1], size=(rows, cols))
    if kind == "random":
        w[rng.random((rows, cols)) < draw(st.floats(0, 1))] = 0
    elif kind == "zero":
        w[:] = 0
    elif kind == "zero_rows":
        w[rng.random(rows) < 0.5] = 0
    elif kind == "blocky":
        w[:, rng.random(cols) < 0.5] = 0
    return w


# --------------------------------------------------------------------------------------------- NMTensor


def test_nm_hand_example_2_8() -> None:
    w = np.arange(1, 65, dtype=np.float32).reshape(4, 16)
    t = NMTensor.from_dense(w, 2, 8, axis=1)
    assert t.values.shape == (4, 2, 2) and t.indices.shape == (4, 2, 2) and t.indices.dtype == np.uint8
    assert t.metadata_bits == 4 * 2 * 2 * 3 == 48  # 8 groups · 2 slots · log2(8) bits
    assert t.value_count == 16 and t.nbytes(2) == 16 * 2 + 6
    assert t.indices[0, 0].tolist() == [6, 7] and t.values[0, 0].tolist() == [7.0, 8.0]
    np.testing.assert_array_equal(t.to_dense(), w * nm_mask(w, 2, 8, 1))


def test_nm_index_bits() -> None:
    assert [index_bits(m) for m in (1, 2, 4, 8, 16, 5)] == [0, 1, 2, 3, 4, 3]


def test_nm_conv_layout_and_padding() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    ff, bp = bdwp_masks(w, 2, 4, variant="nested")
    t = NMTensor.from_dense(w, 2, 4, axis=0, mask=bp)
    assert t.values.shape == (8, 3, 3, 2, 2)  # (Cin, kh, kw, Cout/M, N)
    np.testing.assert_array_equal(t.to_dense(), w * bp)
    # short groups are padded with value 0 at the lowest unused positions, slots ascending
    counts = nm_group_counts(bp, 4, 0)
    assert (counts < 2).any()
    kept = nm_groups_along(bp, 4, 0)
    for idx in zip(*np.nonzero(counts < 2)):
        slots = t.indices[idx].tolist()
        assert slots == sorted(slots) and len(set(slots)) == 2
        pad = [s for s in slots if not kept[idx][s]]
        unused = [p for p in range(4) if not kept[idx][p]]
        assert pad == unused[: len(pad)]
        assert all(t.values[idx][slots.index(p)] == 0 for p in pad)
    assert t.metadata_bits == t.values.size * 2  # padding slots count


def test_nm_rejects_overfull_mask() -> None:
    w = np.ones((2, 4), dtype=np.float32)
    with pytest.raises(SparsityError, match="more than n=1"):
        NMTensor.from_dense(w, 1, 4, axis=1, mask=np.ones((2, 4), dtype=bool))


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_nm_round_trip(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([1, 2, 4, 8, 16]))
    n = data.draw(st.integers(1, m))
    ndim = data.draw(st.integers(1, 4))
    axis = data.draw(st.integers(0, ndim - 1))
    shape = [data.draw(st.integers(1, 3)) for _ in range(ndim)]
    shape[axis] = m * data.draw(st.integers(1, 3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    w = (rng.integers(-3, 4, size=shape)).astype(np.float32)
    mask = nm_mask(w, n, m, axis)
    if data.draw(st.booleans()):  # drop some kept weights: groups with fewer than N (padding)
        mask &= rng.random(shape) < 0.5
    t = NMTensor.from_dense(w, n, m, axis, mask=mask)
    np.testing.assert_array_equal(t.to_dense(), np.where(mask, w, 0))
    num_groups = w.size // m
    assert t.value_count == num_groups * n
    assert t.metadata_bits == num_groups * n * index_bits(m)
    assert (t.indices < m).all()
    assert (np.diff(t.indices.astype(int), axis=-1) > 0).all()  # distinct, ascending


# --------------------------------------------------------------------------------------------- CSRDelta


def test_csr_hand_example_nr1() -> None:
    w = np.array([[0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 0, 4]], dtype=np.float32)
    bias = np.array([10, 20, 30], dtype=np.float32)
    c = CSRDelta.from_dense(w, 1, bias=bias)
    assert c.output_channel_nonzeros.tolist() == [2, 1, 1] and c.output_channel_nonzeros.dtype == np.uint32
    # channels 1, 3 | 0 | 3, then back to 1; scaled by sizeof(float)
    assert c.input_channel_diffs.tolist() == [8, -12, 12, -8] and c.input_channel_diffs.dtype == np.int32
    assert c.input_channel_diffs.sum() == 0
    assert c.first_input_channel == 1
    assert c.values.tolist() == [10, 1, 2, 20, 3, 30, 4]
    assert c.metadata_bits == 32 * (4 + 3) and c.runtime_metadata_bits == 32 * 4
    assert c.value_count == 4 and c.bias_count == 3
    np.testing.assert_array_equal(c.to_dense(), w)
    np.testing.assert_array_equal(c.bias(), bias)


def test_csr_hand_example_nr2_with_remainder() -> None:
    w = np.array([[0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 0, 4]], dtype=np.float32)
    c = CSRDelta.from_dense(w, 2, bias=np.array([10, 20, 30], dtype=np.float32))
    assert c.num_output_channel_blocks == 2  # Cout/2 + Cout%2
    assert c.output_channel_nonzeros.tolist() == [3, 1]
    # block rows 0-1 nonzero at channels 0, 1, 3 (zeros inside a block stored), then row 2 at channel 3
    assert c.values.tolist() == [10, 20, 0, 3, 1, 0, 2, 0, 30, 4]
    assert c.input_channel_diffs.tolist() == [4, 8, 0, -12]
    assert c.first_input_channel == 0
    assert c.value_count == 7
    # XNNPACK's packed_weights_size: oc_blocks·4 + nnz_blocks·2·4 + (nnz_values + Cout)·4
    assert c.packed_nbytes() == 2 * 4 + 4 * 2 * 4 + (7 + 3) * 4
    np.testing.assert_array_equal(c.to_dense(), w)


def test_csr_empty_and_errors() -> None:
    c = CSRDelta.from_dense(np.zeros((5, 3), dtype=np.float32), 4)
    assert c.num_nonzero_blocks == 0 and c.output_channel_nonzeros.tolist() == [0, 0]
    assert c.metadata_bits == 64
    np.testing.assert_array_equal(c.to_dense(), np.zeros((5, 3)))
    with pytest.raises(SparsityError, match="nr=3"):
        CSRDelta.from_dense(np.ones((4, 4)), 3)


def test_csr_mask_and_nd_weight() -> None:
    rng = np.random.default_rng(2)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    w[0, 0, 0, 0] = 0.0  # a kept weight that happens to be zero is still stored with a mask
    mask = block_mask(w, 2, 0.7)
    mask[0, 0, 0, 0] = mask[1, 0, 0, 0] = True
    c = CSRDelta.from_dense(w, 2, mask=mask)
    assert c.value_count == int(mask.sum())
    np.testing.assert_array_equal(c.to_dense(), np.where(mask, w, 0))
    assert c.to_dense().shape == w.shape


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_csr_round_trip(data: st.DataObject) -> None:
    w = sparse_matrix(data.draw)
    nr = data.draw(st.sampled_from([None, 1, 2, 4]))
    bias = np.arange(w.shape[0], dtype=np.float32) + 100
    c = CSRDelta.from_dense(w, nr, bias=bias)
    np.testing.assert_array_equal(c.to_dense(), w)
    np.testing.assert_array_equal(c.bias(), bias)
    nr_used = c.nr
    cout = w.shape[0]
    assert c.num_output_channel_blocks == cout // nr_used + cout % nr_used
    full = cout // nr_used * nr_used
    nnz_blocks = int(w[:full].reshape(-1, nr_used, w.shape[1]).any(axis=1).sum()) + int((w[full:] != 0).sum())
    assert c.num_nonzero_blocks == nnz_blocks
    assert c.input_channel_diffs.sum() == 0 and (c.input_channel_diffs % 4 == 0).all()
    assert c.metadata_bits == 32 * (nnz_blocks + c.num_output_channel_blocks)
    assert c.packed_nbytes() == 8 * nnz_blocks + 4 * c.num_output_channel_blocks + 4 * (c.value_count + cout)


def test_xnnpack_block_size_rule() -> None:
    dense = np.ones((8, 16), dtype=np.float32)
    assert xnnpack_block_size(dense) == 4
    pairs = np.zeros((8, 16), dtype=np.float32)  # 2-blocks full, 4-blocks half full
    pairs[0:2, 0::2] = pairs[2:4, 1::2] = pairs[4:6, 0::2] = pairs[6:8, 1::2] = 1
    assert xnnpack_block_size(pairs) == 2
    rng = np.random.default_rng(0)
    assert xnnpack_block_size((rng.random((64, 64)) < 0.5).astype(np.float32)) == 1
    # the integer boundary: 18 nonzeros in 5 nonzero 4-blocks is exactly 90% -> 4; 17 is not
    w = np.zeros((4, 5), dtype=np.float32)
    w[:, :] = 1
    w[0, 0] = w[1, 1] = 0
    assert xnnpack_block_size(w) == 4
    w[2, 2] = 0
    assert xnnpack_block_size(w) == 1  # 17 in 5 4-blocks: 85 < 90; 17 in 10 2-blocks: 85 < 90
    # empty / fewer than 4 channels: 0 >= 0 passes the 4-block test, as in XNNPACK
    assert xnnpack_block_size(np.zeros((8, 8))) == 4
    assert xnnpack_block_size(np.ones((3, 8))) == 4
    # remainder rows are ignored by the block tests
    w = np.ones((5, 8), dtype=np.float32)
    w[4, ::2] = 0
    assert xnnpack_block_size(w) == 4


def test_xnnpack_two_block_test_counts_rows_below_round_down_2_only() -> None:
    w = np.zeros((6, 10), dtype=np.float32)
    w[0:2, 0::2] = w[2:4, 1::2] = 1  # rows 0-3: full 2-blocks, half-full 4-blocks
    w[4, :] = 1  # rows 4-5: half-full 2-blocks (outside the 4-blocks, inside round_down(6, 2))
    assert xnnpack_block_size(w) == 1  # 2-blocks: 30 nonzeros in 20 blocks < 90%
    assert xnnpack_block_size(w[:5]) == 2  # row 4 is now a remainder row: 20 in 10 blocks


# --------------------------------------------------------------------------------------------- BlockCSR


def test_block_csr_hand_example() -> None:
    w = np.zeros((4, 3), dtype=np.float32)
    w[0, 1], w[1, 2], w[3, 0] = 1, 2, 3  # G=2: block-row 0 keeps r=1,2; block-row 1 keeps r=0
    b = BlockCSR.from_dense(w, 2)
    assert b.row_ptr.tolist() == [0, 2, 3] and b.row_ptr.dtype == np.uint32
    assert b.col_idx.tolist() == [1, 2, 0] and b.col_idx.dtype == np.uint16
    assert b.values.tolist() == [[1, 0], [0, 2], [0, 3]]
    assert b.metadata_bits == 32 * 3 + 16 * 3
    assert b.value_count == 6 and b.nbytes(4) == 24 + 18
    np.testing.assert_array_equal(b.to_dense(), w)


def test_block_csr_wide_reduction_uses_uint32() -> None:
    w = np.zeros((2, 70000), dtype=np.float32)
    w[:, 69999] = 1
    b = BlockCSR.from_dense(w, 2)
    assert b.col_idx.dtype == np.uint32 and b.col_bits == 32
    assert b.metadata_bits == 32 * 2 + 32
    np.testing.assert_array_equal(b.to_dense(), w)
    with pytest.raises(SparsityError, match="Cout=2 is not a multiple of group_size=4"):
        BlockCSR.from_dense(w, 4)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_block_csr_round_trip(data: st.DataObject) -> None:
    w = sparse_matrix(data.draw)
    divisors = [g for g in range(1, w.shape[0] + 1) if w.shape[0] % g == 0]
    g = data.draw(st.sampled_from(divisors))
    if data.draw(st.booleans()) and w.shape[1] % 3 == 0:
        w = w.reshape(w.shape[0], w.shape[1] // 3, 3, 1)  # conv-shaped
    b = BlockCSR.from_dense(w, g)
    np.testing.assert_array_equal(b.to_dense(), w)
    rows = w.reshape(w.shape[0], -1)
    kept = rows.reshape(-1, g, rows.shape[1]).any(axis=1)
    assert b.num_blocks == int(kept.sum()) and b.value_count == b.num_blocks * g
    assert b.metadata_bits == 32 * (w.shape[0] // g + 1) + 16 * b.num_blocks
    assume(b.num_blocks > 0)
    assert (np.diff(b.row_ptr.astype(int)) >= 0).all()


@pytest.mark.parametrize(
    ("shape", "n", "m", "axis"),
    [((16, 8, 3, 3), 2, 8, 1), ((16, 8, 3, 3), 2, 8, 0), ((12, 20), 1, 4, 1), ((6, 10), 3, 3, 0)],
)
def test_sizes_from_the_shape_match_the_built_tensor(shape, n, m, axis):
    """The pruner sizes N:M layers by NMTensor.sizes_for; the arrays from_dense builds must agree, also for
    a mask that keeps fewer than N in some groups (padded slots count)."""
    rng = np.random.default_rng(7)
    w = rng.standard_normal(shape).astype(np.float32)
    mask = nm_mask(w, n, m, axis=axis) & (rng.random(shape) < 0.7)  # some groups short of N
    t = NMTensor.from_dense(w, n, m, axis=axis, mask=mask)
    assert NMTensor.sizes_for(shape, n, m) == (t.values.size, t.indices.size * index_bits(m))
    assert (t.value_count, t.metadata_bits) == NMTensor.sizes_for(shape, n, m)
