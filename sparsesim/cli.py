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
import shutil
import sys
import time
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

    `progress(message)` prints a status line. `progress(message, done=i, total=n)` draws a bar that redraws in
    place (at most every 0.1 s; one line per message) with the count, elapsed time and an estimate of the time
    left, and ends its line when done reaches total. Nothing at all is written when not on a TTY or --quiet.
    """

    REDRAW_SECONDS = 0.1

    def __init__(self, quiet: bool = False, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = not quiet and bool(isatty and isatty())
        self._bar: str | None = None  # message of the bar line being redrawn
        self._bar_start = 0.0
        self._last_draw = 0.0
        self._drawn = 0  # characters on the bar line

    def progress(self, message: str, *, done: int | None = None, total: int | None = None) -> None:
        if not self.enabled:
            return
        if done is None or total is None:
            self.close()
            print(f"  {message} ...", file=self.stream, flush=True)
            return
        now = time.monotonic()
        if self._bar != message:
            self.close()
            self._bar, self._bar_start, self._last_draw = message, now, 0.0
        finished = done >= total
        if not finished and now - self._last_draw < self.REDRAW_SECONDS:
            return
        self._last_draw = now
        self._draw(message, done, total, now - self._bar_start)
        if finished:
            self.close()

    def close(self) -> None:
        """End an open bar line (call before printing anything else to the terminal)."""
        if self._bar is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._bar, self._drawn = None, 0

    def _draw(self, message: str, done: int, total: int, elapsed: float) -> None:
        columns = self._columns()
        frac = min(1.0, max(0.0, done / total)) if total > 0 else 1.0
        tail = f" {done}/{total} {frac:4.0%} {_clock(elapsed)}"
        if 0 < done < total:
            tail += f" eta {_clock(elapsed / done * (total - done))}"
        width = max(10, min(40, columns - len(tail) - 30))
        room = max(8, columns - width - len(tail) - 6)
        label = message if len(message) <= room else message[: room - 1] + "…"
        filled = round(width * frac)
        line = f"  {label} [{'#' * filled}{'.' * (width - filled)}]{tail}"
        pad = " " * max(0, self._drawn - len(line))
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._drawn = len(line)

    def _columns(self) -> int:
        """Width of the terminal the bar is drawn on (stdout may be redirected while stderr is not)."""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
        return columns or shutil.get_terminal_size((80, 24)).columns  # 0: a terminal of unknown size


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


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
COMMAND_ORDER = ("validate", "models", "prune", "graph", "run", "energy", "sweep", "rtl", "fpga")


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
