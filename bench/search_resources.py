"""The search's resource model against full hierarchical Yosys estimates of held-out array sizes.

    python bench/search_resources.py [--sizes 4x4,8x4] [--workdir DIR]

For the preset's PE cell (FP16, the preset's multipliers, max M and buffers), the model
(`sparsesim.search.resources`: R x C x cell + a rest calibrated on 2x2, 2x4, 4x2) is compared with
`fpga build`'s own hierarchical estimate of each listed size (a Yosys run of the whole board core with the
cell as a black box). Prints one line per size and resource with the relative error; the docs quote the
result. Minutes per size on a quiet machine (the Yosys runs are cached, so a second run is quick).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4x4,8x4")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    from sparsesim.fpga.estimate import estimate_hierarchical, find_yosys
    from sparsesim.fpga.params import board_params
    from sparsesim.sat.arch import resolve
    from sparsesim.search.resources import CALIBRATION, FITTED, ResourceModel

    work = Path(args.workdir or tempfile.mkdtemp(prefix="search-resources-"))
    acc = resolve(None).to_dict()
    model = ResourceModel(work / "model", progress=print)
    worst = 0.0
    for size in args.sizes.split(","):
        rows, cols = (int(v) for v in size.split("x"))
        if (rows, cols) in CALIBRATION:
            raise SystemExit(f"{size} is in the calibration set {CALIBRATION}; pick another size")
        cand = {**acc, "rows": rows, "cols": cols}
        predicted = model.estimate(cand)["resources"]
        print(f"full hierarchical Yosys estimate of {size} ...", flush=True)
        full = estimate_hierarchical(board_params(cand), work / f"full-{size}", tool=find_yosys()).resources
        for r in FITTED:
            if not full.get(r):
                continue
            err = predicted[r] / full[r] - 1
            worst = max(worst, abs(err))
            print(f"{size:>6} {r:>4}: model {predicted[r]:>10,.0f}  Yosys {full[r]:>10,.0f}  {err:+.2%}")
    print(f"worst relative error {worst:.2%} (target 5%)")


if __name__ == "__main__":
    main()
