"""Verilog export of the array, the PE and the sparse-weight generator lane.

`write_verilog` converts a component once per (name, parameters, RTL source) and reuses the file afterwards
(a stamp next to it holds the hash), so the benches do not pay Amaranth's conversion twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from .config import ArrayConfig

RTL_DIR = Path(__file__).resolve().parent
# The modules a converted design depends on (other files in rtl/ do not invalidate cached Verilog).
DESIGN_MODULES = ("arith.py", "array.py", "config.py", "pe.py", "sorter.py", "export.py")


def rtl_source_hash() -> str:
    h = hashlib.sha256()
    for path in (RTL_DIR / name for name in DESIGN_MODULES):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _digest(name: str, key: dict) -> str:
    blob = json.dumps({"name": name, "key": key, "src": rtl_source_hash()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _write(path: Path, text: str, digest: str) -> None:
    tmp = path.with_suffix(".v.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    path.with_suffix(".stamp").write_text(digest)


def write_verilog(make: Callable[[], wiring.Component], name: str, path: Path, key: dict) -> Path:
    """Convert `make()` to Verilog with top module `name` at `path`, unless an identical build exists."""
    path = Path(path)
    digest = _digest(name, key)
    stamp = path.with_suffix(".stamp")
    if path.exists() and stamp.exists() and stamp.read_text() == digest:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, verilog.convert(make(), name=name, emit_src=False), digest)
    return path


def array_verilog(cfg: ArrayConfig, out_dir: Path, name: str = "sparse_array") -> Path:
    """The array top `name` and, in the same file, its PE cell module `<name>_cell` (R*C instances)."""
    from .array import PECell, SparseArray

    cell = f"{name}_cell"
    path = Path(out_dir) / f"{name}.v"
    stamp = path.with_suffix(".stamp")
    digest = _digest(name, cfg.to_dict())
    if path.exists() and stamp.exists() and stamp.read_text() == digest:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    text = verilog.convert(PECell(cfg, enable_port=True), name=cell, emit_src=False)
    text += verilog.convert(SparseArray(cfg, cell_module=cell), name=name, emit_src=False)
    _write(path, text, digest)
    return path


def pe_verilog(cfg: ArrayConfig, out_dir: Path, name: str = "sparse_pe") -> Path:
    from .pe import SparsePE

    return write_verilog(lambda: SparsePE(cfg), name, Path(out_dir) / f"{name}.v", cfg.to_dict())


def sorter_verilog(
    out_dir: Path, *, n_max: int, max_m: int, fmt: str, name: str = "sparse_weight_lane"
) -> Path:
    from .sorter import TopNSorter

    key = {"n_max": n_max, "max_m": max_m, "fmt": fmt}
    return write_verilog(lambda: TopNSorter(n_max=n_max, max_m=max_m, fmt=fmt), name,
                         Path(out_dir) / f"{name}.v", key)


def interface_description(cfg: ArrayConfig) -> dict:
    """Parameters and stream layouts of an exported array (written next to the Verilog as JSON)."""

    def fields(layout) -> dict:
        return {name: {"offset": f.offset, "width": f.width} for name, f in layout}

    from .array import pe_latency

    return {
        "config": cfg.to_dict(),
        "pipeline": {  # the PE's depths as elaborated (cycles); the schedule is the controller's business
            "mul_latency": cfg.mul_latency,
            "add_latency": cfg.add_latency,
            "pe_latency": pe_latency(cfg),
        },
        "streams": {
            "cmd": {"width": cfg.cmd_layout.size, "fields": fields(cfg.cmd_layout)},
            "weights": {"width": cfg.weights_layout.size, "entries": cfg.lanes, "lanes": cfg.multipliers,
                        "lane": fields(cfg.lane_layout)},
            "acts": {"width": cfg.acts_layout.size, "entries": cfg.lanes, "group": cfg.max_m,
                     "element_bits": cfg.operand_bits},
            "results": {"width": cfg.result_layout.size, "fields": fields(cfg.result_layout)},
        },
        "outputs": ["cycle", "ev_load", "ev_start", "ev_done", "busy"],
    }
