"""Front-end speed: build + trace + prune + lower, per shipped workload, measured in one run.

    .venv/bin/python bench/prune_speed.py [workloads/resnet50-bdwp-2of8.yaml ...]

Prints wall seconds per stage and the ratio against the issue's 30 s budget for `sparsesim prune`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 30.0


def main(paths: list[str]) -> None:
    t0 = time.perf_counter()
    from sparsesim.pipeline import prepare
    from sparsesim.spec import load_workload

    import_s = time.perf_counter() - t0
    files = paths or [str(ROOT / "workloads" / "resnet50-bdwp-2of8.yaml")]
    print(f"imports (torch, sparsesim): {import_s:.2f} s")
    print(f"{'workload':34} {'trace':>7} {'prune':>7} {'lower':>7} {'total':>7} {'budget':>8}")
    for f in files:
        wl = load_workload(f)
        t = time.perf_counter()
        prep = prepare(wl)
        total = time.perf_counter() - t + import_s
        w = prep.wall_seconds
        print(f"{wl.resolved_name():34} {w['trace']:7.2f} {w['prune']:7.2f} {w['lower']:7.2f} {total:7.2f} "
              f"{total / BUDGET_S:7.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
