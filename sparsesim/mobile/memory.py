"""Memory model: which level each byte an op moves comes from, and how long the links take.

An op describes its traffic as `Stream`s (activations in, weight stream, re-reads of a working set,
outputs). `MemoryModel.resolve` assigns each stream a level:

- `input`: the level the producer left the tensor in (`tensor_level(size)`: the smallest level whose usable
  capacity, summed over the threads' private caches, holds it). With several threads and a private level,
  the (T-1)/T of the tensor another core wrote comes from the next shared level (L3, or the shared L2).
- `weights`: DRAM, unless the whole model's weights fit the last-level cache (then that cache).
- `fit`: re-reads of a per-thread working set (`footprint`): from the smallest level that holds it, nothing
  if that is L1; a shared level counts whole for `shared` streams (weights every thread reads), else
  divided among the threads. `partial` streams are accesses to a working set that only partly overflows L1:
  the missing fraction 1 - L1_usable/footprint of them goes to the next level (capacity misses, LRU-like).
- `output`: written back to `tensor_level(size)`.

Link times (seconds): bytes crossing a link / its bandwidth. Per-core links (L2->L1, L3->L2 on SD855)
carry each thread's share of the bytes at that core's clock; shared ones (the SD835 L2, the L3, DRAM) carry
the total. Cache links have separate read and write paths (A76 TRM §A6.1: 256-bit read and 256-bit write
interfaces) so they take max(read, write); DRAM takes read + write. An op's memory time is the slowest
link; `simulate` overlaps it with compute (the op takes the max of the two, prefetchers and the
out-of-order window hide latency) and adds one access latency per op as pipeline fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .soc import CoreSlot, SoC

LEVELS: tuple[str, ...] = ("L1", "L2", "L3", "DRAM")
FLOAT_BYTES = 4


@dataclass(frozen=True)
class Stream:
    name: str
    bytes: float
    source: str  # input | weights | fit | output
    footprint: float = 0.0
    partial: bool = False
    shared: bool = False  # fit: every thread reads the same bytes (weights), so a shared level holds one copy

    @property
    def write(self) -> bool:
        return self.source == "output"


@dataclass
class Traffic:
    """Bytes per level beyond L1 (reads by source level, writes by destination level)."""

    reads: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LEVELS[1:], 0.0))
    writes: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LEVELS[1:], 0.0))
    by_stream: dict[str, str] = field(default_factory=dict)  # stream name -> level

    def add(self, level: str, nbytes: float, *, write: bool = False) -> None:
        if level == "L1" or nbytes <= 0:
            return
        (self.writes if write else self.reads)[level] += float(nbytes)

    @property
    def dram_bytes(self) -> float:
        return self.reads["DRAM"] + self.writes["DRAM"]

    def crossing(self, link: str) -> tuple[float, float]:
        """(read, write) bytes over a link: L2->L1 carries everything beyond L1, L3->L2 everything
        beyond L2, DRAM everything at DRAM."""
        below = {"L2->L1": ("L2", "L3", "DRAM"), "L3->L2": ("L3", "DRAM"), "DRAM": ("DRAM",)}[link]
        return sum(self.reads[lv] for lv in below), sum(self.writes[lv] for lv in below)


@dataclass(frozen=True)
class MemoryModel:
    soc: SoC
    threads: int
    weights_home: str = "DRAM"

    @property
    def active(self) -> tuple[CoreSlot, ...]:
        return self.soc.cores[: self.threads]

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(lv for lv in LEVELS if lv != "L3" or self.soc.l3_bytes)

    def private(self, level: str) -> bool:
        return level == "L1" or (level == "L2" and not self.soc.l2_shared)

    def _usable(self, nbytes: float) -> float:
        return nbytes * self.soc.cache_usable_fraction

    def thread_capacity(self, level: str) -> float:
        """Usable bytes one thread's working set may occupy at a level."""
        soc, t = self.soc, self.threads
        if level == "L1":
            return self._usable(soc.l1_bytes)
        if level == "L2":
            if soc.l2_shared:
                return self._usable(soc.cores[0].l2_bytes) / t
            return self._usable(min(c.l2_bytes for c in self.active))
        if level == "L3":
            return self._usable(soc.l3_bytes) / t
        return float("inf")

    def tensor_capacity(self, level: str) -> float:
        """Usable bytes a whole tensor (split across the threads) may occupy at a level."""
        soc = self.soc
        if level == "L1":
            return self._usable(soc.l1_bytes) * self.threads
        if level == "L2":
            if soc.l2_shared:
                return self._usable(soc.cores[0].l2_bytes)
            return self._usable(sum(c.l2_bytes for c in self.active))
        if level == "L3":
            return self._usable(soc.l3_bytes)
        return float("inf")

    def fit_level(self, footprint: float, shared: bool = False) -> str:
        for level in self.levels:
            cap = (
                self.tensor_capacity(level)
                if shared and not self.private(level)
                else self.thread_capacity(level)
            )
            if footprint <= cap:
                return level
        return "DRAM"

    def tensor_level(self, nbytes: float) -> str:
        for level in self.levels:
            if nbytes <= self.tensor_capacity(level):
                return level
        return "DRAM"

    def shared_level(self) -> str:
        """Where data another core wrote comes from."""
        if self.soc.l2_shared:
            return "L2"
        return "L3" if self.soc.l3_bytes else "DRAM"

    def resolve(self, streams: Sequence[Stream], input_level: str, output_level: str) -> Traffic:
        traffic = Traffic()
        for s in streams:
            if s.source == "input":
                level = input_level
                if self.threads > 1 and self.private(level):
                    remote = s.bytes * (self.threads - 1) / self.threads
                    traffic.add(self.shared_level(), remote)
                    traffic.add(level, s.bytes - remote)
                else:
                    traffic.add(level, s.bytes)
            elif s.source == "weights":
                level = self.weights_home
                traffic.add(level, s.bytes)
            elif s.source == "fit":
                level = self.fit_level(s.footprint, s.shared)
                nbytes = s.bytes
                if s.partial and level != "L1":
                    l1 = self.thread_capacity("L1")
                    nbytes = s.bytes * max(0.0, 1.0 - l1 / s.footprint) if s.footprint > 0 else 0.0
                traffic.add(level, nbytes)
            elif s.source == "output":
                level = output_level
                traffic.add(level, s.bytes, write=True)
            else:
                raise ValueError(f"unknown stream source {s.source!r}")
            traffic.by_stream[s.name] = level
        return traffic

    def link_seconds(self, traffic: Traffic, shares: Sequence[float]) -> dict[str, float]:
        """Seconds per link; `shares[t]` is the fraction of the op's private-link bytes thread t moves."""
        soc = self.soc
        out: dict[str, float] = {}
        r, w = traffic.crossing("L2->L1")
        per_core = [
            max(r, w) * s / (soc.l2_fill_bytes_per_cycle * c.clock_ghz * 1e9)
            for s, c in zip(shares, self.active)
        ]
        out["L2->L1"] = max(per_core, default=0.0)
        if soc.l2_shared and soc.l2_shared_bytes_per_cycle:
            out["L2 (shared)"] = max(r, w) / (soc.l2_shared_bytes_per_cycle * soc.clock_ghz * 1e9)
        if soc.l3_bytes:
            r3, w3 = traffic.crossing("L3->L2")
            per_core3 = [
                max(r3, w3) * s / (soc.l3_fill_bytes_per_cycle * c.clock_ghz * 1e9)
                for s, c in zip(shares, self.active)
            ]
            out["L3->L2"] = max(per_core3, default=0.0)
            out["L3 (shared)"] = max(r3, w3) / (soc.l3_shared_bytes_per_cycle * soc.clock_ghz * 1e9)
        rd, wd = traffic.crossing("DRAM")
        out["DRAM"] = (rd + wd) / (soc.dram_sustained_gbs * 1e9)
        return out

    def fill_seconds(self, level: str) -> float:
        """One access latency at `level` (the op's pipeline fill), in seconds at the reference clock."""
        soc = self.soc
        cycles = {"L1": soc.l1_latency_cycles, "L2": soc.l2_latency_cycles, "L3": soc.l3_latency_cycles}
        if level == "DRAM":
            return soc.dram_latency_ns * 1e-9
        return cycles[level] / (soc.clock_ghz * 1e9)
