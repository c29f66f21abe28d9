"""The cache: one JSON record per point under `<output>/points/<hash>.json`, written atomically by the task
that ran the point (`run_point`, on a Dask worker or in this process). A point whose record exists is not run
again, so a rerun of an interrupted sweep runs only the missing points."""

from __future__ import annotations

import datetime as _dt
import json
import socket
import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import SparsesimError
from ..io import atomic_write_text
from ..results import jsonable
from ..spec import (
    workload_from_dict,
)
from .spec import POINT_STATUSES_CACHED


def point_path(points_dir: Path, key: str) -> Path:
    return points_dir / f"{key}.json"


def read_point(points_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached record of a point, or None when absent or unusable (then the point runs again)."""
    try:
        record = json.loads(point_path(points_dir, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("hash") != key:
        return None
    if record.get("status") not in POINT_STATUSES_CACHED:
        return None
    return record


def write_point(points_dir: Path, record: dict[str, Any]) -> Path:
    path = point_path(points_dir, record["hash"])
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=False) + "\n")
    return path


def run_point(spec: dict[str, Any], base_dir: str, key: str, points_dir: str | None, run_id: str) -> dict:
    """The task of one point (runs on a Dask worker): simulate, write the cache file, return the record.

    The worker writes the file when `points_dir` exists where it runs (local cluster, shared filesystem), so
    the point survives a crash of the client; otherwise the client writes it when the record arrives.
    A SparsesimError (e.g. an N:M the array cannot run) is a deterministic outcome: recorded with status
    "error" and cached. Any other exception is a bug: it propagates (the client records a crash, not cached).
    """
    from ..targets import simulate

    wl = workload_from_dict(dict(spec), base_dir=Path(base_dir))
    if wl.spec_hash() != key:
        raise RuntimeError(f"spec hash differs between client ({key}) and worker ({wl.spec_hash()})")
    t0 = time.perf_counter()
    record: dict[str, Any] = {"hash": key, "status": "ok", "error": None}
    try:
        result = simulate(wl)
        record["summary"] = jsonable(result.summary)
    except SparsesimError as exc:
        record.update(status="error", error=str(exc), summary={})
    record.update(
        wall_seconds=time.perf_counter() - t0,
        finished_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        host=socket.gethostname(),
        run_id=run_id,
        sparsesim_version=__version__,
        workload=spec,
    )
    if points_dir is not None and Path(points_dir).is_dir():
        write_point(Path(points_dir), record)
    return record
