"""BDWP (bidirectional weight pruning): one N:M mask for the forward GEMM, one for the backward GEMM.

FF reduces over Cin (·kh·kw), so its mask is N:M along axis 1 (SR-STE). BP (data gradient) reduces over Cout
(·kh·kw), so its mask is N:M along axis 0, per conv group. WU stays dense. See docs/sat_model.md.

Variants (the paper's published text does not decide between them):
- "independent" (default): both masks are top-N of the dense |W|. BP may keep weights that FF pruned.
- "nested" (Bi-Mask style): BP = FF & top-N along Cout of |W ⊙ FF|, so BP ⊆ FF. Within a Cout group, weights
  kept by FF always rank above weights FF pruned (even a kept weight equal to 0), so a BP group keeps
  min(N, #FF-kept in it) weights; groups with fewer than N FF-kept weights stay short. Densities must be
  counted from the masks, not assumed to be N/M.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from sparsesim.errors import SparsityError
from sparsesim.sparsity.nm import (
    _prefix,
    check_finite,
    check_nm,
    nm_axis_problem,
    nm_mask_from_scores,
)

BdwpVariant = Literal["independent", "nested"]
VARIANTS: tuple[str, ...] = ("independent", "nested")


def bdwp_problem(shape: tuple[int, ...], m: int, *, groups: int = 1) -> str | None:
    """Why BDWP with groups of `m` does not fit a weight of `shape`, or None (FF checked first)."""
    if len(shape) < 2:
        return f"a {len(shape)}-D weight has no Cin axis"
    return nm_axis_problem(shape, m, 1) or nm_axis_problem(shape, m, 0, groups=groups)


def bdwp_masks(
    w: np.ndarray,
    n: int,
    m: int,
    *,
    variant: BdwpVariant = "independent",
    groups: int = 1,
    name: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(ff_mask, bp_mask) for a weight in torch layout (conv `[Cout, Cin/groups, kh, kw]` or linear).

    FF: N:M along axis 1 (Cin/groups); BP: N:M along axis 0 in groups of M consecutive output channels that
    never cross a conv-group boundary (requires (Cout/groups) % m == 0). Tie rule as in `nm.py`.
    """
    w = np.asarray(w)
    if variant not in VARIANTS:
        raise SparsityError(
            f"{_prefix(name)}BDWP variant {variant!r} is unknown; use one of {list(VARIANTS)}"
        )
    check_nm(n, m, name=name)
    problem = bdwp_problem(w.shape, m, groups=groups)
    if problem:
        raise SparsityError(f"{_prefix(name)}{problem}; pick an M that divides it or exclude the layer")
    check_finite(w, name=name)
    n, m = int(n), int(m)
    if variant == "independent" and np.issubdtype(w.dtype, np.floating):
        # |w| is taken block by block inside (no full-size copy: VGG-16's fc6 alone is 411 MB)
        ff = nm_mask_from_scores(w, n, m, axis=1, magnitude=True)
        return ff, nm_mask_from_scores(w, n, m, axis=0, magnitude=True)
    mag = np.abs(w)
    ff = nm_mask_from_scores(mag, n, m, axis=1)
    if variant == "independent":
        bp = nm_mask_from_scores(mag, n, m, axis=0)
    else:
        # -1 < any |w|: FF-pruned weights can only fill BP slots that the `& ff` below then drops.
        scores = np.where(ff, mag, np.asarray(-1, dtype=mag.dtype))
        bp = nm_mask_from_scores(scores, n, m, axis=0) & ff
    return ff, bp


def mask_density(mask: np.ndarray) -> float:
    """Kept fraction of a mask (actually-kept weights; 1.0 for an empty tensor)."""
    return float(np.count_nonzero(mask)) / mask.size if mask.size else 1.0
