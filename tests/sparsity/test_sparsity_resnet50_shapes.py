"""prune_layers on ResNet-50-shaped random weights (25.5 M parameters): every pattern applies to the right layers.

Timing lives in bench/prune_speed.py, not here."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sparsesim.sparsity import WeightLayer, bdwp_masks, prune_layers
from sparsesim.sparsity.nm import nm_axis_problem


def Spec(**fields: object) -> SimpleNamespace:  # noqa: N802 - mirrors the spec class name
    """Stand-in for SparsitySpec with exactly the attribute names prune_layers reads."""
    base = dict(
        pattern="dense",
        n=None,
        m=None,
        variant="independent",
        sparsity=None,
        group_size=4,
        block_size=1,
        rearrange=False,
        keep_first_dense=True,
        keep_last_dense=True,
        include=["*"],
        exclude=[],
        overrides={},
    )
    return SimpleNamespace(**{**base, **fields})


def resnet50_layers(seed: int = 0) -> list[WeightLayer]:
    """torchvision ResNet-50 weight shapes in module order; a bottleneck's conv1/conv2 feed only through
    BN/ReLU (rearrangeable), conv3 and downsample meet the residual add."""
    rng = np.random.default_rng(seed)
    specs: list[tuple[str, str, tuple[int, ...], tuple[str, ...]]] = [("conv1", "conv", (64, 3, 7, 7), ())]
    cin = 64
    for stage, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            specs.append((f"{p}.conv1", "conv", (width, cin, 1, 1), (f"{p}.conv2",)))
            specs.append((f"{p}.conv2", "conv", (width, width, 3, 3), (f"{p}.conv3",)))
            specs.append((f"{p}.conv3", "conv", (width * 4, width, 1, 1), ()))
            if b == 0:
                specs.append((f"{p}.downsample.0", "conv", (width * 4, cin, 1, 1), ()))
            cin = width * 4
    specs.append(("fc", "linear", (1000, 2048), ()))
    return [
        WeightLayer(name, kind, rng.standard_normal(shape, dtype=np.float32) * 0.05, consumers=consumers)
        for name, kind, shape, consumers in specs
    ]


@pytest.fixture(scope="module")
def resnet50() -> list[WeightLayer]:
    return resnet50_layers()


def test_resnet50_bdwp_masks_keep_a_quarter(resnet50: list[WeightLayer]) -> None:
    params = sum(layer.weight.size for layer in resnet50)
    assert 25_000_000 < params < 26_000_000
    masked = 0
    for layer in resnet50:
        if (
            nm_axis_problem(layer.weight.shape, 8, 1) is None
            and nm_axis_problem(layer.weight.shape, 8, 0) is None
        ):
            ff, bp = bdwp_masks(layer.weight, 2, 8)
            assert ff.sum() == bp.sum() == layer.weight.size // 4
            masked += layer.weight.size
    assert masked > 0.9 * params


@pytest.mark.parametrize(
    "spec",
    [
        Spec(pattern="bdwp", n=2, m=8),
        Spec(pattern="bdwp", n=2, m=8, variant="nested"),
        Spec(pattern="group", sparsity=0.75, group_size=4, rearrange=True),
    ],
    ids=["bdwp-independent", "bdwp-nested", "group-rearranged"],
)
def test_resnet50_prune_layers(resnet50: list[WeightLayer], spec: SimpleNamespace) -> None:
    result = prune_layers(resnet50, spec)
    sparse = [p for p in result.layers if p.pattern != "dense"]
    assert len(sparse) == len(resnet50) - 2  # all but the stem conv and the fc
    if spec.pattern == "group":
        assert sum(p.permutation is not None for p in result.layers) > 0
