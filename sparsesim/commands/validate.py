"""`sparsesim validate FILE`: check a workload and print it resolved: the zoo's defaults and the hardware
values the run uses (the preset's, or the file's overrides) filled in, each hardware value with its source."""

from __future__ import annotations

import argparse
import sys

from . import AddCommand, ConsoleLike, print_json


def register(add: AddCommand) -> None:
    p = add("validate", validate_command, "check a workload.yaml and print the resolved spec")
    p.add_argument("file", help="the workload.yaml to check")
    p.add_argument("--format", choices=["yaml", "json"], default="yaml")


def validate_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..api import resolved, validate, with_resolved

    wl = validate(args.file)
    values = resolved(wl)
    wl = with_resolved(wl)
    sources = {path: item["source"] for path, item in values.items()}
    if args.format == "json":
        print_json({"workload": wl.to_dict(), "sources": sources})
        return 0
    text = wl.to_yaml()
    if values:
        width = max(len(p) for p in values)
        text += "# hardware values the run uses, and where each comes from:\n"
        text += "".join(
            f"#   {path.ljust(width)}  {item['value']!s:>10}  {item['source']}\n"
            for path, item in values.items()
        )
    sys.stdout.write(text)
    return 0
