"""Work decomposition of each kernel: core cycles per parallel chunk and the memory streams of one op.

Core cycles add up the bodies of `microkernels.py` in the order the kernel executes them (
`cycles(tile) = Σ_rows (c_row + c_nz · nnz_row)`), with the counts taken from the real sparse formats. Each
section is costed at its own bound and the sections are summed: an out-of-order core can overlap an
output row's epilogue with the next row's loop, so this is an upper bound on core time (docs/mobile_model.md).

Parallel chunks follow XNNPACK's partition: pixel ranges of whole MR tiles for SpMM and the
sparse kernels (≥5 chunks per thread when threaded), row panels x column blocks for GEMM, channels for the
CHW depthwise, output rows for the NHWC one, equal element ranges for vector ops.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import microkernels as mk
from .functional import KernelTrace, pixel_subtiles
from .memory import FLOAT_BYTES, Stream


@dataclass
class Work:
    family: str  # spmm | group | nm | gemm | igemm | dwconv_chw | dwconv_hwc | eltwise | reduce | fused
    label: str  # the `mode` column
    chunks: list[float]  # core cycles of each parallel chunk, in order
    streams: list[Stream]
    inner: str = ""  # the dominant inner-loop body
    bound: str = ""  # its bound (L, V, chain, decode, ...)
    detail: dict[str, Any] = field(default_factory=dict)
    # (AddressSpace, input base, weight base, output base) -> (lines, writes): the op's address stream
    # (streams.py); None: the op's inputs are read and its outputs written once, in order
    addresses: Any = None

    @property
    def core_cycles(self) -> float:
        return float(sum(self.chunks))


def group_units(units: Sequence[float], threads: int, per_thread: int = 5) -> list[float]:
    """Consecutive work units grouped into chunks: one chunk single-threaded, else about `per_thread`
    chunks per thread of whole units (XNNPACK aims at >= 5 tiles per thread)."""
    if not units:
        return [0.0]
    if threads <= 1:
        return [float(sum(units))]
    size = max(1, len(units) // (per_thread * threads))
    return [float(sum(units[i : i + size])) for i in range(0, len(units), size)]


def pixel_chunks(pixels: int, mr: int, batch: int, threads: int, tile_cycles) -> list[float]:
    """XNNPACK's pixel partition for the CHW sparse kernels: per image, ranges of `mc` pixels, `mc` a
    multiple of MR chosen for >= 5 ranges per thread; the last range holds the remainder. The
    cost of a range is the sum of its subtiles (`functional.pixel_subtiles`)."""
    per_image = sum(tile_cycles(m) for m in pixel_subtiles(pixels, mr))
    if threads <= 1:
        return [float(per_image * batch)]
    full = pixels // mr
    mc = mr * max(1, full // (5 * threads))
    ranges = [min(mc, pixels - p0) for p0 in range(0, pixels, mc)]
    costs = [float(sum(tile_cycles(m) for m in pixel_subtiles(r, mr))) for r in ranges]
    return costs * batch


def _inner(bc: mk.BodyCache, builder, *args) -> tuple[str, str]:
    t = bc.timing(builder, *args)
    return t.body, t.bound


# ------------------------------------------------------------------------------------------ SpMM


@dataclass(frozen=True)
class SpmmShape:
    """What the SpMM cost needs from a CSRDelta (or any block-of-NR CSR)."""

    nr: int
    full_block_nnz: np.ndarray  # nonzero blocks per full NR block
    rem_channel_nnz: np.ndarray  # nonzeros per remainder channel (Cout % NR of them)
    k: int  # reduction rows (Cin, or Cin*kh*kw through im2col)
    weight_bytes: int  # bytes the kernel streams per tile: values + biases + increments + counts

    @classmethod
    def from_csr(cls, csr, k: int) -> SpmmShape:
        counts = csr.output_channel_nonzeros.astype(np.int64)
        full = csr.num_full_blocks
        stream = 4 * (csr.value_count + csr.bias_count) + 4 * csr.num_nonzero_blocks + 4 * counts.size
        return cls(csr.nr, counts[:full], counts[full:], int(k), int(stream))


def spmm_tile_cycles(bc: mk.BodyCache, shape: SpmmShape, m: int, pack: bool) -> float:
    nz_full, nz_rem = int(shape.full_block_nnz.sum()), int(shape.rem_channel_nnz.sum())
    cyc = bc.cycles(mk.spmm_tile_body, m)
    if pack:
        cyc += shape.k * bc.cycles(mk.pack_row_body, m)
    cyc += shape.full_block_nnz.size * bc.cycles(mk.spmm_row_body, m, shape.nr)
    cyc += nz_full * bc.cycles(mk.spmm_nz_body, m, shape.nr)
    if shape.rem_channel_nnz.size:
        cyc += shape.rem_channel_nnz.size * bc.cycles(mk.spmm_row_body, m, 1)
        cyc += nz_rem * bc.cycles(mk.spmm_nz_body, m, 1)
    return cyc


def spmm_work(
    bc: mk.BodyCache,
    shape: SpmmShape,
    *,
    pixels: int,
    batch: int,
    mr: int,
    pack: bool,
    in_bytes: float,
    out_bytes: float,
    threads: int,
) -> Work:
    """XNNPACK SpMM over `pixels` per image; `pack` = the input is an im2col view that has to be
    packed per tile (SpMM on a non-1x1 conv, not an XNNPACK path)."""
    subtiles = pixel_subtiles(pixels, mr) * batch
    per: dict[int, float] = {}

    def tile(m: int) -> float:
        if m not in per:
            per[m] = spmm_tile_cycles(bc, shape, m, pack)
        return per[m]

    nnz = int(shape.full_block_nnz.sum() + shape.rem_channel_nnz.sum())
    act_tile = shape.k * mr * FLOAT_BYTES
    streams = [
        Stream("activations", in_bytes, "input"),
        Stream("activation rows", sum(subtiles) * FLOAT_BYTES * nnz, "fit", act_tile, partial=True),
        Stream("weights", shape.weight_bytes, "weights"),
        Stream(
            "weight passes",
            shape.weight_bytes * (len(subtiles) - 1),
            "fit",
            shape.weight_bytes + act_tile,
            shared=True,
        ),
        Stream("outputs", out_bytes, "output"),
    ]
    name, bound = _inner(bc, mk.spmm_nz_body, mr, shape.nr)
    return Work(
        family="spmm",
        label=f"spmm {mr}x{shape.nr}",
        chunks=pixel_chunks(pixels, mr, batch, threads, tile),
        streams=streams,
        inner=name,
        bound=bound,
        detail={"nr": shape.nr, "nnz_blocks": nnz, "tiles": len(subtiles), "act_tile_bytes": act_tile},
    )


def spmm_trace(shape: SpmmShape, pixels: int, mr: int) -> KernelTrace:
    """The trace `functional.spmm_csr_delta` records on one image."""
    tr = KernelTrace()
    nz_full, nz_rem = int(shape.full_block_nnz.sum()), int(shape.rem_channel_nnz.sum())
    for m in pixel_subtiles(pixels, mr):
        tr.tiles[m] += 1
        tr.rows[(m, shape.nr)] += shape.full_block_nnz.size
        tr.iterations[(m, shape.nr)] += nz_full
        if shape.rem_channel_nnz.size:
            tr.rows[(m, 1)] += shape.rem_channel_nnz.size
            tr.iterations[(m, 1)] += nz_rem
    return _clean(tr)


def _clean(tr: KernelTrace) -> KernelTrace:
    for c in (tr.tiles, tr.rows, tr.iterations, tr.pack_rows, tr.groups):
        for key in [k for k, v in c.items() if v == 0]:
            del c[key]
    return tr


# ------------------------------------------------------------------------------------ group kernel


@dataclass(frozen=True)
class GroupShape:
    g: int
    blocks_per_row: np.ndarray  # kept blocks per block-row (Cout / G entries)
    k: int

    @classmethod
    def from_bcsr(cls, bcsr) -> GroupShape:
        return cls(bcsr.group_size, np.diff(bcsr.row_ptr.astype(np.int64)), int(bcsr.reduction))

    @property
    def weight_bytes(self) -> int:
        blocks = int(self.blocks_per_row.sum())
        rows = self.blocks_per_row.size
        col_bytes = 2 if self.k < 65536 else 4
        return 4 * blocks * self.g + col_bytes * blocks + 4 * (rows + 1) + 4 * rows * self.g


def group_tile_cycles(bc: mk.BodyCache, shape: GroupShape, m: int) -> float:
    return (
        bc.cycles(mk.spmm_tile_body, m)
        + shape.k * bc.cycles(mk.pack_row_body, m)
        + shape.blocks_per_row.size * bc.cycles(mk.group_row_body, m, shape.g)
        + int(shape.blocks_per_row.sum()) * bc.cycles(mk.group_nz_body, m, shape.g)
    )


def group_work(
    bc: mk.BodyCache,
    shape: GroupShape,
    *,
    pixels: int,
    batch: int,
    mr: int,
    in_bytes: float,
    out_bytes: float,
    threads: int,
    input_reuse: float = 1.0,
) -> Work:
    """Group-sparse kernel over the packed im2col tile (`functional.group_spmm`). `input_reuse` = how many
    times im2col reads each input element (kh*kw/stride² for a conv, 1 for 1x1)."""
    subtiles = pixel_subtiles(pixels, mr) * batch
    blocks = int(shape.blocks_per_row.sum())
    tile_bytes = shape.k * mr * FLOAT_BYTES
    wb = shape.weight_bytes
    streams = [
        Stream("activations", in_bytes, "input"),
        Stream("im2col re-reads", in_bytes * max(0.0, input_reuse - 1.0), "fit", in_bytes, partial=True),
        Stream("packed rows", sum(subtiles) * FLOAT_BYTES * blocks, "fit", tile_bytes, partial=True),
        Stream("weights", wb, "weights"),
        Stream("weight passes", wb * (len(subtiles) - 1), "fit", wb + tile_bytes, shared=True),
        Stream("outputs", out_bytes, "output"),
    ]
    name, bound = _inner(bc, mk.group_nz_body, mr, shape.g)
    return Work(
        family="group",
        label=f"group {mr}x{shape.g}",
        chunks=pixel_chunks(pixels, mr, batch, threads, lambda m: group_tile_cycles(bc, shape, m)),
        streams=streams,
        inner=name,
        bound=bound,
        detail={"g": shape.g, "blocks": blocks, "tiles": len(subtiles)},
    )


def group_trace(shape: GroupShape, pixels: int, mr: int) -> KernelTrace:
    tr = KernelTrace()
    for m in pixel_subtiles(pixels, mr):
        tr.tiles[m] += 1
        tr.pack_rows[m] += shape.k
        tr.rows[(m, shape.g)] += shape.blocks_per_row.size
        tr.iterations[(m, shape.g)] += int(shape.blocks_per_row.sum())
    return _clean(tr)


# ------------------------------------------------------------------------------------------- N:M


@dataclass(frozen=True)
class NMShape:
    n: int
    m: int
    cout: int
    cin: int
    taps: int

    @property
    def k(self) -> int:
        return self.cin * self.taps

    @property
    def groups_per_row(self) -> int:
        return self.taps * (self.cin // self.m)

    @property
    def weight_bytes(self) -> int:
        slots = self.cout * self.groups_per_row * self.n
        return 4 * slots + slots + 4 * self.cout  # fp32 values + uint8 indices + biases


def nm_tile_cycles(bc: mk.BodyCache, shape: NMShape, m: int) -> float:
    per_row = (
        bc.cycles(mk.nm_row_body, m)
        + shape.groups_per_row * bc.cycles(mk.nm_group_body)
        + shape.groups_per_row * shape.n * bc.cycles(mk.nm_nz_body, m)
    )
    return bc.cycles(mk.spmm_tile_body, m) + shape.k * bc.cycles(mk.pack_row_body, m) + shape.cout * per_row


def nm_work(
    bc: mk.BodyCache,
    shape: NMShape,
    *,
    pixels: int,
    batch: int,
    mr: int,
    in_bytes: float,
    out_bytes: float,
    threads: int,
    input_reuse: float = 1.0,
) -> Work:
    subtiles = pixel_subtiles(pixels, mr) * batch
    slots = shape.cout * shape.groups_per_row * shape.n
    tile_bytes = shape.k * mr * FLOAT_BYTES
    wb = shape.weight_bytes
    streams = [
        Stream("activations", in_bytes, "input"),
        Stream("im2col re-reads", in_bytes * max(0.0, input_reuse - 1.0), "fit", in_bytes, partial=True),
        Stream("packed rows", sum(subtiles) * FLOAT_BYTES * slots, "fit", tile_bytes, partial=True),
        Stream("weights", wb, "weights"),
        Stream("weight passes", wb * (len(subtiles) - 1), "fit", wb + tile_bytes, shared=True),
        Stream("outputs", out_bytes, "output"),
    ]
    name, bound = _inner(bc, mk.nm_nz_body, mr)
    return Work(
        family="nm",
        label=f"nm {mr}x1 {shape.n}:{shape.m}",
        chunks=pixel_chunks(pixels, mr, batch, threads, lambda m: nm_tile_cycles(bc, shape, m)),
        streams=streams,
        inner=name,
        bound=bound,
        detail={"n": shape.n, "m": shape.m, "slots": slots, "tiles": len(subtiles)},
    )


def nm_trace(shape: NMShape, pixels: int, mr: int) -> KernelTrace:
    tr = KernelTrace()
    for m in pixel_subtiles(pixels, mr):
        tr.tiles[m] += 1
        tr.pack_rows[m] += shape.k
        tr.rows[(m, 1)] += shape.cout
        tr.groups[m] += shape.cout * shape.groups_per_row
        tr.iterations[(m, 1)] += shape.cout * shape.groups_per_row * shape.n
    return _clean(tr)


# ------------------------------------------------------------------------------------- dense GEMM


def k_blocks(k: int) -> Counter:
    """k-steps of the GEMM kernels: the 8-step main loop, then one 4/2/1 remainder each."""
    c: Counter = Counter({8: k // 8})
    rem = k % 8
    for kb in (4, 2, 1):
        if rem >= kb:
            c[kb] += 1
            rem -= kb
    return c


def kloop_cycles(bc: mk.BodyCache, mr: int, k: int) -> float:
    return sum(n * bc.cycles(mk.gemm_k_body, mr, 8, kb) for kb, n in k_blocks(k).items() if n)


def gemm_work(
    bc: mk.BodyCache,
    *,
    m: int,
    n: int,
    k: int,
    repeat: int,
    taps: int = 0,
    in_bytes: float,
    out_bytes: float,
    weight_bytes: float,
    threads: int,
    input_reuse: float = 1.0,
    reuse_footprint: float = 0.0,
) -> Work:
    """XNNPACK dense GEMM (`taps == 0`: A read directly, e.g. a 1x1 conv in NHWC or a linear layer) or IGEMM
    (`taps` kernel taps through an indirection buffer, `k` = channels per tap) with the 6x8 kernel, or the
    1x8 kernel when there is a single row (M = 1). `repeat` = conv groups or independent GEMMs."""
    mr = 1 if m == 1 else 6
    if taps:
        tile = bc.cycles(mk.gemm_tile_body, mr, 8) + taps * (
            bc.cycles(mk.igemm_tap_body, mr) + kloop_cycles(bc, mr, k)
        )
        label = f"igemm {mr}x8"
        family = "igemm"
    else:
        tile = bc.cycles(mk.gemm_tile_body, mr, 8) + kloop_cycles(bc, mr, k)
        label = f"gemm {mr}x8"
        family = "gemm"
    panels = math.ceil(m / mr)
    col_tiles = math.ceil(n / 8)
    # XNNPACK's 2-D partition: a chunk is one row panel x a block of columns; columns are split only when
    # there are too few panels for ~5 chunks per thread.
    col_split = 1 if threads <= 1 else max(1, min(col_tiles, math.ceil(5 * threads / max(panels, 1))))
    per_chunk = [tile * len(part) for part in np.array_split(np.arange(col_tiles), col_split) if len(part)]
    units = [c for _ in range(panels * repeat) for c in per_chunk]
    chunks = units if threads > 1 else [float(sum(units))]
    w_per_group = weight_bytes / max(repeat, 1)
    streams = [
        Stream("activations", in_bytes, "input"),
        Stream("indirection re-reads", in_bytes * max(0.0, input_reuse - 1.0), "fit", reuse_footprint, True),
        Stream("weights", weight_bytes, "weights"),
        Stream(
            "weight passes",
            weight_bytes * (panels - 1),
            "fit",
            w_per_group + mr * k * max(taps, 1) * 4,
            shared=True,
        ),
        Stream("outputs", out_bytes, "output"),
    ]
    name, bound = _inner(bc, mk.gemm_k_body, mr, 8, 8)
    return Work(
        family=family,
        label=label,
        chunks=chunks,
        streams=streams,
        inner=name,
        bound=bound,
        detail={"tiles": panels * col_tiles * repeat, "mr": mr},
    )


# ---------------------------------------------------------------------------------- depthwise


def dwconv_chw_work(
    bc: mk.BodyCache,
    *,
    channels: int,
    ho: int,
    wo: int,
    stride: int,
    batch: int,
    in_bytes: float,
    out_bytes: float,
    threads: int,
) -> Work:
    """XNNPACK CHW depthwise 3x3 (`functional.dwconv3x3_chw`): per channel, groups of 3 (stride 1) or 2
    (stride 2) output rows, ceil(Wo/4) loop iterations each (the last one the masked remainder block)."""
    if stride == 1:
        body, rows, per_group = mk.dwconv_chw_s1_body, mk.dwconv_chw_s1_rows_body, 3
    else:
        body, rows, per_group = mk.dwconv_chw_s2_body, mk.dwconv_chw_s2_rows_body, 2
    groups = math.ceil(ho / per_group)
    channel = bc.cycles(mk.dwconv_chw_channel_body) + groups * (
        bc.cycles(rows) + math.ceil(wo / 4) * bc.cycles(body)
    )
    units = [channel] * (channels * batch)
    name, bound = _inner(bc, body)
    return Work(
        family="dwconv_chw",
        label=f"dwconv chw 3x3s{stride} {'3x4' if stride == 1 else '2x4'}",
        chunks=units if threads > 1 else [float(sum(units))],  # XNNPACK: one task per channel
        streams=[
            Stream("activations", in_bytes, "input"),
            Stream("weights", channels * 10 * FLOAT_BYTES, "weights"),
            Stream("outputs", out_bytes, "output"),
        ],
        inner=name,
        bound=bound,
        detail={"row_groups": groups * channels * batch},
    )


def dwconv_chw_trace(channels: int, ho: int, wo: int, stride: int) -> KernelTrace:
    tr = KernelTrace()
    groups = math.ceil(ho / (3 if stride == 1 else 2))
    tr.rows[("dwconv", stride, "channel")] = channels
    tr.rows[("dwconv", stride, "rowgroup")] = channels * groups
    tr.iterations[("dwconv", stride)] = channels * groups * math.ceil(wo / 4)
    return tr


def dwconv_hwc_work(
    bc: mk.BodyCache,
    *,
    channels: int,
    ho: int,
    wo: int,
    kh: int,
    kw: int,
    stride: int,
    w_in: int,
    batch: int,
    in_bytes: float,
    out_bytes: float,
    threads: int,
) -> Work:
    """NHWC depthwise up-kernel (`functional.dwconv_hwc`): per output pixel, ceil(C/8) channel tiles."""
    taps = kh * kw
    pixel = bc.cycles(mk.dwconv_hwc_pixel_body, taps) + math.ceil(channels / 8) * bc.cycles(
        mk.dwconv_hwc_body, taps
    )
    units = [pixel * wo] * (ho * batch)
    rows_footprint = kh * w_in * channels * FLOAT_BYTES
    weight_bytes = channels * (taps + 1) * FLOAT_BYTES
    name, bound = _inner(bc, mk.dwconv_hwc_body, taps)
    return Work(
        family="dwconv_hwc",
        label=f"dwconv hwc {taps}p8c",
        chunks=group_units(units, threads),
        streams=[
            Stream("activations", in_bytes, "input"),
            Stream("row re-reads", in_bytes * max(0.0, kh / stride - 1.0), "fit", rows_footprint, True),
            Stream("weights", weight_bytes, "weights"),
            Stream("weight re-reads", weight_bytes * ho * wo * batch, "fit", weight_bytes, True, shared=True),
            Stream("outputs", out_bytes, "output"),
        ],
        inner=name,
        bound=bound,
    )


# ------------------------------------------------------------------------------------ vector ops


def eltwise_work(
    bc: mk.BodyCache,
    *,
    elements: int,
    inputs: int,
    vops: int,
    in_bytes: float,
    out_bytes: float,
    threads: int,
) -> Work:
    per4 = bc.cycles(mk.eltwise_body, inputs, vops)
    total = math.ceil(elements / 4) * per4
    name, bound = _inner(bc, mk.eltwise_body, inputs, vops)
    return Work(
        family="eltwise",
        label="eltwise",
        chunks=[total / threads] * threads,
        streams=[Stream("inputs", in_bytes, "input"), Stream("outputs", out_bytes, "output")],
        inner=name,
        bound=bound,
    )


def reduce_work(bc: mk.BodyCache, *, elements: int, outputs: int, in_bytes: float, threads: int) -> Work:
    """Global average pool (CHW): stream the input, one reduction per channel."""
    total = math.ceil(elements / 4) * bc.cycles(mk.reduce_body) + outputs * bc.cycles(mk.eltwise_body, 1, 1)
    name, bound = _inner(bc, mk.reduce_body)
    return Work(
        family="reduce",
        label="gavgpool",
        chunks=[total / threads] * threads,
        streams=[
            Stream("inputs", in_bytes, "input"),
            Stream("outputs", outputs * FLOAT_BYTES, "output"),
        ],
        inner=name,
        bound=bound,
    )


def fused_work(producer: str) -> Work:
    return Work(family="fused", label="fused", chunks=[0.0], streams=[], detail={"into": producer})
