"""A cycle-stepped reference model of the PE array (small and slow; for tests).

It moves data register by register as docs/pe_array.md describes (skew FIFOs, activations hopping right,
partial sums hopping down in WS; A and B streams hopping right and down in OS; multiplier/tree and adder
pipelines as delay lines; two weight banks per PE in WS; accumulator slots in OS) and executes a given
schedule. It reports every hazard (a PE reading weights of the wrong tile, a partial sum meeting the wrong
activation, an accumulator read while its previous sum is still in the adder, an accumulator overwritten
before it was drained) and, for every result, the value and the cycle it leaves the array.

Tests run the schedules of `sparsesim.sat.timing` through it: no hazard, results equal
`sparsesim.sat.numerics`, and the observed last-result cycles equal the closed form. Moving a WS load or
stream one cycle earlier than the timing model allows must produce a hazard (the model is tight).
Arithmetic is done lane by lane in float32 (or int64 wrapped to 32 bits), independently of numerics.py.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .numerics import SparseA
from .timing import ArrayParams, Mode, elements_per_cycle, os_beat_gap, os_slots, product_latency


@dataclass
class TileData:
    """Operands of one tile. `a` is dense [m_t, k_t] or SparseA; `b` is [k_t, n_t]."""

    a: np.ndarray | SparseA
    b: np.ndarray


@dataclass
class RunResult:
    hazards: list[str] = field(default_factory=list)
    outputs: list[dict[int, np.ndarray]] = field(default_factory=list)  # per tile: result matrix [m_t, n_t]
    last_cycle: list[int] = field(default_factory=list)  # per tile: cycle its last result left the array
    cycles: int = 0


def _f32(x: Any) -> np.float32:
    return np.float32(x)


class _Lanes:
    """A PE's view of a tile's A operand: per (row-of-A, step) the P (value, index) lanes."""

    def __init__(self, a: np.ndarray | SparseA, p: ArrayParams, mode: Mode, fp: bool):
        self.p = p
        self.e = elements_per_cycle(p, mode)
        self.fp = fp
        if isinstance(a, SparseA):
            vals = a.values.astype(np.float16).astype(np.float32) if fp else a.values.astype(np.int64)
            self.rows, self.steps, n = vals.shape
            self.vals = np.zeros((self.rows, self.steps, p.multipliers), dtype=vals.dtype)
            self.idx = np.zeros((self.rows, self.steps, p.multipliers), dtype=np.int64)
            self.live = np.zeros((self.rows, self.steps, p.multipliers), dtype=bool)
            self.vals[..., :n] = vals
            self.idx[..., :n] = a.indices
            self.live[..., :n] = True
            self.k = a.k
        else:
            arr = a.astype(np.float16).astype(np.float32) if fp else a.astype(np.int64)
            self.rows, self.k = arr.shape
            self.steps = -(-self.k // p.multipliers)
            width = self.steps * p.multipliers
            pad = np.zeros((self.rows, width), dtype=arr.dtype)
            pad[:, : self.k] = arr
            self.vals = pad.reshape(self.rows, self.steps, p.multipliers)
            self.idx = np.broadcast_to(np.arange(p.multipliers), self.vals.shape).copy()
            self.live = (np.arange(width) < self.k).reshape(1, self.steps, p.multipliers).repeat(self.rows, 0)

    def tree(self, row: int, step: int, act_group: np.ndarray) -> Any:
        """Tree sum of one beat: lane products (gated lanes +0) summed pairwise."""
        if row >= self.rows or step >= self.steps:
            return _f32(0.0) if self.fp else 0
        lanes = []
        for lane in range(self.p.multipliers):
            if not self.live[row, step, lane]:
                lanes.append(_f32(0.0) if self.fp else 0)
                continue
            act = act_group[self.idx[row, step, lane]]
            if self.fp:
                with np.errstate(invalid="ignore", over="ignore"):
                    lanes.append(_f32(self.vals[row, step, lane]) * _f32(act))
            else:
                lanes.append(int(self.vals[row, step, lane]) * int(act))
        while len(lanes) > 1:
            with np.errstate(invalid="ignore", over="ignore"):
                lanes = [lanes[i] + lanes[i + 1] for i in range(0, len(lanes), 2)]
        return lanes[0]


def _act_group(b: np.ndarray, step: int, e: int, col: int, fp: bool) -> np.ndarray:
    """E activations of step `step` for column `col` of B (zero beyond k)."""
    out = np.zeros(e, dtype=np.float32 if fp else np.int64)
    seg = b[step * e : (step + 1) * e, col]
    out[: len(seg)] = seg
    return out


def _add(x: Any, y: Any, fp: bool) -> Any:
    if fp:
        with np.errstate(invalid="ignore", over="ignore"):
            return _f32(x) + _f32(y)
    return ((int(x) + int(y) + 2**31) % 2**32) - 2**31  # INT32 two's-complement wrap


def run_ws(
    p: ArrayParams, mode: Mode, tiles: list[TileData], loads: list[int], starts: list[int], *, fp: bool = True
) -> RunResult:
    """Execute WS tiles: tile i's weight rows are written at loads[i] + r, its stream enters at starts[i]."""
    rr = RunResult()
    e = elements_per_cycle(p, mode)
    lanes = [_Lanes(t.a, p, mode, fp) for t in tiles]
    bfp = [t.b.astype(np.float16).astype(np.float32) if fp else t.b.astype(np.int64) for t in tiles]
    R, C, La, Lp = p.rows, p.cols, p.add_latency, product_latency(p)
    banks = p.weight_banks
    in_transit = -2  # a bank whose row is still shifting (weight_load "shift"): not yet its tile's weights
    bank_tile = [[[-1] * banks for _ in range(C)] for _ in range(R)]  # tile id held by each bank
    # Pending bank writes: visible from the cycle after the write.
    skew = [deque([None] * (r * La)) for r in range(R)]
    act = [[None] * C for _ in range(R)]  # activation token at each PE this cycle
    prod = [[deque([None] * Lp) for _ in range(C)] for _ in range(R)]
    adder = [[deque([None] * La) for _ in range(C)] for _ in range(R)]
    rr.outputs = [{} for _ in tiles]
    rr.last_cycle = [-1] * len(tiles)
    remaining = sum(t.b.shape[1] * C for t in tiles)  # every column emits, used or not
    horizon = max(starts) + max(t.b.shape[1] for t in tiles) + (C + Lp + R * La) + 5
    # (tile, row, value): bus loads write row r at ls + r. Shift loads push the weights in at the top, one
    # row per cycle: row r's register changes from ls + r and holds its own weight from ls + R - 1.
    writes_at: dict[int, list[tuple[int, int, int]]] = {}
    for i, ls in enumerate(loads):
        for r in range(R):
            if p.weight_load == "shift":
                if r < R - 1:
                    writes_at.setdefault(ls + r, []).append((i, r, in_transit))
                writes_at.setdefault(ls + R - 1, []).append((i, r, i))
            else:
                writes_at.setdefault(ls + r, []).append((i, r, i))
    inject: dict[int, tuple[int, int]] = {}
    for i, t0 in enumerate(starts):
        for j in range(tiles[i].b.shape[1]):
            if t0 + j in inject:
                rr.hazards.append(f"cycle {t0 + j}: streams of tiles {inject[t0 + j][0]} and {i} overlap")
            inject[t0 + j] = (i, j)
    bus: dict[int, int] = {}
    for i, ls in enumerate(loads):
        for r in range(R):
            if ls + r in bus:
                rr.hazards.append(f"cycle {ls + r}: loads of tiles {bus[ls + r]} and {i} share the load bus")
            bus[ls + r] = i
    out_buf: dict[tuple[int, int, int], list[Any]] = {}
    for cyc in range(horizon):
        # 1. Shift: activations hop right, the skew FIFOs feed column 0.
        token = inject.get(cyc)
        for r in range(R):
            for c in range(C - 1, 0, -1):
                act[r][c] = act[r][c - 1]
            skew[r].append(token)
            act[r][0] = skew[r].popleft()
        # 2. Each PE: read its bank, compute the tree sum into the product pipeline; adders advance.
        arriving: list[list[Any]] = [[None] * C for _ in range(R)]
        for r in range(R):
            for c in range(C):
                arriving[r][c] = adder[r][c].popleft()  # partial sum leaving PE (r, c) this cycle
        for r in range(R):
            for c in range(C):
                tok = act[r][c]
                entry = None
                if tok is not None:
                    i, j = tok
                    held = bank_tile[r][c][i % banks]
                    if held != i:
                        rr.hazards.append(
                            f"cycle {cyc}: PE({r},{c}) read bank {i % banks} holding tile {held} for tile {i}"
                        )
                    group = _act_group(bfp[i], r, e, j, fp)
                    entry = (i, j, lanes[i].tree(c, r, group))
                prod[r][c].append(entry)
                ready = prod[r][c].popleft()
                if ready is None:
                    adder[r][c].append(None)
                    continue
                i, j, tsum = ready
                if r == 0:
                    psum = _f32(0.0) if fp else 0
                else:
                    up = arriving[r - 1][c]
                    if up is None or up[:2] != (i, j):
                        rr.hazards.append(
                            f"cycle {cyc}: PE({r},{c}) partial sum {up and up[:2]} met activation {(i, j)}"
                        )
                        psum = _f32(0.0) if fp else 0
                    else:
                        psum = up[2]
                adder[r][c].append((i, j, _add(psum, tsum, fp)))
        for c in range(C):
            out = arriving[R - 1][c]
            if out is not None:
                i, j, val = out
                if c < lanes[i].rows:
                    out_buf[(i, c, j)] = val
                rr.last_cycle[i] = max(rr.last_cycle[i], cyc)
                remaining -= 1
        # 3. Bank writes take effect at the end of the cycle (reads above saw the old contents).
        for i, r, value in writes_at.get(cyc, []):
            for c in range(C):
                bank_tile[r][c][i % banks] = value
        if remaining == 0 and cyc > max(starts):
            rr.cycles = cyc + 1
            break
    for i, t in enumerate(tiles):
        m_t, n_t = lanes[i].rows, t.b.shape[1]
        mat = np.zeros((m_t, n_t), dtype=np.float32 if fp else np.int64)
        for c in range(m_t):
            for j in range(n_t):
                if (i, c, j) not in out_buf:
                    rr.hazards.append(f"tile {i}: result ({c},{j}) never left the array")
                else:
                    mat[c, j] = out_buf[(i, c, j)]
        rr.outputs[i] = mat  # type: ignore[assignment]
    return rr


def run_os(
    p: ArrayParams, mode: Mode, tiles: list[TileData], starts: list[int], *, fp: bool = True
) -> RunResult:
    """Execute OS tiles; tile i's first beat enters at starts[i]; the drain follows the tile's last sum."""
    rr = RunResult()
    e = elements_per_cycle(p, mode)
    slots, gap = os_slots(p, mode), os_beat_gap(p, mode)
    R, C, La, Lp = p.rows, p.cols, p.add_latency, product_latency(p)
    lanes = [_Lanes(t.a, p, mode, fp) for t in tiles]
    bfp = [t.b.astype(np.float16).astype(np.float32) if fp else t.b.astype(np.int64) for t in tiles]
    steps = [-(-lanes[i].k // e) for i in range(len(tiles))]
    # Beat injection: (tile, step, slot) at starts[i] + (s*slots + slot)*gap.
    inject: dict[int, tuple[int, int, int]] = {}
    for i, t0 in enumerate(starts):
        for s in range(steps[i]):
            for slot in range(slots):
                cyc = t0 + (s * slots + slot) * gap
                if cyc in inject:
                    rr.hazards.append(f"cycle {cyc}: beats of tiles {inject[cyc][0]} and {i} collide")
                inject[cyc] = (i, s, slot)
    a_skew = [deque([None] * r) for r in range(R)]
    b_skew = [deque([None] * c) for c in range(C)]
    a_reg = [[None] * C for _ in range(R)]
    b_reg = [[None] * C for _ in range(R)]
    prod = [[deque([None] * Lp) for _ in range(C)] for _ in range(R)]
    adder = [[deque([None] * La) for _ in range(C)] for _ in range(R)]
    acc: list[list[list[Any]]] = [[[None] * slots for _ in range(C)] for _ in range(R)]  # (tile, value)
    # os_drain "overlapped": a PE moves each final sum to its shadow register the cycle it becomes final and
    # the drain reads the shadows, so the accumulators are free for the next tile at once.
    overlapped = p.os_drain == "overlapped"
    shadow: list[list[list[Any]]] = [[[None] * slots for _ in range(C)] for _ in range(R)]
    shadow_drained = [[[True] * slots for _ in range(C)] for _ in range(R)]
    busy = [[[False] * slots for _ in range(C)] for _ in range(R)]
    drained = [[[True] * slots for _ in range(C)] for _ in range(R)]
    done_adds = [0] * len(tiles)
    total_adds = [steps[i] * slots * R * C for i in range(len(tiles))]
    rr.outputs = [{} for _ in tiles]
    rr.last_cycle = [-1] * len(tiles)
    drain: deque[tuple[int, int]] = deque()  # (tile, drain index) pending, one per cycle
    drain_tile: int | None = None
    drain_q = 0
    results: dict[tuple[int, int, int], Any] = {}
    horizon = max(starts) + (max(steps) * slots) * gap + R + C + Lp + La + R * slots + 10
    for cyc in range(horizon):
        tok = inject.get(cyc)
        # Streams: A hops right, B hops down; skew FIFOs at the edges.
        for r in range(R):
            for c in range(C - 1, 0, -1):
                a_reg[r][c] = a_reg[r][c - 1]
            a_skew[r].append(tok)
            a_reg[r][0] = a_skew[r].popleft()
        for c in range(C):
            for r in range(R - 1, 0, -1):
                b_reg[r][c] = b_reg[r - 1][c]
            b_skew[c].append(tok)
            b_reg[0][c] = b_skew[c].popleft()
        # Adders deliver, then PEs issue.
        for r in range(R):
            for c in range(C):
                out = adder[r][c].popleft()
                if out is not None:
                    i, slot, val, last = out
                    acc[r][c][slot] = (i, val)
                    busy[r][c][slot] = False
                    done_adds[i] += 1
                    if overlapped and last:
                        if not shadow_drained[r][c][slot]:
                            rr.hazards.append(
                                f"cycle {cyc}: PE({r},{c}) shadow {slot} overwritten before it was drained"
                            )
                        shadow[r][c][slot] = (i, val)
                        shadow_drained[r][c][slot] = False
                        drained[r][c][slot] = True
        for r in range(R):
            for c in range(C):
                ta, tb = a_reg[r][c], b_reg[r][c]
                entry = None
                if ta is not None or tb is not None:
                    if ta != tb:
                        rr.hazards.append(f"cycle {cyc}: PE({r},{c}) A beat {ta} met B beat {tb}")
                    else:
                        i, s, slot = ta
                        col = c * slots + slot
                        group = _act_group(bfp[i], s, e, col, fp) if col < bfp[i].shape[1] else np.zeros(e)
                        entry = (i, s, slot, lanes[i].tree(r, s, group))
                prod[r][c].append(entry)
                ready = prod[r][c].popleft()
                if ready is None:
                    adder[r][c].append(None)
                    continue
                i, s, slot, tsum = ready
                if busy[r][c][slot]:
                    rr.hazards.append(
                        f"cycle {cyc}: PE({r},{c}) slot {slot} read while its last sum is in the adder"
                    )
                if s == 0:
                    if not drained[r][c][slot]:
                        rr.hazards.append(
                            f"cycle {cyc}: PE({r},{c}) slot {slot} overwritten before it was drained"
                        )
                    base = _f32(0.0) if fp else 0
                    drained[r][c][slot] = False
                else:
                    held = acc[r][c][slot]
                    if held is None or held[0] != i:
                        rr.hazards.append(
                            f"cycle {cyc}: PE({r},{c}) slot {slot} holds {held and held[0]}, not tile {i}"
                        )
                        base = _f32(0.0) if fp else 0
                    else:
                        base = held[1]
                busy[r][c][slot] = True
                adder[r][c].append((i, slot, _add(base, tsum, fp), s == steps[i] - 1))
        # Drain: once every sum of a tile is final, shift out R*slots results per column, bottom row first.
        if drain_tile is None:
            for i in range(len(tiles)):
                if done_adds[i] == total_adds[i] and rr.last_cycle[i] < 0 and i not in [d[0] for d in drain]:
                    drain.append((i, 0))
            if drain:
                drain_tile, _ = drain.popleft()
                drain_q = 0
                continue  # the drain starts the cycle after the last sum became final
        if drain_tile is not None:
            row = R - 1 - drain_q // slots
            slot = drain_q % slots
            for c in range(C):
                held = (shadow if overlapped else acc)[row][c][slot]
                if held is None or held[0] != drain_tile:
                    rr.hazards.append(
                        f"cycle {cyc}: drain of tile {drain_tile} found PE({row},{c}) slot {slot} = {held}"
                    )
                else:
                    results[(drain_tile, row, c * slots + slot)] = held[1]
                if overlapped:
                    shadow_drained[row][c][slot] = True
                else:
                    drained[row][c][slot] = True
            drain_q += 1
            if drain_q == R * slots:
                rr.last_cycle[drain_tile] = cyc
                drain_tile = None
        if all(x >= 0 for x in rr.last_cycle):
            rr.cycles = cyc + 1
            break
    for i, t in enumerate(tiles):
        m_t, n_t = lanes[i].rows, t.b.shape[1]
        mat = np.zeros((m_t, n_t), dtype=np.float32 if fp else np.int64)
        for r in range(m_t):
            for col in range(n_t):
                if (i, r, col) not in results:
                    rr.hazards.append(f"tile {i}: result ({r},{col}) never left the array")
                else:
                    mat[r, col] = results[(i, r, col)]
        rr.outputs[i] = mat  # type: ignore[assignment]
    return rr
