"""The op engine: runs a whole GEMM op from a descriptor, fetching its operands from DRAM over AXI4 and
writing its results back (docs/pe_array.md, "Op engine"). `descriptor` is the data layout shared with the
Python that builds descriptors, `engine.OpEngine` the hardware, `mem_model.v` the simulation DRAM."""
