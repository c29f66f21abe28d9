"""The host side of the op engine: one op of the simulator's schedule (its mapping and operands) as a
descriptor and the DRAM image the engine reads, and the engine's result words back as tiles.

The mapping is the scheduler's `GemmMapping` (dataflow, mode, m/n/k as run, repeat, block, order), taken as
given (nothing here imports the scheduler). Operand words are the array's stream words (compressed weights:
values + indices per lane, host.tile_streams), weights and results each as `beats_per_word` AXI beats (low
bits first), activations packed (E elements per lane, `pack_acts`, lines of descriptor.act_line_bits), in the
region layouts the sequencer walks (sequencer.py docstring); `operands[r]` is repeat r's (A, B) as
sparsesim.sat.numerics takes them. DRAM addresses here count beats (the DRAM model's words).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sparsesim.sat import numerics

from ..config import ArrayConfig, log2
from ..host import tile_streams
from .descriptor import (
    DATA_BYTES,
    ORDERS,
    act_line_bits,
    act_packed_bits,
    act_shift,
    beats_per_word,
    pack_descriptor,
    result_dram_bits,
)


@dataclass
class OpImage:
    desc: int
    words: dict[int, int]  # beat address -> beat (DATA_BYTES wide)
    result_lo: int  # beat addresses of the result region [lo, hi)
    result_hi: int
    end: int  # first free beat after the op's regions
    fields: dict = field(default_factory=dict)
    w_end: int = 0  # first beat after the weights (the activations start at the next line)


def _slice_a(a, mode, r0: int, r1: int, k0: int, k1: int):
    if isinstance(a, numerics.SparseA):
        g0, g1 = k0 // int(mode.m), k1 // int(mode.m)
        return numerics.SparseA(a.values[r0:r1, g0:g1], a.indices[r0:r1, g0:g1], a.m_group)
    return a[r0:r1, k0:k1]


def _elements(cfg: ArrayConfig, mode) -> int:
    return int(mode.m) if mode.sparse else cfg.multipliers


def _to_beats(words: list[int], word_bits: int) -> list[int]:
    """Stream words as bus beats, low bits first."""
    bpw, mask = beats_per_word(word_bits), (1 << (8 * DATA_BYTES)) - 1
    return [(w >> (8 * DATA_BYTES * j)) & mask for w in words for j in range(bpw)]


def log2_elements(cfg: ArrayConfig, mode) -> int:
    """log2 of E, the elements per lane of an activation word in `mode` (M in N:M mode, P dense)."""
    return log2(_elements(cfg, mode))


def pack_acts(cfg: ArrayConfig, words: list[int], log2e: int) -> list[int]:
    """Activation words (the array's, MMAX elements per lane) packed: E = 2**log2e elements per lane, words
    back to back in lines of act_line_bits (low bits first), the last line zero-padded; as bus beats."""
    e, mmax, eb = 1 << log2e, cfg.max_m, cfg.operand_bits
    lane_full, lane_used = mmax * eb, e * eb
    pbits = act_packed_bits(cfg, log2e)
    per_line = 1 << act_shift(cfg, log2e)
    line_bits = act_line_bits(cfg)
    lines = []
    for i in range(0, len(words), per_line):
        line = 0
        for j, w in enumerate(words[i : i + per_line]):
            packed = 0
            for lane in range(cfg.lanes):
                group = (w >> (lane * lane_full)) & ((1 << lane_full) - 1)
                if group >> lane_used:
                    raise ValueError(f"activation word {i + j}: lane {lane} has elements beyond E = {e}")
                packed |= group << (lane * lane_used)
            line |= packed << (j * pbits)
        lines.append(line)
    return _to_beats(lines, line_bits)


def _n_blocks(mapping) -> list[tuple[int, int]]:
    """The op's n-blocks as (first column, columns): WS the equalised stream lengths (`n_r` of `n_q + 1`
    columns, then `n_q`), OS blocks of Nb columns."""
    N, nb = mapping.n, mapping.block[1]
    if mapping.dataflow == "ws":
        n_q, n_r = divmod(N, math.ceil(N / nb))
        widths = [n_q + 1] * n_r + [n_q] * (math.ceil(N / nb) - n_r)
    else:
        widths = [min(nb, N - c0) for c0 in range(0, N, nb)]
    starts = [sum(widths[:i]) for i in range(len(widths))]
    return list(zip(starts, widths))


def block_words(cfg: ArrayConfig, mapping) -> tuple[int, int, int]:
    """Words of the op's largest weight block, activation block and output block (the engine's block buffer
    halves and its out buffer must hold them)."""
    mode = mapping.mode
    e = _elements(cfg, mode)
    slots = cfg.slots if mode.interleave else 1
    M, K = mapping.m, mapping.k
    mb, _, kb = (min(x, d) for x, d in zip(mapping.block, (M, mapping.n, K)))
    steps = math.ceil(kb / e)
    if mapping.dataflow == "ws":
        kt = math.ceil(kb / (cfg.rows * e))
        width = max(w for _, w in _n_blocks(mapping))
        mt = math.ceil(mb / cfg.cols)
        return mt * kt * cfg.rows, kt * width, mt * width
    n_cap = cfg.cols * slots
    nt = math.ceil(min(mapping.block[1], mapping.n) / n_cap)
    mt = math.ceil(mb / cfg.rows)
    return mt * steps, nt * steps * slots, mt * nt * cfg.rows * slots


def build_image(cfg: ArrayConfig, mapping, operands: list, *, base_word: int = 0) -> OpImage:
    """Descriptor + DRAM beats of the op; its regions start at beat `base_word` (weights, activations,
    results, each directly after the previous one), each operand's blocks in the order the sequencer
    addresses them (sequencer.py docstring)."""
    mode = mapping.mode
    if len(operands) != mapping.repeat:
        raise ValueError(f"{len(operands)} operand pairs for repeat={mapping.repeat}")
    M, N, K = mapping.m, mapping.n, mapping.k
    e = _elements(cfg, mode)
    slots = cfg.slots if mode.interleave else 1
    mb, _, kb = (min(x, d) for x, d in zip(mapping.block, (M, N, K)))
    ws = mapping.dataflow == "ws"
    tile_m = cfg.cols if ws else cfg.rows
    kt = cfg.rows * e
    n_cap = cfg.cols * slots
    k_blocks = [(k0, min(K, k0 + kb)) for k0 in range(0, K, kb)]
    weights: list[int] = []
    acts: list[int] = []
    results = 0
    for a, b in operands:
        for k0, k1 in k_blocks:
            for bm in range(0, M, mb):
                for r0 in range(bm, min(M, bm + mb), tile_m):
                    r1 = min(M, r0 + tile_m)
                    parts = [(t0, min(k1, t0 + kt)) for t0 in range(k0, k1, kt)] if ws else [(k0, k1)]
                    for t0, t1 in parts:
                        weights += tile_streams(cfg, mode, _slice_a(a, mode, r0, r1, t0, t1),
                                                b[t0:t1, :1]).weights  # fmt: skip
        one_row = _slice_a(a, mode, 0, 1, 0, K)
        for c0, width in _n_blocks(mapping):
            for k0, k1 in k_blocks:
                row = _slice_a(one_row, mode, 0, 1, k0, k1)
                if ws:
                    for t0 in range(k0, k1, kt):
                        t1 = min(k1, t0 + kt)
                        acts += tile_streams(cfg, mode, _slice_a(one_row, mode, 0, 1, t0, t1),
                                             b[t0:t1, c0 : c0 + width]).acts  # fmt: skip
                else:
                    for t0 in range(c0, c0 + width, n_cap):
                        acts += tile_streams(cfg, mode, row, b[k0:k1, t0 : min(c0 + width, t0 + n_cap)]).acts
        # the final sums only (the engine accumulates the k-tiles' and k-blocks' parts on chip)
        if ws:
            results += math.ceil(M / cfg.cols) * N
        else:
            results += math.ceil(M / cfg.rows) * math.ceil(N / n_cap) * cfg.rows * slots
    weights = _to_beats(weights, cfg.weights_layout.size)
    # each repeat's activation region from a whole line (the sequencer's stride)
    log2e = log2_elements(cfg, mode)
    per_rep = len(acts) // mapping.repeat
    acts = [b for r in range(mapping.repeat)
            for b in pack_acts(cfg, acts[r * per_rep : (r + 1) * per_rep], log2e)]  # fmt: skip
    results *= beats_per_word(result_dram_bits(cfg))
    line_beats = act_line_bits(cfg) // (8 * DATA_BYTES)
    w_base = base_word
    a_base = -(-(w_base + len(weights)) // line_beats) * line_beats  # activation lines are line-aligned
    r_base = a_base + len(acts)
    words = {w_base + i: w for i, w in enumerate(weights)} | {a_base + i: w for i, w in enumerate(acts)}
    n_q = n_r = 0
    if ws:
        n_q, n_r = divmod(N, math.ceil(N / mapping.block[1]))
    fields = dict(
        os=int(not ws), sparse=int(mode.sparse), nm_n=int(mode.n or 0),
        log2m=log2(int(mode.m)) if mode.sparse else 0, interleave=int(mode.interleave),
        order=ORDERS.index(mapping.order), m=M, n=N, k=K, repeat=mapping.repeat, mb=mb,
        nb=min(mapping.block[1], N), kb=kb, n_q=n_q, n_r=n_r, w_base=w_base * DATA_BYTES,
        a_base=a_base * DATA_BYTES, r_base=r_base * DATA_BYTES,
    )  # fmt: skip
    return OpImage(pack_descriptor(cfg, **fields), words, r_base, r_base + results, r_base + results, fields,
                   w_base + len(weights))  # fmt: skip


def write_hex(path, words: dict[int, int], *, data_bytes: int = DATA_BYTES) -> None:
    """$readmemh file: `@addr` then one word per line for each run of consecutive addresses."""
    digits = 2 * data_bytes
    lines, prev = [], None
    for addr in sorted(words):
        if prev is None or addr != prev + 1:
            lines.append(f"@{addr:x}")
        lines.append(f"{words[addr]:0{digits}x}")
        prev = addr
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def read_hex(path) -> list[int]:
    """A $writememh dump as words (address markers skipped: the dump is one contiguous range)."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("//")[0].strip()
            if line and not line.startswith("@"):
                out.append(int(line, 16))
    return out


def tile_words(cfg: ArrayConfig, results: list[int], beats: list[int]) -> list[list[int]]:
    """The result region (bus beats) as result payload words split per tile (`beats[i]` words each)."""
    bpw = beats_per_word(result_dram_bits(cfg))
    if len(results) % bpw:
        raise ValueError(f"{len(results)} result beats are not whole {bpw}-beat words")
    results = [
        sum(b << (8 * DATA_BYTES * j) for j, b in enumerate(results[i : i + bpw]))
        for i in range(0, len(results), bpw)
    ]
    out, i = [], 0
    mask = (1 << result_dram_bits(cfg)) - 1
    for n in beats:
        out.append([w & mask for w in results[i : i + n]])
        i += n
    if i != len(results):
        raise ValueError(f"{len(results)} result words for {i} expected")
    return out


__all__ = ["OpImage", "block_words", "build_image", "log2_elements", "pack_acts", "write_hex", "read_hex",
           "tile_words"]
