// A block buffer's memory for the Verilator benches (rtl/opengine/buffer.py with `memory_module`): the same
// ports and behaviour as the amaranth.lib.memory the engine otherwise uses (one write port; one read port,
// its data registered when `ren` is high, transparent for a word written in the same cycle), without the
// word-by-word initial contents Amaranth writes for a memory, which make a large buffer slow to convert and
// to compile. The buffer writes every word before it reads it. GRANULES > 1: `wen` enables each of that
// many equal parts of a word separately (amaranth's write port with a granularity), the read transparent per
// part. TRANSPARENT = 0: the read is never transparent (amaranth's read port without `transparent_for`, as
// the out buffer's, which never reads a place in the cycle it writes it): no bypass around the memory.
module op_engine_block_mem #(
    parameter WIDTH = 8,
    parameter DEPTH = 16,
    parameter ABITS = 4,
    parameter GRANULES = 1,
    parameter TRANSPARENT = 1
) (
    input  wire clk,
    input  wire [ABITS-1:0] waddr,
    input  wire [WIDTH-1:0] wdata,
    input  wire [GRANULES-1:0] wen,
    input  wire [ABITS-1:0] raddr,
    input  wire ren,
    output reg  [WIDTH-1:0] rdata
);
    localparam G = WIDTH / GRANULES;
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    integer g;
    always @(posedge clk) begin
        for (g = 0; g < GRANULES; g = g + 1) begin
            if (wen[g]) mem[waddr][g*G +: G] <= wdata[g*G +: G];
            if (ren) rdata[g*G +: G] <= (TRANSPARENT && wen[g] && waddr == raddr) ? wdata[g*G +: G] : mem[raddr][g*G +: G];
        end
    end
endmodule
