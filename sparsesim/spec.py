"""The workload.yaml schema: the only input of sparsesim (DESIGN.md, contract 1).

A file with just `model`, `sparsity` and `target` is valid; every other knob has a documented default,
a unit in its name or description, and bounds. Nothing else in the package parses YAML.

Errors are reported as one line naming the YAML path and what is allowed, e.g.
``sparsity.n: must be <= sparsity.m (got n=5, m=4)``; see `load_workload`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import SpecError

# Names of the built-in models. sparsesim.models.ZOO is the implementation; the spec keeps its own list so
# that `validate` needs no torch import. tests/test_spec.py checks the two agree.
ZOO_NAMES = (
    "bert_base",
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "tiny_cnn",
    "tiny_mlp",
    "vgg16",
    "vit_small",
)

Pattern = Literal["dense", "nm", "bdwp", "group", "block", "unstructured"]


def _field_error(field: str, message: str, **ctx: Any) -> PydanticCustomError:
    """An error attributed to `field` of the model being validated (joined to its YAML path later)."""
    return PydanticCustomError("field_error", "{message}", {"field": field, "message": message, **ctx})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)


# --------------------------------------------------------------------------------------------------- model
class ModelSpec(_Section):
    """Which network. `model: resnet50` is shorthand for `model: {name: resnet50}`."""

    name: str = Field(
        description="A built-in model (see `sparsesim models`), a user factory 'pkg.module:factory' "
        "(imported with the workload's folder on sys.path), or a path to a .onnx file "
        "(relative to the workload file)."
    )
    input_size: int | None = Field(
        None,
        ge=8,
        le=4096,
        description="Image side in pixels (default: the model's own, 224 for ImageNet nets).",
    )
    seq_len: int | None = Field(
        None, ge=1, le=8192, description="Sequence length in tokens for token models (bert_base default 128)."
    )
    num_classes: int | None = Field(None, ge=1, description="Classifier outputs (default: the model's own).")
    checkpoint: str | None = Field(
        None, description="A torch state_dict file (torch.save) to load instead of seeded random weights."
    )
    seed: int = Field(0, ge=0, description="Seed of the random weights when no checkpoint is given.")
    input_shape: list[int] | None = Field(
        None, description="Per-sample input shape without the batch dimension, for user factories."
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra keyword arguments for the factory."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        return data

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("must name a model")
        if ":" in name or name.endswith(".onnx"):
            return name
        if name not in ZOO_NAMES:
            close = difflib.get_close_matches(name, ZOO_NAMES, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ValueError(
                f"unknown model '{name}' ({hint}known: {', '.join(ZOO_NAMES)}; "
                "or 'pkg.module:factory', or a .onnx file)"
            )
        return name

    @field_validator("input_shape")
    @classmethod
    def _positive_shape(cls, shape: list[int] | None) -> list[int] | None:
        if shape is not None and (not shape or any(d < 1 for d in shape)):
            raise ValueError(f"must be a non-empty list of positive sizes (got {shape})")
        return shape

    @property
    def source(self) -> Literal["zoo", "module", "onnx"]:
        if self.name.endswith(".onnx"):
            return "onnx"
        return "module" if ":" in self.name else "zoo"


# ---------------------------------------------------------------------------------------------------- task
class OptimizerSpec(_Section):
    """The training optimizer, as run by the weight-update engine (FP32 master weights)."""

    kind: Literal["sgd"] = Field("sgd", description="SGD with momentum (SR-STE's recipe).")
    lr: float = Field(0.1, gt=0, description="Learning rate.")
    momentum: float = Field(0.9, ge=0, lt=1, description="Momentum coefficient.")
    weight_decay: float = Field(5e-5, ge=0, description="L2 weight decay (SR-STE ResNet-50 recipe: 5e-5).")
    srste_decay: float = Field(
        2e-4,
        ge=0,
        description="SR-STE decay λ_w on pruned weights: g + λ_w·(1-mask)·w (SR-STE default 2e-4).",
    )


class TaskSpec(_Section):
    mode: Literal["infer", "train"] | None = Field(
        None,
        description="'train' (FF+BP+WU per iteration) or 'infer' (FF only). "
        "Default: train on sat, infer on mobile.",
    )
    batch_size: int | None = Field(
        None, ge=1, le=65536, description="Samples per iteration. Default: 32 for train, 1 for infer."
    )
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)


# ------------------------------------------------------------------------------------------------ sparsity
class LayerOverride(_Section):
    """Per-layer settings, keyed by a name glob in `sparsity.overrides`; None fields inherit."""

    pattern: Pattern | None = None
    n: int | None = Field(None, ge=1)
    m: int | None = Field(None, ge=1)
    sparsity: float | None = Field(None, gt=0, lt=1)
    group_size: int | None = Field(None, ge=1)
    block_size: Literal[1, 2, 4] | None = None


def _check_nm(n: int | None, m: int | None, prefix: str = "") -> None:
    """N:M sanity; `prefix` locates an override (e.g. "overrides['layer4.*'].")."""
    if n is None:
        raise _field_error(prefix + "n", "required for N:M patterns (e.g. n: 2, m: 8)")
    if m is None:
        raise _field_error(prefix + "m", "required for N:M patterns (e.g. n: 2, m: 8)")
    if m < 2 or m & (m - 1):
        raise _field_error(prefix + "m", f"must be a power of two >= 2 (got m={m})")
    if n > m:
        raise _field_error(prefix + "n", f"must be <= sparsity.m (got n={n}, m={m})")


class SparsitySpec(_Section):
    """How weights are pruned. Masks are computed on the model's real weights."""

    pattern: Pattern = Field(
        "dense",
        description="dense | nm (N:M along Cin, FF only) | "
        "bdwp (N:M along Cin for FF and along Cout for BP) | "
        "group (G output channels x 1 reduction element) | block (XNNPACK blocks of 1/2/4 output channels) | "
        "unstructured (= block 1).",
    )
    n: int | None = Field(None, ge=1, description="N of N:M: weights kept per group.")
    m: int | None = Field(None, ge=1, le=256, description="M of N:M: group length, a power of two.")
    variant: Literal["independent", "nested"] = Field(
        "independent",
        description="bdwp: 'independent' (FF and BP masks both from the dense weight) or 'nested' "
        "(BP mask chosen among the FF-kept weights).",
    )
    sparsity: float | None = Field(
        None, gt=0, lt=1, description="Fraction of weights pruned (group/block/unstructured), e.g. 0.9."
    )
    group_size: int = Field(4, ge=1, le=64, description="group: output channels per block (G).")
    block_size: Literal[1, 2, 4] = Field(1, description="block: output channels per block (XNNPACK nr).")
    rearrange: bool = Field(
        False, description="group: permute output channels (folded into the next layer) to raise block fill."
    )
    keep_first_dense: bool = Field(True, description="Leave the first weight layer dense.")
    keep_last_dense: bool = Field(True, description="Leave the last weight layer dense.")
    include: list[str] = Field(default_factory=lambda: ["*"], description="Layer-name globs to prune.")
    exclude: list[str] = Field(default_factory=list, description="Layer-name globs to keep dense.")
    overrides: dict[str, LayerOverride] = Field(
        default_factory=dict, description="Layer-name glob -> settings for matching layers (last match wins)."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"pattern": data}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> SparsitySpec:
        if self.pattern in ("nm", "bdwp"):
            _check_nm(self.n, self.m)
        elif self.pattern in ("group", "block", "unstructured") and self.sparsity is None:
            raise _field_error(
                "sparsity", f"required for pattern '{self.pattern}' (a fraction in (0, 1), e.g. 0.9)"
            )
        if self.pattern == "unstructured" and self.block_size != 1:
            raise _field_error("block_size", "must be 1 for pattern 'unstructured' (use pattern 'block')")
        for glob, ov in self.overrides.items():
            pattern = ov.pattern or self.pattern
            prefix = f"overrides['{glob}']."
            if pattern in ("nm", "bdwp"):
                _check_nm(ov.n if ov.n is not None else self.n, ov.m if ov.m is not None else self.m, prefix)
            elif pattern in ("group", "block", "unstructured") and (ov.sparsity or self.sparsity) is None:
                raise _field_error(prefix + "sparsity", f"required for pattern '{pattern}'")
        return self

    @property
    def density(self) -> float:
        """Nominal kept fraction of a pruned layer (1.0 for dense)."""
        if self.pattern in ("nm", "bdwp"):
            return self.n / self.m  # type: ignore[operator]
        if self.pattern == "dense":
            return 1.0
        return 1.0 - float(self.sparsity)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- targets
class Optimisations(_Section):
    """SAT's three dataflow optimisations (notes/sat.md §4.3), each switchable for ablations."""

    interleave: bool = Field(True, description="Interleave mapping: keep the FP adder pipeline full.")
    pregenerate: bool = Field(
        True, description="Pre-generate next iteration's N:M weights right after each layer's update."
    )
    offline_schedule: bool = Field(
        True, description="Offline scheduler (tiling, dataflow, overlap); off = naive in-order schedule."
    )


class AcceleratorSpec(_Section):
    """The SAT-style training accelerator. Unset fields take the preset's value (sparsesim.sat.arch)."""

    preset: Literal["vcu1525"] = Field("vcu1525", description="Architecture preset.")
    rows: int | None = Field(None, ge=1, le=256, description="PE array rows.")
    cols: int | None = Field(None, ge=1, le=256, description="PE array columns.")
    multipliers_per_pe: int | None = Field(None, ge=1, le=16, description="Multipliers per PE (max N).")
    max_m: int | None = Field(None, ge=2, le=64, description="Largest supported M (activation group width).")
    precision: Literal["fp16", "int8"] | None = Field(
        None, description="fp16 (FP16 x FP16, FP32 accumulate) or int8 (INT8 x INT8 -> INT32)."
    )
    dataflow: Literal["auto", "ws", "os"] = Field(
        "auto", description="auto: the scheduler picks WS or OS per op; ws/os: force one."
    )
    clock_mhz: float | None = Field(None, gt=0, le=1000, description="Array clock in MHz.")
    mul_latency_cycles: int | None = Field(None, ge=1, le=32, description="Multiplier pipeline depth.")
    add_latency_cycles: int | None = Field(None, ge=1, le=32, description="FP adder pipeline depth.")
    act_buffer_kib: int | None = Field(None, ge=1, description="Activation buffer, KiB.")
    weight_buffer_kib: int | None = Field(None, ge=1, description="Weight + index buffer, KiB.")
    out_buffer_kib: int | None = Field(None, ge=1, description="Output / partial-sum buffer, KiB.")
    grad_buffer_kib: int | None = Field(None, ge=1, description="Gradient buffer, KiB.")
    dram_channels: int | None = Field(None, ge=1, le=16, description="DDR4 channels used.")
    dram_mts: int | None = Field(None, ge=100, description="DDR4 data rate, MT/s.")
    dram_bus_bits: int | None = Field(None, ge=8, description="DDR4 data width per channel, bits.")
    dram_latency_ns: float | None = Field(None, ge=0, description="DDR4 access latency, ns.")
    sorter_lanes: int | None = Field(None, ge=1, le=1024, description="Sparse-weight generator (SORE) lanes.")
    wu_lanes: int | None = Field(None, ge=1, le=1024, description="Weight-update engine FP32 lanes.")
    vector_lanes: int | None = Field(
        None, ge=1, le=4096, description="Vector unit FP32 lanes (activations, norms, pooling, softmax)."
    )
    technology: float | None = Field(
        None, ge=7, le=130,
        description="Energy model: an ASIC projection at this node in nm (7-130); unset: the XCVU9P FPGA.",
    )  # fmt: skip
    optimisations: Optimisations = Field(default_factory=Optimisations)

    def resolved(self) -> dict[str, Any]:
        """Every accelerator parameter with the preset's values filled in (sparsesim.sat.arch.resolve)."""
        from .sat.arch import resolve

        return resolve(self).to_dict()


MobileLayerType = Literal["conv1x1", "conv", "linear"]
MobileKernel = Literal["spmm", "group", "nm"]


class MobileSpec(_Section):
    """The mobile CPU target. Unset fields take the SoC preset's value (sparsesim.mobile)."""

    soc: Literal["snapdragon835", "snapdragon855"] = Field("snapdragon855", description="SoC preset.")
    threads: int = Field(
        1, ge=1, le=8, description="Big-core threads (at most the SoC's big cores; thread 0 on the fastest)."
    )
    sparse_min_zero_fraction: float = Field(
        2 / 3,
        ge=0,
        le=1,
        description="A 1x1 conv runs sparse only if at least this fraction of its weights is zero "
        "(XNNPACK's rule: 2/3).",
    )
    sparse_rule_scope: Literal["layer", "subgraph"] = Field(
        "layer",
        description="Apply sparse_min_zero_fraction per layer, or to all SpMM-eligible layers together "
        "(XNNPACK's subgraph rule: all sparse or all dense).",
    )
    sparse_kernels: list[MobileKernel] = Field(
        default_factory=lambda: ["spmm", "group", "nm"],
        description="Sparse kernels allowed: spmm (XNNPACK CSR-delta SpMM), group (block-CSR of G output "
        "channels), nm (N:M along Cin). A layer tries its pattern's own kernel first, then these in order.",
    )
    spmm_layer_types: list[MobileLayerType] = Field(
        default_factory=lambda: ["conv1x1"],
        description="Layers SpMM may run: conv1x1 (stride 1, no padding, groups 1; XNNPACK's rule), "
        "conv (any groups-1 conv through a packed im2col tile), linear.",
    )
    group_layer_types: list[MobileLayerType] = Field(
        default_factory=lambda: ["conv1x1", "conv", "linear"], description="Layers the group kernel may run."
    )
    nm_layer_types: list[MobileLayerType] = Field(
        default_factory=lambda: ["conv1x1", "conv", "linear"], description="Layers the N:M kernel may run."
    )
    group_min_zero_fraction: float = Field(
        0.0, ge=0, le=1, description="Group kernel: runs only if at least this fraction of weights is zero."
    )
    nm_min_zero_fraction: float = Field(
        0.0, ge=0, le=1, description="N:M kernel: runs only if at least this fraction of weights is zero."
    )
    sparse_only_if_faster: bool = Field(
        False,
        description="Run a sparse kernel only where the model predicts it beats the dense kernel (else the "
        "rules above decide alone).",
    )
    spmm_mr: Literal[4, 8, 12, 16, 32] = Field(
        32, description="SpMM pixel tile MR (XNNPACK ARM64: 32; the CVPR-2020 kernels: 16)."
    )
    spmm_block: Literal["auto", 1, 2, 4] = Field(
        "auto",
        description="SpMM output-channel block NR: auto = XNNPACK's rule (4 if 4-blocks are >=90% full, "
        "else 2 if 2-blocks are, else 1).",
    )
    group_mr: Literal[4, 8, 16, 32] = Field(16, description="Group-kernel pixel tile (MNN AArch64: 16).")
    nm_mr: Literal[4, 8, 16, 32] = Field(32, description="N:M-kernel pixel tile.")
    fuse_elementwise: bool = Field(
        True,
        description="Fold batch norm into the preceding conv and fuse activations into its output clamp "
        "(as XNNPACK/TFLite do); off = run them as separate vector ops.",
    )
    layout: Literal["auto", "nchw", "nhwc"] = Field(
        "auto",
        description="Depthwise convs in CHW (XNNPACK's sparse subgraph) or NHWC; auto = CHW when any layer "
        "runs SpMM.",
    )
    clock_mhz: float | None = Field(None, gt=0, le=5000, description="Override every big core's clock, MHz.")
    dram_bandwidth_gbs: float | None = Field(
        None, gt=0, description="Override the DRAM peak bandwidth, GB/s."
    )
    dram_efficiency: float | None = Field(
        None, gt=0, le=1, description="Override the sustained fraction of DRAM peak bandwidth."
    )


class OutputSpec(_Section):
    dir: str | None = Field(None, description="Output folder (default: reports/<name>, relative to the cwd).")


# -------------------------------------------------------------------------------------------- workload
class Workload(_Section):
    """One workload.yaml."""

    name: str | None = Field(None, description="Run name (default: the file's stem).")
    model: ModelSpec
    task: TaskSpec = Field(default_factory=TaskSpec)
    sparsity: SparsitySpec
    target: Literal["sat", "mobile"]
    accelerator: AcceleratorSpec = Field(default_factory=AcceleratorSpec)
    mobile: MobileSpec = Field(default_factory=MobileSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _resolve_defaults(self) -> Workload:
        if self.task.mode is None:
            self.task.mode = "train" if self.target == "sat" else "infer"
        if self.task.batch_size is None:
            self.task.batch_size = 32 if self.task.mode == "train" else 1
        return self

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the file (ONNX, checkpoint, user modules) are resolved against."""
        return self._base_dir

    def resolved_name(self) -> str:
        return self.name or "workload"

    def output_dir(self) -> Path:
        return Path(self.output.dir) if self.output.dir else Path("reports") / self.resolved_name()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=110)

    def spec_hash(self) -> str:
        """Stable hash of the resolved spec (sweeps cache results by it)."""
        payload = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_updates(self, updates: dict[str, Any]) -> Workload:
        """A copy with dotted-path updates applied (e.g. {'accelerator.rows': 16}), re-validated."""
        data = self.to_dict()
        for dotted, value in updates.items():
            node = data
            keys = dotted.split(".")
            for key in keys[:-1]:
                if not isinstance(node.get(key), dict):
                    node[key] = {} if node.get(key) is None else node[key]
                    if not isinstance(node[key], dict):
                        raise SpecError(f"cannot set '{dotted}': '{key}' is not a section", path=dotted)
                node = node[key]
            node[keys[-1]] = value
        return workload_from_dict(data, base_dir=self.base_dir, name=self.name)


# ------------------------------------------------------------------------------------------ loading
def _loc_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts and any(ch in str(item) for ch in "*?[]. "):
            parts.append(f"['{item}']")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section at `loc` (for 'unknown field' messages)."""
    model: type[BaseModel] = Workload
    for item in loc:
        field = model.model_fields.get(str(item))
        if field is None:
            return []
        ann = field.annotation
        nested = [
            a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _format_error(err: dict[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    etype = err.get("type", "")
    # Drop pydantic's tagged-union / function-validator markers from the location.
    loc = tuple(p for p in loc if not (isinstance(p, str) and (p.startswith("function-") or p in ("str",))))
    if etype == "field_error":
        ctx = err.get("ctx", {})
        return (
            f"{_loc_path(loc)}.{ctx['field']}: {ctx['message']}"
            if loc
            else f"{ctx['field']}: {ctx['message']}"
        )
    if etype == "extra_forbidden":
        allowed = _allowed_fields(loc[:-1])
        key = str(loc[-1])
        close = [a for a in allowed if a.lower() == key.lower()] or difflib.get_close_matches(
            key, allowed, n=1
        )
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"{_loc_path(loc)}: unknown field ({hint}allowed: {', '.join(allowed)})"
    if etype == "missing":
        return f"{_loc_path(loc)}: required field is missing"
    msg = err.get("msg", "invalid value")
    msg = msg.removeprefix("Value error, ")
    if etype in ("literal_error", "enum"):
        msg = msg.replace("Input should be", "must be one of:")
        got = err.get("input")
        return f"{_loc_path(loc)}: {msg} (got {got!r})"
    got = err.get("input")
    quiet = etype == "value_error" or isinstance(got, dict | list) or got is None or "got" in msg
    suffix = "" if quiet else f" (got {got!r})"
    return f"{_loc_path(loc)}: {msg[0].lower() + msg[1:] if msg else msg}{suffix}"


def validation_error_line(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    line = _format_error(errors[0])
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return line


def workload_from_dict(data: Any, *, base_dir: Path | None = None, name: str | None = None) -> Workload:
    """Validate a parsed mapping into a Workload, raising SpecError with a one-line message."""
    if not isinstance(data, dict):
        raise SpecError(
            "the top level must be a mapping of fields (model, sparsity, target, ...), "
            f"got {type(data).__name__}"
        )
    if name and not data.get("name"):
        data = {"name": name, **data}
    try:
        wl = Workload.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_error_line(exc)) from None
    wl._base_dir = (base_dir or Path.cwd()).resolve()
    _check_paths(wl)
    return wl


def _check_paths(wl: Workload) -> None:
    """Files named by the spec must exist: say so now rather than deep inside a run."""
    if wl.model.source == "onnx":
        path = (wl.base_dir / wl.model.name).resolve()
        if not path.is_file():
            raise SpecError(f"ONNX file not found: {path}", path="model.name")
    if wl.model.checkpoint:
        path = (wl.base_dir / wl.model.checkpoint).resolve()
        if not path.is_file():
            raise SpecError(f"checkpoint file not found: {path}", path="model.checkpoint")


def read_yaml_file(path: str | Path, what: str = "workload") -> Any:
    """Parse a YAML file given on the command line; every failure is a one-line SpecError naming the file.

    The one place sparsesim parses YAML (workloads and sweeps), so both get the same messages.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such file (give a {what} .yaml file)")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, not a {what} .yaml file")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise SpecError(f"{path}: binary file, not a YAML {what} (give a {what} .yaml file)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text, not a YAML {what} (give a {what} .yaml file)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{path}{where}: invalid YAML: {problem}") from None


def load_workload(path: str | Path) -> Workload:
    """Read and validate a workload.yaml. Every failure is a SpecError with a one-line message."""
    path = Path(path)
    data = read_yaml_file(path, "workload")
    if data is None:
        raise SpecError(f"{path}: empty workload (needs at least model, sparsity and target)")
    try:
        return workload_from_dict(data, base_dir=path.parent, name=path.stem)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------------------- reference doc
def reference_markdown() -> str:
    """The workload.yaml reference (README section), generated from the schema so it cannot drift."""
    from pydantic.fields import FieldInfo

    def default_of(info: FieldInfo) -> str:
        if info.is_required():
            return "**required**"
        if info.default_factory is not None:
            value = info.default_factory()
            return "(section)" if isinstance(value, BaseModel) else f"`{json.dumps(value)}`"
        return f"`{json.dumps(info.default)}`" if info.default is not None else "unset"

    def type_of(info: FieldInfo) -> str:
        text = str(info.annotation).replace("typing.", "").replace("sparsesim.spec.", "")
        text = text.replace("<class '", "").replace("'>", "").replace("NoneType", "None")
        return text.replace("|", "\\|")

    sections: list[tuple[str, type[BaseModel]]] = [
        ("(top level)", Workload),
        ("model", ModelSpec),
        ("task", TaskSpec),
        ("task.optimizer", OptimizerSpec),
        ("sparsity", SparsitySpec),
        ("sparsity.overrides['<glob>']", LayerOverride),
        ("accelerator", AcceleratorSpec),
        ("accelerator.optimisations", Optimisations),
        ("mobile", MobileSpec),
        ("output", OutputSpec),
    ]
    lines: list[str] = []
    for title, model in sections:
        lines += [f"**`{title}`**", "", "| field | type | default | meaning |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            desc = info.description or ""
            if not desc and default_of(info) == "(section)":
                where = name if title == "(top level)" else f"{title}.{name}"
                desc = f"section `{where}` (below)"
            lines.append(f"| `{name}` | {type_of(info)} | {default_of(info)} | {desc.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
