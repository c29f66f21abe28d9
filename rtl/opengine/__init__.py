"""The op engine: runs a whole GEMM op from a descriptor, loading its operand blocks from DRAM over AXI4
into on-chip buffers, adding the partial sums on chip and writing the final sums back (docs/pe_array.md,
"Op engine"). `descriptor` is the data layout shared with the Python that builds descriptors,
`engine.OpEngine` the hardware, `axi_mem_model.v` the simulation DRAM."""
