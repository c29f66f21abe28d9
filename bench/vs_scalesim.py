"""sparsesim against SCALE-Sim 3.0.0 on the same dense conv layers, array size and dataflow.

    .venv/bin/python bench/vs_scalesim.py [--layers Conv3_s,Conv4_s,Conv5_s,FC,Conv4_2a] [--dataflows ws,os]
                                          [--venv /tmp/scalesim-venv] [--workdir DIR]

Not part of CI: it creates SCALE-Sim's own venv (pip install scalesim==3.0.0 "numpy<2.4", as
../shared/peers/scalesim/SOURCE.md describes) and SCALE-Sim simulates cycle by cycle with traces (~1-6 k
cycles per second), so keep the layer list short (the default runs in about four minutes).

Per layer and dataflow it prints SCALE-Sim's compute cycles ("Total Cycles", no DRAM stalls), sparsesim's
array cycles from the timing contract for the same fold sequence, with unit latencies (SCALE-Sim's
idealisation) and with our FP16 pipelines (L_mul = 2, L_add = 4), the cycle ratio, and the wall-time ratio of
SCALE-Sim's layer run (in-process, imports excluded, one run: seconds long) to sparsesim's full simulator
(schedule + SimPy engines, DRAM included; best of 5 runs: milliseconds long) on the same layer.
docs/sat_model.md explains every systematic difference.

Mapping, as SCALE-Sim does it (32 x 32, one MAC per PE, no padding: Ho = ceil((H - kh)/s) + 1):
WS: rows <- kh*kw*Cin (reduction), cols <- Cout, stream T = Ho*Wo:
    our GEMM m = Cout, k = kh*kw*Cin, n = Ho*Wo.
OS: rows <- Ho*Wo, cols <- Cout, stream T = kh*kw*Cin:
    our GEMM m = Ho*Wo, n = Cout, k = kh*kw*Cin.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "peers" / "scalesim"
ARRAY = 32
REPEATS = 5

# Runs inside SCALE-Sim's venv: one scalesim object per layer, timed around run_scale only.
DRIVER = r"""
import json, sys, time
from pathlib import Path
from scalesim.scale_sim import scalesim
cfg, layout, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
out = {}
for topo in sorted(work.glob("layer_*.csv")):
    s = scalesim(save_disk_space=False, verbose=False, config=cfg, topology=str(topo), layout=layout,
                 input_type_gemm=False)
    top = work / ("out_" + topo.stem)
    t = time.perf_counter()
    s.run_scale(top_path=str(top))
    wall = time.perf_counter() - t
    report = next(top.rglob("COMPUTE_REPORT.csv"))
    rows = [r for r in report.read_text().splitlines()[1:] if r.strip()]
    total = int(rows[0].split(",")[2])
    out[topo.stem[len("layer_"):]] = {"cycles": total, "wall": wall}
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Layer:
    name: str
    h: int
    w: int
    kh: int
    kw: int
    cin: int
    cout: int
    stride: int

    @property
    def ho(self) -> int:
        return math.ceil((self.h - self.kh) / self.stride) + 1

    @property
    def wo(self) -> int:
        return math.ceil((self.w - self.kw) / self.stride) + 1

    def csv_row(self) -> str:
        return f"{self.name},{self.h},{self.w},{self.kh},{self.kw},{self.cin},{self.cout},{self.stride},"


def read_topology(path: Path) -> dict[str, Layer]:
    layers = {}
    with path.open() as fh:
        for row in list(csv.reader(fh))[1:]:
            if len(row) < 8 or not row[0].strip():
                continue
            vals = [int(v) for v in row[1:8]]
            layers[row[0].strip()] = Layer(row[0].strip(), *vals)
    return layers


def ensure_venv(venv: Path) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating SCALE-Sim venv in {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "scalesim==3.0.0", "numpy<2.4"], check=True)
    return py


def run_scalesim(py: Path, layers: list[Layer], dataflow: str, work: Path) -> dict[str, dict]:
    work.mkdir(parents=True, exist_ok=True)
    header = (PEERS / "resnet18.csv").read_text().splitlines()[0]
    for layer in layers:
        (work / f"layer_{layer.name}.csv").write_text(header + "\n" + layer.csv_row() + "\n")
    driver = work / "driver.py"
    driver.write_text(DRIVER)
    cfg = PEERS / f"{dataflow}32.cfg"
    res = subprocess.run(
        [str(py), str(driver), str(cfg), str(PEERS / "layout_test.csv"), str(work)],
        capture_output=True,
        text=True,
        cwd=work,
    )
    if res.returncode:
        raise SystemExit(f"SCALE-Sim failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def gemm_dims(layer: Layer, dataflow: str) -> tuple[int, int, int]:
    """(m, n, k) of our GEMM with SCALE-Sim's assignment of dimensions to rows, columns and stream."""
    k = layer.kh * layer.kw * layer.cin
    pixels = layer.ho * layer.wo
    return (layer.cout, pixels, k) if dataflow == "ws" else (pixels, layer.cout, k)


def array_cycles(layer: Layer, dataflow: str, mul: int, add: int) -> int:
    """The timing contract's cycles for SCALE-Sim's fold sequence (a fold = an array tile, back to back)."""
    from sparsesim.sat import timing
    from sparsesim.sat.timing import ArrayParams, Mode

    p = ArrayParams(rows=ARRAY, cols=ARRAY, multipliers=1, max_m=1, mul_latency=mul, add_latency=add)
    m, n, k = gemm_dims(layer, dataflow)
    mode = Mode(dataflow)
    if dataflow == "ws":
        folds = math.ceil(k / ARRAY) * math.ceil(m / ARRAY)
        return timing.ws_runs_cycles(p, [(n, folds)])
    folds = math.ceil(m / ARRAY) * math.ceil(n / (ARRAY * mode.slots(p)))
    return folds * timing.os_tile_cycles(p, mode, k)


def full_simulation(layer: Layer, dataflow: str) -> tuple[int, float]:
    """Cycles and wall seconds of sparsesim's whole simulator (scheduler + engines) on the layer alone."""
    from sparsesim.graph.lower import GemmOp, OpGraph
    from sparsesim.sat.arch import resolve
    from sparsesim.sat.schedule import _compute_cached
    from sparsesim.sat.simulate import simulate_ops
    from sparsesim.spec import AcceleratorSpec

    m, n, k = gemm_dims(layer, "ws")
    og = OpGraph(batch=1, mode="infer")
    og.add_op(
        GemmOp(
            f"{layer.name}:FF",
            layer.name,
            "FF",
            "fwd",
            m=m,
            n=n,
            k=k,
            repeat=1,
            a_kind="weight",
            b_kind="act",
            c_kind="act",
        )
    )
    arch = resolve(
        AcceleratorSpec(
            rows=ARRAY,
            cols=ARRAY,
            multipliers_per_pe=1,
            max_m=2,
            dataflow=dataflow,
            mul_latency_cycles=1,
            add_latency_cycles=1,
        )
    )
    # Best of REPEATS (as timeit does): a millisecond-scale wall time is otherwise dominated by whatever else
    # the machine is doing; each repeat starts from a cold timing-contract cache.
    best = math.inf
    for _ in range(REPEATS):
        _compute_cached.cache_clear()
        t = time.perf_counter()
        res = simulate_ops(og, arch)
        best = min(best, time.perf_counter() - t)
    return res.total_cycles, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--layers", default="Conv3_s,Conv4_s,Conv5_s,FC,Conv4_2a", help="layer names of resnet18.csv"
    )
    ap.add_argument("--dataflows", default="ws,os")
    ap.add_argument("--topology", default=str(PEERS / "resnet18.csv"))
    ap.add_argument("--venv", default="/tmp/scalesim-venv")
    ap.add_argument("--workdir", default=None, help="keep SCALE-Sim's outputs here (default: a temp folder)")
    args = ap.parse_args()

    topo = read_topology(Path(args.topology))
    names = [n.strip() for n in args.layers.split(",") if n.strip()]
    unknown = [n for n in names if n not in topo]
    if unknown:
        raise SystemExit(f"unknown layers {unknown}; known: {', '.join(topo)}")
    layers = [topo[n] for n in names]
    py = ensure_venv(Path(args.venv))
    work_root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="vs-scalesim-"))

    print(
        f"{'layer':9} {'df':3} {'m x n x k (ours)':>20} {'SCALE-Sim':>10} {'ours L=1':>9} {'ratio':>6} "
        f"{'ours fp16':>10} {'ratio':>6} {'full sim':>9} {'SS wall':>8} {'our wall':>9} {'speed':>8}"
    )
    ss_total = ours_total = 0.0
    for df in [d.strip() for d in args.dataflows.split(",")]:
        ss = run_scalesim(py, layers, df, work_root / df)
        for layer in layers:
            m, n, k = gemm_dims(layer, df)
            ours1 = array_cycles(layer, df, 1, 1)
            ours_fp16 = array_cycles(layer, df, 2, 4)
            full_cycles, wall = full_simulation(layer, df)
            s = ss[layer.name]
            ss_total += s["wall"]
            ours_total += wall
            print(
                f"{layer.name:9} {df:3} {f'{m}x{n}x{k}':>20} {s['cycles']:10,d} {ours1:9,d} "
                f"{ours1 / s['cycles']:6.3f} {ours_fp16:10,d} {ours_fp16 / s['cycles']:6.3f} "
                f"{full_cycles:9,d} {s['wall']:7.2f}s {wall * 1e3:7.2f}ms {s['wall'] / wall:7.0f}x"
            )
    print(
        f"all layers: SCALE-Sim {ss_total:.1f} s, sparsesim {ours_total * 1e3:.1f} ms: "
        f"{ss_total / ours_total:.0f}x faster"
    )
    print(
        "ratio = ours / SCALE-Sim cycles; speed = SCALE-Sim wall (one run) / sparsesim full-simulator wall "
        f"(best of {REPEATS})"
    )
    print(f"SCALE-Sim outputs in {work_root}")


if __name__ == "__main__":
    main()
