"""ViT-Small/16 as trained by DeiT (DeiT-S: 22.05 M parameters, 4.6 G MACs at 224).

Names and state_dict keys follow timm's VisionTransformer (patch_embed.proj, cls_token, pos_embed,
blocks.N.norm1/attn.qkv/attn.proj/norm2/mlp.fc1/mlp.fc2, norm, head), so a timm DeiT-S state_dict loads
as a `model.checkpoint`. Classification uses the cls token; there is no distillation token.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sparsesim.errors import ModelError

from ._checks import check_image_size, check_positive
from ._init import build_seeded
from .attention import attend, merge_heads


class PatchEmbed(nn.Module):
    """Non-overlapping patches by a conv with kernel = stride = patch: [B,3,H,W] -> [B, H*W/patch^2, dim]."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """One fused qkv projection (as timm), explicit attention ops, output projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        # [B, N, 3*dim] -> [3, B, heads, N, head_dim]
        qkv = self.qkv(x).unflatten(-1, (3, self.num_heads, self.head_dim)).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # indexing, not unpacking: fx cannot iterate a proxy
        return self.proj(merge_heads(attend(q, k, v, self.scale)))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(
        self,
        *,
        img_size: int,
        patch_size: int,
        num_classes: int,
        embed_dim: int,
        depth: int,
        num_heads: int,
        mlp_ratio: float,
    ) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(patch_size, 3, embed_dim)
        num_patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.empty(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.empty(1, num_patches + 1, embed_dim))
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def init_own_tensors(self, generator: torch.Generator) -> None:
        """cls token and position table: N(0, 0.02), as DeiT (see _init.init_weights)."""
        for tensor in (self.cls_token, self.pos_embed):
            nn.init.normal_(tensor, 0.0, 0.02, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def build_vit_small(
    *,
    num_classes: int = 1000,
    input_size: int = 224,
    seq_len: int | None = None,
    seed: int = 0,
    patch_size: int = 16,
    embed_dim: int = 384,
    depth: int = 12,
    num_heads: int = 6,
    mlp_ratio: float = 4.0,
) -> VisionTransformer:
    """DeiT-S by default; `depth` etc. make smaller variants. The position table is sized for `input_size`
    (which must be a multiple of `patch_size`); `seq_len` is ignored (the token count follows the image)."""
    name = "vit_small"
    check_positive("model.num_classes", num_classes, name)
    for key, value in (
        ("patch_size", patch_size),
        ("embed_dim", embed_dim),
        ("depth", depth),
        ("num_heads", num_heads),
    ):
        check_positive(f"model.kwargs.{key}", value, name)
    if embed_dim % num_heads:
        raise ModelError(
            f"{name} embed_dim {embed_dim} is not divisible by num_heads {num_heads}", path="model.kwargs"
        )
    check_image_size(input_size, name, minimum=patch_size, multiple=patch_size)
    return build_seeded(
        lambda: VisionTransformer(
            img_size=input_size,
            patch_size=patch_size,
            num_classes=num_classes,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
        ),
        seed=seed,
        style="transformer",
    )
