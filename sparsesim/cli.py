"""The `sparsesim` command. Thin: parses arguments, calls the library, prints, exits.

Exit codes (`EXIT_CODES`, README "Exit codes"): 0 success; 2 bad input or a file-system error (a one-line
`error:` message naming the field or path and the fix); 3 a missing or failing external tool; 1 an internal
error (a bug: the message says how to get the traceback); 130 Ctrl-C. `main` enforces this for every command.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .commands import json_default as _json_default
from .commands import table as _table  # noqa: F401  (re-exported: the old home of the table formatter)
from .errors import SparsesimError

EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "internal error: a bug in sparsesim (`sparsesim --debug ...` shows the traceback)",
    2: "bad input: the workload or sweep file, a command-line argument, or a file-system problem with a path "
    "(missing, permission denied, name too long, not a folder, no space ...); nothing was written",
    3: "an external tool (Yosys, Vivado, Icarus, Verilator, Dask) is missing or failed",
    130: "interrupted (Ctrl-C); nothing half-written is left",
}
# What to do about the common file-system errors (the OS message says what happened).
_OS_HINTS = {
    errno.EACCES: "check its permissions or choose another path",
    errno.EPERM: "check its permissions or choose another path",
    errno.ENAMETOOLONG: "shorten the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "it is a folder; give a file",
    errno.EBUSY: "it is in use; choose another path",
    errno.ENOSPC: "free some space or choose another folder",
    errno.EROFS: "choose a writable folder",
    errno.ENOENT: "check the path",
    errno.EEXIST: "choose another path",
    errno.ENXIO: "check the path",
    errno.ENODEV: "check the path",
}


def os_error_line(err: OSError) -> str:
    """One line for a file-system error: the path, what the OS said, and what to do."""
    path = err.filename if err.filename is not None else "a file"
    what = err.strerror or type(err).__name__
    if err.filename2 is not None:
        path = f"{path} -> {err.filename2}"
    hint = _OS_HINTS.get(err.errno or 0, "check the path")
    return f"{path}: {what}; {hint}"


# ---------------------------------------------------------------------------------------------- helpers
class Console:
    """Where human-oriented progress goes: stderr, only on a terminal, silenced by --quiet.

    `progress(message)` prints a status line. `progress(message, done=i, total=n)` draws a tqdm bar that
    redraws in place (at most every 0.1 s; one line per message) with the count, elapsed time and an estimate
    of the time left, and ends its line when done reaches total. Nothing at all is written when not on a TTY
    or --quiet. `close()` ends an open bar line, so that a message printed next starts on a clean line.
    """

    REDRAW_SECONDS = 0.1
    BAR_FORMAT = "  {desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"

    def __init__(self, quiet: bool = False, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = not quiet and bool(isatty and isatty())
        self._bar: Any = None  # the tqdm bar being redrawn
        self._message: str | None = None

    def progress(self, message: str, *, done: int | None = None, total: int | None = None) -> None:
        if not self.enabled:
            return
        if done is None or total is None:
            self.close()
            print(f"  {message} ...", file=self.stream, flush=True)
            return
        if self._bar is None or self._message != message or self._bar.total != total:
            self.close()
            self._bar = _progress_bar(message, total, self.stream, self.REDRAW_SECONDS)
            self._message = message
        self._bar.update(max(0, min(done, total) - self._bar.n))
        if done >= total:
            self.close()

    def close(self) -> None:
        """End an open bar line (call before printing anything else to the terminal)."""
        if self._bar is not None:
            self._bar.close()  # draws the last state and ends the line
            self._bar, self._message = None, None


def _progress_bar(message: str, total: int, stream: Any, redraw_seconds: float) -> Any:
    import shutil

    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: bars are updated from the thread that does the work

    try:  # the width of the terminal the bar is drawn on (stdout may be redirected while stderr is not)
        known = os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):
        known = False
    # A terminal that reports 0 columns (e.g. a fresh pty) gets the usual fallback width, not an empty bar.
    width = {"dynamic_ncols": True} if known else {"ncols": shutil.get_terminal_size((80, 24)).columns}
    return Bar(
        total=total,
        desc=message,
        file=stream,
        mininterval=redraw_seconds,
        leave=True,
        bar_format=Console.BAR_FORMAT,
        **width,
    )


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=_json_default))


# ---------------------------------------------------------------------------------------------- parser
Command = Callable[[argparse.Namespace, Console], int]


class _Parser(argparse.ArgumentParser):
    """argparse with the error contract: a usage error is one `error:` line (and exit code 2)."""

    def error(self, message: str) -> Any:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sparsesim",
        description="Sparse DNN training/inference co-design: one workload.yaml -> pruned graph, "
        "simulation, RTL, FPGA.",
    )
    parser.add_argument("--version", action="version", version=f"sparsesim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, fn: Command, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(fn=fn)
        p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
        return p

    for register in _extensions():
        register(add)
    return parser


# The order of `sparsesim --help`; a command module not listed here comes after these, by name.
COMMAND_ORDER = ("validate", "models", "prune", "graph", "run", "energy", "sweep", "search", "rtl", "fpga")


def _extensions() -> list[Callable[[Callable[..., argparse.ArgumentParser]], None]]:
    """Every subcommand: each module of sparsesim.commands exposes `register(add)`."""
    import importlib
    import pkgutil

    from . import commands

    names = [info.name for info in pkgutil.iter_modules(commands.__path__)]
    rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
    names.sort(key=lambda n: (rank.get(n, len(rank)), n))
    return [importlib.import_module(f"{commands.__name__}.{name}").register for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome maps to an exit code of EXIT_CODES (no traceback for user errors)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage error (2) or --help/--version (0); returned, not raised
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "fn", None):
        parser.print_help()
        return 2
    con = Console(quiet=getattr(args, "quiet", False))
    try:
        try:
            code = args.fn(args, con)
        finally:
            con.close()  # end an open progress bar line before any message
    except SparsesimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # the file system refused a path the user gave (permissions, length, type ...)
        if args.debug:
            raise
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # library code must raise, not exit: a bug (user code's exits become errors)
        if args.debug:
            raise
        print(f"internal error: SystemExit({exc.code!r}) inside sparsesim (a bug; rerun with --debug)",
              file=sys.stderr)  # fmt: skip
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (a bug; rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
