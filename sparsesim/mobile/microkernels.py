"""Micro-kernel instruction mixes and the core cycle model.

Each kernel is described by straight-line "bodies": an explicit instruction mix (mnemonic -> count) per inner
iteration (one nonzero block of a SpMM, eight k-steps of a GEMM, four output pixels of a depthwise row, ...)
or per prologue/epilogue (one output-channel block, one tile). `analyze(body, core)` turns a body into cycles:

    cycles = max( µops on each port class / pipes of that class,       (throughput)
                  FMLAs chained into one accumulator x its latency,     (loop-carried dependency chain)
                  instructions / decode width,  µops / dispatch width ) (front end)

Register pressure: if the accumulators plus the operand registers live inside the loop exceed the 32 NEON
registers, each excess register is spilled: per iteration one `STR q` + one `LDR q` + `SPILL_MOVES` register
moves, and its accumulate chain then runs through memory (FMLA + load latency + 1).

The mixes are transcribed from the kernels' sources (XNNPACK; file names on each builder); the
µop costs come from `isa.py`. Nothing here stores a cycle count: `tests/mobile` checks that the model
reproduces the llvm-mca [D] per-nonzero figures (docs/mobile_model.md) from these mixes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .isa import ACCESS_BYTES, PORT_CLASSES, instruction_class
from .soc import CoreModel

# Register moves per spilled register per iteration. Our choice, from the instruction counts (not the cycle
# count) of clang-19's 32x4 inner loop [D]: ~15 register moves accompany 16 spill/reload
# memory operations, i.e. about one move per spill memory op, two (store + reload) per spilled register.
SPILL_MOVES = 2


@dataclass(frozen=True)
class Body:
    """An instruction mix. `accumulators`/`operands` are the NEON registers live across / inside a loop
    (0 for straight-line prologue/epilogue code); `chain_fmla` the FMLAs into one accumulator per
    iteration; `macs` the multiply-accumulates one execution does."""

    name: str
    instrs: Mapping[str, float]
    accumulators: int = 0
    operands: int = 0
    chain_fmla: float = 0.0
    macs: float = 0.0
    what: str = ""

    @property
    def instructions(self) -> float:
        return float(sum(self.instrs.values()))


@dataclass(frozen=True)
class Timing:
    """`analyze`'s result for one body on one core."""

    body: str
    cycles: float
    bound: str  # L | V | I | M | B | chain | decode | dispatch
    port_cycles: dict[str, float]
    chain_cycles: float
    decode_cycles: float
    dispatch_cycles: float
    instructions: float
    uops: dict[str, float]
    spilled_registers: int
    macs: float
    instrs: Mapping[str, float] = field(default_factory=dict)  # the mix as timed, spill code included

    @property
    def macs_per_cycle(self) -> float:
        return self.macs / self.cycles if self.cycles else 0.0


def spill(body: Body, core: CoreModel) -> tuple[dict[str, float], int]:
    """The body's mix with spill code added for registers beyond the NEON register file."""
    instrs = dict(body.instrs)
    excess = max(0, body.accumulators + body.operands - core.neon_registers)
    if excess:
        instrs["STR_Q"] = instrs.get("STR_Q", 0) + excess
        instrs["LDR_Q"] = instrs.get("LDR_Q", 0) + excess
        instrs["MOV_V"] = instrs.get("MOV_V", 0) + SPILL_MOVES * excess
    return instrs, excess


def analyze(body: Body, core: CoreModel) -> Timing:
    instrs, excess = spill(body, core)
    uops = dict.fromkeys(PORT_CLASSES, 0.0)
    for name, count in instrs.items():
        for port, n in core.isa[name].uops.items():
            uops[port] += count * n
    port_cycles = {p: uops[p] / core.ports[p] for p in PORT_CLASSES}
    if core.m_in_i:  # M-µops also occupy one of the I pipes
        port_cycles["I"] = (uops["I"] + uops["M"]) / core.ports["I"]
    fmla = core.isa["FMLA_4S"].chain_latency
    chain = body.chain_fmla * fmla
    if excess and body.chain_fmla:
        chain = max(chain, body.chain_fmla * fmla + core.isa["LDR_Q"].latency + 1)
    n_instr = float(sum(instrs.values()))
    decode = n_instr / core.decode_width
    dispatch = sum(uops.values()) / core.dispatch_uops
    candidates = {**port_cycles, "chain": chain, "decode": decode, "dispatch": dispatch}
    bound = max(candidates, key=lambda k: candidates[k])
    return Timing(
        body=body.name,
        cycles=candidates[bound],
        bound=bound,
        port_cycles=port_cycles,
        chain_cycles=chain,
        decode_cycles=decode,
        dispatch_cycles=dispatch,
        instructions=n_instr,
        uops=uops,
        spilled_registers=excess,
        macs=body.macs,
        instrs=instrs,
    )


def _mix(*parts: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in parts:
        for k, v in part.items():
            if v:
                out[k] = out.get(k, 0) + v
    return out


# --------------------------------------------------------------------------------------- common pieces


def tile_vectors(mr: int) -> int:
    """Q-registers holding MR pixels (or 1 D/S register for MR < 4)."""
    return mr // 4 if mr >= 4 else 1


def activation_loads(mr: int) -> dict[str, float]:
    """Loads of MR contiguous floats: LDP q pairs (+ one LDR q), or one D/S load below 4."""
    if mr >= 4:
        n = mr // 4
        return {"LDP_Q": n // 2, "LDR_Q": n % 2}
    return {"LDR_D": 1} if mr == 2 else {"LDR_S": 1}


def row_stores(mr: int) -> dict[str, float]:
    """Stores of MR contiguous outputs."""
    if mr >= 4:
        n = mr // 4
        return {"STP_Q": n // 2, "STR_Q": n % 2}
    return {"STR_D": 1} if mr == 2 else {"STR_S": 1}


def weight_load(nr: int, mr: int) -> dict[str, float]:
    """Load of the `nr` weights of one nonzero block: broadcast for nr=1, a D/Q/pair of Q registers else."""
    if nr == 1:
        return {"LD1R_4S": 1} if mr >= 2 else {"LDR_S": 1}
    return {2: {"LDR_D": 1}, 4: {"LDR_Q": 1}, 8: {"LDP_Q": 1}}[nr]


def fmlas(mr: int, nr: int) -> dict[str, float]:
    if mr >= 4:
        return {"FMLA_4S" if nr == 1 else "FMLA_E": tile_vectors(mr) * nr}
    return {"FMLA_2S" if mr == 2 else "FMADD_S": nr}


def _check_tile(mr: int, nr: int) -> None:
    if mr not in (1, 2, 4, 8, 12, 16, 24, 32, 48, 64):
        raise ValueError(f"pixel tile MR={mr} is not supported (1, 2, 4, 8, 12, 16, 24, 32)")
    if nr not in (1, 2, 4, 8):
        raise ValueError(f"output-channel block NR={nr} is not supported (1, 2, 4, 8)")


def input_prefetches(mr: int) -> int:
    """XNNPACK SpMM prefetches the next input row one PRFM per 64-byte line of the tile (MR=32: +64 B and
    +128 B); none in the MR < 4 remainder paths."""
    return math.ceil(mr * 4 / 64) if mr >= 4 else 0


# -------------------------------------------------------------------------------- XNNPACK SpMM (CHW)


def spmm_nz_body(mr: int, nr: int) -> Body:
    """One nonzero block of `xnn_f32_spmm_minmax_ukernel_{MR}x{NR}` (src/f32-spmm/gen/*-neonfma*.c):
    int32 increment (LDRSW) + pointer add, MR activations (LDP q), the block's weight(s)
    (LD1R for NR=1, LDR d/q for NR=2/4), the FMLAs, input + weight prefetches, loop counter."""
    _check_tile(mr, nr)
    instrs = _mix(
        {"LDRSW": 1, "ADD": 1},
        activation_loads(mr),
        weight_load(nr, mr),
        {"PRFM": input_prefetches(mr) + (1 if mr >= 4 else 0)},
        fmlas(mr, nr),
        {"SUBS": 1, "B": 1},
    )
    vecs = tile_vectors(mr)
    return Body(
        name=f"spmm {mr}x{nr} nonzero",
        instrs=instrs,
        accumulators=vecs * nr,
        operands=vecs + (2 if nr == 8 else 1),
        chain_fmla=1,
        macs=mr * nr,
        what=f"one nonzero block ({nr} output channel(s) x 1 input channel) x {mr} pixels",
    )


def spmm_row_body(mr: int, nr: int, *, count_load: bool = True, count_loads: int = 1) -> Body:
    """Per output-channel block: nnz count, bias broadcast into the accumulators, min/max clamp, stores of
    NR output rows of MR pixels, output pointer updates and loop control (epilogue)."""
    _check_tile(mr, nr)
    acc = tile_vectors(mr) * nr
    init = {"MOV_V": acc} if nr == 1 else {"DUP_E": acc}
    stores = {k: v * nr for k, v in row_stores(mr).items()}
    instrs = _mix(
        {"LDR_W": count_loads} if count_load else {},
        weight_load(nr, mr),  # the bias lanes of the block
        init,
        {"FMINMAX_4S": 2 * acc},
        stores,
        {"ADD": nr, "SUBS": 1, "B": 2},
    )
    return Body(name=f"spmm {mr}x{nr} output row", instrs=instrs, what=f"one block of {nr} output channel(s)")


def spmm_tile_body(mr: int) -> Body:
    """Per pixel tile: rewind the weight/index/count pointers, advance input and output (our choice)."""
    return Body(name=f"spmm {mr}-pixel tile", instrs={"ADD": 5, "SUBS": 1, "B": 1}, what="one pixel tile")


# ------------------------------------------------------------------- group-sparse (BlockCSR, MNN-style)


def group_nz_body(mr: int, g: int) -> Body:
    """One kept block (G output channels x 1 reduction row) of the group kernel, MNN `Epx4`-style over a
    packed activation tile [K x MR] (our kernel): uint16 column index (LDRH), row address =
    tile + (col << log2(MR*4)) (ADD with a shifted register), MR activations, G weights, FMLA by element,
    one weight-stream prefetch."""
    _check_tile(mr, g)
    instrs = _mix(
        {"LDRH": 1, "ADD_LSL": 1},
        activation_loads(mr),
        weight_load(g, mr),
        {"PRFM": 1},
        fmlas(mr, g),
        {"SUBS": 1, "B": 1},
    )
    vecs = tile_vectors(mr)
    return Body(
        name=f"group {mr}x{g} block",
        instrs=instrs,
        accumulators=vecs * g,
        operands=vecs + (2 if g == 8 else 1),
        chain_fmla=1,
        macs=mr * g,
        what=f"one kept block of {g} output channels x 1 reduction row x {mr} pixels",
    )


def group_row_body(mr: int, g: int) -> Body:
    """Per block-row: two row_ptr loads, bias, init, clamp, stores (as `spmm_row_body`)."""
    b = spmm_row_body(mr, g, count_loads=2)
    return Body(name=f"group {mr}x{g} block row", instrs=b.instrs, what=b.what)


def pack_row_body(mr: int) -> Body:
    """Copy one reduction row of MR pixels into the packed tile (im2col / CHW -> [K x MR]); strided gathers
    of stride-2 convs are costed as contiguous copies (approximation)."""
    instrs = _mix(activation_loads(mr), row_stores(mr), {"ADD": 2, "SUBS": 1, "B": 1})
    return Body(name=f"pack {mr}-pixel row", instrs=instrs, what="one reduction row of the packed tile")


# --------------------------------------------------------------------------- N:M (NMTensor along Cin)


def nm_nz_body(mr: int) -> Body:
    """One kept weight of the N:M kernel (our kernel 'fixed nnz per row'): uint8 in-group index
    (LDRB), row address = group base + (idx << log2(MR*4)) over the packed tile (rows ordered (tap, cin)),
    MR activations, LD1R weight, FMLAs, one weight prefetch. The N slots of a group are unrolled (N is a
    compile-time constant), so there is no per-nonzero loop control."""
    _check_tile(mr, 1)
    instrs = _mix(
        {"LDRB": 1, "ADD_LSL": 1}, activation_loads(mr), weight_load(1, mr), {"PRFM": 1}, fmlas(mr, 1)
    )
    vecs = tile_vectors(mr)
    return Body(
        name=f"nm {mr}x1 nonzero",
        instrs=instrs,
        accumulators=vecs,
        operands=vecs + 1,
        chain_fmla=1,
        macs=mr,
        what=f"one kept weight x {mr} pixels",
    )


def nm_group_body() -> Body:
    """Per M-group of a row: advance the group base pointer; loop over groups."""
    return Body(name="nm group", instrs={"ADD": 1, "SUBS": 1, "B": 1}, what="one group of M reduction rows")


def nm_row_body(mr: int) -> Body:
    b = spmm_row_body(mr, 1, count_load=False)
    return Body(name=f"nm {mr}x1 output row", instrs=b.instrs, what=b.what)


# ------------------------------------------------------------------------------ dense GEMM (NHWC)


def gemm_k_body(mr: int, nr: int, kb: int) -> Body:
    """`kb` k-steps of XNNPACK's `f32-gemm-{6x8,1x8}-minmax-asm-aarch64-neonfma-cortex-a75[-prfm]`
    (read at google/XNNPACK src/f32-gemm/gen): per k-step one A float per row (LDR q covers 4 k), NR/4
    B vectors (LDP q), MR x NR/4 FMLA by element; kb = 8 is the main loop (4 B prefetches in the 6x8 prfm
    variant), kb = 4/2/1 the remainders. The 1x8 kernel keeps two accumulator sets (v16-v19)."""
    if nr != 8 or mr not in (1, 6):
        raise ValueError("dense GEMM kernels are 6x8 and 1x8")
    a_load = {8: {"LDR_Q": 2}, 4: {"LDR_Q": 1}, 2: {"LDR_D": 1}, 1: {"LDR_S": 1}}[kb]
    instrs = _mix(
        {k: v * mr for k, v in a_load.items()},
        {"LDP_Q": kb * nr // 8},
        {"FMLA_E": mr * nr // 4 * kb},
        {"PRFM": 4 if (kb == 8 and mr == 6) else 0},
        {"SUBS": 1 if kb == 8 else 0, "B": 1},
    )
    sets = 2 if mr == 1 else 1
    acc = mr * nr // 4 * sets
    return Body(
        name=f"gemm {mr}x{nr} k{kb}",
        instrs=instrs,
        accumulators=acc,
        operands=(2 if kb == 8 else 1) * mr + 8,
        chain_fmla=kb / sets,
        macs=mr * nr * kb,
        what=f"{kb} k-step(s) of a {mr}x{nr} output tile",
    )


def gemm_tile_body(mr: int, nr: int) -> Body:
    """Per output tile: bias (LDP q) copied to the accumulators, B/A prefetches (prfm variant), clamp,
    stores, pointer updates (the same kernels' prologue/epilogue)."""
    acc = mr * nr // 4
    instrs = _mix(
        {"LDP_Q": 1, "MOV_V": acc - 2 if mr > 1 else 2, "FADD_4S": 2 if mr == 1 else 0},
        {"PRFM": 12 if mr == 6 else 0},
        {"FMINMAX_4S": 2 * acc, "STP_Q": mr, "ADD": 2 * mr, "SUBS": 1, "B": 2},
    )
    return Body(name=f"gemm {mr}x{nr} tile", instrs=instrs, what=f"one {mr}x{nr} output tile")


def igemm_tap_body(mr: int) -> Body:
    """IGEMM (conv through an indirection buffer): per kernel tap, load MR row pointers."""
    return Body(name=f"igemm {mr}-row tap", instrs={"LDR_X": mr, "SUBS": 1, "B": 1}, what="one kernel tap")


# ----------------------------------------------------------------------------- depthwise 3x3 (CHW)


def dwconv_chw_s1_body() -> Body:
    """One loop iteration of `xnn_f32_dwconv2d_chw_ukernel_3x3p1__aarch64_neonfma_3x4` (XNNPACK
    src/f32-dwconv2d-chw, ARM64 default in dwconv2d-chw-config.c [V]): 3 output rows x 4 pixels: 3 DUP bias,
    5 LDR q (one new vector per input row), 10 EXT (left/right shifted windows), 27 FMLA by element,
    10 register copies (the x0123 <- x4567 <- x89AB rotation of 5 rows), 3 FMAX + 3 FMIN, 3 STR q."""
    instrs = {
        "DUP_E": 3, "LDR_Q": 5, "EXT_16B": 10, "FMLA_E": 27, "MOV_V": 10, "FMINMAX_4S": 6, "STR_Q": 3,
        "SUBS": 1, "B": 1,
    }  # fmt: skip
    return Body(
        name="dwconv chw 3x3s1 3x4",
        instrs=instrs,
        accumulators=3,
        operands=15 + 5,  # 5 rows x (x0123, x4567, x89AB) + 2 shifted + 3 weight vectors
        # The 9 FMLAs of an output vector form a chain inside one iteration only (each iteration restarts
        # from the bias), so it is not loop-carried: the out-of-order window overlaps it across iterations.
        chain_fmla=0,
        macs=3 * 4 * 9,
        what="3 output rows x 4 pixels",
    )


def dwconv_chw_s1_rows_body() -> Body:
    """Per group of 3 output rows: 5 initial loads, 5 zeroed left vectors, 5 remainder masks, pointer
    arithmetic for 5 input and 3 output rows."""
    instrs = {"LDR_Q": 5, "MOV_V": 5, "AND_16B": 5, "ADD": 12, "SUBS": 1, "B": 4}
    return Body(name="dwconv chw 3x3s1 row group", instrs=instrs, what="one group of 3 output rows")


def dwconv_chw_s2_body() -> Body:
    """One loop iteration of `..._3x3s2p1__aarch64_neonfma_2x4_acc2` [V]: 2 output rows x 4 pixels from
    8 input columns: 2 DUP, 5 LD2 (even/odd de-interleave), 2 FMUL + 16 FMLA by element (two partial sums
    per row), 5 EXT, 5 copies, 2 FADD, 2 FMAX + 2 FMIN, 2 STR q."""
    instrs = {
        "DUP_E": 2, "LD2_4S": 5, "FMUL_4S": 2, "FMLA_E": 16, "EXT_16B": 5, "MOV_V": 5, "FADD_4S": 2,
        "FMINMAX_4S": 4, "STR_Q": 2, "SUBS": 1, "B": 1,
    }  # fmt: skip
    return Body(
        name="dwconv chw 3x3s2 2x4",
        instrs=instrs,
        accumulators=4,
        operands=15 + 3,
        chain_fmla=0,  # as in 3x4: per-iteration chains (two partial sums of 5 and 4), not loop-carried
        macs=2 * 4 * 9,
        what="2 output rows x 4 pixels",
    )


def dwconv_chw_s2_rows_body() -> Body:
    instrs = {"MOV_V": 5, "AND_16B": 10, "ADD": 10, "SUBS": 1, "B": 4}
    return Body(name="dwconv chw 3x3s2 row pair", instrs=instrs, what="one pair of output rows")


def dwconv_chw_channel_body() -> Body:
    """Per channel: 9 weights + bias (2 LDR q + LDR d), min/max, mask vectors, pointers."""
    instrs = {"LDR_Q": 3, "LDR_D": 1, "LD1R_4S": 2, "ADD": 6, "SUBS": 1, "B": 1}
    return Body(name="dwconv chw channel", instrs=instrs, what="one channel")


# ----------------------------------------------------------------------------- depthwise (NHWC)


def dwconv_hwc_body(taps: int) -> Body:
    """Per output pixel x 8 channels of XNNPACK's NHWC depthwise up-kernel (`f32-dwconv` {taps}p8c
    NEONFMA, [M] for the exact variant ARM64 selects): bias (LDP q), per tap 2 input vectors (LDP q through
    the indirection pointer) + 2 weight vectors (LDP q), 2 FMLA; clamp; 2 output vectors (STP q)."""
    instrs = {
        "LDP_Q": 1 + 2 * taps, "FMLA_4S": 2 * taps, "FMINMAX_4S": 4, "STP_Q": 1, "SUBS": 1, "B": 1,
    }  # fmt: skip
    return Body(
        name=f"dwconv hwc {taps}p8c",
        instrs=instrs,
        accumulators=2,
        operands=4,
        chain_fmla=0,  # the tap chain restarts from the bias at every pixel: not loop-carried
        macs=8 * taps,
        what="one output pixel x 8 channels",
    )


def dwconv_hwc_pixel_body(taps: int) -> Body:
    """Per output pixel: load the `taps` input-row pointers of the indirection buffer."""
    return Body(name=f"dwconv hwc {taps}-tap pixel", instrs={"LDR_X": taps, "ADD": 2, "SUBS": 1, "B": 1})


# ----------------------------------------------------------------------------- vector ops


def eltwise_body(inputs: int, vops: int) -> Body:
    """Four output elements of a streaming elementwise kernel: one LDR q per input, `vops` vector ops,
    one STR q, loop control."""
    instrs = _mix({"LDR_Q": inputs, "FADD_4S": vops, "STR_Q": 1, "SUBS": 1, "B": 1})
    return Body(name=f"eltwise {inputs}-input", instrs=instrs, what="4 output elements")


def reduce_body() -> Body:
    """Four input elements of a reduction (global average pool, CHW): LDR q + FADD into 4 accumulators."""
    return Body(
        name="reduce",
        instrs={"LDR_Q": 1, "FADD_4S": 1, "SUBS": 0.25, "B": 0.25},
        accumulators=4,
        operands=1,
        what="4 input elements",
    )


@dataclass
class BodyCache:
    """Memoises `analyze` per (body builder, args) for one core."""

    core: CoreModel
    _cache: dict[tuple, Timing] = field(default_factory=dict)

    def cycles(self, builder, *args) -> float:
        return self.timing(builder, *args).cycles

    def timing(self, builder, *args) -> Timing:
        key = (builder.__name__, *args)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = analyze(builder(*args), self.core)
        return hit

    def named(self, body: str) -> Timing | None:
        """The timing of a body already analysed, by its name (a Work's `inner`)."""
        return next((t for t in self._cache.values() if t.body == body), None)


def instruction_counts(timing: Timing | None, core_cycles: float) -> dict[str, float]:
    """Instructions per class (`isa.instruction_class`) and L1 bytes moved by loads/stores over
    `core_cycles` of a kernel whose inner body is `timing`: the body's mix per cycle x the cycles (the
    dominant body's mix stands for the kernel's prologue and epilogue code too: our approximation)."""
    out = {"ldst": 0.0, "neon_mac": 0.0, "neon": 0.0, "scalar": 0.0, "l1_bytes": 0.0}
    if timing is None or timing.cycles <= 0 or core_cycles <= 0:
        return out
    scale = core_cycles / timing.cycles
    for name, n in timing.instrs.items():
        out[instruction_class(name)] += n * scale
        out["l1_bytes"] += n * ACCESS_BYTES.get(name, 0) * scale
    return out
