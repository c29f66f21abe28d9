"""The error contract on bad input (README "Exit codes"), case by case: tests/hardening_cases.py lists them.

Each case runs `sparsesim.cli.main` in-process in a fresh working folder and must give its exit code, exactly
one `error:` line on stderr naming the problem (the case's fragment), nothing on stdout, no traceback, and
leave every file and folder under the test's temporary folder (the working folder's parent) as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hardening_cases import CASES, Case

from sparsesim import cli


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None]]:
    """Every path under `root` with its kind and (for files) contents."""
    out: dict[str, tuple[str, bytes | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = ("dir", None)
        for f in filenames:
            path = os.path.join(dirpath, f)
            out[os.path.relpath(path, root)] = ("file", Path(path).read_bytes())
    return out


def prepare(case: Case, tmp_path: Path) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for d in case.dirs:
        (cwd / d).mkdir(parents=True)
    for rel, content in case.files.items():
        path = cwd / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{tmp}", str(tmp_path)))
    return cwd


def run_case(case: Case, tmp_path: Path, capsys, monkeypatch) -> tuple[int, str, str]:
    cwd = prepare(case, tmp_path)
    monkeypatch.chdir(cwd)
    before = snapshot(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    after = snapshot(tmp_path)
    assert after == before, f"files changed: {sorted(set(after) ^ set(before))}"
    return code, out, err


def test_there_are_at_least_150_cases_with_distinct_ids():
    ids = [c.id for c in CASES]
    assert len(ids) >= 150 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_error_line_its_exit_code_and_writes_nothing(case, tmp_path, capsys, monkeypatch):
    code, out, err = run_case(case, tmp_path, capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert code == case.code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert case.fragment in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
