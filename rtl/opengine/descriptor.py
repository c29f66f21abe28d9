"""The op descriptor: the one definition of what the op engine is told about a GEMM op, as the bit layout
the RTL reads (`descriptor_layout`) and the Python that fills it (`pack_descriptor`), like rtl/protocol.py is
for the host wire format.

Fields: the array mode (WS/OS, dense or N:M, OS interleave), the GEMM dims as run (m, n, k), `repeat`
(independent GEMMs of the same shape, their operands one after another in DRAM), the on-chip block sizes the
scheduler chose (mb, nb, kb), the loop order over blocks, the WS n-block widths (`n_q`, `n_r`: the first
`n_r` blocks are `n_q + 1` columns wide, the rest `n_q`; the host does this division so the engine needs no
divider) and the DRAM byte addresses of the three operand regions. Words in DRAM: a weight word (a weights
row / A step) and a result word (`result_dram_bits`: the result beat's sums without its `last` flag) occupy
`beats_per_word` consecutive AXI beats of `DATA_BYTES`, low bits in the first beat; activation words (an
activation vector / B beat) are packed, the mode's E elements per lane, back to back in lines of
`act_line_bits` (`act_shift`: log2 of the words a line); the region layouts are in
`sparsesim.rtl.opengine.image`.
"""

from __future__ import annotations

from amaranth.lib import data

from ..config import ArrayConfig, log2
from .bus import PORT_BYTES

# AXI address width of the engine's masters and of the descriptor's base addresses: the card's memory map,
# four 16 GiB DDR4 channels and the host FIFO's window above them, 37 bits (the shell's S_AXI_ACC ports,
# sparsesim.fpga.shell ShellParams.acc_addr_bits; tests/fpga/test_shell.py checks the two are equal).
ADDR_BITS = 37
DIM_BITS = 16
# AXI data width in bytes (bus.py, where it is cited; the simulator's `SatArch.dram_port_bytes` reads the
# same constant).
DATA_BYTES = PORT_BYTES
# Loop orders over blocks, as the scheduler names them (sparsesim/sat/schedule.py docstring).
ORDERS = ("a_resident", "b_resident", "c_resident")


def beats_per_word(word_bits: int, data_bytes: int = DATA_BYTES) -> int:
    """AXI beats one stream word of `word_bits` occupies in DRAM (and on the bus)."""
    return -(-word_bits // (8 * data_bytes))


def result_dram_bits(cfg: ArrayConfig) -> int:
    """Bits of a result word in DRAM: the array's result word without its `last` flag (which marks a tile's
    last result beat inside the engine and is not data): 32 bits per column."""
    return cfg.result_layout["data"].width


def act_line_bits(cfg: ArrayConfig, data_bytes: int = DATA_BYTES) -> int:
    """Bits of a line of the packed activation region (and of the activation block buffer's memory): the
    larger of a bus beat and a full activation word (MMAX elements per lane)."""
    return max(8 * data_bytes, cfg.acts_layout.size)


def act_packed_bits(cfg: ArrayConfig, log2e: int) -> int:
    """Bits of a packed activation word: each lane's E = 2**log2e elements (a WS row's group / an OS column's
    B group as the mode uses it), without the array word's MMAX - E zero elements."""
    return cfg.lanes * cfg.operand_bits << log2e


def act_shift(cfg: ArrayConfig, log2e: int, data_bytes: int = DATA_BYTES) -> int:
    """log2 of the packed activation words per line for E = 2**log2e."""
    ratio = act_line_bits(cfg, data_bytes) // act_packed_bits(cfg, log2e)
    return ratio.bit_length() - 1


def check_packable(cfg: ArrayConfig, data_bytes: int = DATA_BYTES) -> None:
    """Packed activation words fill a line exactly (a power of two of them per line) only when lanes, the
    operand width and MMAX are powers of two and a full word is a whole number of beats or fits one."""
    line, full = act_line_bits(cfg, data_bytes), cfg.acts_layout.size
    unit = cfg.lanes * cfg.operand_bits
    per_line = line // unit
    if line % unit or per_line & (per_line - 1) or cfg.max_m & (cfg.max_m - 1) or line % (8 * data_bytes):
        raise ValueError(f"activation words of {full} bits do not pack into {line}-bit lines")


def descriptor_layout(cfg: ArrayConfig) -> data.StructLayout:
    return data.StructLayout(
        {
            "os": 1,
            "sparse": 1,
            "nm_n": log2(cfg.multipliers) + 1,
            "log2m": max(1, log2(cfg.max_m).bit_length()),
            "interleave": 1,
            "order": 2,
            "m": DIM_BITS,
            "n": DIM_BITS,
            "k": DIM_BITS,
            "repeat": DIM_BITS,
            "mb": DIM_BITS,
            "nb": DIM_BITS,
            "kb": DIM_BITS,
            "n_q": DIM_BITS,
            "n_r": DIM_BITS,
            "w_base": ADDR_BITS,
            "a_base": ADDR_BITS,
            "r_base": ADDR_BITS,
        }
    )


def pack_descriptor(cfg: ArrayConfig, **fields: int) -> int:
    """The descriptor as the integer the engine's `desc` port takes (every field named, each checked)."""
    lay = descriptor_layout(cfg)
    names = {name for name, _ in lay}
    if set(fields) != names:
        missing, unknown = sorted(names - set(fields)), sorted(set(fields) - names)
        raise ValueError(f"descriptor fields missing {missing}, unknown {unknown}")
    word = 0
    for name, value in fields.items():
        f = lay[name]
        if not 0 <= int(value) < (1 << f.width):
            raise ValueError(f"descriptor field {name}={value} does not fit {f.width} bits")
        word |= int(value) << f.offset
    return word
