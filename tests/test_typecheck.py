"""The type check is part of the test suite: mypy on the package and on rtl/ (installed as sparsesim.rtl)
with the configuration in pyproject.toml ([tool.mypy]), strict enough that a misspelled key of the run
summary (sparsesim.summary.Summary) fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    exe = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    assert exe, "mypy is not installed (pip install -e '.[dev]', or the [typecheck] extra)"
    cache = tmp_path_factory.mktemp("mypy-cache")  # not in the repository

    def run(*targets: str) -> subprocess.CompletedProcess:
        argv = [exe, "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache), *targets]
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900)

    return run


def test_the_package_type_checks(mypy):
    res = mypy()  # [tool.mypy] packages: sparsesim and rtl
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    checked = int(res.stdout.split("found in ")[1].split()[0])
    assert checked > len(list((ROOT / "sparsesim").rglob("*.py")))  # rtl/'s modules are checked too


READER = '''
from sparsesim.results import RunResult


def gain(result: RunResult) -> float:
    return result.summary["{key}"] * 1.0
'''


@pytest.mark.parametrize(("key", "fails"), [("speedup", False), ("sppedup", True)])
def test_a_misspelled_summary_key_fails_the_check(mypy, tmp_path, key, fails):
    """The check can fail: the same reader with the right key passes and with a typo does not."""
    reader = tmp_path / "reader.py"
    reader.write_text(READER.replace("{key}", key))
    res = mypy(str(reader))
    assert (res.returncode != 0) == fails, res.stdout
    if fails:
        assert f'has no key "{key}"' in res.stdout and "typeddict-item" in res.stdout
