"""The op descriptor: the one definition of what the op engine is told about a GEMM op, as the bit layout
the RTL reads (`descriptor_layout`) and the Python that fills it (`pack_descriptor`), like rtl/protocol.py is
for the host wire format.

Fields: the array mode (WS/OS, dense or N:M, OS interleave), the GEMM dims as run (m, n, k), `repeat`
(independent GEMMs of the same shape, their operands one after another in DRAM), the on-chip block sizes the
scheduler chose (mb, nb, kb), the loop order over blocks, the WS n-block widths (`n_q`, `n_r`: the first
`n_r` blocks are `n_q + 1` columns wide, the rest `n_q`; the host does this division so the engine needs no
divider) and the DRAM byte addresses of the three operand regions. Words in DRAM: every stream word (a
weights row / A step, an activation vector / B beat, a result beat) occupies `beats_per_word` consecutive
AXI beats of `DATA_BYTES` (one on the 4x4 array; a 16x16 activation word of 2048 bits takes four), its
low bits in the first beat; the region layouts are in `sparsesim.rtl.opengine.image`.
"""

from __future__ import annotations

from amaranth.lib import data

from ..config import ArrayConfig, log2

# AXI address width of the engine's masters and of the descriptor's base addresses: the card's memory map,
# four 16 GiB DDR4 channels and the host FIFO's window above them, 37 bits (the shell's S_AXI_ACC ports,
# sparsesim.fpga.shell ShellParams.acc_addr_bits; tests/fpga/test_shell.py checks the two are equal).
ADDR_BITS = 37
DIM_BITS = 16
# AXI data width: our choice, 512 bits (the width of a Xilinx DDR4 MIG's AXI port for a 64-bit DIMM at 4:1,
# "Xilinx PG150 UltraScale Architecture-Based FPGAs Memory IP"); one stream word per beat on a 4x4 array.
DATA_BYTES = 64
# Loop orders over blocks, as the scheduler names them (sparsesim/sat/schedule.py docstring).
ORDERS = ("a_resident", "b_resident", "c_resident")


def beats_per_word(word_bits: int, data_bytes: int = DATA_BYTES) -> int:
    """AXI beats one stream word of `word_bits` occupies in DRAM (and on the bus)."""
    return -(-word_bits // (8 * data_bytes))


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
