"""The host's side of one GEMM op on the card's op engine (docs/fpga.md, "Memory and host shell"): the op's
DRAM image (sparsesim.rtl.opengine.image.build_image) placed in the card's DDR4 channels, and the register
sequence that runs it (the map: sparsesim.rtl.opengine.regmap) over any `CardAccess` (XdmaDevice: H2C / C2H
DMA and the AXI-Lite BAR).

Placement (our choice): each operand region in its own DDR4 channel, weights in channel 0, activations in
channel 1, results in channel 2, each at its channel's base (`REGION_CHANNELS`). The engine's three AXI4
masters stream their operands at the same time, and in separate channels their bursts never compete for one
controller; channel 3 is left to the host (the next op's image can be written there while one runs).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from sparsesim.rtl.host import decode_results, tile_streams
from sparsesim.rtl.opengine import regmap
from sparsesim.rtl.opengine.descriptor import DATA_BYTES, beats_per_word, descriptor_layout, pack_descriptor
from sparsesim.rtl.opengine.image import _n_blocks, _slice_a

REGION_CHANNELS = {"weights": 0, "acts": 1, "results": 2}


@dataclass(frozen=True)
class PlacedOp:
    """The op as the card holds it: `writes` (byte address, bytes) to put into DDR4 before the start,
    the descriptor, and the result region (byte address, bytes)."""

    desc: int
    desc_bits: int
    writes: list[tuple[int, bytes]]
    result_addr: int
    result_bytes: int
    fields: dict


def place_op(cfg, img, shell_params, *, data_bytes: int = DATA_BYTES) -> PlacedOp:
    """`img` (an OpImage, beat addresses from its own base) with each region moved to its channel's base."""
    db = data_bytes
    f = img.fields
    lo = {"weights": f["w_base"] // db, "acts": f["a_base"] // db, "results": img.result_lo}
    hi = {"weights": f["a_base"] // db, "acts": f["r_base"] // db, "results": img.result_hi}
    base = {name: shell_params.ddr_map[ch].base for name, ch in REGION_CHANNELS.items()}
    for name in REGION_CHANNELS:
        if (hi[name] - lo[name]) * db > shell_params.ddr_map[REGION_CHANNELS[name]].size:
            size = (hi[name] - lo[name]) * db
            raise ValueError(f"the op's {name} ({size} bytes) do not fit one DDR4 channel")
    writes = []
    for name in ("weights", "acts"):
        beats = [img.words[a] for a in range(lo[name], hi[name])]
        data = b"".join(w.to_bytes(db, "little") for w in beats)
        if data:
            writes.append((base[name], data))
    fields = f | {"w_base": base["weights"], "a_base": base["acts"], "r_base": base["results"]}
    return PlacedOp(
        desc=pack_descriptor(cfg, **fields), desc_bits=descriptor_layout(cfg).size, writes=writes,
        result_addr=base["results"], result_bytes=(img.result_hi - img.result_lo) * db, fields=fields,
    )  # fmt: skip


def beats_of(data: bytes, data_bytes: int = DATA_BYTES) -> list[int]:
    return [int.from_bytes(data[i : i + data_bytes], "little") for i in range(0, len(data), data_bytes)]


class EngineError(RuntimeError):
    """The card's engine is not what the op was built for, refused a register access, or did not finish."""


@dataclass
class EngineRun:
    result_beats: list[int]
    op_cycles: int
    counters: dict[str, int]


def check_identity(card, base: int, cfg, *, data_bytes: int = DATA_BYTES) -> None:
    """The register block at `base` is the op engine's, built for `cfg` (ID, VERSION, ARRAY, BUS)."""
    ident = card.read_reg(base + regmap.ID)
    if ident != regmap.ID_VALUE:
        raise EngineError(f"no op engine at AXI-Lite 0x{base:X}: ID reads 0x{ident:08X}")
    version = card.read_reg(base + regmap.VERSION_REG)
    if version != regmap.VERSION:
        raise EngineError(f"op engine register map version {version}, this driver speaks {regmap.VERSION}")
    arr = regmap.decode_array(card.read_reg(base + regmap.ARRAY))
    want = {"rows": cfg.rows, "cols": cfg.cols, "multipliers": cfg.multipliers, "max_m": cfg.max_m,
            "int8": cfg.precision == "int8", "exact": cfg.accumulator == "exact"}  # fmt: skip
    if arr != want:
        raise EngineError(f"the card's array is {arr}, the op was built for {want}")
    bus = regmap.decode_bus(card.read_reg(base + regmap.BUS))
    want_bus = {"data_bytes": data_bytes, "addr_bits": bus["addr_bits"],
                "desc_words": regmap.desc_words(descriptor_layout(cfg).size)}  # fmt: skip
    if bus != want_bus:
        raise EngineError(f"the card's engine bus {bus}, the op was built for {want_bus}")


def run_placed(card, placed: PlacedOp, base: int, *, timeout_s: float = 10.0, poll_s: float = 1e-4,
               data_bytes: int = DATA_BYTES) -> EngineRun:  # fmt: skip
    """Write the op's image, its descriptor, START; poll STATUS until done; read the results."""
    if card.read_reg(base + regmap.STATUS) & regmap.STATUS_BUSY:
        raise EngineError("the op engine is busy with another op")
    for addr, data in placed.writes:
        card.write_mem(addr, data)
    words = regmap.split_desc(placed.desc, placed.desc_bits)
    for offset, word in zip(regmap.desc_offsets(placed.desc_bits), words):
        card.write_reg(base + offset, word)
    for offset, word in zip(regmap.desc_offsets(placed.desc_bits), words):
        got = card.read_reg(base + offset)
        if got != word:
            raise EngineError(
                f"descriptor register 0x{offset:X} reads 0x{got:08X} after writing 0x{word:08X}"
            )
    before = card.read_reg(base + regmap.STATUS) >> regmap.STATUS_STARTS_SHIFT & 0xFF
    card.write_reg(base + regmap.CTRL, regmap.CTRL_START)
    deadline = time.monotonic() + timeout_s
    while True:
        status = card.read_reg(base + regmap.STATUS)
        started = (status >> regmap.STATUS_STARTS_SHIFT & 0xFF) == (before + 1) & 0xFF
        if started and status & regmap.STATUS_DONE and not status & regmap.STATUS_BUSY:
            break
        if time.monotonic() > deadline:
            raise EngineError(f"the op did not finish within {timeout_s:g} s (STATUS 0x{status:08X})")
        time.sleep(poll_s)
    counters = {name: card.read_reg(base + off) for off, name in regmap.COUNTERS.items()}
    data = card.read_mem(placed.result_addr, placed.result_bytes)
    return EngineRun(beats_of(data, data_bytes), counters["op_cycles"], counters)


def _steps(mapping):
    """The op's block steps ((m0, m1), (n0, n1), (k0, k1)) in the sequencer's order (its docstring:
    k-blocks innermost; `b_resident` n-blocks outside m-blocks, the other orders m-blocks outside)."""
    M, K = mapping.m, mapping.k
    mb, _, kb = (min(x, d) for x, d in zip(mapping.block, (M, mapping.n, K)))
    m_blocks = [(r0, min(M, r0 + mb)) for r0 in range(0, M, mb)]
    n_blocks = [(c0, c0 + w) for c0, w in _n_blocks(mapping)]
    k_blocks = [(k0, min(K, k0 + kb)) for k0 in range(0, K, kb)]
    if mapping.order == "b_resident":
        return [(mm, nn, kk) for nn in n_blocks for mm in m_blocks for kk in k_blocks]
    return [(mm, nn, kk) for mm in m_blocks for nn in n_blocks for kk in k_blocks]


def decode_op(cfg, mapping, operands: list, result_beats: list[int], *, data_bytes: int = DATA_BYTES):
    """The result region's bus beats -> C per repeat as FP32 (INT32) bit patterns [m, n]: the final tiles
    (those that end their outputs' sums: the last k-tile, WS, or the last k-block, OS) in walk order, each
    `result_beats` words of `beats_per_word` beats (rtl/opengine/sequencer.py, "DRAM regions")."""
    bpw = beats_per_word(cfg.result_layout.size, data_bytes)
    if len(result_beats) % bpw:
        raise ValueError(f"{len(result_beats)} result beats are not whole {bpw}-beat words")
    words = [sum(b << (8 * data_bytes * j) for j, b in enumerate(result_beats[i : i + bpw]))
             for i in range(0, len(result_beats), bpw)]  # fmt: skip
    mode, ws = mapping.mode, mapping.dataflow == "ws"
    e = int(mode.m) if mode.sparse else cfg.multipliers
    slots = cfg.slots if mode.interleave else 1
    kt, n_cap = cfg.rows * e, cfg.cols * slots
    last_k = mapping.k - 1
    out, i = [], 0
    for a, b in operands:
        c = np.zeros((mapping.m, mapping.n), dtype=np.uint32)
        for (m0, m1), (n0, n1), (k0, k1) in _steps(mapping):
            if k1 - 1 != last_k:
                continue  # not the last k-block: its sums are added on chip
            if ws:
                t0 = k0 + (math.ceil((k1 - k0) / kt) - 1) * kt  # the block's last k-tile
                tiles = [(r0, min(m1, r0 + cfg.cols), n0, n1, t0, k1) for r0 in range(m0, m1, cfg.cols)]
            else:
                tiles = [(r0, min(m1, r0 + cfg.rows), c0, min(n1, c0 + n_cap), k0, k1)
                         for r0 in range(m0, m1, cfg.rows) for c0 in range(n0, n1, n_cap)]  # fmt: skip
            for r0, r1, c0, c1, t0, t1 in tiles:
                tile = tile_streams(cfg, mode, _slice_a(a, mode, r0, r1, t0, t1), b[t0:t1, c0:c1])
                mask = (1 << cfg.result_layout.size) - 1
                beats = [w & mask for w in words[i : i + tile.result_beats]]
                if len(beats) != tile.result_beats:
                    raise ValueError(f"the result region ends inside a tile ({len(words)} words)")
                c[r0:r1, c0:c1] = decode_results(cfg, tile, beats)
                i += tile.result_beats
        out.append(c)
    if i != len(words):
        raise ValueError(f"{len(words)} result words for the op's {i}")
    return out


def run_op(card, cfg, mapping, operands: list, shell_params, *, timeout_s: float = 10.0,
           data_bytes: int = DATA_BYTES) -> tuple[list[np.ndarray], EngineRun]:  # fmt: skip
    """One GEMM op of the simulator's schedule (its mapping, `operands[r]` = repeat r's (A, B) as
    sparsesim.sat.numerics takes them) on the card's op engine: the engine's identity checked, the image
    placed and written, the op run, its results decoded (C per repeat, FP32 / INT32 bit patterns)."""
    from sparsesim.rtl.opengine.image import build_image

    base = shell_params.lite("acc_ctrl").base
    check_identity(card, base, cfg, data_bytes=data_bytes)
    placed = place_op(cfg, build_image(cfg, mapping, operands), shell_params, data_bytes=data_bytes)
    run = run_placed(card, placed, base, timeout_s=timeout_s, data_bytes=data_bytes)
    return decode_op(cfg, mapping, operands, run.result_beats, data_bytes=data_bytes), run
