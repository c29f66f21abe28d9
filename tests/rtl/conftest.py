"""Shared set-up of the RTL benches: the simulator environment (sparsesim.rtl.toolchain) and the helper
modules beside this file on sys.path (rtl_runner.run_cocotb builds and runs a bench)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sparsesim.rtl import toolchain

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def pytest_configure(config):
    toolchain.configure_environment()


@pytest.fixture(scope="session")
def rtl_build_root() -> Path:
    return toolchain.build_root()
