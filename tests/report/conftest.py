"""Runs shared by the report tests, simulated once per session: RunResults from the run command's library
entry point, and the output folder of `sparsesim run` (the CLI's main, in process: torch is imported once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsesim.cli import main
from sparsesim.commands.run import simulate
from sparsesim.spec import load_workload, workload_from_dict

ROOT = Path(__file__).resolve().parents[2]
SAT_WORKLOAD = ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml"
MOBILE_TINY = {
    "name": "tiny-cnn-mobile-block-80",
    "model": "tiny_cnn",
    "sparsity": {"pattern": "block", "sparsity": 0.8},
    "target": "mobile",
}


@pytest.fixture(scope="session")
def sat_result():
    return simulate(load_workload(SAT_WORKLOAD), ablate=True)


@pytest.fixture(scope="session")
def mobile_result():
    return simulate(workload_from_dict(dict(MOBILE_TINY)))


@pytest.fixture(scope="session")
def sat_run_dir(tmp_path_factory):
    """The output folder of `sparsesim run workloads/tiny-cnn-nm-2of4.yaml --ablate`."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    assert main(["run", str(SAT_WORKLOAD), "--ablate", "--quiet", "-o", str(out), "--format", "json"]) == 0
    return out
