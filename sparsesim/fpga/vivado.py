"""Vivado: find it the way Amaranth does, run a build tree's script, and read timing and utilisation from its
reports (`report_timing_summary`, `report_utilization`; the file names Amaranth's Vivado TCL writes).

Amaranth's XilinxPlatform invokes `vivado` from PATH, or the command in the VIVADO environment variable; the
build script also sources $AMARANTH_ENV_VIVADO when set (e.g. Vivado's settings64.sh).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from ..errors import ToolError

UTIL_ROWS = {
    "CLB LUTs": "lut",
    "CLB Registers": "ff",
    "DSPs": "dsp",
    "Block RAM Tile": "bram36",
    "URAM": "uram",
}


def find_vivado() -> str | None:
    """How Vivado would be reached by the tree's build script, or None: $VIVADO or `vivado` on PATH, or an
    existing $AMARANTH_ENV_VIVADO script (e.g. settings64.sh) that the build script sources first."""
    found = shutil.which(os.environ.get("VIVADO") or "vivado")
    if found:
        return found
    env_script = os.environ.get("AMARANTH_ENV_VIVADO")
    if env_script and Path(env_script).is_file():
        return f"vivado (after sourcing {env_script})"
    return None


def run_build(tree: Path, name: str, *, log=None) -> float:
    """Run `build_<name>.sh` in the tree (synthesis through bitstream); seconds taken."""
    script = Path(tree) / f"build_{name}.sh"
    t0 = time.perf_counter()
    with open(Path(tree) / "vivado_run.log", "w") as out:
        res = subprocess.run(["bash", script.name], cwd=tree, stdout=out, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise ToolError(
            f"Vivado failed (exit {res.returncode}); see {Path(tree) / 'vivado_run.log'} and {name}.log"
        )
    return time.perf_counter() - t0


def _number(text: str) -> float | None:
    text = text.strip().rstrip("%").replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def parse_utilization(text: str) -> dict[str, dict[str, float]]:
    """`report_utilization` tables -> {resource: {used, available, percent}} for LUT, FF, DSP, BRAM36, URAM.

    Rows are `| Site Type | Used | Fixed | (Prohibited |) Available | Util% |`; synthesis reports mark
    estimated rows with `*` (e.g. "CLB LUTs*"). The first row of each name wins (the summary tables come
    first)."""
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) < 4:
            continue
        site = cols[0].rstrip("*").strip()
        key = UTIL_ROWS.get(site)
        if key is None or key in out:
            continue
        used, avail, pct = _number(cols[1]), _number(cols[-2]), _number(cols[-1])
        if used is None or avail is None:
            continue
        out[key] = {
            "used": used,
            "available": avail,
            "percent": pct if pct is not None else 100.0 * used / avail,
        }
    return out


_SUMMARY_HEAD = re.compile(r"^\s*WNS\(ns\)\s+TNS\(ns\)")


def parse_timing_summary(text: str) -> dict[str, Any]:
    """`report_timing_summary` -> {wns_ns, tns_ns, whs_ns, ths_ns, failing_endpoints, met, clocks}.

    Reads the "Design Timing Summary" row (the line of numbers two lines under the WNS(ns) header) and the
    "Clock Summary" table (name, period, frequency)."""
    lines = text.splitlines()
    out: dict[str, Any] = {}
    for i, line in enumerate(lines):
        if _SUMMARY_HEAD.match(line) and i + 2 < len(lines):
            vals = lines[i + 2].split()
            nums = [_number(v) for v in vals]
            if len(nums) >= 8 and all(n is not None for n in nums[:8]):
                out.update(
                    wns_ns=nums[0],
                    tns_ns=nums[1],
                    failing_endpoints=int(nums[2]),  # type: ignore[arg-type]
                    total_endpoints=int(nums[3]),
                    whs_ns=nums[4],
                    ths_ns=nums[5],
                    hold_failing_endpoints=int(nums[6]),
                )
                break
    out["met"] = "All user specified timing constraints are met." in text
    clocks: dict[str, dict[str, float]] = {}
    in_clocks = False
    for line in lines:
        if line.strip().startswith("| Clock Summary"):
            in_clocks = True
            continue
        if in_clocks:
            m = re.match(r"^\s*(\S+)\s+\{([\d.]+)\s+([\d.]+)\}\s+([\d.]+)\s+([\d.]+)\s*$", line)
            if m:
                clocks[m.group(1)] = {"period_ns": float(m.group(4)), "frequency_mhz": float(m.group(5))}
            elif clocks and not line.strip():
                break
    # Per-clock setup WNS from the "Intra Clock Table": numbers are right-aligned under their header, and a
    # clock without setup paths (e.g. the 300 MHz input, which only feeds the MMCM) has that column blank.
    in_intra, wns_end = False, None
    for line in lines:
        if line.strip().startswith("| Intra Clock Table"):
            in_intra = True
            continue
        if not in_intra:
            continue
        if re.match(r"^\|\s+[A-Za-z]", line):  # the next section
            break
        if line.lstrip().startswith("Clock") and "WNS(ns)" in line:
            wns_end = line.index("WNS(ns)") + len("WNS(ns)")
            continue
        name = line.split()[0] if line.split() else ""
        if wns_end is None or name not in clocks:
            continue
        for tok in re.finditer(r"\S+", line):
            if tok.start() < wns_end <= tok.end() and tok.start() > line.index(name) + len(name) - 1:
                wns = _number(tok.group())
                if wns is not None:
                    clocks[name]["wns_ns"] = wns
    out["clocks"] = clocks
    return out


def fmax_mhz(period_ns: float, wns_ns: float) -> float:
    """The frequency a clock's paths would close at: 1 / (period - WNS)."""
    return 1000.0 / (period_ns - wns_ns)


def read_reports(tree: Path, name: str) -> dict[str, Any]:
    """Timing (post-route `<name>_timing.rpt`, else post-synthesis) and utilisation (post-place, else
    post-synthesis) of a finished build."""
    tree = Path(tree)
    out: dict[str, Any] = {}
    for key, candidates in (
        ("timing", (f"{name}_timing.rpt", f"{name}_timing_synth.rpt")),
        ("utilization", (f"{name}_utilization_place.rpt", f"{name}_utilization_synth.rpt")),
    ):
        for fname in candidates:
            path = tree / fname
            if path.exists():
                text = path.read_text(errors="replace")
                out[key] = parse_timing_summary(text) if key == "timing" else parse_utilization(text)
                out[f"{key}_report"] = fname
                break
    return out
