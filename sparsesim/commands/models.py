"""`sparsesim models`: the built-in models (the zoo)."""

from __future__ import annotations

import argparse

from . import AddCommand, ConsoleLike, print_json, table


def register(add: AddCommand) -> None:
    p = add("models", models_command, "list the built-in models")
    p.add_argument("--format", choices=["table", "json"], default="table")


def models_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..api import model_rows

    rows = model_rows()
    if args.format == "json":
        print_json({"models": rows})
    else:
        print(table(rows, ["name", "kind", "description"]))
    return 0
