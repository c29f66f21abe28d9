"""The XCVU9P's resources and how Yosys's mapped cells count against them.

Totals [K]: Xilinx DS890 (UltraScale Architecture and Product Data Sheet: Overview), XCVU9P column:
1,182,240 CLB LUTs, 2,364,480 CLB flip-flops, 6,840 DSP48E2 slices, 2,160 RAMB36 (75.9 Mb), 960 URAM288
(270 Mb), in 3 SLRs. Vivado's utilisation report counts the same units ("CLB LUTs" = LUT as logic + LUT as
memory; "Block RAM Tile" in RAMB36 units, a RAMB18 being half a tile).
"""

from __future__ import annotations

RESOURCES = ("lut", "ff", "dsp", "bram36", "uram")
LABELS = {"lut": "LUT", "ff": "FF", "dsp": "DSP48E2", "bram36": "BRAM36", "uram": "URAM"}

XCVU9P: dict[str, int] = {"lut": 1_182_240, "ff": 2_364_480, "dsp": 6_840, "bram36": 2_160, "uram": 960}
DEVICE_NAME = "XCVU9P"

# Yosys synth_xilinx (-family xcup) cell -> (resource, amount per cell). LUT-RAMs and shift registers are
# counted in LUTs (their LUT sites), as Vivado's "CLB LUTs" does.
CELL_RESOURCES: dict[str, tuple[str, float]] = {
    **{f"LUT{i}": ("lut", 1) for i in range(1, 7)},
    "SRL16E": ("lut", 1), "SRLC16E": ("lut", 1), "SRLC32E": ("lut", 1),
    "RAM32X1S": ("lut", 1), "RAM64X1S": ("lut", 1), "RAM128X1S": ("lut", 2), "RAM256X1S": ("lut", 4),
    "RAM32X1D": ("lut", 2), "RAM64X1D": ("lut", 2), "RAM128X1D": ("lut", 4), "RAM256X1D": ("lut", 8),
    "RAM32M": ("lut", 4), "RAM64M": ("lut", 4), "RAM32M16": ("lut", 8), "RAM64M8": ("lut", 8),
    "RAM512X1S": ("lut", 8),
    "FDRE": ("ff", 1), "FDSE": ("ff", 1), "FDCE": ("ff", 1), "FDPE": ("ff", 1),
    "LDCE": ("ff", 1), "LDPE": ("ff", 1),
    "DSP48E2": ("dsp", 1),
    "RAMB36E2": ("bram36", 1), "RAMB18E2": ("bram36", 0.5),
    "FIFO36E2": ("bram36", 1), "FIFO18E2": ("bram36", 0.5),
    "URAM288": ("uram", 1), "URAM288_BASE": ("uram", 1),
}  # fmt: skip
# Cells that use no counted resource (carry chains, wide muxes live in the CLBs next to the LUTs; buffers).
UNCOUNTED = {
    "CARRY8",
    "CARRY4",
    "MUXF7",
    "MUXF8",
    "MUXF9",
    "BUFG",
    "BUFGCE",
    "IBUF",
    "OBUF",
    "IBUFDS",
    "INV",
    "VCC",
    "GND",
    "MMCME4_ADV",
    "$scopeinfo",
}


def resources_from_cells(
    cells: dict[str, int], *, blackboxes: dict[str, dict[str, float]] | None = None
) -> dict:
    """Resource totals of a `stat -json` cell histogram; `blackboxes` maps a black-box cell type to the
    resources of one instance (the hierarchical estimate). Unknown cell types are returned under "unknown"."""
    out = {r: 0.0 for r in RESOURCES}
    unknown: dict[str, int] = {}
    for cell, count in cells.items():
        name = cell.lstrip("\\")
        if blackboxes and name in blackboxes:
            for r in RESOURCES:
                out[r] += count * blackboxes[name].get(r, 0)
        elif name in CELL_RESOURCES:
            res, amount = CELL_RESOURCES[name]
            out[res] += count * amount
        elif name not in UNCOUNTED:
            unknown[name] = count
    result: dict = {r: (int(v) if float(v).is_integer() else v) for r, v in out.items()}
    if unknown:
        result["unknown"] = unknown
    return result


# The build's budget, in % of the device (our choice): the array still has to route across the XCVU9P's three
# SLRs at 200 MHz and leave room for the memory and host shell (four DDR4 controllers, PCIe), the sorter and
# the vector units, so half the LUTs; DSP48E2 columns route easily, so 70 %. Resources not named here may use
# the whole device.
BUDGET_PERCENT: dict[str, float] = {"lut": 50.0, "dsp": 70.0}


def budget_percent(resource: str) -> float:
    return BUDGET_PERCENT.get(resource, 100.0)


def percent(resources: dict, device: dict[str, int] = XCVU9P) -> dict[str, float]:
    return {r: 100.0 * float(resources.get(r, 0)) / device[r] for r in RESOURCES}


def over_budget(resources: dict, device: dict[str, int] = XCVU9P, *, budget: bool = False) -> list[str]:
    """Resources whose estimate exceeds the device (or, with `budget`, BUDGET_PERCENT of it), the most
    over-subscribed first."""
    pct = percent(resources, device)
    limit = {r: budget_percent(r) if budget else 100.0 for r in RESOURCES}
    return sorted((r for r in RESOURCES if pct[r] > limit[r]), key=lambda r: -pct[r] / limit[r])
