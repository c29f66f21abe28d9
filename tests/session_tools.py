"""Helpers shared by test folders, importable as `session_tools` (tests/ is on sys.path: its conftest.py is
there): whether Yosys is usable, and a lock for work several xdist workers share (tests/conftest.py's
`session_shared` folder)."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path


def have_yosys() -> bool:
    from sparsesim.errors import ToolError
    from sparsesim.fpga.estimate import find_yosys

    try:
        find_yosys()
    except ToolError:
        return False
    return True


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on `path` (created with its folder) for the block: one worker at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
