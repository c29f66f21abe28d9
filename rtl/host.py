"""The host side of the array's RTL interface: a GEMM tile as the words the streams carry, and the result
beats back as a matrix (docs/pe_array.md, RTL interface). Pure Python + numpy; used by the benches and by
anything that drives the exported Verilog.

Operands are given as `sparsesim.sat.numerics` takes them: dense A `[m, k]` or `SparseA` (values/indices
`[m, G, N]`), B `[k, n]`; FP16 (float16 arrays) or INT8 (int8 arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sparsesim.sat import numerics
from sparsesim.sat.array_types import Mode, TileShape  # plain data types, no formulas

from .config import ArrayConfig


@dataclass
class TileStreams:
    """Everything the streams carry for one tile, and how to read its results."""

    mode: Mode
    shape: TileShape
    cmd: int
    weights: list[int]
    acts: list[int]
    result_beats: int
    a: np.ndarray | numerics.SparseA = field(repr=False)
    b: np.ndarray = field(repr=False)


def _bits(x: np.ndarray, precision: str) -> np.ndarray:
    if precision == "fp16":
        return np.asarray(x, dtype=np.float16).view(np.uint16).astype(np.int64)
    return np.asarray(x, dtype=np.int8).view(np.uint8).astype(np.int64)


def _lanes(cfg: ArrayConfig, mode: Mode, a, e: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A as per-(row, step, lane) bit patterns and indices: [m, S, P] each; S steps of E elements."""
    p = cfg.multipliers
    if isinstance(a, numerics.SparseA):
        rows, steps, n = a.values.shape
        vals = np.zeros((rows, steps, p), dtype=np.int64)
        idx = np.zeros((rows, steps, p), dtype=np.int64)
        vals[..., :n] = _bits(a.values, cfg.precision)
        idx[..., :n] = a.indices
        return vals, idx, steps
    rows, k = a.shape
    steps = -(-k // e)
    pad = np.zeros((rows, steps * p), dtype=np.int64)
    pad[:, :k] = _bits(a, cfg.precision)
    vals = pad.reshape(rows, steps, p)
    idx = np.broadcast_to(np.arange(p), vals.shape).copy()
    return vals, idx, steps


def _groups(cfg: ArrayConfig, b: np.ndarray, e: int, steps: int) -> np.ndarray:
    """B as activation groups: [steps, n, E] bit patterns (zero beyond k)."""
    k, n = b.shape
    pad = np.zeros((steps * e, n), dtype=np.int64)
    pad[:k] = _bits(b, cfg.precision)
    return pad.reshape(steps, e, n).transpose(0, 2, 1)


def step_elements(cfg: ArrayConfig, mode: Mode) -> int:
    """Reduction elements one stream step carries per PE: an N:M step is one M-group of activations (the N
    weight lanes pick within it by index), a dense step one activation per multiplier lane."""
    return int(mode.m) if mode.sparse else cfg.multipliers  # type: ignore[arg-type]


def os_slots(cfg: ArrayConfig, mode: Mode) -> int:
    """OS accumulator registers a tile uses per PE: all of the PE's `cfg.slots` with the interleave mapping
    (consecutive beats go to different registers), one without."""
    return cfg.slots if mode.interleave else 1


def _check_fits(cfg: ArrayConfig, mode: Mode, shape: TileShape) -> None:
    """The tile must fit what one tile's stream words can carry: WS m <= C PE columns and at most R steps
    (one per array row); OS m <= R PE rows and n <= C * I accumulators; N:M k a multiple of M."""
    mode.check(cfg.timing_params())
    e = step_elements(cfg, mode)
    if shape.m < 1 or shape.n < 1 or shape.k < 1:
        raise ValueError(f"empty tile {shape}")
    if mode.dataflow == "ws":
        fits = shape.m <= cfg.cols and -(-shape.k // e) <= cfg.rows
    else:
        fits = shape.m <= cfg.rows and shape.n <= cfg.cols * os_slots(cfg, mode)
    if not fits:
        raise ValueError(f"tile {shape} does not fit a {cfg.rows}x{cfg.cols} array's streams in mode {mode}")
    if mode.sparse and shape.k % int(mode.m):  # type: ignore[arg-type]
        raise ValueError(f"tile k={shape.k} is not a multiple of M={mode.m}")


def tile_streams(cfg: ArrayConfig, mode: Mode, a, b: np.ndarray) -> TileStreams:
    """The stream words of one tile C = A . B in `mode` (checked against what the streams can carry)."""
    a_rows = a.values.shape[0] if isinstance(a, numerics.SparseA) else a.shape[0]
    shape = TileShape(m=a_rows, n=b.shape[1], k=b.shape[0])
    if isinstance(a, numerics.SparseA) != mode.sparse:
        raise ValueError("a SparseA operand needs an N:M mode and a dense one a dense mode")
    if isinstance(a, numerics.SparseA) and (a.m_group != mode.m or a.n_keep != mode.n):  # mode.sparse here
        raise ValueError(f"operand is {a.n_keep}:{a.m_group}, mode is {mode.n}:{mode.m}")
    _check_fits(cfg, mode, shape)
    e = step_elements(cfg, mode)
    vals, idx, steps = _lanes(cfg, mode, a, e)
    groups = _groups(cfg, b, e, steps)
    cmd = cfg.pack_cmd(os=mode.dataflow == "os", n=mode.n, m=mode.m, k=shape.k,
                       length=shape.n if mode.dataflow == "ws" else 0, interleave=mode.interleave)
    zero_lanes = [0] * cfg.multipliers
    if mode.dataflow == "ws":
        weights = []
        for r in range(cfg.rows):  # row r of the array holds step r of every A row (one per PE column)
            v = [vals[c, r] if (c < shape.m and r < steps) else zero_lanes for c in range(cfg.cols)]
            i = [idx[c, r] if (c < shape.m and r < steps) else zero_lanes for c in range(cfg.cols)]
            weights.append(cfg.pack_weights(v, i))
        acts = []
        for j in range(shape.n):
            acts.append(cfg.pack_acts([groups[r, j] if r < steps else [] for r in range(cfg.rows)]))
        beats = shape.n
    else:
        slots = os_slots(cfg, mode)
        weights = []
        for s in range(steps):
            v = [vals[r, s] if r < shape.m else zero_lanes for r in range(cfg.rows)]
            i = [idx[r, s] if r < shape.m else zero_lanes for r in range(cfg.rows)]
            weights.append(cfg.pack_weights(v, i))
        acts = []
        for s in range(steps):
            for slot in range(slots):
                cols = [c * slots + slot for c in range(cfg.cols)]
                acts.append(cfg.pack_acts([groups[s, col] if col < shape.n else [] for col in cols]))
        beats = cfg.rows * slots
    return TileStreams(mode, shape, cmd, weights, acts, beats, a, b)


def beat_cells(cfg: ArrayConfig, mode: Mode, beat: int) -> list[tuple[int, int]]:
    """(row, column) of C carried by data word c of result beat `beat`, for c < cols: WS beat j is column j
    of C (word c = PE column c = row c of C); OS delivers the PE rows bottom first, each in `slots` beats of
    interleaved columns."""
    if mode.dataflow == "ws":
        return [(c, beat) for c in range(cfg.cols)]
    slots = os_slots(cfg, mode)
    row, slot = cfg.rows - 1 - beat // slots, beat % slots
    return [(row, c * slots + slot) for c in range(cfg.cols)]


def decode_results(cfg: ArrayConfig, tile: TileStreams, beats: list[int]) -> np.ndarray:
    """Result beats (payload words) of one tile -> C as uint32 bit patterns [m, n]."""
    if len(beats) != tile.result_beats:
        raise ValueError(f"tile expects {tile.result_beats} result beats, got {len(beats)}")
    m_t, n_t = tile.shape.m, tile.shape.n
    out = np.zeros((m_t, n_t), dtype=np.uint32)
    for d, word in enumerate(beats):
        data, _ = cfg.unpack_result(word)
        for value, (row, col) in zip(data, beat_cells(cfg, tile.mode, d)):
            if row < m_t and col < n_t:
                out[row, col] = value
    return out


def gemm_bits(cfg: ArrayConfig, mode: Mode, a, b: np.ndarray) -> np.ndarray:
    """numerics.gemm of one tile (one WS fold / one OS accumulation) as uint32 bit patterns."""
    want = numerics.gemm(a, b, dataflow=mode.dataflow, multipliers=cfg.multipliers, rows=cfg.rows,
                         precision=cfg.precision, accumulator=str(cfg.accumulator))  # fmt: skip
    if cfg.precision == "fp16":
        return numerics.fp32_bits(want)
    return (np.asarray(want, dtype=np.int64) & 0xFFFFFFFF).astype(np.uint32)


def expected_bits(cfg: ArrayConfig, tile: TileStreams) -> np.ndarray:
    """numerics.gemm of the tile as uint32 bit patterns."""
    return gemm_bits(cfg, tile.mode, tile.a, tile.b)
