"""SLR-aware floorplan of the board core on the XCVU9P: which PE columns go to which SLR, the pblocks that
say so in the XDC, and the latency the SLR crossing registers add (docs/fpga.md, "Floorplan").

Device facts:
- The XCVU9P is a stacked-silicon device of three super logic regions (SLRs), SLR0 at the bottom (Xilinx
  DS890, UltraScale Architecture and Product Data Sheet: Overview, XCVU9P column "SLRs: 3"; UG949,
  UltraFast Design Methodology Guide, "Super Logic Region (SLR)"). The three SLRs of the XCVU9P are the same
  die, so each holds a third of the device's totals (device.XCVU9P): 394,080 LUTs, 2,280 DSP48E2, 720 RAMB36,
  320 URAM288. Vivado's `report_utilization -slr` shows the split per SLR (unverified here).
- Signals between SLRs travel on super long lines (SLLs; UG949, "Super Long Line (SLL) Routes"); UG949
  ("Propagation Limitations") asks to register every signal that crosses an SLR boundary; carry chains and
  DSP cascades do not cross. Vivado's USER_SLL_REG and USER_CROSSING_SLR properties (UG912 Vivado Design
  Suite Properties Reference Guide) put a single-fanout pipeline register's crossing on an SLL with the
  register in the Laguna tile.
- Pblocks (`create_pblock`, `resize_pblock -add SLR<n>`, `add_cells_to_pblock`) are Vivado's placement
  constraints (UG903 Using Constraints, "Floorplanning"; UG912 for the pblock properties).

The split (our choice): by columns. The array's row-direction links (token, weight lanes, activation group)
leave and enter PE cells as registers, so a column boundary placed on an SLR boundary is a register-to-
register crossing; the partial-sum and drain chains run down a column and stay inside one SLR. The tile
controller, the buffers, the UART and the skew/deskew lines (the "rest" of the estimate) sit in SLR0 with the
first columns; the columns follow in SLR order, filling as few SLRs as the budget allows (each SLR at most
`device.BUDGET_PERCENT` of its LUTs and DSPs), balanced over the SLRs they need.

Latency: with the first column group in the controller's SLR, a beat crosses one SLR boundary per group on
its way to the last column, and the last column's results cross the same boundaries back to the result
buffer. With `LAGUNA_REGISTERS_PER_CROSSING` registers per crossing, a tile sequence takes
`2 x crossings x registers` cycles more (once per sequence: the registers are pipelined). That number is
`latency_cycles` and the simulator's architecture parameter `slr_latency_cycles` (sparsesim.sat.arch,
sparsesim.sat.timing). The RTL builds them from the same split (`Floorplan.slr_columns` ->
`ArrayConfig.slr_columns`, rtl/array.py PEArray): every row link, broadcast and column result that crosses a
boundary passes a register named `xin_slr<s>_*` in its receiving SLR s, which the pblocks below place there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sparsesim.rtl.latency import (  # the crossing registers' facts, owned with the RTL's latencies
    CROSSING_NAME,
    LAGUNA_REGISTERS_PER_CROSSING,
    sequence_latency_cycles,
)

from . import device

__all__ = ["CROSSING_NAME", "LAGUNA_REGISTERS_PER_CROSSING", "sequence_latency_cycles"]

SLR_COUNT = 3
# Each SLR of the XCVU9P: a third of the device (module docstring).
SLR_RESOURCES: dict[str, int] = {r: v // SLR_COUNT for r, v in device.XCVU9P.items()}
# The SLR of the tile controller, buffers and UART (our choice: the first columns' SLR, so the beats enter
# the array without a crossing).
CONTROLLER_SLR = 0
ARRAY_CELLS = "core/array/array"  # the PE cells' parent in the elaborated top (rtl/board/top.py, array.py)
# The crossing registers beside the cells (CROSSING_NAME<s>_<signal>, rtl/latency.py)
CROSSING_PREFIX = f"{ARRAY_CELLS}/{CROSSING_NAME}"


@dataclass(frozen=True)
class ColumnGroup:
    slr: int
    first: int  # first column
    count: int


@dataclass(frozen=True)
class Floorplan:
    rows: int
    cols: int
    groups: tuple[ColumnGroup, ...]
    within_budget: bool  # every SLR at most device.BUDGET_PERCENT of its LUTs and DSPs
    slr_resources: dict[int, dict[str, float]]  # estimated use per SLR
    wires_per_crossing: int  # signals on each SLR boundary the array crosses (from the cell's port widths)

    @property
    def crossings(self) -> int:
        """SLR boundaries between the controller's SLR and the farthest column group."""
        return max(abs(g.slr - CONTROLLER_SLR) for g in self.groups)

    @property
    def latency_cycles(self) -> int:
        return sequence_latency_cycles(self.crossings)

    @property
    def slr_columns(self) -> tuple[int, ...]:
        """PE columns per SLR from the controller's SLR outward: the RTL's `ArrayConfig.slr_columns`, which
        puts the crossing registers where these pblocks put the boundaries."""
        slrs = [g.slr for g in self.groups]
        if slrs != list(range(CONTROLLER_SLR, CONTROLLER_SLR + len(slrs))):
            raise ValueError(f"column groups in SLRs {slrs}: not consecutive from SLR{CONTROLLER_SLR}")
        return tuple(g.count for g in self.groups) if len(self.groups) > 1 else ()

    def slr_of_column(self, col: int) -> int:
        for g in self.groups:
            if g.first <= col < g.first + g.count:
                return g.slr
        raise ValueError(f"column {col} outside the array")

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": "columns",
            "groups": [{"slr": g.slr, "first_col": g.first, "cols": g.count} for g in self.groups],
            "controller_slr": CONTROLLER_SLR,
            "crossings": self.crossings,
            "registers_per_crossing": LAGUNA_REGISTERS_PER_CROSSING,
            "latency_cycles": self.latency_cycles,
            "wires_per_crossing": self.wires_per_crossing,
            "within_budget": self.within_budget,
            "slr_percent": {
                str(s): {r: round(100.0 * res.get(r, 0) / SLR_RESOURCES[r], 2) for r in ("lut", "dsp")}
                for s, res in self.slr_resources.items()
            },
        }


def _limit(resource: str, fraction: float) -> float:
    return SLR_RESOURCES[resource] * fraction


def plan(cfg, cell: dict[str, Any], rest: dict[str, Any]) -> Floorplan:
    """Columns per SLR for an array of `cfg` (sparsesim.rtl.config.ArrayConfig) whose PE cell and rest use
    `cell` and `rest` (resource dicts of the estimate). Fills as few SLRs as fit within the budget, balanced
    over them; if even three SLRs exceed the budget, all three at the device's capacity (a --force build)."""
    rows, cols = cfg.rows, cfg.cols
    col_res = {r: rows * float(cell.get(r, 0)) for r in ("lut", "dsp")}

    def capacities(fraction_of: dict[str, float]) -> list[float]:
        """Columns each SLR can take (fractional) given the per-resource fraction of the SLR allowed."""
        caps = []
        for s in range(SLR_COUNT):
            fits = []
            for r in ("lut", "dsp"):
                room = _limit(r, fraction_of[r]) - (float(rest.get(r, 0)) if s == CONTROLLER_SLR else 0.0)
                fits.append(math.inf if col_res[r] == 0 else max(0.0, room) / col_res[r])
            caps.append(min(fits))
        return caps

    budget = {r: device.budget_percent(r) / 100.0 for r in ("lut", "dsp")}
    caps = capacities(budget)
    used = 0
    for used in range(1, SLR_COUNT + 1):
        if sum(math.floor(c) for c in caps[:used]) >= cols:
            break
    else:
        caps = capacities({"lut": 1.0, "dsp": 1.0})
        used = SLR_COUNT
    counts = _balance(cols, caps[:used])
    groups, first = [], 0
    for s, n in enumerate(counts):
        if n:
            groups.append(ColumnGroup(slr=s, first=first, count=n))
            first += n
    slr_res: dict[int, dict[str, float]] = {}
    for g in groups:
        slr_res[g.slr] = {r: g.count * col_res[r] for r in ("lut", "dsp")}
    for r in ("lut", "dsp"):
        slr_res.setdefault(CONTROLLER_SLR, {"lut": 0.0, "dsp": 0.0})[r] += float(rest.get(r, 0))
    within = all(res[r] <= _limit(r, budget[r]) for res in slr_res.values() for r in ("lut", "dsp"))
    return Floorplan(rows, cols, tuple(groups), within, slr_res, _wires_per_crossing(cfg, groups))


def _balance(cols: int, caps: list[float]) -> list[int]:
    """`cols` columns over SLRs in proportion to their capacities (largest remainder), none over its
    capacity when the total fits."""
    total = sum(caps)
    if total <= 0:
        raise ValueError("no SLR has room for a PE column")
    share = [cols * c / total for c in caps]
    counts = [math.floor(x) for x in share]
    order = sorted(range(len(caps)), key=lambda i: share[i] - counts[i], reverse=True)
    for i in order[: cols - sum(counts)]:
        counts[i] += 1
    return counts


def _wires_per_crossing(cfg, groups) -> int:
    """Signals on the busiest SLR boundary of a column split: each row's link to the next column (token,
    weight lanes, activation group) plus, for every column beyond the boundary, the broadcast weight-row
    write data, the OS group line from the top edge and the two result words back (WS partial sums, OS
    drain; `sum_bits` each), and the broadcast control. From the cell's port layouts (rtl/array.py), so it
    follows the configuration."""
    if len(groups) < 2:
        return 0
    from amaranth.lib import data

    from sparsesim.rtl.array import token_layout

    def bits(layout) -> int:
        return data.Layout.cast(layout).size

    row_link = bits(token_layout(cfg)) + bits(cfg.cell_weights_layout) + bits(cfg.group_layout)
    far_cols = cfg.cols - groups[0].count
    per_far_col = bits(cfg.cell_weights_layout) + bits(cfg.group_layout) + 2 * cfg.sum_bits
    broadcast = 4 + cfg.rows  # mode, interleave, drain shift, write bank; the weight-row select
    return cfg.rows * row_link + far_cols * per_far_col + broadcast


def pblock_xdc(fp: Floorplan) -> str:
    """The pblocks of a floorplan as XDC: one pblock per SLR used, the rest of the board core in the
    controller's SLR, each column's PE cells in its group's SLR."""
    lines = [
        "# --- SLR floorplan (sparsesim/fpga/floorplan.py; docs/fpga.md, \"Floorplan\") ---",
        f"# {fp.rows} x {fp.cols} PE array split by columns: "
        + ", ".join(f"SLR{g.slr} columns {g.first}-{g.first + g.count - 1}" for g in fp.groups)
        + f"; controller, buffers and UART in SLR{CONTROLLER_SLR}.",
        f"# The array crosses {fp.crossings} SLR boundar{'y' if fp.crossings == 1 else 'ies'} "
        f"(about {fp.wires_per_crossing} signals on the busiest one); Vivado: "
        "get_property NUM_TOP_SLLS [get_slrs SLR0] gives the SLLs available (UG949).",
    ]
    slrs = sorted({g.slr for g in fp.groups} | {CONTROLLER_SLR})
    for s in slrs:
        lines += [f"create_pblock pblock_slr{s}", f"resize_pblock [get_pblocks pblock_slr{s}] -add SLR{s}"]
    # The rest as its leaf cells (a cell belongs to one pblock; the PE cells are assigned by exact name, no
    # wildcard that could also match a child's name).
    lines.append(
        f"add_cells_to_pblock [get_pblocks pblock_slr{CONTROLLER_SLR}] [get_cells -hierarchical -filter "
        f"{{IS_PRIMITIVE && NAME =~ core/* && NAME !~ {ARRAY_CELLS}/pe_* && NAME !~ {CROSSING_PREFIX}*}}]"
    )
    for g in fp.groups:
        for c in range(g.first, g.first + g.count):
            names = " ".join(cell_name(r, c) for r in range(fp.rows))
            lines.append(f"add_cells_to_pblock [get_pblocks pblock_slr{g.slr}] [get_cells {{{names}}}]")
    if fp.crossings:
        # the crossing registers in their receiving SLR (UG949: a register on each side of the SLL)
        for s in slrs:
            lines.append(
                f"add_cells_to_pblock [get_pblocks pblock_slr{s}] [get_cells -hierarchical -filter "
                f"{{IS_PRIMITIVE && NAME =~ {crossing_prefix(s)}*}}]"
            )
    return "\n".join(lines)


def crossing_prefix(slr: int) -> str:
    """Where the crossing registers received in `slr` sit in the elaborated top (rtl/array.py PEArray names
    them xin_slr<s>_<signal>)."""
    return f"{CROSSING_PREFIX}{slr}_"


def cell_name(row: int, col: int) -> str:
    """The hierarchical name of PE(row, col) in the elaborated top."""
    return f"{ARRAY_CELLS}/pe_{row}_{col}"
