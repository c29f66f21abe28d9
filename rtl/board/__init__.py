"""The VCU1525 board top (docs/fpga.md), one component per job: clocking, the PE array with its on-chip
buffers, the UART command interface and the status LEDs.

    clk300 (DIFF_SSTL12) -> IBUFDS -> MMCME4_ADV (M/D/O from `mmcm_dividers`) -> BUFG -> domain "sync"
    uart rx -> UARTRx -> FrameDecoder -> weight / activation buffers (write ports)
                              | cmd
                              v
                         CommandUnit -- RUN --> RunControl -> SparseArray <- StreamReaders <- buffers
                              |                     results -> result buffer; ev_* + cycle -> cycle registers
                              v
                          Responder (<- result buffer) -> UARTTx -> uart tx
    StatusLEDs: 0 heartbeat, 1 a tile is running, 2 a sticky error (cleared by the STATUS command)
    DIP switches: read by STATUS (no function in the design: their on/off polarity is not documented).

`BoardCore` (top.py) is everything in the array clock domain, with plain ports (`uart_rx`, `uart_tx`, `leds`,
`switches`, plus `clk`/`rst`): the simulation top (the cocotb bench drives its UART pins) and what the Yosys
estimate synthesises. `VCU1525Top` wraps it with the clock/reset generator (`CRG`) and the platform's pins.

The buffers are instances of a behavioural simple dual-port RAM module (`ram_verilog`) with a `ram_style`
attribute ("ultra" for the buffers of a build, sized from the accelerator spec; "block" otherwise): Vivado
(and Yosys) infer URAM288 / RAMB36E2 from it, no primitives are instantiated. Each buffer word is one stream
beat of the array, so one word per cycle feeds it without stalls (`StreamReader`), which is what makes the
measured tile cycles equal `sparsesim.sat.timing`.

Modules: `params` (BoardParams, what INFO reports), `clocking` (MMCM dividers, CRG), `memories` (RAMs, port
signatures, StreamReader), `decoder` (request frames), `commands` (execute and answer), `runctl` (a RUN),
`responder` (response frames), `leds`, `top` (BoardCore, VCU1525Top). The wire format is
sparsesim.rtl.protocol.
"""

from .clocking import (
    CRG,
    DIVCLK_MAX,
    FOUT_MAX_MHZ,
    MULT_RANGE,
    OUT_DIV_RANGE,
    PFD_MHZ,
    VCO_MHZ,
    MMCMDividers,
    mmcm_dividers,
)
from .memories import RAM_STYLES, SDPRam, StreamReader, ram_module_name, ram_verilog
from .params import BoardParams, board_source_hash
from .top import BoardCore, VCU1525Top

__all__ = [
    "CRG", "DIVCLK_MAX", "FOUT_MAX_MHZ", "MULT_RANGE", "OUT_DIV_RANGE", "PFD_MHZ", "VCO_MHZ", "MMCMDividers",
    "mmcm_dividers", "RAM_STYLES", "SDPRam", "StreamReader", "ram_module_name", "ram_verilog", "BoardParams",
    "board_source_hash", "BoardCore", "VCU1525Top",
]  # fmt: skip
