"""The address streams of the kernels: which cache lines each kernel touches, in the order it touches them.

Every generator walks the same loop nest as its functional version in `functional.py` (and XNNPACK's
kernel), at cache-line granularity, vectorised with numpy: a line touched several times back to back (e.g.
the 16 floats of one line of a GEMM A row read over 16 k steps) is emitted once, which leaves LRU state and
the prefetcher's decisions unchanged. Addresses are byte addresses of the tensors' buffers (`base` per
tensor, assigned by `AddressSpace`); the result is `(lines, writes)`, int64 line numbers and a store flag.

- `spmm_lines`: per pixel tile, per output-channel block: the count, bias, and per nonzero block its
  int32 increment, NR weights and the MR activations of the input-channel row the increment selects (the
  gather over the real nonzero pattern), then the block's NR output rows (stores).
- `gemm_lines`: XNNPACK GEMM order for one thread (6-row panels outer, 8-column blocks inner; the packed
  weights are re-read per panel): per 16-float k chunk the 6 A-row lines and the 8 lines of packed
  weights, then the 6x8 output tile. `igemm_lines`: the same with A rows taken per tap through the
  indirection buffer (NHWC input pixels, zero row for padding).
- `dwconv_chw_lines`: per channel, per output row group (3 rows at stride 1, 2 at stride 2), per line-wide
  column chunk: the input rows the group reads (5 rows) and its output rows: rows are re-read by the next
  group, the row reuse a cache must hold.
- `dwconv_hwc_lines`: per output pixel, per 16-channel chunk, the 9 (kh x kw) input pixels' lines, the
  weights and the output line.
- `group_lines`: per pixel tile the im2col pack (read K input rows, write the packed tile), then per
  block-row its block values, uint16 column indices and the packed rows they select, then the G output rows.
- `sequential_lines`: inputs read once, weights read once, outputs written once (vector ops and the N:M
  kernel, whose nonzero positions are not kept by `NMShape`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .cache import LINE_BYTES
from .functional import pixel_subtiles

FLOAT_BYTES = 4
Lines = tuple[np.ndarray, np.ndarray]


SAMPLE_RUNS = 4  # our choice: runs of consecutive units a sampled op simulates
SAMPLE_MIN_RUN = 4  # our choice: units per run (the first of each only warms up)


class LineStream(NamedTuple):
    """An op's line stream. When only representative units (pixel tiles, row panels, channels, output
    rows) were generated, `segments` = ((end index, factor), ...): counts from simulating lines up to each
    end are multiplied by its factor (1 for the first unit, 0 for the warm-up unit that starts each
    sampled run, the sampling factor for the others)."""

    lines: np.ndarray
    writes: np.ndarray
    segments: tuple[tuple[int, float], ...] = ()

    @property
    def scale(self) -> float:
        return max((f for _, f in self.segments), default=1.0)


def run_stream(caches, ls: LineStream):
    """Simulate `ls` on a cache hierarchy, weighting each segment's counts by its factor."""
    if not ls.segments:
        return caches.run(ls.lines, ls.writes)
    total, start = None, 0
    for end, factor in ls.segments:
        st = caches.run(ls.lines[start:end], ls.writes[start:end]).scaled(factor)
        total = st if total is None else total.plus(st)
        start = end
    return total


def _sampled(units: int, make, budget: int | None) -> LineStream:
    """Units 0..units-1 of a kernel's loop (make(i) -> Lines). With a `budget` of line accesses, when all
    units would exceed it: unit 0 (counted once), then SAMPLE_RUNS evenly spaced runs of consecutive units
    (at least SAMPLE_MIN_RUN long) whose first unit only warms the caches and the prefetcher (a unit's
    lines are often prefetched by its predecessor), and the last unit (often a remainder tile); the counted
    units stand for all the others: representative tiles, scaled."""
    if units <= 0:
        return LineStream(np.zeros(0, np.int64), np.zeros(0, bool))
    first = make(0)
    per_unit = max(1, first[0].size)
    run = max(SAMPLE_MIN_RUN, budget // (SAMPLE_RUNS * per_unit)) if budget is not None else units
    if budget is None or units * per_unit <= budget or units <= SAMPLE_RUNS * run + 2:
        parts = [first] + [make(i) for i in range(1, units)]
        lines, writes = _dedupe(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        return LineStream(lines, writes)
    starts = np.linspace(1, units - 1 - run, SAMPLE_RUNS).astype(int)
    runs = [list(range(int(s0), int(s0) + run)) for s0 in starts]
    counted = sum(len(r) - 1 for r in runs)
    factor = (units - 1) / counted
    pieces = [(first, 1.0)]
    for r in runs:
        pieces.append((make(r[0]), 0.0))
        pieces.extend((make(i), factor) for i in r[1:])
    # merge consecutive pieces with the same factor into segments
    lines = np.concatenate([p[0][0] for p in pieces])
    writes = np.concatenate([p[0][1] for p in pieces])
    segments: list[tuple[int, float]] = []
    end = 0
    for (ln, _), f in pieces:
        end += ln.size
        if segments and segments[-1][1] == f:
            segments[-1] = (end, f)
        else:
            segments.append((end, f))
    return LineStream(lines, writes, tuple(segments))


@dataclass
class AddressSpace:
    """Bump allocator of line-aligned buffers (tensors by name; aliases for fused ops that write in
    place)."""

    next_byte: int = 1 << 20
    bases: dict[str, int] = field(default_factory=dict)

    def buffer(self, name: str, nbytes: float) -> int:
        if name not in self.bases:
            self.bases[name] = self.next_byte
            size = int(np.ceil(max(float(nbytes), 1.0) / LINE_BYTES)) * LINE_BYTES
            self.next_byte += size + 4096  # a page apart: buffers do not share lines
        return self.bases[name]

    def alias(self, name: str, other: str) -> None:
        if other in self.bases:
            self.bases[name] = self.bases[other]


def _ranges(start: np.ndarray, nbytes: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Lines covered by byte ranges [start, start + nbytes): (first line, line count) per range."""
    start = np.asarray(start, dtype=np.int64)
    first = start // LINE_BYTES
    last = (start + np.asarray(nbytes, dtype=np.int64) - 1) // LINE_BYTES
    return first, last - first + 1


def _expand(first: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All lines of every range, in order; also the index of the range each line belongs to."""
    count = np.asarray(count, dtype=np.int64)
    owner = np.repeat(np.arange(count.size), count)
    offs = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    return np.repeat(first, count) + offs, owner


def _dedupe(lines: np.ndarray, writes: np.ndarray) -> Lines:
    if lines.size == 0:
        return lines, writes
    keep = np.ones(lines.size, dtype=bool)
    keep[1:] = (lines[1:] != lines[:-1]) | (writes[1:] != writes[:-1])
    return lines[keep], writes[keep]


def _ordered(events: list[tuple[np.ndarray, np.ndarray, bool]]) -> Lines:
    """Merge (key, line) event lists by key (stable: equal keys keep list order)."""
    keys = np.concatenate([k for k, _, _ in events])
    lines = np.concatenate([ln for _, ln, _ in events])
    writes = np.concatenate([np.full(ln.size, w, dtype=bool) for _, ln, w in events])
    order = np.argsort(keys, kind="stable")
    return _dedupe(lines[order], writes[order])


# ------------------------------------------------------------------------------------------ SpMM


def spmm_kernel_channels(csr) -> np.ndarray:
    """Input channel of every nonzero block, in the order the kernel visits them (the running pointer:
    first_input_channel, then each increment after use)."""
    steps = csr.input_channel_diffs.astype(np.int64) // FLOAT_BYTES
    if steps.size == 0:
        return steps
    return csr.first_input_channel + np.concatenate([[0], np.cumsum(steps[:-1])])


def spmm_lines(
    csr, *, pixels: int, mr: int, x_base: int, w_base: int, y_base: int, batch: int = 1,
    row_stride_pixels: int | None = None, budget: int | None = None,
) -> LineStream:  # fmt: skip
    """XNNPACK SpMM on CHW activations X[Cin x pixels] -> Y[Cout x pixels] with the packed CSRDelta
    (`w_base` holds: increments, then nonzero counts, then values)."""
    hw = int(row_stride_pixels or pixels)
    nr, full = csr.nr, csr.num_full_blocks
    counts = csr.output_channel_nonzeros.astype(np.int64)
    nblk = counts.size
    width = np.where(np.arange(nblk) < full, nr, 1)
    ch0 = np.where(np.arange(nblk) < full, np.arange(nblk) * nr, full * nr + (np.arange(nblk) - full))
    ks = spmm_kernel_channels(csr)
    nnz = int(counts.sum())
    blk_of = np.repeat(np.arange(nblk), counts)
    nz_start = np.cumsum(counts) - counts
    within = np.arange(nnz) - nz_start[blk_of]
    # values: per block its biases then `width` weights per nonzero block
    vstart = np.cumsum(width * (counts + 1)) - width * (counts + 1)
    inc_base = w_base
    cnt_base = inc_base + FLOAT_BYTES * nnz
    val_base = cnt_base + FLOAT_BYTES * nblk
    w_val = val_base + FLOAT_BYTES * (vstart[blk_of] + width[blk_of] + within * width[blk_of])
    # event keys: block b spans [S_b, S_b + count_b + 2): header, its nonzeros, footer; x 8 slots
    s_b = nz_start + 2 * np.arange(nblk)
    nz_key = (s_b[blk_of] + 1 + within) * 8
    head_key = s_b * 8
    foot_key = (s_b + counts + 1) * 8
    head_lines = np.stack([(cnt_base + FLOAT_BYTES * np.arange(nblk)) // LINE_BYTES,
                           (val_base + FLOAT_BYTES * vstart) // LINE_BYTES], axis=1)  # fmt: skip
    inc_lines = (inc_base + FLOAT_BYTES * np.arange(nnz)) // LINE_BYTES
    wv_lines = w_val // LINE_BYTES
    tiles = pixel_subtiles(pixels, mr)
    starts = np.cumsum([0] + tiles[:-1])
    rows_blk = np.repeat(np.arange(nblk), width)
    rows_ch = np.concatenate([ch0[i] + np.arange(width[i]) for i in range(nblk)]) if nblk else rows_blk
    k_rows = int(np.prod(csr.shape[1:]))

    def unit(i: int) -> Lines:
        b, t = divmod(i, len(tiles))
        m, p0 = tiles[t], int(starts[t])
        x_img = x_base + b * k_rows * hw * FLOAT_BYTES
        y_img = y_base + b * csr.cout * hw * FLOAT_BYTES
        a_first, a_cnt = _ranges(x_img + (ks * hw + p0) * FLOAT_BYTES, m * FLOAT_BYTES)
        a_lines, a_owner = _expand(a_first, a_cnt)
        a_key = nz_key[a_owner] + 2 + (a_lines - a_first[a_owner])
        o_first, o_cnt = _ranges(y_img + (rows_ch * hw + p0) * FLOAT_BYTES, m * FLOAT_BYTES)
        o_lines, o_owner = _expand(o_first, o_cnt)
        return _ordered(
            [
                (np.repeat(head_key, 2), head_lines.ravel(), False),
                (nz_key, inc_lines, False),
                (nz_key + 1, wv_lines, False),
                (a_key, a_lines, False),
                (foot_key[rows_blk[o_owner]], o_lines, True),
            ]
        )

    return _sampled(len(tiles) * batch, unit, budget)


# ------------------------------------------------------------------------------------------ GEMM


def _gemm_core(
    row_addr: np.ndarray, k_bytes: int, n: int, *, mr: int, nr: int, w_base: int, y_base: int,
    y_row_bytes: int, budget: int | None = None,
) -> LineStream:  # fmt: skip
    """row_addr[M, T]: byte address of the T contiguous A segments (one per tap, `k_bytes` each) of every
    output row. Weights: per nr-column block, nr biases then taps x K x nr floats."""
    m_rows, taps = row_addr.shape
    k = k_bytes // FLOAT_BYTES
    nblocks = -(-n // nr)
    block_bytes = nr * FLOAT_BYTES * (1 + taps * k)
    # A: each row segment covers lines first..last (a misaligned row touches one more line); step s of
    # the k loop reads line min(first + s, last) of every row of the panel.
    seg_first = row_addr // LINE_BYTES
    seg_last = (row_addr + k_bytes - 1) // LINE_BYTES
    steps_per_tap = int((seg_last - seg_first).max()) + 1
    j = np.arange(nblocks, dtype=np.int64)
    blk_first = (w_base + j * block_bytes) // LINE_BYTES  # its first line holds the biases
    blk_last = (w_base + (j + 1) * block_bytes - 1) // LINE_BYTES
    nsteps = taps * steps_per_tap
    # the block's weight lines spread evenly over the k steps (the packed K x NR panel is read in order)
    per_step = -(-int((blk_last - blk_first).max() + 1) // nsteps)
    slot = np.arange(nsteps)[:, None] * per_step + np.arange(per_step)[None, :]  # [steps, per_step]
    wlines = np.minimum(blk_first[:, None, None] + slot[None], blk_last[:, None, None])

    def unit(i: int) -> Lines:
        i0 = i * mr
        rows = np.minimum(np.arange(i0, i0 + mr), m_rows - 1)
        nrow = min(mr, m_rows - i0)
        s = np.arange(steps_per_tap)
        a = np.minimum(seg_first[rows][:, :, None] + s[None, None, :], seg_last[rows][:, :, None])
        a = a.transpose(1, 2, 0).reshape(nsteps, mr)  # [taps x steps, mr]
        step = np.concatenate([np.broadcast_to(a, (nblocks,) + a.shape), wlines], axis=2)
        step = step.reshape(nblocks, -1)
        y0 = y_base + rows[None, :nrow] * y_row_bytes + j[:, None] * nr * FLOAT_BYTES
        ncols = np.minimum(nr, n - j * nr)[:, None]
        y = np.concatenate([y0 // LINE_BYTES, (y0 + ncols * FLOAT_BYTES - 1) // LINE_BYTES], axis=1)
        blk2 = np.concatenate([blk_first[:, None], step, y], axis=1)
        wr2 = np.zeros(blk2.shape, dtype=bool)
        wr2[:, -2 * nrow :] = True
        return _dedupe(blk2.ravel(), wr2.ravel())

    return _sampled(-(-m_rows // mr), unit, budget)


def gemm_lines(
    m: int, n: int, k: int, *, x_base: int, w_base: int, y_base: int, mr: int = 6, nr: int = 8,
    budget: int | None = None,
) -> LineStream:  # fmt: skip
    """Dense GEMM C[M x N] = A[M x K] W[K x N] (row-major A and C, XNNPACK-packed W)."""
    row_addr = (x_base + np.arange(m, dtype=np.int64) * k * FLOAT_BYTES)[:, None]
    return _gemm_core(row_addr, k * FLOAT_BYTES, n, mr=mr, nr=nr, w_base=w_base, y_base=y_base,
                      y_row_bytes=n * FLOAT_BYTES, budget=budget)  # fmt: skip


def igemm_lines(
    *, h: int, w: int, cin: int, cout: int, kh: int, kw: int, stride: int, pad: int, ho: int, wo: int,
    x_base: int, w_base: int, y_base: int, zero_base: int, mr: int = 6, nr: int = 8, batch: int = 1,
    budget: int | None = None,
) -> LineStream:  # fmt: skip
    """Dense conv through XNNPACK's indirection buffer on an NHWC input: A row of output pixel p at tap t
    is input pixel (oy*s + ky - pad, ox*s + kx - pad), or the zero buffer when that is padding. The batch
    is folded into the rows (M = batch x Ho x Wo), as XNNPACK does."""
    oy, ox = np.divmod(np.arange(ho * wo), wo)
    ky, kx = np.divmod(np.arange(kh * kw), kw)
    iy = oy[:, None] * stride + ky[None, :] - pad
    ix = ox[:, None] * stride + kx[None, :] - pad
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    addr = np.concatenate(
        [
            np.where(
                inside, x_base + b * h * w * cin * FLOAT_BYTES + (iy * w + ix) * cin * FLOAT_BYTES, zero_base
            )
            for b in range(batch)
        ]
    ).astype(np.int64)
    return _gemm_core(addr, cin * FLOAT_BYTES, cout, mr=mr, nr=nr, w_base=w_base, y_base=y_base,
                      y_row_bytes=cout * FLOAT_BYTES, budget=budget)  # fmt: skip


# ------------------------------------------------------------------------------------- depthwise


def dwconv_chw_lines(
    *, channels: int, h: int, w: int, stride: int, x_base: int, w_base: int, y_base: int, batch: int = 1,
    budget: int | None = None,
) -> LineStream:  # fmt: skip
    """XNNPACK CHW depthwise 3x3 p1: per channel, per output row group (3 rows s1 / 2 rows s2), the
    input rows it reads (rows r*s-1 .. r*s + s*(rows-1) + 1, clipped) and its output rows, column chunk by
    column chunk (one output line of 16 pixels at a time)."""
    ho, wo = (h + 2 - 3) // stride + 1, (w + 2 - 3) // stride + 1
    group = 3 if stride == 1 else 2
    ppl = LINE_BYTES // FLOAT_BYTES
    col0 = np.arange(0, wo, ppl)  # output pixel at the start of each chunk
    r0 = np.arange(0, ho, group)
    in_span = stride * (group - 1) + 3  # input rows a row group reads
    in_rows = r0[:, None] * stride - 1 + np.arange(in_span)[None, :]  # [G, in_span]
    in_ok = (in_rows >= 0) & (in_rows < h)
    out_rows = r0[:, None] + np.arange(group)[None, :]  # [G, group]
    out_ok = out_rows < ho
    # input bytes per chunk: the columns ox*s-1 .. (ox+ppl-1)*s+1 (clipped)
    xs = np.clip(col0 * stride - 1, 0, w - 1)
    xe = np.clip((col0 + ppl - 1) * stride + 1, 0, w - 1)

    def unit(i: int) -> Lines:
        b, c = divmod(i, channels)
        xin = x_base + ((b * channels + c) * h * w) * FLOAT_BYTES
        yout = y_base + ((b * channels + c) * ho * wo) * FLOAT_BYTES
        # [G, chunks, in_span]: first and last line of each input row segment
        fin = (xin + (in_rows[:, None, :] * w + xs[None, :, None]) * FLOAT_BYTES) // LINE_BYTES
        lin = (xin + (in_rows[:, None, :] * w + xe[None, :, None]) * FLOAT_BYTES) // LINE_BYTES
        span = int((lin - fin).max()) + 1
        ins = fin[..., None] + np.arange(span)  # [G, chunks, in_span, span]
        ok_in = (ins <= lin[..., None]) & in_ok[:, None, :, None]
        ins = np.where(ok_in, ins, -1).reshape(r0.size, col0.size, -1)
        outs = (yout + (out_rows[:, None, :] * wo + col0[None, :, None]) * FLOAT_BYTES) // LINE_BYTES
        outs = np.where(out_ok[:, None, :], outs, -1)
        step = np.concatenate([ins, outs], axis=2)
        wflag = np.zeros(step.shape, bool)
        wflag[:, :, ins.shape[2] :] = True
        lines = np.concatenate([[(w_base + c * 10 * FLOAT_BYTES) // LINE_BYTES], step.ravel()])
        flags = np.concatenate([[False], wflag.ravel()])
        keep = lines >= 0
        return _dedupe(lines[keep], flags[keep])

    return _sampled(channels * batch, unit, budget)


def dwconv_hwc_lines(
    *, channels: int, h: int, w: int, kh: int, kw: int, stride: int, pad: int, ho: int, wo: int,
    x_base: int, w_base: int, y_base: int, zero_base: int, batch: int = 1, budget: int | None = None,
) -> LineStream:  # fmt: skip
    """NHWC depthwise: per output pixel, per 16-channel chunk (one line of each tap's input pixel), the
    kh*kw input lines, the chunk's packed weights (bias + taps x 16 floats) and the output line."""
    ppl = LINE_BYTES // FLOAT_BYTES
    chunks = -(-channels // ppl)
    oy, ox = np.divmod(np.arange(ho * wo), wo)
    ky, kx = np.divmod(np.arange(kh * kw), kw)
    iy = oy[:, None] * stride + ky[None, :] - pad
    ix = ox[:, None] * stride + kx[None, :] - pad
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    taps = kh * kw
    wlines = (w_base + np.arange(chunks)[:, None] * (taps + 1) * LINE_BYTES
              + np.arange(taps + 1)[None, :] * LINE_BYTES) // LINE_BYTES  # fmt: skip

    def unit(i: int) -> Lines:  # one output row
        b, r = divmod(i, ho)
        sel = slice(r * wo, (r + 1) * wo)
        img = x_base + b * h * w * channels * FLOAT_BYTES
        pix = np.where(inside[sel], img + (iy[sel] * w + ix[sel]) * channels * FLOAT_BYTES, zero_base)
        ins = (pix[:, None, :] + np.arange(chunks)[None, :, None] * LINE_BYTES) // LINE_BYTES  # [P, ch, taps]
        outs = (y_base + (b * ho * wo + np.arange(r * wo, (r + 1) * wo))[:, None] * channels * FLOAT_BYTES
                + np.arange(chunks)[None, :] * LINE_BYTES) // LINE_BYTES  # fmt: skip
        step = np.concatenate(
            [ins, np.broadcast_to(wlines, (wo, chunks, taps + 1)), outs[:, :, None]], axis=2
        )
        wf = np.zeros(step.shape, bool)
        wf[:, :, -1] = True
        return _dedupe(step.ravel(), wf.ravel())

    return _sampled(ho * batch, unit, budget)


# ----------------------------------------------------------------------------------- group kernel


def group_lines(
    bcsr, *, k: int, pixels: int, mr: int, x_base: int, w_base: int, y_base: int, pack_base: int,
    batch: int = 1, budget: int | None = None,
) -> LineStream:  # fmt: skip
    """Block-CSR (G output channels x 1 reduction row) over a packed tile: per pixel tile, read the
    tile's K im2col rows of the NHWC input (pixel p's K values are contiguous), write them packed [K x
    MR], then per block-row: G biases, per kept block its G values, its uint16 column and the packed row
    it selects; finally the MR x G outputs (NHWC rows)."""
    g = bcsr.group_size
    cout = bcsr.shape[0]
    row_ptr = bcsr.row_ptr.astype(np.int64)
    col = bcsr.col_idx.astype(np.int64)
    nrows = row_ptr.size - 1
    blocks = col.size
    cols_base = w_base + FLOAT_BYTES * blocks * g
    bias_base = cols_base + 2 * blocks
    blk_row = np.repeat(np.arange(nrows), np.diff(row_ptr))
    tiles = pixel_subtiles(pixels, mr)
    starts = np.cumsum([0] + tiles[:-1])

    def unit(i: int) -> Lines:
        b, t = divmod(i, len(tiles))
        m, p0 = tiles[t], int(starts[t])
        img = x_base + b * pixels * k * FLOAT_BYTES
        # pack: read the m input rows (K floats each), write K x m packed floats
        pf, pc = _ranges(img + (p0 + np.arange(m)) * k * FLOAT_BYTES, k * FLOAT_BYTES)
        rd, _ = _expand(pf, pc)
        wr_first, wr_cnt = _ranges(np.array([pack_base]), k * m * FLOAT_BYTES)
        wr_lines, _ = _expand(wr_first, wr_cnt)
        # blocks: values, column index, packed row
        key = (blk_row + np.arange(blocks)) * 4
        vals = (w_base + np.arange(blocks) * g * FLOAT_BYTES) // LINE_BYTES
        cix = (cols_base + 2 * np.arange(blocks)) // LINE_BYTES
        pr_first, pr_cnt = _ranges(pack_base + col * m * FLOAT_BYTES, m * FLOAT_BYTES)
        pr, owner = _expand(pr_first, pr_cnt)
        row_start = (row_ptr[:-1] + np.arange(nrows)) * 4 - 2
        row_end = (row_ptr[1:] + np.arange(nrows)) * 4 - 1
        bias = (bias_base + np.arange(nrows) * g * FLOAT_BYTES) // LINE_BYTES
        oc = (np.arange(nrows)[:, None] * g + np.arange(g)[None, :]).ravel()
        oc = oc[oc < cout]
        o_addr = y_base + ((b * pixels + p0 + np.arange(m))[None, :] * cout + oc[:, None]) * FLOAT_BYTES
        o_lines = (o_addr // LINE_BYTES).ravel()
        o_key = np.repeat(row_end[oc // g], m)
        seq, wflags = _ordered(
            [
                (np.full(rd.size, -3), rd, False),
                (np.full(wr_lines.size, -2), wr_lines, True),
                (row_start, bias, False),
                (key, vals, False),
                (key + 1, cix, False),
                (key[owner] + 2, pr, False),
                (o_key, o_lines, True),
            ]
        )
        return seq, wflags

    return _sampled(len(tiles) * batch, unit, budget)


# ------------------------------------------------------------------------------------ sequential


def sequential_lines(reads: list[tuple[int, float]], writes: list[tuple[int, float]]) -> LineStream:
    """Each (base, bytes) read range once, in order, then each written range."""
    parts: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    for items, w in ((reads, False), (writes, True)):
        for base, nbytes in items:
            if nbytes <= 0:
                continue
            first, cnt = _ranges(np.array([base]), int(nbytes))
            ln, _ = _expand(first, cnt)
            parts.append(ln)
            flags.append(np.full(ln.size, w, dtype=bool))
    if not parts:
        return LineStream(np.zeros(0, np.int64), np.zeros(0, bool))
    return LineStream(np.concatenate(parts), np.concatenate(flags))
