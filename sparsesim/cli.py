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
from pathlib import Path
from typing import Any

from . import __version__
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


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple | set):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4f}"
        if isinstance(v, tuple | list):
            return "x".join(str(x) for x in v)
        return str(v)

    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [
        max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _load(path: str):
    from .spec import load_workload

    return load_workload(path)


# ---------------------------------------------------------------------------------------------- commands
def cmd_validate(args: argparse.Namespace, con: Console) -> int:
    wl = _load(args.file)
    if wl.model.source == "zoo":  # show the zoo's defaults for knobs the file leaves unset
        from .models import ZOO

        entry = ZOO[wl.model.name]
        defaults = {
            "model.input_size": entry.default_input_size,
            "model.seq_len": entry.default_seq_len,
            "model.num_classes": entry.default_num_classes,
        }
        unset = {
            k: v for k, v in defaults.items() if v is not None and getattr(wl.model, k.split(".")[1]) is None
        }
        wl = wl.with_updates(unset) if unset else wl
    if wl.target == "sat":  # sparsity the array cannot run fails here too, as it does in run and sweep
        from .sat.arch import check_workload_sparsity, resolve

        check_workload_sparsity(wl, resolve(wl.accelerator))
    if args.format == "json":
        _print_json(wl.to_dict())
    else:
        sys.stdout.write(wl.to_yaml())
    return 0


def cmd_models(args: argparse.Namespace, con: Console) -> int:
    from .models import ZOO

    rows = [
        {"name": e.name, "kind": str(getattr(e.kind, "value", e.kind)), "description": e.description}
        for e in sorted(ZOO.values(), key=lambda e: e.name)
    ]
    if args.format == "json":
        _print_json({"models": rows})
    else:
        print(_table(rows, ["name", "kind", "description"]))
    return 0


PRUNE_COLUMNS = [
    "layer",
    "kind",
    "shape",
    "pattern",
    "ff_density",
    "bp_density",
    "metadata_bytes",
    "dense_reason",
]


def cmd_prune(args: argparse.Namespace, con: Console) -> int:
    from .pipeline import prepare

    wl = _load(args.file)
    if args.save:
        from .io import check_output_dir

        check_output_dir(args.save, "--save")  # before the masks are computed
    prep = prepare(wl, progress=con.progress)
    records = prep.prune.to_records()
    pruned = [r for r in records if r["pattern"] != "dense"]
    total_w = sum(r["params"] or 0 for r in records)
    kept_ff = sum((r["params"] or 0) * r["ff_density"] for r in records)
    summary = {
        "model": wl.model.name,
        "pattern": wl.sparsity.pattern,
        "weight_layers": len(records),
        "pruned_layers": len(pruned),
        "weights": total_w,
        "ff_density": kept_ff / total_w if total_w else 1.0,
        "metadata_bytes": sum(r["metadata_bytes"] for r in records),
    }
    if args.save:
        _save_prune(Path(args.save), prep)
    if args.format == "json":
        _print_json({"summary": summary, "layers": records})
    else:
        print(_table(records, PRUNE_COLUMNS))
        print(
            f"\n{summary['pruned_layers']}/{summary['weight_layers']} layers pruned ({summary['pattern']}); "
            f"weights kept (FF): {summary['ff_density']:.4f}; metadata: {summary['metadata_bytes']:,} bytes"
        )
        if args.save:
            print(f"masks and graph written to {args.save}")
    return 0


def _save_prune(target: Path, prep: Any) -> None:
    import networkx as nx
    import numpy as np

    from .graph.lower import ops_frame
    from .io import atomic_dir

    with atomic_dir(target) as tmp:
        arrays: dict[str, np.ndarray] = {}
        for lp in prep.prune.layers:
            if lp.ff_mask is not None:
                arrays[f"{lp.name}/ff"] = lp.ff_mask
            if lp.bp_mask is not None:
                arrays[f"{lp.name}/bp"] = lp.bp_mask
            if lp.permutation is not None:
                arrays[f"{lp.name}/permutation"] = lp.permutation
        np.savez_compressed(tmp / "masks.npz", **arrays)
        (tmp / "layers.json").write_text(
            json.dumps({"layers": prep.prune.to_records()}, indent=2, default=_json_default)
        )
        data = nx.node_link_data(_plain_graph(prep.graph), edges="edges")
        (tmp / "layergraph.json").write_text(json.dumps(data, indent=1, default=_json_default))
        ops_frame(prep.ops.ops()).to_csv(tmp / "ops.csv", index=False)
        (tmp / "workload.yaml").write_text(prep.workload.to_yaml())


def _plain_graph(g: Any) -> Any:
    import networkx as nx

    plain = nx.DiGraph(**{k: v for k, v in g.graph.items()})
    plain.add_nodes_from(g.nodes(data=True))
    plain.add_edges_from(g.edges)
    return plain


def cmd_graph(args: argparse.Namespace, con: Console) -> int:
    import pandas as pd

    from .graph.lower import op_record, ops_frame
    from .pipeline import prepare

    wl = _load(args.file)
    prep = prepare(wl, progress=con.progress)
    if args.layers:
        records = prep.graph.to_records()
    else:
        records = [op_record(op) for op in prep.ops.ops()]
    if args.format == "json":
        text = json.dumps({"ops" if not args.layers else "layers": records}, indent=1, default=_json_default)
    elif args.layers:
        frame = pd.DataFrame(records)
        for col in frame.columns:
            if frame[col].map(lambda v: isinstance(v, list | tuple)).any():
                frame[col] = frame[col].map(
                    lambda v: "x".join(map(str, v)) if isinstance(v, list | tuple) else v
                )
        text = frame.to_csv(index=False)
    else:
        text = ops_frame(prep.ops.ops()).to_csv(index=False)
    if args.output:
        from .io import atomic_write_text

        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


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

    p = add("validate", cmd_validate, "check a workload.yaml and print the resolved spec")
    p.add_argument("file")
    p.add_argument("--format", choices=["yaml", "json"], default="yaml")

    p = add("models", cmd_models, "list the built-in models")
    p.add_argument("--format", choices=["table", "json"], default="table")

    p = add("prune", cmd_prune, "compute the masks on the model's weights and print a per-layer table")
    p.add_argument("file")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--save", metavar="DIR", help="write masks.npz, layers.json, layergraph.json, ops.csv")

    p = add("graph", cmd_graph, "write the lowered op table (FF/BP/WU GEMMs and vector work) as CSV or JSON")
    p.add_argument("file")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--layers", action="store_true", help="the traced layer graph instead of the op table")
    p.add_argument("--output", "-o", metavar="PATH", help="write to a file instead of stdout")

    for register in _extensions():
        register(add)
    return parser


def _extensions() -> list[Callable[[Callable[..., argparse.ArgumentParser]], None]]:
    """Subcommands owned by other rooms (run, sweep, rtl, fpga): each module exposes `register(add)`."""
    import importlib
    import pkgutil

    from . import commands

    found = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        found.append(mod.register)
    return found


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
