"""Test plans, reference model and scoreboard of the PE-array benches (pure Python: used by the cocotb bench
tb_array.py and by the Amaranth-simulator test alike).

A plan is a list of sequences; a sequence is tiles of one mode streamed back to back, and consecutive
sequences differ in mode (so the array drains between them). The reference model is sparsesim.sat.numerics
(bit for bit), torch (float64 matmul of the masked operands, within numerics.fp_error_bound; exact for INT8)
and sparsesim.sat.timing (every tile's load/start/end cycle, and the cycle 0 of a sequence after a switch).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.host import TileStreams, decode_results, expected_bits, tile_streams

from sparsesim.sat import numerics, timing
from sparsesim.sat.timing import Mode, TileShape
from sparsesim.sparsity.formats import NMTensor
from sparsesim.sparsity.nm import nm_mask

NM_MODES = [(2, 4), (1, 4), (2, 8), (1, 8), (4, 8), (1, 2), (4, 4), (2, 2)]


@dataclass
class Sequence:
    mode: Mode
    tiles: list[TileStreams]
    kind: str = "random"


@dataclass
class Plan:
    cfg: ArrayConfig
    sequences: list[Sequence]

    def tiles(self) -> list[TileStreams]:
        return [t for s in self.sequences for t in s.tiles]

    def streams(self) -> tuple[list[int], list[int], list[int]]:
        tiles = self.tiles()
        return ([t.cmd for t in tiles], [w for t in tiles for w in t.weights], [a for t in tiles for a in t.acts])


# ------------------------------------------------------------------------------------------------ operands
def _fp16(rng, shape, kind: str) -> np.ndarray:
    x = (rng.standard_normal(shape) * rng.choice([0.25, 1.0, 8.0], shape)).astype(np.float16)
    if kind == "finite_special":
        specials = np.array([0.0, -0.0, 2.0**-24, -(2.0**-24), 2.0**-20, 6.1e-5, -65504.0, 65504.0, 1024.0],
                            dtype=np.float16)
        pick = rng.random(shape) < 0.3
        x[pick] = rng.choice(specials, int(pick.sum()))
    elif kind == "nonfinite":
        specials = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 65504.0, 2.0**-24], dtype=np.float16)
        pick = rng.random(shape) < 0.08
        x[pick] = rng.choice(specials, int(pick.sum()))
    return x


def _int8(rng, shape, kind: str) -> np.ndarray:
    x = rng.integers(-128, 128, shape)
    if kind != "random":
        pick = rng.random(shape) < 0.3
        x[pick] = rng.choice([-128, 127, 0, -1], int(pick.sum()))
    return x.astype(np.int8)


def random_operands(rng, cfg: ArrayConfig, mode: Mode, shape: TileShape, kind: str = "random"):
    """(A operand as numerics takes it, B): sparse A via the project's N:M pruning and compression."""
    gen = _fp16 if cfg.fp else _int8
    a_dense = gen(rng, (shape.m, shape.k), kind)
    b = gen(rng, (shape.k, shape.n), kind)
    if not mode.sparse:
        return a_dense, b
    if kind == "nonfinite":  # nm_mask rejects non-finite weights: pick random positions instead
        groups = shape.k // int(mode.m)  # type: ignore[arg-type]
        idx = np.sort(rng.random((shape.m, groups, int(mode.m))).argsort(axis=-1)[..., : mode.n], axis=-1)  # type: ignore[misc]
        vals = np.take_along_axis(a_dense.reshape(shape.m, groups, int(mode.m)), idx, axis=-1)  # type: ignore[arg-type]
        return numerics.SparseA(vals, idx.astype(np.uint8), int(mode.m)), b  # type: ignore[arg-type]
    mask = nm_mask(a_dense.astype(np.float64), int(mode.n), int(mode.m), axis=1)  # type: ignore[arg-type]
    nm = NMTensor.from_dense(a_dense, int(mode.n), int(mode.m), axis=1, mask=mask)  # type: ignore[arg-type]
    return numerics.SparseA(nm.values, nm.indices, int(mode.m)), b  # type: ignore[arg-type]


def dense_a(a) -> np.ndarray:
    return a.to_dense() if isinstance(a, numerics.SparseA) else np.asarray(a)


# ------------------------------------------------------------------------------------------------ plans
def supported_modes(cfg: ArrayConfig, nm_list=None) -> list[tuple[int, int] | None]:
    out: list[tuple[int, int] | None] = [None]
    for n, m in nm_list or NM_MODES:
        if n <= cfg.multipliers and m <= cfg.max_m:
            out.append((n, m))
    return out


def random_shape(rng, p, mode: Mode, *, n_max: int | None = None, k_steps_max: int = 6) -> TileShape:
    cap = timing.capacity(p, mode)
    e = timing.elements_per_cycle(p, mode)
    m = int(rng.integers(1, cap.m + 1))
    if mode.dataflow == "ws":
        k = int(mode.m) * int(rng.integers(1, cap.k // int(mode.m) + 1)) if mode.sparse else int(rng.integers(1, cap.k + 1))  # type: ignore[operator]
        n = int(rng.integers(1, (n_max or 3 * p.rows + 8) + 1))
    else:
        steps = int(rng.integers(1, k_steps_max + 1))
        k = int(mode.m) * steps if mode.sparse else int(rng.integers(max(1, (steps - 1) * e + 1), steps * e + 1))  # type: ignore[arg-type]
        n = int(rng.integers(1, cap.n + 1))  # type: ignore[operator]
    return TileShape(m, n, k)


def random_sequence(rng, cfg, mode: Mode, count: int, kind: str = "random", **shape_kw) -> Sequence:
    p = cfg.timing_params()
    tiles = []
    for _ in range(count):
        shape = random_shape(rng, p, mode, **shape_kw)
        a, b = random_operands(rng, cfg, mode, shape, "random" if kind in ("short", "long") else kind)
        tiles.append(tile_streams(cfg, mode, a, b))
    return Sequence(mode, tiles, kind)


def array_plan(cfg: ArrayConfig, *, seed: int = 1, size: str = "ci", nm_list=None) -> Plan:
    """Sequences covering every supported mode in both dataflows (OS with and without interleave), the WS
    load/bank constraints (many short tiles), long streams, k tails and the FP special values."""
    rng = np.random.default_rng(seed)
    per = {"small": 2, "ci": 5, "full": 4}[size]
    seqs: list[Sequence] = []
    modes = supported_modes(cfg, nm_list)
    for nm in modes:
        n, m = nm if nm else (None, None)
        seqs.append(random_sequence(rng, cfg, Mode("ws", n, m), per))
        seqs.append(random_sequence(rng, cfg, Mode("os", n, m), per))
        if size != "small" or nm is None:
            seqs.append(random_sequence(rng, cfg, Mode("os", n, m, interleave=False), max(1, per // 2), k_steps_max=4))
    # WS schedules where the load bus and the bank-free delay bind: many tiles of 1..3 activation vectors.
    sparse_nm = modes[-1] if len(modes) > 1 else None
    for nm in (None, sparse_nm):
        n, m = nm if nm else (None, None)
        seqs.append(random_sequence(rng, cfg, Mode("ws", n, m), 3 * per, "short", n_max=3))
        if size != "small":
            seqs.append(random_sequence(rng, cfg, Mode("os", n, m), per, k_steps_max=12))  # long reductions
            seqs.append(random_sequence(rng, cfg, Mode("ws", n, m), 2, "long", n_max=6 * cfg.rows + 30))
    # Number edge cases: FP zeros of both signs, subnormals, extremes (finite: torch applies), inf/NaN.
    kinds = ["finite_special", "nonfinite"] if cfg.fp else ["finite_special"]
    for kind in kinds:
        for nm in (None, modes[1] if len(modes) > 1 else None):
            n, m = nm if nm else (None, None)
            seqs.append(random_sequence(rng, cfg, Mode("ws", n, m), per, kind))
            seqs.append(random_sequence(rng, cfg, Mode("os", n, m), per, kind))
    # No two consecutive sequences in the same mode (each must start on a drained array).
    ordered: list[Sequence] = []
    pending = seqs
    while pending:
        for i, s in enumerate(pending):
            if not ordered or ordered[-1].mode != s.mode:
                ordered.append(pending.pop(i))
                break
        else:
            ordered[-1].tiles.extend(pending.pop(0).tiles)
    return Plan(cfg, ordered)


def stall_plan(cfg: ArrayConfig, *, seed: int = 2) -> Plan:
    """A few sequences to run with random stream gaps and result back-pressure (values only)."""
    rng = np.random.default_rng(seed)
    modes = supported_modes(cfg)
    nm = modes[-1] if len(modes) > 1 else (None, None)
    seqs = [
        random_sequence(rng, cfg, Mode("ws"), 4),
        random_sequence(rng, cfg, Mode("os", *nm), 3),  # type: ignore[misc]
        random_sequence(rng, cfg, Mode("ws", *nm), 4),  # type: ignore[misc]
        random_sequence(rng, cfg, Mode("os", interleave=False), 2, k_steps_max=3),
    ]
    return Plan(cfg, seqs)


# ------------------------------------------------------------------------------------------------ scoreboard
@dataclass
class Scoreboard:
    cfg: ArrayConfig
    mismatches: list[str] = field(default_factory=list)
    tiles_checked: int = 0
    values_checked: int = 0
    torch_checked: int = 0
    timing_checked: int = 0

    def check_values(self, plan: Plan, result_beats: list[list[int]]) -> None:
        """result_beats: per tile, the result payload words (split at the `last` flags)."""
        tiles = plan.tiles()
        if len(result_beats) != len(tiles):
            self.mismatches.append(f"{len(result_beats)} tiles of results for {len(tiles)} tiles")
        for i, (tile, beats) in enumerate(zip(tiles, result_beats)):
            where = f"tile {i} {tile.mode} {tile.shape}"
            try:
                got = decode_results(self.cfg, tile, beats)
            except ValueError as err:
                self.mismatches.append(f"{where}: {err}")
                continue
            want = expected_bits(self.cfg, tile)
            self.tiles_checked += 1
            self.values_checked += got.size
            bad = np.argwhere(got != want)
            if bad.size:
                r, c = bad[0]
                self.mismatches.append(
                    f"{where}: {len(bad)} results differ from numerics, first C[{r},{c}] "
                    f"rtl {got[r, c]:#010x} numerics {want[r, c]:#010x}"
                )
            self._check_torch(where, tile, got)

    def _check_torch(self, where: str, tile: TileStreams, got_bits: np.ndarray) -> None:
        a = dense_a(tile.a)
        if self.cfg.fp:
            a64, b64 = a.astype(np.float64), tile.b.astype(np.float64)
            if not (np.isfinite(a64).all() and np.isfinite(b64).all()):
                return  # non-finite operands: numerics (the contract) is the reference, checked above
            ref = (torch.from_numpy(a64) @ torch.from_numpy(b64)).numpy()
            got = got_bits.view(np.float32).astype(np.float64)
            bound = numerics.fp_error_bound(a, tile.b, multipliers=self.cfg.multipliers,
                                            elements_per_step=timing.elements_per_cycle(self.cfg.timing_params(), tile.mode))
            err = np.abs(got - ref)
            if not np.all(err <= bound):
                r, c = np.argwhere(~(err <= bound))[0]
                self.mismatches.append(f"{where}: C[{r},{c}] = {got[r, c]!r}, torch {ref[r, c]!r}, bound {bound[r, c]:.3g}")
        else:
            ref = (torch.from_numpy(a.astype(np.int64)) @ torch.from_numpy(tile.b.astype(np.int64))).numpy()
            got = got_bits.view(np.int32).astype(np.int64)
            if not np.array_equal(got, ref):
                self.mismatches.append(f"{where}: INT8 results differ from torch")
        self.torch_checked += got_bits.size

    def check_timing(self, plan: Plan, loads: list[int], starts: list[int], dones: list[int], *, model=timing) -> None:
        """Absolute event cycles (in tile order; loads for WS tiles only) against `model` (the timing module, or
        a mutated copy of it: bench/mutate_timing.py): every tile's (load, start, end) against
        `model.sequence`, each sequence's total against the simulator's queries (`model.ws_runs_cycles`,
        `model.os_runs_cycles`) and every mode switch against `model.switch_delay`."""
        p = model.ArrayParams(**dataclasses.asdict(self.cfg.timing_params()))
        li = si = 0
        prev_end: int | None = None
        for s, seq_in in enumerate(plan.sequences):
            # the model's own types (a mutated copy has its own Mode class with its own methods)
            seq = Sequence(model.Mode(**dataclasses.asdict(seq_in.mode)), seq_in.tiles, seq_in.kind)
            shapes = [model.TileShape(**dataclasses.asdict(t.shape)) for t in seq.tiles]
            pred = model.sequence(p, seq.mode, shapes)
            meas = []
            for _ in seq.tiles:
                load = None
                if seq.mode.dataflow == "ws":
                    load = loads[li] if li < len(loads) else -1
                    li += 1
                start = starts[si] if si < len(starts) else -1
                done = dones[si] if si < len(dones) else -1
                si += 1
                meas.append((load, start, done))
            base = meas[0][0] if seq.mode.dataflow == "ws" else meas[0][1]
            rel = [(None if ld is None else ld - base, st - base, dn - base) for ld, st, dn in meas]
            # a tile's last result leaves the PEs at `end`, and the array's result port the SLR crossings'
            # registers later (`slr_latency_cycles`, out to the farthest column and back; 0 in one SLR)
            slr = getattr(p, "slr_latency_cycles", 0)
            want = [(t.load, t.start, t.end + slr) for t in pred]
            self.timing_checked += len(seq.tiles)
            if rel != want:
                bad = next(i for i in range(len(rel)) if rel[i] != want[i])
                self.mismatches.append(
                    f"sequence {s} {seq.mode} ({seq.kind}): tile {bad} measured (load, start, end) {rel[bad]}, "
                    f"timing says {want[bad]}"
                )
            if seq.mode.dataflow == "ws":
                runs = [(n, len(list(g))) for n, g in itertools.groupby(t.n for t in shapes)]
                sim_total = model.ws_runs_cycles(p, runs)
            else:
                sim_total = model.os_runs_cycles(p, seq.mode, [(t.k, 1) for t in shapes])
            if meas[-1][2] - base + 1 != sim_total:
                self.mismatches.append(
                    f"sequence {s} {seq.mode} ({seq.kind}): measured {meas[-1][2] - base + 1} cycles, the "
                    f"simulator's query says {sim_total}"
                )
            if prev_end is not None and base - prev_end != model.switch_delay(seq.mode):
                self.mismatches.append(
                    f"sequence {s} {seq.mode}: cycle 0 is {base - prev_end} cycles after the previous end, "
                    f"timing.switch_delay says {model.switch_delay(seq.mode)}"
                )
            prev_end = meas[-1][2]
        if li != len(loads) or si != len(starts) or si != len(dones):
            self.mismatches.append(f"event counts: {len(loads)} loads, {len(starts)} starts, {len(dones)} ends")

    def report(self) -> dict:
        return {
            "tiles_checked": self.tiles_checked,
            "values_checked": self.values_checked,
            "torch_checked": self.torch_checked,
            "timing_checked": self.timing_checked,
            "mismatches": self.mismatches,
        }


def split_tiles(words: list[int], cfg: ArrayConfig) -> list[list[int]]:
    """Result payload words -> per tile, at the `last` flags."""
    out, cur = [], []
    for w in words:
        cur.append(w)
        if cfg.unpack_result(w)[1]:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


# ------------------------------------------------------------------------------------------------ bench I/O
def bench_spec() -> dict:
    """The bench's parameters: the JSON file the pytest runner (rtl_runner.run_cocotb) names in the environment."""
    with open(os.environ["SPARSESIM_RTL_BENCH"]) as f:
        return json.load(f)


def bench_config() -> tuple[ArrayConfig, dict]:
    spec = bench_spec()
    return ArrayConfig(**spec["config"]), spec


def write_report(spec: dict, name: str, payload: dict) -> None:
    path = spec.get("report")
    if not path:
        return
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {}
    data[name] = payload
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
