"""The output-folder rule and the central error contract, beyond single bad inputs: interrupted writers,
concurrent writers, file-system errors the OS raises mid-run, and checks that happen before any work."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sparsesim import cli
from sparsesim.errors import SparsesimError
from sparsesim.io import MARKER, atomic_dir, check_output_dir, claim_dir, remove_stale_temps

TINY = "model: tiny_cnn\nsparsity: {pattern: nm, n: 2, m: 4}\ntarget: sat\n"

WRITER = textwrap.dedent(
    """
    import sys, time
    from sparsesim.io import atomic_dir
    with atomic_dir(sys.argv[1]) as tmp:
        (tmp / "half.txt").write_text("half")
        print("inside", flush=True)
        time.sleep(60)
    """
)


def _start_writer(target: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    return proc


def _siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


def test_a_killed_writers_temp_folder_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out"
    proc = _start_writer(target)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(_siblings(target)) == 1 and not target.exists()  # the SIGKILL left a hidden temp folder
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("whole")
    assert _siblings(target) == [] and (target / "a.txt").read_text() == "whole"


def test_a_live_writers_temp_folder_is_left_alone(tmp_path):
    target = tmp_path / "out"
    proc = _start_writer(target)
    try:
        assert remove_stale_temps(target) == []
        assert len(_siblings(target)) == 1
    finally:
        proc.kill()
        proc.wait()
    assert len(remove_stale_temps(target)) == 1 and _siblings(target) == []


FINISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sparsesim.io import atomic_dir
    target, go, tag = sys.argv[1:]
    with atomic_dir(target) as tmp:
        for i in range(20):
            (tmp / f"f{i}.txt").write_text(tag)
        print("inside", flush=True)
        while not Path(go).exists():
            time.sleep(0.001)
    """
)


def test_writers_finishing_into_one_folder_at_once_all_succeed(tmp_path):
    target = tmp_path / "out"
    for round_ in range(8):
        go = tmp_path / f"go-{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", FINISHER, str(target), str(go), f"{round_}-{k}"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for k in range(3)
        ]  # fmt: skip
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "inside"
        go.write_text("")  # all three leave atomic_dir (and rename) at the same moment
        results = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], results
        tags = {(target / f"f{i}.txt").read_text() for i in range(20)}
        assert len(tags) == 1 and tags.pop().startswith(f"{round_}-")  # one writer's whole output
        assert (target / MARKER).exists()
        assert [n for n in _siblings(target) if not n.startswith("go-")] == []


def test_check_output_dir_refuses_before_any_write(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    (tmp_path / "file").write_text("x")
    for bad, fragment in [
        (tmp_path / "mine", "was not written by sparsesim"),
        (tmp_path / "file", "exists and is not a folder"),
        (tmp_path / "file" / "sub" / "out", "is a file, not a folder"),
        (tmp_path / ("n" * 256), "longer than 255 bytes"),
    ]:
        with pytest.raises(SparsesimError, match=fragment):
            check_output_dir(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine"]
    claimed = claim_dir(tmp_path / "new")
    assert (claimed / MARKER).exists()
    check_output_dir(claimed)  # a folder sparsesim claimed is its own


def test_run_refuses_a_foreign_output_folder_before_simulating(tmp_path, monkeypatch, capsys):
    import sparsesim.targets as run_mod

    (tmp_path / "w.yaml").write_text(TINY)
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "thesis.tex").write_text("keep")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_mod, "simulate", lambda *a, **k: pytest.fail("simulated before the folder check"))
    assert cli.main(["run", "w.yaml", "-o", "project"]) == 2
    assert "was not written by sparsesim" in capsys.readouterr().err


@pytest.mark.parametrize(
    "err_no,strerror,fragment",
    [
        (errno.EACCES, "Permission denied", "Permission denied; check its permissions"),
        (errno.ENOSPC, "No space left on device", "No space left on device; free some space"),
        (errno.EROFS, "Read-only file system", "Read-only file system; choose a writable folder"),
        (errno.EBUSY, "Device or resource busy", "Device or resource busy; it is in use"),
        (errno.ENAMETOOLONG, "File name too long", "File name too long; shorten the path"),
    ],
)
def test_file_system_errors_during_a_run_are_one_error_line(
    tmp_path, monkeypatch, capsys, err_no, strerror, fragment
):
    """An OSError the OS raises while the report is written (after all checks passed) -> exit 2, one line
    naming the path, and no output folder."""
    import sparsesim.results as results

    (tmp_path / "w.yaml").write_text(TINY)
    monkeypatch.chdir(tmp_path)

    def refuse(result, folder):
        raise OSError(err_no, strerror, str(folder / "ops.csv"))

    monkeypatch.setattr(results, "write_outputs", refuse)
    assert cli.main(["run", "w.yaml", "-o", "out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0] and "ops.csv" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.yaml"]


def test_internal_errors_say_so_and_debug_shows_the_traceback(tmp_path, monkeypatch, capsys):
    import sparsesim.targets as run_mod

    (tmp_path / "w.yaml").write_text(TINY)
    monkeypatch.chdir(tmp_path)

    def bug(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(run_mod, "simulate", bug)
    assert cli.main(["run", "w.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: a bug") and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        cli.main(["--debug", "run", "w.yaml"])


def test_ctrl_c_is_130_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import sparsesim.targets as run_mod

    (tmp_path / "w.yaml").write_text(TINY)
    monkeypatch.chdir(tmp_path)

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "simulate", interrupt)
    assert cli.main(["run", "w.yaml"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.yaml"]


def test_an_unreachable_scheduler_fails_fast_and_writes_nothing(tmp_path, monkeypatch, capsys):
    (tmp_path / "w.yaml").write_text(TINY)
    (tmp_path / "s.yaml").write_text("base: w.yaml\naxes:\n  accelerator.rows: [4, 8]\n")
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    assert cli.main(["sweep", "s.yaml", "--scheduler", "tcp://127.0.0.1:9"]) == 3
    assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "w.yaml"]


def test_a_sweep_claims_its_folder_with_the_marker(tmp_path, monkeypatch, capsys):
    (tmp_path / "w.yaml").write_text("model: tiny_mlp\nsparsity: {pattern: nm, n: 2, m: 4}\ntarget: sat\n")
    (tmp_path / "s.yaml").write_text("base: w.yaml\naxes:\n  accelerator.rows: [4]\noutput: out\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sweep", "s.yaml", "--workers", "0"]) == 0
    assert (tmp_path / "out" / MARKER).exists() and (tmp_path / "out" / "sweep.csv").exists()
    assert cli.main(["sweep", "s.yaml", "--workers", "0"]) == 0  # its own folder: resumes
    capsys.readouterr()
    os.remove(tmp_path / "out" / MARKER)
    assert cli.main(["sweep", "s.yaml", "--workers", "0"]) == 2
    assert "was not written by sparsesim" in capsys.readouterr().err


@pytest.mark.parametrize("race", ["output-appears", "output-vanishes"])
def test_a_rename_landing_between_ours_is_retried(tmp_path, monkeypatch, race):
    """Deterministic version of the race above: another writer's rename lands between our two renames."""
    import sparsesim.io as sio

    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    real_replace = os.replace
    raced = []

    def racing_replace(src, dst):
        src, dst = Path(src), Path(dst)
        if not raced and race == "output-appears" and dst == target and ".tmp-" in src.name:
            raced.append(1)
            with atomic_dir(target) as other:  # a concurrent writer finishes first
                (other / "a.txt").write_text("other")
        if not raced and race == "output-vanishes" and src == target:
            raced.append(1)
            real_replace(target, tmp_path / "moved-away")  # a concurrent writer moved it aside
        return real_replace(src, dst)

    monkeypatch.setattr(sio.os, "replace", racing_replace)
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("ours")
    assert raced and (target / "a.txt").read_text() == "ours"
    assert [n for n in _siblings(target) if n != "moved-away"] == []


def test_a_folder_moved_away_between_looks_is_missing_not_foreign(tmp_path, monkeypatch):
    """A concurrent writer can rename the output aside between our stat and our listing (CI saw the old
    two-call check report 'exists and is not a folder' for a folder that had just been moved)."""
    import sparsesim.io as io_mod

    target = tmp_path / "out"
    claim_dir(target)
    real_listdir = os.listdir

    def moved_meanwhile(path):
        if Path(path) == target:
            os.rename(target, tmp_path / "aside")
        return real_listdir(path)

    monkeypatch.setattr(io_mod.os, "listdir", moved_meanwhile)
    io_mod.check_replaceable(target)  # missing now: replaceable, no error
    monkeypatch.undo()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(SparsesimError, match="exists and is not a folder"):
        io_mod.check_replaceable(tmp_path / "dangling")


def test_a_writer_taking_its_lock_is_not_taken_for_a_dead_one(tmp_path, monkeypatch):
    """Another writer's clean-up runs in the instant before this writer locks its folder (the race behind a
    CI failure: a marker written first and locked after looked like a dead writer's, and was removed)."""
    import fcntl

    target = tmp_path / "out"
    real_flock, removed, busy = fcntl.flock, [], []

    def flock(fd, op):
        if not busy:  # remove_stale_temps itself tries locks
            busy.append(1)
            try:
                removed.extend(remove_stale_temps(target))
            finally:
                busy.clear()
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("x")
    assert removed == []
    assert (target / "a.txt").read_text() == "x"
