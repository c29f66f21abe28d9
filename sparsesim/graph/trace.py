"""Trace a torch module (torch.fx + shape propagation) into a LayerGraph.

Shape-only ops (view, reshape, flatten, permute, transpose, getitem, dropout, ...) are not operators of the
workload: they are contracted, so an edge runs from the op producing a tensor to every op consuming it.
Constants (parameters read by `get_attr`, `arange`, ...) are not nodes either.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

from ..errors import ModelError
from .layergraph import WEIGHT_KINDS, LayerGraph, conv_macs, linear_macs, matmul_macs

_ACT_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.LeakyReLU,
    nn.ELU,
    nn.Mish,
    nn.Hardtanh,
    nn.PReLU,
)
_NORM_MODULES = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.InstanceNorm2d,
)
_POOL_MODULES = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
)
_PASS_MODULES = (nn.Dropout, nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout2d)

_ACT_FUNCS = {
    torch.relu,
    F.relu,
    F.relu6,
    F.gelu,
    torch.sigmoid,
    F.sigmoid,
    torch.tanh,
    F.tanh,
    F.silu,
    F.hardswish,
    F.hardtanh,
    F.leaky_relu,
    F.elu,
    torch.nn.functional.mish,
}
_ACT_METHODS = {"relu", "relu_", "sigmoid", "tanh", "gelu", "clamp", "clamp_min", "clip"}
_SOFTMAX = {torch.softmax, F.softmax, F.log_softmax, torch.log_softmax}
_SOFTMAX_METHODS = {"softmax", "log_softmax"}
_POOL_FUNCS = {
    F.max_pool2d,
    F.avg_pool2d,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d,
    torch.mean,
    torch.amax,
    torch.max_pool2d,
    torch.avg_pool1d,
}
_POOL_METHODS = {"mean", "amax", "max", "sum"}
_NORM_FUNCS = {F.layer_norm, F.batch_norm, F.group_norm}
_MATMUL = {torch.matmul, operator.matmul, torch.bmm, torch.mm}
_MATMUL_METHODS = {"matmul", "bmm", "mm"}
_ADD = {operator.add, torch.add, operator.iadd, operator.sub, torch.sub}
_ADD_METHODS = {"add", "add_", "sub"}
_MUL = {operator.mul, torch.mul, operator.truediv, torch.div, operator.imul}
_MUL_METHODS = {"mul", "mul_", "div"}
_CONCAT = {torch.cat, torch.concat, torch.stack}
_PASS_FUNCS = {
    torch.flatten,
    torch.reshape,
    torch.permute,
    torch.transpose,
    torch.squeeze,
    torch.unsqueeze,
    operator.getitem,
    F.dropout,
    torch.chunk,
    torch.split,
    torch.t,
    torch.narrow,
    torch.contiguous_format,
}
_PASS_METHODS = {
    "view",
    "reshape",
    "flatten",
    "permute",
    "transpose",
    "contiguous",
    "squeeze",
    "unsqueeze",
    "expand",
    "expand_as",
    "t",
    "chunk",
    "split",
    "unbind",
    "to",
    "type",
    "float",
    "half",
    "detach",
    "clone",
    "narrow",
    "repeat",
    "view_as",
}


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return tuple(int(d) for d in shape) if shape is not None else None


def _tensor_args(node: fx.Node) -> list[fx.Node]:
    """Node arguments that carry tensors, in argument order (flattening lists such as torch.cat's)."""
    found: list[fx.Node] = []

    def visit(arg: Any) -> None:
        if isinstance(arg, fx.Node):
            if arg.op == "get_attr" or _shape(arg) is not None or arg.op == "placeholder":
                found.append(arg)
            elif isinstance(arg.meta.get("tensor_meta"), tuple | list):
                found.append(arg)  # a tuple of tensors (split/chunk); getitem picks one
        elif isinstance(arg, tuple | list):
            for a in arg:
                visit(a)
        elif isinstance(arg, dict):
            for a in arg.values():
                visit(a)

    for a in node.args:
        visit(a)
    for a in node.kwargs.values():
        visit(a)
    return found


def _tuple2(value: Any, dims: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    return tuple(int(v) for v in value)


def _classify_module(mod: nn.Module) -> str:
    if isinstance(mod, nn.modules.conv._ConvNd):
        if mod.groups == 1:
            return "conv"
        return (
            "dwconv" if mod.groups == mod.in_channels and mod.out_channels % mod.in_channels == 0 else "gconv"
        )
    if isinstance(mod, nn.Linear):
        return "linear"
    if isinstance(mod, _ACT_MODULES):
        return "act"
    if isinstance(mod, _NORM_MODULES):
        return "norm"
    if isinstance(mod, _POOL_MODULES):
        return "pool"
    if isinstance(mod, nn.Softmax | nn.LogSoftmax):
        return "softmax"
    if isinstance(mod, nn.Embedding):
        return "embedding"
    if isinstance(mod, _PASS_MODULES):
        return "pass"
    return "other"


def _classify_call(node: fx.Node, n_tensor_args: int) -> str:
    target = node.target
    if node.op == "call_method":
        name = str(target)
        if name in _PASS_METHODS:
            return "pass"
        if name in _MATMUL_METHODS:
            return "matmul"
        if name in _ACT_METHODS:
            return "act"
        if name in _SOFTMAX_METHODS:
            return "softmax"
        if name in _POOL_METHODS:
            return "pool"
        if name in _ADD_METHODS:
            return "add" if n_tensor_args >= 2 else "eltwise"
        if name in _MUL_METHODS:
            return "mul" if n_tensor_args >= 2 else "eltwise"
        return "other"
    if target in _PASS_FUNCS:
        return "pass"
    if target in _MATMUL:
        return "matmul"
    if target in _ACT_FUNCS:
        return "act"
    if target in _SOFTMAX:
        return "softmax"
    if target in _POOL_FUNCS:
        return "pool"
    if target in _NORM_FUNCS:
        return "norm"
    if target in _ADD:
        return "add" if n_tensor_args >= 2 else "eltwise"
    if target in _MUL:
        return "mul" if n_tensor_args >= 2 else "eltwise"
    if target in _CONCAT:
        return "concat"
    if target is getattr:
        return "pass"
    return "other"


def _op_name(node: fx.Node, mod: nn.Module | None) -> str:
    if mod is not None:
        return type(mod).__name__
    target = node.target
    return str(target) if isinstance(target, str) else getattr(target, "__name__", str(target))


def trace_module(module: nn.Module, example_input: Any, *, name: str = "model") -> LayerGraph:
    """Trace `module` on `example_input` (batch 1) into a LayerGraph with weights attached."""
    module = module.eval()
    try:
        gm = fx.symbolic_trace(module)
    except Exception as exc:  # fx raises many types; all mean "not symbolically traceable"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"cannot trace '{name}' with torch.fx ({reason[:160]}); make forward() free of data-dependent "
            "control flow, or export the model to ONNX and give the .onnx file",
            path="model.name",
        ) from None
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(*inputs)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"running '{name}' on an input of shape {[tuple(t.shape) for t in inputs]} failed "
            f"({reason[:160]}); "
            "check model.input_size / model.input_shape",
            path="model",
        ) from None
    modules = dict(gm.named_modules())
    graph = LayerGraph(model=name, source="torch")
    # Map every fx node to the LayerGraph nodes that produce its data (several for a contracted tuple).
    producers: dict[fx.Node, list[str]] = {}
    const: set[fx.Node] = set()
    calls: dict[str, int] = {}  # module path -> times called so far
    order = 0
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        if node.op == "get_attr":
            const.add(node)
            producers[node] = []
            continue
        targs = _tensor_args(node)
        if node.op == "placeholder":
            kind, mod = "input", None
        elif node.op == "call_module":
            mod = modules[str(node.target)]
            kind = _classify_module(mod)
        else:
            mod = None
            if targs and all(a in const for a in targs) or (not targs and node.op == "call_function"):
                const.add(node)  # arange, zeros, a parameter reshaped, ...: not part of the data path
                producers[node] = []
                continue
            kind = _classify_call(node, len(targs))
        if kind == "pass" or (_shape(node) is None and kind != "input"):
            producers[node] = [p for a in targs for p in producers.get(a, [])]
            continue
        lname = str(node.target) if node.op == "call_module" else node.name
        attrs = _node_attrs(node, kind, mod, targs)
        if node.op == "call_module":
            # A module called more than once (torchvision's shared ReLU, a weight-tied layer) is one
            # operator per call; repeated calls of a weight layer share the first call's weight and masks.
            calls[lname] = calls.get(lname, 0) + 1
            if calls[lname] > 1:
                first = lname
                lname = f"{lname}@{calls[lname]}"
                attrs["params"] = 0  # counted (and updated) once, at the first call
                if kind in WEIGHT_KINDS:
                    attrs["shares_weights_with"] = first
        graph.add_node(lname, kind=kind, op=_op_name(node, mod), order=order, **attrs)
        order += 1
        if mod is not None and kind in WEIGHT_KINDS and "shares_weights_with" not in attrs:
            graph.weights[lname] = mod.weight.detach().to(torch.float32).cpu().numpy()
        for a in targs:
            for p in producers.get(a, []):
                if p != lname:
                    graph.add_edge(p, lname)
        producers[node] = [lname]
    graph.graph["input_shapes"] = [list(t.shape) for t in inputs]
    graph.graph["total_params"] = sum(p.numel() for p in module.parameters())
    return graph


def _node_attrs(node: fx.Node, kind: str, mod: nn.Module | None, targs: list[fx.Node]) -> dict[str, Any]:
    out_shape = _shape(node) or ()
    in_shapes = [s for s in (_shape(a) for a in targs if a.op != "get_attr") if s is not None]
    attrs: dict[str, Any] = {
        "in_shapes": in_shapes,
        "out_shape": out_shape,
        "out_elems": math.prod(out_shape) if out_shape else 0,
        "weight_shape": None,
        "params": sum(p.numel() for p in mod.parameters(recurse=False)) if mod is not None else 0,
        "bias": False,
        "macs": 0,
    }
    if kind in ("conv", "dwconv", "gconv"):
        assert isinstance(mod, nn.modules.conv._ConvNd)
        dims = mod.weight.dim() - 2
        wshape = tuple(int(d) for d in mod.weight.shape)
        attrs.update(
            weight_shape=wshape,
            bias=mod.bias is not None,
            groups=int(mod.groups),
            kernel=_tuple2(mod.kernel_size, dims),
            stride=_tuple2(mod.stride, dims),
            padding=_tuple2(mod.padding, dims) if not isinstance(mod.padding, str) else mod.padding,
            dilation=_tuple2(mod.dilation, dims),
            macs=conv_macs(out_shape, wshape),
        )
    elif kind == "linear":
        assert isinstance(mod, nn.Linear)
        wshape = tuple(int(d) for d in mod.weight.shape)
        attrs.update(
            weight_shape=wshape,
            bias=mod.bias is not None,
            macs=linear_macs(out_shape, wshape[1]),
            tokens=math.prod(out_shape[1:-1]) if len(out_shape) > 2 else 1,
        )
    elif kind == "matmul":
        a = in_shapes[0] if in_shapes else ()
        k = a[-1] if a else 0
        attrs.update(macs=matmul_macs(out_shape, k))
    elif kind == "pool" and mod is not None:
        ks = getattr(mod, "kernel_size", None)
        if ks is not None:
            dims = len(out_shape) - 2
            attrs.update(kernel=_tuple2(ks, dims), stride=_tuple2(mod.stride or ks, dims))
    return attrs
