"""The lowered FF/BP/WU GEMMs, evaluated on real tensors, equal torch's forward and autograd's gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sparsesim.graph import reference as ref
from sparsesim.graph.lower import LayerSparsity, lower
from sparsesim.graph.trace import trace_module
from sparsesim.sparsity.bdwp import bdwp_masks


@pytest.fixture(autouse=True)
def _float64():
    """Exact comparisons in float64, restored afterwards so other tests keep torch's default."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


class OneConv(nn.Module):
    def __init__(self, cin, cout, k, stride, pad, groups, dilation=1):
        super().__init__()
        self.pre = nn.Conv2d(cin, cin, 1)  # so that the conv under test needs an input gradient
        self.conv = nn.Conv2d(
            cin, cout, k, stride=stride, padding=pad, groups=groups, dilation=dilation, bias=False
        )

    def forward(self, x):
        return self.conv(self.pre(x))


CONVS = [
    # cin, cout, k, stride, pad, groups, dilation, hw, (n, m)
    (16, 16, 3, 1, 1, 1, 1, 7, (2, 8)),
    (16, 32, 3, 2, 1, 1, 1, 9, (2, 8)),
    (8, 16, 1, 2, 0, 1, 1, 6, (2, 4)),
    (16, 16, 3, 1, 2, 2, 2, 8, (1, 4)),
    (8, 8, 3, 1, 1, 8, 1, 5, None),  # depthwise: stays dense
    (16, 8, 5, 3, 2, 1, 1, 11, (2, 4)),
]


@pytest.mark.parametrize("cin,cout,k,stride,pad,groups,dil,hw,nm", CONVS)
def test_conv_gemms_match_torch(cin, cout, k, stride, pad, groups, dil, hw, nm):
    torch.manual_seed(0)
    mod = OneConv(cin, cout, k, stride, pad, groups, dil).eval()
    g = trace_module(mod.float(), torch.randn(1, cin, hw, hw, dtype=torch.float32))
    mod = mod.double()
    w = mod.conv.weight.detach()
    if nm is not None:
        ff_mask, bp_mask = bdwp_masks(w.numpy(), nm[0], nm[1], groups=groups)
        w_ff, w_bp = w * torch.from_numpy(ff_mask), w * torch.from_numpy(bp_mask)
        ls = LayerSparsity("bdwp", float(ff_mask.mean()), float(bp_mask.mean()), nm[0], nm[1])
    else:
        w_ff = w_bp = w
        ls = LayerSparsity()
    batch = 3
    og = lower(g, mode="train", batch=batch, sparsity={"conv": ls})
    ff, bp, wu = (og.nodes[f"conv:{p}"]["op"] for p in ("FF", "BP", "WU"))
    geo = g.geometry("conv")
    assert ff.macs == bp.macs == wu.macs == g.nodes["conv"]["macs"] * batch
    if nm is not None:
        assert ff.nm == bp.nm == nm and ff.mask == "ff" and bp.mask == "bp"

    x = torch.randn(batch, cin, hw, hw, requires_grad=True)
    conv = dict(stride=stride, padding=pad, dilation=dil)
    y_ref = F.conv2d(x, w_ff, groups=groups, **conv)
    y = ref.conv_ff(ff, x.detach(), w_ff, geo, **conv)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)

    dy = torch.randn_like(y_ref)
    # Input gradient with the BP-masked weight in the backward (BDWP): autograd through a conv with w_bp.
    (dx_ref,) = torch.autograd.grad(F.conv2d(x, w_bp, groups=groups, **conv), x, dy)
    dx = ref.conv_bp(bp, dy, w_bp, geo, (hw, hw), **conv)
    torch.testing.assert_close(dx, dx_ref, rtol=1e-12, atol=1e-12)

    # Weight gradient: dense (straight-through to the dense master weight), from autograd.
    w_param = w_ff.clone().requires_grad_(True)
    (dw_ref,) = torch.autograd.grad(F.conv2d(x.detach(), w_param, groups=groups, **conv), w_param, dy)
    dw = ref.conv_wu(wu, dy, x.detach(), geo, **conv)
    torch.testing.assert_close(dw, dw_ref, rtol=1e-12, atol=1e-12)


class TwoLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 32)
        self.b = nn.Linear(32, 24, bias=False)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def test_linear_gemms_match_torch_with_tokens():
    torch.manual_seed(1)
    mod = TwoLinear().eval()
    g = trace_module(mod.float(), torch.randn(1, 5, 16, dtype=torch.float32))
    w = mod.b.weight.detach().double()
    ff_mask, bp_mask = bdwp_masks(w.numpy(), 2, 8)
    w_ff, w_bp = w * torch.from_numpy(ff_mask), w * torch.from_numpy(bp_mask)
    batch = 4
    og = lower(g, mode="train", batch=batch, sparsity={"b": LayerSparsity("bdwp", 0.25, 0.25, 2, 8)})
    ff, bp, wu = (og.nodes[f"b:{p}"]["op"] for p in ("FF", "BP", "WU"))
    assert (ff.m, ff.k, ff.n) == (24, 32, batch * 5)
    assert (bp.m, bp.k, bp.n) == (32, 24, batch * 5)
    assert (wu.m, wu.k, wu.n) == (24, batch * 5, 32)
    x = torch.randn(batch, 5, 32, requires_grad=True)
    torch.testing.assert_close(ref.linear_ff(ff, x.detach(), w_ff), F.linear(x, w_ff), rtol=1e-12, atol=1e-12)
    dy = torch.randn(batch, 5, 24)
    (dx_ref,) = torch.autograd.grad(F.linear(x, w_bp), x, dy)
    torch.testing.assert_close(ref.linear_bp(bp, dy, w_bp), dx_ref, rtol=1e-12, atol=1e-12)
    wp = w_ff.clone().requires_grad_(True)
    (dw_ref,) = torch.autograd.grad(F.linear(x.detach(), wp), wp, dy)
    torch.testing.assert_close(ref.linear_wu(wu, dy, x.detach()), dw_ref, rtol=1e-12, atol=1e-12)


def test_first_layer_has_no_data_gradient_and_training_adds_vector_work():
    mod = TwoLinear().eval()
    g = trace_module(mod, torch.randn(1, 16))
    og = lower(g, mode="train", batch=2, sparsity={"b": LayerSparsity("bdwp", 0.25, 0.25, 2, 8)})
    names = set(og.nodes)
    assert "a:BP" not in names and "a:WU" in names and "b:BP" in names
    assert {"a:UPD", "b:UPD", "b:GEN.ff", "b:GEN.bp"} <= names
    upd = {op.layer: op.params for op in og.ops("UPD")}
    assert upd == {"a": 16 * 32 + 32, "b": 32 * 24}
    gen = og.nodes["b:GEN.bp"]["op"]
    assert gen.groups * gen.m == 32 * 24
    # Dependencies: WU of a needs the gradient coming out of b's BP; UPD after WU; GEN after UPD.
    assert og.has_edge("b:BP", "relu:BP") and og.has_edge("relu:BP", "a:WU")
    assert og.has_edge("a:WU", "a:UPD") and og.has_edge("b:UPD", "b:GEN.ff")
    infer = lower(g, mode="infer", batch=2)
    assert {op.pass_ for op in infer.ops()} == {"FF"}
