"""GEMM mappings kept between runs, per array, in the user's cache folder (sparsesim.cache: `sat_mappings`).

Choosing a GEMM's mapping (sat.schedule.map_gemm: the block sizes, loop order and dataflow of the fastest
candidate) is most of a schedule's cost: about 0.4 s of ResNet-50's run and dense baseline. A mapping is a
pure function of the GEMM's problem and the resolved array (the premise of sat.schedule.MappingCache, which
shares mappings between a run and its dense baseline, and between the runs of a co-design search), so a run
starts from the mappings earlier runs made on the same array and stores the ones it adds.

One file per array: its name is a hash of the resolved array (`repr(SatArch)`, every field and source), the
source of the modules that map and time a GEMM (sat/), of the op types (graph/lower.py) and of this file,
sparsesim's version and the Python and numpy versions. Inside, the mappings by the problem key
sat.schedule.build_schedule uses. On with the front-end cache and off with it (`run --no-cache`,
`SPARSESIM_NO_CACHE=1`): sparsesim.front_cache.enabled. Written atomically; an unreadable file is ignored and
replaced; the folder keeps the `MAX_FILES` most recently used arrays.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import cache_dir, sources_digest
from .schedule import MappingCache

KIND = "sat_mappings"
FORMAT_VERSION = 1  # bump if the stored layout changes in a way the source hash does not see
# Our choice: a sweep over array sizes makes one file per array; ResNet-50's mappings on one array take about
# 100 kB.
MAX_FILES = 64
_PACKAGE = Path(__file__).resolve().parents[1]
_SOURCES = ("sat", "graph/lower.py", "cache.py")


@functools.cache
def _sources_digest() -> str:
    return sources_digest(_PACKAGE, _SOURCES)


def path_for(cache: MappingCache) -> Path:
    from .. import __version__

    versions = (FORMAT_VERSION, __version__, _sources_digest(), sys.version_info[:2], np.__version__)
    parts = repr((versions, repr(cache.arch)))
    return cache_dir(KIND) / f"{hashlib.sha256(parts.encode()).hexdigest()[:32]}.pickle"


class Stored:
    """The stored mappings of `cache.arch`, loaded into `cache`; `save()` writes them back if the run added
    any."""

    def __init__(self, cache: MappingCache) -> None:
        self.cache = cache
        self.path = path_for(cache)
        loaded: dict[tuple, Any] = {}
        try:
            data = self.path.read_bytes()
        except OSError:
            data = b""
        if data:
            try:
                loaded = pickle.loads(data)
                if not isinstance(loaded, dict):
                    loaded = {}
            except Exception:  # a truncated or foreign file: start afresh (it is rewritten)
                loaded = {}
            else:
                try:
                    os.utime(self.path)  # most recently used (_trim)
                except OSError:
                    pass
        for key, mapping in loaded.items():
            cache.mappings.setdefault(key, mapping)
        self.loaded = len(cache.mappings)

    def save(self) -> None:
        """Write the mappings if the run made new ones; a folder that cannot be written is left alone."""
        if len(self.cache.mappings) <= self.loaded:
            return
        from ..io import atomic_write_bytes

        try:
            atomic_write_bytes(self.path, pickle.dumps(self.cache.mappings, protocol=pickle.HIGHEST_PROTOCOL))
            _trim(self.path.parent)
        except OSError:
            return
        self.loaded = len(self.cache.mappings)


def _trim(folder: Path) -> None:
    files = list(folder.glob("*.pickle"))
    if len(files) <= MAX_FILES:
        return
    for old in sorted(files, key=lambda p: p.stat().st_mtime)[: len(files) - MAX_FILES]:
        old.unlink(missing_ok=True)
