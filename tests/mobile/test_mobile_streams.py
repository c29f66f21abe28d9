"""Address streams: the lines a kernel's stream touches are exactly the lines its functional version reads
and writes (functional.py records the elements it touches; the stream generators are separate code)."""

from __future__ import annotations

import numpy as np
import pytest

from sparsesim.mobile import functional as fn
from sparsesim.mobile import streams
from sparsesim.mobile.cache import LINE_BYTES
from sparsesim.sparsity import CSRDelta

X, W, Y = 1 << 20, 1 << 24, 1 << 28


def _lines(base, flat_idx):
    return set(((base + 4 * np.concatenate(flat_idx)) // LINE_BYTES).tolist())


@pytest.mark.parametrize("nr,pixels,mr", [(1, 49, 32), (2, 100, 32), (4, 37, 16), (1, 196, 8)])
def test_spmm_stream_touches_what_the_functional_kernel_reads(nr, pixels, mr):
    rng = np.random.default_rng(nr * 100 + pixels)
    cout, cin = 22, 40
    w = rng.standard_normal((cout, cin)).astype(np.float32)
    if nr == 1:
        w[rng.random(w.shape) < 0.8] = 0
    else:  # whole NR-blocks zero so the blocked layout is used
        keep = rng.random((cout // nr + 1, cin)) < 0.3
        w *= np.repeat(keep, nr, axis=0)[:cout]
    csr = CSRDelta.from_dense(w, nr)
    x = rng.standard_normal((cin, pixels)).astype(np.float32)
    tr = fn.KernelTrace(touched={})
    fn.spmm_csr_delta(csr, x, mr=mr, trace=tr)
    lines, writes, _ = streams.spmm_lines(csr, pixels=pixels, mr=mr, x_base=X, w_base=W, y_base=Y)
    read = set(lines[~writes].tolist())
    wrote = set(lines[writes].tolist())
    x_lines = {ln for ln in read if X // LINE_BYTES <= ln < W // LINE_BYTES}
    assert x_lines == _lines(X, tr.touched["x"])
    assert wrote == _lines(Y, tr.touched["y"])
    # the weight stream: every increment and value line of the packed buffer, nothing past it
    nnz = csr.num_nonzero_blocks
    w_bytes = 4 * (nnz + csr.num_output_channel_blocks + csr.values.size)
    w_lines = {ln for ln in read if W // LINE_BYTES <= ln < Y // LINE_BYTES}
    assert w_lines == set(range(W // LINE_BYTES, (W + w_bytes - 1) // LINE_BYTES + 1))


def test_spmm_gathers_follow_the_nonzero_order():
    """With MR = pixels = 16 (one line per row) the activation lines come in the kernel's nonzero order."""
    w = np.zeros((2, 8), np.float32)
    w[0, [5, 1]] = 1.0
    w[1, [7]] = 1.0
    csr = CSRDelta.from_dense(w, 1)
    lines, writes, _ = streams.spmm_lines(csr, pixels=16, mr=16, x_base=X, w_base=W, y_base=Y)
    x_rows = [(ln - X // LINE_BYTES) for ln in lines[~writes] if X // LINE_BYTES <= ln < W // LINE_BYTES]
    assert x_rows == [1, 5, 7]  # channels ascending within a row, rows in order
    y_rows = [(ln - Y // LINE_BYTES) for ln in lines[writes]]
    assert y_rows == [0, 1]


@pytest.mark.parametrize("m,n,k,mr", [(13, 20, 37, 6), (1, 16, 64, 1), (50, 8, 16, 6)])
def test_gemm_stream_touches_what_the_functional_kernel_reads(m, n, k, mr):
    rng = np.random.default_rng(m + n + k)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    tr = fn.KernelTrace(touched={})
    fn.gemm_blocked(a, b, mr=mr, trace=tr)
    lines, writes, _ = streams.gemm_lines(m, n, k, x_base=X, w_base=W, y_base=Y, mr=mr)
    read = set(lines[~writes].tolist())
    a_lines = {ln for ln in read if ln < W // LINE_BYTES}
    assert a_lines == _lines(X, tr.touched["a"])
    assert set(lines[writes].tolist()) == _lines(Y, tr.touched["c"])
    # packed weights: every line of the (bias + K x 8) blocks, read once per row panel
    w_read = lines[(~writes) & (lines >= W // LINE_BYTES)]
    blocks = -(-n // 8)
    w_bytes = blocks * 8 * 4 * (1 + k)
    assert set(w_read.tolist()) == set(range(W // LINE_BYTES, (W + w_bytes - 1) // LINE_BYTES + 1))
    panels = -(-m // mr)
    assert w_read.size >= panels * (w_bytes // LINE_BYTES)


def test_dwconv_chw_stream_reads_each_input_row_once_per_row_group():
    c, h, w = 2, 12, 32
    lines, writes, _ = streams.dwconv_chw_lines(channels=c, h=h, w=w, stride=1, x_base=X, w_base=W, y_base=Y)
    x_read = lines[(~writes) & (lines < W // LINE_BYTES)]
    # every input line is read; rows at a group boundary are read by two groups (row reuse)
    assert set(x_read.tolist()) == set(range(X // 64, (X + c * h * w * 4) // 64))

    # group r0 (3 output rows) reads input rows r0-1 .. r0+3: rows 2, 3 are read by groups 0 and 3
    # (row reuse across groups), row 1 by group 0 only, row 4 by group 3 only
    def reads_of_row(r):
        row = set(range((X + r * w * 4) // 64, (X + (r + 1) * w * 4) // 64))
        return sum(1 for ln in x_read.tolist() if ln in row)

    assert reads_of_row(2) == reads_of_row(3) == 2 * reads_of_row(1) == 2 * reads_of_row(4)
    assert set(lines[writes].tolist()) == set(range(Y // 64, (Y + c * h * w * 4) // 64))
