"""Trace a torch module (torch.fx + shape propagation) into a LayerGraph.

Shape-only ops (view, reshape, flatten, permute, transpose, getitem, dropout, ...) are not operators of the
workload: they are contracted, so an edge runs from the op producing a tensor to every op consuming it.
Constants (parameters read by `get_attr`, `arange`, ...) are not nodes either.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from ..errors import ModelError
from .layergraph import WEIGHT_KINDS, LayerGraph, conv_macs, linear_macs, matmul_macs
from .weights import Weights

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


# Shapes of the ops below follow from their inputs' shapes by definition, so on meta tensors they are made
# here instead of run: PyTorch implements the meta kernels of elementwise ops, normalisations, cat, adaptive
# average pooling and a linear layer's bias (addmm) by Python decompositions whose first call imports
# torch._dynamo, which costs as much as importing torch itself (tests/graph/test_meta_shapes.py checks both
# the shapes, against a real run, and that torch._dynamo stays unimported). Every other op runs on meta
# tensors (C++ or Python meta kernels).
_SAME_SHAPE_MODULES = _ACT_MODULES + _NORM_MODULES + (nn.Dropout, nn.Dropout2d, nn.Identity)
_SAME_SHAPE_FUNCS = _ACT_FUNCS | _NORM_FUNCS  # the output has the first argument's shape and dtype
_SAME_SHAPE_METHODS = _ACT_METHODS
_BINARY_FUNCS = _ADD | _MUL  # broadcast of two operands
_BINARY_METHODS = _ADD_METHODS | _MUL_METHODS
# torch.*_like(x, ...) -> a tensor of x's shape (on meta, their Python references import sympy): positional
# arguments each takes
_LIKE_FUNCS = {
    torch.ones_like: 1, torch.zeros_like: 1, torch.empty_like: 1, torch.rand_like: 1, torch.randn_like: 1,
    torch.full_like: 2,
}  # fmt: skip
_TRUE_DIVISION = {operator.truediv, torch.div, "div"}  # integer operands give floats


def _meta_like(x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A meta tensor of `x`'s shape (torch.empty_like of a meta tensor runs a Python reference that imports
    sympy; the strides it would keep do not matter here, only shapes are read)."""
    return torch.empty(x.shape, dtype=x.dtype if dtype is None else dtype, device="meta")


def _is_meta(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_meta


def _binary(target: Any, a: Any, b: Any) -> torch.Tensor | None:
    """The result of an elementwise `a op b` (a tensor or a Python number each), or None if not one."""
    if not all(_is_meta(x) or isinstance(x, int | float | bool) for x in (a, b)) or not (
        _is_meta(a) or _is_meta(b)
    ):
        return None
    shapes = [x.shape for x in (a, b) if isinstance(x, torch.Tensor)]
    dtype = torch.result_type(a, b)
    if target in _TRUE_DIVISION and not (dtype.is_floating_point or dtype.is_complex):
        dtype = torch.get_default_dtype()
    shape = _broadcast(shapes)
    return None if shape is None else torch.empty(shape, dtype=dtype, device="meta")


def _matmul(a: Any, b: Any) -> torch.Tensor | None:
    """`a @ b` for two meta tensors of at least two dims and one dtype: (..., n, k) @ (..., k, m) ->
    (..., n, m) with the batch dims broadcast (torch.matmul's rule); None otherwise (torch then runs it)."""
    if not (_is_meta(a) and _is_meta(b)) or a.dim() < 2 or b.dim() < 2 or a.dtype != b.dtype:
        return None
    if a.shape[-1] != b.shape[-2]:
        return None
    batch = _broadcast([a.shape[:-2], b.shape[:-2]])
    if batch is None:
        return None
    return torch.empty((*batch, a.shape[-2], b.shape[-1]), dtype=a.dtype, device="meta")


def _broadcast(shapes: list[torch.Size]) -> tuple[int, ...] | None:
    """The broadcast of `shapes` (PyTorch's rule, as NumPy's: align the trailing dims, a 1 stretches), or None
    when they do not broadcast (torch then raises). torch.broadcast_shapes computes it by a Python reference
    that imports sympy."""
    out: list[int] = []
    for dims in itertools.zip_longest(*(reversed(s) for s in shapes), fillvalue=1):
        sizes = {int(d) for d in dims} - {1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def _cat(tensors: Any, dim: int = 0) -> torch.Tensor | None:
    """torch.cat's result for same-rank meta tensors that agree off `dim`, or None (let torch decide)."""
    if not isinstance(tensors, tuple | list) or not tensors or not all(_is_meta(t) for t in tensors):
        return None
    ndim = tensors[0].dim()
    if ndim == 0 or any(t.dim() != ndim for t in tensors) or not -ndim <= dim < ndim:
        return None
    dim %= ndim
    rest = [tuple(t.shape[:dim]) + tuple(t.shape[dim + 1 :]) for t in tensors]
    if any(r != rest[0] for r in rest):
        return None
    shape = list(tensors[0].shape)
    shape[dim] = sum(int(t.shape[dim]) for t in tensors)
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    return torch.empty(shape, dtype=dtype, device="meta")


def _conv_out(mod: nn.Conv1d | nn.Conv2d | nn.Conv3d, x: torch.Tensor) -> torch.Tensor | None:
    """A convolution's result on meta tensors, from the output-size formula of torch.nn.Conv2d's
    documentation: out = floor((in + 2 padding - dilation (kernel - 1) - 1) / stride) + 1 per spatial dim.
    PyTorch's meta convolution computes the same through `torch._check`, whose first call imports sympy
    (a third of a second). None for anything but a well-formed input (torch then runs and raises)."""
    dims = mod.weight.dim() - 2
    if x.dim() not in (dims + 1, dims + 2) or x.shape[-dims - 1] != mod.in_channels:
        return None
    if x.dtype != mod.weight.dtype:
        return None
    size = tuple(int(d) for d in x.shape[-dims:])
    kernel, stride, dilation = (_tuple2(v, dims) for v in (mod.kernel_size, mod.stride, mod.dilation))
    if mod.padding == "same":
        out = size  # PyTorch allows 'same' with stride 1 only
    else:
        padding = (0,) * dims if mod.padding == "valid" else _tuple2(mod.padding, dims)
        out = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, p, d, k, s in zip(size, padding, dilation, kernel, stride, strict=True)
        )
    if min(out) < 1:
        return None
    return torch.empty((*x.shape[: -dims - 1], mod.out_channels, *out), dtype=x.dtype, device="meta")


def _pool_out(
    mod: nn.MaxPool1d | nn.MaxPool2d | nn.AvgPool1d | nn.AvgPool2d, x: torch.Tensor
) -> torch.Tensor | None:
    """A max/average pooling's result on meta tensors, from the output-size formula of torch.nn.MaxPool2d's
    documentation (AvgPool2d's is the same with dilation 1), ceil_mode's rule included: the last window
    must start inside the input or its left padding. PyTorch's meta pooling checks import sympy."""
    dims = 1 if isinstance(mod, nn.MaxPool1d | nn.AvgPool1d) else 2
    if getattr(mod, "return_indices", False) or x.dim() not in (dims + 1, dims + 2):
        return None
    if not x.dtype.is_floating_point:
        return None
    kernel = _tuple2(mod.kernel_size, dims)
    stride = _tuple2(mod.stride if mod.stride else mod.kernel_size, dims)
    padding = _tuple2(mod.padding, dims)
    dilation = _tuple2(getattr(mod, "dilation", 1), dims)
    out = []
    for n, k, s, p, d in zip(x.shape[-dims:], kernel, stride, padding, dilation, strict=True):
        if p > k // 2:
            return None  # torch refuses padding over half the kernel
        span = n + 2 * p - d * (k - 1) - 1
        size = (-(-span // s) if mod.ceil_mode else span // s) + 1
        if mod.ceil_mode and (size - 1) * s >= n + p:
            size -= 1
        if size < 1:
            return None
        out.append(size)
    return torch.empty((*x.shape[:-dims], *out), dtype=x.dtype, device="meta")


class _MetaShapeProp(fx.Interpreter):
    """torch.fx's ShapeProp for meta tensors: records `node.meta["tensor_meta"]` (a ShapeProp TensorMetadata,
    shape/dtype/stride only) and makes the outputs of the ops above from their input shapes. ShapeProp
    itself imports torch.fx.experimental.symbolic_shapes (and sympy) on its first node, for fake tensors
    with symbolic sizes, which meta tensors of fixed sizes do not need."""

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        found = False

        def describe(obj: Any) -> Any:
            nonlocal found
            if not isinstance(obj, torch.Tensor):
                return obj
            found = True
            return TensorMetadata(obj.shape, obj.dtype, obj.requires_grad, obj.stride(), None, False, {})

        meta = fx.node.map_aggregate(result, describe)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def call_module(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        mod = self.fetch_attr(target)
        if len(args) == 1 and not kwargs and _is_meta(args[0]):
            (x,) = args
            if isinstance(mod, _SAME_SHAPE_MODULES):
                return _meta_like(x)
            # A bias does not change the shape, and with one PyTorch's meta linear runs addmm's Python
            # decomposition: run the module's own forward without it.
            if isinstance(mod, nn.Linear):
                if x.dim() >= 1 and x.shape[-1] == mod.in_features and x.dtype == mod.weight.dtype:
                    return torch.empty((*x.shape[:-1], mod.out_features), dtype=x.dtype, device="meta")
                return F.linear(x, mod.weight)
            if isinstance(mod, nn.Embedding) and not (x.dtype.is_floating_point or x.dtype.is_complex):
                return torch.empty((*x.shape, mod.embedding_dim), dtype=mod.weight.dtype, device="meta")
            if isinstance(mod, nn.MaxPool1d | nn.MaxPool2d | nn.AvgPool1d | nn.AvgPool2d):
                out = _pool_out(mod, x)
                if out is not None:
                    return out
            if isinstance(mod, nn.Conv1d | nn.Conv2d | nn.Conv3d):
                out = _conv_out(mod, x)
                return out if out is not None else mod._conv_forward(x, mod.weight, None)
            if isinstance(mod, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and x.dim() in (3, 4):
                size = _tuple2(mod.output_size, 2) if mod.output_size is not None else x.shape[-2:]
                out = [x.shape[-2 + i] if s is None else s for i, s in enumerate(size)]
                if isinstance(mod, nn.AdaptiveAvgPool2d):  # AdaptiveMaxPool2d returns indices too
                    return torch.empty((*x.shape[:-2], *out), dtype=x.dtype, device="meta")
        return super().call_module(target, args, kwargs)

    def call_function(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and _is_meta(args[0]) and target in _SAME_SHAPE_FUNCS and "inplace" not in kwargs:
            return _meta_like(args[0])
        if args and _is_meta(args[0]) and target in _SOFTMAX and set(kwargs) <= {"dim"} and len(args) <= 2:
            if args[0].dtype.is_floating_point:
                return _meta_like(args[0])
        if args and _is_meta(args[0]) and set(kwargs) <= {"dtype"} and len(args) == _LIKE_FUNCS.get(target):
            return _meta_like(args[0], kwargs.get("dtype"))  # ones_like(x), full_like(x, v): x's shape
        if target in (torch.cat, torch.concat) and set(kwargs) <= {"dim"} and 1 <= len(args) <= 2:
            out = _cat(*args, **kwargs)
            if out is not None:
                return out
        if len(args) == 2 and not kwargs and target in _MATMUL:
            out = _matmul(*args)
            if out is not None:
                return out
        if len(args) == 2 and not kwargs and target in _BINARY_FUNCS:
            out = _binary(target, *args)
            if out is not None:
                return out
        return super().call_function(target, args, kwargs)

    def call_method(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and _is_meta(args[0]):
            if target in _SAME_SHAPE_METHODS:
                return _meta_like(args[0])
            if target in _SOFTMAX_METHODS and set(kwargs) <= {"dim"} and len(args) <= 2:
                if args[0].dtype.is_floating_point:
                    return _meta_like(args[0])
            if target == "cumsum" and "dtype" not in kwargs and len(args) == 2:
                x = args[0]
                integral = not (x.dtype.is_floating_point or x.dtype.is_complex)
                return _meta_like(x, torch.int64 if integral else x.dtype)
            if len(args) == 2 and not kwargs and target in _MATMUL_METHODS:
                out = _matmul(*args)
                if out is not None:
                    return out
            if len(args) == 2 and not kwargs and target in _BINARY_METHODS:
                out = _binary(target, *args)
                if out is not None:
                    return out
        return super().call_method(target, args, kwargs)


class _ShapePropagator(nn.Module):
    """Runs the shape propagation over `gm` as its forward, so torch.func.functional_call can swap tensors."""

    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__()
        self.gm = gm

    def forward(self, *inputs: torch.Tensor) -> Any:
        return _MetaShapeProp(self.gm).run(*inputs)


def propagate_shapes(
    gm: fx.GraphModule, inputs: tuple[torch.Tensor, ...], before_real_run: Callable[[], None] | None = None
) -> None:
    """Record every node's output shape in `node.meta["tensor_meta"]` without computing any value.

    Shapes need no arithmetic: the graph runs on "meta" tensors (shape and dtype only; PyTorch's meta device)
    standing in for the inputs, parameters and buffers, and under `torch.device("meta")` so that tensors the
    forward creates (`ones_like`, `arange`) are meta too. The module's real weights are untouched (they are
    swapped out only for the call), which is what the masks are computed from. A forward that a meta tensor
    cannot run (one that reads a value: `.item()`, data-dependent indexing) falls back to the real inputs,
    after `before_real_run()` (what draws weights left pending: sparsesim.models._init.deferred_init).
    """
    params = {
        name: _meta_like(t)
        for name, t in itertools.chain(
            gm.named_parameters(prefix="gm", remove_duplicate=False),
            gm.named_buffers(prefix="gm", remove_duplicate=False),
        )
    }
    meta_inputs = tuple(_meta_like(t) for t in inputs)
    try:
        with torch.no_grad(), torch.device("meta"):
            torch.func.functional_call(_ShapePropagator(gm), params, meta_inputs, tie_weights=False)
        return
    except Exception:  # meta kernels cover what a traced zoo model runs; a user's forward may need values
        pass
    if before_real_run is not None:
        before_real_run()  # a real run reads the weights' values
    with torch.no_grad():
        ShapeProp(gm).propagate(*inputs)


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
    from ..models._init import ensure_initialised, has_pending_init

    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    try:
        propagate_shapes(gm, inputs, before_real_run=lambda: ensure_initialised(module))
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
            if has_pending_init(module) and (mod.weight.dtype != torch.float32 or not mod.weight.is_cpu):
                ensure_initialised(module)  # the array below would be a copy of undrawn values
            graph.weights[lname] = mod.weight.detach().to(torch.float32).cpu().numpy()
        for a in targs:
            for p in producers.get(a, []):
                if p != lname:
                    graph.add_edge(p, lname)
        producers[node] = [lname]
    if has_pending_init(module):
        # The arrays above share the parameters' memory (float32 on the CPU: .numpy() made no copy), so
        # drawing the weights later fills them; reading one through graph.weights draws them first.
        graph.weights = Weights(dict(graph.weights.items_pending()), lambda: ensure_initialised(module))
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
