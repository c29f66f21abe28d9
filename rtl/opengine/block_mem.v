// A block buffer's memory for the Verilator benches (rtl/opengine/buffer.py with `memory_module`): the same
// ports and behaviour as the amaranth.lib.memory the engine otherwise uses (one write port; one read port,
// its data registered when `ren` is high, transparent for a word written in the same cycle), without the
// word-by-word initial contents Amaranth writes for a memory, which make a large buffer slow to convert and
// to compile. The buffer writes every word before it reads it.
module op_engine_block_mem #(
    parameter WIDTH = 8,
    parameter DEPTH = 16,
    parameter ABITS = 4
) (
    input  wire clk,
    input  wire [ABITS-1:0] waddr,
    input  wire [WIDTH-1:0] wdata,
    input  wire wen,
    input  wire [ABITS-1:0] raddr,
    input  wire ren,
    output reg  [WIDTH-1:0] rdata
);
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    always @(posedge clk) begin
        if (wen) mem[waddr] <= wdata;
        if (ren) rdata <= (wen && waddr == raddr) ? wdata : mem[raddr];
    end
endmodule
