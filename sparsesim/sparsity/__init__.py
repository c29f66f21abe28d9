"""Sparsity rules on real weight tensors and compressed formats (pure functions).

Tie rule everywhere a top-k is taken: larger |w| (or block score) first; among equal values the lower index
wins. See `nm.py`.
"""

from sparsesim.sparsity.apply import (
    LAYER_KINDS,
    PATTERNS,
    LayerPrune,
    PruneResult,
    WeightLayer,
    prune_layers,
)
from sparsesim.sparsity.bdwp import bdwp_masks, bdwp_problem, mask_density
from sparsesim.sparsity.block import (
    as_rows,
    block_mask,
    block_problem,
    block_scores,
    kept_magnitude,
    num_pruned_blocks,
    topk_flat_mask,
    unstructured_mask,
)
from sparsesim.sparsity.formats import BlockCSR, CSRDelta, NMTensor, index_bits, xnnpack_block_size
from sparsesim.sparsity.group import (
    DEFAULT_GROUP_SIZE,
    group_mask,
    invert_permutation,
    permute_in,
    permute_out,
    rearrange_channels,
    rearrangement_gain,
)
from sparsesim.sparsity.nm import (
    check_nm,
    nm_axis_problem,
    nm_group_counts,
    nm_groups_along,
    nm_mask,
    nm_mask_from_scores,
    nm_ungroup,
)

__all__ = [
    "DEFAULT_GROUP_SIZE",
    "LAYER_KINDS",
    "PATTERNS",
    "BlockCSR",
    "CSRDelta",
    "LayerPrune",
    "NMTensor",
    "PruneResult",
    "WeightLayer",
    "as_rows",
    "bdwp_masks",
    "bdwp_problem",
    "block_mask",
    "block_problem",
    "block_scores",
    "check_nm",
    "group_mask",
    "index_bits",
    "invert_permutation",
    "kept_magnitude",
    "mask_density",
    "nm_axis_problem",
    "nm_group_counts",
    "nm_groups_along",
    "nm_mask",
    "nm_mask_from_scores",
    "nm_ungroup",
    "num_pruned_blocks",
    "permute_in",
    "permute_out",
    "prune_layers",
    "rearrange_channels",
    "rearrangement_gain",
    "topk_flat_mask",
    "unstructured_mask",
    "xnnpack_block_size",
]
