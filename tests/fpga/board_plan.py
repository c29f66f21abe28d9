"""Tiles for the board tests and their reference checks (pure Python: used by the model test, the Amaranth
simulator test and the cocotb bench tb_board.py alike).

Checks of one TileRun: bits == sparsesim.sat.numerics (via rtl.host.expected_bits), the FP32 values within
numerics.fp_error_bound of a float64 torch matmul of the masked operands (exact for INT8), and the measured
tile cycles == sparsesim.sat.timing.tile_cycles.
"""

from __future__ import annotations

import numpy as np
import torch
from sparsesim.rtl import protocol as proto
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.host import expected_bits

from sparsesim.sat import numerics, timing
from sparsesim.sat.timing import Mode, TileShape
from sparsesim.sparsity.formats import NMTensor
from sparsesim.sparsity.nm import nm_mask


def operands(rng, cfg: ArrayConfig, mode: Mode, shape: TileShape):
    """(A as numerics takes it, B): A pruned N:M by the project's own pruning when the mode is sparse."""
    if cfg.fp:
        a = (rng.standard_normal((shape.m, shape.k)) * 2).astype(np.float16)
        b = (rng.standard_normal((shape.k, shape.n)) * 2).astype(np.float16)
    else:
        a = rng.integers(-128, 128, (shape.m, shape.k)).astype(np.int8)
        b = rng.integers(-128, 128, (shape.k, shape.n)).astype(np.int8)
    if not mode.sparse:
        return a, b
    mask = nm_mask(a.astype(np.float64), int(mode.n), int(mode.m), axis=1)  # type: ignore[arg-type]
    nm = NMTensor.from_dense(a, int(mode.n), int(mode.m), axis=1, mask=mask)  # type: ignore[arg-type]
    return numerics.SparseA(nm.values, nm.indices, int(mode.m)), b  # type: ignore[arg-type]


def board_tiles(cfg: ArrayConfig) -> list[tuple[Mode, TileShape]]:
    """One tile per kind the board must run: WS dense / N:M, OS dense / N:M with and without interleave."""
    p = cfg.timing_params()
    out = []
    for mode in (
        Mode("ws"),
        Mode("ws", 2, 8),
        Mode("ws", 1, 4),
        Mode("os"),
        Mode("os", 2, 4),
        Mode("os", interleave=False),
    ):
        if mode.sparse and (mode.n > cfg.multipliers or mode.m > cfg.max_m):  # type: ignore[operator]
            continue
        cap = timing.capacity(p, mode)
        e = timing.elements_per_cycle(p, mode)
        if mode.dataflow == "ws":
            k = cap.k if mode.sparse else cap.k - 1  # dense: a k tail
            out.append((mode, TileShape(m=cap.m, n=3, k=k)))  # type: ignore[arg-type]
        else:
            k = 2 * e if mode.sparse else 2 * e + 1
            out.append((mode, TileShape(m=cap.m, n=cap.n, k=k)))  # type: ignore[arg-type]
    return out


def dense_a(a) -> np.ndarray:
    return a.to_dense() if isinstance(a, numerics.SparseA) else np.asarray(a)


def check_run(cfg: ArrayConfig, run) -> list[str]:
    """Mismatches of one driver.TileRun against numerics, torch and timing (empty: all good)."""
    tile = run.tile
    where = f"{tile.mode} {tile.shape}"
    bad = []
    want = expected_bits(cfg, tile)
    if not np.array_equal(run.bits, want):
        r, c = np.argwhere(run.bits != want)[0]
        bad.append(f"{where}: C[{r},{c}] board {run.bits[r, c]:#010x} numerics {want[r, c]:#010x}")
    a = dense_a(tile.a)
    if cfg.fp:
        ref = (torch.from_numpy(a.astype(np.float64)) @ torch.from_numpy(tile.b.astype(np.float64))).numpy()
        got = run.bits.view(np.float32).astype(np.float64)
        bound = numerics.fp_error_bound(
            a,
            tile.b,
            multipliers=cfg.multipliers,
            elements_per_step=timing.elements_per_cycle(cfg.timing_params(), tile.mode),
        )
        if not np.all(np.abs(got - ref) <= bound):
            bad.append(f"{where}: differs from torch by more than numerics.fp_error_bound")
    else:
        ref = (torch.from_numpy(a.astype(np.int64)) @ torch.from_numpy(tile.b.astype(np.int64))).numpy()
        if not np.array_equal(run.bits.view(np.int32).astype(np.int64), ref):
            bad.append(f"{where}: differs from torch")
    predicted = timing.tile_cycles(cfg.timing_params(), tile.mode, tile.shape)
    if run.cycles.tile_cycles != predicted or run.done.tile_cycles != predicted:
        bad.append(
            f"{where}: measured {run.cycles.tile_cycles} cycles (run {run.done.tile_cycles}), "
            f"timing.tile_cycles says {predicted}"
        )
    return bad


def bad_runs(info: proto.InfoBlock) -> list[proto.RunParams]:
    """RUNs a board must refuse, one per rule of protocol.run_status (each differs from a valid WS dense tile
    in one field)."""
    from dataclasses import replace

    k = info.rows * info.multipliers
    ok = proto.RunParams(
        flags=0,
        n=0,
        log2m=0,
        reserved=0,
        k=k,
        length=2,
        w_base=0,
        w_count=info.rows,
        a_base=0,
        a_count=2,
        r_base=0,
    )
    assert proto.run_status(info, ok) == proto.Status.OK
    sparse = replace(ok, flags=proto.RUN_SPARSE, n=1, log2m=2, k=4 * info.rows)
    assert proto.run_status(info, sparse) == proto.Status.OK
    os_ = replace(
        ok,
        flags=proto.RUN_OS | proto.RUN_INTERLEAVE,
        k=info.multipliers,
        length=0,
        w_count=1,
        a_count=info.add_latency,
    )
    assert proto.run_status(info, os_) == proto.Status.OK
    max_log2m = info.max_m.bit_length() - 1
    runs = [
        replace(sparse, n=0),  # BAD_MODE: N = 0
        replace(sparse, n=info.multipliers + 1),  # N > P
        replace(sparse, log2m=max_log2m + 1),  # M > MMAX
        replace(sparse, k=sparse.k - 1),  # k not a multiple of M
        replace(ok, k=k + 1),  # WS k beyond R x E
        replace(ok, length=0, a_count=0),  # WS without activations
        replace(ok, w_count=info.rows - 1),  # BAD_LENGTH: one weight row short
        replace(os_, a_count=os_.a_count + 1),  # an activation beat too many
        replace(ok, w_base=info.weight_depth - info.rows + 1),  # BAD_ADDRESS: weights run past the buffer
        replace(os_, r_base=info.result_depth - info.rows * info.add_latency + 1),  # results do
    ]
    for rp in runs:
        assert proto.run_status(info, rp) != proto.Status.OK, rp
    return runs


def bad_index_run(info: proto.InfoBlock) -> tuple[proto.RunParams, list[int]]:
    """An OS 1:M RUN (M = MMAX / 2, so an index of M fits the field) that passes run_status, and weight
    words whose PE row 0, lane 0 holds index M: the board must answer BAD_INDEX."""
    from sparsesim.fpga.driver import config_from_info

    cfg = config_from_info(info)
    log2m = cfg.max_m.bit_length() - 2
    m = 1 << log2m
    rp = proto.RunParams(
        flags=proto.RUN_OS | proto.RUN_SPARSE, n=1, log2m=log2m, reserved=0, k=m, length=0,
        w_base=0, w_count=1, a_base=0, a_count=1, r_base=0,
    )  # fmt: skip
    assert proto.run_status(info, rp) == proto.Status.OK, rp
    values = [[0] * cfg.multipliers for _ in range(cfg.lanes)]
    indices = [[0] * cfg.multipliers for _ in range(cfg.lanes)]
    indices[0][0] = m
    return rp, [cfg.pack_weights(values, indices)]
