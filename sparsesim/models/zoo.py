"""The registry of built-in models: name -> how to build it and what input it takes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from .bert import build_bert_base
from .mobilenet import build_mobilenet_v1, build_mobilenet_v2
from .resnet import build_resnet18, build_resnet50
from .tiny import build_tiny_cnn, build_tiny_mlp
from .vgg import build_vgg16
from .vit import build_vit_small

ModelKind = Literal["image", "tokens", "vector"]

# Keyword arguments every factory takes; the workload sets them as model.<name>, never in model.kwargs.
COMMON_ARGS: tuple[str, ...] = ("num_classes", "input_size", "seq_len", "seed")


@dataclass(frozen=True)
class ZooEntry:
    """One built-in model.

    `kind` says what the model eats: "image" ([B, 3, S, S] floats), "tokens" ([B, seq_len] token ids) or
    "vector" ([B, features] floats). Defaults apply when the workload leaves a knob unset.
    """

    name: str
    factory: Callable[..., nn.Module]
    kind: ModelKind
    default_input_size: int | None
    default_seq_len: int | None
    default_num_classes: int
    description: str

    def extra_kwargs(self) -> tuple[str, ...]:
        """Factory keywords beyond COMMON_ARGS (what model.kwargs may set)."""
        params = inspect.signature(self.factory).parameters
        return tuple(p for p in params if p not in COMMON_ARGS)

    def build(
        self,
        *,
        num_classes: int | None = None,
        input_size: int | None = None,
        seq_len: int | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> nn.Module:
        """Build in eval mode, unset knobs taking this entry's defaults."""
        return self.factory(
            num_classes=self.default_num_classes if num_classes is None else num_classes,
            input_size=self.default_input_size if input_size is None else input_size,
            seq_len=self.default_seq_len if seq_len is None else seq_len,
            seed=seed,
            **kwargs,
        ).eval()

    def example_input(
        self, module: nn.Module, *, input_size: int | None = None, seq_len: int | None = None, seed: int = 0
    ) -> torch.Tensor:
        """A batch-1 input for `module` (built from this entry), drawn from `seed`."""
        generator = torch.Generator().manual_seed(int(seed))
        if self.kind == "image":
            size = self.default_input_size if input_size is None else input_size
            return torch.randn(1, 3, size, size, generator=generator)
        if self.kind == "tokens":
            length = self.default_seq_len if seq_len is None else seq_len
            return torch.randint(0, int(module.vocab_size), (1, length), generator=generator)
        return torch.randn(1, int(module.in_features), generator=generator)


ZOO: dict[str, ZooEntry] = {
    entry.name: entry
    for entry in (
        ZooEntry("bert_base", build_bert_base, "tokens", None, 128, 2,
                 "BERT-base encoder (12 x 768, 12 heads) + pooler + classifier; token ids in, logits out"),
        ZooEntry("mobilenet_v1", build_mobilenet_v1, "image", 224, None, 1000,
                 "MobileNet v1, width 1.0: 13 depthwise-separable blocks (4.23 M params, 569 M MACs)"),
        ZooEntry("mobilenet_v2", build_mobilenet_v2, "image", 224, None, 1000,
                 "MobileNet v2, width 1.0, torchvision layout (3.50 M params, 301 M MACs)"),
        ZooEntry("resnet18", build_resnet18, "image", 224, None, 1000,
                 "ResNet-18, torchvision layout (11.69 M params, 1.81 G MACs)"),
        ZooEntry("resnet50", build_resnet50, "image", 224, None, 1000,
                 "ResNet-50 v1.5, torchvision layout (25.56 M params, 4.09 G MACs)"),
        ZooEntry("tiny_cnn", build_tiny_cnn, "image", 32, None, 10,
                 "3-conv CNN for 32x32 images, for fast tests"),
        ZooEntry("tiny_mlp", build_tiny_mlp, "vector", None, None, 10,
                 "64-128-128-10 MLP on feature vectors, for fast tests"),
        ZooEntry("vgg16", build_vgg16, "image", 224, None, 1000,
                 "VGG-16 (config D, no BN), torchvision layout (138.36 M params, 15.47 G MACs)"),
        ZooEntry("vit_small", build_vit_small, "image", 224, None, 1000,
                 "ViT-S/16 as DeiT-S: 12 blocks, dim 384, 6 heads (22.05 M params, 4.6 G MACs)"),
    )
}  # fmt: skip
