"""LayerGraph: a network as a networkx DiGraph, one node per operator, edges following the data.

Node attributes (all shapes are at batch size 1, the traced size; lowering scales by the task's batch):

| attribute | meaning |
|---|---|
| `kind` | conv, dwconv (depthwise), gconv (other grouped), linear, matmul (activation x activation), |
|        | pool, norm, act, add, mul, softmax, embedding, concat, eltwise, other, input |
| `op` | the source operator (e.g. `Conv2d`, `relu`, `ONNX:Gemm`) |
| `order` | topological index |
| `in_shapes` | list of input tensor shapes (data inputs only, in argument order) |
| `out_shape` | output shape |
| `out_elems` | elements of the output |
| `weight_shape` | torch layout: conv `[Cout, Cin/g, kh, kw]`, linear `[Cout, Cin]`; None for weightless ops |
| `params` | trainable parameters owned by the op (weight + bias / affine) |
| `bias` | whether a conv/linear has a bias |
| `macs` | forward multiply-accumulates (conv, linear, matmul; 0 otherwise) |
| `groups`, `kernel`, `stride`, `padding`, `dilation` | conv / pool geometry (tuples), when they apply |
| `tokens` | linear: rows the weight is applied to per sample (e.g. sequence length) |
| `shares_weights_with` | a repeated call of a weight layer: the node whose weight (and masks) it uses |

`LayerGraph.weights` maps a weight layer's node name to its weight as a float32 numpy array (torch layout).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from .weights import Weights

WEIGHT_KINDS = ("conv", "dwconv", "gconv", "linear")
GEMM_KINDS = (*WEIGHT_KINDS, "matmul")
KINDS = (
    "input",
    *GEMM_KINDS,
    "pool",
    "norm",
    "act",
    "add",
    "mul",
    "softmax",
    "embedding",
    "concat",
    "eltwise",
    "other",
)
# Ops through which a permutation of channels passes unchanged (given their per-channel parameters are
# permuted too): used to find which layers consume a layer's output channels.
CHANNELWISE_KINDS = ("norm", "act", "pool")


@dataclass(frozen=True)
class ConvGeometry:
    """The geometry lowering needs for a conv/linear node, derived from its attributes."""

    cout: int
    cin: int
    groups: int
    kh: int
    kw: int
    ho: int  # output spatial size per sample (1 for linear)
    wo: int
    tokens: int  # output positions per sample: ho*wo for conv, rows for linear

    @property
    def reduction(self) -> int:
        """Reduction length of one output element: Cin/g * kh * kw."""
        return self.cin // self.groups * self.kh * self.kw


class LayerGraph(nx.DiGraph):
    """A traced network. Node names are module paths (e.g. `layer1.0.conv1`) or op names."""

    def __init__(self, incoming_graph_data: Any = None, **attr: Any) -> None:
        super().__init__(incoming_graph_data, **attr)
        self.weights: Weights = Weights({})

    # ----------------------------------------------------------------------------------------- queries
    def ordered(self) -> list[str]:
        return sorted(self.nodes, key=lambda n: self.nodes[n]["order"])

    def weight_layers(self) -> list[str]:
        """Conv/linear nodes owning a weight, in topological order (the layers sparsity applies to).

        Repeated calls of a weight-tied module (attribute `shares_weights_with`) are left out: they use the
        first call's weight and masks.
        """
        return [
            n
            for n in self.ordered()
            if self.nodes[n]["kind"] in WEIGHT_KINDS and "shares_weights_with" not in self.nodes[n]
        ]

    def total_macs(self, kinds: Iterable[str] = GEMM_KINDS) -> int:
        kinds = tuple(kinds)
        return sum(int(d["macs"]) for _, d in self.nodes(data=True) if d["kind"] in kinds)

    def total_params(self) -> int:
        return sum(int(d["params"]) for _, d in self.nodes(data=True))

    def geometry(self, name: str) -> ConvGeometry:
        d = self.nodes[name]
        ws = d["weight_shape"]
        if d["kind"] == "linear":
            return ConvGeometry(ws[0], ws[1], 1, 1, 1, 1, 1, int(d.get("tokens", 1)))
        if d["kind"] not in ("conv", "dwconv", "gconv"):
            raise ValueError(f"{name} is a {d['kind']}, not a conv/linear layer")
        out = d["out_shape"]
        spatial = out[2:]
        ho = spatial[0] if spatial else 1
        wo = math.prod(spatial[1:]) if len(spatial) > 1 else 1
        kernel = d["kernel"]
        kh = kernel[0]
        kw = math.prod(kernel[1:]) if len(kernel) > 1 else 1
        groups = int(d["groups"])
        return ConvGeometry(ws[0], ws[1] * groups, groups, kh, kw, ho, wo, ho * wo)

    def channel_consumers(self, name: str) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
        """Weight layers that read `name`'s output channels through channel-wise ops only.

        Returns (consumers, spatial, through): spatial[i] is H*W when consumer i is a linear layer reading a
        flattened C x H x W tensor, else 1; `through` lists depthwise convs (one filter per channel) on the
        way, which a channel permutation passes through if their filters are permuted too. All empty if the
        output meets anything else (add, concat, matmul...): a permutation could then not be folded into
        the consumers alone.
        """
        c_out = self.nodes[name]["weight_shape"][0]
        consumers: list[str] = []
        spatial: list[int] = []
        through: list[str] = []
        frontier = list(self.successors(name))
        seen: set[str] = set()
        while frontier:
            node = frontier.pop()
            if node in seen:
                continue
            seen.add(node)
            d = self.nodes[node]
            if (
                d["kind"] == "dwconv"
                and d["weight_shape"][0] == d["groups"] == c_out
                and self.in_degree(node) == 1
            ):
                through.append(node)
                frontier.extend(self.successors(node))
            elif d["kind"] in WEIGHT_KINDS:
                if d["kind"] != "conv" and d["kind"] != "linear":
                    return (
                        (),
                        (),
                        (),
                    )  # grouped consumers mix channels within groups only: not foldable simply
                cin = d["weight_shape"][1]
                if cin % c_out:
                    return (), (), ()
                consumers.append(node)
                spatial.append(cin // c_out)
            elif d["kind"] in CHANNELWISE_KINDS and self.in_degree(node) == 1:
                frontier.extend(self.successors(node))
            else:
                return (), (), ()
        return tuple(consumers), tuple(spatial), tuple(through)

    # ------------------------------------------------------------------------------------------ export
    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-friendly dict per node, in topological order."""
        records = []
        for name in self.ordered():
            d = dict(self.nodes[name])
            rec: dict[str, Any] = {"name": name}
            for key, value in d.items():
                rec[key] = _plain(value)
            rec["inputs"] = sorted(self.predecessors(name), key=lambda n: self.nodes[n]["order"])
            records.append(rec)
        return records

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for _, d in self.nodes(data=True):
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        return {
            "model": self.graph.get("model"),
            "nodes": self.number_of_nodes(),
            "edges": self.number_of_edges(),
            "weight_layers": len(self.weight_layers()),
            "params": self.total_params(),
            "macs": self.total_macs(),
            "kinds": dict(sorted(kinds.items())),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def conv_macs(out_shape: tuple[int, ...], weight_shape: tuple[int, ...]) -> int:
    """Each output element reduces over Cin/g * prod(kernel) products."""
    return math.prod(out_shape) * math.prod(weight_shape[1:])


def linear_macs(out_shape: tuple[int, ...], in_features: int) -> int:
    return math.prod(out_shape) * in_features


def matmul_macs(out_shape: tuple[int, ...], k: int) -> int:
    return math.prod(out_shape) * k
