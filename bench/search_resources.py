"""The search's resource model against full hierarchical Yosys estimates of held-out array sizes.

    python bench/search_resources.py [--checks 2:8x8,2:16x8,4:8x8] [--workdir DIR] [--write FILE]

For the preset's PE cell (FP16, the preset's max M and buffers) with P multipliers per PE, for each check
`P:RxC` the model (`sparsesim.search.resources`: R x C x cell + a rest fitted on the calibration set
CALIBRATION) is compared with `fpga build`'s own hierarchical estimate of the held-out R x C array (a Yosys
run of the whole board core with the cell as a black box). Prints one line per size and resource (LUT, FF,
DSP) with the relative error of the total and of the rest alone. `--write` stores every Yosys number used
(the calibration runs and the held-out runs, each labelled) as JSON: tests/search/data/yosys_rest.json is
that file, and the tests check the model against it. Minutes per Yosys run on a quiet machine; the runs
are cached (sparsesim.fpga.estimate), so a second invocation is quick.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--checks", default="2:8x8,2:16x8,4:8x8", help="multipliers per PE and held-out array size, P:RxC,..."
    )
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--write", default=None, help="store the Yosys numbers (calibration and held-out) here")
    args = ap.parse_args()
    from sparsesim.fpga.estimate import estimate_hierarchical, find_yosys
    from sparsesim.fpga.params import board_params
    from sparsesim.sat.arch import resolve
    from sparsesim.search.resources import CALIBRATION, FITTED, ResourceModel

    work = Path(args.workdir or tempfile.mkdtemp(prefix="search-resources-"))
    tool = find_yosys()
    checks: dict[int, list[tuple[int, int]]] = {}
    for item in args.checks.split(","):
        p_text, size = item.split(":")
        rows, cols = (int(v) for v in size.split("x"))
        if (rows, cols) in CALIBRATION:
            raise SystemExit(f"{size} is in the calibration set {CALIBRATION}; pick another size")
        checks.setdefault(int(p_text), []).append((rows, cols))
    worst = 0.0
    configs = []
    for p, sizes in checks.items():
        acc = {**resolve(None).to_dict(), "multipliers_per_pe": p}
        model = ResourceModel(work / f"model-p{p}", progress=print, tool=tool)
        cell, fit = model.fit(acc)
        runs = [
            {"role": "calibration", "rows": q["rows"], "cols": q["cols"], "rest": _counts(q["rest"]),
             "total": _counts(q["total"])}  # fmt: skip
            for q in fit.points
        ]
        for rows, cols in sizes:
            cand = {**acc, "rows": rows, "cols": cols}
            predicted = model.estimate(cand)
            print(f"P={p}: full hierarchical Yosys estimate of {rows}x{cols} ...", flush=True)
            t0 = time.perf_counter()
            full = estimate_hierarchical(board_params(cand), work / f"full-p{p}-{rows}x{cols}", tool=tool)
            runs.append({"role": "held-out", "rows": rows, "cols": cols, "rest": _counts(full.rest),
                         "total": _counts(full.resources), "seconds": time.perf_counter() - t0})  # fmt: skip
            for r in FITTED:
                if not full.resources.get(r):
                    continue
                err = predicted["resources"][r] / full.resources[r] - 1
                rest_err = (predicted["rest"][r] / full.rest[r] - 1) if full.rest.get(r) else 0.0
                worst = max(worst, abs(err))
                print(
                    f"P={p} {rows:>2}x{cols:<2} {r:>4}: model {predicted['resources'][r]:>10,.0f}  "
                    f"Yosys {full.resources[r]:>10,.0f}  total {err:+.2%}  (rest alone {rest_err:+.2%})"
                )
        configs.append({"multipliers_per_pe": p, "cell": _counts(cell), "runs": runs})
    print(f"worst relative error of a total {worst:.2%} (target 5%)")
    if args.write:
        doc = {
            "command": "python bench/search_resources.py " + " ".join(sys.argv[1:]),
            "tool": tool.version,
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "calibration": [list(c) for c in CALIBRATION],
            "configs": configs,
        }
        Path(args.write).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.write}")


def _counts(res: dict) -> dict:
    return {k: float(v) for k, v in res.items() if k in ("lut", "ff", "dsp", "bram36", "uram")}


if __name__ == "__main__":
    main()
