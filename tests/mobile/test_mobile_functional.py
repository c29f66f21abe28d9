"""Functional mobile kernels (numpy) against torch on random layers, on the real pruned weights and formats,
including remainder pixel tiles and remainder output channels; and the cost model's work counts against
what the functional kernels actually execute."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sparsesim.mobile import costs
from sparsesim.mobile import functional as fn
from sparsesim.sparsity import (
    BlockCSR,
    CSRDelta,
    NMTensor,
    block_mask,
    group_mask,
    nm_mask,
    xnnpack_block_size,
)

ATOL = 2e-4  # fp32, different summation order than torch


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _conv_ref(x, w, b=None, stride=1, padding=0, groups=1):
    out = F.conv2d(
        torch.from_numpy(x)[None], torch.from_numpy(w), None if b is None else torch.from_numpy(b),
        stride=stride, padding=padding, groups=groups,
    )  # fmt: skip
    return out[0].numpy()


def test_pixel_subtiles_are_xnnpack_remainders():
    assert fn.pixel_subtiles(49, 32) == [32, 16, 1]
    assert fn.pixel_subtiles(196, 32) == [32] * 6 + [4]
    assert fn.pixel_subtiles(11, 12) == [8, 2, 1]
    assert fn.pixel_subtiles(7, 32) == [4, 2, 1]
    assert sum(fn.pixel_subtiles(12545, 16)) == 12545


@pytest.mark.parametrize("stride,padding,kernel", [(2, 1, 3), (1, 1, 3), (1, 0, 1)])
def test_dense_conv_im2col_gemm_matches_torch(stride, padding, kernel):
    rng = _rng(1)
    x = rng.standard_normal((5, 13, 11)).astype(np.float32)
    w = rng.standard_normal((13, 5, kernel, kernel)).astype(np.float32)  # 13 = one 8-wide tile + remainder
    b = rng.standard_normal(13).astype(np.float32)
    trace = fn.KernelTrace()
    got = fn.conv2d_gemm(x, w, b, stride=(stride, stride), padding=(padding, padding), trace=trace)
    np.testing.assert_allclose(got, _conv_ref(x, w, b, stride, padding), atol=ATOL)
    # 6x8 register tiles over pixels x Cout, k in blocks of 8 then 4/2/1
    pixels = got.shape[1] * got.shape[2]
    assert trace.tiles[6] == -(-pixels // 6) * 2
    k = 5 * kernel * kernel
    assert trace.iterations[(6, 8)] == trace.tiles[6] * (k // 8)


def test_grouped_conv_and_linear_match_torch():
    rng = _rng(2)
    x = rng.standard_normal((8, 9, 9)).astype(np.float32)
    w = rng.standard_normal((12, 4, 3, 3)).astype(np.float32)
    got = fn.conv2d_gemm(x, w, None, padding=(1, 1), groups=2)
    np.testing.assert_allclose(got, _conv_ref(x, w, None, 1, 1, 2), atol=ATOL)
    v = rng.standard_normal(37).astype(np.float32)
    wl = rng.standard_normal((21, 37)).astype(np.float32)
    bl = rng.standard_normal(21).astype(np.float32)
    trace = fn.KernelTrace()
    got = fn.linear_gemm(v, wl, bl, trace=trace)[0]
    ref = F.linear(torch.from_numpy(v), torch.from_numpy(wl), torch.from_numpy(bl)).numpy()
    np.testing.assert_allclose(got, ref, atol=ATOL)
    assert set(trace.tiles) == {1}  # the 1x8 kernel for a single row


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("hw", [(13, 11), (7, 7), (4, 5)])
def test_depthwise_chw_matches_torch(stride, hw):
    rng = _rng(3)
    c = 6
    x = rng.standard_normal((c, *hw)).astype(np.float32)
    w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    trace = fn.KernelTrace()
    got = fn.dwconv3x3_chw(x, w, b, stride=stride, trace=trace)
    np.testing.assert_allclose(got, _conv_ref(x, w, b, stride, 1, c), atol=ATOL)
    ho, wo = got.shape[1:]
    assert _same(trace, costs.dwconv_chw_trace(c, ho, wo, stride))


def _same(a: fn.KernelTrace, b: fn.KernelTrace) -> bool:
    return all(
        {k: v for k, v in getattr(a, f).items() if v} == {k: v for k, v in getattr(b, f).items() if v}
        for f in ("tiles", "rows", "iterations", "pack_rows", "groups")
    )


@pytest.mark.parametrize("stride,kernel", [(1, 3), (2, 3), (1, 5)])
def test_depthwise_hwc_matches_torch(stride, kernel):
    rng = _rng(4)
    c = 11  # one 8-channel tile + remainder
    x = rng.standard_normal((c, 9, 10)).astype(np.float32)
    w = rng.standard_normal((c, 1, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    pad = kernel // 2
    got = fn.dwconv_hwc(x.transpose(1, 2, 0), w, b, stride=(stride, stride), padding=(pad, pad))
    np.testing.assert_allclose(got.transpose(2, 0, 1), _conv_ref(x, w, b, stride, pad, c), atol=ATOL)


@pytest.mark.parametrize("nr", [1, 2, 4])
@pytest.mark.parametrize("mr", [32, 16, 8])
def test_xnnpack_spmm_on_csr_delta_matches_torch(nr, mr):
    """1x1 conv as SpMM on the real XNNPACK packing of a pruned weight; Cout = 22 leaves 2 remainder
    channels for NR = 4, 77 pixels leave remainder tiles for every MR."""
    rng = _rng(5 + nr)
    cout, cin, h, w = 22, 40, 7, 11
    weight = rng.standard_normal((cout, cin, 1, 1)).astype(np.float32)
    mask = block_mask(weight, nr if cout % nr == 0 else 1, 0.8)
    wm = np.where(mask, weight, 0).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    packed = CSRDelta.from_dense(wm, nr, bias=bias, mask=mask)
    x = rng.standard_normal((cin, h, w)).astype(np.float32)
    trace = fn.KernelTrace()
    got = fn.spmm_csr_delta(packed, x.reshape(cin, -1), mr=mr, trace=trace)
    np.testing.assert_allclose(got.reshape(cout, h, w), _conv_ref(x, wm, bias), atol=ATOL)
    shape = costs.SpmmShape.from_csr(packed, k=cin)
    assert _same(trace, costs.spmm_trace(shape, h * w, mr))


def test_xnnpack_spmm_blocked_weights_pick_nr4_and_clamp():
    rng = _rng(9)
    weight = rng.standard_normal((32, 24)).astype(np.float32)
    mask = block_mask(weight, 4, 0.75)
    wm = np.where(mask, weight, 0)
    assert xnnpack_block_size(wm, mask=mask) == 4
    packed = CSRDelta.from_dense(wm, mask=mask)
    assert packed.nr == 4
    x = rng.standard_normal((24, 45)).astype(np.float32)
    got = fn.spmm_csr_delta(packed, x, out_min=0.0, out_max=1.0)
    np.testing.assert_allclose(got, np.clip(wm @ x, 0.0, 1.0), atol=ATOL)


@pytest.mark.parametrize("g", [4, 2])
def test_group_kernel_on_block_csr_matches_torch(g):
    """Group pattern on a 3x3 conv through im2col: BlockCSR of G output channels x 1 reduction row."""
    rng = _rng(10 + g)
    cout, cin = 12, 6
    weight = rng.standard_normal((cout, cin, 3, 3)).astype(np.float32)
    mask = group_mask(weight, g, 0.6)
    wm = np.where(mask, weight, 0).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    bcsr = BlockCSR.from_dense(wm, g, mask=mask)
    x = rng.standard_normal((cin, 9, 7)).astype(np.float32)
    cols = fn.im2col(x, 3, 3, (2, 2), (1, 1))
    trace = fn.KernelTrace()
    got = fn.group_spmm(bcsr, cols, bias, mr=16, trace=trace)
    ref = _conv_ref(x, wm, bias, 2, 1)
    np.testing.assert_allclose(got.reshape(ref.shape), ref, atol=ATOL)
    assert _same(trace, costs.group_trace(costs.GroupShape.from_bcsr(bcsr), cols.shape[1], 16))


@pytest.mark.parametrize("n,m", [(2, 4), (1, 8)])
def test_nm_kernel_matches_torch(n, m):
    rng = _rng(20 + m)
    cout, cin = 5, 16
    weight = rng.standard_normal((cout, cin, 3, 3)).astype(np.float32)
    mask = nm_mask(weight, n, m, axis=1)
    wm = np.where(mask, weight, 0).astype(np.float32)
    nmt = NMTensor.from_dense(weight, n, m, axis=1, mask=mask)
    x = rng.standard_normal((cin, 8, 9)).astype(np.float32)
    cols = fn.im2col(x, 3, 3, (1, 1), (1, 1))
    bias = rng.standard_normal(cout).astype(np.float32)
    trace = fn.KernelTrace()
    got = fn.nm_spmm(nmt, cols, bias, mr=32, trace=trace)
    ref = _conv_ref(x, wm, bias, 1, 1)
    np.testing.assert_allclose(got.reshape(ref.shape), ref, atol=ATOL)
    shape = costs.NMShape(n, m, cout, cin, 9)
    assert _same(trace, costs.nm_trace(shape, cols.shape[1], 32))
    # linear layer: groups along the input features
    wl = rng.standard_normal((7, 24)).astype(np.float32)
    ml = nm_mask(wl, n, m, axis=1)
    v = rng.standard_normal((24, 3)).astype(np.float32)
    got = fn.nm_spmm(NMTensor.from_dense(wl, n, m, axis=1, mask=ml), v)
    np.testing.assert_allclose(got, np.where(ml, wl, 0) @ v, atol=ATOL)
