"""Model zoo (plain torch, seeded random weights, no downloads) and loaders for user modules and ONNX files.

Every zoo model traces with `torch.fx.symbolic_trace`: no data-dependent control flow, attention as explicit
matmul/softmax ops, residuals as `+`, and layers as nn.Modules so that their names are stable module paths.

`ZOO` (names, defaults, descriptions) imports without torch; the factories and loaders below import torch
when first used (PEP 562 module `__getattr__`), so listing models or validating a workload stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .zoo import ZOO, ModelKind, ZooEntry

if TYPE_CHECKING:
    from .bert import build_bert_base
    from .loader import LoadedModel, load_checkpoint, load_model
    from .mobilenet import build_mobilenet_v1, build_mobilenet_v2
    from .resnet import build_resnet18, build_resnet50
    from .tiny import build_tiny_cnn, build_tiny_mlp
    from .vgg import build_vgg16
    from .vit import build_vit_small

# name -> submodule that defines it (each imports torch)
_LAZY = {
    "build_bert_base": "bert",
    "build_mobilenet_v1": "mobilenet",
    "build_mobilenet_v2": "mobilenet",
    "build_resnet18": "resnet",
    "build_resnet50": "resnet",
    "build_tiny_cnn": "tiny",
    "build_tiny_mlp": "tiny",
    "build_vgg16": "vgg",
    "build_vit_small": "vit",
    "LoadedModel": "loader",
    "load_checkpoint": "loader",
    "load_model": "loader",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "ZOO",
    "LoadedModel",
    "ModelKind",
    "ZooEntry",
    "build_bert_base",
    "build_mobilenet_v1",
    "build_mobilenet_v2",
    "build_resnet18",
    "build_resnet50",
    "build_tiny_cnn",
    "build_tiny_mlp",
    "build_vgg16",
    "build_vit_small",
    "load_checkpoint",
    "load_model",
]
