"""Output helpers: every folder or file sparsesim writes appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import SparsesimError

MARKER = ".sparsesim-output"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_replaceable(target: str | Path) -> None:
    """Raise a one-line error unless `target` is missing, empty, or a folder sparsesim wrote before.

    Output folders are replaced whole; this keeps `-o .` or `-o ~/project` from deleting a user's files.
    """
    target = Path(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise SparsesimError(f"--output {target}: exists and is not a folder; pick another path")
    if any(target.iterdir()) and not (target / MARKER).exists():
        raise SparsesimError(
            f"--output {target}: folder exists and was not written by sparsesim; pick a new or empty folder"
        )


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` in one rename.

    On any exception (including KeyboardInterrupt) the temporary folder is removed and `target` is left as it
    was, so a crash or Ctrl-C never leaves a half-written output folder. An existing `target` is replaced only
    if it is empty or carries the marker file of an earlier sparsesim output (`check_replaceable`).
    """
    target = Path(target)
    check_replaceable(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as err:
        raise SparsesimError(f"--output {target}: cannot create the folder ({err.strerror})") from None
    try:
        yield tmp
        (tmp / MARKER).write_text("written by sparsesim; the next run with this --output replaces it\n")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file through a temporary sibling and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
