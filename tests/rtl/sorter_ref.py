"""Reference top-N selections for the sparse-weight generator lane: torch (stable sort of -|w|) and
sparsesim.sparsity.nm.nm_mask, and random groups rich in ties."""

from __future__ import annotations

import numpy as np
import torch

from sparsesim.sparsity.nm import nm_mask

FORMATS = {"fp16": (np.float16, np.uint16), "fp32": (np.float32, np.uint32), "int8": (np.int8, np.uint8)}


def torch_topn(groups: np.ndarray, n: int) -> np.ndarray:
    """Kept indices per group [G, n], ascending; ties broken by the lower index (a stable sort)."""
    mag = torch.from_numpy(np.abs(groups.astype(np.float64)))
    order = torch.sort(-mag, dim=1, stable=True).indices[:, :n]
    return torch.sort(order, dim=1).values.numpy()


def nm_topn(groups: np.ndarray, n: int) -> np.ndarray:
    mask = nm_mask(groups.astype(np.float64), n, groups.shape[1], axis=1)
    return np.stack([np.nonzero(row)[0] for row in mask])


def random_groups(rng, count: int, m: int, fmt: str) -> np.ndarray:
    """Groups [count, m] with many exact ties, both zeros, extremes and plain random values."""
    dtype = FORMATS[fmt][0]
    if fmt == "int8":
        g = rng.integers(-128, 128, (count, m))
        few = rng.choice([-128, -3, -1, 0, 1, 3, 127], (count // 2, m))
        g[: count // 2] = few
        return g.astype(np.int8)
    g = rng.standard_normal((count, m)).astype(dtype)
    few = rng.choice(np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype=dtype), (count // 2, m))
    g[: count // 2] = few
    tiny = np.finfo(dtype).smallest_subnormal
    g[count // 2 : count // 2 + count // 8] *= tiny  # subnormals (and zeros)
    return g


def to_bits(groups: np.ndarray, fmt: str) -> np.ndarray:
    return groups.view(FORMATS[fmt][1]).astype(np.int64)
