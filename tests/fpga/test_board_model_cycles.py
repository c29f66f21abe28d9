"""The in-process board model takes a RUN's cycles from the RTL array (sparsesim.fpga.rtl_cycles: rtl/array.py
in Amaranth's simulator on the RUN's own words), not from the timing model, so that test_host_protocol's
comparison of its cycles with `sparsesim.sat.timing.tile_cycles` compares two independent things."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import numpy as np
from board_plan import board_tiles, check_run, operands
from sparsesim.rtl.board import BoardParams
from sparsesim.rtl.config import ArrayConfig

from sparsesim.fpga import model as board_model
from sparsesim.fpga import rtl_cycles
from sparsesim.fpga.driver import Board
from sparsesim.fpga.model import BoardModel, SimulatedPort
from sparsesim.sat import timing

CFG = ArrayConfig(rows=2, cols=2, multipliers=2, max_m=8, precision="int8")


def _board() -> Board:
    return Board(SimulatedPort(BoardModel(BoardParams(CFG, weight_depth=16, act_depth=64, result_depth=64))))


def test_the_board_model_does_not_import_the_timing_model():
    for mod in (board_model, rtl_cycles):
        tree = ast.parse(inspect.getsource(mod))
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if "timing" in n or "schedule" in n or "refarray" in n], mod.__name__


def test_measured_cycles_equal_the_timing_model_and_follow_the_rtl(monkeypatch):
    """Unchanged RTL: every tile kind's cycles equal timing.tile_cycles. A deeper multiplier in the simulated
    array (the model's configuration and the timing model unchanged) moves every tile's cycles by one, and
    check_run reports it: the number comes from the RTL."""
    board = _board()
    board.info()
    rng = np.random.default_rng(7)
    tiles = [(mode, shape, *operands(rng, CFG, mode, shape)) for mode, shape in board_tiles(CFG)]
    base = []
    for mode, shape, a, b in tiles:
        run = board.run_tile(mode, a, b)
        assert check_run(CFG, run) == []
        assert run.cycles.tile_cycles == timing.tile_cycles(CFG.timing_params(), mode, shape)
        base.append(run.cycles.tile_cycles)
    deeper = rtl_cycles.ArraySimulation(dataclasses.replace(CFG, mul_latency=int(CFG.mul_latency) + 1))  # type: ignore[arg-type]
    monkeypatch.setattr(board_model, "array_simulation", lambda cfg: deeper)
    board = _board()
    board.info()
    for (mode, shape, a, b), before in zip(tiles, base):
        run = board.run_tile(mode, a, b)
        assert run.cycles.tile_cycles == before + 1, (mode, shape)
        assert any("timing.tile_cycles says" in m for m in check_run(CFG, run)), (mode, shape)


def test_a_tile_starts_on_an_idle_array_whatever_ran_before():
    """The live simulation is reused between RUNs: the same tile measures the same after other tiles."""
    board = _board()
    board.info()
    rng = np.random.default_rng(9)
    kinds = board_tiles(CFG)
    mode, shape = kinds[0]
    a, b = operands(rng, CFG, mode, shape)
    first = board.run_tile(mode, a, b).cycles.tile_cycles
    for other_mode, other_shape in kinds[1:]:
        board.run_tile(other_mode, *operands(rng, CFG, other_mode, other_shape))
    assert board.run_tile(mode, a, b).cycles.tile_cycles == first
