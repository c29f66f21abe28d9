"""The whole board top at its UART pins (cocotb on Icarus): the host driver sends tiles through a bridge to
the pins, runs them and reads them back; results must equal sparsesim.sat.numerics bit for bit, torch within
numerics.fp_error_bound, and the board's cycle registers sparsesim.sat.timing (tb_board.py)."""

from __future__ import annotations

import pytest
from fpga_helpers import run_board_bench
from sparsesim.rtl.board import BoardParams
from sparsesim.rtl.config import ArrayConfig

pytestmark = pytest.mark.rtl

SIM_PARAMS = BoardParams(
    ArrayConfig(rows=2, cols=2, multipliers=2, max_m=8, precision="fp16"),
    weight_depth=8,
    act_depth=32,
    result_depth=32,
    clocks_per_bit=4,
    heartbeat_bit=8,
)


def test_board_at_the_uart_pins():
    data = run_board_bench(SIM_PARAMS, key="board_2x2_fp16")
    run = data["_run"]
    tiles = data.get("tiles", {})
    assert run["tests"] == 2 and run["failed"] == 0, (
        f"{run['failed']} of {run['tests']} cocotb tests failed: {tiles.get('mismatches')}; log: {run['log']}"
    )
    assert len(tiles["runs"]) == 6 and not tiles["mismatches"]
    print(
        f"\nboard 2x2 fp16 on icarus: convert {run['convert_s']:.1f} s, build {run['build_s']:.1f} s, "
        f"tests {run['test_s']:.1f} s; {len(tiles['runs'])} tiles ({tiles['sim_cycles']:,} clock cycles at "
        f"{SIM_PARAMS.clocks_per_bit} per UART bit) in {tiles['wall_s']:.1f} s, "
        f"{tiles['bytes_to_board']} bytes to the board, {tiles['bytes_from_board']} back"
    )
