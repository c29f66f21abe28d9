"""N:M masks: keep the N largest |w| of every group of M consecutive weights along one axis.

Tie rule (used by every top-k in `sparsesim.sparsity`; the RTL sorter must reproduce it exactly):
    the larger |w| wins; among equal |w| the element with the LOWER index within its group wins.
So a group |w| = [3, 1, 3, 3] with N=2 keeps positions 0 and 2. This is what a stable descending sort
(`np.argsort(-|w|, kind="stable")`) gives, and it is deterministic, unlike SR-STE's plain argsort whose order
among ties is unspecified. -0.0 and +0.0 are equal. NaN/inf weights are rejected (no order is defined).

Layout: for a conv weight `[Cout, Cin/groups, kh, kw]` and `axis=1` a group is M consecutive input channels at
one `(cout, kh, kw)`, as SR-STE's `Sparse_NHWC` does (the reduction order of an NHWC implicit GEMM). For a
linear weight `[Cout, Cin]` the same call groups along Cin. `axis=0` groups along Cout at one `(cin, kh, kw)`:
that is the BP (data-gradient) GEMM's reduction dimension, used by BDWP.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from sparsesim.errors import SparsityError

# Above this M the O(M^2) pairwise ranking costs more than a sort; both give the same mask.
_PAIRWISE_MAX_M = 32


def _prefix(name: str | None) -> str:
    return f"layer {name}: " if name else ""


def axis_label(ndim: int, axis: int, groups: int = 1) -> str:
    """Human name of a weight axis for messages ("Cin/groups", "Cout", ...)."""
    if axis == 0:
        return "Cout/groups" if groups > 1 else "Cout"
    if axis == 1:
        return "Cin/groups" if ndim > 2 else "Cin"
    return f"axis {axis}"


def check_nm(n: int, m: int, *, name: str | None = None) -> None:
    """Raise SparsityError unless 1 <= n <= m (integers)."""
    if not (isinstance(n, (int, np.integer)) and isinstance(m, (int, np.integer))):
        raise SparsityError(f"{_prefix(name)}N and M must be integers, got n={n!r}, m={m!r}")
    if m < 1:
        raise SparsityError(f"{_prefix(name)}m={m} must be >= 1")
    if n < 1:
        raise SparsityError(f"{_prefix(name)}n={n} must be >= 1 (use pattern 'dense' or exclude the layer)")
    if n > m:
        raise SparsityError(
            f"{_prefix(name)}n={n} is larger than m={m}; N:M keeps N of every M, so set n <= m"
        )


def _normalise_axis(ndim: int, axis: int, name: str | None) -> int:
    if ndim < 1:
        raise SparsityError(f"{_prefix(name)}weight must have at least one dimension")
    if not -ndim <= axis < ndim:
        raise SparsityError(f"{_prefix(name)}axis {axis} is out of range for a {ndim}-D weight")
    return axis % ndim


def nm_axis_problem(shape: tuple[int, ...], m: int, axis: int, *, groups: int = 1) -> str | None:
    """Why groups of `m` along `axis` do not fit the shape, or None if they do.

    With `axis == 0` and `groups > 1` (BP of a grouped conv) groups must not cross conv-group boundaries,
    so `(Cout / groups) % m == 0` is required.
    """
    ndim = len(shape)
    axis = axis % ndim
    length = shape[axis]
    if axis == 0 and groups > 1:
        if length % groups:
            return f"Cout={length} is not a multiple of groups={groups}"
        length //= groups
    if length % m:
        return f"{axis_label(ndim, axis, groups)}={length} is not a multiple of m={m}"
    return None


def check_finite(w: np.ndarray, *, name: str | None = None) -> None:
    # A sum is NaN or infinite whenever an element is, so a finite sum proves every element finite (a pass
    # without temporaries: VGG-16's 138 M weights in a tenth of the time of isfinite().all()); only a sum
    # that is not finite (a NaN or inf, or finite values whose sum overflows) needs the element-wise look.
    if np.issubdtype(w.dtype, np.floating):
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(w.sum()):
                return
    if not np.isfinite(w).all():
        raise SparsityError(f"{_prefix(name)}weight contains NaN or inf; fix the checkpoint before pruning")


def nm_groups_along(x: np.ndarray, m: int, axis: int) -> np.ndarray:
    """`x` with `axis` moved last and split into groups: shape `(*other_axes, L // m, m)` (a copy if needed).

    `other_axes` keep their order. This is the layout of `NMTensor.values` / `.indices` (with m -> N).
    """
    x = np.asarray(x)
    axis = axis % x.ndim
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(*moved.shape[:-1], moved.shape[-1] // m, m)


def nm_ungroup(g: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of `nm_groups_along`: merge the last two axes and move the result back to `axis`."""
    merged = g.reshape(*g.shape[:-2], g.shape[-2] * g.shape[-1])
    return np.ascontiguousarray(np.moveaxis(merged, -1, axis))


def nm_group_counts(mask: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Kept elements per group, shape `(*other_axes, L // m)`."""
    return nm_groups_along(mask, m, axis).sum(axis=-1)


def group_major(x: np.ndarray, m: int, axis: int) -> np.ndarray:
    """Copy of `x` as `(m, num_groups)`: row i holds element i of every group (contiguous rows: fast)."""
    shape = x.shape
    pre = math.prod(shape[:axis])
    post = math.prod(shape[axis + 1 :])
    v = x.reshape(pre, shape[axis] // m, m, post)
    return np.ascontiguousarray(v.transpose(2, 0, 1, 3)).reshape(m, -1)


def from_group_major(gm: np.ndarray, shape: tuple[int, ...], m: int, axis: int) -> np.ndarray:
    pre = math.prod(shape[:axis])
    post = math.prod(shape[axis + 1 :])
    v = gm.reshape(m, pre, shape[axis] // m, post).transpose(1, 2, 0, 3)
    return np.ascontiguousarray(v).reshape(shape)


def topn_group_major(scores: np.ndarray, n: int) -> np.ndarray:
    """Keep the `n` best of each column of `scores` `(m, num_groups)` under the tie rule (lower row wins).

    Rank of element i = #{j < i: s_j >= s_i} + #{j > i: s_j > s_i}; one comparison per pair decides both
    ranks, so this is m(m-1)/2 vectorised comparisons and no sort. Kept iff rank < n.
    """
    m = scores.shape[0]
    if n >= m:
        return np.ones(scores.shape, dtype=bool)
    if m > _PAIRWISE_MAX_M:
        order = np.argsort(-scores, axis=0, kind="stable")[:n]
        keep = np.zeros(scores.shape, dtype=bool)
        np.put_along_axis(keep, order, True, axis=0)
        return keep
    dtype = np.int8 if m <= 127 else np.int16
    rank = np.zeros(scores.shape, dtype=dtype)
    for j in range(1, m):  # loop over positions within a group (m <= 32), never over groups
        later_wins = scores[j] > scores[:j]  # (j, G): position j strictly beats earlier position i
        rank[:j] += later_wins
        rank[j] += j - later_wins.sum(axis=0, dtype=dtype)
    return rank < n


# Our choice: masks are computed in blocks of about this many elements (16 MB of float32), split along an axis
# the groups do not run along, so the temporaries of a 100 M-weight layer (VGG-16's fc6) stay small and in
# cache instead of several full-size copies. Groups never cross a block, so the mask is the same.
_BLOCK_ELEMENTS = 1 << 22


def _blocks(shape: tuple[int, ...], axis: int) -> Iterator[tuple[slice, ...]]:
    """Index tuples splitting an array of `shape` into blocks of ~_BLOCK_ELEMENTS, never across `axis`."""
    if len(shape) < 2 or math.prod(shape) <= _BLOCK_ELEMENTS:
        yield (slice(None),) * len(shape)
        return
    split = 0 if axis != 0 else 1
    per_index = math.prod(shape) // shape[split]
    step = max(1, _BLOCK_ELEMENTS // max(1, per_index))
    for start in range(0, shape[split], step):
        index = [slice(None)] * len(shape)
        index[split] = slice(start, start + step)
        yield tuple(index)


def nm_mask_from_scores(
    scores: np.ndarray, n: int, m: int, axis: int, *, magnitude: bool = False
) -> np.ndarray:
    """Top-`n` of every `m` consecutive `scores` along `axis` (larger first, lower index wins ties).

    No validation: callers check shapes (`nm_axis_problem`) and `n, m` (`check_nm`). Scores may be negative,
    which `bdwp_masks(variant="nested")` uses to rank already-pruned weights last. `magnitude=True` ranks
    |scores| of a float array (taken block by block, so no full-size |w| copy is made).
    """
    scores = np.asarray(scores)
    axis = axis % scores.ndim
    keep = np.empty(scores.shape, dtype=bool)
    for index in _blocks(scores.shape, axis):
        block = scores[index]
        grouped = group_major(block, m, axis)  # a fresh copy, so abs may work in place
        if magnitude:
            np.abs(grouped, out=grouped)
        keep[index] = from_group_major(topn_group_major(grouped, n), block.shape, m, axis)
    return keep


def nm_mask(
    w: np.ndarray,
    n: int,
    m: int,
    axis: int = 1,
    *,
    groups: int = 1,
    name: str | None = None,
) -> np.ndarray:
    """Boolean mask keeping the `n` largest |w| of every `m` consecutive elements along `axis`.

    Every group keeps exactly `n` elements (zeros included when a group has fewer than `n` nonzeros).
    `groups` matters only for `axis == 0` (see `nm_axis_problem`). `name` prefixes error messages.
    Raises SparsityError if `n`, `m` are invalid or the axis length is not a multiple of `m`.
    """
    w = np.asarray(w)
    axis = _normalise_axis(w.ndim, axis, name)
    check_nm(n, m, name=name)
    problem = nm_axis_problem(w.shape, m, axis, groups=groups)
    if problem:
        raise SparsityError(f"{_prefix(name)}{problem}; pick an M that divides it or exclude the layer")
    check_finite(w, name=name)
    if np.issubdtype(w.dtype, np.floating):
        return nm_mask_from_scores(w, int(n), int(m), axis, magnitude=True)
    # Widen signed integers before abs: np.abs(np.int8(-128)) wraps to -128 and would rank last.
    scores = np.abs(w.astype(np.int64)) if np.issubdtype(w.dtype, np.signedinteger) else np.abs(w)
    return nm_mask_from_scores(scores, int(n), int(m), axis)
