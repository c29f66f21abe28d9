"""Output folders appear whole, readable by others, and never replace a folder sparsesim did not write."""

from __future__ import annotations

import os
import stat

import pytest

from sparsesim.errors import SparsesimError
from sparsesim.io import MARKER, atomic_dir, atomic_write_text


def test_atomic_dir_creates_a_marked_world_readable_folder(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "a.txt").write_text("x")
        atomic_write_text(tmp_path / "f.txt", "y")
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "a.txt"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644


def test_atomic_dir_replaces_its_own_earlier_output(tmp_path):
    for text in ("first", "second"):
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "a.txt").write_text(text)
    assert (tmp_path / "out" / "a.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_accepts_an_empty_existing_folder(tmp_path):
    (tmp_path / "out").mkdir()
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("x")
    assert (tmp_path / "out" / "a.txt").exists()


@pytest.mark.parametrize("kind", ["foreign-folder", "file"])
def test_atomic_dir_refuses_to_replace_what_it_did_not_write(tmp_path, kind):
    target = tmp_path / "project"
    if kind == "file":
        target.write_text("keep me")
    else:
        target.mkdir()
        (target / "keep.txt").write_text("keep me")
    with pytest.raises(SparsesimError, match="--output"), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]
    kept = target if kind == "file" else target / "keep.txt"
    assert kept.read_text() == "keep me"
