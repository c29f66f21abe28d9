"""AArch64 instruction costs: µops per port class and latency, per core family.

The cycle model (`microkernels.analyze`) counts instructions per inner-loop iteration and maps them here to
µops on port classes. Port classes:

| class | meaning |
|---|---|
| `L` | load/store address pipes (loads, prefetches, store addresses) |
| `V` | FP/ASIMD pipes (FMLA, min/max, moves, broadcasts, store data on N1) |
| `I` | integer pipes (ALU; post-index address write-back) |
| `M` | the integer multi-cycle pipe (shifted-register ADD with shift > 4, MADD) |
| `B` | branch |

Two tables, each a transcription of an LLVM scheduling model (no number here is fitted to a result):

- `N1_TABLE` — Cortex-A76 / Kryo 485 Gold. LLVM `AArch64SchedNeoverseN1.td` (llvm/llvm-project @ 02cec0a;
  Arm derived the N1 model from the A76, so it is the stand-in for the
  A76 because LLVM's own `-mcpu=cortex-a76` maps to the A57 model). Post-indexed forms add the `WriteAdr`
  I-µop.
- `A57_TABLE` — used for Cortex-A73 / Kryo 280 Gold. LLVM has no A73 model and schedules `-mcpu=cortex-a73`
  with `AArch64SchedA57.td`; we do the same (our choice, tagged [M] for the A73: the A73 is a
  different design: microbenchmarks should precede trusting absolute SD835 numbers). In that model
  a Q-form FMLA is 2 V-µops (two 64-bit halves) with latency 10 and a 6-cycle accumulator forwarding
  (`A57ReadFPVMA6`), i.e. a 4-cycle accumulate chain; loads/stores go to the single L / S pipes of the A57,
  which we merge into `L` (the A73 has two load/store AGUs, [M]).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PORT_CLASSES: tuple[str, ...] = ("L", "V", "I", "M", "B")


@dataclass(frozen=True)
class InstrCost:
    """One instruction form: µops per port class, result latency, and the latency into the accumulator
    operand of a dependent multiply-accumulate (`acc_latency`, None = `latency`)."""

    uops: Mapping[str, float]
    latency: int
    acc_latency: int | None = None

    @property
    def chain_latency(self) -> int:
        return self.latency if self.acc_latency is None else self.acc_latency


def _c(latency: int, acc: int | None = None, **uops: float) -> InstrCost:
    return InstrCost(uops=dict(uops), latency=latency, acc_latency=acc)


# What each mnemonic key stands for (the kernels' instruction mixes use these keys).
INSTRUCTIONS: dict[str, str] = {
    "LDP_Q": "LDP q, q (post-index): 32 B of activations",
    "LDR_Q": "LDR q (post-index): 16 B",
    "LDR_D": "LDR d / LD1 {v.2s} (post-index): 8 B",
    "LDR_S": "LDR s (post-index): 4 B",
    "LD1R_4S": "LD1R {v.4s} (post-index): broadcast one float",
    "LD2_4S": "LD2 {v.4s, v.4s} (post-index): de-interleaving load of 8 floats",
    "LDRSW": "LDRSW (post-index): one int32 index / byte delta",
    "LDR_W": "LDR w (post-index): one uint32 count",
    "LDRH": "LDRH (post-index): one uint16 index",
    "LDRB": "LDRB (post-index): one uint8 index",
    "LDR_X": "LDR x: one pointer (indirection buffer)",
    "PRFM": "PRFM PLDL1KEEP: software prefetch",
    "FMLA_4S": "FMLA v.4s (vector)",
    "FMLA_E": "FMLA v.4s, v.s[i] (by element)",
    "FMLA_2S": "FMLA v.2s (D-form)",
    "FMADD_S": "FMADD s (scalar)",
    "FMUL_4S": "FMUL v.4s (by element)",
    "FADD_4S": "FADD v.4s",
    "FMINMAX_4S": "FMIN/FMAX v.4s (output clamp)",
    "MOV_V": "MOV v.16b (ORR): register copy",
    "DUP_E": "DUP v.4s, v.s[i]: broadcast a lane",
    "EXT_16B": "EXT v.16b: shifted window of two vectors",
    "AND_16B": "AND v.16b: remainder mask",
    "STR_Q": "STR q (post-index)",
    "STP_Q": "STP q, q (post-index)",
    "STR_D": "STR d (post-index)",
    "STR_S": "STR s (post-index)",
    "ADD": "ADD / SUB (register or immediate)",
    "ADD_LSL": "ADD with a shifted register, shift > 4 (multi-cycle integer pipe)",
    "SUBS": "SUBS: loop counter",
    "B": "B.cond / CBNZ: loop branch",
}

# Bytes each load/store form moves through the L1 data cache (the descriptions above; the A64 ISA's operand
# sizes). PRFM moves no data to a register; its L1 lookup is counted with the cache model's line accesses.
ACCESS_BYTES: dict[str, int] = {
    "LDP_Q": 32, "LDR_Q": 16, "LDR_D": 8, "LDR_S": 4, "LD1R_4S": 4, "LD2_4S": 32, "LDRSW": 4, "LDR_W": 4,
    "LDRH": 2, "LDRB": 1, "LDR_X": 8, "PRFM": 0, "STR_Q": 16, "STP_Q": 32, "STR_D": 8, "STR_S": 4,
}  # fmt: skip
# Instruction classes for the energy model: loads/stores (ACCESS_BYTES), NEON multiply-accumulates, other
# NEON/FP instructions, scalar integer and branch instructions.
NEON_MAC = frozenset({"FMLA_4S", "FMLA_E", "FMLA_2S", "FMADD_S"})
NEON_OTHER = frozenset({"FMUL_4S", "FADD_4S", "FMINMAX_4S", "MOV_V", "DUP_E", "EXT_16B", "AND_16B"})


def instruction_class(name: str) -> str:
    """`ldst`, `neon_mac`, `neon` or `scalar` for an instruction of INSTRUCTIONS."""
    if name in ACCESS_BYTES:
        return "ldst"
    if name in NEON_MAC:
        return "neon_mac"
    return "neon" if name in NEON_OTHER else "scalar"


# Cortex-A76 (LLVM Neoverse-N1 model). Keys of each InstrCost: µops per port class.
N1_TABLE: dict[str, InstrCost] = {
    "LDP_Q": _c(7, L=2, I=1),  # LDPQpost: N1Write_7c_1L + WriteLDHi (1 L) + WriteAdr (1 I)
    "LDR_Q": _c(5, L=1, I=1),  # LDR[BHSDQ]post: N1Write_5c_1L + WriteAdr
    "LDR_D": _c(5, L=1, I=1),
    "LDR_S": _c(5, L=1, I=1),
    "LD1R_4S": _c(7, L=1, V=1, I=1),  # LD1Rv4s_POST: N1Write_7c_1L_1V + WriteAdr
    "LD2_4S": _c(7, L=2, V=2, I=1),  # LD2Twov4s_POST: N1Write_7c_2L_2V + WriteAdr
    "LDRSW": _c(4, L=1, I=1),  # WriteLD (N1Write_4c_1L) + WriteAdr
    "LDR_W": _c(4, L=1, I=1),
    "LDRH": _c(4, L=1, I=1),
    "LDRB": _c(4, L=1, I=1),
    "LDR_X": _c(4, L=1),
    "PRFM": _c(4, L=1),  # WriteLD
    "FMLA_4S": _c(4, V=1),  # "^FML[AS]v": N1Write_4c_1V
    "FMLA_E": _c(4, V=1),
    "FMLA_2S": _c(4, V=1),
    "FMADD_S": _c(4, V=1),  # "^FN?M(ADD|SUB)[HSD]rrr": N1Write_4c_1V
    "FMUL_4S": _c(3, V=1),  # "^FMULX?v": N1Write_3c_1V
    "FADD_4S": _c(2, V=1),  # WriteVq: N1Write_2c_1V
    "FMINMAX_4S": _c(2, V=1),
    "MOV_V": _c(2, V=1),
    "DUP_E": _c(2, V=1),
    "EXT_16B": _c(2, V=1),
    "AND_16B": _c(2, V=1),
    "STR_Q": _c(2, L=2, V=2, I=1),  # STRQpost: N1Write_2c_2L_2V + WriteAdr
    "STP_Q": _c(3, L=4, V=2, I=1),  # STPQpost: N1Write_3c_4L_2V + WriteAdr
    "STR_D": _c(2, L=1, V=1, I=1),  # STR[BHSD]post: N1Write_2c_1L_1V + WriteAdr
    "STR_S": _c(2, L=1, V=1, I=1),
    "ADD": _c(1, I=1),  # WriteI: N1Write_1c_1I
    "ADD_LSL": _c(2, M=1),  # WriteISReg, shift > 4: N1Write_2c_1M
    "SUBS": _c(1, I=1),
    "B": _c(1, B=1),  # WriteBr: N1Write_1c_1B
}

# Cortex-A57 model (LLVM AArch64SchedA57.td), as LLVM applies it to -mcpu=cortex-a73.
A57_TABLE: dict[str, InstrCost] = {
    "LDP_Q": _c(6, L=2, I=1),  # LDPQpost: WriteAdr + A57Write_6cyc_2L
    "LDR_Q": _c(5, L=1, I=1),  # WriteVLD (A57Write_5cyc_1L) + WriteAdr
    "LDR_D": _c(5, L=1, I=1),
    "LDR_S": _c(5, L=1, I=1),
    "LD1R_4S": _c(8, L=1, V=1, I=1),  # LD1Rv4s_POST: WriteAdr + A57Write_8cyc_1L_1V
    "LD2_4S": _c(9, L=2, V=2, I=1),  # LD2Twov4s_POST: WriteAdr + A57Write_9cyc_2L_2V
    "LDRSW": _c(4, L=1, I=1),  # WriteLDIdx: A57Write_4cyc_1I_1L
    "LDR_W": _c(4, L=1, I=1),
    "LDRH": _c(4, L=1, I=1),
    "LDRB": _c(4, L=1, I=1),
    "LDR_X": _c(4, L=1),
    "PRFM": _c(4, L=1),
    "FMLA_4S": _c(10, 4, V=2),  # A57WriteFPVMAQ (2 V, lat 10) with A57ReadFPVMA6: 10 - 6 = 4 into the acc
    "FMLA_E": _c(10, 4, V=2),  # the same regex matches the indexed Q-forms
    "FMLA_2S": _c(9, 4, V=1),  # A57WriteFPVMAD (1 V, lat 9) with A57ReadFPVMA5
    "FMADD_S": _c(9, 4, V=1),  # A57WriteFPMA (lat 9) with A57ReadFPMA5
    "FMUL_4S": _c(5, V=2),  # A57Write_5cyc_2V_FP_Forward
    "FADD_4S": _c(5, V=2),  # ASIMD FP arith, Q-form: A57Write_5cyc_2V
    "FMINMAX_4S": _c(5, V=2),  # ASIMD FP max/min, Q-form: A57Write_5cyc_2V
    "MOV_V": _c(3, V=1),  # WriteVq: A57Write_3cyc_1V
    "DUP_E": _c(3, V=1),
    "EXT_16B": _c(3, V=1),
    "AND_16B": _c(3, V=1),
    "STR_Q": _c(2, L=2, I=1),  # ST1Onev4s: A57Write_2cyc_2S (+ WriteAdr); S merged into L
    "STP_Q": _c(4, L=4, I=1),  # two Q registers: 4 S
    "STR_D": _c(1, L=1, I=1),  # A57Write_1cyc_1S (+ WriteAdr)
    "STR_S": _c(1, L=1, I=1),
    "ADD": _c(1, I=1),  # WriteI: A57Write_1cyc_1I
    "ADD_LSL": _c(2, M=1),  # WriteISReg: A57Write_2cyc_1M
    "SUBS": _c(1, I=1),
    "B": _c(1, B=1),
}


@dataclass(frozen=True)
class IsaTable:
    name: str
    instr: Mapping[str, InstrCost]
    source: str
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(INSTRUCTIONS) - set(self.instr)
        if missing:
            raise ValueError(f"{self.name}: no cost for {sorted(missing)}")

    def __getitem__(self, key: str) -> InstrCost:
        try:
            return self.instr[key]
        except KeyError:
            raise KeyError(f"{self.name}: unknown instruction {key!r}; known: {sorted(self.instr)}") from None


NEOVERSE_N1 = IsaTable(
    "LLVM Neoverse-N1 model (Cortex-A76)",
    N1_TABLE,
    "[V] llvm/llvm-project llvm/lib/Target/AArch64/AArch64SchedNeoverseN1.td @ 02cec0a",
)
CORTEX_A57 = IsaTable(
    "LLVM Cortex-A57 model (applied to Cortex-A73)",
    A57_TABLE,
    "[V] llvm/llvm-project llvm/lib/Target/AArch64/AArch64SchedA57.td @ 1d7cce3 (the model LLVM uses for "
    "-mcpu=cortex-a73); applying it to the A73 is our choice [M]",
)
