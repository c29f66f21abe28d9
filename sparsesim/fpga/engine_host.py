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

import time
from dataclasses import dataclass

from sparsesim.rtl.opengine import regmap
from sparsesim.rtl.opengine.descriptor import DATA_BYTES, descriptor_layout, pack_descriptor

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
