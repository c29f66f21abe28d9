"""Estimate the shell core (the op engine behind its AXI4-Lite registers and UART link,
rtl/opengine/shellcore.py, what the shell's top instantiates) the way `sparsesim fpga build` estimates the
board core: the PE cell alone, the rest with the cell as a black box (Yosys `synth_xilinx -family xcup`,
cached), total = rest + R x C x cell, percentages of the XCVU9P and the logic depth (docs/fpga.md,
"Resource estimate").

    .venv/bin/python scripts/shell_core_estimate.py WORKLOAD.yaml WORKDIR [field=value ...]

`field=value` overrides the workload's accelerator fields (e.g. rows=4 cols=4 precision=fp16
clock_mhz=200.0). The engine's buffers are sized as the build sizes them (shelltop.engine_blocks). Prints
one JSON object."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from amaranth.back import verilog
from sparsesim.rtl.opengine.export import BLOCK_MEM_MODULE
from sparsesim.rtl.opengine.export import HERE as ENGINE_DIR
from sparsesim.rtl.opengine.shellcore import ShellCore

from sparsesim.api import validate
from sparsesim.fpga import device, estimate, levels, shelltop
from sparsesim.fpga.params import board_params

TOP = "shell_core"


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    acc = validate(argv[0]).accelerator.resolved()
    for item in argv[2:]:
        key, value = item.split("=", 1)
        acc[key] = type(acc[key])(value)
    params = board_params(acc)
    work = Path(argv[1])
    tool = estimate.find_yosys()
    estimate.prepare_tool(tool)
    cell_res, cell = estimate.estimate_cell(params.cfg, work, tool)
    blocks = shelltop.engine_blocks(params)
    core = ShellCore(params.cfg, cell_module=estimate.CELL_MODULE, ctrl_addr_bits=20,
                     uart_divisor=params.clocks_per_bit, memory_module=BLOCK_MEM_MODULE,
                     **blocks)  # fmt: skip
    src = work / "src" / f"{TOP}.v"
    src.write_text(verilog.convert(core, name=TOP, emit_src=False))
    mem = work / "src" / shelltop.BLOCK_MEM_FILE
    mem.write_text((ENGINE_DIR / "block_mem.v").read_text())
    rest = estimate.synthesize(tool, [mem, src], TOP, work, tag="shell_rest",
                               lib=[work / "src" / f"{estimate.CELL_MODULE}.v"],
                               blackboxes=(estimate.CELL_MODULE,))  # fmt: skip
    n = params.cfg.rows * params.cfg.cols
    if rest.cells.get(estimate.CELL_MODULE, 0) != n:
        raise SystemExit(f"the core has {rest.cells.get(estimate.CELL_MODULE, 0)} cells, expected {n}")
    rest_res = device.resources_from_cells({k: v for k, v in rest.cells.items() if k != estimate.CELL_MODULE})
    total = device.resources_from_cells(rest.cells, blackboxes={estimate.CELL_MODULE: cell_res})
    out = {
        "accelerator": {k: acc[k] for k in ("rows", "cols", "precision", "clock_mhz", "weight_buffer_kib",
                                            "act_buffer_kib", "out_buffer_kib")},
        "engine_blocks": blocks, "tool": tool.version, "cell": cell_res, "rest": rest_res, "total": total,
        "percent": {k: round(v, 2) for k, v in device.percent(total).items()},
        "logic_levels": levels.combine(cell.levels, rest.levels, clock_mhz=params.clock_mhz),
        "seconds": {"cell": round(cell.seconds, 1), "rest": round(rest.seconds, 1)},
        "cached": {"cell": cell.cached, "rest": rest.cached},
    }  # fmt: skip
    print(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
