"""The workload.yaml schema: the only input of sparsesim (docs/architecture.md, contract 1).

A file with just `model`, `sparsity` and `target` is valid; every other knob has a documented default,
a unit in its name or description, and bounds. Nothing else in the package parses YAML.

Errors are reported as one line naming the YAML path and what is allowed, e.g.
``sparsity.n: must be <= sparsity.m (got n=5, m=4)``; see `load_workload`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

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


# Input limits (our choice, each far above any real workload, so a hostile or mistyped file fails in
# milliseconds instead of exhausting memory or the stack).
MAX_FILE_BYTES = 1 << 20  # the shipped workloads are < 1 KiB
MAX_YAML_DEPTH = 32  # a workload nests 4 levels; PyYAML's recursive composer overflows near 500
MAX_YAML_NODES = 100_000  # nodes after alias expansion: bounds alias bombs ("billion laughs")
MAX_NAME_CHARS = 100  # a run name is a folder name: below NAME_MAX (255 bytes) with room for temp suffixes
MAX_PATH_CHARS = 4096  # Linux PATH_MAX
MAX_LIST_ITEMS = 1000  # include/exclude globs, overrides, input_shape ...


def _no_control(text: str, what: str) -> str:
    """Reject NUL and other control characters (a NUL in a path crashes os calls; others mislead)."""
    bad = next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        raise ValueError(f"must not contain control characters (found {bad!r}); give a plain {what}")
    return text


def check_file_name(name: str, what: str = "name") -> str:
    """A plain file name: becomes a folder under reports/, so never a path. Raises ValueError."""
    _no_control(name, "name")
    if not name.strip():
        raise ValueError(f"{what} must not be empty")
    if "/" in name or "\\" in name:
        raise ValueError(f"must be a plain name, not a path (no '/' or '\\'; got {name!r})")
    if name.startswith("."):
        raise ValueError(f"must not start with '.' (got {name!r}); use letters, digits, '-' or '_'")
    if len(name) > MAX_NAME_CHARS or len(name.encode()) > MAX_NAME_CHARS:
        raise ValueError(f"must be at most {MAX_NAME_CHARS} characters (got {len(name)})")
    return name


def _accepts_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    return any(_accepts_bool(a) for a in get_args(annotation) if a is not None)


def _plain_json(value: Any, where: str, depth: int = 0) -> Any:
    """Factory kwargs: JSON-like values only (finite numbers, string keys), so the resolved spec is JSON."""
    if depth > MAX_YAML_DEPTH:
        raise ValueError(f"{where}: nested too deeply")
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: must be a finite number (got {value})")
        return value
    if isinstance(value, list):
        return [_plain_json(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise ValueError(f"{where}: keys must be strings (got {k!r})")
        return {k: _plain_json(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
    kind = type(value).__name__
    raise ValueError(f"{where}: must be a number, string, boolean, list or mapping (got {kind})")


class _Section(BaseModel):
    # strict: a bool is not an int and "32" is not a number; allow_inf_nan: finite floats only.
    model_config = ConfigDict(
        extra="forbid", validate_default=True, frozen=False, strict=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _bool_is_not_a_number(cls, value: Any, info: Any) -> Any:
        # strict mode still lets True match Literal[1, 2, 4] (True == 1 in Python)
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            if not _accepts_bool(cls.model_fields[info.field_name].annotation):
                raise ValueError(f"must not be a boolean (got {value!r})")
        return value


# --------------------------------------------------------------------------------------------------- model
class ModelSpec(_Section):
    """Which network. `model: resnet50` is shorthand for `model: {name: resnet50}`."""

    name: str = Field(
        max_length=MAX_PATH_CHARS,
        description="A built-in model (see `sparsesim models`), a user factory 'pkg.module:factory' "
        "(imported with the workload's folder on sys.path), or a path to a .onnx file or a SCALE-Sim "
        "topology .csv (conv or GEMM form; relative to the workload file)."
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
    # 100,000: our choice, above ImageNet-21k's 21,841 classes; bounds the classifier's allocation.
    num_classes: int | None = Field(
        None, ge=1, le=100_000, description="Classifier outputs (default: the model's own)."
    )
    checkpoint: str | None = Field(
        None,
        max_length=MAX_PATH_CHARS,
        description="A torch state_dict file (torch.save) to load instead of seeded random weights.",
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seed of the random weights when no checkpoint is given."
    )
    # Each dimension <= 16384 and at most 4 of them (our choice); the product is checked below.
    input_shape: list[int] | None = Field(
        None,
        min_length=1,
        max_length=4,
        description="Per-sample input shape without the batch dimension, for user factories "
        f"(at most 4 sizes of 1..16384, at most {2**26:,} elements).",
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
        _no_control(name, "model name")
        name = name.strip()
        if not name:
            raise ValueError("must name a model")
        if ":" in name or name.endswith((".onnx", ".csv")):
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
        if shape is not None and (not shape or any(d < 1 or d > 16384 for d in shape)):
            raise ValueError(f"must be a non-empty list of sizes in 1..16384 (got {shape})")
        if shape is not None and math.prod(shape) > 2**26:  # 256 MiB of FP32 per sample: our choice
            raise ValueError(f"at most {2**26:,} elements per sample (got {math.prod(shape):,})")
        return shape

    @field_validator("checkpoint")
    @classmethod
    def _plain_path(cls, path: str | None) -> str | None:
        return None if path is None else _no_control(path, "path")

    @field_validator("kwargs")
    @classmethod
    def _plain_kwargs(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        return _plain_json(kwargs, "kwargs")

    @property
    def source(self) -> Literal["zoo", "module", "onnx", "scalesim"]:
        if self.name.endswith(".onnx"):
            return "onnx"
        if self.name.endswith(".csv"):
            return "scalesim"
        return "module" if ":" in self.name else "zoo"


# ---------------------------------------------------------------------------------------------------- task
class OptimizerSpec(_Section):
    """The training optimizer, as run by the weight-update engine (FP32 master weights)."""

    kind: Literal["sgd"] = Field("sgd", description="SGD with momentum (SR-STE's recipe).")
    lr: float = Field(0.1, gt=0, le=100, description="Learning rate.")
    momentum: float = Field(0.9, ge=0, lt=1, description="Momentum coefficient.")
    weight_decay: float = Field(
        5e-5, ge=0, le=1, description="L2 weight decay (SR-STE ResNet-50 recipe: 5e-5)."
    )
    srste_decay: float = Field(
        2e-4,
        ge=0,
        le=1,
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
    n: int | None = Field(None, ge=1, le=256)
    m: int | None = Field(None, ge=1, le=256)
    sparsity: float | None = Field(None, gt=0, lt=1)
    group_size: int | None = Field(None, ge=1, le=64)
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
    n: int | None = Field(None, ge=1, le=256, description="N of N:M: weights kept per group.")
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
    include: list[str] = Field(
        default_factory=lambda: ["*"], max_length=MAX_LIST_ITEMS, description="Layer-name globs to prune."
    )
    exclude: list[str] = Field(
        default_factory=list, max_length=MAX_LIST_ITEMS, description="Layer-name globs to keep dense."
    )
    overrides: dict[str, LayerOverride] = Field(
        default_factory=dict,
        max_length=MAX_LIST_ITEMS,
        description="Layer-name glob -> settings for matching layers (last match wins)."
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
        if self.pattern in ("nm", "bdwp") and self.n is not None and self.m is not None:
            return self.n / self.m
        if self.pattern == "dense" or self.sparsity is None:  # the validator requires n, m or sparsity
            return 1.0
        return 1.0 - float(self.sparsity)


# ----------------------------------------------------------------------------------------------- targets
class Optimisations(_Section):
    """SAT's three dataflow optimisations (SAT paper; docs/sat_model.md), each switchable for ablations."""

    interleave: bool = Field(True, description="Interleave mapping: keep the FP adder pipeline full.")
    pregenerate: bool = Field(
        True, description="Pre-generate next iteration's N:M weights right after each layer's update."
    )
    offline_schedule: bool = Field(
        True, description="Offline scheduler (tiling, dataflow, overlap); off = naive in-order schedule."
    )


# Largest buffer, 1 GiB in KiB: our choice, 25x the XCVU9P's whole on-chip RAM (~43 MB), room to explore.
KIB_MAX = 1 << 20


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
    act_buffer_kib: int | None = Field(None, ge=1, le=KIB_MAX, description="Activation buffer, KiB.")
    weight_buffer_kib: int | None = Field(None, ge=1, le=KIB_MAX, description="Weight + index buffer, KiB.")
    out_buffer_kib: int | None = Field(
        None, ge=1, le=KIB_MAX, description="Output / partial-sum buffer, KiB."
    )
    grad_buffer_kib: int | None = Field(None, ge=1, le=KIB_MAX, description="Gradient buffer, KiB.")
    dram_channels: int | None = Field(None, ge=1, le=16, description="DDR4 channels used.")
    dram_mts: int | None = Field(None, ge=100, le=12_800, description="DDR4 data rate, MT/s.")
    dram_bus_bits: int | None = Field(
        None, ge=8, le=1024, description="DDR4 data width per channel, bits."
    )
    dram_latency_ns: float | None = Field(None, ge=0, le=10_000, description="DDR4 access latency, ns.")
    sorter_lanes: int | None = Field(None, ge=1, le=1024, description="Sparse-weight generator (SORE) lanes.")
    wu_lanes: int | None = Field(None, ge=1, le=1024, description="Weight-update engine FP32 lanes.")
    vector_lanes: int | None = Field(
        None, ge=1, le=4096, description="Vector unit FP32 lanes (activations, norms, pooling, softmax)."
    )
    # On-chip costs (sparsesim.sat.onchip; docs/sat_model.md "On-chip costs").
    onchip_costs: bool | None = Field(None, description="Model ports, bank conflicts, address generation.")
    act_port_bytes_per_cycle: int | None = Field(None, ge=8, le=65536, description="Act buffer port.")
    grad_port_bytes_per_cycle: int | None = Field(None, ge=8, le=65536, description="Grad buffer port.")
    out_port_bytes_per_cycle: int | None = Field(None, ge=8, le=65536, description="Out buffer ports, each.")
    agu_runs_per_cycle: int | None = Field(None, ge=1, le=1024, description="Address generator runs/cycle.")
    wu_port_bytes_per_cycle: int | None = Field(None, ge=8, le=65536, description="Update engine bus.")
    vector_port_bytes_per_cycle: int | None = Field(None, ge=8, le=65536, description="Vector unit port.")
    bank_mapping: Literal["interleaved", "skewed"] | None = Field(None, description="Word-to-bank map.")
    pitch_pad_bytes: int | None = Field(None, ge=0, le=4096, description="Padding of pixel/row pitches, B.")
    technology: float | None = Field(
        None, ge=7, le=130,
        description="Energy model: an ASIC projection at this node in nm (7-130); unset: the XCVU9P FPGA.",
    )  # fmt: skip
    static_power_w: float | None = Field(
        None, ge=0, le=1000,
        description="Energy model: device static power in W, e.g. from Vivado's report_power (unset: the "
        "model's estimate, docs/energy_model.md).",
    )  # fmt: skip
    clock_energy_fj_per_ff: float | None = Field(
        None, ge=0, le=1000,
        description="Energy model: clock energy per flip-flop per cycle in fJ at the target's node (unset: "
        "the model's estimate, docs/energy_model.md).",
    )  # fmt: skip
    optimisations: Optimisations = Field(default_factory=Optimisations)
    scalesim: str | None = Field(
        None,
        max_length=MAX_PATH_CHARS,
        description="A SCALE-Sim 3.0.0 .cfg file (relative to the workload file): its array, SRAMs and "
        "dataflow as SCALE-Sim models them (sparsesim.scalesim), for dense inference; no other accelerator "
        "field may be set with it.",
    )

    @field_validator("scalesim")
    @classmethod
    def _plain_cfg_path(cls, path: str | None) -> str | None:
        return None if path is None else _no_control(path, "path")

    @model_validator(mode="after")
    def _scalesim_alone(self) -> AcceleratorSpec:
        if self.scalesim is None:
            return self
        # Compared with the defaults, not by presence: a dumped workload.yaml lists every field.
        defaults = AcceleratorSpec()
        others = [
            f for f in type(self).model_fields if f != "scalesim" and getattr(self, f) != getattr(defaults, f)
        ]
        if others:
            raise _field_error(
                others[0], "cannot be set with accelerator.scalesim (the .cfg file describes the whole array)"
            )
        return self

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
        default_factory=lambda: list[MobileKernel](["spmm", "group", "nm"]),
        description="Sparse kernels allowed: spmm (XNNPACK CSR-delta SpMM), group (block-CSR of G output "
        "channels), nm (N:M along Cin). A layer tries its pattern's own kernel first, then these in order.",
    )
    spmm_layer_types: list[MobileLayerType] = Field(
        default_factory=lambda: list[MobileLayerType](["conv1x1"]),
        description="Layers SpMM may run: conv1x1 (stride 1, no padding, groups 1; XNNPACK's rule), "
        "conv (any groups-1 conv through a packed im2col tile), linear.",
    )
    group_layer_types: list[MobileLayerType] = Field(
        default_factory=lambda: list[MobileLayerType](["conv1x1", "conv", "linear"]),
        description="Layers the group kernel may run.",
    )
    nm_layer_types: list[MobileLayerType] = Field(
        default_factory=lambda: list[MobileLayerType](["conv1x1", "conv", "linear"]),
        description="Layers the N:M kernel may run.",
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
        None, gt=0, le=1000, description="Override the DRAM peak bandwidth, GB/s."
    )
    dram_efficiency: float | None = Field(
        None, gt=0, le=1, description="Override the sustained fraction of DRAM peak bandwidth."
    )


class OutputSpec(_Section):
    dir: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description="Output folder (default: reports/<name>, relative to the cwd).",
    )

    @field_validator("dir")
    @classmethod
    def _plain_path(cls, path: str | None) -> str | None:
        return None if path is None else _no_control(path, "folder path")


# -------------------------------------------------------------------------------------------- workload
class Workload(_Section):
    """One workload.yaml."""

    name: str | None = Field(
        None,
        description="Run name (default: the file's stem): a plain file name (the report folder "
        "reports/<name>), no '/', no leading '.', no control characters, "
        f"at most {MAX_NAME_CHARS} characters.",
    )
    model: ModelSpec
    task: TaskSpec = Field(default_factory=TaskSpec)
    sparsity: SparsitySpec
    target: Literal["sat", "mobile"]
    accelerator: AcceleratorSpec = Field(default_factory=AcceleratorSpec)
    mobile: MobileSpec = Field(default_factory=MobileSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str | None) -> str | None:
        return None if name is None else check_file_name(name)

    @model_validator(mode="after")
    def _resolve_defaults(self) -> Workload:
        if self.accelerator.scalesim is not None:
            if self.target != "sat":
                raise _field_error("target", "must be 'sat' with accelerator.scalesim")
            if self.task.mode == "train":
                raise _field_error("task.mode", "must be 'infer' with accelerator.scalesim (SCALE-Sim's "
                                   "array runs dense inference)")  # fmt: skip
            if self.sparsity.pattern != "dense":
                raise _field_error("sparsity", "must be dense with accelerator.scalesim (SCALE-Sim's "
                                   "array runs dense inference)")  # fmt: skip
        if self.task.mode is None and (self.model.source == "scalesim" or self.accelerator.scalesim):
            self.task.mode = "infer"  # SCALE-Sim topologies are inference layers
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


def _format_error(err: Mapping[str, Any]) -> str:
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
    if name is not None and data.get("name") is None:
        data = {**data, "name": name}
    try:
        wl = Workload.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_error_line(exc)) from None
    wl._base_dir = (base_dir or Path.cwd()).resolve()
    _check_paths(wl)
    return wl


def _check_paths(wl: Workload) -> None:
    """Files named by the spec must exist: say so now rather than deep inside a run."""
    named = []
    if wl.model.source == "onnx":
        named.append(("model.name", "ONNX file", wl.model.name))
    if wl.model.checkpoint:
        named.append(("model.checkpoint", "checkpoint file", wl.model.checkpoint))
    for field, what, name in named:
        path = wl.base_dir / name
        try:
            found = path.resolve().is_file()
        except OSError as err:  # name too long, permission denied on a parent, a symlink loop ...
            raise SpecError(f"{what} {path}: {err.strerror or err}", path=field) from None
        if not found:
            raise SpecError(f"{what} not found: {path.resolve()}", path=field)
    if wl.model.source == "scalesim" or wl.accelerator.scalesim is not None:
        from . import scalesim  # SCALE-Sim files are read now, so a bad one fails before anything runs

        if wl.model.source == "scalesim":
            scalesim.read_topology(wl.base_dir / wl.model.name)
        if wl.accelerator.scalesim is not None:
            cfg = (wl.base_dir / wl.accelerator.scalesim).resolve()
            scalesim.read_config(cfg)
            wl.accelerator.scalesim = str(cfg)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the nesting depth bounded while composing (its composer recurses)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(
                    f"nested more than {MAX_YAML_DEPTH} levels deep (line {mark.line + 1}); "
                    "a workload needs 4"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# YAML 1.1 (PyYAML) reads `1e9` as a string; YAML 1.2 and every user read it as a number.
_BoundedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _yaml_key(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<{node.tag.rsplit(':', 1)[-1]}>"


def _check_tree(root: yaml.Node) -> None:
    """Duplicate keys at any level, and the node count after alias expansion (alias bombs), on the composed
    tree before anything is constructed. Raises SpecError-ready messages as ValueError."""
    sizes: dict[int, int] = {}  # id(node) -> expanded size; shared nodes are aliases

    def size(node: yaml.Node, path: str) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a recursive alias (&a [*a]) counts once; the constructor handles it
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for key, value in node.value:
                name = _yaml_key(key)
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if name in seen:
                        where = f"{path}.{name}" if path else name
                        first = seen[name].start_mark.line + 1
                        raise ValueError(
                            f":{key.start_mark.line + 1}:{key.start_mark.column + 1}: duplicate key "
                            f"'{where}' (first on line {first}); keep one"
                        )
                    seen[name] = key
                total += size(key, path) + size(value, f"{path}.{name}" if path else name)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                total += size(item, f"{path}[{i}]")
        if total > MAX_YAML_NODES:
            raise ValueError(
                f": more than {MAX_YAML_NODES:,} values once aliases are expanded "
                f"(at '{path or '(top level)'}'); remove the aliases (*name)"
            )
        sizes[id(node)] = total
        return total

    size(root, "")


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely: duplicate keys rejected, depth and alias expansion bounded. Every failure is a
    one-line SpecError starting with `source` (the file name)."""
    loader = None
    try:
        try:
            loader = _BoundedLoader(text)  # the reader rejects control characters here already
            root = loader.get_single_node()
            if root is None:
                return None
            _check_tree(root)
            return loader.construct_document(root)
        except ValueError as exc:  # from _check_tree
            raise SpecError(f"{source}{exc}") from None
        except RecursionError:
            raise SpecError(f"{source}: invalid YAML: nested too deeply") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecError(f"{source}{where}: invalid YAML: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: str | Path, what: str = "workload") -> Any:
    """Parse a YAML file given on the command line; every failure is a one-line SpecError naming the file.

    The one place sparsesim parses YAML (workloads and sweeps), so both get the same messages and limits.
    """
    path = Path(path)
    try:
        if not path.exists():
            raise SpecError(f"{path}: no such file (give a {what} .yaml file)")
        if path.is_dir():
            raise SpecError(f"{path}: is a folder, not a {what} .yaml file")
        if not path.is_file():
            raise SpecError(f"{path}: not a regular file (give a {what} .yaml file)")
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise SpecError(f"{path}: cannot read: {err.strerror or err}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; a {what} file is a few lines")
    if b"\x00" in raw:
        raise SpecError(f"{path}: binary file, not a YAML {what} (give a {what} .yaml file)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text, not a YAML {what} (give a {what} .yaml file)") from None
    return parse_yaml(text, str(path))


def load_workload(path: str | Path) -> Workload:
    """Read and validate a workload.yaml. Every failure is a SpecError with a one-line message."""
    path = Path(path)
    data = read_yaml_file(path, "workload")
    if data is None:
        raise SpecError(f"{path}: empty workload (needs at least model, sparsity and target)")
    if isinstance(data, dict) and data.get("name") is None:
        try:
            check_file_name(path.stem)
        except ValueError as exc:
            raise SpecError(
                f"{path}: name: the run name defaults to the file's name {path.stem!r}, which {exc}; "
                "set name: in the file"
            ) from None
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
            value = info.get_default(call_default_factory=True)
            return "(section)" if isinstance(value, BaseModel) else f"`{json.dumps(value)}`"
        return f"`{json.dumps(info.default)}`" if info.default is not None else "unset"

    def bounds_of(info: FieldInfo) -> str:
        parts = []
        for meta in info.metadata:
            for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                value = getattr(meta, attr, None)
                if value is not None:
                    parts.append(f"{sign} {value:,}" if isinstance(value, int) else f"{sign} {value:g}")
            if getattr(meta, "min_length", None) is not None:
                parts.append(f"length >= {meta.min_length}")
            if getattr(meta, "max_length", None) is not None:
                parts.append(f"length <= {meta.max_length:,}")
        return ", ".join(parts)

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
    lines: list[str] = [
        "Integers and booleans are strict (`true` is not 1, `\"32\"` is not 32), numbers finite; a file "
        f"is at most {MAX_FILE_BYTES // 1024} KiB, nests at most {MAX_YAML_DEPTH} levels, holds no "
        f"duplicate keys and at most {MAX_YAML_NODES:,} values after YAML aliases are expanded.",
        "",
    ]
    for title, model in sections:
        lines += [
            f"**`{title}`**",
            "",
            "| field | type | bounds | default | meaning |",
            "|---|---|---|---|---|",
        ]
        for name, info in model.model_fields.items():
            desc = info.description or ""
            if not desc and default_of(info) == "(section)":
                where = name if title == "(top level)" else f"{title}.{name}"
                desc = f"section `{where}` (below)"
            lines.append(
                f"| `{name}` | {type_of(info)} | {bounds_of(info)} | {default_of(info)} "
                f"| {desc.replace('|', '/')} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
