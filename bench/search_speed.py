"""Seconds per trial of `sparsesim search` on ResNet-18 BDWP training (the front end built once).

    python bench/search_speed.py [--trials 8]

Prints the one-time front-end cost (tracing, pruning every searched layer once per choice), the seconds per
trial measured over `--trials` trials in this process, and the ratio to ZigZag's ~45 s per hardware point
(ResNet-18 inference with its mapping search; measured by the issue's reporter with zigzag-dse 3.9.1; not
rerun here)."""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIGZAG_SECONDS_PER_POINT = 45.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    args = ap.parse_args()
    from sparsesim.search.evaluate import LAYER_PREFIX, Evaluator
    from sparsesim.search.run import distributions
    from sparsesim.search.spec import load_search
    from sparsesim.spec import load_workload

    spec, base_dir = load_search(ROOT / "workloads" / "search-resnet18-vcu1525.yaml")
    t0 = time.perf_counter()
    ev = Evaluator(spec, load_workload(base_dir / spec.workload))
    front_end = time.perf_counter() - t0
    dists = distributions(spec, ev.searched)
    rng = random.Random(0)
    times = []
    for _ in range(args.trials):
        params = {k: rng.choice(d.choices) for k, d in dists.items()}
        t = time.perf_counter()
        ev.run(params)
        times.append(time.perf_counter() - t)
    # the same array, other N:M choices: the dense baseline comes from the Evaluator's memo
    same = []
    for _ in range(args.trials):
        nm = {k: rng.choice(d.choices) for k, d in dists.items() if k.startswith(LAYER_PREFIX)}
        params = {**params, **nm}
        t = time.perf_counter()
        ev.run(params)
        same.append(time.perf_counter() - t)
    per = sum(times) / len(times)
    print(
        f"front end once: {front_end:.2f} s ({len(ev.searched)} searched layers x "
        f"{len(spec.space.sparsity.choices)} choices)"
    )
    print(
        f"seconds per trial: {per:.3f} (min {min(times):.3f}, max {max(times):.3f}, {len(times)} trials; "
        f"accelerator and {LAYER_PREFIX}* choices random)"
    )
    print(
        f"seconds per trial on an array already visited: {sum(same) / len(same):.3f} "
        f"(min {min(same):.3f}, max {max(same):.3f}; its dense baseline reused)"
    )
    print(
        f"ZigZag ~{ZIGZAG_SECONDS_PER_POINT:.0f} s per point / this: {ZIGZAG_SECONDS_PER_POINT / per:.0f}x "
        "(target >= 100x)"
    )


if __name__ == "__main__":
    main()
