"""Channel rearrangement: folding leaves the network unchanged; it raises the kept magnitude."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sparsesim.errors import SparsityError
from sparsesim.sparsity import (
    invert_permutation,
    kept_magnitude,
    permute_in,
    permute_out,
    rearrange_channels,
    rearrangement_gain,
)


def _set(param: torch.Tensor, value: np.ndarray) -> None:
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def _fold_conv_bn(conv1: nn.Conv2d, bn: nn.BatchNorm2d, perm: np.ndarray) -> None:
    _set(conv1.weight, permute_out(_np(conv1.weight), perm))
    _set(conv1.bias, permute_out(_np(conv1.bias), perm))
    for p in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
        _set(p, permute_out(_np(p), perm))


def _tiny_cnn(groups2: int = 1) -> tuple[nn.Conv2d, nn.BatchNorm2d, nn.Conv2d, nn.Sequential]:
    torch.manual_seed(0)
    conv1 = nn.Conv2d(3, 8, 3, padding=1)
    bn = nn.BatchNorm2d(8)
    conv2 = nn.Conv2d(8, 4, 3, padding=1, groups=groups2)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    net = nn.Sequential(conv1, bn, nn.ReLU(), conv2).eval()
    return conv1, bn, conv2, net


@pytest.mark.parametrize("use_rearranged", [False, True])
def test_fold_conv_bn_relu_conv_is_exact(use_rearranged: bool) -> None:
    conv1, bn, conv2, net = _tiny_cnn()
    x = torch.randn(2, 3, 7, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = net(x)
    if use_rearranged:
        perm = rearrange_channels(_np(conv1.weight), 2, 0.5)
    else:
        perm = np.random.default_rng(0).permutation(8)
    _fold_conv_bn(conv1, bn, perm)
    _set(conv2.weight, permute_in(_np(conv2.weight), perm))
    with torch.no_grad():
        after = net(x)
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)


def test_fold_into_grouped_consumer() -> None:
    conv1, bn, conv2, net = _tiny_cnn(groups2=2)
    x = torch.randn(1, 3, 5, 5, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = net(x)
    rng = np.random.default_rng(3)
    perm = np.concatenate([rng.permutation(4), 4 + rng.permutation(4)])  # stays inside each input group
    _fold_conv_bn(conv1, bn, perm)
    _set(conv2.weight, permute_in(_np(conv2.weight), perm, groups=2))
    with torch.no_grad():
        torch.testing.assert_close(net(x), before, rtol=1e-5, atol=1e-5)
    with pytest.raises(SparsityError, match="across conv groups"):
        permute_in(_np(conv2.weight), np.roll(np.arange(8), 1), groups=2)


def test_fold_into_linear_after_flatten() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3)
    fc = nn.Linear(4 * 5 * 5, 3)
    net = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), fc).eval()
    x = torch.randn(2, 3, 7, 7, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        before = net(x)
    perm = np.array([2, 0, 3, 1])
    _set(conv.weight, permute_out(_np(conv.weight), perm))
    _set(conv.bias, permute_out(_np(conv.bias), perm))
    _set(fc.weight, permute_in(_np(fc.weight), perm, spatial=25))
    with torch.no_grad():
        torch.testing.assert_close(net(x), before, rtol=1e-5, atol=1e-5)


def test_permutation_helpers_validate() -> None:
    with pytest.raises(SparsityError, match="not a permutation"):
        permute_out(np.ones((3, 2)), np.array([0, 0, 1]))
    with pytest.raises(SparsityError, match=r"expected 4·3"):
        permute_in(np.ones((2, 10)), np.arange(4), spatial=3)
    perm = np.array([2, 0, 1])
    np.testing.assert_array_equal(perm[invert_permutation(perm)], np.arange(3))


def hidden_structure(rng: np.random.Generator, cout: int = 64, r: int = 128, g: int = 4) -> tuple:
    """Rows in blocks of g share a random support; rows then shuffled; plus noise."""
    base = np.zeros((cout, r), dtype=np.float32)
    for b in range(cout // g):
        support = rng.random(r) < 0.25
        base[b * g : (b + 1) * g, support] = rng.standard_normal((g, int(support.sum())))
    base += 0.05 * rng.standard_normal(base.shape).astype(np.float32)
    return base, base[rng.permutation(cout)]


@pytest.mark.parametrize("sparsity", [0.5, 0.75, 0.9])
def test_rearrangement_recovers_hidden_blocks(sparsity: float) -> None:
    rng = np.random.default_rng(0)
    oracle_w, w = hidden_structure(rng)
    perm = rearrange_channels(w, 4, sparsity)
    assert sorted(perm.tolist()) == list(range(64))
    before = kept_magnitude(w, 4, sparsity)
    after = kept_magnitude(w[perm], 4, sparsity)
    oracle = kept_magnitude(oracle_w, 4, sparsity)
    assert after > before
    assert after >= 0.97 * oracle
    if sparsity >= 0.75:
        assert after > 1.15 * before


def test_rearrangement_never_worse_and_respects_segments() -> None:
    for seed in range(6):
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((32, 8, 3, 3)).astype(np.float32)
        for segments in (1, 2, 4):
            perm = rearrange_channels(w, 4, 0.7, segments=segments)
            size = 32 // segments
            assert (perm // size == np.arange(32) // size).all()
            assert rearrangement_gain(w, perm, 4, 0.7) >= 1.0
    # one block per segment: nothing to gain, identity
    w = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    np.testing.assert_array_equal(rearrange_channels(w, 4, 0.5, segments=2), np.arange(8))
