"""SoC presets for the mobile target: core micro-architecture, caches, DRAM, cores/threads.

Every number carries its source in `SoC.sources` / `CoreModel.sources`, tagged (docs/mobile_model.md;
each entry names its primary source): [V]
verified against a primary source, [D] derived, [M] from memory / secondary sources, "our choice" with
the reason, or "calibrated on" (dense published latencies only). `describe(soc)` lists them all, with the
plausible range of every uncertain value (`Source.plausible`).

Units are in the names: `_bytes`, `_cycles`, `_ghz`, `_gbs` (GB/s = 1e9 B/s), `_bytes_per_cycle` (per core
clock cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from .isa import CORTEX_A57, NEOVERSE_N1, IsaTable

if TYPE_CHECKING:
    from ..spec import MobileSpec

KIB = 1024
MIB = 1024 * 1024


class Source(str):
    """A parameter's source text; `plausible` is its stated plausible range (low, high) when the value is
    uncertain (a chosen, secondary-source or calibrated value), None when the value is verified. A str,
    so it reads and prints as the source; the range is machine-readable beside it for a sensitivity
    sweep."""

    plausible: tuple[float, float] | None

    def __new__(cls, text: str, plausible: tuple[float, float] | None = None) -> Source:
        obj = super().__new__(cls, text)
        obj.plausible = None if plausible is None else (float(plausible[0]), float(plausible[1]))
        return obj

    def __reduce__(self):
        return (Source, (str(self), self.plausible))


def src(text: str, low: float | None = None, high: float | None = None) -> Source:
    return Source(text, None if low is None else (low, high if high is not None else low))


def plausible_range(sources: Mapping[str, str], key: str) -> tuple[float, float] | None:
    """The stated plausible range of parameter `key` (None: verified, not varied)."""
    return getattr(sources.get(key), "plausible", None)


@dataclass(frozen=True)
class CoreModel:
    """One core micro-architecture (what the cycle model needs)."""

    name: str
    isa: IsaTable
    decode_width: int  # instructions decoded per cycle
    dispatch_uops: int  # µops dispatched per cycle
    ports: Mapping[str, int]  # issue pipes per port class (isa.PORT_CLASSES)
    m_in_i: bool  # the M pipe is one of the I pipes (its µops also count against I)
    neon_registers: int
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def fmla_uops(self) -> float:
        return float(self.isa["FMLA_4S"].uops.get("V", 1))

    @property
    def peak_macs_per_cycle(self) -> float:
        """fp32 multiply-accumulates per cycle: V pipes x 4 lanes / V-µops per Q-form FMLA."""
        return self.ports["V"] * 4 / self.fmla_uops


@dataclass(frozen=True)
class CoreSlot:
    """A physical big core the runtime's threads use, in the order threads take them."""

    name: str
    clock_ghz: float
    l2_bytes: int  # private L2 of this core; the shared L2 size when `SoC.l2_shared`


@dataclass(frozen=True)
class SoC:
    name: str
    core: CoreModel
    cores: tuple[CoreSlot, ...]
    l1_bytes: int
    l1_latency_cycles: int
    l2_latency_cycles: int
    l2_shared: bool  # one L2 for the cluster (SD835) or one per core (SD855)
    l2_fill_bytes_per_cycle: float  # L2 -> L1 per core
    l2_shared_bytes_per_cycle: float | None  # aggregate L2 bandwidth when shared
    l3_bytes: int  # 0: no L3
    l3_latency_cycles: int
    l3_fill_bytes_per_cycle: float  # L3 -> L2 per core
    l3_shared_bytes_per_cycle: float  # aggregate, all cores
    dram_gbs: float  # peak
    dram_efficiency: float  # sustained fraction of peak
    dram_latency_ns: float
    line_bytes: int
    cache_usable_fraction: float  # part of a cache a working set may use before it counts as not fitting
    parallel_dispatch_us: float  # per parallel op: thread-pool wake-up and join
    # set-associative cache model (cache.py)
    l1_ways: int = 4
    l2_ways: int = 8
    l3_ways: int = 16
    l1_outstanding_misses: int = 20  # non-prefetch L1 misses the core can have in flight (MSHRs)
    miss_overlap: float = 4.0  # misses whose latency overlaps on average (effective MLP, <= MSHRs)
    prefetch_depth_lines: int = 4  # lines the L1 stream prefetcher runs ahead of a confirmed stream
    prefetch_streams: int = 8  # streams the prefetcher tracks at once
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def clock_ghz(self) -> float:
        """Reference clock: the core thread 0 runs on (cycles in results count this clock)."""
        return self.cores[0].clock_ghz

    @property
    def max_threads(self) -> int:
        return len(self.cores)

    @property
    def dram_sustained_gbs(self) -> float:
        return self.dram_gbs * self.dram_efficiency

    def cache_levels(self, l1_bytes: int | None = None, l2_bytes: int | None = None):
        """The hierarchy one core sees (cache.LevelConfig per level; the SD835's shared L2 whole)."""
        from .cache import LevelConfig

        levels = [
            LevelConfig("L1", int(l1_bytes or self.l1_bytes), self.l1_ways, self.line_bytes),
            LevelConfig("L2", int(l2_bytes or self.cores[0].l2_bytes), self.l2_ways, self.line_bytes),
        ]
        if self.l3_bytes:
            levels.append(LevelConfig("L3", self.l3_bytes, self.l3_ways, self.line_bytes))
        return tuple(levels)

    def load_to_use_cycles(self) -> tuple[float, ...]:
        """Latency of each level of `cache_levels()` then DRAM, in reference-clock cycles."""
        lat = [float(self.l1_latency_cycles), float(self.l2_latency_cycles)]
        if self.l3_bytes:
            lat.append(float(self.l3_latency_cycles))
        lat.append(self.dram_latency_ns * self.clock_ghz)
        return tuple(lat)

    def llc_bytes(self) -> int:
        """Last-level cache (L3 if present, else the shared L2)."""
        if self.l3_bytes:
            return self.l3_bytes
        return self.cores[0].l2_bytes if self.l2_shared else 0


# ------------------------------------------------------------------------------------------------ cores

CORTEX_A76 = CoreModel(
    name="Cortex-A76 class (Kryo 485 Gold)",
    isa=NEOVERSE_N1,
    decode_width=4,
    dispatch_uops=8,
    ports={"L": 2, "V": 2, "I": 3, "M": 1, "B": 1},
    m_in_i=True,
    neon_registers=32,
    sources={
        "isa": NEOVERSE_N1.source,
        "decode_width": "[V] 4-wide decode (Wikipedia/WikiChip)",
        "dispatch_uops": "[V] 8 µops/cycle dispatch; LLVM N1 IssueWidth = 8",
        "ports": "[V] LLVM N1 model: 2 L (N1UnitL), 2 V (V0, V1), I = {S0, S1, M}, 1 M, 1 B",
        "m_in_i": "[V] LLVM N1: N1UnitI = ProcResGroup<[N1UnitS, N1UnitM]>",
        "neon_registers": "[V] A64 ISA: 32 128-bit vector registers",
    },
)

CORTEX_A73 = CoreModel(
    name="Cortex-A73 class (Kryo 280 Gold)",
    isa=CORTEX_A57,
    decode_width=2,
    dispatch_uops=6,
    ports={"L": 2, "V": 2, "I": 2, "M": 1, "B": 1},
    m_in_i=False,
    neon_registers=32,
    sources={
        "isa": CORTEX_A57.source,
        "decode_width": src(
            "[V] 2-wide decode: AnandTech 10347 p.2, chipsandcheese 'Arm's Cortex A73'; "
            "Kryo 280 = semi-custom A73 [M]",
            2,
            3,
        ),
        "dispatch_uops": "[V] AnandTech 10347 p.2: A73 dispatches up to 6 µops/cycle",
        "ports": "V = 2: [V] AnandTech 10347 (two FP/ASIMD pipelines); L = 2 AGUs [M]; "
        "I = 2 ALUs + 1 multi-cycle M pipe: our choice (A17 lineage, AnandTech 10347 describes the "
        "integer cluster of A72/A17 class cores) [M]",
        "m_in_i": "our choice: separate multi-cycle pipe as in the A57 model",
        "neon_registers": "[V] A64 ISA: 32 128-bit vector registers",
    },
)


# ------------------------------------------------------------------------------------------------ SoCs

_COMMON_SOURCES = {
    "line_bytes": src(
        "[V] 64-byte lines on the A76 (Arm Cortex-A76 Core Technical Reference Manual §A6.1), [M] on the A73",
        64,
        64,
    ),
    "cache_usable_fraction": src(
        "our choice 0.75: a working set above 3/4 of a set-associative cache that also carries a streamed "
        "operand and outputs is treated as not fitting (only the `memory_model: streams` estimate uses it)",
        0.5,
        1.0,
    ),
    "parallel_dispatch_us": src(
        "our choice 1 µs per parallel op (pthreadpool wake-up + join; not measured)", 0.3, 5.0
    ),
    "dram_efficiency": src(
        "our choice 0.7: sustained / peak LPDDR4x bandwidth (not measured, not fitted)", 0.5, 0.9
    ),
    "prefetch_streams": src(
        "our choice 8 tracked streams (the Arm TRMs describe multi-stream L1 prefetchers without the count)",
        4,
        16,
    ),
}

SNAPDRAGON855 = SoC(
    name="snapdragon855",
    core=CORTEX_A76,
    cores=(
        CoreSlot("Kryo 485 Gold prime", 2.84, 512 * KIB),
        CoreSlot("Kryo 485 Gold", 2.42, 256 * KIB),
        CoreSlot("Kryo 485 Gold", 2.42, 256 * KIB),
        CoreSlot("Kryo 485 Gold", 2.42, 256 * KIB),
    ),
    l1_bytes=64 * KIB,
    l1_latency_cycles=4,
    l2_latency_cycles=9,
    l2_shared=False,
    l2_fill_bytes_per_cycle=32.0,
    l2_shared_bytes_per_cycle=None,
    l3_bytes=2 * MIB,
    l3_latency_cycles=31,
    l3_fill_bytes_per_cycle=32.0,
    l3_shared_bytes_per_cycle=64.0,
    dram_gbs=34.1,
    dram_efficiency=0.7,
    dram_latency_ns=120.0,
    line_bytes=64,
    cache_usable_fraction=0.75,
    parallel_dispatch_us=1.0,
    l1_ways=4,
    l2_ways=8,
    l3_ways=16,
    l1_outstanding_misses=20,
    miss_overlap=4.0,
    prefetch_depth_lines=4,
    prefetch_streams=8,
    sources={
        **_COMMON_SOURCES,
        "l1_ways": "[V] Arm Cortex-A76 Core Technical Reference Manual §A6.1: L1 data cache 4-way "
        "set-associative, 64-byte lines",
        "l2_ways": "[V] Arm Cortex-A76 Core Technical Reference Manual §A7.1: L2 cache 8-way set-associative",
        "l3_ways": "[V] Arm DynamIQ Shared Unit Technical Reference Manual: L3 cache 16-way set-associative "
        "(WikiChip 'Cortex-A76' agrees)",
        "l1_outstanding_misses": "[V] Arm's Cortex-A76 disclosure (Arm TechDay 2018, as reported by "
        "AnandTech 'Arm's Cortex-A76 CPU Unveiled'): 68 in-flight loads, 72 in-flight stores, 20 outstanding "
        "non-prefetch misses",
        "miss_overlap": src(
            "[M] our choice 4: the SD835 calibration (bench/calibrate_mobile.py) found no SD855 dense "
            "single-thread XNNPACK figure to fit against; bounded by the 20 outstanding misses",
            1.0,
            20.0,
        ),
        "prefetch_depth_lines": src(
            "[M] our choice 4 lines: the A76 TRM §A6.5 describes the L1 stream prefetcher but not its "
            "distance; no SD855 calibration point was found",
            1,
            16,
        ),
        "cores": "[V] AnandTech 13786: 1x Kryo 485 Gold prime @ 2.84 GHz with 512 KB private L2 "
        "+ 3x Kryo 485 Gold @ 2.42 GHz with 256 KB private L2; thread 0 runs on the prime core (our choice)",
        "l1_bytes": "[V] 64 KB L1D (WikiChip; A76 TRM §A6.1 'fixed size of 64KB')",
        "l1_latency_cycles": "[V] 4-cycle load-to-use (WikiChip)",
        "l2_latency_cycles": "[V] 9-cycle load-to-use (WikiChip)",
        "l2_fill_bytes_per_cycle": "[V] A76 TRM 100798 §A6.1: 256-bit read interface from L2 = 32 B/cycle",
        "l3_bytes": "[V] 2 MB L3 (AnandTech 13786); the 3 MB system cache is not modelled",
        "l3_latency_cycles": src("[V] WikiChip A76: L3 load-to-use 26-31 cycles (we take 31)", 26, 31),
        "l3_fill_bytes_per_cycle": "[V] WikiChip A76: up to two 32-byte transfers L3<->L2; we use 32 B/cycle "
        "per core for reads",
        "l3_shared_bytes_per_cycle": src(
            "our choice: 2 x 32 B/cycle aggregate for the DSU L3, counted at the core clock (the DSU clock "
            "is not public)",
            32.0,
            64.0,
        ),
        "dram_gbs": "[V] LPDDR4x 4x16-bit @ 2133 MHz = 34.1 GB/s (AnandTech 13786)",
        "dram_latency_ns": src(
            "[M] ~120 ns load-to-use from LPDDR4x (AnandTech's Snapdragon 855 memory-latency measurements "
            "read 110-130 ns at large depths, not re-checked)",
            90.0,
            160.0,
        ),
    },
)

_CALIBRATED_835 = (
    "calibrated on XNNPACK README 'Performance / Mobile phones' single-threaded dense latencies on Pixel 2 "
    "(MobileNet v1 1.0X 86 ms, v2 1.0X 53 ms; benchmarked 2020-03-27) with bench/calibrate_mobile.py on "
    "2026-12-06"
)

SNAPDRAGON835 = SoC(
    name="snapdragon835",
    core=CORTEX_A73,
    cores=tuple(CoreSlot("Kryo 280 Gold", 2.45, 2 * MIB) for _ in range(4)),
    l1_bytes=64 * KIB,
    l1_latency_cycles=4,
    l2_latency_cycles=20,
    l2_shared=True,
    l2_fill_bytes_per_cycle=16.0,
    l2_shared_bytes_per_cycle=32.0,
    l3_bytes=0,
    l3_latency_cycles=0,
    l3_fill_bytes_per_cycle=0.0,
    l3_shared_bytes_per_cycle=0.0,
    dram_gbs=29.9,
    dram_efficiency=0.7,
    dram_latency_ns=120.0,
    line_bytes=64,
    cache_usable_fraction=0.75,
    parallel_dispatch_us=1.0,
    l1_ways=4,
    l2_ways=16,
    l3_ways=16,
    l1_outstanding_misses=8,
    miss_overlap=1.0,
    prefetch_depth_lines=1,
    prefetch_streams=8,
    sources={
        **_COMMON_SOURCES,
        "l1_ways": src(
            "[M] Arm Cortex-A73 Technical Reference Manual: 4-way set-associative L1 data cache "
            "(not re-checked; Kryo 280 is a semi-custom A73)",
            2,
            8,
        ),
        "l2_ways": src(
            "[M] Arm Cortex-A73 Technical Reference Manual: 16-way set-associative L2 (not re-checked)", 8, 16
        ),
        "l3_ways": "[M] no L3 on SD835; unused",
        "l1_outstanding_misses": src(
            "[M] 8: not published for the A73; its predecessor's Arm Cortex-A72 MPCore Processor Technical "
            "Reference Manual §6.4 allows six outstanding 64-byte line requests",
            6,
            12,
        ),
        "miss_overlap": src(
            _CALIBRATED_835
            + ": 1.0, the lower bound of its range (the model stays 14 % / 8.5 % fast on both "
            "points)",
            1.0,
            8.0,
        ),
        "prefetch_depth_lines": src(
            _CALIBRATED_835 + ": 1 line (grid 1, 2, 4, 8), the lower bound of its range",
            1,
            16,
        ),
        "cores": "[V] 4x Kryo 280 performance cores @ 2.45 GHz (AnandTech 10948) sharing a "
        "2 MB L2 (dday.it); base core likely A73 [M]",
        "l1_bytes": Source(
            "our choice 64 KB [M]: A73 L1D is 32-64 KB (Wikipedia, [V] configurable), Arm's A73 "
            "introduction raised it to 64 KB (Hexus, L. Belnet); Kryo 280's size is not published [M]",
            (32 * KIB, 64 * KIB),
        ),
        "l1_latency_cycles": src("[M] 4 cycles (A73 class; not verified)", 3, 5),
        "l2_latency_cycles": src("our choice 20 cycles (not published for Kryo 280)", 15, 25),
        "l2_fill_bytes_per_cycle": src(
            "our choice 16 B/cycle per core (half the A76's 256-bit L2 read path; the A73 L1 refill width is "
            "not published)",
            8.0,
            32.0,
        ),
        "l2_shared_bytes_per_cycle": src(
            "our choice 32 B/cycle aggregate for the shared 2 MB L2 (unknown)", 16.0, 64.0
        ),
        "l3_bytes": "[M] no L3 on SD835",
        "dram_gbs": src("[M] LPDDR4x 2x32-bit @ 1866 MHz ~ 29.9 GB/s", 25.6, 29.9),
        "dram_latency_ns": src("[M] ~120 ns load-to-use from LPDDR4x (not measured here)", 90.0, 180.0),
    },
)

PRESETS: dict[str, SoC] = {s.name: s for s in (SNAPDRAGON835, SNAPDRAGON855)}


def get_soc(name: str) -> SoC:
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError(f"unknown SoC preset {name!r}; known: {sorted(PRESETS)}", path="mobile.soc") from None


def resolve_soc(mobile: MobileSpec) -> SoC:
    """The preset named by a MobileSpec with its override fields applied (each override is sourced
    'workload override')."""
    soc = get_soc(mobile.soc)
    threads = int(getattr(mobile, "threads", 1))
    if threads > soc.max_threads:
        raise SpecError(
            f"{soc.name} has {soc.max_threads} big cores; threads must be <= {soc.max_threads} "
            f"(got {threads})",
            path="mobile.threads",
        )
    changes: dict[str, Any] = {}
    sources = dict(soc.sources)
    clock = getattr(mobile, "clock_mhz", None)
    if clock is not None:
        changes["cores"] = tuple(replace(c, clock_ghz=float(clock) / 1000.0) for c in soc.cores)
        sources["cores"] = f"workload override: every big core at {clock} MHz; " + sources["cores"]
    dram = getattr(mobile, "dram_bandwidth_gbs", None)
    if dram is not None:
        changes["dram_gbs"] = float(dram)
        sources["dram_gbs"] = "workload override (mobile.dram_bandwidth_gbs)"
    eff = getattr(mobile, "dram_efficiency", None)
    if eff is not None:
        changes["dram_efficiency"] = float(eff)
        sources["dram_efficiency"] = "workload override (mobile.dram_efficiency)"
    if not changes:
        return soc
    return replace(soc, sources=sources, **changes)


def describe(soc: SoC) -> list[dict[str, Any]]:
    """Every preset number with its source: rows of {parameter, value, source}."""
    rows: list[dict[str, Any]] = []
    core = soc.core
    for key in ("decode_width", "dispatch_uops", "ports", "m_in_i", "neon_registers"):
        rows.append(
            {
                "parameter": f"core.{key}",
                "value": getattr(core, key),
                "source": core.sources[key],
                "range": plausible_range(core.sources, key),
            }
        )
    rows.append(
        {"parameter": "core.isa", "value": core.isa.name, "source": core.sources["isa"], "range": None}
    )
    rows.append(
        {
            "parameter": "core.peak_macs_per_cycle",
            "value": core.peak_macs_per_cycle,
            "source": "[D] V pipes x 4 fp32 lanes / V-µops per FMLA.4s",
            "range": None,
        }
    )
    for key in SoC.__dataclass_fields__:
        if key in ("name", "core", "sources"):
            continue
        value = getattr(soc, key)
        if key == "cores":
            value = [(c.name, c.clock_ghz, c.l2_bytes) for c in value]
        src_key = key
        if key == "l2_shared" or (key == "l2_shared_bytes_per_cycle" and value is None):
            src_key = "cores"  # the cores' entry says whether the L2 is private or shared
        if (
            key in ("l3_latency_cycles", "l3_fill_bytes_per_cycle", "l3_shared_bytes_per_cycle")
            and not soc.l3_bytes
        ):
            src_key = "l3_bytes"
        source = soc.sources.get(src_key, "")
        rows.append(
            {
                "parameter": key,
                "value": value,
                "source": source,
                "range": plausible_range(soc.sources, src_key),
            }
        )
    return rows
