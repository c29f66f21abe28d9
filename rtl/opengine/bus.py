"""The op engine's AXI4 data width: the one place it is written. The engine's masters, the simulation DRAM
model, the DRAM image and the simulator's preset (sparsesim.sat.arch, `dram_port_bytes`) read it.

Kept free of Amaranth so the simulator imports it at no cost.
"""

from __future__ import annotations

# Bytes per beat of each of the engine's AXI4 ports (rd_w, rd_a, wr): 1,024 bits, the widest data bus AXI4
# allows ("AMBA AXI and ACE Protocol Specification", ARM IHI 0022, A1.3: 8 to 1,024 bits). Our choice: the
# 16x16 FP16 array's streams need it (an activation word of 16 rows x 4 elements x 16 bits in 2:4 mode is
# 1,024 bits, one word per array cycle); a 512-bit DDR4 MIG port behind it takes an AXI width converter.
PORT_BYTES = 128
