"""Regenerate the README's workload.yaml reference from sparsesim.spec (tests/test_readme.py checks it)."""

from __future__ import annotations

import sys
from pathlib import Path

from sparsesim.spec import reference_markdown

START, END = "<!-- workload-reference:start -->", "<!-- workload-reference:end -->"


def render(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{reference_markdown()}{END}{tail}"


if __name__ == "__main__":
    path = Path(__file__).resolve().parents[1] / "README.md"
    new = render(path.read_text())
    if "--check" in sys.argv:
        sys.exit(0 if new == path.read_text() else 1)
    path.write_text(new)
