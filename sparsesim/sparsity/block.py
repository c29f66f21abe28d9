"""Block magnitude pruning: one implementation for unstructured (block 1), XNNPACK blocks and group patterns.

The weight is viewed as a 2-D matrix `[Cout, R]`, R = Cin/groups·kh·kw (the im2col reduction length; R = Cin
for a linear). A block is `block` consecutive output channels × one reduction element. Its score is its
squared L2 norm, summed in float64 (squares of float32 are exact there, so block=1 ranks exactly by |w|; the
order is the L2 norm's order).

Exactly `round_half_up(sparsity · num_blocks)` blocks are pruned: the lowest scores. Ties follow the package
rule (nm.py): a larger score is kept first and among equal scores the LOWER block index is kept first (pruned
last).
Block index is row-major over `[Cout / block, R]`: `index = (cout // block) · R + r`.
For grouped convs blocks must not cross conv-group boundaries: `(Cout / groups) % block == 0`.
"""

from __future__ import annotations

import math

import numpy as np

from sparsesim.errors import SparsityError
from sparsesim.sparsity.nm import _prefix, check_finite


def as_rows(w: np.ndarray) -> np.ndarray:
    """The `[Cout, R]` view of a weight (no copy for a contiguous array)."""
    w = np.asarray(w)
    if w.ndim < 2:
        return w.reshape(w.shape[0] if w.ndim else 1, 1)
    return w.reshape(w.shape[0], -1)


def block_problem(shape: tuple[int, ...], block: int, *, groups: int = 1, what: str = "block") -> str | None:
    """Why blocks of `block` output channels do not fit `shape`, or None."""
    cout = shape[0]
    if groups > 1:
        if cout % groups:
            return f"Cout={cout} is not a multiple of groups={groups}"
        if (cout // groups) % block:
            return f"Cout/groups={cout // groups} is not a multiple of {what}={block}"
    elif cout % block:
        return f"Cout={cout} is not a multiple of {what}={block}"
    return None


def check_sparsity(sparsity: float, *, name: str | None = None) -> float:
    """The sparsity as a float, or SparsityError unless it is a number in [0, 1] (the fraction pruned)."""
    try:
        value = float(sparsity)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise SparsityError(
            f"{_prefix(name)}sparsity={sparsity!r} must be a number in [0, 1] (fraction pruned)"
        )
    return value


def num_pruned_blocks(num_blocks: int, sparsity: float) -> int:
    """round(sparsity · num_blocks), halves rounded up (Python's round() would round 2.5 to 2)."""
    return min(num_blocks, max(0, math.floor(sparsity * num_blocks + 0.5)))


def topk_flat_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """Keep the `k` largest `scores` (any shape, flat index order); ties: lower flat index kept. O(n)."""
    flat = np.asarray(scores).ravel()
    size = flat.size
    if k <= 0:
        return np.zeros(scores.shape, dtype=bool)
    if k >= size:
        return np.ones(scores.shape, dtype=bool)
    threshold = np.partition(flat, size - k)[size - k]  # the k-th largest value
    keep = flat > threshold
    missing = k - int(np.count_nonzero(keep))
    keep[np.flatnonzero(flat == threshold)[:missing]] = True
    return keep.reshape(scores.shape)


def block_scores(w: np.ndarray, block: int) -> np.ndarray:
    """Squared L2 norm of every block, shape `[Cout / block, R]`, float64. Caller checks divisibility."""
    rows = as_rows(w)
    lanes = rows.reshape(rows.shape[0] // block, block, rows.shape[1])
    scores = np.square(lanes[:, 0, :], dtype=np.float64)
    for lane in range(1, block):  # lane by lane: no float64 copy of the whole weight
        scores += np.square(lanes[:, lane, :], dtype=np.float64)
    return scores


def _ranking_scores(w: np.ndarray, block: int) -> np.ndarray:
    """Scores ordering blocks exactly like `block_scores`; for block 1 that is |w| (float32: less memory)."""
    return np.abs(as_rows(w)) if block == 1 else block_scores(w, block)


def _check_block(w: np.ndarray, block: int, groups: int, name: str | None) -> None:
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise SparsityError(f"{_prefix(name)}block={block!r} must be a positive integer")
    if w.ndim < 2:
        raise SparsityError(f"{_prefix(name)}a {w.ndim}-D weight cannot be block-pruned (need [Cout, ...])")
    problem = block_problem(w.shape, block, groups=groups)
    if problem:
        raise SparsityError(
            f"{_prefix(name)}{problem}; pick a block size that divides it or exclude the layer"
        )
    check_finite(w, name=name)


def block_keep(w: np.ndarray, block: int, sparsity: float) -> np.ndarray:
    """Kept blocks `[Cout / block, R]` (no validation)."""
    scores = _ranking_scores(w, block)
    return topk_flat_mask(scores, scores.size - num_pruned_blocks(scores.size, sparsity))


def block_mask(
    w: np.ndarray,
    block: int,
    sparsity: float,
    *,
    groups: int = 1,
    name: str | None = None,
) -> np.ndarray:
    """Mask (shape of `w`) pruning the lowest-L2 blocks of `block` output channels × 1 reduction element.

    `block == 1` is unstructured magnitude pruning. Exactly `num_pruned_blocks(num_blocks, sparsity)` blocks
    are pruned, so the kept fraction is exact up to that rounding.
    """
    w = np.asarray(w)
    _check_block(w, block, groups, name)
    sparsity = check_sparsity(sparsity, name=name)
    keep = block_keep(w, int(block), sparsity)
    rows = np.broadcast_to(keep[:, None, :], (keep.shape[0], block, keep.shape[1]))
    return np.ascontiguousarray(rows).reshape(w.shape)


def unstructured_mask(w: np.ndarray, sparsity: float, *, name: str | None = None) -> np.ndarray:
    """Magnitude pruning of single weights: `block_mask(w, 1, sparsity)`."""
    return block_mask(w, 1, sparsity, name=name)


def kept_magnitude(w: np.ndarray, block: int, sparsity: float) -> float:
    """Sum of w² over the weights `block_mask` keeps (the "block fill" a channel rearrangement raises)."""
    scores = _ranking_scores(w, block)
    keep = topk_flat_mask(scores, scores.size - num_pruned_blocks(scores.size, sparsity))
    if block == 1:
        return float(np.square(scores[keep], dtype=np.float64).sum())
    return float(scores[keep].sum())
