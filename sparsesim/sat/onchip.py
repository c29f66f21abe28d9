"""On-chip costs of the SAT-style accelerator: what the buffers' ports, their banks and the address generator
can deliver to the array per beat, and the port demand of an op (docs/sat_model.md, §2 "On-chip costs").

Pure functions on counts the scheduler already has (tile shapes, beats, bytes); no second timing model: an
op's busy time is the larger of the array's cycles (timing contract) and the cycles each port needs for the
op's traffic (a roofline per port), and the difference is reported as `stall_onchip`.

Microarchitecture (our choices, each a preset parameter with its source in `sat.arch`):

- Tensors in the activation and gradient buffers are channel-last (HWC per image): the forward pass's im2col
  column of one output pixel, (kh, kw, cin) for a fixed kh, is one contiguous run of kw x Cin elements.
  Weights are written into the weight buffer pre-tiled in the order the array consumes them (by the host and
  the SORE), so their reads never conflict.
- A buffer's array-side port is `port_bytes` wide, made of port_bytes / word_bytes banks of one URAM word
  each; word addresses map to banks by `bank_mapping` (low-order interleaving in the preset). A beat's
  operand elements are fetched as whole words; the beat takes as many cycles as the busiest bank has
  distinct words to deliver (bank conflicts), at least one.
- The address generator issues `runs_per_cycle` contiguous runs (base, length) per cycle for the gathered
  operands of a beat.
- The out buffer is dual-ported: one port reads (partial sums to accumulate, results to the DMA), one writes
  (partial sums and results); every result of a tile is written, and read back when the reduction continues
  in a later tile (read-modify-write across K splits); col2im accumulates BP results into dX the same way.
- The DMA writes arriving operands through the second port of the operand buffers, so it does not take the
  array's port.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Sampled beats per access pattern: start pixels and reduction tiles at different offsets see different word
# alignments and bank mappings; the mean over this many of each is the op's cycles per beat.
SAMPLE_OFFSETS = 4


@dataclass(frozen=True)
class Layout:
    """How an operand's elements sit in its buffer, in GEMM terms.

    `contig` is the GEMM dim ('m', 'n' or 'k') along which consecutive indices are consecutive addresses for
    up to `run` elements; the next run starts `jump` elements later (im2col: the next kernel row). Consecutive
    indices of the other dim are `stride` elements apart."""

    contig: str
    run: int
    jump: int
    stride: int

    def renamed(self, mapping: dict[str, str]) -> Layout:
        return Layout(mapping.get(self.contig, self.contig), self.run, self.jump, self.stride)


@dataclass(frozen=True)
class Beat:
    """What one beat reads of an operand: `c` consecutive indices along its contiguous dim times `q`
    consecutive indices along the other dim."""

    c: int
    q: int


def beat_access(layout: Layout, counts: dict[str, int]) -> Beat:
    """The block a beat reads, from the counts per GEMM dim the beat covers (e.g. WS stream: {'k': k_t,
    'n': 1})."""
    other = [d for d in counts if d != layout.contig]
    return Beat(c=int(counts.get(layout.contig, 1)), q=int(math.prod(counts[d] for d in other)))


def bank_of(words: np.ndarray, banks: int, mapping: str) -> np.ndarray:
    """Bank of each word address: `interleaved` (word mod banks) or `skewed` (each row of `banks` words
    rotated by its row index: (word + word // banks) mod banks, one adder in the bank select)."""
    if mapping == "skewed":
        return (words + words // banks) % banks
    return words % banks


@lru_cache(maxsize=16384)
def gather_cost(
    layout: Layout, beat: Beat, elem_bytes: int, word_bytes: int, banks: int, mapping: str = "interleaved"
) -> tuple[float, float, float]:
    """(cycles per beat from bank conflicts, contiguous runs per beat, bytes fetched per beat), the mean over
    sampled beats at different start offsets."""
    cycles, runs, fetched = [], [], []
    c, q = beat.c, beat.q
    j = np.arange(c)
    for k_tile in range(SAMPLE_OFFSETS):
        # the beat's first contiguous index: the reduction tile's offset within the run structure
        j0 = k_tile * c
        jj = j0 + j
        within = (jj // layout.run) * layout.jump + jj % layout.run
        n_runs_c = len(np.unique(jj // layout.run))
        for p0 in range(SAMPLE_OFFSETS):
            i = (p0 * q + np.arange(q))[:, None]
            addr = (i * layout.stride + within[None, :]).ravel()
            words = np.unique(addr * elem_bytes // word_bytes)
            load = np.bincount(bank_of(words, banks, mapping), minlength=banks).max()
            cycles.append(max(1, int(load)))
            merged = q > 1 and layout.stride == c == layout.run  # rows that abut form one run
            runs.append(n_runs_c if merged else q * n_runs_c)
            fetched.append(len(words) * word_bytes)
    return float(np.mean(cycles)), float(np.mean(runs)), float(np.mean(fetched))


def port_cycles(nbytes: float, port_bytes_per_cycle: float) -> float:
    return nbytes / port_bytes_per_cycle if port_bytes_per_cycle > 0 else math.inf


def operand_layouts(
    op, node: dict | None, pitch: Callable[[str, int], int] | None = None
) -> tuple[Layout | None, Layout | None]:
    """Layouts of a GemmOp's A and B as lowered (None: a weight, pre-tiled, read without conflicts).

    Conv layers use their geometry (channel-last tensors: a pixel every `pitch(buffer, channels)` elements,
    an image row every `pitch(buffer, width x pixel pitch)`); other operands are stored with the reduction
    contiguous (our choice: the producer writes them in the order their consumer reads them)."""
    pitch = pitch or (lambda _buffer, c: c)
    conv = node is not None and node.get("kind") in ("conv", "dwconv", "gconv") and node.get("in_shapes")
    if conv and node is not None:
        shape = node["in_shapes"][0]
        cin, w_in = int(shape[1]), int(shape[-1])
        kw = int(node.get("kernel", (1, 1))[-1])
        sw = int(node.get("stride", (1, 1))[-1])
        groups = int(node.get("groups", 1))
        cout = int(node["out_shape"][1])
        px = pitch("act", cin)
        # im2col of X: within a kernel row, (kw, cin) is contiguous when the conv is not grouped and the
        # pixels are not padded
        run = kw * cin if groups == 1 and px == cin else cin // max(1, groups)
        x_layout = (run, px if run < kw * cin else pitch("act", w_in * px), sw * px)
        dy_px = pitch("grad", cout)
        dy = (cout // max(1, groups), dy_px, dy_px)
    else:
        x_layout = dy = None

    def side(kind: str, which: str) -> Layout | None:
        if kind == "weight":
            return None

        def rows(contig: str, length: int) -> Layout:  # one token (or row) of `length` features after another
            px = pitch("grad" if kind == "grad" else "act", length)
            return Layout(contig, length, px, px)

        if op.role == "fwd" and which == "B":
            return Layout("k", *x_layout) if x_layout else rows("k", op.k)
        if op.role == "dgrad" and which == "B":
            return Layout("k", *dy) if dy else rows("k", op.k)
        if op.role == "wgrad" and which == "A":
            return Layout("m", *dy) if dy else rows("m", op.m)
        if op.role == "wgrad" and which == "B":
            return Layout("n", *x_layout) if x_layout else rows("n", op.n)
        return rows("k", op.k)

    return side(op.a_kind, "A"), side(op.b_kind, "B")
