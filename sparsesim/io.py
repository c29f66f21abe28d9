"""Output folders: the one rule every command that writes a folder follows (run, sweep, prune --save, rtl
export, fpga build).

- A folder is written only if it is missing, empty, or carries the marker file `MARKER` of an earlier
  sparsesim output; anything else is refused with one line before any work starts (`check_output_dir`).
- Whole-folder outputs (`atomic_dir`) are built in a hidden sibling temp folder and renamed into place in one
  step, so they appear whole or not at all. The temp folder's marker is held under an exclusive `flock` while
  it is written; a temp folder whose lock is free was left by a killed process (SIGKILL, power loss) and is
  removed by the next write to the same folder (`remove_stale_temps`).
- Two writers finishing into one folder at the same moment both succeed; the last rename wins.
- Incremental outputs (a sweep's cache) claim their folder with the marker first (`claim_dir`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import SparsesimError

MARKER = ".sparsesim-output"
MARKER_TEXT = "written by sparsesim; the next run with this --output replaces it\n"
# A temp folder without a marker is someone's mkdtemp of a moment ago, unless it is older than this (then an
# interrupted write of a version without locks). Our choice: far longer than mkdtemp-to-lock takes.
UNLOCKED_TEMP_GRACE_SECONDS = 600.0
_RENAME_ATTEMPTS = 20  # concurrent finishers: each attempt is two renames; 20 is plenty for a handful


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if os.path.lexists(parent):
            return parent
    return Path(".")


def check_output_dir(target: str | Path, option: str = "--output") -> Path:
    """Raise a one-line error unless `target` can become a sparsesim output folder; writes nothing.

    Call it before long work, so a bad folder fails in milliseconds. The folder must be missing, empty, or
    carry the marker of an earlier sparsesim output (so `-o .` or `-o ~/project` never deletes a user's
    files), its nearest existing parent must be a folder this process can write, and every name in the path
    must fit the file system.
    """
    target = Path(target)
    text = str(target)
    if not text or "\x00" in text:
        raise SparsesimError(f"{option}: not a usable path ({text!r})")
    for part in target.parts:
        if len(os.fsencode(part)) > 255:  # NAME_MAX of Linux file systems
            raise SparsesimError(f"{option} {text[:80]}...: a name in the path is longer than 255 bytes")
    try:
        check_replaceable(target, option)
        base = _nearest_existing(target.parent if not os.path.lexists(target) else target)
        if not base.is_dir():
            raise SparsesimError(f"{option} {target}: {base} is a file, not a folder; pick another path")
        # Probe rather than os.access: root, ACLs and read-only mounts make access() answer wrongly.
        os.rmdir(tempfile.mkdtemp(prefix=".sparsesim-probe-", dir=base))
    except OSError as err:
        where = f" (in {err.filename})" if err.filename else ""
        raise SparsesimError(f"{option} {target}: cannot write there: {err.strerror or err}{where}") from None
    return target


def check_replaceable(target: str | Path, option: str = "--output") -> None:
    """Raise a one-line error unless `target` is missing, empty, or a folder sparsesim wrote before."""
    target = Path(target)
    # One stat, one listing: another writer may move the folder away at any moment between two looks (then it
    # is missing, which is fine), so never decide from two separate calls.
    try:
        is_dir = stat.S_ISDIR(os.stat(target).st_mode)
    except OSError:
        if not os.path.islink(target):
            return  # missing, or just moved aside by a concurrent writer
        is_dir = False  # a dangling symbolic link
    if not is_dir:
        raise SparsesimError(f"{option} {target}: exists and is not a folder; pick another path")
    try:
        names = os.listdir(target)
    except FileNotFoundError:
        return  # moved aside by a concurrent writer since the stat
    if any(n != MARKER for n in names) and MARKER not in names:
        raise SparsesimError(
            f"{option} {target}: folder exists and was not written by sparsesim; pick a new or empty folder"
        )


def claim_dir(target: str | Path, option: str = "--output") -> Path:
    """Create `target` (or take over an empty one / an earlier sparsesim output) and mark it as sparsesim's,
    for outputs written file by file (a sweep's cache). Returns the folder."""
    target = check_output_dir(target, option)
    target.mkdir(parents=True, exist_ok=True)
    marker = target / MARKER
    if not marker.exists():
        marker.write_text(MARKER_TEXT)
    return target


def _temp_prefixes(target: Path) -> tuple[str, str]:
    return f".{target.name}.tmp-", f".{target.name}.old-"


def _is_locked(marker: Path) -> bool:
    """True while the writer that holds `marker`'s lock is alive (the kernel drops it when a process dies)."""
    try:
        fd = os.open(marker, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases a lock we took
    return False


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Remove the hidden temp folders of interrupted writes to `target` (its siblings `.<name>.tmp-*` whose
    writer is gone, and `.<name>.old-*` left between the two renames). Returns what was removed."""
    target = Path(target)
    parent = target.parent
    tmp_prefix, old_prefix = _temp_prefixes(target)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(tmp_prefix) or entry.name.startswith(old_prefix)):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        if entry.name.startswith(tmp_prefix):
            marker = path / MARKER
            if marker.exists():
                if _is_locked(marker):
                    continue  # another run is writing it right now
            else:
                try:
                    age = time.time() - entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                if age < UNLOCKED_TEMP_GRACE_SECONDS:
                    continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename `tmp` to `target`, moving an earlier output aside first. Tolerates other processes doing the
    same at the same moment (their rename may land between ours: then we try again)."""
    _, old_prefix = _temp_prefixes(target)
    for _ in range(_RENAME_ATTEMPTS):
        old = None
        try:
            if os.path.lexists(target):
                check_replaceable(target)
                old = Path(tempfile.mkdtemp(prefix=old_prefix, dir=target.parent))
                os.replace(target, old / "out")
            os.replace(tmp, target)
            return
        except FileNotFoundError:
            continue  # the earlier output was moved away by a concurrent writer: try again
        except OSError as err:
            if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
                continue  # a concurrent writer's output appeared between our two renames: try again
            if old is not None and not os.path.lexists(target):
                with contextlib.suppress(OSError):
                    os.replace(old / "out", target)  # put the earlier output back
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    raise SparsesimError(f"--output {target}: other runs kept replacing this folder; try again")


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` in one rename.

    On any exception (including KeyboardInterrupt) the temporary folder is removed and `target` is left as it
    was, so a crash or Ctrl-C never leaves a half-written output folder. An existing `target` is replaced only
    if it is empty or carries the marker file of an earlier sparsesim output (`check_output_dir`).
    """
    target = check_output_dir(target)
    remove_stale_temps(target)
    lock_fd = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefixes(target)[0], dir=target.parent))
    except OSError as err:
        raise SparsesimError(f"--output {target}: cannot create the folder ({err.strerror})") from None
    try:
        marker = tmp / MARKER
        # "Being written": remove_stale_temps leaves a folder whose marker is locked alone. The marker appears
        # already locked (locked under another name, then renamed: the lock is on the file, not the name);
        # a marker written first and locked after could be taken for a dead writer's in between.
        pending = tmp / f"{MARKER}.pending"
        lock_fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        os.write(lock_fd, MARKER_TEXT.encode())
        os.rename(pending, marker)
        yield tmp
        if not marker.exists():  # the caller cleared the folder
            marker.write_text(MARKER_TEXT)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file through a temporary sibling and a rename."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write a file through a temporary sibling and a rename: a reader sees the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
