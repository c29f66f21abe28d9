"""Model zoo (plain torch, seeded random weights, no downloads) and loaders for user modules and ONNX files.

Every zoo model traces with `torch.fx.symbolic_trace`: no data-dependent control flow, attention as explicit
matmul/softmax ops, residuals as `+`, and layers as nn.Modules so that their names are stable module paths.
"""

from .bert import build_bert_base
from .loader import LoadedModel, load_checkpoint, load_model
from .mobilenet import build_mobilenet_v1, build_mobilenet_v2
from .resnet import build_resnet18, build_resnet50
from .tiny import build_tiny_cnn, build_tiny_mlp
from .vgg import build_vgg16
from .vit import build_vit_small
from .zoo import ZOO, ModelKind, ZooEntry

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
