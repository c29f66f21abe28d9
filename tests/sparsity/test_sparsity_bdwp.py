"""BDWP masks: FF along Cin, BP along Cout per conv group; independent vs nested."""

from __future__ import annotations

import numpy as np
import pytest

from sparsesim.errors import SparsityError
from sparsesim.sparsity import bdwp_masks, mask_density, nm_group_counts, nm_mask

rng = np.random.default_rng(7)


@pytest.mark.parametrize(("n", "m"), [(2, 4), (2, 8), (1, 8), (4, 8), (1, 16)])
@pytest.mark.parametrize("shape", [(32, 16, 3, 3), (64, 32, 1, 1), (48, 32)])
def test_independent_densities_exact(n: int, m: int, shape: tuple[int, ...]) -> None:
    w = rng.standard_normal(shape).astype(np.float32)
    ff, bp = bdwp_masks(w, n, m)
    assert mask_density(ff) == n / m and mask_density(bp) == n / m
    assert (nm_group_counts(ff, m, 1) == n).all()
    assert (nm_group_counts(bp, m, 0) == n).all()
    np.testing.assert_array_equal(ff, nm_mask(w, n, m, axis=1))
    np.testing.assert_array_equal(bp, nm_mask(w, n, m, axis=0))


def test_independent_bp_differs_from_ff() -> None:
    w = rng.standard_normal((16, 16)).astype(np.float32)
    ff, bp = bdwp_masks(w, 2, 4)
    assert (bp & ~ff).any()  # BP may keep weights FF pruned


@pytest.mark.parametrize(("n", "m"), [(2, 4), (2, 8), (1, 4)])
def test_nested_subset_and_counts(n: int, m: int) -> None:
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    ff, bp = bdwp_masks(w, n, m, variant="nested")
    assert not (bp & ~ff).any()
    bp_counts = nm_group_counts(bp, m, 0)
    ff_in_bp_groups = nm_group_counts(ff, m, 0)
    np.testing.assert_array_equal(bp_counts, np.minimum(n, ff_in_bp_groups))
    assert (bp_counts < n).any()  # some BP groups are short ...
    assert mask_density(bp) < n / m  # ... so the real density is below N/M
    # within each BP group the kept weights are the largest FF-kept ones
    mag = np.abs(w)
    for o in range(0, 32, m):
        block = np.where(ff[o : o + m], mag[o : o + m], -1)
        kept = bp[o : o + m]
        assert (
            np.where(kept, block, np.inf).min(axis=0) >= np.where(~kept, block, -np.inf).max(axis=0)
        ).all()


def test_nested_kept_zero_beats_pruned_weight() -> None:
    # Column of a BP group (m=4, n=2): FF keeps only a weight equal to 0 (rows 2) and row 3.
    w = np.zeros((4, 4), dtype=np.float32)
    w[:, 0] = [5.0, 4.0, 0.0, 1.0]
    w[:, 1:] = 10.0  # FF (along Cin, m=4, n=2) prefers columns 1, 2 in rows 0, 1
    w[2, 1:] = [0.0, 0.0, 0.0]  # row 2: all zero -> FF keeps columns 0, 1 (lower index wins)
    w[3, 1:] = [0.0, 0.0, 2.0]  # row 3: keeps column 3 and column 0 (1.0 > 0)
    ff, bp = bdwp_masks(w, 2, 4, variant="nested")
    assert ff[:, 0].tolist() == [False, False, True, True]
    assert bp[:, 0].tolist() == [False, False, True, True]


def test_grouped_conv_bp_does_not_cross_groups() -> None:
    groups, cout, cin_g, m = 2, 16, 8, 8
    w = rng.standard_normal((cout, cin_g, 3, 3)).astype(np.float32)
    ff, bp = bdwp_masks(w, 2, m, groups=groups)
    for g in range(groups):
        part = bp[g * cout // groups : (g + 1) * cout // groups]
        assert (part.sum(axis=0) == 2).all()
    with pytest.raises(SparsityError, match=r"layer g: Cout/groups=4 is not a multiple of m=8"):
        bdwp_masks(rng.standard_normal((16, 8, 3, 3)), 2, 8, groups=4, name="g")


def test_errors() -> None:
    w = np.ones((8, 3, 3, 3), dtype=np.float32)
    with pytest.raises(SparsityError, match=r"Cin/groups=3 is not a multiple of m=4"):
        bdwp_masks(w, 2, 4)
    with pytest.raises(SparsityError, match="variant"):
        bdwp_masks(np.ones((8, 8)), 2, 4, variant="both")  # type: ignore[arg-type]
    with pytest.raises(SparsityError, match="larger than m"):
        bdwp_masks(np.ones((8, 8)), 5, 4)
