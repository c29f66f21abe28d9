"""sparsesim against SCALE-Sim 3.0.0, both reading SCALE-Sim's own files: cycles and wall time per layer.

    .venv/bin/python bench/vs_scalesim.py [--topology tests/sat/data/scalesim/resnet18.csv]
        [--configs ws32.cfg,os32.cfg] [--layers Conv3_s,Conv4_s,Conv5_s,FC,Conv4_2a]
        [--reference-dir tests/sat/data/scalesim] [--venv /tmp/scalesim-venv] [--workdir DIR]

sparsesim runs through `sparsesim run`'s library path (spec -> SCALE-Sim-style arch from the .cfg ->
scheduler -> SimPy engines): a workload with `model: <topology.csv>` and `accelerator: {scalesim: <cfg>}`.
Nothing here maps folds: the scheduler does. Per layer it prints SCALE-Sim's "Total Cycles" (COMPUTE_REPORT),
ours, their ratio, and the wall-time ratio of SCALE-Sim's layer run (in its own process, imports excluded,
one run) to sparsesim's whole library path on the same one-layer topology (front end + schedule + engines,
best of 3).

SCALE-Sim runs in its own venv (created if missing: pip install scalesim==3.0.0 "numpy<2.4"; numpy 2.4
crashes it). It simulates ~1-6 k cycles per second with traces, so keep the layer list short (the default
five layers take a few minutes per config). With --reference-dir, SCALE-Sim is not run: its cycles come from
stored `<topology>_<cfg>_COMPUTE_REPORT.csv` files (as in tests/sat/data/scalesim) and no speed is printed.
Not part of CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "sat" / "data" / "scalesim"
REPEATS = 3

# Runs inside SCALE-Sim's venv: one scalesim object per one-layer topology, timed around run_scale only.
DRIVER = r"""
import json, sys, time
from pathlib import Path
from scalesim.scale_sim import scalesim
cfg, layout, work, gemm = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "gemm"
out = {}
for topo in sorted(work.glob("layer_*.csv")):
    s = scalesim(save_disk_space=False, verbose=False, config=cfg, topology=str(topo), layout=layout,
                 input_type_gemm=gemm)
    top = work / ("out_" + topo.stem)
    t = time.perf_counter()
    s.run_scale(top_path=str(top))
    wall = time.perf_counter() - t
    report = next(top.rglob("COMPUTE_REPORT.csv"))
    rows = [r for r in report.read_text().splitlines()[1:] if r.strip()]
    out[topo.stem[len("layer_"):]] = {"cycles": int(rows[0].split(",")[2]), "wall": wall}
print(json.dumps(out))
"""
# SCALE-Sim 3.0.0 insists on a layout file even with custom layouts off (a copy of its own test layout).
LAYOUT = DATA / "layout_test.csv"


def ensure_venv(venv: Path) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating SCALE-Sim venv in {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "scalesim==3.0.0", "numpy<2.4"], check=True)
    return py


def one_layer_csvs(topology: Path, names: list[str], work: Path) -> dict[str, Path]:
    """A one-layer copy of the topology per layer (header + that row, unchanged)."""
    lines = topology.read_text(encoding="utf-8-sig").splitlines()
    out = {}
    for row in lines[1:]:
        name = row.split(",")[0].strip()
        if name in names:
            path = work / f"layer_{name}.csv"
            path.write_text(lines[0] + "\n" + row + "\n")
            out[name] = path
    return out


def run_scalesim(py: Path, cfg: Path, layers: dict[str, Path], form: str, work: Path) -> dict[str, dict]:
    (work / "driver.py").write_text(DRIVER)
    res = subprocess.run(
        [str(py), str(work / "driver.py"), str(cfg), str(LAYOUT), str(work), form],
        capture_output=True, text=True, cwd=work,
    )  # fmt: skip
    if res.returncode:
        raise SystemExit(f"SCALE-Sim failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def stored_reference(ref_dir: Path, topology: Path, cfg: Path, names: list[str]) -> dict[str, dict]:
    from sparsesim.scalesim import read_topology

    path = ref_dir / f"{topology.stem}_{cfg.stem}_COMPUTE_REPORT.csv"
    with path.open() as fh:
        rows = [[c.strip() for c in r] for r in csv.reader(fh) if r]
    order = [layer.name for layer in read_topology(topology).layers]
    return {
        order[int(r[0])]: {"cycles": int(r[2]), "wall": math.nan}
        for r in rows[1:]
        if order[int(r[0])] in names
    }


def sparsesim_cycles(topology: Path, cfg: Path) -> tuple[dict[str, int], float]:
    """Per-layer cycles of the whole topology through `sparsesim run`'s library path, and its wall time."""
    from sparsesim.commands.run import simulate
    from sparsesim.spec import workload_from_dict

    t = time.perf_counter()
    wl = workload_from_dict(
        {"model": str(topology), "sparsity": "dense", "target": "sat", "accelerator": {"scalesim": str(cfg)}},
        base_dir=topology.parent, name=f"{topology.stem}-{cfg.stem}",
    )  # fmt: skip
    result = simulate(wl)
    wall = time.perf_counter() - t
    ops = result.ops.set_index("layer")
    return {name: int(ops.loc[name, "cycles"]) for name in ops.index}, wall


# How our RTL's array sequences folds (the vcu1525 preset's values; docs/pe_array.md, fold sequencing), for
# the column that shows what SCALE-Sim's assumptions cost on the same 32 x 32 single-multiplier array.
PRESET_SEQUENCING = dict(
    weight_banks=2, weight_load="bus", fold_overlap=True, os_drain="serial", mul_latency_cycles=2,
    add_latency_cycles=4,
)  # fmt: skip


def preset_sequencing_cycles(topology: Path, cfg: Path) -> dict[str, int]:
    """Per-layer cycles of the same array and mapping with the vcu1525 sequencing and FP16 latencies."""
    import dataclasses

    from sparsesim.pipeline import prepare
    from sparsesim.sat.arch import resolve
    from sparsesim.sat.simulate import simulate_ops
    from sparsesim.spec import workload_from_dict

    wl = workload_from_dict(
        {"model": str(topology), "sparsity": "dense", "target": "sat", "accelerator": {"scalesim": str(cfg)}},
        base_dir=topology.parent,
    )
    arch = dataclasses.replace(resolve(wl.accelerator), **PRESET_SEQUENCING)
    prepared = prepare(wl)
    ops = simulate_ops(prepared.ops, arch, graph=prepared.graph).ops.set_index("layer")
    return {name: int(ops.loc[name, "cycles"]) for name in ops.index}


def sparsesim_layer_wall(layer_csv: Path, cfg: Path) -> float:
    best = math.inf
    for _ in range(REPEATS):
        best = min(best, sparsesim_cycles(layer_csv, cfg)[1])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topology", default=str(DATA / "resnet18.csv"), help="a SCALE-Sim topology CSV")
    ap.add_argument("--configs", default="ws32.cfg,os32.cfg", help=f"SCALE-Sim .cfg files (relative: {DATA})")
    ap.add_argument("--layers", default="Conv3_s,Conv4_s,Conv5_s,FC,Conv4_2a", help="layer names, or 'all'")
    ap.add_argument("--reference-dir", default=None, help="read stored COMPUTE_REPORTs instead of running")
    ap.add_argument("--venv", default="/tmp/scalesim-venv")
    ap.add_argument("--workdir", default=None, help="keep SCALE-Sim's outputs here (default: a temp folder)")
    ap.add_argument("--markdown", action="store_true", help="also print the cycles as a Markdown table")
    args = ap.parse_args()

    from sparsesim.scalesim import read_topology

    topology = Path(args.topology).resolve()
    topo = read_topology(topology)
    names = [x.name for x in topo.layers] if args.layers == "all" else [
        n.strip() for n in args.layers.split(",") if n.strip()
    ]  # fmt: skip
    unknown = [n for n in names if n not in {x.name for x in topo.layers}]
    if unknown:
        raise SystemExit(f"unknown layers {unknown}; known: {', '.join(x.name for x in topo.layers)}")
    work_root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="vs-scalesim-"))
    py = None if args.reference_dir else ensure_venv(Path(args.venv))

    print(f"{'layer':10} {'cfg':6} {'SCALE-Sim':>10} {'sparsesim':>10} {'ratio':>7} {'vcu1525 seq':>11} "
          f"{'ratio':>6} {'SS wall':>8} {'our wall':>9} {'speed':>8}")  # fmt: skip
    table: dict[str, dict[str, tuple[int, int, int]]] = {}
    ss_wall = our_wall = 0.0
    worst = 0.0
    for cfg_name in [c.strip() for c in args.configs.split(",") if c.strip()]:
        cfg = Path(cfg_name) if Path(cfg_name).is_absolute() else (DATA / cfg_name)
        work = work_root / cfg.stem
        work.mkdir(parents=True, exist_ok=True)
        layers = one_layer_csvs(topology, names, work)
        if py is None:
            ref = stored_reference(Path(args.reference_dir), topology, cfg, names)
        else:
            ref = run_scalesim(py, cfg, layers, topo.form, work)
        ours, _ = sparsesim_cycles(topology, cfg)
        preset = preset_sequencing_cycles(topology, cfg)
        for name in names:
            s = ref[name]
            wall = math.nan if py is None else sparsesim_layer_wall(layers[name], cfg)
            ratio = ours[name] / s["cycles"]
            worst = max(worst, abs(ratio - 1))
            table.setdefault(name, {})[cfg.stem] = (s["cycles"], ours[name], preset[name])
            if py is not None:
                ss_wall += s["wall"]
                our_wall += wall
            print(
                f"{name:10} {cfg.stem:6} {s['cycles']:10,d} {ours[name]:10,d} {ratio:7.4f} "
                f"{preset[name]:11,d} {preset[name] / s['cycles']:6.3f} "
                f"{s['wall']:7.2f}s {wall * 1e3:7.1f}ms {s['wall'] / wall:7.0f}x"
            )
    print(f"largest cycle difference: {worst * 100:.3f} %")
    if args.markdown:
        cfgs = sorted({c for row in table.values() for c in row}, key=lambda c: c != "ws32")
        head = " | ".join(f"{c} SCALE-Sim | {c} sparsesim | diff | {c} vcu1525 seq." for c in cfgs)
        print(f"\n| layer | {head} |\n|---|" + "---|" * (4 * len(cfgs)))
        for name, row in table.items():
            cells = []
            for c in cfgs:
                ss, us, pre = row[c]
                cells.append(f"{ss:,} | {us:,} | {(us - ss) / ss * 100:+.3f} % | {pre / ss:.2f}x")
            print(f"| {name} | " + " | ".join(cells) + " |")
    if py is not None:
        print(f"all layers: SCALE-Sim {ss_wall:.1f} s, sparsesim {our_wall * 1e3:.1f} ms: "
              f"{ss_wall / our_wall:.0f}x faster")  # fmt: skip
        print(f"SCALE-Sim outputs in {work_root}")


if __name__ == "__main__":
    main()
