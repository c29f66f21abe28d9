"""prune_layers: layer selection, overrides, dense reasons, densities, sizes, rearrangement folding."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from sparsesim.errors import SparsityError
from sparsesim.sparsity import (
    BlockCSR,
    CSRDelta,
    NMTensor,
    WeightLayer,
    bdwp_masks,
    group_mask,
    kept_magnitude,
    nm_mask,
    permute_in,
    permute_out,
    prune_layers,
)


@dataclass
class Override:
    pattern: str | None = None
    n: int | None = None
    m: int | None = None
    sparsity: float | None = None
    group_size: int | None = None
    block_size: int | None = None


@dataclass
class Spec:
    """Stand-in for the pydantic SparsitySpec: exactly the attribute names prune_layers reads."""

    pattern: str = "nm"
    n: int | None = 2
    m: int | None = 4
    variant: str = "independent"
    sparsity: float | None = None
    group_size: int = 4
    block_size: int = 1
    rearrange: bool = False
    keep_first_dense: bool = True
    keep_last_dense: bool = True
    include: list[str] = field(default_factory=lambda: ["*"])
    exclude: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)


def make_layers(seed: int = 0) -> list[WeightLayer]:
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    return [
        WeightLayer("conv1", "conv", w(16, 3, 3, 3)),
        WeightLayer(
            "layer1.conv1", "conv", w(16, 16, 1, 1), consumers=("layer1.conv2",), consumer_spatial=(1,)
        ),
        WeightLayer("layer1.conv2", "conv", w(16, 16, 3, 3), consumers=("layer1.dw",)),
        WeightLayer("layer1.dw", "dwconv", w(16, 1, 3, 3), groups=16),
        WeightLayer("layer1.gconv", "gconv", w(16, 8, 3, 3), groups=2),
        WeightLayer("head.conv", "conv", w(12, 16, 1, 1)),
        WeightLayer("fc", "linear", w(10, 12)),
    ]


def reasons(result: Any) -> dict[str, str | None]:
    return {layer.name: layer.dense_reason for layer in result.layers}


def test_nm_defaults_selection_and_sizes() -> None:
    layers = make_layers()
    result = prune_layers(layers, Spec())
    assert [p.name for p in result.layers] == [layer.name for layer in layers]
    assert reasons(result) == {
        "conv1": "first layer",
        "layer1.conv1": None,
        "layer1.conv2": None,
        "layer1.dw": "depthwise",
        "layer1.gconv": None,
        "head.conv": None,
        "fc": "last layer",
    }
    dense = result.by_name("fc")
    assert dense.pattern == "dense" and dense.ff_mask is None and dense.ff_density == dense.bp_density == 1.0
    assert dense.metadata_bytes == 0 and dense.value_count == 120
    for name in ("layer1.conv1", "layer1.conv2", "layer1.gconv", "head.conv"):
        p = result.by_name(name)
        w = result.weights[name]
        assert p.pattern == "nm" and (p.n, p.m, p.block) == (2, 4, None) and p.target_sparsity == 0.5
        np.testing.assert_array_equal(p.ff_mask, nm_mask(w, 2, 4, axis=1))
        assert p.bp_mask is None and p.ff_density == p.bp_density == 0.5
        assert p.value_count == w.size // 2
        assert p.metadata_bytes == math.ceil(w.size // 2 * 2 / 8)
        assert p.permutation is None


def test_non_dividing_layers_stay_dense_with_reason() -> None:
    spec = Spec(n=2, m=8, keep_first_dense=False, keep_last_dense=False)
    result = prune_layers(make_layers(), spec)
    r = reasons(result)
    assert r["conv1"] == "Cin/groups=3 is not a multiple of m=8"
    assert r["fc"] == "Cin=12 is not a multiple of m=8"
    assert r["layer1.gconv"] is None and r["head.conv"] is None
    bd = prune_layers(make_layers(), replace(spec, pattern="bdwp"))
    assert reasons(bd)["head.conv"] == "Cout=12 is not a multiple of m=8"
    assert reasons(bd)["layer1.gconv"] is None  # Cout/groups = 8
    g = prune_layers(make_layers(), Spec(pattern="group", sparsity=0.5, group_size=8, keep_last_dense=False))
    assert reasons(g)["head.conv"] == "Cout=12 is not a multiple of group_size=8"
    assert reasons(g)["layer1.gconv"] is None  # Cout/groups = 8
    g16 = prune_layers(
        make_layers(),
        Spec(
            pattern="block",
            sparsity=0.5,
            block_size=4,
            overrides={"layer1.gconv": Override(pattern="group", group_size=16)},
        ),
    )
    assert reasons(g16)["layer1.gconv"] == "Cout/groups=8 is not a multiple of group_size=16"


def test_bdwp_densities_formats_and_grouped_bp() -> None:
    layers = make_layers()
    result = prune_layers(layers, Spec(pattern="bdwp", n=2, m=8))
    for name in ("layer1.conv1", "layer1.conv2", "layer1.gconv"):
        p = result.by_name(name)
        w = result.weights[name]
        layer = next(x for x in layers if x.name == name)
        ff, bp = bdwp_masks(w, 2, 8, groups=layer.groups)
        np.testing.assert_array_equal(p.ff_mask, ff)
        np.testing.assert_array_equal(p.bp_mask, bp)
        assert p.ff_density == p.bp_density == 0.25 and p.target_sparsity == 0.75
        f_ff, f_bp = NMTensor.from_dense(w, 2, 8, 1, mask=ff), NMTensor.from_dense(w, 2, 8, 0, mask=bp)
        assert p.value_count == f_ff.value_count + f_bp.value_count == w.size // 2
        assert p.metadata_bytes == math.ceil(f_ff.metadata_bits / 8) + math.ceil(f_bp.metadata_bits / 8)


def test_bdwp_nested_counts_only_kept() -> None:
    result = prune_layers(make_layers(), Spec(pattern="bdwp", n=2, m=4, variant="nested"))
    p = result.by_name("layer1.conv2")
    assert not (p.bp_mask & ~p.ff_mask).any()
    assert p.bp_density == p.bp_mask.mean() < p.ff_density == 0.5
    assert p.value_count == result.weights["layer1.conv2"].size  # slots: N/M of the weights, twice


def test_include_exclude() -> None:
    r = reasons(prune_layers(make_layers(), Spec(exclude=["layer1.*", "nothing"])))
    assert r["layer1.conv1"] == "excluded by 'layer1.*'" and r["head.conv"] is None
    r = reasons(prune_layers(make_layers(), Spec(include=["head*"], keep_last_dense=False)))
    assert r["head.conv"] is None
    assert r["layer1.conv1"] == "not matched by include ['head*']"
    assert r["fc"] == "not matched by include ['head*']"


def test_overrides() -> None:
    spec = Spec(
        overrides={
            "*": Override(m=8),
            "layer1.conv1": Override(m=4, n=1),
            "layer1.conv2": Override(pattern="dense"),
            "head.*": Override(pattern="unstructured", sparsity=0.75),
            "layer1.g*": Override(pattern="dense"),
            "layer1.gconv": Override(pattern="nm"),  # later glob wins: sparse again
        }
    )
    result = prune_layers(make_layers(), spec)
    a = result.by_name("layer1.conv1")
    assert (a.pattern, a.n, a.m, a.ff_density) == ("nm", 1, 4, 0.25)
    assert result.by_name("layer1.conv2").dense_reason == "override 'layer1.conv2'"
    g = result.by_name("layer1.gconv")
    assert (g.pattern, g.n, g.m) == ("nm", 2, 8)
    h = result.by_name("head.conv")
    assert (h.pattern, h.block, h.target_sparsity, h.ff_density) == ("unstructured", 1, 0.75, 0.25)
    fmt = CSRDelta.from_dense(result.weights["head.conv"], 1, mask=h.ff_mask)
    assert h.metadata_bytes == math.ceil(fmt.metadata_bits / 8) and h.value_count == 48
    assert result.by_name("conv1").dense_reason == "first layer"
    # overrides given as plain dicts work too
    r2 = prune_layers(make_layers(), Spec(overrides={"head.conv": {"pattern": "dense"}}))
    assert r2.by_name("head.conv").dense_reason == "override 'head.conv'"


def test_pattern_dense() -> None:
    result = prune_layers(make_layers(), Spec(pattern="dense", n=None, m=None))
    assert set(reasons(result).values()) == {"pattern dense"}
    assert all(p.ff_density == 1.0 and p.metadata_bytes == 0 for p in result.layers)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (Spec(n=None), r"layer layer1.conv1: pattern 'nm' needs n and m"),
        (Spec(n=5, m=4), r"n=5 is larger than m=4"),
        (Spec(pattern="group", sparsity=None), r"pattern 'group' needs sparsity"),
        (Spec(pattern="block", sparsity=0.5, block_size=3), r"block_size=3 must be 1, 2 or 4"),
        (Spec(pattern="unstructured", sparsity=2.0), r"sparsity=2.0 must be a number in \[0, 1\]"),
        (Spec(pattern="sparse"), r"pattern 'sparse' is unknown"),
        (Spec(pattern="bdwp", variant="both"), r"variant 'both' is unknown"),
    ],
)
def test_spec_errors(spec: Spec, message: str) -> None:
    with pytest.raises(SparsityError, match=message):
        prune_layers(make_layers(), spec)


@pytest.mark.parametrize(
    ("pattern", "block"), [("group", 4), ("block", 2), ("block", 4), ("unstructured", 1)]
)
def test_block_patterns(pattern: str, block: int) -> None:
    spec = Spec(pattern=pattern, sparsity=0.75, group_size=4, block_size=block)
    result = prune_layers(make_layers(), spec)
    assert result.by_name("layer1.dw").dense_reason == "depthwise"
    p = result.by_name("layer1.conv2")
    w = result.weights["layer1.conv2"]
    assert p.block == block and p.target_sparsity == 0.75 and p.ff_density == 0.25 == p.bp_density
    assert p.bp_mask is None
    fmt = (
        BlockCSR.from_dense(w, 4, mask=p.ff_mask)
        if pattern == "group"
        else CSRDelta.from_dense(w, block, mask=p.ff_mask)
    )
    assert p.metadata_bytes == math.ceil(fmt.metadata_bits / 8) and p.value_count == fmt.value_count
    assert p.value_count == w.size // 4  # full blocks, no stored zeros


def test_records() -> None:
    records = prune_layers(make_layers(), Spec()).to_records()
    assert records[1]["layer"] == "layer1.conv1" and records[1]["params"] == 256
    assert set(records[0]) >= {
        "layer",
        "pattern",
        "dense_reason",
        "ff_density",
        "metadata_bytes",
        "rearranged",
    }
    assert not any(isinstance(v, np.ndarray) for r in records for v in r.values())


# ------------------------------------------------------------------------------------------ rearrangement


class Net(nn.Module):
    """conv → BN → ReLU → conv → BN → ReLU → conv(groups=2) → ReLU → flatten → linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1, groups=2)
        self.fc = nn.Linear(16 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = torch.relu(self.conv3(x))
        return self.fc(torch.flatten(x, 1))


def _structured(rng: np.random.Generator, shape: tuple[int, ...], segments: int, g: int = 4) -> np.ndarray:
    """Weights whose output channels hide a g-block structure (shuffled inside `segments` channel ranges)."""
    cout, r = shape[0], math.prod(shape[1:])
    base = 0.05 * rng.standard_normal((cout, r))
    for b in range(cout // g):
        support = rng.random(r) < 0.3
        base[b * g : (b + 1) * g, support] += rng.standard_normal((g, int(support.sum())))
    size = cout // segments
    shuffle = np.concatenate([s * size + rng.permutation(size) for s in range(segments)])
    return base[shuffle].reshape(shape).astype(np.float32)


def test_rearrangement_folds_and_keeps_network_output() -> None:
    torch.manual_seed(0)
    net = Net().eval()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for conv, segments in ((net.conv1, 1), (net.conv2, 2), (net.conv3, 2)):
            conv.weight.copy_(torch.from_numpy(_structured(rng, tuple(conv.weight.shape), segments)))
        for bn in (net.bn1, net.bn2):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)

    def weight(m: nn.Module) -> np.ndarray:
        return m.weight.detach().numpy().copy()

    layers = [
        WeightLayer("conv1", "conv", weight(net.conv1), consumers=("conv2",)),
        WeightLayer("conv2", "conv", weight(net.conv2), consumers=("conv3",)),
        WeightLayer("conv3", "gconv", weight(net.conv3), groups=2, consumers=("fc",), consumer_spatial=(16,)),
        WeightLayer("fc", "linear", weight(net.fc)),
    ]
    spec = Spec(pattern="group", sparsity=0.7, group_size=4, rearrange=True, keep_first_dense=False)
    result = prune_layers(layers, spec)
    p1, p2, p3 = (result.by_name(n) for n in ("conv1", "conv2", "conv3"))
    assert p1.permutation is not None and p2.permutation is not None and p3.permutation is not None
    assert (p2.permutation // 8 == np.arange(16) // 8).all()  # conv3 (groups=2) reads conv2 in 2 groups
    assert (p3.permutation // 8 == np.arange(16) // 8).all()  # conv3's own groups
    assert result.by_name("fc").permutation is None  # last layer: dense
    # weights: producer permuted out, consumer permuted in (conv2 is both)
    np.testing.assert_array_equal(result.weights["conv1"], permute_out(layers[0].weight, p1.permutation))
    np.testing.assert_array_equal(
        result.weights["conv2"], permute_out(permute_in(layers[1].weight, p1.permutation), p2.permutation)
    )
    np.testing.assert_array_equal(
        result.weights["fc"], permute_in(layers[3].weight, p3.permutation, spatial=16)
    )
    # masks are computed on the final weights, and the kept magnitude went up
    for p, layer in zip((p1, p2, p3), layers):
        final = result.weights[p.name]
        np.testing.assert_array_equal(p.ff_mask, group_mask(final, 4, 0.7, groups=layer.groups))
        assert kept_magnitude(final, 4, 0.7) >= kept_magnitude(
            layer.weight if p.name == "conv1" else permute_out(final, np.argsort(p.permutation)), 4, 0.7
        )
    assert kept_magnitude(result.weights["conv1"], 4, 0.7) > kept_magnitude(layers[0].weight, 4, 0.7)

    # fold into a copy of the torch model (weights + BN + bias) and compare outputs
    folded = copy.deepcopy(net)
    with torch.no_grad():
        for name in ("conv1", "conv2", "conv3", "fc"):
            getattr(folded, name).weight.copy_(torch.from_numpy(result.weights[name]))
        for bn, p in ((folded.bn1, p1), (folded.bn2, p2)):
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                t.copy_(torch.from_numpy(permute_out(t.numpy(), p.permutation)))
        folded.conv2.bias.copy_(torch.from_numpy(permute_out(folded.conv2.bias.numpy(), p2.permutation)))
        folded.conv3.bias.copy_(torch.from_numpy(permute_out(folded.conv3.bias.numpy(), p3.permutation)))
        x = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(5))
        torch.testing.assert_close(folded(x), net(x), rtol=1e-4, atol=1e-5)


def test_rearrangement_skipped_where_not_allowed() -> None:
    spec = Spec(pattern="group", sparsity=0.5, group_size=4, rearrange=True, keep_first_dense=False)
    result = prune_layers(make_layers(), spec)
    assert result.by_name("layer1.conv2").permutation is None  # consumer is depthwise
    assert result.by_name("head.conv").permutation is None  # no consumers (add/concat or last)
    off = prune_layers(make_layers(), replace(spec, rearrange=False))
    assert all(p.permutation is None for p in off.layers)
    for name, w in off.weights.items():
        assert w is next(x for x in make_layers() if x.name == name).weight or np.array_equal(
            w, next(x for x in make_layers() if x.name == name).weight
        )


@pytest.mark.parametrize("pattern", ["nm", "bdwp"])
def test_nm_masks_are_computed_when_read_and_match_the_stated_densities(pattern, monkeypatch) -> None:
    """N:M densities and sizes are stated from the shape; the masks (a top-N over every weight) wait until
    read. What is stated must be what counting the masks gives, ties and zeros included."""
    import sparsesim.sparsity.apply as apply

    calls: list[str] = []
    for fn in ("nm_mask", "bdwp_masks"):
        real = getattr(apply, fn)
        monkeypatch.setattr(
            apply, fn, lambda *a, _real=real, _fn=fn, **k: calls.append(_fn) or _real(*a, **k)
        )
    layers = make_layers()
    rng = np.random.default_rng(1)  # mostly zeros, many equal magnitudes: every group has ties
    layers = [
        replace(
            x,
            weight=rng.integers(-2, 3, x.weight.shape).astype(np.float32)
            * (rng.random(x.weight.shape) < 0.3),
        )
        for x in layers
    ]
    result = prune_layers(layers, Spec(pattern=pattern, n=2, m=8))
    assert calls == []  # nothing computed yet
    sparse = [p for p in result.layers if p.pattern == pattern]
    assert len(sparse) >= 2
    for p in sparse:
        w = result.weights[p.name]
        assert p.ff_density == np.count_nonzero(p.ff_mask) / w.size
        masks = [p.ff_mask] + ([p.bp_mask] if pattern == "bdwp" else [])
        assert p.bp_density == np.count_nonzero(masks[-1]) / w.size
        assert p.value_count == sum(
            NMTensor.from_dense(w, 2, 8, a, mask=m).value_count for a, m in zip((1, 0), masks)
        )
    assert len(calls) == len(sparse)  # each layer's masks computed once, on first read


def test_nm_weights_are_still_checked_when_pruned() -> None:
    layers = make_layers()
    bad = layers[1].weight.copy()
    bad[0, 0, 0, 0] = np.nan
    layers[1] = replace(layers[1], weight=bad)
    with pytest.raises(SparsityError, match="layer1.conv1: weight contains NaN"):
        prune_layers(layers, Spec(pattern="bdwp", n=2, m=8))
