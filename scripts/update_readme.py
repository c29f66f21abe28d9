"""Regenerate the README's generated sections (tests/test_readme.py checks they are current).

- workload-reference: the workload.yaml reference, from sparsesim.spec;
- ops-columns: the per-op table's columns, from sparsesim.results.OPS_COLUMNS and the targets' extra columns;
- summary-keys: the run summary's keys, from sparsesim.summary;
- json-shapes: the top-level keys of each command's `--format json`, from sparsesim.commands.JSON_SHAPES.
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


def _type_name(hint: object) -> str:
    """`dict[str, float]`, `str | None`: a declared type as written in sparsesim.summary."""
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is None:
        return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))
    if origin in (types.UnionType, typing.Union):
        return " | ".join(_type_name(a) for a in args)
    return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"


def _summary_keys() -> str:
    from sparsesim.summary import summary_keys

    sat, mobile = summary_keys("sat"), summary_keys("mobile")
    lines = ["| key | type | written by |", "|---|---|---|"]
    for key, hint in summary_keys().items():
        where = "both targets" if key in sat and key in mobile else ("sat" if key in sat else "mobile")
        lines.append(f"| `{key}` | `{_type_name(hint)}` | {where} |")
    return "\n".join(lines) + "\n"


def _json_shapes() -> str:
    from sparsesim.commands import JSON_SHAPES

    lines = ["| command | top-level keys |", "|---|---|"]
    for cmd, keys in JSON_SHAPES.items():
        summary = "the run's summary (its keys: [Python API](#python-api))"
        listed = ", ".join(f"`{k}`" for k in keys) if keys else summary
        lines.append(f"| `{cmd}` | {listed} |")
    return "\n".join(lines) + "\n"


BLOCKS = {
    "workload-reference": _workload_reference,
    "ops-columns": _ops_columns,
    "summary-keys": _summary_keys,
    "json-shapes": _json_shapes,
}


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
