"""Calibrate the mobile model's free memory parameters on published DENSE latencies only.

Calibration set: XNNPACK's README "Performance / Mobile phones" table, single-threaded end-to-end latency
with `end2end_bench` (benchmarked March 27, 2020, Android NDK r21, randomized weights): Pixel 2
(Snapdragon 835) MobileNet v1 1.0X 86 ms, MobileNet v2 1.0X 53 ms. (MobileNet v3 Large/Small are in the
table too, but sparsesim's zoo has no MobileNet v3 yet; no Snapdragon 855 single-thread XNNPACK figure was
found, so the SD855 preset is not calibrated.)

Fitted parameters (ones the microarchitecture does not give): `prefetch_depth_lines` (grid: the cache
must be re-simulated per depth) and `miss_overlap` (continuous, scipy.optimize.least_squares on the
relative errors; it scales the miss stalls only, so each op is re-timed from its recorded cache counts).
Sparse and group-sparse runs are never used here: their numbers are predictions.

    .venv/bin/python bench/calibrate_mobile.py

prints the fitted values and the error on every calibration point; the values are then written by hand
into sparsesim/mobile/soc.py with a source entry "calibrated on ... (date)".
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
from scipy.optimize import least_squares

from sparsesim.mobile.memory import MemoryModel
from sparsesim.mobile.simulate import MobileSimulator
from sparsesim.mobile.soc import SNAPDRAGON835
from sparsesim.pipeline import prepare
from sparsesim.spec import MobileSpec, workload_from_dict

# (model, published dense single-thread latency in ms on Pixel 2 = Snapdragon 835)
CALIBRATION = [("mobilenet_v1", 86.0), ("mobilenet_v2", 53.0)]
DEPTHS = (1, 2, 4, 8)


def dense_prep(model: str):
    wl = workload_from_dict(
        {
            "name": f"{model}-dense-calibration",
            "model": model,
            "task": {"mode": "infer", "batch_size": 1},
            "sparsity": {"pattern": "block", "block_size": 1, "sparsity": 0.9},
            "target": "mobile",
            "mobile": {"soc": "snapdragon835", "threads": 1},
        }
    )
    return wl, prepare(wl, dense=True)


def total_ms(soc, records) -> float:
    sim = MobileSimulator(soc, MobileSpec(soc="snapdragon835", threads=1))
    mm = MemoryModel(soc, 1)
    seconds = 0.0
    for work, stats in records:
        if stats is None or work.family == "fused":
            continue
        seconds += sim.time_cache(work, stats, mm).seconds
    return seconds * 1e3


def main() -> None:
    t0 = time.time()
    preps = {m: dense_prep(m) for m, _ in CALIBRATION}
    best = None
    for depth in DEPTHS:
        soc = replace(SNAPDRAGON835, prefetch_depth_lines=depth)
        recs = {}
        for model, _ in CALIBRATION:
            wl, prep = preps[model]
            sim = MobileSimulator(soc, wl.mobile)
            sim.run(prep, model)
            recs[model] = sim.records

        def residuals(x, soc=soc, recs=recs):
            s = replace(soc, miss_overlap=float(x[0]))
            return [total_ms(s, recs[m]) / ms - 1.0 for m, ms in CALIBRATION]

        fit = least_squares(residuals, x0=[4.0], bounds=([1.0], [float(soc.l1_outstanding_misses)]))
        cost = float(np.sum(np.square(fit.fun)))
        print(
            f"prefetch_depth_lines={depth}: miss_overlap={fit.x[0]:.3f}  "
            + "  ".join(f"{m} {r * 100:+.1f}%" for (m, _), r in zip(CALIBRATION, fit.fun))
        )
        if best is None or cost < best[0]:
            best = (cost, depth, float(fit.x[0]), recs, soc)
    cost, depth, overlap, recs, soc = best
    fitted = replace(soc, miss_overlap=overlap)
    print(f"\nfitted on SD835 (Pixel 2) dense: prefetch_depth_lines = {depth}, miss_overlap = {overlap:.2f}")
    print("| model | published (ms) | model (ms) | error |")
    print("|---|---|---|---|")
    for model, ms in CALIBRATION:
        got = total_ms(fitted, recs[model])
        print(f"| {model} dense, SD835, 1 thread | {ms:.0f} | {got:.1f} | {(got / ms - 1) * 100:+.1f}% |")
    print(f"(wall {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
