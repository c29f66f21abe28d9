"""Kernel selection: which sparse kernel (if any) runs a weight layer, and why.

The rules are explicit and configurable in `MobileSpec` (workload `mobile:` section):

1. A layer the pruner kept dense runs dense ("dense weights (<prune's reason>)").
2. Candidates, in order: the kernel native to the layer's pattern (block/unstructured -> spmm,
   group -> group, nm/bdwp -> nm), then the other kernels of `sparse_kernels` in their listed order. A kernel
   must be listed in `sparse_kernels` to run at all.
3. Per candidate:
   - spmm (XNNPACK SpMM): the layer type is in `spmm_layer_types` (`conv1x1` = 1x1, stride 1, no padding,
     groups 1: XNNPACK's `convolution-nchw.c` rule) and at least `sparse_min_zero_fraction` of
     the weights are zero (XNNPACK's 2/3 rule; per layer, or over all SpMM-eligible layers together with
     `sparse_rule_scope: subgraph`, as XNNPACK's `subgraph.c` does).
   - group: the pattern is `group` with G in {1, 2, 4, 8}, the type is in `group_layer_types`, and at least
     `group_min_zero_fraction` of the weights are zero.
   - nm: the pattern is `nm`/`bdwp`, the type is in `nm_layer_types`, at least `nm_min_zero_fraction` zero.
   Grouped and depthwise convs and activation x activation matmuls have no sparse kernel.
4. The first candidate that passes runs, unless `sparse_only_if_faster`: then `simulate` costs every passing
   candidate and the dense kernel and runs the fastest.
A layer that runs dense records every rejected candidate's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..spec import MobileSpec

NATIVE: dict[str, str] = {"block": "spmm", "unstructured": "spmm", "group": "group", "nm": "nm", "bdwp": "nm"}
GROUP_SIZES: tuple[int, ...] = (1, 2, 4, 8)


@dataclass
class LayerView:
    """What selection needs to know about one weight layer."""

    name: str
    kind: str  # conv | dwconv | gconv | linear
    layer_type: str  # conv1x1 | conv | linear | dwconv | gconv
    pattern: str
    dense_reason: str | None
    zero_fraction: float
    params: int
    block: int | None = None  # G of the group pattern
    n: int | None = None
    m: int | None = None


@dataclass
class Decision:
    family: str  # spmm | group | nm | dense
    reason: str
    candidates: list[str] = field(default_factory=list)  # passing sparse kernels, in preference order
    rejected: dict[str, str] = field(default_factory=dict)

    @property
    def sparse(self) -> bool:
        return self.family != "dense"


def layer_type(node: dict[str, Any]) -> str:
    kind = node["kind"]
    if kind in ("linear", "dwconv", "gconv"):
        return kind
    if kind != "conv":
        return kind
    kernel = tuple(node.get("kernel", (1,)))
    stride = tuple(node.get("stride", (1,)))
    padding = tuple(node.get("padding", (0,)))
    dilation = tuple(node.get("dilation", (1,)))
    if (
        all(k == 1 for k in kernel)
        and all(s == 1 for s in stride)
        and all(p == 0 for p in padding)
        and all(d == 1 for d in dilation)
        and int(node.get("groups", 1)) == 1
    ):
        return "conv1x1"
    return "conv"


def zero_fraction(weight: np.ndarray) -> float:
    """Fraction of exact zeros (what XNNPACK counts: `num_zeroes` over the filter)."""
    w = np.asarray(weight)
    return float(np.count_nonzero(w == 0)) / max(1, w.size)


def subgraph_zero_fraction(layers: Sequence[LayerView], spec: MobileSpec) -> float | None:
    """Zero fraction over all layers SpMM may run (XNNPACK's subgraph rule), or None if there are none."""
    eligible = [v for v in layers if v.layer_type in spec.spmm_layer_types and v.pattern != "dense"]
    params = sum(v.params for v in eligible)
    if not params:
        return None
    return sum(v.zero_fraction * v.params for v in eligible) / params


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def _check(kernel: str, v: LayerView, spec: MobileSpec, subgraph_z: float | None) -> str | None:
    """None if `kernel` may run layer `v`, else why not."""
    if kernel not in spec.sparse_kernels:
        return f"{kernel} not in sparse_kernels {list(spec.sparse_kernels)}"
    if v.layer_type in ("dwconv", "gconv"):
        return f"no sparse kernel for a {'depthwise' if v.layer_type == 'dwconv' else 'grouped'} conv"
    if kernel == "spmm":
        if v.layer_type not in spec.spmm_layer_types:
            return f"{v.layer_type} layer not in spmm_layer_types {list(spec.spmm_layer_types)}"
        if spec.sparse_rule_scope == "subgraph":
            z = subgraph_z if subgraph_z is not None else v.zero_fraction
            what = "subgraph zero fraction"
        else:
            z, what = v.zero_fraction, "zero fraction"
        if z < spec.sparse_min_zero_fraction:
            return f"{what} {_fmt(z)} < {_fmt(spec.sparse_min_zero_fraction)} (sparse_min_zero_fraction)"
        return None
    if kernel == "group":
        if v.pattern != "group":
            return f"pattern {v.pattern} is not group"
        if v.block not in GROUP_SIZES:
            return f"no group kernel for G={v.block} (G in {list(GROUP_SIZES)})"
        if v.layer_type not in spec.group_layer_types:
            return f"{v.layer_type} layer not in group_layer_types {list(spec.group_layer_types)}"
        if v.zero_fraction < spec.group_min_zero_fraction:
            limit = _fmt(spec.group_min_zero_fraction)
            return f"zero fraction {_fmt(v.zero_fraction)} < {limit} (group_min_zero_fraction)"
        return None
    if kernel == "nm":
        if v.pattern not in ("nm", "bdwp") or v.n is None or v.m is None:
            return f"pattern {v.pattern} is not N:M"
        if v.layer_type not in spec.nm_layer_types:
            return f"{v.layer_type} layer not in nm_layer_types {list(spec.nm_layer_types)}"
        if v.zero_fraction < spec.nm_min_zero_fraction:
            limit = _fmt(spec.nm_min_zero_fraction)
            return f"zero fraction {_fmt(v.zero_fraction)} < {limit} (nm_min_zero_fraction)"
        return None
    raise ValueError(f"unknown sparse kernel {kernel!r}")


def decide(v: LayerView, spec: MobileSpec, subgraph_z: float | None = None) -> Decision:
    """Apply the rules to one layer (see the module docstring)."""
    if v.pattern == "dense":
        return Decision("dense", f"dense weights ({v.dense_reason or 'pattern dense'})")
    native = NATIVE.get(v.pattern, "spmm")
    order = [native] + [k for k in spec.sparse_kernels if k != native]
    passing: list[str] = []
    rejected: dict[str, str] = {}
    for kernel in order:
        why = _check(kernel, v, spec, subgraph_z)
        if why is None:
            passing.append(kernel)
        else:
            rejected[kernel] = why
    if not passing:
        reason = "; ".join(f"{k}: {why}" for k, why in rejected.items())
        return Decision("dense", reason, [], rejected)
    kernel = passing[0]
    if kernel == "spmm":
        z = subgraph_z if spec.sparse_rule_scope == "subgraph" and subgraph_z is not None else v.zero_fraction
        reason = (
            f"zero fraction {_fmt(z)} >= {_fmt(spec.sparse_min_zero_fraction)} (sparse_min_zero_fraction)"
        )
    elif kernel == "group":
        reason = f"group pattern G={v.block}, zero fraction {_fmt(v.zero_fraction)}"
    else:
        reason = f"N:M pattern {v.n}:{v.m}, zero fraction {_fmt(v.zero_fraction)}"
    return Decision(kernel, reason, passing, rejected)
