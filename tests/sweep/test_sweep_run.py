"""Sweeps end to end: on a local Dask cluster, interrupted (Ctrl-C, then SIGKILL) and resumed, and in process
for the error paths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from sparsesim import cli
from sparsesim.sweep import load_sweep, read_point

from .conftest import ROOT, TINY_BASE, run_cli, sweep_cmd, write_sweep

SHIPPED = ROOT / "workloads" / "sweep-array-vs-nm.yaml"


def cache(folder: Path) -> dict[str, tuple[int, bytes]]:
    """hash -> (mtime_ns, content) of every point file."""
    return {p.stem: (p.stat().st_mtime_ns, p.read_bytes()) for p in (folder / "points").glob("*.json")}


def assert_every_point_once(out: Path, n: int) -> pd.DataFrame:
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["point"]) == list(range(1, n + 1))
    assert table["hash"].is_unique and (table["status"] == "ok").all()
    assert set(table["hash"]) == set(cache(out))
    return table


# ------------------------------------------------------------------------------------------ on Dask
def test_shipped_sweep_on_two_workers_then_all_cached(tmp_path):
    out = tmp_path / "out"
    t0 = time.perf_counter()
    res = run_cli(str(SHIPPED), "--workers", "2", "--output", str(out))
    wall = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("sweep-array-vs-nm: 18 points (18 run, 0 cached, 0 failed, 0 skipped)")
    assert "on 2 worker(s)" in res.stdout and "Pareto front (seconds_simulated vs dsp)" in res.stdout
    assert res.stderr == ""  # not a terminal: no progress, and no logging from Dask
    table = assert_every_point_once(out, 18)
    for col in (
        "accelerator.rows",
        "accelerator.cols",
        "sparsity.n",
        "sparsity.m",
        "dsp",
        "seconds_simulated",
        "speedup",
        "cycles_per_pass.FF",
        "arch.rows",
    ):
        assert col in table.columns, col
    assert (table["dsp"] == table["arch.rows"] * table["arch.cols"] * table["arch.multipliers_per_pe"]).all()
    assert (table["accelerator.rows"] == table["arch.rows"]).all()
    assert table["nm"].tolist() == [f"{n}:{m}" for n, m in zip(table["sparsity.n"], table["sparsity.m"])]
    assert {"pareto.html", "pareto.svg", "sweep.csv"} <= {p.name for p in out.iterdir()}
    assert wall < 120, f"the shipped sweep took {wall:.0f} s on 2 workers: too slow for CI"
    records = {p.stem: json.loads(p.read_text()) for p in (out / "points").glob("*.json")}
    assert len({r["run_id"] for r in records.values()}) == 1
    for point in load_sweep(SHIPPED).points():  # each record holds its point's resolved spec and summary
        assert records[point.key]["workload"] == point.workload.to_dict()
        assert records[point.key]["summary"]["arch"]["rows"] == point.values["accelerator.rows"]

    before = cache(out)
    res = run_cli(str(SHIPPED), "--output", str(out), "--format", "json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    counts = summary["counts"]
    assert (counts["ran"], counts["cached"], summary["workers"]) == (0, 18, 0)  # no cluster started
    assert cache(out) == before
    assert len(summary["pareto"]["front"]) >= 2


RESUME_SWEEP = {
    "name": "resume",
    "base": {
        "model": "tiny_cnn",
        "task": {"mode": "train", "batch_size": 64},
        "sparsity": {"pattern": "nm", "n": 2, "m": 8},
        "target": "sat",
    },
    "axes": {"accelerator.rows": [8, 16, 32, 64], "accelerator.cols": [16, 32, 64]},
}


def start(sweep: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        sweep_cmd(str(sweep), "--workers", "1", "--output", str(out)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the signal reaches the workers too, as a Ctrl-C does
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def wait_for_points(proc: subprocess.Popen, out: Path, at_least: int, timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = len(list((out / "points").glob("*.json"))) if (out / "points").is_dir() else 0
        if n >= at_least:
            return n
        if proc.poll() is not None:
            pytest.fail(
                f"the sweep ended (rc {proc.returncode}) before {at_least} points: {proc.stderr.read()}"
            )
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"fewer than {at_least} points after {timeout} s")


def test_interrupted_and_killed_sweep_resumes_with_every_point_once(tmp_path):
    sweep = write_sweep(tmp_path, RESUME_SWEEP)
    out = tmp_path / "out"
    total = 12

    # 1. Ctrl-C: the whole process group gets SIGINT; one line, exit 130, finished points kept.
    proc = start(sweep, out)
    wait_for_points(proc, out, 1)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("interrupted: ") and "rerun the same command" in lines[0]
    ), stderr
    after_ctrl_c = cache(out)
    assert 1 <= len(after_ctrl_c) < total
    assert f"interrupted: {len(after_ctrl_c)} of {total} points cached" in lines[0]
    assert not (out / "sweep.csv").exists()

    # 2. SIGKILL of the client and its workers while points are running: no half-written point file.
    proc = start(sweep, out)
    wait_for_points(proc, out, len(after_ctrl_c) + 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    after_kill = cache(out)
    assert len(after_kill) < total, "the sweep finished before it was killed: make its points slower"
    for key, (_, content) in after_kill.items():
        assert json.loads(content)["hash"] == key
    assert {k: v for k, v in after_kill.items() if k in after_ctrl_c} == after_ctrl_c

    # 3. Rerun to the end: only the missing points run; every point exactly once; cached files untouched.
    res = run_cli(str(sweep), "--workers", "1", "--output", str(out))
    assert res.returncode == 0, res.stderr
    done_before = len(after_kill)
    assert f"{total} points ({total - done_before} run, {done_before} cached, 0 failed" in res.stdout
    final = cache(out)
    assert len(final) == total
    assert {k: final[k] for k in after_kill} == after_kill, "a cached point was recomputed"
    assert_every_point_once(out, total)
    run_of = {key: json.loads(content)["run_id"] for key, (_, content) in final.items()}
    assert len({run_of[key] for key in after_ctrl_c}) == 1
    assert len(set(run_of.values())) == 3  # the interrupted run, the killed run, the rerun


# ------------------------------------------------------------------------------------------ in process
def tiny_sweep(tmp_path: Path, **extra) -> Path:
    return write_sweep(
        tmp_path,
        {
            "name": "tiny",
            "base": TINY_BASE,
            "axes": {"accelerator.rows": [8, 16]},
            "output": str(tmp_path / "out"),
            **extra,
        },
    )


def test_in_process_fresh_and_dry_run(tmp_path, capsys):
    path = tiny_sweep(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "--workers", "0", "--quiet"]) == 0
    first = cache(out)
    assert len(first) == 2 and "(2 run, 0 cached" in capsys.readouterr().out
    assert cli.main(["sweep", str(path), "--dry-run"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("cached") == 2 and "to run" not in listing
    assert cli.main(["sweep", str(path), "--workers", "0", "--fresh"]) == 0
    assert "(2 run, 0 cached" in capsys.readouterr().out
    again = cache(out)
    assert set(again) == set(first) and all(again[k][1] != first[k][1] for k in first)  # new run_id


def test_duplicate_settings_run_once_and_appear_as_two_points(tmp_path, capsys):
    path = write_sweep(
        tmp_path, {"base": TINY_BASE, "axes": {"accelerator.rows": [8, 8]}, "output": str(tmp_path / "out")}
    )
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 0
    assert "2 points (1 run, 0 cached" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(table["point"]) == [1, 2] and table["hash"].nunique() == 1


def test_an_error_found_by_the_run_is_cached_and_fails_the_sweep(tmp_path, capsys):
    """An N:M override the array cannot run passes the schema; the run rejects it (status error, cached)."""
    base = {**TINY_BASE, "sparsity": {**TINY_BASE["sparsity"], "overrides": {"fc2": {"n": 1, "m": 16}}}}
    path = write_sweep(
        tmp_path, {"base": base, "axes": {"accelerator.max_m": [8, 16]}, "output": str(tmp_path / "out")}
    )
    code = cli.main(["sweep", str(path), "--workers", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: 1 point(s) failed, e.g. point 1 (accelerator.max_m=8): ")
    assert "cannot run 1:16" in err and len(err.strip().splitlines()) == 1
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(table["status"]) == ["error", "ok"]
    assert read_point(tmp_path / "out" / "points", table["hash"][0])["status"] == "error"
    data = json.loads(
        json.dumps(
            {
                "base": base,
                "axes": {"accelerator.max_m": [8, 16]},
                "skip_invalid": True,
                "output": str(tmp_path / "out"),
            }
        )
    )
    path = write_sweep(tmp_path, data, name="skip.yaml")
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 0
    assert "(0 run, 2 cached, 1 failed" in capsys.readouterr().out


def test_skipped_points_are_noted_and_listed(tmp_path, capsys):
    path = tiny_sweep(tmp_path, zip=[{"sparsity.n": [1, 8], "sparsity.m": [4, 4]}], skip_invalid=True)
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("note: skipped point")]
    assert len(notes) == 2 and "sparsity.n=8" in notes[0]
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(table["status"]) == ["ok", "skipped", "ok", "skipped"]


def test_an_unknown_pareto_column_fails_before_any_point_runs(tmp_path, capsys):
    path = tiny_sweep(tmp_path, pareto={"x": "speedupp"})
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert "pareto.x: no column 'speedupp' in sweep.csv on target sat (did you mean 'speedup'?" in err[0]
    assert not (tmp_path / "out").exists()


def test_bad_worker_count_and_missing_file(tmp_path, capsys):
    assert cli.main(["sweep", str(tiny_sweep(tmp_path)), "--workers", "-1"]) == 2
    assert cli.main(["sweep", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: --workers: must be >= 0 (got -1)",
        f"error: {tmp_path / 'nope.yaml'}: no such file (give a sweep .yaml file)",
    ]


def test_an_existing_cluster_by_scheduler_address(tmp_path, capsys):
    from distributed import Client, LocalCluster

    path = tiny_sweep(tmp_path)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        assert (
            cli.main(["sweep", str(path), "--scheduler", cluster.scheduler_address, "--format", "json"]) == 0
        )
        with Client(cluster.scheduler_address) as client:
            assert len(client.nthreads()) == 1  # the sweep left the cluster it did not start running
    summary = json.loads(capsys.readouterr().out)
    assert (summary["counts"]["ran"], summary["workers"]) == (2, 1)
    assert_every_point_once(tmp_path / "out", 2)


def test_a_crashing_point_is_reported_not_cached_and_retried(tmp_path, capsys, monkeypatch):
    import sparsesim.targets as run_mod

    real = run_mod.simulate

    def flaky(wl, **kw):
        if wl.accelerator.rows == 16:
            raise ZeroDivisionError("a bug")
        return real(wl, **kw)

    monkeypatch.setattr(run_mod, "simulate", flaky)
    path = tiny_sweep(tmp_path)
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "1 point(s) crashed, e.g. point 2 (accelerator.rows=16): ZeroDivisionError: a bug" in err
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(table["status"]) == ["ok", "crash"] and len(cache(tmp_path / "out")) == 1
    monkeypatch.setattr(run_mod, "simulate", real)
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 0
    assert "(1 run, 1 cached" in capsys.readouterr().out


def test_an_unreadable_cache_file_is_recomputed(tmp_path, capsys):
    path = tiny_sweep(tmp_path)
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 0
    capsys.readouterr()
    first = sorted((tmp_path / "out" / "points").glob("*.json"))
    first[0].write_text('{"hash": "trunc')
    assert cli.main(["sweep", str(path), "--workers", "0"]) == 0
    assert "(1 run, 1 cached" in capsys.readouterr().out
    assert json.loads(first[0].read_text())["hash"] == first[0].stem
