"""The plain data types that name a PE-array configuration: its elaboration parameters, a tile's run-time
mode and a tile's shape (docs/pe_array.md, Parameters and Modes). Fields and validation only.

No cycle formula lives here: how many cycles a tile takes, how deep a pipeline is, how many elements a beat
covers or how many accumulator slots a mode uses is the timing model's business (`sparsesim.sat.timing`, which
re-exports these types) for the simulator, and the RTL's own structure for the hardware. That split lets the
RTL under rtl/ name a configuration without importing the model it is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dataflow = Literal["ws", "os"]
WeightLoad = Literal["bus", "shift"]
OsDrain = Literal["serial", "overlapped"]


@dataclass(frozen=True)
class ArrayParams:
    """Elaboration-time parameters of the PE array (see docs/pe_array.md, Parameters).

    The last four describe how tiles follow one another (docs/pe_array.md, "Fold sequencing"); their
    defaults are our RTL's array. A SCALE-Sim-style array (sparsesim.scalesim) sets weight_banks=1,
    weight_load="shift", fold_overlap=False, os_drain="overlapped" and a one-cycle MAC (mul_latency=0).
    """

    rows: int
    cols: int
    multipliers: int  # P, a power of two
    max_m: int  # MMAX, a power of two >= P
    mul_latency: int  # L_mul, cycles (0: the product is combinational, a one-cycle MAC)
    add_latency: int  # L_add, cycles
    weight_banks: int = 2  # WS stationary-weight banks per PE: 2 double-buffered, 1 single-buffered
    weight_load: WeightLoad = "bus"  # bus: row r written at load + r; shift: weights shift down the columns
    fold_overlap: bool = True  # WS: a tile's load may overlap the previous tile's stream and drain
    os_drain: OsDrain = "serial"  # OS: the next tile waits for the drain, or starts while results drain

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "multipliers", "max_m", "add_latency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.mul_latency < 0:
            raise ValueError("mul_latency must be >= 0")
        if self.weight_banks not in (1, 2):
            raise ValueError("weight_banks must be 1 or 2")
        if self.weight_load not in ("bus", "shift"):
            raise ValueError("weight_load must be 'bus' or 'shift'")
        if self.os_drain not in ("serial", "overlapped"):
            raise ValueError("os_drain must be 'serial' or 'overlapped'")
        if self.multipliers & (self.multipliers - 1) or self.max_m & (self.max_m - 1):
            raise ValueError("multipliers and max_m must be powers of two")
        if self.max_m < self.multipliers:
            raise ValueError("max_m must be >= multipliers")


@dataclass(frozen=True)
class Mode:
    """Run-time configuration of the array for one tile."""

    dataflow: Dataflow
    n: int | None = None  # None: dense
    m: int | None = None
    interleave: bool = True  # OS accumulation interleaving

    @property
    def sparse(self) -> bool:
        return self.n is not None

    def check(self, p: ArrayParams) -> None:
        """The mode exists on an array with these parameters (N <= P, M a power of two <= MMAX, N <= M)."""
        if self.dataflow not in ("ws", "os"):
            raise ValueError(f"dataflow must be 'ws' or 'os', got {self.dataflow!r}")
        if self.sparse:
            n, m = self.n, self.m
            if m is None or m & (m - 1) or not 1 <= n <= p.multipliers or m > p.max_m or n > m:  # type: ignore[operator]
                raise ValueError(
                    f"mode {n}:{m} is not supported by an array with P={p.multipliers}, MMAX={p.max_m}"
                )


@dataclass(frozen=True)
class TileShape:
    """A tile of C[m x n] = A[m x k] . B[k x n] (A is the N:M-sparse operand when the mode is sparse)."""

    m: int
    n: int
    k: int
