// Simulation DRAM behind the op engine's AXI4 ports: two read ports (r0, r1) and one write port on one
// memory, with a fixed access latency and a bandwidth shared by all ports (docs/pe_array.md, "Op engine").
//
// Latency: a read burst's first beat is returned LATENCY cycles after its address was accepted at the
// earliest; a write's response LATENCY cycles after its last data beat. Bursts queue (QDEPTH per port), so
// the latencies of back-to-back bursts overlap as in a DRAM controller with many open requests.
// Bandwidth: a credit counter in 1/256 bytes gains BW_Q8 per cycle (up to BURST_CREDIT beats' worth); every
// beat on any port (R or W) spends DATA_BYTES * 256. Each port moves at most one beat per cycle.
// Preload: +MEMINIT=<file> ($readmemh, one DATA_BYTES-wide word per line, word address = byte address /
// DATA_BYTES). Read-back: while `dump` is high, the words [dump_lo, dump_hi) go to +MEMDUMP=<file>.
// Simulation only (initial blocks, $readmemh/$writememh); the board's DDR4 shell is a separate design.
module axi_mem_model #(
    parameter ADDR_BITS = 32,
    parameter DATA_BYTES = 64,
    parameter ID_BITS = 4,
    parameter WORDS = 65536,
    parameter LATENCY = 24,
    parameter BW_Q8 = 98304,
    parameter BURST_CREDIT = 4,
    parameter QDEPTH = 16
) (
    input  wire clk,
    input  wire rst,
    input  wire dump,
    input  wire [31:0] dump_lo,
    input  wire [31:0] dump_hi,
    // read port 0
    input  wire [ID_BITS-1:0] r0_arid, input wire [ADDR_BITS-1:0] r0_araddr, input wire [7:0] r0_arlen,
    input  wire [2:0] r0_arsize, input wire [1:0] r0_arburst, input wire r0_arvalid, output wire r0_arready,
    output wire [ID_BITS-1:0] r0_rid, output wire [8*DATA_BYTES-1:0] r0_rdata, output wire [1:0] r0_rresp,
    output wire r0_rlast, output wire r0_rvalid, input wire r0_rready,
    // read port 1
    input  wire [ID_BITS-1:0] r1_arid, input wire [ADDR_BITS-1:0] r1_araddr, input wire [7:0] r1_arlen,
    input  wire [2:0] r1_arsize, input wire [1:0] r1_arburst, input wire r1_arvalid, output wire r1_arready,
    output wire [ID_BITS-1:0] r1_rid, output wire [8*DATA_BYTES-1:0] r1_rdata, output wire [1:0] r1_rresp,
    output wire r1_rlast, output wire r1_rvalid, input wire r1_rready,
    // write port
    input  wire [ID_BITS-1:0] w_awid, input wire [ADDR_BITS-1:0] w_awaddr, input wire [7:0] w_awlen,
    input  wire [2:0] w_awsize, input wire [1:0] w_awburst, input wire w_awvalid, output wire w_awready,
    input  wire [8*DATA_BYTES-1:0] w_wdata, input wire [DATA_BYTES-1:0] w_wstrb, input wire w_wlast,
    input  wire w_wvalid, output wire w_wready,
    output wire [ID_BITS-1:0] w_bid, output wire [1:0] w_bresp, output wire w_bvalid, input wire w_bready
);
    localparam SHIFT = $clog2(DATA_BYTES);
    localparam QB = $clog2(QDEPTH);
    localparam [39:0] COST = DATA_BYTES * 256;
    localparam [39:0] CAP = BURST_CREDIT * DATA_BYTES * 256;

    reg [8*DATA_BYTES-1:0] mem [0:WORDS-1];
    reg [8*1024-1:0] init_file, dump_file;  // file names of up to 1,024 characters
    initial begin
        if ($value$plusargs("MEMINIT=%s", init_file)) $readmemh(init_file, mem);
    end

    reg [63:0] now;
    reg [39:0] credit;

    // ------------------------------------------------------------------ read ports (same logic twice)
    // queue entries: word address, beats, id, cycle the first beat may go
    reg [ADDR_BITS-1:0] q0_addr [0:QDEPTH-1]; reg [8:0] q0_len [0:QDEPTH-1];
    reg [ID_BITS-1:0] q0_id [0:QDEPTH-1]; reg [63:0] q0_t [0:QDEPTH-1];
    reg [QB:0] q0_head, q0_tail;
    reg [8:0] r0_done;  // beats of the head burst already returned
    reg [ADDR_BITS-1:0] q1_addr [0:QDEPTH-1]; reg [8:0] q1_len [0:QDEPTH-1];
    reg [ID_BITS-1:0] q1_id [0:QDEPTH-1]; reg [63:0] q1_t [0:QDEPTH-1];
    reg [QB:0] q1_head, q1_tail;
    reg [8:0] r1_done;

    wire q0_empty = q0_head == q0_tail;
    wire q0_full = (q0_head[QB-1:0] == q0_tail[QB-1:0]) && (q0_head[QB] != q0_tail[QB]);
    wire q1_empty = q1_head == q1_tail;
    wire q1_full = (q1_head[QB-1:0] == q1_tail[QB-1:0]) && (q1_head[QB] != q1_tail[QB]);
    assign r0_arready = !rst && !q0_full;
    assign r1_arready = !rst && !q1_full;

    // write side: address queue, then the response queue
    reg [ADDR_BITS-1:0] wq_addr [0:QDEPTH-1]; reg [ID_BITS-1:0] wq_id [0:QDEPTH-1];
    reg [QB:0] wq_head, wq_tail;
    reg [8:0] w_done;
    reg [ID_BITS-1:0] bq_id [0:QDEPTH-1]; reg [63:0] bq_t [0:QDEPTH-1];
    reg [QB:0] bq_head, bq_tail;
    wire wq_empty = wq_head == wq_tail;
    wire wq_full = (wq_head[QB-1:0] == wq_tail[QB-1:0]) && (wq_head[QB] != wq_tail[QB]);
    wire bq_empty = bq_head == bq_tail;
    wire bq_full = (bq_head[QB-1:0] == bq_tail[QB-1:0]) && (bq_head[QB] != bq_tail[QB]);
    assign w_awready = !rst && !wq_full;

    // bandwidth: ports in a fixed order (r0, r1, w) each take a beat if the credit left covers it
    wire r0_due = !q0_empty && now >= q0_t[q0_head[QB-1:0]];
    wire r1_due = !q1_empty && now >= q1_t[q1_head[QB-1:0]];
    wire c0 = credit >= COST;
    wire c1 = credit >= (r0_due ? 2 : 1) * COST;
    assign r0_rvalid = r0_due && c0;
    assign r1_rvalid = r1_due && c1;
    wire r0_go = r0_rvalid && r0_rready;
    wire r1_go = r1_rvalid && r1_rready;
    wire [39:0] spent_r = (r0_go ? COST : 40'd0) + (r1_go ? COST : 40'd0);
    assign w_wready = !wq_empty && !bq_full && (credit >= spent_r + COST);
    wire w_go = w_wvalid && w_wready;

    wire [ADDR_BITS-1:0] r0_word = (q0_addr[q0_head[QB-1:0]] >> SHIFT) + r0_done;
    wire [ADDR_BITS-1:0] r1_word = (q1_addr[q1_head[QB-1:0]] >> SHIFT) + r1_done;
    wire [ADDR_BITS-1:0] w_word = (wq_addr[wq_head[QB-1:0]] >> SHIFT) + w_done;
    assign r0_rdata = mem[r0_word[$clog2(WORDS)-1:0]];
    assign r1_rdata = mem[r1_word[$clog2(WORDS)-1:0]];
    assign r0_rid = q0_id[q0_head[QB-1:0]];
    assign r1_rid = q1_id[q1_head[QB-1:0]];
    assign r0_rlast = r0_done + 1 == q0_len[q0_head[QB-1:0]];
    assign r1_rlast = r1_done + 1 == q1_len[q1_head[QB-1:0]];
    assign r0_rresp = 2'b00;
    assign r1_rresp = 2'b00;
    assign w_bvalid = !bq_empty && now >= bq_t[bq_head[QB-1:0]];
    assign w_bid = bq_id[bq_head[QB-1:0]];
    assign w_bresp = 2'b00;

    wire [39:0] gained = credit - spent_r - (w_go ? COST : 40'd0) + BW_Q8;
    integer i;
    always @(posedge clk) begin
        if (rst) begin
            now <= 0; credit <= CAP;
            q0_head <= 0; q0_tail <= 0; r0_done <= 0;
            q1_head <= 0; q1_tail <= 0; r1_done <= 0;
            wq_head <= 0; wq_tail <= 0; w_done <= 0; bq_head <= 0; bq_tail <= 0;
        end else begin
            now <= now + 1;
            credit <= gained > CAP ? CAP : gained;
            if (r0_arvalid && r0_arready) begin
                q0_addr[q0_tail[QB-1:0]] <= r0_araddr; q0_len[q0_tail[QB-1:0]] <= r0_arlen + 1;
                q0_id[q0_tail[QB-1:0]] <= r0_arid; q0_t[q0_tail[QB-1:0]] <= now + LATENCY;
                q0_tail <= q0_tail + 1;
            end
            if (r0_go) begin
                if (r0_rlast) begin r0_done <= 0; q0_head <= q0_head + 1; end
                else r0_done <= r0_done + 1;
            end
            if (r1_arvalid && r1_arready) begin
                q1_addr[q1_tail[QB-1:0]] <= r1_araddr; q1_len[q1_tail[QB-1:0]] <= r1_arlen + 1;
                q1_id[q1_tail[QB-1:0]] <= r1_arid; q1_t[q1_tail[QB-1:0]] <= now + LATENCY;
                q1_tail <= q1_tail + 1;
            end
            if (r1_go) begin
                if (r1_rlast) begin r1_done <= 0; q1_head <= q1_head + 1; end
                else r1_done <= r1_done + 1;
            end
            if (w_awvalid && w_awready) begin
                wq_addr[wq_tail[QB-1:0]] <= w_awaddr; wq_id[wq_tail[QB-1:0]] <= w_awid;
                wq_tail <= wq_tail + 1;
            end
            if (w_go) begin
                for (i = 0; i < DATA_BYTES; i = i + 1)
                    if (w_wstrb[i]) mem[w_word[$clog2(WORDS)-1:0]][8*i +: 8] <= w_wdata[8*i +: 8];
                if (w_wlast) begin
                    w_done <= 0; wq_head <= wq_head + 1;
                    bq_id[bq_tail[QB-1:0]] <= wq_id[wq_head[QB-1:0]];
                    bq_t[bq_tail[QB-1:0]] <= now + LATENCY;
                    bq_tail <= bq_tail + 1;
                end else w_done <= w_done + 1;
            end
            if (w_bvalid && w_bready) bq_head <= bq_head + 1;
            if (dump) begin
                if ($value$plusargs("MEMDUMP=%s", dump_file)) $writememh(dump_file, mem, dump_lo, dump_hi - 1);
            end
        end
    end
endmodule
