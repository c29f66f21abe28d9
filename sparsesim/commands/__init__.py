"""Subcommands owned by other rooms. Each module here defines `register(add)`, where
`add(name, fn, help) -> argparse.ArgumentParser` creates a subcommand whose handler is
`fn(args, console) -> int`.
Modules are discovered automatically (sparsesim.cli)."""

from __future__ import annotations

from typing import Any


def group_help(args: Any, con: Any) -> int:
    """Handler of a command group run without an action (`sparsesim rtl`): its help, exit code 2."""
    args.parser.print_help()
    return 2
