"""Functional (numpy, fp32) versions of the mobile kernels, structured like the micro-kernels they model.

Each kernel walks its operand the way the real kernel does (register tiles, remainder tiles, the sparse
format's own arrays) and can record a `KernelTrace` of what it executed: tiles per size, output-row
prologues/epilogues, inner-loop iterations. `tests/mobile` checks every kernel against torch on random
layers and checks that `costs.py` predicts exactly the trace the functional kernel records.

Layouts: CHW activations are `[C, H, W]` (batch 1); NHWC ones `[H, W, C]`; weights are torch layout.
The GEMM view of a conv is `im2col(x)` with rows in torch's unfold order (cin, kh, kw).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..sparsity.formats import FLOAT_BYTES, BlockCSR, CSRDelta, NMTensor

F32 = np.float32


@dataclass
class KernelTrace:
    """Counts of what a kernel executed, keyed by (MR, NR) micro-tile shape."""

    tiles: Counter = field(default_factory=Counter)  # MR -> pixel tiles
    rows: Counter = field(default_factory=Counter)  # (MR, NR) -> output-row prologue/epilogues
    iterations: Counter = field(default_factory=Counter)  # (MR, NR) -> inner-loop iterations (nonzero blocks)
    pack_rows: Counter = field(default_factory=Counter)  # MR -> packed reduction rows
    groups: Counter = field(default_factory=Counter)  # MR -> N:M groups visited
    # when a dict: operand name -> flat element indices the kernel read/wrote (for the address-stream tests)
    touched: dict[str, list[np.ndarray]] | None = None

    def touch(self, name: str, idx: np.ndarray) -> None:
        if self.touched is not None:
            self.touched.setdefault(name, []).append(np.asarray(idx, dtype=np.int64).ravel())


def _t(trace: KernelTrace | None) -> KernelTrace:
    return trace if trace is not None else KernelTrace()


def pixel_subtiles(pixels: int, mr: int) -> list[int]:
    """XNNPACK's pixel tiling: full MR tiles, then the remainder as powers of two from high to low
    (MR=32, 49 pixels -> [32, 16, 1]; the f32-spmm remainder paths)."""
    tiles = [mr] * (pixels // mr)
    rem = pixels % mr
    bit = 1 << max(0, (mr - 1).bit_length())
    while rem:
        if rem >= bit:
            tiles.append(bit)
            rem -= bit
        bit >>= 1
    return tiles


def _clamp(acc: np.ndarray, out_min: float, out_max: float) -> np.ndarray:
    return np.minimum(np.maximum(acc, F32(out_min)), F32(out_max))


# ------------------------------------------------------------------------------------------ im2col


def conv_out_size(size: int, k: int, stride: int, pad: int, dilation: int = 1) -> int:
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def im2col(
    x: np.ndarray, kh: int, kw: int, stride: tuple[int, int], padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:  # fmt: skip
    """`[C, H, W]` -> `[C*kh*kw, Ho*Wo]` with rows in (c, i, j) order (torch.nn.functional.unfold)."""
    c, h, w = x.shape
    ho = conv_out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = conv_out_size(w, kw, stride[1], padding[1], dilation[1])
    xp = np.pad(x, ((0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    cols = np.empty((c, kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilation[0], j * dilation[1]
            cols[:, i, j] = xp[:, r0 : r0 + stride[0] * ho : stride[0], c0 : c0 + stride[1] * wo : stride[1]]
    return cols.reshape(c * kh * kw, ho * wo)


# ------------------------------------------------------------------------------------ dense GEMM


def gemm_blocked(
    a: np.ndarray,
    b: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    mr: int = 6,
    nr: int = 8,
    out_min: float = -np.inf,
    out_max: float = np.inf,
    trace: KernelTrace | None = None,
) -> np.ndarray:
    """C[M x N] = A[M x K] . B[K x N] (+ bias[N]) with XNNPACK's register blocking: MR x NR output tiles
    (rows beyond M alias the last row, columns beyond N are computed and not stored), k in blocks of
    8 (main loop) then 4, 2, 1 (remainders), accumulating rank-1 updates in fp32."""
    tr = _t(trace)
    a = np.asarray(a, dtype=F32)
    b = np.asarray(b, dtype=F32)
    m, k = a.shape
    n = b.shape[1]
    bias = np.zeros(n, F32) if bias is None else np.asarray(bias, F32)
    c = np.empty((m, n), F32)
    n_pad = -(-n // nr) * nr
    b_pad = np.zeros((k, n_pad), F32)
    b_pad[:, :n] = b
    bias_pad = np.zeros(n_pad, F32)
    bias_pad[:n] = bias
    for i0 in range(0, m, mr):
        rows = np.minimum(np.arange(i0, i0 + mr), m - 1)
        a_tile = a[rows]
        for j0 in range(0, n_pad, nr):
            tr.tiles[mr] += 1
            tr.touch("a", rows[:, None] * k + np.arange(k)[None, :])
            acc = np.repeat(bias_pad[None, j0 : j0 + nr], mr, axis=0)
            kk = 0
            for kb in (8, 4, 2, 1):
                while k - kk >= kb:
                    tr.iterations[(mr, kb)] += 1
                    for s in range(kk, kk + kb):
                        acc += a_tile[:, s, None] * b_pad[None, s, j0 : j0 + nr]
                    kk += kb
                    if kb != 8:
                        break
            cols = slice(j0, min(j0 + nr, n))
            valid = rows[: min(mr, m - i0)]
            tr.touch("c", valid[:, None] * n + np.arange(cols.start, cols.stop)[None, :])
            c[valid, cols] = _clamp(acc[: len(valid), : cols.stop - j0], out_min, out_max)
    return c


def conv2d_gemm(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    groups: int = 1,
    trace: KernelTrace | None = None,
) -> np.ndarray:
    """Dense conv as im2col + the 6x8 GEMM (NHWC orientation: rows = output pixels, columns = Cout)."""
    cout, cin_g, kh, kw = w.shape
    cin = x.shape[0]
    outs = []
    for g in range(groups):
        xs = x[g * cin_g : (g + 1) * cin_g]
        cols = im2col(xs, kh, kw, stride, padding)
        wg = w[g * (cout // groups) : (g + 1) * (cout // groups)].reshape(cout // groups, -1)
        bg = None if bias is None else bias[g * (cout // groups) : (g + 1) * (cout // groups)]
        outs.append(gemm_blocked(cols.T, wg.T, bg, trace=trace).T)
    assert cin == cin_g * groups
    ho = conv_out_size(x.shape[1], kh, stride[0], padding[0])
    wo = conv_out_size(x.shape[2], kw, stride[1], padding[1])
    return np.concatenate(outs, axis=0).reshape(cout, ho, wo)


def linear_gemm(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, *, trace=None) -> np.ndarray:
    """y[M x N] = x[M x K] . w[N x K]^T with the 1x8 kernel for one row, 6x8 otherwise."""
    x2 = np.atleast_2d(x)
    mr = 1 if x2.shape[0] == 1 else 6
    return gemm_blocked(x2, np.asarray(w).T, bias, mr=mr, trace=trace)


# -------------------------------------------------------------------------------- depthwise CHW


def dwconv3x3_chw(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: int = 1,
    out_min: float = -np.inf,
    out_max: float = np.inf,
    trace: KernelTrace | None = None,
) -> np.ndarray:
    """XNNPACK's CHW depthwise 3x3, padding 1: stride 1 in tiles of 3 output rows x 4 pixels
    (`3x3p1__aarch64_neonfma_3x4`), stride 2 in 2 rows x 4 pixels (`3x3s2p1__aarch64_neonfma_2x4_acc2`,
    two partial sums). The last 1..4 pixels of a row are a masked block. `w` is [C, 1, 3, 3]."""
    tr = _t(trace)
    c, h, wd = x.shape
    x = np.asarray(x, F32)
    wk = np.asarray(w, F32).reshape(c, 3, 3)
    bias = np.zeros(c, F32) if bias is None else np.asarray(bias, F32)
    ho, wo = conv_out_size(h, 3, stride, 1), conv_out_size(wd, 3, stride, 1)
    tile_rows = 3 if stride == 1 else 2
    # Zero padding: one row/column on each side plus room for full 4-pixel vectors at the right edge.
    xp = np.zeros((c, h + 2 + stride * tile_rows, wd + 2 + 8 * stride), F32)
    xp[:, 1 : h + 1, 1 : wd + 1] = x
    y = np.empty((c, ho, wo), F32)
    for ch in range(c):
        tr.rows[("dwconv", stride, "channel")] += 1
        for r0 in range(0, ho, tile_rows):
            tr.rows[("dwconv", stride, "rowgroup")] += 1
            for c0 in range(0, wo, 4):
                tr.iterations[("dwconv", stride)] += 1
                if stride == 1:
                    acc = np.full((tile_rows, 4), bias[ch], F32)
                    for dy in range(3):
                        for dx in range(3):
                            acc += wk[ch, dy, dx] * xp[ch, r0 + dy : r0 + dy + 3, c0 + dx : c0 + dx + 4]
                else:
                    p0 = np.full((tile_rows, 4), bias[ch], F32)  # two partial sums ("acc2")
                    p1 = np.zeros((tile_rows, 4), F32)
                    for t, (dy, dx) in enumerate((dy, dx) for dy in range(3) for dx in range(3)):
                        rows = slice(2 * r0 + dy, 2 * r0 + dy + 2 * tile_rows, 2)
                        cols = slice(2 * c0 + dx, 2 * c0 + dx + 8, 2)
                        part = wk[ch, dy, dx] * xp[ch, rows, cols]
                        if t % 2:
                            p1 += part
                        else:
                            p0 += part
                    acc = p0 + p1
                nr_rows, nr_cols = min(tile_rows, ho - r0), min(4, wo - c0)
                y[ch, r0 : r0 + nr_rows, c0 : c0 + nr_cols] = _clamp(acc, out_min, out_max)[
                    :nr_rows, :nr_cols
                ]
    return y


def dwconv_hwc(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (1, 1),
    channel_tile: int = 8,
    trace: KernelTrace | None = None,
) -> np.ndarray:
    """NHWC depthwise conv (XNNPACK up-kernel style): per output pixel, tiles of 8 channels, taps through
    an indirection of input rows (padding reads a zero row). `x` is [H, W, C], `w` [C, 1, kh, kw];
    returns [Ho, Wo, C]."""
    tr = _t(trace)
    h, wd, c = x.shape
    kh, kw = w.shape[2:]
    ho = conv_out_size(h, kh, stride[0], padding[0])
    wo = conv_out_size(wd, kw, stride[1], padding[1])
    xp = np.zeros((h + 2 * padding[0], wd + 2 * padding[1], c), F32)
    xp[padding[0] : padding[0] + h, padding[1] : padding[1] + wd] = x
    wt = np.asarray(w, F32).reshape(c, kh * kw).T  # [taps, C]
    bias = np.zeros(c, F32) if bias is None else np.asarray(bias, F32)
    y = np.empty((ho, wo, c), F32)
    for oy in range(ho):
        for ox in range(wo):
            tr.rows[("dwconv_hwc", kh * kw)] += 1
            for c0 in range(0, c, channel_tile):
                tr.iterations[("dwconv_hwc", kh * kw)] += 1
                cs = slice(c0, min(c0 + channel_tile, c))
                acc = bias[cs].copy()
                for t in range(kh * kw):
                    i, j = divmod(t, kw)
                    acc += wt[t, cs] * xp[oy * stride[0] + i, ox * stride[1] + j, cs]
                y[oy, ox, cs] = acc
    return y


# ----------------------------------------------------------------------------- XNNPACK SpMM (CHW)


def spmm_csr_delta(
    packed: CSRDelta,
    x: np.ndarray,
    *,
    mr: int = 32,
    out_min: float = -np.inf,
    out_max: float = np.inf,
    trace: KernelTrace | None = None,
) -> np.ndarray:
    """XNNPACK `f32-spmm` on its packed format: Y[Cout x P] = W . X[Cin x P] + bias.

    Walks the format like the kernel: pixel tiles (MR, then the power-of-two remainders); per tile, the
    input pointer starts at `first_input_channel` and every nonzero block advances it by its byte delta
    (`input_channel_diffs`, scaled by the plane stride at setup); `output_channel_nonzeros` gives each
    output-channel block's trip count; `values` holds per block NR biases then NR weights per nonzero.
    Full NR blocks run the MRxNR loop, the Cout % NR remainder channels the MRx1 loop."""
    tr = _t(trace)
    x = np.asarray(x, F32)
    cout = packed.cout
    pixels = x.shape[1]
    nr = packed.nr
    full = packed.num_full_blocks
    counts = packed.output_channel_nonzeros.astype(np.int64)
    # The kernel's running input pointer, in channel units: start at the first nonzero's channel, add each
    # delta after use. (The wrap-around delta of the last block returns it to the start.)
    steps = packed.input_channel_diffs.astype(np.int64) // FLOAT_BYTES
    ks = packed.first_input_channel + np.concatenate([[0], np.cumsum(steps[:-1])]) if steps.size else steps
    vals = packed.values.astype(F32)
    y = np.empty((cout, pixels), F32)
    p0 = 0
    for m in pixel_subtiles(pixels, mr):
        tr.tiles[m] += 1
        xt = x[:, p0 : p0 + m]
        vpos = 0
        nz = 0
        for blk in range(counts.size):
            width = nr if blk < full else 1
            ch0 = blk * nr if blk < full else full * nr + (blk - full)
            cnt = int(counts[blk])
            tr.rows[(m, width)] += 1
            tr.iterations[(m, width)] += cnt
            acc = np.repeat(vals[vpos : vpos + width, None], m, axis=1)
            vpos += width
            tr.touch("y", (ch0 + np.arange(width))[:, None] * pixels + np.arange(p0, p0 + m)[None, :])
            if cnt:
                tr.touch("x", ks[nz : nz + cnt][:, None] * pixels + np.arange(p0, p0 + m)[None, :])
                w_blk = vals[vpos : vpos + cnt * width].reshape(cnt, width)
                acc += w_blk.T @ xt[ks[nz : nz + cnt]]
                vpos += cnt * width
                nz += cnt
            y[ch0 : ch0 + width, p0 : p0 + m] = _clamp(acc, out_min, out_max)
        p0 += m
    return y


# ------------------------------------------------------------------------ group-sparse (BlockCSR)


def group_spmm(
    bcsr: BlockCSR,
    cols: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    mr: int = 16,
    trace: KernelTrace | None = None,
) -> np.ndarray:
    """Block-CSR (G output channels x 1 reduction row) times the im2col matrix `cols[K x P]`, MNN-style:
    per pixel tile, pack the tile's K rows contiguously, then per block-row initialise G x MR accumulators
    with the bias and add one rank-G update per kept block (its uint16 column picks the packed row)."""
    tr = _t(trace)
    cols = np.asarray(cols, F32)
    cout, g = bcsr.shape[0], bcsr.group_size
    k, pixels = cols.shape
    bias = np.zeros(cout, F32) if bias is None else np.asarray(bias, F32)
    row_ptr = bcsr.row_ptr.astype(np.int64)
    col = bcsr.col_idx.astype(np.int64)
    vals = bcsr.values.astype(F32)
    y = np.empty((cout, pixels), F32)
    p0 = 0
    for m in pixel_subtiles(pixels, mr):
        tr.tiles[m] += 1
        tr.pack_rows[m] += k
        packed = np.ascontiguousarray(cols[:, p0 : p0 + m])
        for b in range(cout // g):
            lo, hi = row_ptr[b], row_ptr[b + 1]
            tr.rows[(m, g)] += 1
            tr.iterations[(m, g)] += int(hi - lo)
            acc = np.repeat(bias[b * g : (b + 1) * g, None], m, axis=1)
            if hi > lo:
                acc += vals[lo:hi].T @ packed[col[lo:hi]]
            y[b * g : (b + 1) * g, p0 : p0 + m] = acc
        p0 += m
    return y


# ---------------------------------------------------------------------------------- N:M kernel


def nm_spmm(
    nmt: NMTensor,
    cols: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    mr: int = 32,
    trace: KernelTrace | None = None,
) -> np.ndarray:
    """N:M weights (NMTensor along Cin = axis 1 of a [Cout, Cin(, kh, kw)] weight) times `cols[K x P]`
    (im2col rows in (cin, tap) order). Per pixel tile the rows are packed in (tap, cin) order, so a group of
    M input channels at one tap is M consecutive packed rows; per output channel and group, the N kept
    weights address their rows with the uint8 in-group index."""
    tr = _t(trace)
    if nmt.axis != 1:
        raise ValueError("the N:M kernel needs the groups along Cin (NMTensor axis 1)")
    cols = np.asarray(cols, F32)
    shape = nmt.shape
    cout, cin = shape[0], shape[1]
    taps = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    k, pixels = cols.shape
    if k != cin * taps:
        raise ValueError(f"cols has {k} rows, the weight reduces over {cin}x{taps}")
    n, m_group = nmt.n, nmt.m
    groups = cin // m_group
    # values/indices: [Cout, (kh, kw,) groups, N] -> [Cout, taps, groups, N]
    vals = nmt.values.reshape(cout, taps, groups, n).astype(F32)
    idx = nmt.indices.reshape(cout, taps, groups, n).astype(np.int64)
    tap = np.arange(taps)[None, :, None, None]
    grp = np.arange(groups)[None, None, :, None]
    packed_rows = (tap * cin + grp * m_group + idx).reshape(cout, -1)  # row in the (tap, cin) packing
    flat_vals = vals.reshape(cout, -1)
    reorder = (np.arange(cin)[None, :] * taps + np.arange(taps)[:, None]).reshape(
        -1
    )  # (tap, cin) -> (cin, tap)
    bias = np.zeros(cout, F32) if bias is None else np.asarray(bias, F32)
    y = np.empty((cout, pixels), F32)
    p0 = 0
    for m in pixel_subtiles(pixels, mr):
        tr.tiles[m] += 1
        tr.pack_rows[m] += k
        packed = cols[reorder, p0 : p0 + m]
        for o in range(cout):
            tr.rows[(m, 1)] += 1
            tr.groups[m] += taps * groups
            tr.iterations[(m, 1)] += taps * groups * n
            y[o, p0 : p0 + m] = bias[o] + flat_vals[o] @ packed[packed_rows[o]]
        p0 += m
    return y
