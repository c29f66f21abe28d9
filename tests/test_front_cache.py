"""The front-end cache (sparsesim.front_cache): a hit gives the run a fresh build would give, needs no torch,
misses when anything in its key changes, and a disabled cache writes nothing outside the output folder.

The expected results come from runs with the cache off (a fresh build), never from the cache itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sparsesim as ss
from sparsesim import front_cache
from sparsesim.cli import main
from sparsesim.pipeline import lowering_args, prepare

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml"
# What differs between two runs of the same workload: wall-clock times and where the outputs went.
VOLATILE = ("wall_seconds", "output_dir")


@pytest.fixture
def cache_root(tmp_path, monkeypatch) -> Path:
    """A private cache folder with the cache on (the suite's conftest turns it off by default)."""
    root = tmp_path / "user-cache"
    monkeypatch.setenv("SPARSESIM_CACHE", str(root))
    monkeypatch.delenv(front_cache.DISABLE_ENV, raising=False)
    return root


def _entries(root: Path) -> list[Path]:
    return sorted((root / front_cache.KIND).glob("*.pickle"))


def _stable_summary(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    return {k: v for k, v in summary.items() if not any(k.endswith(w) for w in VOLATILE)}


def _run_to(source, folder: Path, cache: bool) -> ss.RunResult:
    result = ss.run(source, cache=cache)
    ss.save(result, folder)
    return result


@pytest.mark.parametrize(
    "workload",
    ["tiny-cnn-nm-2of4.yaml", "resnet18-bdwp-2of8.yaml", "resnet18-dense-train-batch8.yaml"],
)
def test_hit_gives_the_outputs_of_a_fresh_build(workload, cache_root, tmp_path):
    path = ROOT / "workloads" / workload
    _run_to(path, tmp_path / "fresh", cache=False)
    assert _entries(cache_root) == []  # cache off: nothing stored
    _run_to(path, tmp_path / "miss", cache=True)
    assert len(_entries(cache_root)) >= 1  # the miss stored its front end (and the dense baseline's, if used)
    hit = _run_to(path, tmp_path / "hit", cache=True)
    assert "cache" in hit.prepared.wall_seconds  # it really came from the cache
    for name in ("ops.csv", "baseline_ops.csv", "timeline.csv"):
        fresh = (tmp_path / "fresh" / name).read_bytes()
        assert (tmp_path / "miss" / name).read_bytes() == fresh, name
        assert (tmp_path / "hit" / name).read_bytes() == fresh, name
    assert _stable_summary(tmp_path / "hit") == _stable_summary(tmp_path / "fresh")
    assert _stable_summary(tmp_path / "miss") == _stable_summary(tmp_path / "fresh")


def test_a_hit_holds_the_fresh_builds_weights_and_masks(cache_root):
    """What the entry leaves out (weight values, masks) is built on first read and equals a fresh build."""
    wl = ss.load(TINY)
    fresh = prepare(wl, cache=False)
    prepare(wl, cache=True)  # miss: stores
    hit = prepare(wl, cache=True)
    assert "cache" in hit.wall_seconds
    assert hit.graph.weights.pending  # nothing drawn yet
    assert hit.prune.to_records() == fresh.prune.to_records()  # shapes only: still nothing drawn
    assert hit.graph.weights.pending
    for name in fresh.graph.weight_layers():
        np.testing.assert_array_equal(hit.graph.weights[name], fresh.graph.weights[name])
        lp, lf = hit.prune.by_name(name), fresh.prune.by_name(name)
        for a, b in ((lp.ff_mask, lf.ff_mask), (lp.bp_mask, lf.bp_mask)):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(hit.prune.masked_weight(name), fresh.prune.masked_weight(name))
    assert list(hit.ops.ops()) == list(fresh.ops.ops())
    assert list(hit.graph.edges) == list(fresh.graph.edges)


def test_every_part_of_the_key_misses(cache_root):
    wl = ss.load(TINY)

    def key(w):
        return front_cache.key(w, w.sparsity, lowering_args(w))

    base = key(wl)
    changed = {
        "model.seed": 1,
        "model.input_size": 64,
        "model.num_classes": 7,
        "sparsity.n": 1,
        "task.batch_size": 8,
        "task.mode": "infer",
    }
    keys = {path: key(wl.with_updates({path: value})) for path, value in changed.items()}
    assert base not in keys.values() and len(set(keys.values())) == len(keys), keys
    assert key(ss.load(TINY)) == base  # and the same workload loaded again hits

    # a seed change misses in a run too: a second entry, not the first one reused
    prepare(wl, cache=True)
    prepare(wl.with_updates({"model.seed": 1}), cache=True)
    assert len(_entries(cache_root)) == 2


def test_the_key_follows_the_front_ends_source(tmp_path, monkeypatch):
    """An edit to a module that builds the front end changes the key (a copy of the package is edited)."""
    import shutil

    package = tmp_path / "sparsesim"
    shutil.copytree(front_cache._PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(front_cache, "_PACKAGE", package)
    digest = front_cache._sources_digest.__wrapped__
    before = digest()
    assert digest() == before
    lower = package / "graph" / "lower.py"
    lower.write_text(lower.read_text() + "\n# an edit\n")
    assert digest() != before


def test_user_modules_onnx_and_checkpoints_are_not_cached(tmp_path):
    (tmp_path / "net.onnx").write_bytes(b"")
    (tmp_path / "weights.pt").write_bytes(b"")

    def workload(**model):
        return ss.load({"model": model, "sparsity": {"pattern": "dense"}, "target": "sat"}, base_dir=tmp_path)

    assert front_cache.cacheable(workload(name="tiny_cnn"))
    assert not front_cache.cacheable(workload(name="mypkg.nets:build"))
    assert not front_cache.cacheable(workload(name="net.onnx"))
    assert not front_cache.cacheable(workload(name="tiny_cnn", checkpoint="weights.pt"))


def test_an_unreadable_entry_is_a_miss_and_is_rewritten(cache_root):
    wl = ss.load(TINY)
    prepare(wl, cache=True)
    (entry,) = _entries(cache_root)
    entry.write_bytes(b"not a pickle")
    again = prepare(wl, cache=True)
    assert "cache" not in again.wall_seconds  # built fresh
    assert entry.read_bytes() != b"not a pickle"
    assert "cache" in prepare(wl, cache=True).wall_seconds


def test_the_cache_keeps_the_most_recent_entries(cache_root, monkeypatch):
    monkeypatch.setattr(front_cache, "MAX_ENTRIES", 2)
    wl = ss.load(TINY)
    for seed in (1, 2, 3):
        prepare(wl.with_updates({"model.seed": seed}), cache=True)
    assert len(_entries(cache_root)) == 2
    newest = prepare(wl.with_updates({"model.seed": 3}), cache=True)
    assert "cache" in newest.wall_seconds  # the oldest (seed 1) went, not the newest


@pytest.mark.parametrize("how", ["run option", "environment", "energy option"])
def test_a_disabled_cache_writes_nothing_outside_the_output_folder(how, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SPARSESIM_CACHE", raising=False)  # the default: ~/.cache/sparsesim
    monkeypatch.delenv(front_cache.DISABLE_ENV, raising=False)
    run_argv = ["run", str(TINY), "-q", "-o", str(tmp_path / "out")]
    if how == "run option":
        argv = [*run_argv, "--no-cache"]
    elif how == "energy option":
        argv = ["energy", str(TINY), "--format", "json", "--no-cache"]
    else:
        argv = run_argv
        monkeypatch.setenv(front_cache.DISABLE_ENV, "1")
    assert main(argv) == 0
    written = ["home", "out"] if argv[0] == "run" else ["home"]
    assert sorted(p.name for p in tmp_path.iterdir()) == written
    assert list(home.rglob("*")) == []

    # the same command with the cache on writes its entry under ~/.cache/sparsesim (the check can fail)
    monkeypatch.delenv(front_cache.DISABLE_ENV, raising=False)
    assert main([a for a in argv if a != "--no-cache"]) == 0
    assert _entries(home / ".cache" / "sparsesim")
    capsys.readouterr()


PROBE = """
import sys
from sparsesim.cli import main
code = main(sys.argv[1:])
print("TORCH" if "torch" in sys.modules else "NO-TORCH", code)
"""


def test_a_hit_does_not_import_torch(cache_root, tmp_path):
    env = {**os.environ, "SPARSESIM_CACHE": str(cache_root)}
    env.pop(front_cache.DISABLE_ENV, None)

    def probe(*extra: str) -> str:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        argv = ["run", str(TINY), "-q", "-o", str(out), *extra]
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout.strip().splitlines()[-1]

    assert probe() == "TORCH 0"  # the miss builds the model
    assert probe() == "NO-TORCH 0"  # the hit does not
    assert probe("--no-cache") == "TORCH 0"


def test_stored_mappings_are_per_array_and_survive_a_bad_file(cache_root):
    """sat.stored_mappings: a run stores the GEMM mappings of its array; another array gets a file of its
    own; an unreadable file is ignored and rewritten. (That a run from stored mappings gives a fresh run's
    outputs is test_hit_gives_the_outputs_of_a_fresh_build: its third run reads them.)"""
    from sparsesim.sat.arch import resolve
    from sparsesim.sat.schedule import MappingCache
    from sparsesim.sat.stored_mappings import KIND, Stored

    wl = ss.load(TINY)
    ss.run(wl, cache=True)
    files = sorted((cache_root / KIND).glob("*.pickle"))
    assert len(files) == 1
    stored = Stored(MappingCache(resolve(wl.accelerator)))
    assert stored.loaded > 0 and stored.path == files[0]

    other = wl.with_updates({"accelerator.rows": 8})
    ss.run(other, cache=True)
    assert len(list((cache_root / KIND).glob("*.pickle"))) == 2
    again = ss.run(other, cache=True)  # from its own stored mappings, not the first array's
    fresh = ss.run(other, cache=False)
    assert again.ops.equals(fresh.ops) and again.summary["total_cycles"] == fresh.summary["total_cycles"]

    files[0].write_bytes(b"garbage")
    assert Stored(MappingCache(resolve(wl.accelerator))).loaded == 0
    ss.run(wl, cache=True)
    assert Stored(MappingCache(resolve(wl.accelerator))).loaded == stored.loaded


@pytest.mark.parametrize("extra", [(), ("--layers",), ("--format", "json")])
def test_graph_from_the_cache_prints_what_a_fresh_build_prints(extra, cache_root, capsys):
    """`sparsesim graph` reads shapes only, so it uses the cache too (`--no-cache`: fresh)."""
    argv = ["graph", str(TINY), "-q", *extra]
    assert main([*argv, "--no-cache"]) == 0
    fresh = capsys.readouterr().out
    assert _entries(cache_root) == []
    outs = []
    for _ in range(2):  # a miss (stores), then a hit
        assert main(argv) == 0
        outs.append(capsys.readouterr().out)
    assert len(_entries(cache_root)) == 1
    assert outs == [fresh, fresh]
