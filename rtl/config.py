"""Elaboration parameters of the sparse PE array and the layouts of its stream interfaces.

One `ArrayConfig` describes a build: the timing contract's `ArrayParams` (rows, cols, P, MMAX, latencies)
plus the number format and the widths of the run-time fields. The bus layouts (`cmd_layout`, `weights_layout`,
...) are the RTL interface of docs/pe_array.md ("RTL interface"); `pack_*` turn Python values into the flat
integers a Verilog bench drives, with the same bit placement Amaranth uses for these layouts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from amaranth.lib import data

from sparsesim.sat.array_types import ArrayParams

from .latency import (
    LAGUNA_REGISTERS_PER_CROSSING,
    PIPELINE_LATENCIES,
    ROUND_LATENCIES,
    preset_accumulator,
    sequence_latency_cycles,
)

Precision = Literal["fp16", "int8"]
Accumulator = Literal["exact", "fp32", "int32"]

# Pipeline depths per accumulation design, owned by rtl/latency.py (the simulator's preset reads them too).
DEFAULT_LATENCIES: dict[str, tuple[int, int]] = PIPELINE_LATENCIES
ACCUMULATORS: dict[str, tuple[str, ...]] = {"fp16": ("exact", "fp32"), "int8": ("int32",)}


def log2(x: int) -> int:
    return x.bit_length() - 1


@dataclass(frozen=True)
class ArrayConfig:
    rows: int = 4
    cols: int = 4
    multipliers: int = 2  # P
    max_m: int = 8  # MMAX
    precision: Precision = "fp16"
    mul_latency: int | None = None  # None: DEFAULT_LATENCIES[accumulator]
    add_latency: int | None = None
    k_bits: int = 16  # width of the tile's reduction length k (run time)
    len_bits: int = 16  # width of a WS tile's stream length n (run time)
    cycle_bits: int = 32  # width of the free-running cycle counter
    # Weight banks per PE: 2 double-buffers WS weights (SAT's design); 1 is the single-buffered variant
    # (a load waits until the previous tile's last beat has been read), kept as an elaboration parameter so
    # the benches can show that the cycle check notices a missing bank.
    weight_banks: int = 2
    # How the PE sums (docs/fpga.md, "PE designs compared"): FP16 "exact", products as fixed-point integers
    # summed exactly (sparsesim.sat.numerics' exact format) and rounded to FP32 at the array's edge
    # (`round_latency` cycles), or "fp32", FP32 adders for the tree and the accumulator; INT8 "int32".
    # None: the preset's (rtl/latency.py, PRESET_ACCUMULATOR).
    accumulator: Accumulator | None = None
    # PE columns per SLR, from the controller's SLR outward (the floorplan's Floorplan.slr_columns,
    # the floorplan that also writes the pblocks). () or one group: the array sits in one SLR. Every signal
    # between the controller's SLR and a column beyond a boundary passes `registers_per_crossing` registers
    # per boundary on its way (PEArray), so the array's cycles include the crossings by its own structure.
    slr_columns: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.precision not in ACCUMULATORS:
            raise ValueError(f"precision must be 'fp16' or 'int8', got {self.precision!r}")
        if self.accumulator is None:
            object.__setattr__(self, "accumulator", preset_accumulator(self.precision))
        if self.accumulator not in ACCUMULATORS[self.precision]:
            raise ValueError(
                f"accumulator must be one of {ACCUMULATORS[self.precision]} for {self.precision}, "
                f"got {self.accumulator!r}"
            )
        lm, la = DEFAULT_LATENCIES[str(self.accumulator)]
        if self.mul_latency is None:
            object.__setattr__(self, "mul_latency", lm)
        if self.add_latency is None:
            object.__setattr__(self, "add_latency", la)
        self.timing_params()  # validates rows, cols, P, MMAX, latencies
        if self.k_bits < 2 or self.len_bits < 1:
            raise ValueError("k_bits must be >= 2 and len_bits >= 1")
        if self.weight_banks not in (1, 2):
            raise ValueError(f"weight_banks must be 1 or 2, got {self.weight_banks}")
        object.__setattr__(self, "slr_columns", tuple(int(n) for n in self.slr_columns))
        if self.slr_columns and (sum(self.slr_columns) != self.cols or min(self.slr_columns) < 1):
            raise ValueError(
                f"slr_columns {self.slr_columns}: positive column counts summing to cols = {self.cols}"
            )

    # ------------------------------------------------------------------------------------ derived values
    def timing_params(self) -> ArrayParams:
        return ArrayParams(
            rows=self.rows,
            cols=self.cols,
            multipliers=self.multipliers,
            max_m=self.max_m,
            mul_latency=int(self.mul_latency),  # type: ignore[arg-type]
            add_latency=int(self.add_latency),  # type: ignore[arg-type]
            round_latency=self.round_latency,
            slr_latency_cycles=sequence_latency_cycles(self.slr_crossings),
        )

    @property
    def slr_crossings(self) -> int:
        """SLR boundaries between the controller's SLR and the farthest column group."""
        return max(0, len(self.slr_columns) - 1)

    @property
    def registers_per_crossing(self) -> int:
        return LAGUNA_REGISTERS_PER_CROSSING

    def column_group(self, col: int) -> int:
        """The SLR group (0 = the controller's) of PE column `col`."""
        first = 0
        for g, n in enumerate(self.slr_columns):
            if col < first + n:
                return g
            first += n
        return 0

    @property
    def operand_bits(self) -> int:
        return 16 if self.precision == "fp16" else 8

    @property
    def idx_bits(self) -> int:
        return max(1, log2(self.max_m))

    @property
    def lanes(self) -> int:
        """Entries of a weights / activations beat: max(R, C) (WS uses C resp. R of them, OS R resp. C)."""
        return max(self.rows, self.cols)

    @property
    def slots(self) -> int:
        """Accumulator slots per PE (OS with interleave mapping uses all L_add of them)."""
        return int(self.add_latency)  # type: ignore[arg-type]

    @property
    def fp(self) -> bool:
        return self.precision == "fp16"

    @property
    def exact(self) -> bool:
        return self.accumulator == "exact"

    @property
    def round_latency(self) -> int:
        """Cycles of the rounding to FP32 at the array's edge (exact accumulation only)."""
        return ROUND_LATENCIES[str(self.accumulator)]

    @property
    def sum_bits(self) -> int:
        """Width of a partial sum between the PE's adders and on psum / chain: FP32 or INT32 bits, or an
        exact word (sparsesim.sat.numerics.exact_word_bits)."""
        if self.exact:
            from sparsesim.sat.numerics import exact_word_bits

            return exact_word_bits(self.k_bits)
        return 32

    def name(self) -> str:
        banks = "" if self.weight_banks == 2 else f"_b{self.weight_banks}"
        if self.slr_crossings:
            banks += "_slr" + "-".join(str(n) for n in self.slr_columns)
        acc = "" if self.accumulator == preset_accumulator(self.precision) else f"_{self.accumulator}"
        return (
            f"sparse_array_{self.rows}x{self.cols}_p{self.multipliers}_m{self.max_m}_{self.precision}{acc}"
            f"_l{self.mul_latency}{self.add_latency}{banks}"
        )

    def to_dict(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------------------------------------ layouts
    @property
    def lane_layout(self) -> data.StructLayout:
        """One weight lane as streamed: its value and its index within the activation group."""
        return data.StructLayout({"value": self.operand_bits, "idx": self.idx_bits})

    @property
    def cell_weights_layout(self) -> data.StructLayout:
        """One PE's weights as stored in a bank / carried in OS: P lanes plus a live (not gated) bit each."""
        return data.StructLayout(
            {"value": data.ArrayLayout(self.operand_bits, self.multipliers),
             "idx": data.ArrayLayout(self.idx_bits, self.multipliers),
             "live": self.multipliers}
        )

    @property
    def weights_layout(self) -> data.ArrayLayout:
        """A weights beat: WS one array row (entry c = PE column c), OS one A step (entry r = PE row r)."""
        return data.ArrayLayout(data.ArrayLayout(self.lane_layout, self.multipliers), self.lanes)

    @property
    def group_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(self.operand_bits, self.max_m)

    @property
    def acts_layout(self) -> data.ArrayLayout:
        """An activations beat: WS entry r = row r's group; OS entry c = column c's B group."""
        return data.ArrayLayout(self.group_layout, self.lanes)

    @property
    def result_layout(self) -> data.StructLayout:
        return data.StructLayout({"data": data.ArrayLayout(32, self.cols), "last": 1})

    @property
    def cmd_layout(self) -> data.StructLayout:
        return data.StructLayout(
            {
                "os": 1,  # 0: weight stationary, 1: output stationary
                "sparse": 1,  # 0: dense (E = P), 1: N:M (E = M)
                "n": log2(self.multipliers) + 1,  # N, 1..P
                "log2m": max(1, log2(self.max_m).bit_length()),  # log2(M), 0..log2(MMAX)
                "interleave": 1,  # OS interleave mapping (ignored in WS)
                "k": self.k_bits,  # the tile's reduction length
                "length": self.len_bits,  # WS: activation vectors streamed (n_t); OS: unused
            }
        )

    # ------------------------------------------------------------------------------------------ packing
    def pack_cmd(
        self, *, os: bool, n: int | None, m: int | None, k: int, length: int, interleave: bool
    ) -> int:
        lay = self.cmd_layout
        sparse = n is not None
        fields = {
            "os": int(os), "sparse": int(sparse), "n": n or 0, "log2m": log2(m) if sparse else 0,  # type: ignore[arg-type]
            "interleave": int(interleave), "k": k, "length": length if not os else 0,
        }
        word = 0
        for name, value in fields.items():
            f = lay[name]
            if not 0 <= value < (1 << f.width):
                raise ValueError(f"cmd field {name}={value} does not fit {f.width} bits")
            word |= value << f.offset
        return word

    def pack_weights(self, values: list, indices: list) -> int:
        """values[e][lane] (operand bit patterns), indices[e][lane]; e < lanes."""
        w, ib, p = self.operand_bits, self.idx_bits, self.multipliers
        lane_bits = w + ib
        word = 0
        for e, (vals, idxs) in enumerate(zip(values, indices)):
            for lane in range(p):
                off = (e * p + lane) * lane_bits
                word |= (int(vals[lane]) & ((1 << w) - 1)) << off
                word |= (int(idxs[lane]) & ((1 << ib) - 1)) << (off + w)
        return word

    def pack_acts(self, groups) -> int:
        """groups[e][i] operand bit patterns (e < lanes, i < MMAX); shorter rows are zero-filled."""
        import numpy as np

        w = self.operand_bits
        arr = np.zeros((self.lanes, self.max_m), dtype=np.uint16 if w == 16 else np.uint8)
        for e, g in enumerate(groups):
            g = np.asarray(g, dtype=arr.dtype)
            arr[e, : len(g)] = g
        return int.from_bytes(arr.tobytes(), "little")

    def unpack_weights(self, word: int) -> tuple[list[list[int]], list[list[int]]]:
        """Inverse of pack_weights: values[e][lane] and indices[e][lane] for every e < lanes."""
        w, ib, p = self.operand_bits, self.idx_bits, self.multipliers
        lane_bits = w + ib
        values = [[(word >> ((e * p + lane) * lane_bits)) & ((1 << w) - 1) for lane in range(p)]
                  for e in range(self.lanes)]
        indices = [[(word >> ((e * p + lane) * lane_bits + w)) & ((1 << ib) - 1) for lane in range(p)]
                   for e in range(self.lanes)]
        return values, indices  # fmt: skip

    def unpack_acts(self, word: int):
        """Inverse of pack_acts: groups[e, i] operand bit patterns, a [lanes, MMAX] numpy array."""
        import numpy as np

        w = self.operand_bits
        dtype = np.uint16 if w == 16 else np.uint8
        raw = word.to_bytes(self.lanes * self.max_m * w // 8, "little")
        return np.frombuffer(raw, dtype=dtype).reshape(self.lanes, self.max_m)

    def pack_result(self, data_bits, last: bool = False) -> int:
        """Inverse of unpack_result: column c's 32-bit pattern at bit 32 c, then the last flag."""
        word = int(last) << (32 * self.cols)
        for c, v in enumerate(data_bits):
            word |= (int(v) & 0xFFFFFFFF) << (32 * c)
        return word

    def unpack_result(self, word: int) -> tuple[list[int], bool]:
        data_bits = [(word >> (32 * c)) & 0xFFFFFFFF for c in range(self.cols)]
        return data_bits, bool((word >> (32 * self.cols)) & 1)
