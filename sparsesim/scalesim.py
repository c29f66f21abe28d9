"""SCALE-Sim 3.0.0's input files, read unchanged: a topology CSV as a model, a .cfg as an accelerator.

SCALE-Sim (the `scalesim` package on PyPI, MIT licence, github.com/scalesim-project/SCALE-Sim; method in
"A Systematic Methodology for Characterizing Scalability of DNN Accelerators using SCALE-Sim", Samajdar et
al., ISPASS 2020) describes a network as a CSV of layers and a systolic array as an INI file. This module
turns

* a topology CSV, in its convolution form (``Layer name, IFMAP Height, IFMAP Width, Filter Height,
  Filter Width, Channels, Num Filter, Strides,`` and an optional ``Sparsity`` column) or its GEMM form
  (``Layer Name, M, N, K,``), into a LayerGraph of the layers SCALE-Sim runs, with SCALE-Sim's own layer
  dims: no padding, Ho = ceil((H - kh) / s) + 1; a GEMM row is an M x K ifmap times a K x N filter, as
  SCALE-Sim lowers it (M output rows, N filters, reduction K); a layer whose name contains ``DP`` is
  depthwise and runs as one single-channel layer per channel, as SCALE-Sim splits it;
* a .cfg into a `SatArch`: SCALE-Sim's array described with the parameters the timing contract and the
  scheduler take (`arch_from_config`), so the same engine code path runs it and the vcu1525 preset.

SCALE-Sim's array, as its compute model (compute/systolic_compute_{ws,os}.py) times a fold, in those terms:

- a PE multiplies and accumulates in one cycle, operands hop one PE per cycle: mul_latency 0, add_latency 1;
- WS: a fold's filter is pushed in at the top edge and shifts down (R cycles) before the ifmap streams:
  weight_load "shift";
- WS: one weight register per PE, the next fold's filter fill starts after the last output: weight_banks 1,
  fold_overlap False;
- OS: the next fold's operands enter as the last output is written, outputs leave behind them: os_drain
  "overlapped";
- ifmap/filter/ofmap SRAMs are double-buffered prefetching scratchpads, their size bounds no fold:
  sram_streaming True;
- CALC interface bandwidth, computed so that the SRAMs never stall: dram_calc True;
- WS: Sr = kh*kw*Cin on rows, Sc = Cout on columns, T = Ho*Wo; OS: Sr = Ho*Wo, Sc = Cout, T = kh*kw*Cin:
  mapping "scalesim".

With these, a WS fold takes T + 2R + C - 2 cycles and an OS fold T + R + C - 2, SCALE-Sim's closed forms;
our cycle count is the number of cycles (last index + 1) and includes the last result leaving the array
(WS: +2 per layer; OS: +2 + R, the last fold's results draining out), see docs/sat_model.md.
Every failure in a file is one `SpecError` naming the file, the line or key, and the fix.
"""

from __future__ import annotations

import configparser
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import SpecError

SCALESIM = "SCALE-Sim 3.0.0"
SCALESIM_MODEL = (
    f"{SCALESIM}'s compute model (scalesim/compute/systolic_compute_ws.py and _os.py: fold demand matrices)"
)


# ------------------------------------------------------------------------------------------- topology
@dataclass(frozen=True)
class TopologyLayer:
    """One layer as SCALE-Sim reads it (a GEMM row already in its conv form: H = M, W = K, 1 x K filter,
    one channel, N filters, stride 1)."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int
    line: int  # 1-based line in the CSV
    sparsity: str = ""  # the optional N:M column, as written (dense runs ignore it, as SCALE-Sim does)

    @property
    def ofmap_h(self) -> int:
        return math.ceil((self.ifmap_h - self.filter_h + self.stride) / self.stride)

    @property
    def ofmap_w(self) -> int:
        return math.ceil((self.ifmap_w - self.filter_w + self.stride) / self.stride)

    @property
    def window(self) -> int:
        """Reduction length of one output: kh * kw * Cin."""
        return self.filter_h * self.filter_w * self.channels

    @property
    def macs(self) -> int:
        return self.ofmap_h * self.ofmap_w * self.window * self.num_filters


@dataclass(frozen=True)
class Topology:
    path: Path
    form: Literal["conv", "gemm"]
    layers: tuple[TopologyLayer, ...]

    @property
    def name(self) -> str:
        return self.path.stem


CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                "Num Filter", "Strides")  # fmt: skip
GEMM_COLUMNS = ("Layer Name", "M", "N", "K")


def _read_text(path: Path, what: str) -> str:
    if not path.exists():
        raise SpecError(f"{path}: no such file (give a SCALE-Sim {what})")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, not a SCALE-Sim {what}")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise SpecError(f"{path}: binary file, not a SCALE-Sim {what}")
    try:
        return raw.decode("utf-8-sig")  # some of SCALE-Sim's own topologies start with a byte-order mark
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text, not a SCALE-Sim {what}") from None


def _fields(row: str) -> list[str]:
    """SCALE-Sim ends every row with a comma and drops the field after it; accept rows without it too."""
    parts = [p.strip() for p in row.split(",")]
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def read_topology(path: str | Path) -> Topology:
    """Read a SCALE-Sim topology CSV (conv or GEMM form, told apart by its header)."""
    path = Path(path)
    text = _read_text(path, "topology CSV")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise SpecError(
            f"{path}:1: empty header (a SCALE-Sim topology starts with '{', '.join(CONV_COLUMNS)},' "
            f"or '{', '.join(GEMM_COLUMNS)},')"
        )
    header = [h.lower() for h in _fields(lines[0])]
    form: Literal["conv", "gemm"] = "gemm" if header[1:4] == ["m", "n", "k"] else "conv"
    need = len(GEMM_COLUMNS) if form == "gemm" else len(CONV_COLUMNS)
    if len(header) < need:
        raise SpecError(
            f"{path}:1: header has {len(header)} columns; a SCALE-Sim topology needs "
            f"'{', '.join(CONV_COLUMNS)},' (conv) or '{', '.join(GEMM_COLUMNS)},' (GEMM)"
        )
    columns = GEMM_COLUMNS if form == "gemm" else CONV_COLUMNS
    layers: list[TopologyLayer] = []
    names: set[str] = set()
    for lineno, row in enumerate(lines[1:], start=2):
        if not row.strip():
            continue
        f = _fields(row)
        if len(f) < need:
            raise SpecError(
                f"{path}:{lineno}: {len(f)} fields, expected {need} ({', '.join(columns)}) and an optional "
                "Sparsity (N:M)"
            )
        name = f[0]
        if not name:
            raise SpecError(f"{path}:{lineno}: empty layer name (column '{columns[0]}')")
        vals: list[int] = []
        for col, v in zip(columns[1:], f[1:need]):
            try:
                iv = int(v)
            except ValueError:
                raise SpecError(f"{path}:{lineno}: {col} must be a whole number, got {v!r}") from None
            if iv < 1:
                raise SpecError(f"{path}:{lineno}: {col} must be >= 1, got {iv}")
            vals.append(iv)
        sparsity = f[need] if len(f) > need else ""
        if sparsity and not re.fullmatch(r"\d+\s*:\s*\d+", sparsity):
            raise SpecError(f"{path}:{lineno}: Sparsity must be N:M (e.g. 2:4), got {sparsity!r}")
        if form == "gemm":
            m, n, k = vals
            entries = [TopologyLayer(name, m, k, 1, k, 1, n, 1, lineno, sparsity)]
        else:
            h, w, kh, kw, c, cout, s = vals
            if kh > h or kw > w:
                raise SpecError(
                    f"{path}:{lineno}: the {kh}x{kw} filter is larger than the {h}x{w} ifmap (SCALE-Sim "
                    "takes no padding: give the padded ifmap size)"
                )
            if "DP" in name:  # SCALE-Sim's depthwise convention: one single-channel layer per channel
                entries = [
                    TopologyLayer(f"{name}Channel_{i}", h, w, kh, kw, 1, cout, s, lineno, sparsity)
                    for i in range(c)
                ]
            else:
                entries = [TopologyLayer(name, h, w, kh, kw, c, cout, s, lineno, sparsity)]
        for e in entries:
            if e.name in names:
                raise SpecError(f"{path}:{lineno}: layer name {e.name!r} appears twice (make names unique)")
            names.add(e.name)
        layers.extend(entries)
    if not layers:
        raise SpecError(f"{path}: no layers after the header (one row per layer)")
    return Topology(path=path, form=form, layers=tuple(layers))


def layer_graph(topo: Topology, *, seed: int = 0) -> Any:
    """The topology as a LayerGraph: one conv (or linear, for GEMM rows) node per layer, in file order.

    Layers are chained in file order (SCALE-Sim runs them one after another). Weights are seeded random
    values (SCALE-Sim topologies carry none), so a sparse pattern on them prunes by magnitude as for a zoo
    model.
    """
    import numpy as np

    from .graph.layergraph import LayerGraph

    g = LayerGraph()
    g.graph["model"] = topo.name
    rng = np.random.default_rng(seed)
    first = topo.layers[0]
    in_shape = [1, first.ifmap_h, first.ifmap_w] if topo.form == "gemm" else [1, first.channels,
                                                                                 first.ifmap_h, first.ifmap_w]
    g.add_node("input", kind="input", op="input", order=0, in_shapes=[], out_shape=in_shape,
               out_elems=math.prod(in_shape), weight_shape=None, params=0, macs=0)  # fmt: skip
    prev = "input"
    for i, layer in enumerate(topo.layers, start=1):
        if topo.form == "gemm":
            m, n, k = layer.ifmap_h, layer.num_filters, layer.window
            attrs = dict(
                kind="linear", op="SCALE-Sim GEMM", in_shapes=[[1, m, k]], out_shape=[1, m, n],
                weight_shape=[n, k], tokens=m,
            )  # fmt: skip
            wshape: tuple[int, ...] = (n, k)
            out_shape = [1, m, n]
        else:
            out = [1, layer.num_filters, layer.ofmap_h, layer.ofmap_w]
            wshape = (layer.num_filters, layer.channels, layer.filter_h, layer.filter_w)
            out_shape = out
            attrs = dict(
                kind="conv", op="SCALE-Sim conv",
                in_shapes=[[1, layer.channels, layer.ifmap_h, layer.ifmap_w]], out_shape=out,
                weight_shape=list(wshape), groups=1, kernel=(layer.filter_h, layer.filter_w),
                stride=(layer.stride, layer.stride), padding=(0, 0), dilation=(1, 1),
            )  # fmt: skip
        g.add_node(
            layer.name, order=i, out_elems=math.prod(out_shape), params=math.prod(wshape),
            bias=False, macs=layer.macs, **attrs,
        )  # fmt: skip
        g.add_edge(prev, layer.name)
        g.weights[layer.name] = rng.standard_normal(wshape, dtype=np.float32)
        prev = layer.name
    g.graph["total_params"] = g.total_params()
    return g


# --------------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ScaleSimConfig:
    """The keys of a SCALE-Sim .cfg that shape the array (sizes in KiB: SCALE-Sim's kB are 1,024 bytes of
    1-byte words, scalesim/single_layer_sim.py)."""

    path: Path
    run_name: str
    rows: int
    cols: int
    ifmap_sram_kib: int
    filter_sram_kib: int
    ofmap_sram_kib: int
    dataflow: Literal["ws", "os"]
    interface_bandwidth: str  # CALC (USER is refused)


def _key_line(text: str, section: str, key: str) -> int | None:
    current = None
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            current = s[1:-1].strip().lower()
        elif current == section.lower() and re.match(rf"{re.escape(key)}\s*[:=]", s, re.IGNORECASE):
            return i
    return None


def read_config(path: str | Path) -> ScaleSimConfig:
    """Read the keys of a SCALE-Sim 3.0.0 .cfg that sparsesim models; refuse what it does not."""
    path = Path(path)
    text = _read_text(path, ".cfg file")
    cp = configparser.ConfigParser()
    try:
        cp.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise SpecError(f"{path}:{exc.lineno}: a line before the first [section] (SCALE-Sim .cfg files "
                        "start with [general])") from None  # fmt: skip
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        where = f":{line}" if line else ""
        msg = str(exc).splitlines()[0]
        raise SpecError(f"{path}{where}: not a valid SCALE-Sim .cfg file ({msg})") from None

    def get(section: str, key: str) -> tuple[str, str]:
        if not cp.has_section(section):
            raise SpecError(f"{path}: missing section [{section}] (SCALE-Sim needs it)")
        if not cp.has_option(section, key):
            raise SpecError(f"{path}: [{section}] {key}: missing (SCALE-Sim needs it)")
        line = _key_line(text, section, key)
        return cp.get(section, key).strip(), f"{path}:{line}" if line else str(path)

    def get_int(section: str, key: str) -> int:
        value, where = get(section, key)
        try:
            iv = int(value)
        except ValueError:
            raise SpecError(f"{where}: [{section}] {key} must be a whole number, got {value!r}") from None
        if iv < 1:
            raise SpecError(f"{where}: [{section}] {key} must be >= 1, got {iv}")
        return iv

    run_name, _ = get("general", "run_name")
    rows = get_int("architecture_presets", "ArrayHeight")
    cols = get_int("architecture_presets", "ArrayWidth")
    if rows > 1024 or cols > 1024:
        raise SpecError(f"{path}: [architecture_presets] ArrayHeight/ArrayWidth must be <= 1024")
    sizes = [get_int("architecture_presets", k) for k in ("IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB")]
    df_text, where = get("architecture_presets", "Dataflow")
    df: Literal["ws", "os"] = "ws" if df_text == "ws" else "os"
    if df_text not in ("ws", "os"):
        hint = " ('is', input stationary, is not modelled)" if df_text == "is" else ""
        raise SpecError(f"{where}: [architecture_presets] Dataflow must be ws or os, got {df_text!r}{hint}")
    bw, where = get("run_presets", "InterfaceBandwidth")
    if bw != "CALC":
        raise SpecError(
            f"{where}: [run_presets] InterfaceBandwidth must be CALC, got {bw!r} (USER bandwidth stalls are "
            "SCALE-Sim's memory model, which sparsesim does not reproduce)"
        )
    if cp.has_section("sparsity") and cp.has_option("sparsity", "SparsitySupport"):
        sp, where = get("sparsity", "SparsitySupport")
        if sp.lower() == "true":
            raise SpecError(
                f"{where}: [sparsity] SparsitySupport must be false (sparsesim runs SCALE-Sim's dense "
                "array; use its sparsity model in SCALE-Sim itself)"
            )
    ifmap_kib, filter_kib, ofmap_kib = sizes
    return ScaleSimConfig(
        path, run_name, rows, cols, ifmap_kib, filter_kib, ofmap_kib, dataflow=df, interface_bandwidth=bw
    )


def arch_from_config(cfg: ScaleSimConfig) -> Any:
    """A SCALE-Sim-style array as a `SatArch` (the module docstring's table), every value with its source."""
    from .sat.arch import SatArch

    def key(section: str, name: str) -> str:
        return f"{cfg.path.name} [{section}] {name}"

    unused = "not in SCALE-Sim's model; unused by its dense inference (the topology is GEMMs only)"
    values: dict[str, tuple[Any, str]] = {
        "rows": (cfg.rows, key("architecture_presets", "ArrayHeight")),
        "cols": (cfg.cols, key("architecture_presets", "ArrayWidth")),
        "multipliers_per_pe": (1, f"{SCALESIM_MODEL}: one MAC per PE"),
        "max_m": (1, f"{SCALESIM_MODEL}: dense (SparsitySupport false)"),
        "precision": ("int8", f"{SCALESIM}: 1-byte words (scalesim/single_layer_sim.py, word_size = 1)"),
        "dataflow": (cfg.dataflow, key("architecture_presets", "Dataflow")),
        "clock_mhz": (1000.0, f"nominal: {SCALESIM} counts cycles and has no clock (1 GHz: µs = k cycles)"),
        "mul_latency_cycles": (0, f"{SCALESIM_MODEL}: a PE multiplies and accumulates in one cycle"),
        "add_latency_cycles": (1, f"{SCALESIM_MODEL}: partial sums and operands hop one PE per cycle"),
        "act_buffer_kib": (cfg.ifmap_sram_kib, key("architecture_presets", "IfmapSramSzkB")),
        "weight_buffer_kib": (cfg.filter_sram_kib, key("architecture_presets", "FilterSramSzkB")),
        "out_buffer_kib": (cfg.ofmap_sram_kib, key("architecture_presets", "OfmapSramSzkB")),
        "grad_buffer_kib": (cfg.ifmap_sram_kib, f"{unused} (set to the ifmap SRAM)"),
        "dram_channels": (1, f"{key('run_presets', 'InterfaceBandwidth')} = CALC: one unlimited interface"),
        "dram_mts": (0, "CALC: no DRAM model (dram_calc)"),
        "dram_bus_bits": (8, "CALC: no DRAM model (dram_calc)"),
        "dram_latency_ns": (0.0, "CALC: the interface never stalls the array"),
        "sorter_lanes": (1, unused),
        "wu_lanes": (1, unused),
        "vector_lanes": (1, unused),
        "weight_banks": (1, f"{SCALESIM_MODEL}: one filter register per PE; folds run one after another"),
        "weight_load": (
            "shift",
            f"{SCALESIM_MODEL}: the filter is pushed in at the top edge, reversed, over R cycles before the "
            "ifmap streams (WS filter demand, np.flip)",
        ),
        "fold_overlap": (False, f"{SCALESIM_MODEL}: a WS fold's filter fill starts after the previous "
                                "fold's last output (T + 2R + C - 2 cycles per fold)"),  # fmt: skip
        "os_drain": (
            "overlapped",
            f"{SCALESIM_MODEL}: an OS fold's outputs leave while the next fold's operands enter "
            "(T + R + C - 2 cycles per fold)",
        ),
        **{
            name: (0, f"{SCALESIM_MODEL}: no DMA engine between the interface and the array (CALC: "
                      "operands are there when the array asks)")
            for name in ("op_issue_cycles", "op_fill_ws_cycles", "op_fill_os_cycles", "op_reload_cycles",
                         "op_writeback_cycles", "op_accumulate_cycles", "op_response_cycles",
                         "dram_port_bytes")
        },
        "sram_streaming": (True, f"{SCALESIM}: double-buffered prefetching SRAMs; the fold order does not "
                                 "depend on their size"),  # fmt: skip
        "mapping": ("scalesim", f"{SCALESIM}: WS Sr = kh*kw*Cin, Sc = Cout, T = Ho*Wo; OS Sr = Ho*Wo, Sc = "
                                "Cout, T = kh*kw*Cin (scalesim/topology_utils.py)"),  # fmt: skip
        "dram_calc": (True, key("run_presets", "InterfaceBandwidth") + " = CALC"),
        "interleave": (True, "one accumulator per PE suffices: L_add = 1"),
        "pregenerate": (True, unused),
        "offline_schedule": (True, "the scheduler maps each layer (with SCALE-Sim's fixed mapping)"),
    }
    sources = {k: src for k, (_, src) in values.items()}
    sources["preset"] = f"{SCALESIM} config {cfg.path.name} (run_name {cfg.run_name})"
    return SatArch(preset="scalesim", sources=sources, **{k: v for k, (v, _) in values.items()})
