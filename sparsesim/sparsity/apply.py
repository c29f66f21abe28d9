"""Layer-level entry point: pick each weight layer's pattern, compute its masks on the real weights, size it.

`prune_layers(layers, spec)` is what the rest of sparsesim calls. Per layer, in this order of precedence:
1. Effective settings: the spec's pattern/n/m/sparsity/group_size/block_size, updated by every override
   whose glob matches the layer name (in the dict's order, so the last matching glob wins field by field; a
   None field inherits). An effective pattern "dense" keeps the layer dense ("override '<glob>'" if an
   override set it, else "pattern dense").
2. "first layer" / "last layer" (keep_first_dense / keep_last_dense; first/last in the given order).
3. "excluded by '<glob>'" (first matching exclude glob), then "not matched by include [...]".
4. Parameter errors (missing n/m/sparsity, n > m, ...) raise SparsityError: they are mistakes in the spec.
5. Depthwise convs stay dense ("depthwise", for every pattern: Fast Sparse ConvNets keeps them dense and an
   N:M group along Cin/groups = 1 cannot exist).
6. A shape that does not divide stays dense with the reason ("Cin/groups=3 is not a multiple of m=8").

Pattern semantics:
- nm: FF mask only (N:M along Cin). The BP GEMM uses Wᵀ of the same sparse weight, which is not N:M along
  Cout, so `bp_mask` is None: from the hardware's view BP is unstructured-sparse (run dense).
  bp_density = ff_density.
- bdwp: FF + BP masks (bdwp.py); formats and value counts are FF + BP.
- group / block / unstructured: one mask (block.py); bp_mask None, bp_density = ff_density.
Formats used for metadata: nm/bdwp → NMTensor (FF along axis 1, BP along axis 0); group → BlockCSR(G);
block/unstructured → CSRDelta with nr = block size (unstructured: nr = 1), over the `[Cout, R]` view.
metadata_bytes = Σ over the layer's formats of ceil(metadata_bits / 8). value_count = stored values (NMTensor:
N per group including padding; CSRDelta: weights only, biases not counted; BlockCSR: G per kept block).
target_sparsity: the spec's sparsity for group/block/unstructured, 1 - n/m for nm/bdwp, None for dense.

Rearrangement (pattern group with `rearrange`): for a layer with a non-empty `consumers` tuple, a permutation
of its output channels (group.py) is applied to its weight and folded into each consumer's input channels in
`PruneResult.weights`. Layers are visited in the given order and all masks are computed afterwards on the
final (permuted) weights, so `ff_mask`/`bp_mask` refer to `PruneResult.weights[name]`. Whoever rebuilds the
torch model must also apply `permute_out` to the layer's bias and the BN parameters between it and its
consumers.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sparsesim.errors import SparsityError
from sparsesim.graph.weights import Weights
from sparsesim.sparsity.bdwp import VARIANTS, bdwp_masks, bdwp_problem, mask_density
from sparsesim.sparsity.block import block_mask, block_problem, check_sparsity
from sparsesim.sparsity.formats import BlockCSR, CSRDelta, NMTensor
from sparsesim.sparsity.group import DEFAULT_GROUP_SIZE, permute_in, permute_out, rearrange_channels
from sparsesim.sparsity.nm import check_finite, check_nm, nm_axis_problem, nm_mask

if TYPE_CHECKING:
    from sparsesim.spec import SparsitySpec

PATTERNS: tuple[str, ...] = ("dense", "nm", "bdwp", "group", "block", "unstructured")
LAYER_KINDS: tuple[str, ...] = ("conv", "dwconv", "gconv", "linear")
XNNPACK_BLOCKS: tuple[int, ...] = (1, 2, 4)
_OVERRIDE_FIELDS: tuple[str, ...] = ("pattern", "n", "m", "sparsity", "group_size", "block_size")
MaskPair = tuple["np.ndarray | None", "np.ndarray | None"]


@dataclass(frozen=True)
class WeightLayer:
    """One weight-bearing operator as the graph tracer sees it."""

    name: str  # e.g. "layer1.0.conv1"
    kind: str  # "conv" | "dwconv" | "gconv" | "linear"
    weight: np.ndarray  # torch layout: conv [Cout, Cin/groups, kh, kw], linear [Cout, Cin]; float32
    groups: int = 1
    # Weight layers reading this layer's output channels through channel-wise ops only (BN/act/pool); empty if
    # the output meets an add/concat/other op (then rearrangement is not allowed for this layer).
    consumers: tuple[str, ...] = ()
    consumer_spatial: tuple[int, ...] = ()  # per consumer: H*W for a linear after a flatten, else 1
    # Depthwise convs (one filter per channel) between this layer and its consumers: a permutation of the
    # channels passes through them when their filters are permuted too (whole-network rearrangement).
    through: tuple[str, ...] = ()


@dataclass
class LayerPrune:
    name: str
    kind: str
    pattern: str  # "dense" | "nm" | "bdwp" | "group" | "block" | "unstructured"
    dense_reason: str | None
    n: int | None
    m: int | None
    block: int | None
    target_sparsity: float | None
    ff_density: float  # kept fraction; for non-bdwp bp_density == ff_density; 1.0 dense
    bp_density: float
    metadata_bytes: int  # exact: Σ ceil(metadata_bits / 8) over the layer's formats (FF + BP for bdwp)
    value_count: int  # stored values (FF + BP for bdwp); weight.size for dense
    permutation: np.ndarray | None  # group rearrangement of this layer's output channels
    # (ff_mask, bp_mask), or the function that computes them on first use (`ff_mask`, `bp_mask`)
    masks: MaskPair | Callable[[], MaskPair] = field(default=(None, None), repr=False, compare=False)

    @property
    def is_dense(self) -> bool:
        return self.pattern == "dense"

    @property
    def ff_mask(self) -> np.ndarray | None:
        """The forward mask (None for dense)."""
        return self._masks()[0]

    @property
    def bp_mask(self) -> np.ndarray | None:
        """The backward (data-gradient) mask: BDWP only."""
        return self._masks()[1]

    def _masks(self) -> MaskPair:
        if callable(self.masks):
            self.masks = self.masks()
        return self.masks


@dataclass
class PruneResult:
    layers: list[LayerPrune]
    # Every layer's dense weight, permuted where rearrangement applied (unchanged arrays are not copied);
    # values drawn on first read when they were pending (graph.layergraph.Weights).
    weights: MutableMapping[str, np.ndarray] = field(default_factory=dict)

    def by_name(self, name: str) -> LayerPrune:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def masked_weight(self, name: str, pass_: str = "ff") -> np.ndarray:
        """The weight a pass multiplies with: `weights[name]` ⊙ the FF (or BP) mask; dense if no mask."""
        layer = self.by_name(name)
        mask = layer.bp_mask if pass_ == "bp" and layer.bp_mask is not None else layer.ff_mask
        w = self.weights[name]
        return w if mask is None else np.where(mask, w, np.zeros((), dtype=w.dtype))

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per layer (no arrays), ready for a pandas DataFrame."""
        records = []
        for layer in self.layers:
            w = None
            if isinstance(self.weights, Weights) and layer.name in self.weights:
                w = self.weights.peek(layer.name)  # its shape: no need to draw pending values
            elif layer.name in self.weights:
                w = self.weights[layer.name]
            records.append(
                {
                    "layer": layer.name,
                    "kind": layer.kind,
                    "pattern": layer.pattern,
                    "dense_reason": layer.dense_reason,
                    "n": layer.n,
                    "m": layer.m,
                    "block": layer.block,
                    "target_sparsity": layer.target_sparsity,
                    "shape": tuple(w.shape) if w is not None else None,
                    "params": int(w.size) if w is not None else None,
                    "ff_density": layer.ff_density,
                    "bp_density": layer.bp_density,
                    "metadata_bytes": layer.metadata_bytes,
                    "value_count": layer.value_count,
                    "rearranged": layer.permutation is not None,
                }
            )
        return records


# ------------------------------------------------------------------------------------------ rule resolution


@dataclass(frozen=True)
class _Rule:
    pattern: str
    n: int | None
    m: int | None
    sparsity: float | None
    group_size: int
    block_size: int
    variant: str
    dense_glob: str | None  # the override glob that made the layer dense


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _resolve(name: str, spec: SparsitySpec) -> _Rule:
    values = {f: _get(spec, f) for f in _OVERRIDE_FIELDS}
    dense_glob = None
    for glob, override in (_get(spec, "overrides") or {}).items():
        if not fnmatch.fnmatchcase(name, glob):
            continue
        for f in _OVERRIDE_FIELDS:
            value = _get(override, f)
            if value is not None:
                values[f] = value
                if f == "pattern":
                    dense_glob = glob if value == "dense" else None
    pattern = values["pattern"] or "dense"
    if pattern not in PATTERNS:
        raise SparsityError(f"layer {name}: pattern {pattern!r} is unknown; use one of {list(PATTERNS)}")
    variant = _get(spec, "variant") or "independent"
    if variant not in VARIANTS:
        raise SparsityError(f"BDWP variant {variant!r} is unknown; use one of {list(VARIANTS)}")
    return _Rule(
        pattern=pattern,
        n=values["n"],
        m=values["m"],
        sparsity=values["sparsity"],
        group_size=values["group_size"] if values["group_size"] is not None else DEFAULT_GROUP_SIZE,
        block_size=values["block_size"] if values["block_size"] is not None else 1,
        variant=variant,
        dense_glob=dense_glob,
    )


def _selection_reason(index: int, count: int, name: str, rule: _Rule, spec: SparsitySpec) -> str | None:
    if rule.pattern == "dense":
        return f"override '{rule.dense_glob}'" if rule.dense_glob else "pattern dense"
    if index == 0 and _get(spec, "keep_first_dense", True):
        return "first layer"
    if index == count - 1 and _get(spec, "keep_last_dense", True):
        return "last layer"
    for glob in _get(spec, "exclude") or ():
        if fnmatch.fnmatchcase(name, glob):
            return f"excluded by '{glob}'"
    include = _get(spec, "include")
    include = ["*"] if include is None else list(include)
    if not any(fnmatch.fnmatchcase(name, glob) for glob in include):
        return f"not matched by include {include}"
    return None


def _check_params(name: str, rule: _Rule) -> None:
    if rule.pattern in ("nm", "bdwp"):
        if rule.n is None or rule.m is None:
            raise SparsityError(f"layer {name}: pattern '{rule.pattern}' needs n and m (e.g. n: 2, m: 4)")
        check_nm(rule.n, rule.m, name=name)
        if rule.m > 256:
            raise SparsityError(f"layer {name}: m={rule.m} exceeds the 8-bit N:M index; use m <= 256")
        return
    if rule.sparsity is None:
        raise SparsityError(f"layer {name}: pattern '{rule.pattern}' needs sparsity (a fraction in (0, 1))")
    check_sparsity(rule.sparsity, name=name)
    if rule.pattern == "group" and (
        not isinstance(rule.group_size, (int, np.integer)) or rule.group_size < 1
    ):
        raise SparsityError(f"layer {name}: group_size={rule.group_size!r} must be a positive integer")
    if rule.pattern == "block" and rule.block_size not in XNNPACK_BLOCKS:
        raise SparsityError(
            f"layer {name}: block_size={rule.block_size!r} must be 1, 2 or 4 (XNNPACK); use pattern 'group' "
            "for other sizes"
        )


def _block_of(rule: _Rule) -> int:
    return {"group": rule.group_size, "block": rule.block_size, "unstructured": 1}[rule.pattern]


def _is_depthwise(layer: WeightLayer) -> bool:
    return layer.kind == "dwconv" or (
        layer.groups > 1 and layer.weight.ndim > 2 and layer.weight.shape[1] == 1
    )


def _shape_reason(layer: WeightLayer, rule: _Rule) -> str | None:
    shape = layer.weight.shape
    if len(shape) < 2:
        return f"a {len(shape)}-D weight has no reduction axis"
    if rule.pattern == "nm":
        return nm_axis_problem(shape, rule.m, 1)
    if rule.pattern == "bdwp":
        return nm_axis_problem(shape, rule.m, 1) or nm_axis_problem(shape, rule.m, 0, groups=layer.groups)
    what = "group_size" if rule.pattern == "group" else "block_size"
    return block_problem(shape, _block_of(rule), groups=layer.groups, what=what)


# ------------------------------------------------------------------------------------------ main entry


@dataclass
class _Decision:
    layer: WeightLayer
    rule: _Rule
    dense_reason: str | None


def _decide(layers: Sequence[WeightLayer], spec: SparsitySpec) -> list[_Decision]:
    decisions = []
    for i, layer in enumerate(layers):
        if layer.kind not in LAYER_KINDS:
            raise ValueError(
                f"layer {layer.name}: unknown kind {layer.kind!r}; expected one of {LAYER_KINDS}"
            )
        rule = _resolve(layer.name, spec)
        reason = _selection_reason(i, len(layers), layer.name, rule, spec)
        if reason is None:
            _check_params(layer.name, rule)
            reason = "depthwise" if _is_depthwise(layer) else _shape_reason(layer, rule)
        decisions.append(_Decision(layer, rule, reason))
    return decisions


def _rearrange_segments(
    d: _Decision, by_name: dict[str, WeightLayer], weights: dict[str, np.ndarray]
) -> int | None:
    """Equal channel segments a permutation must stay inside, or None if it cannot help or is not allowed."""
    layer = d.layer
    cout = weights[layer.name].shape[0]
    size = cout // max(layer.groups, 1)
    spatial = layer.consumer_spatial or (1,) * len(layer.consumers)
    if len(spatial) != len(layer.consumers):
        raise ValueError(f"layer {layer.name}: consumer_spatial must have one entry per consumer")
    for cname, sp in zip(layer.consumers, spatial):
        if cname not in by_name:
            raise ValueError(f"layer {layer.name}: consumer {cname!r} is not among the layers")
        consumer = by_name[cname]
        cw = weights[cname]
        if cw.ndim < 2 or cw.shape[1] * consumer.groups != cout * sp:
            raise ValueError(
                f"layer {layer.name}: consumer {cname} reads {cw.shape[1] * consumer.groups} inputs, "
                f"not {cout}·{sp}"
            )
        size = math.gcd(size, cout // consumer.groups if sp == 1 else cout)
    g = d.rule.group_size
    if size % g or size <= g:
        return None
    return cout // size


def _sizes_for(
    layer: WeightLayer, rule: _Rule, w: np.ndarray, ff: np.ndarray | None, bp: np.ndarray | None,
    *, bp_exists: bool | None = None,
) -> tuple[int, int]:
    """(metadata_bytes, value_count) of the layer's formats (see the module docstring). N:M formats need
    no mask: `bp_exists` says whether the layer has a BP mask (default: `bp is not None`)."""
    if rule.pattern in ("nm", "bdwp"):
        # An N:M tensor stores N slots per group whatever the mask keeps (short groups are padded), so its
        # sizes follow from the shape and the compressed arrays are not built (for VGG-16 that took longer
        # than computing the masks). tests/sparsity checks these sizes against NMTensor.from_dense.
        copies = 2 if (bp is not None if bp_exists is None else bp_exists) else 1
        sizes = [NMTensor.sizes_for(w.shape, rule.n, rule.m)] * copies
        return sum((bits + 7) // 8 for _, bits in sizes), sum(values for values, _ in sizes)
    if rule.pattern == "group":
        assert ff is not None  # group/block/unstructured masks are computed before their sizes
        fmt: BlockCSR | CSRDelta = BlockCSR.from_dense(w, rule.group_size, mask=ff)
    else:
        fmt = CSRDelta.from_dense(w, _block_of(rule), mask=ff)
    return (fmt.metadata_bits + 7) // 8, fmt.value_count


def _lazy(rule: _Rule) -> bool:
    """Masks whose densities and sizes follow from the shape (every group keeps exactly N)."""
    return rule.pattern == "nm" or (rule.pattern == "bdwp" and rule.variant == "independent")


def _prune_one(
    d: _Decision, w: np.ndarray, permutation: np.ndarray | None, ready: Callable[[], None] | None = None
) -> LayerPrune:
    layer, rule = d.layer, d.rule
    if d.dense_reason is not None:
        return LayerPrune(
            name=layer.name, kind=layer.kind, pattern="dense", dense_reason=d.dense_reason,
            n=None, m=None, block=None, target_sparsity=None, ff_density=1.0, bp_density=1.0,
            metadata_bytes=0, value_count=int(w.size), permutation=None,
        )  # fmt: skip
    nm_like = rule.pattern in ("nm", "bdwp")
    common = dict(
        name=layer.name, kind=layer.kind, pattern=rule.pattern, dense_reason=None,
        n=int(rule.n) if nm_like else None, m=int(rule.m) if nm_like else None,
        block=None if nm_like else _block_of(rule),
        target_sparsity=1.0 - rule.n / rule.m if nm_like else float(rule.sparsity),
        permutation=permutation,
    )  # fmt: skip
    if _lazy(rule):
        # Every group of M keeps exactly N weights (nm.py's top-N, zeros included), so the densities and
        # the formats' sizes follow from the shape: the masks, a top-N over every weight (seconds for
        # VGG-16), are computed when first read (`ff_mask`, `bp_mask`), which a simulation never does. The
        # checks a mask would make are made now. tests/sparsity checks these densities against the masks.
        check_nm(rule.n, rule.m, name=layer.name)
        if rule.pattern == "nm":
            problem = nm_axis_problem(w.shape, rule.m, 1)
        else:
            problem = bdwp_problem(w.shape, rule.m, groups=layer.groups)
        if problem:
            raise SparsityError(
                f"layer {layer.name}: {problem}; pick an M that divides it or exclude the layer"
            )
        if ready is None:
            check_finite(w, name=layer.name)
        density = (w.size // rule.m * rule.n) / w.size if w.size else 1.0  # what counting the mask gives
        metadata_bytes, value_count = _sizes_for(layer, rule, w, None, None, bp_exists=rule.pattern == "bdwp")

        def masks() -> MaskPair:
            if ready is not None:
                ready()  # nm_mask and bdwp_masks check the values are finite
            if rule.pattern == "nm":
                return nm_mask(w, rule.n, rule.m, axis=1, name=layer.name), None
            return bdwp_masks(w, rule.n, rule.m, variant=rule.variant, groups=layer.groups, name=layer.name)

        return LayerPrune(
            **common, ff_density=density, bp_density=density, metadata_bytes=metadata_bytes,
            value_count=value_count, masks=masks,
        )  # fmt: skip
    bp = None
    if rule.pattern == "bdwp":
        ff, bp = bdwp_masks(w, rule.n, rule.m, variant=rule.variant, groups=layer.groups, name=layer.name)
    else:
        ff = block_mask(w, _block_of(rule), float(rule.sparsity), groups=layer.groups, name=layer.name)
    metadata_bytes, value_count = _sizes_for(layer, rule, w, ff, bp)
    ff_density = mask_density(ff)
    return LayerPrune(
        **common,
        ff_density=ff_density,
        bp_density=mask_density(bp) if bp is not None else ff_density,
        metadata_bytes=metadata_bytes,
        value_count=value_count,
        masks=(ff, bp),
    )


def prune_layers(
    layers: Sequence[WeightLayer],
    spec: SparsitySpec,
    *,
    progress: Callable[[int], None] | None = None,
    ready: Callable[[], None] | None = None,
) -> PruneResult:
    """Masks, densities and exact compressed sizes for every weight layer (see the module docstring).

    `progress(i)` is called after the i-th layer's masks (1-based). `ready`: the layers' weight values are
    still pending (seeded weights not drawn yet, graph.layergraph.Weights) and `ready()` draws them; it is
    called before any value is read (N:M masks, computed when first read, call it then; the values are
    then the seeded initialisation's, finite by construction, and checked when the masks are computed).
    """
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError("layer names must be unique")
    decisions = _decide(layers, spec)
    eager = [d for d in decisions if d.dense_reason is None and not _lazy(d.rule)]
    if ready is not None and (eager or _get(spec, "rearrange", False)):
        ready()  # masks computed now read the values
        ready = None
    by_name = {layer.name: layer for layer in layers}
    weights: dict[str, np.ndarray] = {layer.name: np.asarray(layer.weight) for layer in layers}
    permutations: dict[str, np.ndarray] = {}

    if _get(spec, "rearrange", False):
        for d in decisions:
            if d.dense_reason is not None or d.rule.pattern != "group" or not d.layer.consumers:
                continue
            segments = _rearrange_segments(d, by_name, weights)
            if segments is None:
                continue
            name = d.layer.name
            perm = rearrange_channels(
                weights[name], d.rule.group_size, float(d.rule.sparsity), segments=segments
            )
            if np.array_equal(perm, np.arange(perm.size)):
                continue
            permutations[name] = perm
            weights[name] = permute_out(weights[name], perm)
            spatial = d.layer.consumer_spatial or (1,) * len(d.layer.consumers)
            for cname, sp in zip(d.layer.consumers, spatial):
                weights[cname] = permute_in(weights[cname], perm, groups=by_name[cname].groups, spatial=sp)
            for tname in d.layer.through:
                weights[tname] = permute_out(weights[tname], perm)

    pruned = []
    for i, d in enumerate(decisions, 1):
        pruned.append(_prune_one(d, weights[d.layer.name], permutations.get(d.layer.name), ready))
        if progress is not None:
            progress(i)
    return PruneResult(layers=pruned, weights=Weights(weights, ready))
