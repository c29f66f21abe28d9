"""The registry of built-in models: name -> how to build it and what input it takes.

Importing this module does not import torch: `sparsesim models`, `validate` and the spec read names, defaults
and descriptions only. The factory (and torch with it) is imported when a model is built.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch
    from torch import nn

ModelKind = Literal["image", "tokens", "vector"]

# Keyword arguments every factory takes; the workload sets them as model.<name>, never in model.kwargs.
COMMON_ARGS: tuple[str, ...] = ("num_classes", "input_size", "seq_len", "seed")


@dataclass(frozen=True)
class ZooEntry:
    """One built-in model.

    `kind` says what the model eats: "image" ([B, 3, S, S] floats), "tokens" ([B, seq_len] token ids) or
    "vector" ([B, features] floats). Defaults apply when the workload leaves a knob unset. `factory_path`
    ("module:function", relative to this package) names the factory; `factory` imports it.
    """

    name: str
    factory_path: str
    kind: ModelKind
    default_input_size: int | None
    default_seq_len: int | None
    default_num_classes: int
    description: str

    @property
    def factory(self) -> Callable[..., nn.Module]:
        module_name, _, function = self.factory_path.partition(":")
        return getattr(importlib.import_module(f"{__package__}.{module_name}"), function)

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
        import torch

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
        ZooEntry("bert_base", "bert:build_bert_base", "tokens", None, 128, 2,
                 "BERT-base encoder (12 x 768, 12 heads) + pooler + classifier; token ids in, logits out"),
        ZooEntry("mobilenet_v1", "mobilenet:build_mobilenet_v1", "image", 224, None, 1000,
                 "MobileNet v1, width 1.0: 13 depthwise-separable blocks (4.23 M params, 569 M MACs)"),
        ZooEntry("mobilenet_v2", "mobilenet:build_mobilenet_v2", "image", 224, None, 1000,
                 "MobileNet v2, width 1.0, torchvision layout (3.50 M params, 301 M MACs)"),
        ZooEntry("resnet18", "resnet:build_resnet18", "image", 224, None, 1000,
                 "ResNet-18, torchvision layout (11.69 M params, 1.81 G MACs)"),
        ZooEntry("resnet50", "resnet:build_resnet50", "image", 224, None, 1000,
                 "ResNet-50 v1.5, torchvision layout (25.56 M params, 4.09 G MACs)"),
        ZooEntry("tiny_cnn", "tiny:build_tiny_cnn", "image", 32, None, 10,
                 "3-conv CNN for 32x32 images, for fast tests"),
        ZooEntry("tiny_mlp", "tiny:build_tiny_mlp", "vector", None, None, 10,
                 "64-128-128-10 MLP on feature vectors, for fast tests"),
        ZooEntry("vgg16", "vgg:build_vgg16", "image", 224, None, 1000,
                 "VGG-16 (config D, no BN), torchvision layout (138.36 M params, 15.47 G MACs)"),
        ZooEntry("vit_small", "vit:build_vit_small", "image", 224, None, 1000,
                 "ViT-S/16 as DeiT-S: 12 blocks, dim 384, 6 heads (22.05 M params, 4.6 G MACs)"),
    )
}  # fmt: skip
