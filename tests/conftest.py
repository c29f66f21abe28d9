"""Shared pytest set-up.

Hypothesis runs derandomized by default, so CI and every developer run the same examples and a failure
reproduces on the next run; `pytest --hypothesis-profile explore` draws new random examples (a bug found
that way becomes a fixed regression test beside the property)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: a property's speed is not what it checks, and a loaded CI machine is not a bug.
settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None)
settings.load_profile("default")

# The front-end cache (sparsesim.front_cache) is off in the tests unless a test turns it on
# (tests/test_front_cache.py): a test's run never writes to the user's cache folder, and a test that changes
# how a model is built is never answered from an entry another test stored.
os.environ.setdefault("SPARSESIM_NO_CACHE", "1")


@pytest.fixture(scope="session")
def session_shared(tmp_path_factory) -> Path:
    """A folder shared by this session's xdist workers (the parent of each worker's base temp)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return root / "fpga-shared"


@pytest.fixture(scope="session")
def yosys_cache(session_shared) -> Path:
    """SPARSESIM_CACHE for the whole session (set in the environment for the in-process CLI runs)."""
    cache = session_shared / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    old = os.environ.get("SPARSESIM_CACHE")
    os.environ["SPARSESIM_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("SPARSESIM_CACHE", None)
    else:
        os.environ["SPARSESIM_CACHE"] = old
