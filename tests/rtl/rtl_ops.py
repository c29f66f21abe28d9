"""Whole GEMM ops of the shipped workloads as the simulator maps them, cut into the array tiles it times, with
real operands (M and K as in the op table, N cut), the expected results (sparsesim.sat.numerics over the
whole op) and the simulator's array cycles for the same mapping. Pure Python: used by the Verilator bench
(tb_ops.py via test_ops.py) and bench/rtl_vs_sim.py.

Tile order is the op engine's walk over the mapping's blocks (`block_steps`: the loop order's block steps;
in each, WS m-tiles then k-tiles with the n-block as the stream, OS m-tiles then n-tiles), which for every
op here is an order the simulator's cycle query times alike (WS: the n-blocks' stream lengths in its order;
OS: tiles of one k per k-block).
Partial results of the k-tiles of one output tile are added in order from +0 (the out buffer's
accumulate-on-write), which for WS is exactly `numerics.gemm`'s fold order.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.host import TileStreams, decode_results, tile_streams

from sparsesim.graph.lower import GemmOp
from sparsesim.sat import numerics, timing
from sparsesim.sat.arch import resolve
from sparsesim.sat.schedule import GemmMapping, map_gemm
from sparsesim.sat.timing import Mode
from sparsesim.sparsity.formats import NMTensor
from sparsesim.sparsity.nm import nm_mask

WORKLOAD = "workloads/tiny-cnn-nm-2of4.yaml"  # shipped, 2:4
# Test workloads of the same model with the other N:M patterns the array must run (M and K as the shipped one).
WORKLOAD_2OF8 = "tests/rtl/workloads/tiny-cnn-bdwp-2of8.yaml"  # BDWP 2:8: sparse FF and BP
WORKLOAD_1OF4 = "tests/rtl/workloads/tiny-cnn-nm-1of4.yaml"  # 1:4 FF: N < P, a gated lane per PE


@dataclass
class OpRun:
    name: str
    op: GemmOp
    mapping: GemmMapping
    tiles: list[TileStreams]
    placement: list[tuple[int, int, int, int]]  # per tile: row0, col0 of C, k-block index, m_t
    a: object
    b: np.ndarray
    workload: str = ""
    buffer_kib: int | None = None  # the architecture's buffers (arch_for), when not the preset's

    def label(self) -> str:
        return (
            f"{self.workload} {self.name} {self.mapping.mode_text} M={self.mapping.m} N={self.mapping.n} "
            f"K={self.mapping.k}"
        )


def workload_ops(path: str = WORKLOAD) -> dict[str, GemmOp]:
    from sparsesim.pipeline import prepare
    from sparsesim.spec import load_workload

    prep = prepare(load_workload(path))
    return {op.name: op for op in prep.ops.ops() if isinstance(op, GemmOp)}


def arch_for(cfg: ArrayConfig, dataflow: str, interleave: bool = True, buffer_kib: int | None = None):
    """The simulator's architecture of the RTL array; `buffer_kib`: every on-chip buffer that small (so the
    scheduler blocks an op that the preset's buffers hold whole).

    Without the preset's on-chip costs (`onchip_costs`: banked URAM buffers holding channel-last tensors,
    an im2col address generator, the out buffer's port): the RTL's block buffers hold the stream words
    pre-tiled as DRAM delivers them and hand the array a whole word a cycle from one memory port, and its
    out buffer adds a result word a cycle, so none of those costs exists in the RTL (docs/pe_array.md)."""
    arch = dataclasses.replace(
        resolve(), rows=cfg.rows, cols=cfg.cols, multipliers_per_pe=cfg.multipliers, max_m=cfg.max_m,
        precision=cfg.precision, mul_latency_cycles=cfg.mul_latency, add_latency_cycles=cfg.add_latency,
        dataflow=dataflow, interleave=interleave,
        slr_latency_cycles=0,  # the RTL array core: no SLR crossing registers (docs/fpga.md, "Floorplan")
        onchip_costs=False,
    )  # fmt: skip
    if buffer_kib is not None:
        arch = dataclasses.replace(arch, act_buffer_kib=buffer_kib, weight_buffer_kib=buffer_kib,
                                   out_buffer_kib=buffer_kib, grad_buffer_kib=buffer_kib)  # fmt: skip
    return arch


def _operands(rng, cfg: ArrayConfig, mode: Mode, m: int, k: int, n: int):
    a = (rng.standard_normal((m, k))).astype(np.float16)
    b = (rng.standard_normal((k, n))).astype(np.float16)
    if not mode.sparse:
        return a, b
    mask = nm_mask(a.astype(np.float64), int(mode.n), int(mode.m), axis=1)  # type: ignore[arg-type]
    nm = NMTensor.from_dense(a, int(mode.n), int(mode.m), axis=1, mask=mask)  # type: ignore[arg-type]
    return numerics.SparseA(nm.values, nm.indices, int(mode.m)), b  # type: ignore[arg-type]


def _slice_a(a, mode: Mode, r0: int, r1: int, k0: int, k1: int):
    if isinstance(a, numerics.SparseA):
        g0, g1 = k0 // int(mode.m), k1 // int(mode.m)  # type: ignore[arg-type]
        return numerics.SparseA(a.values[r0:r1, g0:g1], a.indices[r0:r1, g0:g1], a.m_group)
    return a[r0:r1, k0:k1]


def block_steps(mapping: GemmMapping, cfg: ArrayConfig) -> list[tuple[tuple[int, int], ...]]:
    """The op's block steps ((m0, m1), (n0, n1), (k0, k1)) in the order of the mapping's loop order (the
    scheduler's docstring: `a_resident` and `c_resident` m-blocks outside n-blocks, `b_resident` the other
    way; k-blocks innermost). WS n-blocks are the equalised stream lengths the simulator times."""
    M, N, K = mapping.m, mapping.n, mapping.k
    mb, nb, kb = mapping.block
    if mapping.dataflow == "ws":
        count = math.ceil(N / nb)
        q, r = divmod(N, count)
        widths = [q + 1] * r + [q] * (count - r)
        n_blocks = [(sum(widths[:i]), sum(widths[: i + 1])) for i in range(count)]
    else:
        n_blocks = [(c0, min(N, c0 + nb)) for c0 in range(0, N, nb)]
    m_blocks = [(r0, min(M, r0 + mb)) for r0 in range(0, M, mb)]
    k_blocks = [(k0, min(K, k0 + kb)) for k0 in range(0, K, kb)]
    if mapping.order == "b_resident":
        return [(mm, nn, kk) for nn in n_blocks for mm in m_blocks for kk in k_blocks]
    return [(mm, nn, kk) for mm in m_blocks for nn in n_blocks for kk in k_blocks]


def op_run(cfg: ArrayConfig, name: str, op: GemmOp, *, dataflow: str, n_cut: int, interleave: bool = True,
           seed: int = 0, buffer_kib: int | None = None) -> OpRun:  # fmt: skip
    """The op with N cut to `n_cut`, mapped by the simulator for `dataflow` (with `buffer_kib` buffers, see
    arch_for), as array tiles with operands."""
    op = dataclasses.replace(op, n=min(op.n, n_cut), repeat=1)
    mapping = map_gemm(op, arch_for(cfg, dataflow, interleave, buffer_kib))
    if mapping.dataflow != dataflow:
        raise ValueError(f"{name}: the simulator mapped it {mapping.mode_text}; pick another op")
    # A transposed mapping runs C^T = B^T A^T: its m, n, k are the dims as run, which the operands take.
    mode = mapping.mode
    p = cfg.timing_params()
    e = timing.elements_per_cycle(p, mode)
    M, N, K = mapping.m, mapping.n, mapping.k
    rng = np.random.default_rng(seed)
    a, b = _operands(rng, cfg, mode, M, K, N)
    tiles, place = [], []
    for (m0, m1), (c0, c1), (k0, k1) in block_steps(mapping, cfg):
        if dataflow == "ws":
            kt = cfg.rows * e
            for r0 in range(m0, m1, cfg.cols):
                r1 = min(m1, r0 + cfg.cols)
                for t0 in range(k0, k1, kt):
                    t1 = min(k1, t0 + kt)
                    tiles.append(tile_streams(cfg, mode, _slice_a(a, mode, r0, r1, t0, t1), b[t0:t1, c0:c1]))
                    place.append((r0, c0, t0 // kt, r1 - r0))
        else:
            n_cap = cfg.cols * timing.os_slots(p, mode)
            for r0 in range(m0, m1, cfg.rows):
                r1 = min(m1, r0 + cfg.rows)
                for t0 in range(c0, c1, n_cap):
                    t1 = min(c1, t0 + n_cap)
                    tiles.append(tile_streams(cfg, mode, _slice_a(a, mode, r0, r1, k0, k1), b[k0:k1, t0:t1]))
                    place.append((r0, t0, k0 // mapping.block[2], r1 - r0))
    return OpRun(name, op, mapping, tiles, place, a, b, buffer_kib=buffer_kib)


def op_runs(cfg: ArrayConfig, ops_list, root, *, n_scale: int = 1) -> list[OpRun]:
    """OpRuns of (workload, op, dataflow, interleave, N cut[, buffer KiB]) entries, N cut scaled by
    `n_scale`; each workload (a path relative to the repository `root`) is prepared once."""
    tables: dict[str, dict[str, GemmOp]] = {}
    runs = []
    for workload, name, df, il, n, *kib in ops_list:
        if workload not in tables:
            tables[workload] = workload_ops(str(root / workload))
        run = op_run(cfg, name, tables[workload][name], dataflow=df, n_cut=n * n_scale, interleave=il,
                     buffer_kib=kib[0] if kib else None)  # fmt: skip
        runs.append(dataclasses.replace(run, workload=workload.rsplit("/", 1)[-1].removesuffix(".yaml")))
    return runs


def expected(run: OpRun, cfg: ArrayConfig) -> np.ndarray:
    """numerics for the whole op: WS `gemm` (folds in order); OS per k-block `gemm`, blocks added from +0."""
    mp = run.mapping
    if mp.dataflow == "ws":
        out = numerics.gemm(run.a, run.b, dataflow="ws", multipliers=cfg.multipliers, rows=cfg.rows,
                            accumulator=cfg.accumulator)
        return numerics.fp32_bits(out)
    kb = mp.block[2]
    parts = [
        numerics.gemm(_slice_a(run.a, mp.mode, 0, mp.m, k0, min(mp.k, k0 + kb)), run.b[k0 : k0 + kb],
                      dataflow="os", multipliers=cfg.multipliers, rows=cfg.rows, accumulator=cfg.accumulator)
        for k0 in range(0, mp.k, kb)
    ]  # fmt: skip
    out = parts[0] if len(parts) == 1 else numerics.accumulate(np.stack(parts), precision="fp16")
    return numerics.fp32_bits(numerics.canonicalize_nan(out))


def assemble(run: OpRun, cfg: ArrayConfig, tile_beats: list[list[int]]) -> np.ndarray:
    """The RTL's tile results, k-tile partials added in order from +0 (FP32, as the out buffer would)."""
    mp = run.mapping
    blocks: dict[tuple[int, int], list[np.ndarray]] = {}
    for tile, (r0, c0, _, _), beats in zip(run.tiles, run.placement, tile_beats):
        blocks.setdefault((r0, c0), []).append(decode_results(cfg, tile, beats).view(np.float32))
    out = np.zeros((mp.m, mp.n), dtype=np.float32)
    for (r0, c0), parts in blocks.items():
        fold = mp.dataflow == "ws" or len(parts) > 1
        acc = numerics.accumulate(np.stack(parts), precision="fp16") if fold else parts[0]
        out[r0 : r0 + acc.shape[0], c0 : c0 + acc.shape[1]] = acc
    return numerics.fp32_bits(numerics.canonicalize_nan(out))


def final_tiles(run: OpRun) -> list[int]:
    """Indices of the tiles that end their outputs' sums (the last k-tile, WS, or k-block, OS): the op
    engine accumulates the parts on chip and writes only these tiles' results, in walk order."""
    last = max(ki for _, _, ki, _ in run.placement)
    return [i for i, (_, _, ki, _) in enumerate(run.placement) if ki == last]


def place_final(run: OpRun, cfg: ArrayConfig, tile_beats: list[list[int]]) -> np.ndarray:
    """The op engine's final sums (`tile_beats`: the words of `final_tiles`, in order) as the output
    matrix's FP32 bits, nothing added on the host."""
    mp = run.mapping
    out = np.zeros((mp.m, mp.n), dtype=np.float32)
    for i, beats in zip(final_tiles(run), tile_beats):
        r0, c0, _, _ = run.placement[i]
        part = decode_results(cfg, run.tiles[i], beats).view(np.float32)
        out[r0 : r0 + part.shape[0], c0 : c0 + part.shape[1]] = part
    return numerics.fp32_bits(numerics.canonicalize_nan(out))


# The ops the CI bench runs on the 4x4 array: (workload, op, dataflow, interleave, N cut). From the shipped
# 2:4 workload: 3x3 conv FF (2:4), BP (dense, col2im) and WU; a 1x1 conv FF (2:4); the linear layer FF; WS,
# OS with and without interleave. From the test workloads: 2:8 FF (WS) and BP (OS) GEMMs, 1:4 FF GEMMs (WS, OS
# without interleave).
QUICK_OPS = [
    (WORKLOAD, "conv2:FF", "ws", True, 12),
    (WORKLOAD, "conv2:FF", "os", True, 16),
    (WORKLOAD, "conv2:BP", "ws", True, 8),
    (WORKLOAD, "conv2:BP", "os", False, 8),
    (WORKLOAD, "conv2:WU", "os", True, 16),
    (WORKLOAD, "conv3:FF", "ws", True, 24),
    (WORKLOAD, "conv3:FF", "os", False, 8),
    (WORKLOAD, "fc:FF", "ws", True, 32),
    (WORKLOAD, "fc:FF", "os", True, 32),
    (WORKLOAD_2OF8, "conv2:FF", "ws", True, 8),
    (WORKLOAD_2OF8, "conv2:BP", "os", True, 8),
    (WORKLOAD_1OF4, "conv3:FF", "ws", True, 8),
    (WORKLOAD_1OF4, "conv2:FF", "os", False, 8),
]

# The ops the CI bench runs on the 16x16 array (a few, N cut short: its Verilator build dominates): a 2:4 3x3
# conv FF in WS, a dense BP in OS without interleave, a 2:8 FF in WS.
SIXTEEN_OPS = [
    (WORKLOAD, "conv2:FF", "ws", True, 8),
    (WORKLOAD, "conv2:BP", "os", False, 8),
    (WORKLOAD_2OF8, "conv3:FF", "ws", True, 8),
]


def run_ops(cfg: ArrayConfig, runs: list[OpRun], sim: str = "verilator") -> list[dict]:
    """Run the ops' tile streams on the exported array (cocotb, tb_ops.py) and compare each with numerics
    (bits, whole op) and with the simulator's array cycles for the same mapping. One row per op."""
    import json
    from pathlib import Path

    from rtl_plan import split_tiles
    from rtl_runner import run_cocotb
    from sparsesim.rtl.export import array_verilog
    from sparsesim.rtl.toolchain import build_root

    verilog = array_verilog(cfg, build_root() / "verilog" / cfg.name())
    streams = build_root() / "ops" / f"{cfg.name()}.json"
    streams.parent.mkdir(parents=True, exist_ok=True)
    payload = [
        {"name": r.label(), "cmd": [t.cmd for t in r.tiles], "weights": [w for t in r.tiles for w in t.weights],
         "acts": [x for t in r.tiles for x in t.acts], "result_beats": sum(t.result_beats for t in r.tiles)}
        for r in runs
    ]  # fmt: skip
    streams.write_text(json.dumps(payload))
    data = run_cocotb(sim, Path(verilog), "sparse_array", "tb_ops", cfg.name(),
                      {"config": cfg.to_dict(), "streams": str(streams)})  # fmt: skip
    got = data.get("ops", {})
    rows = []
    for r in runs:
        out = got.get(r.label())
        row = {"op": r.name, "workload": r.workload, "array": f"{cfg.rows}x{cfg.cols}", "mapping": r.mapping.mode_text,
               "m": r.mapping.m, "n": r.mapping.n, "k": r.mapping.k, "tiles": len(r.tiles),
               "block": list(r.mapping.block), "order": r.mapping.order}  # fmt: skip
        if out is None:
            rows.append(row | {"error": f"no result from the bench (log: {data['_run']['log']})"})
            continue
        ev = out["events"]
        first = ev["load"][0] if r.mapping.dataflow == "ws" else ev["start"][0]
        rtl_cycles = ev["done"][-1] - first + 1
        sim_cycles = r.mapping.array_cycles
        bad = -1
        try:
            bits = assemble(r, cfg, split_tiles(out["words"], cfg))
            bad = int(np.count_nonzero(bits != expected(r, cfg)))
        except ValueError as err:
            row["error"] = str(err)
        rows.append(row | {
            "rtl_array_cycles": rtl_cycles, "sim_array_cycles": sim_cycles,
            "rtl_cycles": rtl_cycles, "sim_cycles": sim_cycles,
            "rel_diff": (rtl_cycles - sim_cycles) / sim_cycles, "dram_modelled": False,
            "results_differing_from_numerics": bad, "cycles_per_s": out["cycles"] / max(out["wall_s"], 1e-9),
        })  # fmt: skip
    return rows
