"""Front-end speed of the CLI, end to end, against the stated baseline and the targets, in one run.

    .venv/bin/python bench/front_end_speed.py [--repeat N] [--sparsesim PATH] [--only NAME ...]

Each case runs the `sparsesim` command in a fresh process (so torch's import is paid as a user pays it) and
records its wall time and peak resident memory (the child's own `ru_maxrss`, from os.wait4). The machine may
be shared with other jobs, so every case runs N times and the MINIMUM wall time (and the minimum peak RSS) is
reported: the least-disturbed run. Outputs of `run` go to a temporary folder that is removed afterwards.
The children run with Python's bytecode cache on (PYTHONDONTWRITEBYTECODE is dropped), as an installed
package runs: the first run of a case may compile, the minimum does not.

The floor: `run` needs torch (the zoo's models are torch modules, traced with torch.fx), and importing it
alone takes most of the 2 s target on this machine. The bench measures that import in a fresh process of the
same interpreter (`python -c "import torch"`, best of N) and prints each `run` case's time beyond it (front
end, simulation, dense baseline, energy, reports): what sparsesim itself costs.

`--sparsesim PATH` measures another installation (that is how BASELINE below was measured: the same command
with the installation before the front-end work). `--against PATH` measures an older installation in the same
session, its runs interleaved with these, so that both see the same load: use it on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESNET50 = "workloads/resnet50-bdwp-2of8.yaml"
VGG16 = "workloads/vgg16-bdwp-2of8.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]  # after `sparsesim`; "{out}" is replaced by a fresh temporary folder
    max_wall_s: float  # the target (issue 16, item 1)
    max_rss_mb: float | None = None


CASES = (
    Case("--help", ("--help",), 0.5),
    Case("models", ("models",), 0.5),
    Case("validate", ("validate", RESNET50), 0.5),
    Case("run resnet50", ("run", RESNET50, "-q", "-o", "{out}"), 2.0),
    Case("run vgg16", ("run", VGG16, "-q", "-o", "{out}"), 4.0, 1500.0),
)

# The numbers before the front-end work: commit 43956cc (the branch point), measured 2026-12-06 18:13 UTC on
# this machine (2 cores shared with other jobs, load average 2.9) with that commit's installation:
#   .venv/bin/python bench/front_end_speed.py --sparsesim <43956cc checkout>/.venv/bin/sparsesim --repeat 3
# name -> (min wall seconds, min peak RSS MB). Issue 16 measured run resnet50 at 5.3 s and VGG-16's front
# end at 25 s on a quieter machine: compare ratios from one session, not absolute seconds across sessions.
BASELINE: dict[str, tuple[float, float]] = {
    "--help": (0.18, 15),
    "models": (4.10, 219),
    "validate": (7.45, 229),
    "run resnet50": (11.99, 515),
    "run vgg16": (12.68, 2705),
}


@dataclass(frozen=True)
class Measured:
    wall_s: float
    rss_mb: float
    cpu_s: float  # user + system CPU of the process: less disturbed than wall time by other jobs


# As a user runs it: with Python's bytecode cache. A shell with PYTHONDONTWRITEBYTECODE set recompiles every
# module of the package on every command (0.2-0.3 s of a run); an installed package has its .pyc files, and
# the first of the N runs writes them for an editable one.
USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
FLOOR_ARGV = ("-c", "import torch")  # what every `run` pays before sparsesim does anything


def python_of(sparsesim: str) -> str:
    """The interpreter of a `sparsesim` console script (its #! line), else this one."""
    try:
        first = Path(sparsesim).read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return sys.executable
    interpreter = first[2:].strip().split()[0] if first.startswith("#!") and first[2:].strip() else ""
    return interpreter if interpreter and Path(interpreter).is_file() else sys.executable


def run_once(sparsesim: str, case: Case) -> Measured:
    out = Path(tempfile.mkdtemp(prefix="front_end_speed_"))
    try:
        # `run -o DIR` wants to create DIR itself (atomically): give it a path that does not exist yet
        argv = [a.replace("{out}", str(out / "o")) for a in case.argv]
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sparsesim, *argv], cwd=ROOT, env=USER_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"error: `sparsesim {' '.join(argv)}` exited {proc.returncode}: {err.strip()}")
        if proc.stderr:
            proc.stderr.close()
        cpu = usage.ru_utime + usage.ru_stime
        return Measured(wall_s=wall, rss_mb=usage.ru_maxrss / 1024, cpu_s=cpu)  # Linux: ru_maxrss in KiB
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _best(runs: list[Measured]) -> Measured:
    return Measured(
        wall_s=min(r.wall_s for r in runs),
        rss_mb=min(r.rss_mb for r in runs),
        cpu_s=min(r.cpu_s for r in runs),
    )


def measure(
    sparsesim: str, case: Case, repeat: int, against: str | None = None
) -> tuple[Measured, Measured | None]:
    """Best of `repeat` runs; with `against`, that installation's runs interleaved with these (same load)."""
    runs: list[Measured] = []
    old: list[Measured] = []
    for _ in range(repeat):
        runs.append(run_once(sparsesim, case))
        if against:
            old.append(run_once(against, case))
    return _best(runs), (_best(old) if old else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the minimum is reported")
    ap.add_argument(
        "--sparsesim",
        default=str(Path(sys.executable).with_name("sparsesim")),
        help="the sparsesim executable to measure (default: this venv's)",
    )
    ap.add_argument("--only", nargs="*", help="case names to run (default: all)")
    ap.add_argument(
        "--against",
        metavar="SPARSESIM",
        help="also measure this (older) installation, interleaved run by run, and print the ratio "
        "measured now instead of the stated BASELINE",
    )
    args = ap.parse_args(argv)
    cases = [c for c in CASES if not args.only or c.name in args.only]
    print(f"min of {args.repeat} runs each, {args.sparsesim}; load average {os.getloadavg()[0]:.2f}")
    floor = None
    if any(c.argv[0] == "run" for c in cases):
        # `run <FLOOR_ARGV>` with the script's interpreter instead of the script: `python -c "import torch"`
        floor, _ = measure(python_of(args.sparsesim), Case("import torch", FLOOR_ARGV, 0.0), args.repeat)
        print(f"floor: `python -c \"import torch\"` alone {floor.wall_s:.2f} s wall, {floor.cpu_s:.2f} s cpu")
    print(f"old = {args.against} measured now, interleaved" if args.against else "old = BASELINE (stated)")
    header = f"{'case':14} {'wall s':>7} {'cpu s':>6} {'target':>7} {'ok':>3} {'peak MB':>8} {'target':>7}"
    header += f" {'old s':>7} {'speedup':>8} {'old MB':>7}"
    print(header)
    failed = 0
    for case in cases:
        m, now_old = measure(args.sparsesim, case, args.repeat, args.against)
        ok = m.wall_s <= case.max_wall_s and (case.max_rss_mb is None or m.rss_mb <= case.max_rss_mb)
        failed += not ok
        rss_target = f"{case.max_rss_mb:7.0f}" if case.max_rss_mb else f"{'-':>7}"
        line = f"{case.name:14} {m.wall_s:7.2f} {m.cpu_s:6.2f} {case.max_wall_s:7.2f} "
        line += f"{'yes' if ok else 'NO':>3} {m.rss_mb:8.0f} {rss_target}"
        if now_old is not None:
            line += f" {now_old.wall_s:7.2f} {now_old.wall_s / m.wall_s:7.1f}x {now_old.rss_mb:7.0f}"
            line += f"  (cpu {now_old.cpu_s:.2f} s -> {m.cpu_s:.2f} s)"
        elif case.name in BASELINE:
            old_s, old_mb = BASELINE[case.name]
            line += f" {old_s:7.2f} {old_s / m.wall_s:7.1f}x {old_mb:7.0f}"
        if floor is not None and case.argv[0] == "run":
            line += f"  [beyond torch's import: {m.wall_s - floor.wall_s:.2f} s wall, "
            line += f"{m.cpu_s - floor.cpu_s:.2f} s cpu]"
        print(line, flush=True)
        if floor is not None and case.argv[0] == "run" and not ok and floor.wall_s > 0.5 * case.max_wall_s:
            left = case.max_wall_s - floor.wall_s
            room = f"leaving {left:.2f} s" if left > 0 else "leaving nothing"
            print(
                f"  {case.name}: of the {case.max_wall_s:.1f} s target, importing torch alone takes "
                f"{floor.wall_s:.2f} s here ({floor.wall_s / case.max_wall_s:.0%}), {room} for sparsesim's "
                f"own part, which takes {m.wall_s - floor.wall_s:.2f} s"
            )
    print("all targets met" if not failed else f"{failed} case(s) miss their target")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
