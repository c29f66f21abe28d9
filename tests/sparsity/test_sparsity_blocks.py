"""Masks are computed block by block (bounded memory on 100 M-weight layers): the blocking must not change
a single mask bit, whatever the block size, axis and tie pattern."""

from __future__ import annotations

import numpy as np
import pytest

from sparsesim.sparsity import bdwp_masks, nm_mask
from sparsesim.sparsity import nm as nm_module


@pytest.mark.parametrize("block_elements", [1, 7, 64])
@pytest.mark.parametrize(("shape", "groups"), [((32, 16, 3, 3), 1), ((64, 24), 1), ((32, 8, 1, 1), 4)])
def test_blocked_masks_equal_unblocked(monkeypatch, block_elements, shape, groups):
    rng = np.random.default_rng(11)
    # few distinct magnitudes and both signs of zero: many ties, so the tie rule is exercised too
    w = rng.integers(-3, 4, size=shape).astype(np.float32) * 0.5
    w[w == 0] = np.where(rng.random(int((w == 0).sum())) < 0.5, -0.0, 0.0)

    monkeypatch.setattr(nm_module, "_BLOCK_ELEMENTS", 1 << 40)  # one block: the unblocked reference
    whole = [nm_mask(w, 2, 8, axis=a, groups=groups) for a in (0, 1)] + list(
        bdwp_masks(w, 2, 8, groups=groups)
    )
    monkeypatch.setattr(nm_module, "_BLOCK_ELEMENTS", block_elements)
    assert len(list(nm_module._blocks(w.shape, 1))) > 1  # the blocked path really runs
    blocked = [nm_mask(w, 2, 8, axis=a, groups=groups) for a in (0, 1)] + list(
        bdwp_masks(w, 2, 8, groups=groups)
    )
    for a, b in zip(whole, blocked, strict=True):
        assert np.array_equal(a, b)
