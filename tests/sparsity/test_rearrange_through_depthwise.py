"""Whole-network rearrangement: a 1x1 conv's output permutation passes through a depthwise conv (its filters
permuted too) into the next 1x1 conv, and the network computes the same function."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from sparsesim.graph.trace import trace_module
from sparsesim.pipeline import weight_layers
from sparsesim.sparsity import permute_out, prune_layers
from sparsesim.spec import SparsitySpec


class PwDwPw(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.pw1 = nn.Conv2d(16, 32, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.pw2 = nn.Conv2d(32, 16, 1, bias=False)
        self.head = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        y = torch.relu(self.bn1(self.pw1(self.stem(x))))
        y = torch.relu(self.bn2(self.dw(y)))
        return self.head(self.pw2(y))


def test_rearrangement_passes_through_depthwise_and_preserves_the_function():
    torch.manual_seed(0)
    net = PwDwPw().eval()
    for bn in (net.bn1, net.bn2):  # non-trivial BN so that forgetting to permute it would show
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 2)
        bn.bias.data.uniform_(-1, 1)
    # Give pw1 rows with hidden block structure so rearranging them pays off.
    base = torch.randn(4, 16).abs() * (torch.rand(4, 16) > 0.5)
    rows = base.repeat_interleave(8, 0) + 0.01 * torch.randn(32, 16)
    net.pw1.weight.data = rows[torch.randperm(32)].reshape(32, 16, 1, 1)
    x = torch.randn(2, 3, 8, 8)
    want = net(x)

    g = trace_module(net, x[:1])
    layers = {wl.name: wl for wl in weight_layers(g)}
    assert layers["pw1"].consumers == ("pw2",) and layers["pw1"].through == ("dw",)
    spec = SparsitySpec(pattern="group", group_size=4, sparsity=0.5, rearrange=True, keep_first_dense=True)
    res = prune_layers(list(layers.values()), spec)
    perm = res.by_name("pw1").permutation
    assert perm is not None and not np.array_equal(perm, np.arange(32))

    # Fold into the torch model: every weight as prune_layers permuted it (pw1 rows, dw filters, pw2 inputs;
    # pw2 is rearranged too, into head's inputs), plus the per-channel BN parameters and head's bias-free
    # inputs; biases of permuted convs follow their rows.
    with torch.no_grad():
        for name in ("stem", "pw1", "dw", "pw2", "head"):
            getattr(net, name).weight.copy_(torch.from_numpy(res.weights[name]))
        for bn in (net.bn1, net.bn2):
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                t.copy_(torch.from_numpy(permute_out(t.numpy(), perm)))
    torch.testing.assert_close(net(x), want, rtol=1e-5, atol=1e-5)
