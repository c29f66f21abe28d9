"""Build a LayerGraph from an ONNX file (same node schema as the torch tracer, batch fixed to 1).

Weights come from the file's initializers, so sparsity masks are computed on the exported model's real
weights.
Shapes come from ONNX shape inference after fixing symbolic dimensions to 1.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from ..errors import ModelError
from .layergraph import LayerGraph, conv_macs, linear_macs, matmul_macs

_ACT = {
    "Relu",
    "Clip",
    "Sigmoid",
    "Tanh",
    "Gelu",
    "LeakyRelu",
    "HardSwish",
    "HardSigmoid",
    "Elu",
    "Selu",
    "Softplus",
    "Erf",
    "PRelu",
    "Mish",
}
_NORM = {"BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization"}
_POOL = {
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "ReduceMean",
    "ReduceMax",
    "ReduceSum",
}
_PASS = {
    "Reshape",
    "Flatten",
    "Transpose",
    "Identity",
    "Dropout",
    "Squeeze",
    "Unsqueeze",
    "Cast",
    "Slice",
    "Split",
    "Expand",
    "Shape",
    "Gather",
}
_CONST_SOURCES = {"Constant", "ConstantOfShape", "Range", "Shape"}


def _dims(vi: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            return None
    return tuple(dims)


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def load_onnx(path: Path) -> onnx.ModelProto:
    """Load and check an ONNX file; every failure is one ModelError line naming model.name."""
    if not path.is_file():
        raise ModelError(f"ONNX file not found: {path}", path="model.name")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{path} is not a valid ONNX model ({reason[:120]})", path="model.name") from None
    return model


def trace_onnx(path: Path, *, name: str | None = None) -> LayerGraph:
    model = load_onnx(path)
    graph_proto = model.graph
    inits = {i.name: i for i in graph_proto.initializer}
    # Fix symbolic (batch, sequence) dimensions to 1 so shape inference yields concrete shapes.
    for inp in graph_proto.input:
        if inp.name in inits:
            continue
        for d in inp.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.dim_value = 1
    # Shapes recorded by the exporter may hold symbolic dims; infer everything afresh from the fixed inputs.
    del graph_proto.value_info[:]
    for out in graph_proto.output:
        for d in out.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.Clear()
    try:
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"{path}: ONNX shape inference failed ({reason[:120]})", path="model.name") from None
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = _dims(vi)
        if dims is not None:
            shapes[vi.name] = dims
    for init in inits.values():
        shapes[init.name] = tuple(int(d) for d in init.dims)
    missing = [o for n in graph_proto.node for o in n.output if o and o not in shapes]
    if missing:
        shapes.update(_run_for_shapes(model, missing, path))

    g = LayerGraph(model=name or path.stem, source="onnx")
    producers: dict[str, list[str]] = {}
    const: set[str] = set(inits)
    order = 0
    for inp in graph_proto.input:
        if inp.name in inits:
            continue
        shape = shapes.get(inp.name, ())
        g.add_node(
            inp.name,
            kind="input",
            op="input",
            order=order,
            in_shapes=[],
            out_shape=shape,
            out_elems=math.prod(shape) if shape else 0,
            weight_shape=None,
            params=0,
            bias=False,
            macs=0,
        )
        order += 1
        producers[inp.name] = [inp.name]

    def weight(name_: str) -> np.ndarray | None:
        return numpy_helper.to_array(inits[name_]).astype(np.float32) if name_ in inits else None

    for idx, node in enumerate(graph_proto.node):
        ins = [i for i in node.input if i]
        data_ins = [i for i in ins if i not in const]
        if node.op_type in _CONST_SOURCES or not data_ins:
            const.update(node.output)
            continue
        # Exporters name nodes by module path ("/layer1/conv1/Conv"); dots make them glob like torch names.
        lname = (node.name or f"{node.op_type}_{idx}").strip("/").replace("/", ".")
        kind, attrs = _classify(node, ins, const, shapes, weight)
        if kind == "pass" or kind is None:
            for out in node.output:
                producers[out] = [p for i in data_ins for p in producers.get(i, [])]
            continue
        attrs.setdefault("in_shapes", [shapes[i] for i in data_ins if i in shapes])
        out_shape = shapes.get(node.output[0], ())
        attrs.setdefault("out_shape", out_shape)
        attrs.setdefault("out_elems", math.prod(out_shape) if out_shape else 0)
        attrs.setdefault("weight_shape", None)
        attrs.setdefault("params", 0)
        attrs.setdefault("bias", False)
        attrs.setdefault("macs", 0)
        w = attrs.pop("_weight", None)
        g.add_node(lname, kind=kind, op=f"ONNX:{node.op_type}", order=order, **attrs)
        order += 1
        if w is not None:
            g.weights[lname] = w
        for i in data_ins:
            for p in producers.get(i, []):
                g.add_edge(p, lname)
        for out in node.output:
            producers[out] = [lname]
    g.graph["total_params"] = sum(
        math.prod(i.dims)
        for i in inits.values()
        if i.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    )
    g.graph["input_shapes"] = [
        list(g.nodes[n]["out_shape"]) for n in g.nodes if g.nodes[n]["kind"] == "input"
    ]
    return g


def _run_for_shapes(model: onnx.ModelProto, names: list[str], path: Path) -> dict[str, tuple[int, ...]]:
    """Shapes static inference could not resolve (e.g. behind Expand/Where on Shape): run the model once."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for n in names:
        if n not in known:
            probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    inits = {i.name for i in probe.graph.initializer}
    feeds = {}
    rng = np.random.default_rng(0)
    for inp in probe.graph.input:
        if inp.name in inits:
            continue
        t = inp.type.tensor_type
        shape = [d.dim_value or 1 for d in t.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)
        feeds[inp.name] = (
            np.zeros(shape, dtype)
            if np.issubdtype(dtype, np.integer)
            else rng.standard_normal(shape).astype(dtype)
        )
    try:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        outs = sess.run(names, feeds)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(
            f"{path}: cannot run the model to find its shapes ({reason[:120]})", path="model.name"
        ) from None
    return {n: tuple(int(d) for d in np.shape(o)) for n, o in zip(names, outs)}


def _classify(
    node: onnx.NodeProto,
    ins: list[str],
    const: set[str],
    shapes: dict[str, tuple[int, ...]],
    weight: Any,
) -> tuple[str | None, dict[str, Any]]:
    op = node.op_type
    out_shape = shapes.get(node.output[0], ())
    if op == "Conv":
        w = weight(ins[1])
        if w is None:
            return "other", {}
        groups = int(_attr(node, "group", 1))
        cin = w.shape[1] * groups
        kind = "conv" if groups == 1 else ("dwconv" if groups == cin else "gconv")
        dims = w.ndim - 2
        pads = list(_attr(node, "pads", [0] * 2 * dims))
        wshape = tuple(int(d) for d in w.shape)
        return kind, {
            "_weight": w,
            "weight_shape": wshape,
            "bias": len(ins) > 2,
            "params": int(w.size) + (wshape[0] if len(ins) > 2 else 0),
            "groups": groups,
            "kernel": tuple(int(k) for k in _attr(node, "kernel_shape", w.shape[2:])),
            "stride": tuple(int(s) for s in _attr(node, "strides", [1] * dims)),
            "padding": tuple(int(p) for p in pads[:dims]),
            "dilation": tuple(int(d) for d in _attr(node, "dilations", [1] * dims)),
            "macs": conv_macs(out_shape, wshape),
        }
    if op in ("Gemm", "MatMul"):
        b = weight(ins[1]) if len(ins) > 1 else None
        if b is not None and b.ndim == 2:
            trans_b = int(_attr(node, "transB", 0)) if op == "Gemm" else 0
            w = b if trans_b else b.T  # torch layout [Cout, Cin]
            w = np.ascontiguousarray(w)
            wshape = tuple(int(d) for d in w.shape)
            has_bias = op == "Gemm" and len(ins) > 2
            return "linear", {
                "_weight": w,
                "weight_shape": wshape,
                "bias": has_bias,
                "params": int(w.size) + (wshape[0] if has_bias else 0),
                "macs": linear_macs(out_shape, wshape[1]),
                "tokens": math.prod(out_shape[1:-1]) if len(out_shape) > 2 else 1,
                "in_shapes": [shapes[ins[0]]] if ins[0] in shapes else [],
            }
        a_shape = shapes.get(ins[0], ())
        return "matmul", {"macs": matmul_macs(out_shape, a_shape[-1] if a_shape else 0)}
    if op in _ACT:
        return "act", {}
    if op in _NORM:
        params = sum(int(np.prod(shapes.get(i, (0,)))) for i in ins[1:] if i in const)
        return "norm", {"params": params}
    if op in _POOL:
        attrs: dict[str, Any] = {}
        ks = _attr(node, "kernel_shape", None)
        if ks is not None:
            attrs["kernel"] = tuple(int(k) for k in ks)
            attrs["stride"] = tuple(int(s) for s in _attr(node, "strides", ks))
        return "pool", attrs
    if op in ("Add", "Sub"):
        return ("add" if all(i not in const for i in ins) else "eltwise"), {}
    if op in ("Mul", "Div"):
        return ("mul" if all(i not in const for i in ins) else "eltwise"), {}
    if op in ("Softmax", "LogSoftmax"):
        return "softmax", {}
    if op == "Concat":
        return "concat", {}
    if op == "Gather" and ins[0] in const:
        return "embedding", {"params": int(np.prod(shapes.get(ins[0], (0,))))}
    if op in _PASS:
        return "pass", {}
    return "other", {}
