"""Shared fixtures: tiny workloads prepared once per session (the front end dominates test time)."""

from __future__ import annotations

import pytest

from sparsesim.pipeline import prepare
from sparsesim.spec import workload_from_dict

BDWP_TINY = {
    "name": "tiny-cnn-bdwp-2of8",
    "model": "tiny_cnn",
    "task": {"mode": "train", "batch_size": 32},
    "sparsity": {"pattern": "bdwp", "n": 2, "m": 8},
    "target": "sat",
}


@pytest.fixture
def bdwp_tiny_spec():
    """A small BDWP 2:8 training workload (tiny_cnn: its inner convs have 16 and 32 channels)."""
    return {**BDWP_TINY, "task": dict(BDWP_TINY["task"]), "sparsity": dict(BDWP_TINY["sparsity"])}


@pytest.fixture(scope="session")
def bdwp_tiny():
    wl = workload_from_dict(dict(BDWP_TINY))
    return prepare(wl)


@pytest.fixture(scope="session")
def nm_tiny():
    wl = workload_from_dict({**BDWP_TINY, "name": "tiny-nm", "sparsity": {"pattern": "nm", "n": 2, "m": 4}})
    return prepare(wl)
