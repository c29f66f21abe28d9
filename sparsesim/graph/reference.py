"""Materialise the operands of lowered GEMMs from real tensors and evaluate them (torch).

This is the executable meaning of sparsesim.graph.lower's shapes: tests check that evaluating the FF, BP
and WU GEMMs built here reproduces torch's forward, autograd's input gradient (with the BP-masked weight in
the backward) and autograd's weight gradient. The simulators never call it; RTL benches may use it to
take real layer tiles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .layergraph import ConvGeometry
from .lower import GemmOp


def _unfold(x: torch.Tensor, geo: ConvGeometry, stride, padding, dilation) -> torch.Tensor:
    """im2col of x: [B, Cin*kh*kw, Ho*Wo], rows ordered (cin, kh, kw) like the torch weight."""
    return F.unfold(x, (geo.kh, geo.kw), dilation=dilation, padding=padding, stride=stride)


def _check(op: GemmOp, a: torch.Tensor, b: torch.Tensor) -> None:
    m, k = a.shape[-2:]
    k2, n = b.shape[-2:]
    if (m, k, n) != (op.m, op.k, op.n) or k != k2:
        raise AssertionError(
            f"{op.name}: operands {tuple(a.shape)} x {tuple(b.shape)} do not match m,n,k "
            f"= {op.m},{op.n},{op.k}"
        )


def conv_ff_operands(
    op: GemmOp, x: torch.Tensor, w: torch.Tensor, geo: ConvGeometry, stride, padding, dilation
):
    """Per group: A = W_g [Cout/g, Cin/g*kh*kw], B = im2col(X_g) [Cin/g*kh*kw, B*Ho*Wo]."""
    g = geo.groups
    cols = _unfold(x, geo, stride, padding, dilation)  # [B, Cin*kh*kw, L]
    bsz, _, length = cols.shape
    cols = (
        cols.reshape(bsz, g, geo.reduction, length)
        .permute(1, 2, 0, 3)
        .reshape(g, geo.reduction, bsz * length)
    )
    a = w.reshape(g, geo.cout // g, geo.reduction)
    _check(op, a, cols)
    return a, cols


def conv_ff(op: GemmOp, x, w, geo, stride, padding, dilation) -> torch.Tensor:
    a, b = conv_ff_operands(op, x, w, geo, stride, padding, dilation)
    c = a @ b  # [g, Cout/g, B*L]
    bsz = x.shape[0]
    return c.reshape(geo.cout, bsz, geo.ho, geo.wo).permute(1, 0, 2, 3)


def conv_bp(
    op: GemmOp, dy: torch.Tensor, w_bp: torch.Tensor, geo, in_hw, stride, padding, dilation
) -> torch.Tensor:
    """dX = col2im(W_bp^T . dY): per group A = W_g^T [Cin/g*kh*kw, Cout/g], B = dY_g [Cout/g, B*Ho*Wo]."""
    g = geo.groups
    bsz = dy.shape[0]
    a = w_bp.reshape(g, geo.cout // g, geo.reduction).transpose(1, 2)
    b = dy.reshape(bsz, g, geo.cout // g, geo.ho * geo.wo).permute(1, 2, 0, 3).reshape(g, geo.cout // g, -1)
    _check(op, a, b)
    dcols = a @ b  # [g, red, B*L]
    dcols = dcols.reshape(g, geo.reduction, bsz, -1).permute(2, 0, 1, 3).reshape(bsz, g * geo.reduction, -1)
    return F.fold(dcols, in_hw, (geo.kh, geo.kw), dilation=dilation, padding=padding, stride=stride)


def conv_wu(op: GemmOp, dy: torch.Tensor, x: torch.Tensor, geo, stride, padding, dilation) -> torch.Tensor:
    """dW_g = dY_g [Cout/g, B*Ho*Wo] . im2col(X_g)^T [B*Ho*Wo, Cin/g*kh*kw]."""
    g = geo.groups
    bsz = dy.shape[0]
    a = dy.reshape(bsz, g, geo.cout // g, geo.ho * geo.wo).permute(1, 2, 0, 3).reshape(g, geo.cout // g, -1)
    cols = _unfold(x, geo, stride, padding, dilation)
    length = cols.shape[-1]
    b = (
        cols.reshape(bsz, g, geo.reduction, length)
        .permute(1, 0, 3, 2)
        .reshape(g, bsz * length, geo.reduction)
    )
    _check(op, a, b)
    return (a @ b).reshape(geo.cout, geo.cin // g, geo.kh, geo.kw)


def linear_ff(op: GemmOp, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Y^T [Cout, rows] = W [Cout, Cin] . X^T [Cin, rows]."""
    xt = x.reshape(-1, x.shape[-1]).T
    _check(op, w, xt)
    return (w @ xt).T.reshape(*x.shape[:-1], w.shape[0])


def linear_bp(op: GemmOp, dy: torch.Tensor, w_bp: torch.Tensor) -> torch.Tensor:
    """dX^T [Cin, rows] = W_bp^T [Cin, Cout] . dY^T [Cout, rows]."""
    a = w_bp.T
    b = dy.reshape(-1, dy.shape[-1]).T
    _check(op, a, b)
    return (a @ b).T.reshape(*dy.shape[:-1], w_bp.shape[1])


def linear_wu(op: GemmOp, dy: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """dW [Cout, Cin] = dY^T [Cout, rows] . X [rows, Cin]."""
    a = dy.reshape(-1, dy.shape[-1]).T
    b = x.reshape(-1, x.shape[-1])
    _check(op, a, b)
    return a @ b
