"""Lower a pruned LayerGraph to an OpGraph: the GEMMs and vector work of one inference or training iteration.

GEMM convention: ``C[m x n] = A[m x k] . B[k x n]``, repeated `repeat` times (conv groups, batch x heads).
For weight layers, A is the weight operand in FF and BP, so N:M sparsity always groups A along k (the
reduction), which is what an N:M sparse x dense PE array exploits:

| pass | conv (im2col, per group g) | linear | A | B | C |
|---|---|---|---|---|---|
| FF | m=Cout/g, k=Cin/g*kh*kw, n=B*Ho*Wo | m=Cout, k=Cin, n=B*T | W_ff | im2col(X) | Y |
| BP | m=Cin/g*kh*kw, k=Cout/g, n=B*Ho*Wo, then col2im | m=Cin, k=Cout, n=B*T | W_bp^T | dY | dX (cols) |
| WU | m=Cout/g, k=B*Ho*Wo, n=Cin/g*kh*kw | m=Cout, k=B*T, n=Cin | dY | im2col(X)^T | dW |

The BP GEMM is the col2im form of the data gradient (dcols = W^T . dY, then dX = col2im(dcols)): its
reduction runs over Cout at a fixed (cin, kh, kw), which is exactly BDWP's BP mask direction, and its MACs
equal the forward MACs (no zero-dilated transposed convolution). Activation x activation matmuls
(attention) lower to one FF GEMM and, in training, one BP GEMM per input that needs a gradient; they have no
WU. The data gradient of a layer whose inputs come from no trainable op (the first conv) is not computed.

Training also lowers the vector work of an iteration: the backward of every non-GEMM op, col2im, the
weight update of every parameter (UPD) and the generation of next iteration's N:M masks (GEN, for nm/bdwp).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import networkx as nx

from .layergraph import WEIGHT_KINDS, LayerGraph

Pass = Literal["FF", "BP", "WU", "UPD", "GEN"]
PASSES: tuple[str, ...] = ("FF", "BP", "WU", "UPD", "GEN")


@dataclass(frozen=True)
class LayerSparsity:
    """What lowering needs to know about a layer's masks (built from sparsity.LayerPrune)."""

    pattern: str = "dense"  # dense | nm | bdwp | group | block | unstructured
    ff_density: float = 1.0
    bp_density: float = 1.0
    n: int | None = None
    m: int | None = None


@dataclass(frozen=True)
class GemmOp:
    name: str
    layer: str
    pass_: str
    role: str  # fwd | dgrad | wgrad | dgrad_a | dgrad_b
    m: int
    n: int
    k: int
    repeat: int
    a_kind: str  # weight | act | grad
    b_kind: str
    c_kind: str
    pattern: str = "dense"  # sparsity pattern of A as stored
    density: float = 1.0  # kept fraction of A
    nm: tuple[int, int] | None = None  # A is N:M along k (hardware-exploitable) with this (n, m)
    mask: str | None = None  # ff | bp: which mask A uses
    post: str | None = None  # col2im for conv BP
    kind: str = field(default="gemm", init=False)

    @property
    def macs(self) -> int:
        """Dense-equivalent multiply-accumulates."""
        return self.repeat * self.m * self.n * self.k

    @property
    def useful_macs(self) -> float:
        """MACs on kept weights only."""
        return self.macs * self.density

    @property
    def sparse(self) -> bool:
        return self.nm is not None


@dataclass(frozen=True)
class VectorOp:
    name: str
    layer: str
    pass_: str
    kind: str  # act | norm | pool | softmax | add | mul | eltwise | concat | embedding | other | col2im
    elements: int  # elements produced
    reads: int  # elements read


@dataclass(frozen=True)
class UpdateOp:
    """Optimizer step over a layer's parameters (FP32 master weights)."""

    name: str
    layer: str
    params: int
    optimizer: str
    pass_: str = "UPD"
    kind: str = field(default="update", init=False)


@dataclass(frozen=True)
class PruneOp:
    """Top-N-of-M selection producing next iteration's sparse weights along one direction."""

    name: str
    layer: str
    mask: str  # ff | bp
    n: int
    m: int
    groups: int  # number of M-element groups
    pass_: str = "GEN"
    kind: str = field(default="prune", init=False)

    @property
    def elements(self) -> int:
        return self.groups * self.m


Op = GemmOp | VectorOp | UpdateOp | PruneOp


def op_record(op: Op) -> dict[str, Any]:
    """A flat dict of an op (for tables)."""
    rec = asdict(op)
    rec["pass"] = rec.pop("pass_")
    rec["kind"] = op.kind
    if isinstance(op, GemmOp):
        rec["macs"] = op.macs
        rec["nm"] = f"{op.nm[0]}:{op.nm[1]}" if op.nm else None
    else:
        rec["macs"] = 0
    return rec


def ops_frame(ops: Iterable[Op]) -> Any:
    """The op table as a pandas DataFrame for CSV: one row per op in program order, columns named and ordered
    as the run's ops.csv (`op`, `layer`, `pass`, `kind`, GEMM shape, ...; then the lowering's own fields),
    integer fields as integers (nullable where an op has none), lists as "AxB" strings."""
    import pandas as pd

    from ..results import OPS_COLUMNS

    records = [op_record(op) for op in ops]
    for rec in records:
        rec["op"] = rec.pop("name")
    frame = pd.DataFrame(records)
    first = [c for c in OPS_COLUMNS if c in frame.columns]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    for col in frame.columns:
        # judged on the records: the frame has already turned an int column with gaps into floats
        values = [rec[col] for rec in records if rec.get(col) is not None]
        if any(isinstance(v, list | tuple) for v in values):
            frame[col] = frame[col].map(lambda v: "x".join(map(str, v)) if isinstance(v, list | tuple) else v)
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[col] = pd.array([rec.get(col) for rec in records], dtype="Int64")
    return frame


class OpGraph(nx.DiGraph):
    """Ops of one iteration; node attribute `op` holds the op, edges are data dependencies."""

    def add_op(self, op: Op, deps: list[str] | tuple[str, ...] = ()) -> str:
        self.add_node(op.name, op=op, seq=self.number_of_nodes())
        for d in deps:
            if d in self:
                self.add_edge(d, op.name)
        return op.name

    def ops(self, pass_: str | None = None) -> Iterator[Op]:
        """Ops in program order (the order lowering emitted them, a valid topological order)."""
        for name in sorted(self.nodes, key=lambda n: self.nodes[n]["seq"]):
            op = self.nodes[name]["op"]
            if pass_ is None or op.pass_ == pass_:
                yield op

    def gemms(self, pass_: str | None = None) -> list[GemmOp]:
        return [op for op in self.ops(pass_) if isinstance(op, GemmOp)]

    def macs(self, pass_: str | None = None) -> int:
        return sum(op.macs for op in self.gemms(pass_))

    def to_records(self) -> list[dict[str, Any]]:
        recs = []
        for op in self.ops():
            rec = op_record(op)
            rec["deps"] = sorted(self.predecessors(op.name), key=lambda n: self.nodes[n]["seq"])
            recs.append(rec)
        return recs


def _sparsity_of(g: LayerGraph, name: str, sparsity: dict[str, LayerSparsity]) -> LayerSparsity:
    """A layer's masks; a repeated call of a weight-tied module uses its first call's."""
    owner = g.nodes[name].get("shares_weights_with", name)
    return sparsity.get(name) or sparsity.get(owner) or LayerSparsity()


def _needs_grad(g: LayerGraph) -> dict[str, bool]:
    """Whether a node's output depends on a trainable parameter (so gradients must flow into it)."""
    needs: dict[str, bool] = {}
    for name in g.ordered():
        d = g.nodes[name]
        needs[name] = d["params"] > 0 or any(needs[p] for p in g.predecessors(name))
    return needs


def lower(
    g: LayerGraph,
    *,
    mode: str,
    batch: int,
    sparsity: dict[str, LayerSparsity] | None = None,
    optimizer: str = "sgd",
) -> OpGraph:
    """Lower `g` for `mode` ('infer' or 'train') at `batch` samples per iteration."""
    if mode not in ("infer", "train"):
        raise ValueError(f"mode must be 'infer' or 'train', got {mode!r}")
    sparsity = sparsity or {}
    og = OpGraph(model=g.graph.get("model"), mode=mode, batch=batch)
    order = g.ordered()
    ff_name: dict[str, str] = {}
    for name in order:
        d = g.nodes[name]
        if d["kind"] == "input":
            continue
        deps = [ff_name[p] for p in g.predecessors(name) if p in ff_name]
        for op in _forward_ops(g, name, batch, _sparsity_of(g, name, sparsity)):
            ff_name[name] = og.add_op(op, deps)
    if mode == "infer":
        return og

    needs = _needs_grad(g)
    bp_done: dict[str, list[str]] = {}  # node -> BP ops producing gradients of its inputs
    for name in reversed(order):
        d = g.nodes[name]
        if d["kind"] == "input" or not needs[name]:
            continue
        # dY of this node = sum of the input gradients its consumers produce.
        grad_deps = [b for s in g.successors(name) for b in bp_done.get(s, [])]
        if not grad_deps and g.out_degree(name) == 0:
            grad_deps = [ff_name[name]]  # the loss gradient needs the network's output
        inputs_need = [needs.get(p, False) for p in g.predecessors(name)]
        ls = _sparsity_of(g, name, sparsity)
        made: list[str] = []
        for op in _backward_ops(g, name, batch, ls, any(inputs_need)):
            deps = list(grad_deps)
            if op.pass_ == "WU" or isinstance(op, VectorOp):
                deps.append(ff_name[name])
                deps.extend(ff_name[p] for p in g.predecessors(name) if p in ff_name)
            if isinstance(op, VectorOp) and op.kind == "col2im":
                deps = made[-1:]
            made.append(og.add_op(op, deps))
        bp_done[name] = [m for m in made if og.nodes[m]["op"].pass_ == "BP"][-1:] or made[-1:]
        if d["params"] > 0:
            wu = [m for m in made if og.nodes[m]["op"].pass_ == "WU"]
            bp = [m for m in made if og.nodes[m]["op"].pass_ == "BP"]
            # The update overwrites W, which this layer's BP GEMM reads: it waits for both WU and BP.
            upd_deps = list(wu or made or grad_deps) + [b for b in bp if b not in wu]
            upd = og.add_op(UpdateOp(f"{name}:UPD", name, int(d["params"]), optimizer), upd_deps)
            if ls.pattern in ("nm", "bdwp") and d["kind"] in WEIGHT_KINDS and ls.n is not None:
                wshape = d["weight_shape"]
                groups = math.prod(wshape) // ls.m
                og.add_op(PruneOp(f"{name}:GEN.ff", name, "ff", ls.n, ls.m, groups), [upd])
                if ls.pattern == "bdwp":
                    og.add_op(PruneOp(f"{name}:GEN.bp", name, "bp", ls.n, ls.m, groups), [upd])
    extra = int(g.graph.get("total_params", 0)) - g.total_params()
    if extra > 0:  # parameters read as constants (cls token, position embeddings): updated too
        og.add_op(UpdateOp("(other parameters):UPD", "(other parameters)", extra, optimizer))
    return og


def _forward_ops(g: LayerGraph, name: str, batch: int, ls: LayerSparsity) -> list[Op]:
    d = g.nodes[name]
    kind = d["kind"]
    if kind in WEIGHT_KINDS:
        geo = g.geometry(name)
        n_cols = batch * geo.tokens
        nm = (ls.n, ls.m) if ls.pattern in ("nm", "bdwp") and ls.n is not None else None
        return [
            GemmOp(
                f"{name}:FF", name, "FF", "fwd",
                m=geo.cout // geo.groups, n=n_cols, k=geo.reduction, repeat=geo.groups,
                a_kind="weight", b_kind="act", c_kind="act",
                pattern=ls.pattern, density=ls.ff_density, nm=nm,
                mask="ff" if ls.pattern != "dense" else None,
            )
        ]  # fmt: skip
    if kind == "matmul":
        a, b = _matmul_dims(d)
        rep = batch * a[0]
        return [
            GemmOp(
                f"{name}:FF", name, "FF", "fwd", m=a[1], n=b[2], k=a[2], repeat=rep,
                a_kind="act", b_kind="act", c_kind="act",
            )
        ]  # fmt: skip
    reads = sum(math.prod(s) for s in d["in_shapes"]) * batch
    return [VectorOp(f"{name}:FF", name, "FF", kind, int(d["out_elems"]) * batch, reads)]


def _backward_ops(g: LayerGraph, name: str, batch: int, ls: LayerSparsity, input_grad: bool) -> list[Op]:
    d = g.nodes[name]
    kind = d["kind"]
    ops: list[Op] = []
    if kind in WEIGHT_KINDS:
        geo = g.geometry(name)
        n_cols = batch * geo.tokens
        is_conv = kind != "linear"
        if input_grad:
            if ls.pattern == "bdwp":
                nm, density, pattern, mask = (ls.n, ls.m), ls.bp_density, "bdwp", "bp"
            else:
                # W_ff^T: an N:M mask along Cin is not N:M along the BP reduction (Cout), so the array
                # cannot skip it; the kept fraction is recorded for targets that can use it.
                nm, density, pattern = None, ls.ff_density, ls.pattern
                mask = "ff" if ls.pattern != "dense" else None
            ops.append(
                GemmOp(
                    f"{name}:BP", name, "BP", "dgrad",
                    m=geo.reduction, n=n_cols, k=geo.cout // geo.groups, repeat=geo.groups,
                    a_kind="weight", b_kind="grad", c_kind="grad",
                    pattern=pattern, density=density, nm=nm, mask=mask,
                    post="col2im" if is_conv and (geo.kh * geo.kw > 1 or _strided(d)) else None,
                )
            )  # fmt: skip
            if ops[-1].post == "col2im":
                in_elems = math.prod(d["in_shapes"][0]) * batch
                ops.append(
                    VectorOp(
                        f"{name}:col2im", name, "BP", "col2im", in_elems, ops[-1].m * n_cols * geo.groups
                    )
                )
        ops.append(
            GemmOp(
                f"{name}:WU", name, "WU", "wgrad",
                m=geo.cout // geo.groups, n=geo.reduction, k=n_cols, repeat=geo.groups,
                a_kind="grad", b_kind="act", c_kind="wgrad",
            )
        )  # fmt: skip
        return ops
    if kind == "matmul":
        if not input_grad:
            return []
        a, b = _matmul_dims(d)
        rep = batch * a[0]
        preds = list(g.predecessors(name))
        needs = _needs_grad(g)
        # dA = dC . B^T  (m=M, k=N, n=K);  dB = A^T . dC  (m=K, k=M, n=N)
        if any(needs.get(p, False) for p in preds):
            ops.append(
                GemmOp(
                    f"{name}:BP.a",
                    name,
                    "BP",
                    "dgrad_a",
                    m=a[1],
                    n=a[2],
                    k=b[2],
                    repeat=rep,
                    a_kind="grad",
                    b_kind="act",
                    c_kind="grad",
                )
            )
            ops.append(
                GemmOp(
                    f"{name}:BP.b",
                    name,
                    "BP",
                    "dgrad_b",
                    m=a[2],
                    n=b[2],
                    k=a[1],
                    repeat=rep,
                    a_kind="act",
                    b_kind="grad",
                    c_kind="grad",
                )
            )
        return ops
    if not input_grad and d["params"] == 0:
        return []
    in_elems = sum(math.prod(s) for s in d["in_shapes"]) * batch
    out_elems = int(d["out_elems"]) * batch
    # Backward of an elementwise/normalising op reads dY (and saved inputs) and writes dX.
    return [VectorOp(f"{name}:BP", name, "BP", kind, in_elems, out_elems + in_elems)]


def _strided(d: dict[str, Any]) -> bool:
    return any(s != 1 for s in d.get("stride", (1,)))


def _matmul_dims(d: dict[str, Any]) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(batch, rows, cols) of both operands per sample, batch dims flattened."""
    a_shape, b_shape = d["in_shapes"][0], d["in_shapes"][1]
    a_batch = math.prod(a_shape[1:-2]) if len(a_shape) > 2 else 1
    a = (a_batch, a_shape[-2] if len(a_shape) > 1 else 1, a_shape[-1])
    b = (a_batch, b_shape[-2], b_shape[-1] if len(b_shape) > 1 else 1)
    return a, b


def layer_sparsity_from_prune(prune_layers: list[Any]) -> dict[str, LayerSparsity]:
    """Build lowering's view of masks from sparsity.LayerPrune records."""
    out = {}
    for lp in prune_layers:
        out[lp.name] = LayerSparsity(
            pattern=lp.pattern,
            ff_density=float(lp.ff_density),
            bp_density=float(lp.bp_density),
            n=lp.n,
            m=lp.m,
        )
    return out
