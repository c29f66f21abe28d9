"""Multi-head attention written as explicit tensor ops, shared by ViT and BERT.

`F.scaled_dot_product_attention` and `nn.MultiheadAttention` would hide the two attention GEMMs inside one
opaque call; here torch.fx sees `matmul(q, k^T)`, a scalar multiply, `softmax` and `matmul(p, v)` as four
nodes, so the graph builder can cost QK^T and PV as the batched GEMMs they are.
Head split/merge uses `unflatten`/`flatten`, which need no symbolic sizes.
"""

from __future__ import annotations

import torch
from torch import Tensor


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """[batch, tokens, heads*dim] -> [batch, heads, tokens, dim]."""
    return x.unflatten(-1, (num_heads, -1)).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """[batch, heads, tokens, dim] -> [batch, tokens, heads*dim]."""
    return x.transpose(1, 2).flatten(2)


def attend(q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
    """softmax(q k^T * scale) v over the last two dims (no mask: every token is valid)."""
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs, v)
