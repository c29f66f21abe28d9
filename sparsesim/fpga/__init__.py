"""The FPGA side of sparsesim (docs/fpga.md): the VCU1525 build tree and Yosys estimate (`build`, `estimate`,
`vivado`, `device`, `params`), and the host link to the board top over its UART (`protocol`, `driver`,
`model`)."""
