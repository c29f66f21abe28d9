"""From a workload's accelerator section to the board top's elaboration parameters (rtl/board/).

The resolved accelerator (`AcceleratorSpec.resolved()`, sparsesim.sat.arch) gives the array (rows, cols, P,
MMAX, precision, latencies), the clock and the buffer sizes. Each buffer word is one stream beat of the array,
so a buffer's depth is its KiB divided by the beat width (rounded down):

- weights + indices: `weight_buffer_kib` / (lanes x P x (operand + index bits)), lanes = max(rows, cols)
- activations: `act_buffer_kib` / (lanes x MMAX x operand bits)
- results: `out_buffer_kib` / (cols x 32 bits)

The gradient buffer (`grad_buffer_kib`) feeds the backward and weight-update GEMMs through the same array
ports; the board top loads those operands into the weight / activation buffers, so it is not instantiated.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import SparsesimError

DEFAULT_BAUD = 921_600
KIB_BITS = 1024 * 8


# ArrayConfig argument <- field of the resolved accelerator section (sat.arch.resolve(...).to_dict())
ARRAY_FIELDS = {
    "rows": "rows", "cols": "cols", "multipliers": "multipliers_per_pe", "max_m": "max_m",
    "precision": "precision", "mul_latency": "mul_latency_cycles", "add_latency": "add_latency_cycles",
}  # fmt: skip


def array_config(acc: dict[str, Any]):
    """The RTL's ArrayConfig of a resolved accelerator section: the one conversion, used by `fpga build` and
    `rtl export` alike."""
    from sparsesim.rtl.config import ArrayConfig

    values = {arg: acc[field] for arg, field in ARRAY_FIELDS.items()}
    try:
        return ArrayConfig(**{k: v if k == "precision" else int(v) for k, v in values.items()})
    except ValueError as err:
        given = ", ".join(f"{ARRAY_FIELDS[k]}={v}" for k, v in values.items())
        raise SparsesimError(f"accelerator: {err} ({given})") from None


def _depth(kib: float, bits: int, field: str) -> int:
    depth = int(kib * KIB_BITS // bits)
    if depth < 1:
        raise SparsesimError(
            f"{kib} KiB cannot hold one {bits}-bit word; increase accelerator.{field}",
            path=f"accelerator.{field}",
        )
    return depth


def board_params(acc: dict[str, Any], *, baud: int = DEFAULT_BAUD):
    """BoardParams for the card: buffers sized from the spec (URAM), UART divisor for `baud` at clock_mhz."""
    from sparsesim.rtl.board import BoardParams
    from sparsesim.rtl.uart import baud_divisor

    if baud <= 0:
        raise SparsesimError(f"--baud must be positive, got {baud}")
    cfg = array_config(acc)
    clock_hz = float(acc["clock_mhz"]) * 1e6
    try:
        divisor = baud_divisor(clock_hz, baud)
    except ValueError as err:
        raise SparsesimError(f"--baud / accelerator.clock_mhz: {err}") from None
    probe = BoardParams(cfg)
    return BoardParams(
        cfg,
        weight_depth=_depth(acc["weight_buffer_kib"], probe.weight_bits, "weight_buffer_kib"),
        act_depth=_depth(acc["act_buffer_kib"], probe.act_bits, "act_buffer_kib"),
        result_depth=_depth(acc["out_buffer_kib"], probe.result_bits, "out_buffer_kib"),
        clocks_per_bit=divisor, clock_mhz=float(acc["clock_mhz"]), baud=baud, uram=True,
        heartbeat_bit=max(1, int(math.log2(clock_hz)) - 1),
    )  # fmt: skip


def buffer_table(params) -> list[dict[str, Any]]:
    """Each buffer's word width, depth, and the URAM288 (72 x 4096) tiles Vivado needs for it."""
    rows = []
    for name, bits, depth, field in (
        ("weights", params.weight_bits, params.weight_depth, "weight_buffer_kib"),
        ("activations", params.act_bits, params.act_depth, "act_buffer_kib"),
        ("results", params.result_bits, params.result_depth, "out_buffer_kib"),
    ):
        rows.append(
            {
                "buffer": name,
                "field": field,
                "word_bits": bits,
                "depth": depth,
                "kib": bits * depth / KIB_BITS,
                "uram": math.ceil(bits / 72) * math.ceil(depth / 4096),
                "bram36": math.ceil(bits / 72) * math.ceil(depth / 512),
            }
        )
    return rows
