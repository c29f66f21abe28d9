"""The op engine's control registers: the one definition of the register map the shell core's AXI4-Lite
block implements (rtl/opengine/regs.py) and the host driver uses (sparsesim/fpga/driver.py, over XDMA's
`/dev/xdma<N>_user`; docs/fpga.md, "Memory and host shell"). Pure Python, no imports from the rest of
sparsesim, like rtl/protocol.py: the RTL and the host both import it.

Registers are 32 bits at byte offsets inside the accelerator's 64 KiB window of the AXI-Lite BAR (the block
decodes the offset's low `WINDOW_BITS` bits, so it answers at any base the crossbar gives it). Accesses are
whole words (AXI4-Lite, Arm IHI 0022 B1: a transfer is the bus width; WSTRB selects the bytes written).
An address outside the map, or a write to a read-only register, is answered SLVERR (IHI 0022 A3.4.4) and
changes nothing, so a host with the wrong map sees an error rather than data.

| offset | name | access | content |
|---|---|---|---|
| 0x000 | ID | R | `ID_VALUE`, "SPOE" in ASCII (our choice: tells the engine's block from others) |
| 0x004 | VERSION | R | `VERSION`: this map's version |
| 0x008 | ARRAY | R | rows [7:0], cols [15:8], multipliers [19:16], log2(max_m) [23:20], int8 [24], |
| | | | exact accumulation [25] |
| 0x00C | BUS | R | AXI data bytes [15:0], address bits [23:16], descriptor words [31:24] |
| 0x018 | BLOCKS | R | log2 of the engine's block buffer halves in words: weights [7:0], activations [15:8]; |
| | | | of its out buffer [23:16] (an op's blocks must fit: image.block_words) |
| 0x010 | CTRL | W | bit 0: START (starts the op in the descriptor registers; ignored while busy) |
| 0x014 | STATUS | R | bit 0: busy, bit 1: done (an op's last result written; cleared by the next START), |
| | | | bits [15:8]: the count of STARTs taken, modulo 256 |
| 0x020 | CYCLE | R | the engine's free-running clock count |
| 0x024 | OP_CYCLES | R | the last (or running) op's cycles from START to done |
| 0x028 | STARTED_AT | R | CYCLE when that op started |
| 0x02C | FIRST_LOAD | R | CYCLE of the op's first weight load into the array |
| 0x030 | FIRST_START | R | CYCLE of the op's first array tile start |
| 0x034 | LAST_DONE | R | CYCLE of the op's last array result |
| 0x100 + 4 i | DESC i | RW | the descriptor (rtl/opengine/descriptor.py), 32 bits a word, word 0 lowest |
"""

from __future__ import annotations

WINDOW_BITS = 16  # the accelerator's window of the AXI-Lite BAR: 64 KiB (sparsesim.fpga.shell lite_map)

ID = 0x000
VERSION_REG = 0x004
ARRAY = 0x008
BUS = 0x00C
CTRL = 0x010
STATUS = 0x014
BLOCKS = 0x018
CYCLE = 0x020
OP_CYCLES = 0x024
STARTED_AT = 0x028
FIRST_LOAD = 0x02C
FIRST_START = 0x030
LAST_DONE = 0x034
DESC = 0x100

ID_VALUE = int.from_bytes(b"SPOE", "big")
VERSION = 1
CTRL_START = 1 << 0
STATUS_BUSY = 1 << 0
STATUS_DONE = 1 << 1
STATUS_STARTS_SHIFT = 8

# the counters, in register order, named as the engine's ports (rtl/opengine/engine.py)
COUNTERS = {CYCLE: "cycle", OP_CYCLES: "op_cycles", STARTED_AT: "started_at", FIRST_LOAD: "first_load",
            FIRST_START: "first_start", LAST_DONE: "last_done"}  # fmt: skip
READ_ONLY = (ID, VERSION_REG, ARRAY, BUS, BLOCKS, STATUS, *COUNTERS)
WRITE_ONLY = (CTRL,)


def desc_words(desc_bits: int) -> int:
    return -(-desc_bits // 32)


def desc_offsets(desc_bits: int) -> list[int]:
    return [DESC + 4 * i for i in range(desc_words(desc_bits))]


def split_desc(desc: int, desc_bits: int) -> list[int]:
    """The descriptor integer as the words written to DESC 0, 1, ..."""
    if not 0 <= desc < (1 << desc_bits):
        raise ValueError(f"descriptor does not fit {desc_bits} bits")
    return [(desc >> (32 * i)) & 0xFFFF_FFFF for i in range(desc_words(desc_bits))]


def array_word(rows: int, cols: int, multipliers: int, max_m: int, int8: bool, exact: bool) -> int:
    log2m = max_m.bit_length() - 1
    for name, value, bits in (("rows", rows, 8), ("cols", cols, 8), ("multipliers", multipliers, 4),
                              ("log2(max_m)", log2m, 4)):  # fmt: skip
        if not 0 <= value < (1 << bits) or (name == "log2(max_m)" and 1 << log2m != max_m):
            raise ValueError(f"{name} {value} does not fit the ARRAY register")
    return rows | cols << 8 | multipliers << 16 | log2m << 20 | int(int8) << 24 | int(exact) << 25


def decode_array(word: int) -> dict[str, int | bool]:
    return {"rows": word & 0xFF, "cols": (word >> 8) & 0xFF, "multipliers": (word >> 16) & 0xF,
            "max_m": 1 << ((word >> 20) & 0xF), "int8": bool(word >> 24 & 1),
            "exact": bool(word >> 25 & 1)}  # fmt: skip


def bus_word(data_bytes: int, addr_bits: int, desc_bits: int) -> int:
    return data_bytes | addr_bits << 16 | desc_words(desc_bits) << 24


def blocks_word(w_block_words: int, a_block_words: int, c_block_words: int) -> int:
    logs = [n.bit_length() - 1 for n in (w_block_words, a_block_words, c_block_words)]
    if any(1 << b != n for b, n in zip(logs, (w_block_words, a_block_words, c_block_words))):
        raise ValueError("the engine's buffers are powers of two")
    return logs[0] | logs[1] << 8 | logs[2] << 16


def decode_blocks(word: int) -> dict[str, int]:
    return {"w_block_words": 1 << (word & 0xFF), "a_block_words": 1 << (word >> 8 & 0xFF),
            "c_block_words": 1 << (word >> 16 & 0xFF)}  # fmt: skip


def decode_bus(word: int) -> dict[str, int]:
    return {"data_bytes": word & 0xFFFF, "addr_bits": (word >> 16) & 0xFF, "desc_words": word >> 24}


# ------------------------------------------------------------------------------------------ UART debug link
# The shell core's UART (the card's USB-UART, 8N1; rtl/opengine/uartregs.py) reads and writes these same
# registers, for debug beside the PCIe path. Our choice of a minimal byte protocol, little-endian:
#   request  UART_READ  (0x52, "R") addr u16                -> response status u8, data u32
#   request  UART_WRITE (0x57, "W") addr u16, data u32      -> response status u8
# status UART_OK (0x4B, "K") or UART_ERR (0x45, "E": the register block answered SLVERR). Any other first
# byte is ignored, and a request that stops for UART_IDLE_BYTES byte times is dropped, so a host that lost
# track waits that long (or sends that many zero bytes, which are ignored at a request's start) and resends.
UART_READ, UART_WRITE = 0x52, 0x57
UART_OK, UART_ERR = 0x4B, 0x45
UART_IDLE_BYTES = 16


def uart_read_request(offset: int) -> bytes:
    return bytes([UART_READ]) + offset.to_bytes(2, "little")


def uart_write_request(offset: int, value: int) -> bytes:
    return bytes([UART_WRITE]) + offset.to_bytes(2, "little") + (value & 0xFFFF_FFFF).to_bytes(4, "little")
