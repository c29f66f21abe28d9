"""`sparsesim rtl export FILE -o DIR`: Verilog of the workload's accelerator (the sparse PE array with its
tile controller, and one sparse-weight generator lane), plus a JSON description of its parameters and
streams."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..io import atomic_dir, check_output_dir
from . import AddCommand, ConsoleLike, group_help


def register(add: AddCommand) -> None:
    p = add("rtl", group_help, "the accelerator's Amaranth RTL (export Verilog)")
    sub = p.add_subparsers(dest="rtl_action", metavar="ACTION")
    e = sub.add_parser("export", help="write the accelerator section's array as Verilog",
                       description="Write the workload's PE array (sparse_array.v), one sparse-weight "
                       "generator lane (sparse_weight_lane.v) and sparse_array.json (parameters, stream "
                       "layouts).")
    e.add_argument("file", help="workload.yaml")
    e.add_argument("--output", "-o", metavar="DIR", required=True, help="output folder (created if missing)")
    e.add_argument("--format", choices=["text", "json"], default="text")
    e.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    e.set_defaults(fn=export_command, parser=e)
    p.set_defaults(parser=p)


def array_config(acc: Any) -> tuple[Any, dict[str, str], int]:
    """ArrayConfig for an AcceleratorSpec (sparsesim.fpga.params.array_config of its resolved values, so the
    exported RTL is the architecture the simulator simulates), the source of each value, and the
    accelerator's sorter lanes."""
    from sparsesim.fpga.params import ARRAY_FIELDS
    from sparsesim.fpga.params import array_config as convert
    from sparsesim.sat.arch import resolve

    sat = resolve(acc)
    origin = {k: sat.sources.get(f, "") for k, f in ARRAY_FIELDS.items()}
    return convert(sat.to_dict()), origin, sat.sorter_lanes


def export_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from sparsesim.api import validate
    from sparsesim.rtl.export import array_verilog, interface_description, sorter_verilog

    wl = validate(args.file)  # the array must run the workload's sparsity, as in `run`
    cfg, origin, sorter_lanes = array_config(wl.accelerator)
    out = check_output_dir(Path(args.output))
    with atomic_dir(out) as tmp:
        con.progress(f"converting a {cfg.rows}x{cfg.cols} {cfg.precision} array to Verilog")
        array_v = array_verilog(cfg, tmp)
        con.progress("converting the sparse-weight generator lane")
        lane_v = sorter_verilog(tmp, n_max=cfg.multipliers, max_m=cfg.max_m, fmt=cfg.precision)
        desc = interface_description(cfg) | {
            "workload": str(args.file),
            "origin": origin,
            "files": {"array": array_v.name, "sorter_lane": lane_v.name},
            "sorter_lane": {"n_max": cfg.multipliers, "max_m": cfg.max_m, "fmt": cfg.precision,
                            "lanes_in_accelerator": sorter_lanes},
        }
        (tmp / "sparse_array.json").write_text(json.dumps(desc, indent=2) + "\n")
        for stamp in tmp.glob("*.stamp"):
            stamp.unlink()
        sizes = {p.name: p.stat().st_size for p in (array_v, lane_v, tmp / "sparse_array.json")}
    summary = {
        "output_dir": str(out),
        "top": "sparse_array",
        "config": cfg.to_dict(),
        "origin": origin,
        "files": sizes,
    }
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        sys.stdout.write(
            f"{cfg.rows}x{cfg.cols} PE array, P={cfg.multipliers}, MMAX={cfg.max_m}, {cfg.precision}, "
            f"L_mul={cfg.mul_latency}, L_add={cfg.add_latency} -> {out}\n"
            + "".join(f"  {name}  {size:,} bytes\n" for name, size in summary["files"].items())
        )
    return 0
