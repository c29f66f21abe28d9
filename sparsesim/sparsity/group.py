"""Group sparsity and output-channel rearrangement, SparseByteNN-style (Xu et al., "SparseByteNN", arXiv
2310.19509).

The group pattern is `block_mask` with block = G output channels × one reduction element (MNN's
`sparseBlockOC`, 1×N pruning's 1×G block); G is any divisor of Cout/groups, default 4 (one NEON vector).

Rearrangement: a permutation of a layer's output channels is free at run time when it is folded into the
layer (weights, bias, BN parameters: `permute_out`) and into the input channels of every consumer
(`permute_in`). It changes which channels share a block and so raises the kept magnitude ("block fill") at
equal sparsity when channels whose large weights sit at the same reduction positions end up in the same block.

`rearrange_channels` algorithm (our choice; SparseByteNN's own algorithm is not public):
1. Candidates: identity; 1×N-style "sort by L1 norm"; and two greedy clusterings, each driven by a
   channel-similarity matrix K (Gram matrix of a per-channel feature):
   - K_support = F Fᵀ with F = the unstructured mask of the layer at the same sparsity (co-kept positions);
   - K_energy  = E Eᵀ with E = w² (co-located energy).
   Greedy: seed a block with the remaining channel of largest energy, then add, G-1 times, the remaining
   channel with the largest summed similarity to the channels already in the block.
2. Every candidate is scored with `kept_magnitude` on the permuted weight; the best wins, ties going to the
   earlier candidate, identity first, so the result is never worse than no rearrangement.
For very wide layers (size² · R above 1e10) the feature columns are sign-hashed into fewer buckets before
the Gram product; the final comparison is exact, so this only affects how good a candidate is.
Permutations stay inside `segments` equal contiguous ranges of channels (conv groups of the layer and of its
consumers: a channel must stay in its group).
"""

from __future__ import annotations

import numpy as np

from sparsesim.errors import SparsityError
from sparsesim.sparsity.block import (
    as_rows,
    block_mask,
    kept_magnitude,
    num_pruned_blocks,
    topk_flat_mask,
)

DEFAULT_GROUP_SIZE = 4
# Similarity matrices cost size²·columns multiply-adds per segment; above this budget the features are
# hashed down to budget / size² columns (at least _SKETCH_MIN_COLUMNS). ResNet-50 stays exact.
_GRAM_BUDGET = 10_000_000_000
_SKETCH_MIN_COLUMNS = 64


def group_mask(
    w: np.ndarray,
    group_size: int,
    sparsity: float,
    *,
    groups: int = 1,
    name: str | None = None,
) -> np.ndarray:
    """Group pattern: `block_mask(w, group_size, sparsity, groups=groups)`."""
    return block_mask(w, group_size, sparsity, groups=groups, name=name)


def check_permutation(perm: np.ndarray, size: int) -> np.ndarray:
    perm = np.asarray(perm)
    if perm.shape != (size,) or not np.issubdtype(perm.dtype, np.integer):
        raise SparsityError(f"permutation must be {size} integers, got shape {perm.shape} dtype {perm.dtype}")
    if not np.array_equal(np.sort(perm), np.arange(size)):
        raise SparsityError(f"permutation is not a permutation of 0..{size - 1}")
    return perm.astype(np.intp, copy=False)


def invert_permutation(perm: np.ndarray) -> np.ndarray:
    inv = np.empty_like(np.asarray(perm, dtype=np.intp))
    inv[perm] = np.arange(inv.size)
    return inv


def permute_out(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Permute output channels (axis 0): new channel i is old channel `perm[i]`.

    Works for any per-output-channel array: conv/linear weight, bias, BN weight/bias/running stats.
    """
    x = np.asarray(x)
    return x[check_permutation(perm, x.shape[0])]


def permute_in(w_next: np.ndarray, perm: np.ndarray, groups: int = 1, spatial: int = 1) -> np.ndarray:
    """Permute the input channels of the layer that consumes a permuted layer's output.

    `perm` is the producer's permutation (new channel i = old channel perm[i]), over its C output channels.
    - conv `[Cout, Cin/groups, kh, kw]`: axis 1 is permuted; for `groups > 1` the permutation must keep every
      channel inside its group of Cin/groups channels (each group's slice of output channels gets its own
      local permutation).
    - linear `[Cout, C·spatial]` after a flatten of `C×H×W` (spatial = H·W): whole blocks of `spatial` columns
      move together.
    """
    w_next = np.asarray(w_next)
    channels = perm.shape[0] if hasattr(perm, "shape") else len(perm)
    if spatial != 1:
        if w_next.ndim != 2 or groups != 1:
            raise SparsityError("permute_in: spatial > 1 is only for a linear layer after a flatten")
        if w_next.shape[1] != channels * spatial:
            raise SparsityError(
                f"permute_in: linear has {w_next.shape[1]} inputs, expected {channels}·{spatial} (C·H·W)"
            )
        perm = check_permutation(perm, channels)
        cols = w_next.reshape(w_next.shape[0], channels, spatial)[:, perm, :]
        return cols.reshape(w_next.shape)
    per_group = w_next.shape[1]
    if per_group * groups != channels or w_next.shape[0] % groups:
        raise SparsityError(
            f"permute_in: consumer with Cin/groups={per_group}, groups={groups} "
            f"does not read {channels} channels"
        )
    perm = check_permutation(perm, channels)
    if groups == 1:
        return w_next[:, perm]
    local = perm.reshape(groups, per_group) - (np.arange(groups) * per_group)[:, None]
    if (local < 0).any() or (local >= per_group).any():
        raise SparsityError("permute_in: permutation moves a channel across conv groups of the consumer")
    rest = w_next.shape[2:]
    view = w_next.reshape(groups, w_next.shape[0] // groups, per_group, -1)
    out = np.take_along_axis(view, local[:, None, :, None], axis=2)
    return out.reshape(w_next.shape[0], per_group, *rest)


def _greedy_clusters(similarity: np.ndarray, energy: np.ndarray, group_size: int) -> np.ndarray:
    """Order of one segment's channels, `group_size` at a time, by greedy similarity clustering."""
    size = similarity.shape[0]
    free = np.ones(size, dtype=bool)
    seeds = np.argsort(-energy, kind="stable")
    order: list[int] = []
    seed_pos = 0
    # One step per channel (not per weight): O(size) vector work each, O(size^2) for the segment.
    while len(order) < size:
        while not free[seeds[seed_pos]]:
            seed_pos += 1
        seed = int(seeds[seed_pos])
        free[seed] = False
        members = [seed]
        affinity = similarity[seed].copy()
        for _ in range(group_size - 1):
            candidate = int(np.argmax(np.where(free, affinity, -np.inf)))
            free[candidate] = False
            members.append(candidate)
            affinity += similarity[candidate]
        order.extend(sorted(members))
    return np.asarray(order, dtype=np.intp)


def _sketch(features: np.ndarray, columns: int) -> np.ndarray:
    """Signed hashing of the columns into `columns` buckets (column r -> r mod columns, fixed random signs).

    Row inner products are preserved in expectation; one pass over the data, no gather.
    """
    rows, width = features.shape
    folds = -(-width // columns)
    sign = np.random.default_rng(0).choice(np.array([-1.0, 1.0], dtype=np.float32), size=width)
    padded = np.zeros((rows, folds * columns), dtype=np.float32)
    np.multiply(features, sign, out=padded[:, :width])
    return padded.reshape(rows, folds, columns).sum(axis=1)


def _segment_perms(
    features: np.ndarray, energy_rows: np.ndarray, group_size: int, segments: int
) -> np.ndarray:
    cout = features.shape[0]
    size = cout // segments
    columns = max(_SKETCH_MIN_COLUMNS, _GRAM_BUDGET // (size * size))
    perm = np.empty(cout, dtype=np.intp)
    for s in range(segments):  # loop over conv groups (few), vectorised inside
        lo = s * size
        f = features[lo : lo + size]
        if f.shape[1] > columns:
            f = _sketch(f, columns)
        perm[lo : lo + size] = lo + _greedy_clusters(f @ f.T, energy_rows[lo : lo + size], group_size)
    return perm


def rearrange_channels(
    w: np.ndarray,
    group_size: int,
    sparsity: float,
    *,
    segments: int = 1,
) -> np.ndarray:
    """A permutation of output channels that does not lower (usually raises) the kept magnitude.

    Returns `perm` with new channel i = old channel perm[i]; apply with `permute_out` / `permute_in`.
    The permutation stays inside each of `segments` equal contiguous channel ranges (pass the conv group
    count, or more if consumers are grouped). If a segment is not a multiple of `group_size`, or holds a
    single block, the identity is returned.
    """
    w = np.asarray(w)
    rows = as_rows(w)
    cout = rows.shape[0]
    identity = np.arange(cout, dtype=np.intp)
    if segments < 1 or cout % segments:
        raise SparsityError(f"rearrange_channels: Cout={cout} is not a multiple of segments={segments}")
    size = cout // segments
    if group_size < 1 or size % group_size or size <= group_size:
        return identity

    magnitude = np.abs(rows).astype(np.float32, copy=False)
    energy = np.square(magnitude)
    energy_rows = energy.sum(axis=1, dtype=np.float64)
    keep_unstructured = topk_flat_mask(
        magnitude, magnitude.size - num_pruned_blocks(magnitude.size, sparsity)
    )

    candidates = [identity]
    l1 = magnitude.sum(axis=1, dtype=np.float64).reshape(segments, size)
    candidates.append(
        (np.argsort(-l1, axis=1, kind="stable") + (np.arange(segments) * size)[:, None]).ravel()
    )
    candidates.append(_segment_perms(keep_unstructured.astype(np.float32), energy_rows, group_size, segments))
    candidates.append(_segment_perms(energy, energy_rows, group_size, segments))

    best, best_kept = identity, kept_magnitude(rows, group_size, sparsity)
    for perm in candidates[1:]:
        kept = kept_magnitude(rows[perm], group_size, sparsity)
        if kept > best_kept:
            best, best_kept = perm, kept
    return best


def rearrangement_gain(w: np.ndarray, perm: np.ndarray, group_size: int, sparsity: float) -> float:
    """kept_magnitude after / before the permutation (1.0 = no gain)."""
    rows = as_rows(w)
    before = kept_magnitude(rows, group_size, sparsity)
    after = kept_magnitude(rows[perm], group_size, sparsity)
    return after / before if before > 0 else 1.0
