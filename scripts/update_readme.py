"""Regenerate the README's generated sections (tests/test_readme.py checks they are current).

- workload-reference: the workload.yaml reference, from sparsesim.spec;
- ops-columns: the per-op table's columns, from sparsesim.results.OPS_COLUMNS and the targets' extra columns.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _ops_columns() -> str:
    from sparsesim.mobile.simulate import MOBILE_COLUMNS
    from sparsesim.results import OPS_COLUMNS
    from sparsesim.sat.simulate import EXTRA_COLUMNS, STALL_COLUMNS

    lines = ["| column | meaning |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in OPS_COLUMNS.items()]
    lines += [f"| `{k}` | sat only: {v} |" for k, v in {**STALL_COLUMNS, **EXTRA_COLUMNS}.items()]
    lines += [f"| `{k}` | mobile only: {v} |" for k, v in MOBILE_COLUMNS.items()]
    return "\n".join(lines) + "\n"


def _workload_reference() -> str:
    from sparsesim.spec import reference_markdown

    return reference_markdown()


BLOCKS = {"workload-reference": _workload_reference, "ops-columns": _ops_columns}


def render(readme: str) -> str:
    for name, make in BLOCKS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, rest = readme.split(start, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{start}\n{make()}{end}{tail}"
    return readme


if __name__ == "__main__":
    path = Path(__file__).resolve().parents[1] / "README.md"
    new = render(path.read_text())
    if "--check" in sys.argv:
        sys.exit(0 if new == path.read_text() else 1)
    path.write_text(new)
