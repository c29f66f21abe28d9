"""Helpers for the sweep tests: sweep files in tmp folders and the CLI as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TINY_BASE = {"model": "tiny_mlp", "sparsity": {"pattern": "nm", "n": 2, "m": 4}, "target": "sat"}


def write_sweep(folder: Path, data: dict, name: str = "sweep.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def sweep_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sparsesim.cli", "sweep", *args]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        sweep_cmd(*args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=timeout,
    )
