"""Compare the outputs of `sparsesim run` between two installations on the shipped workloads.

    .venv/bin/python scripts/compare_runs.py --before OTHER/.venv/bin/sparsesim [--after .venv/bin/sparsesim]
        [--workloads workloads/a.yaml ...] [--warm]

Each workload is run once with each installation into a temporary folder; `ops.csv`, `baseline_ops.csv`
and `timeline.csv` must be byte-identical and `summary.json` equal apart from its wall-clock fields
(`*wall_seconds`) and `output_dir`. The "after" runs use a private, empty cache folder ($SPARSESIM_CACHE);
with `--warm` each workload is run twice there and the second run (front end and GEMM mappings from the
cache) is the one compared. Exit code 1 if anything differs. Used to check that speed work changes no result.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("ops.csv", "baseline_ops.csv", "timeline.csv")
VOLATILE = ("wall_seconds", "output_dir")
# The shipped workloads `run` takes (sweep and search files are not workloads).
SHIPPED = (
    "tiny-cnn-nm-2of4",
    "resnet18-bdwp-2of8",
    "resnet18-dense-train-batch8",
    "resnet50-bdwp-2of8",
    "vgg16-bdwp-2of8",
    "vit-small-bdwp-2of8",
    "mobilenet-v1-block-90",
    "mobilenet-v1-group-30",
    "fpga-tiny-2x2",
)


def run(sparsesim: str, workload: Path, out: Path, cache: Path, *, no_cache: bool = False) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPARSESIM_NO_CACHE"}
    env["SPARSESIM_CACHE"] = str(cache)
    if no_cache:
        env["SPARSESIM_NO_CACHE"] = "1"
    argv = [sparsesim, "run", str(workload), "-q", "-o", str(out)]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")


def stable_summary(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    return {k: v for k, v in summary.items() if not any(k.endswith(w) for w in VOLATILE)}


def differences(a: Path, b: Path) -> list[str]:
    out = []
    for name in FILES:
        fa, fb = a / name, b / name
        if fa.exists() != fb.exists():
            out.append(f"{name}: in one output only")
        elif fa.exists() and fa.read_bytes() != fb.read_bytes():
            out.append(f"{name}: differs")
    sa, sb = stable_summary(a), stable_summary(b)
    for key in sorted(set(sa) | set(sb)):
        if sa.get(key) != sb.get(key):
            out.append(f"summary.json {key}: {sa.get(key)!r} != {sb.get(key)!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the sparsesim executable before the change")
    ap.add_argument("--after", default=str(Path(sys.executable).with_name("sparsesim")))
    ap.add_argument("--workloads", nargs="*", help="workload files (default: the shipped ones)")
    ap.add_argument(
        "--warm", action="store_true", help="compare the after-installation's second (cached) run"
    )
    ap.add_argument(
        "--before-no-cache",
        action="store_true",
        help="run the before-installation with SPARSESIM_NO_CACHE=1 (with --before the same installation: "
        "cached against fresh)",
    )
    args = ap.parse_args(argv)
    paths = (
        [Path(w) for w in args.workloads]
        if args.workloads
        else [ROOT / "workloads" / f"{n}.yaml" for n in SHIPPED]
    )
    failed = 0
    tmp = Path(tempfile.mkdtemp(prefix="compare_runs_"))
    try:
        for path in paths:
            before, after = tmp / f"{path.stem}-before", tmp / f"{path.stem}-after"
            run(args.before, path, before, tmp / "cache-before", no_cache=args.before_no_cache)
            run(args.after, path, after, tmp / "cache-after")
            if args.warm:
                shutil.rmtree(after)
                run(args.after, path, after, tmp / "cache-after")
            diff = differences(before, after)
            failed += bool(diff)
            print(f"{path.stem:30} {'identical' if not diff else 'DIFFERENT'}", flush=True)
            for line in diff:
                print(f"  {line}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("all identical" if not failed else f"{failed} workload(s) differ")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
