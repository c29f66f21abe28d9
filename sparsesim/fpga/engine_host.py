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


def check_identity(card, base: int, cfg, *, data_bytes: int = DATA_BYTES) -> dict[str, int]:
    """The register block at `base` is the op engine's, built for `cfg` (ID, VERSION, ARRAY, BUS); returns
    its buffers (BLOCKS: words per weight and activation block half, out buffer words)."""
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
    return regmap.decode_blocks(card.read_reg(base + regmap.BLOCKS))


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
    from sparsesim.rtl.opengine.image import block_words, build_image

    base = shell_params.lite("acc_ctrl").base
    blocks = check_identity(card, base, cfg, data_bytes=data_bytes)
    need = dict(zip(("w_block_words", "a_block_words", "c_block_words"), block_words(cfg, mapping)))
    over = {k: (need[k], blocks[k]) for k in need if need[k] > blocks[k]}
    if over:
        raise EngineError(
            "the op's blocks do not fit the card's engine buffers (words needed, held): "
            + ", ".join(f"{k} {n} > {h}" for k, (n, h) in over.items())
            + "; map it with smaller blocks (the accelerator's buffer KiB)"
        )
    placed = place_op(cfg, build_image(cfg, mapping, operands), shell_params, data_bytes=data_bytes)
    run = run_placed(card, placed, base, timeout_s=timeout_s, data_bytes=data_bytes)
    return decode_op(cfg, mapping, operands, run.result_beats, data_bytes=data_bytes), run


# ------------------------------------------------------------------------------------------------ self-test
# N of the self-test's op at most (our choice, `sparsesim fpga run-op --n`): the host builds the op's streams
# and decodes its tiles in Python, which takes seconds for N = 64 on the larger ops of the shipped workloads.
SELF_TEST_N = 64


def workload_gemm(wl, name: str, *, n_max: int = SELF_TEST_N):
    """The workload's GEMM op `name` (N cut to `n_max`, one repeat), mapped by the simulator's scheduler on
    the workload's accelerator: (mapping, the op). SparsesimError naming the ops for an unknown name."""
    import dataclasses

    from sparsesim.errors import SparsesimError
    from sparsesim.graph.lower import GemmOp
    from sparsesim.pipeline import prepare
    from sparsesim.sat.arch import resolve
    from sparsesim.sat.schedule import map_gemm

    ops = {op.name: op for op in prepare(wl).ops.ops() if isinstance(op, GemmOp)}
    if name not in ops:
        raise SparsesimError(f"--op {name}: not a GEMM op of the workload; its GEMM ops: {', '.join(ops)}")
    if n_max < 1:
        raise SparsesimError(f"--n must be at least 1 (got {n_max})")
    op = dataclasses.replace(ops[name], n=min(ops[name].n, n_max), repeat=1)
    return map_gemm(op, resolve(wl.accelerator)), op


def random_operands(cfg, mapping, seed: int):
    """(A, B) for the mapping's dims: FP16 (or INT8) normal values, A pruned to the mapping's N:M if sparse
    (sparsesim.sparsity: the largest magnitudes kept), as sparsesim.sat.numerics takes them."""
    from sparsesim.sat import numerics
    from sparsesim.sparsity.formats import NMTensor
    from sparsesim.sparsity.nm import nm_mask

    rng = np.random.default_rng(seed)
    m, n, k = mapping.m, mapping.n, mapping.k
    if cfg.precision == "int8":
        a = rng.integers(-128, 128, (m, k), dtype=np.int8)
        b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    else:
        a = rng.standard_normal((m, k)).astype(np.float16)
        b = rng.standard_normal((k, n)).astype(np.float16)
    mode = mapping.mode
    if not mode.sparse:
        return a, b
    mask = nm_mask(a.astype(np.float64), int(mode.n), int(mode.m), axis=1)
    nm = NMTensor.from_dense(a, int(mode.n), int(mode.m), axis=1, mask=mask)
    return numerics.SparseA(nm.values, nm.indices, int(mode.m)), b


def expected_op(cfg, mapping, a, b) -> np.ndarray:
    """numerics' C of the whole op as the engine computes it (bit patterns): WS the folds in order; OS each
    k-block's sums, the blocks added in the out buffer from +0 (the FP32 / INT32 additions of numerics)."""
    from sparsesim.rtl.host import gemm_bits
    from sparsesim.sat import numerics

    mode = mapping.mode
    if mapping.dataflow == "ws":
        return gemm_bits(cfg, mode, a, b)
    kb = mapping.block[2]
    parts = [gemm_bits(cfg, mode, _slice_a(a, mode, 0, mapping.m, k0, min(mapping.k, k0 + kb)),
                       b[k0 : k0 + kb]) for k0 in range(0, mapping.k, kb)]  # fmt: skip
    if len(parts) == 1:
        return parts[0]
    if cfg.precision == "int8":
        total = sum(p.view(np.int32).astype(np.int64) for p in parts)
        return (total & 0xFFFF_FFFF).astype(np.uint32)
    summed = numerics.accumulate(np.stack([p.view(np.float32) for p in parts]), precision="fp16")
    return numerics.fp32_bits(numerics.canonicalize_nan(summed))


class UartRegisters:
    """The engine's registers over the shell core's UART debug link (rtl/opengine/uartregs.py; the bytes in
    regmap.py), on any blocking byte port (`driver.SerialPort`): `read_reg` / `write_reg` like XdmaDevice's,
    so `check_identity` and STATUS / counter reads work over the USB cable alone. Offsets are taken within
    the register window (its low regmap.WINDOW_BITS bits), as the register block decodes them, so the BAR's
    offsets (0x1_0000 + register) work too. A refused access (SLVERR) raises EngineError."""

    def __init__(self, port):
        self.port = port

    def _answer(self, n: int, what: str) -> bytes:
        data = self.port.read(n)
        if len(data) != n or data[0] not in (regmap.UART_OK, regmap.UART_ERR):
            raise EngineError(f"{what}: no valid answer over the UART ({data!r})")
        if data[0] == regmap.UART_ERR:
            raise EngineError(f"{what}: refused by the register block (SLVERR)")
        return data[1:]

    def read_reg(self, offset: int) -> int:
        offset &= (1 << regmap.WINDOW_BITS) - 1
        self.port.write(regmap.uart_read_request(offset))
        return int.from_bytes(self._answer(5, f"register read at 0x{offset:X}"), "little")

    def write_reg(self, offset: int, value: int) -> None:
        offset &= (1 << regmap.WINDOW_BITS) - 1
        self.port.write(regmap.uart_write_request(offset, value))
        self._answer(1, f"register write at 0x{offset:X}")
