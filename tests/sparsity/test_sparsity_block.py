"""Block / unstructured / group masks: exact pruned counts, block structure, tie rule, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesim.errors import SparsityError
from sparsesim.sparsity import (
    block_mask,
    group_mask,
    kept_magnitude,
    num_pruned_blocks,
    topk_flat_mask,
    unstructured_mask,
)


def reference_topk(scores: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-scores.ravel(), kind="stable")[:k]
    keep = np.zeros(scores.size, dtype=bool)
    keep[order] = True
    return keep.reshape(scores.shape)


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.integers(0, 4), min_size=1, max_size=60),
    frac=st.floats(0, 1),
)
def test_topk_flat_matches_stable_sort(values: list[int], frac: float) -> None:
    scores = np.array(values, dtype=np.float64)
    k = int(round(frac * scores.size))
    np.testing.assert_array_equal(topk_flat_mask(scores, k), reference_topk(scores, k))


def test_round_half_up() -> None:
    assert num_pruned_blocks(3, 0.5) == 2  # 1.5 -> 2 (Python round() would give 2 too)
    assert num_pruned_blocks(5, 0.5) == 3  # 2.5 -> 3 (Python round() gives 2)
    assert num_pruned_blocks(10, 0.0) == 0 and num_pruned_blocks(10, 1.0) == 10


@pytest.mark.parametrize("block", [1, 2, 4, 8])
@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.75, 0.9])
def test_exact_counts_and_block_structure(block: int, sparsity: float) -> None:
    rng = np.random.default_rng(block)
    w = rng.standard_normal((16, 6, 3, 3)).astype(np.float32)
    mask = block_mask(w, block, sparsity)
    rows = mask.reshape(16, -1)
    blocks = rows.reshape(16 // block, block, -1)
    assert (blocks == blocks[:, :1, :]).all()  # all-or-nothing per block
    num_blocks = (16 // block) * rows.shape[1]
    assert (~blocks[:, 0, :]).sum() == num_pruned_blocks(num_blocks, sparsity)
    # every kept block scores at least as high as every pruned block
    scores = np.square(w.reshape(16 // block, block, -1).astype(np.float64)).sum(axis=1)
    assert scores[blocks[:, 0, :]].min() >= scores[~blocks[:, 0, :]].max()


def test_unstructured_is_magnitude_pruning() -> None:
    w = np.array([[0.5, -3.0, 1.0], [2.0, -0.1, 0.7]], dtype=np.float32)
    assert unstructured_mask(w, 0.5).tolist() == [[False, True, True], [True, False, False]]
    np.testing.assert_array_equal(unstructured_mask(w, 0.5), block_mask(w, 1, 0.5))


def test_tie_rule_lower_block_index_kept() -> None:
    w = np.ones((4, 3), dtype=np.float32)  # every block of 2 channels scores 2
    mask = block_mask(w, 2, 0.5)  # 6 blocks, prune 3: the highest indices (1,0), (1,1), (1,2)
    assert mask.tolist() == [[True] * 3, [True] * 3, [False] * 3, [False] * 3]
    w = np.ones((2, 4), dtype=np.float32)
    assert block_mask(w, 1, 0.25).tolist() == [[True] * 4, [True] * 2 + [False] * 2]


def test_group_mask_is_block_mask() -> None:
    rng = np.random.default_rng(3)
    w = rng.standard_normal((12, 5, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(group_mask(w, 3, 0.6), block_mask(w, 3, 0.6))


def test_grouped_conv_blocks_must_not_cross_groups() -> None:
    w = np.ones((12, 4, 3, 3), dtype=np.float32)
    block_mask(w, 2, 0.5, groups=3)  # 4 channels per group: fine
    with pytest.raises(SparsityError, match=r"layer x: Cout/groups=4 is not a multiple of block=8"):
        block_mask(np.ones((16, 4, 3, 3)), 8, 0.5, groups=4, name="x")


@pytest.mark.parametrize(
    ("shape", "block", "sparsity", "message"),
    [
        ((10, 4), 4, 0.5, r"Cout=10 is not a multiple of block=4"),
        ((8, 4), 0, 0.5, r"block=0 must be a positive integer"),
        ((8, 4), 2, 1.5, r"sparsity=1.5 must be a number in \[0, 1\]"),
        ((8,), 1, 0.5, r"1-D weight"),
    ],
)
def test_errors(shape: tuple[int, ...], block: int, sparsity: float, message: str) -> None:
    with pytest.raises(SparsityError, match=message):
        block_mask(np.ones(shape, dtype=np.float32), block, sparsity)


def test_kept_magnitude() -> None:
    w = np.array([[3.0, 1.0], [4.0, 0.0]], dtype=np.float32)  # blocks of 2: scores 25, 1
    assert kept_magnitude(w, 2, 0.5) == 25.0
    assert kept_magnitude(w, 1, 0.5) == 25.0  # keeps 4 and 3
    assert kept_magnitude(w, 1, 0.0) == 26.0
