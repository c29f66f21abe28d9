"""The R x C sparse PE array with its flexible systolic interconnect (WS / OS), the tile controller and the
top level with valid/ready streams (docs/pe_array.md: WS, OS, RTL interface).

Composition: `SparseArray` = `TileController` + `PEArray` (R x C `PECell`, each a `SparsePE` with its systolic
registers and two weight banks, plus the edge skew lines) + `Deskew` (WS results) + the cycle counter and the
event outputs the benches measure. The controller and the datapath run under one enable: a tile in progress
whose next weights or activations are missing, or whose result is not accepted, freezes the whole array
for that cycle (a stall), so timing holds in enabled cycles; with full streams nothing ever stalls.

The controller takes no cycle counts from the timing model: it learns from the datapath itself when a weight
bank is free (a scan of the WS token registers for the bank's last use), when a WS result leaves (the beat's
valid/last flags travel with it through the skew line, the cells and the PE pipeline) and when an OS tile's
sums are final (its last beat's flags at the last PE), so the cycles it produces are an independent check of
`sparsesim.sat.timing`.
"""

from amaranth.hdl import (
    Cat,
    ClockSignal,
    Const,
    EnableInserter,
    Instance,
    Module,
    Mux,
    ResetSignal,
    Signal,
    Value,
)
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import ArrayConfig, log2
from .latency import CROSSING_NAME
from .pe import SparsePE


def token_layout(cfg: ArrayConfig) -> data.StructLayout:
    """Control travelling right with a beat: WS the bank bit, OS the accumulator slot and first-step flag;
    both the `last` flag of the tile's last beat and `ws`, the beat's dataflow (for the bank scan)."""
    return data.StructLayout(
        {"valid": 1, "bank": 1, "slot": range(max(2, cfg.slots)), "first": 1, "last": 1, "ws": 1}
    )


FLAG_LAYOUT = data.StructLayout({"valid": 1, "last": 1})


def pe_latency(cfg: ArrayConfig) -> int:
    """Cycles from a beat at a PE to its accumulation result: the multiplier, the adder tree and the
    accumulation adder, each as deep as the PE is elaborated (rtl/pe.py)."""
    return int(cfg.mul_latency) + log2(cfg.multipliers) * int(cfg.add_latency) + int(cfg.add_latency)  # type: ignore[arg-type]


def cell_signature(cfg: ArrayConfig, *, enable_port: bool = False) -> wiring.Signature:
    tok = token_layout(cfg)
    lanes = cfg.cell_weights_layout
    grp = cfg.group_layout
    return wiring.Signature(
        ({"en": In(1)} if enable_port else {})
        | {
            "ws": In(1),
            "interleave": In(1),
            "shift": In(1),
            "tok_in": In(tok),
            "tok_out": Out(tok),
            "lanes_in": In(lanes),
            "lanes_out": Out(lanes),
            "grp_left": In(grp),
            "grp_top": In(grp),
            "grp_out": Out(grp),
            "wr_en": In(1),
            "wr_bank": In(1),
            "wr_data": In(lanes),
            "psum_in": In(cfg.sum_bits),
            "psum_out": Out(cfg.sum_bits),
            "chain_in": In(cfg.sum_bits),
            "chain_out": Out(cfg.sum_bits),
            "flag_out": Out(FLAG_LAYOUT),
            "flag_pre": Out(FLAG_LAYOUT),
        }
    )


class PECell(wiring.Component):
    """A PE with its systolic registers: the beat's token and group (WS: from the left; OS: the group from
    above), the OS weight lanes (from the left) and two weight banks written by the loader (WS).

    With `enable_port` the cell has its own clock-enable input `en` (the form exported as one Verilog module
    that the array instantiates R*C times; see PEArray's `cell_module`)."""

    def __init__(self, cfg: ArrayConfig, *, enable_port: bool = False):
        self.cfg = cfg
        self.enable_port = enable_port
        super().__init__(cell_signature(cfg, enable_port=enable_port))

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        # Datapath registers have no reset: stale beats drain out of the pipelines in order, and a tile's
        # first step overwrites its accumulators (a reset would tie every register to the chip's reset).
        # The token resets: the controller reads its valid flag (bank scan, result flags).
        tok = Signal(token_layout(cfg))
        lanes = Signal(cfg.cell_weights_layout, reset_less=True)
        grp = Signal(cfg.group_layout, reset_less=True)
        banks = [
            Signal(cfg.cell_weights_layout, name=f"bank{b}", reset_less=True) for b in range(cfg.weight_banks)
        ]
        m.d.sync += [
            tok.eq(self.tok_in),
            lanes.eq(self.lanes_in),
            grp.eq(Mux(self.ws, self.grp_left, self.grp_top)),
        ]
        for b in range(cfg.weight_banks):
            with m.If(self.wr_en & ((self.wr_bank == b) if cfg.weight_banks > 1 else 1)):
                m.d.sync += banks[b].eq(self.wr_data)
        m.d.comb += [self.tok_out.eq(tok), self.lanes_out.eq(lanes), self.grp_out.eq(grp)]

        m.submodules.pe = pe = SparsePE(cfg)
        m.d.comb += [
            pe.weights.eq(Mux(self.ws, Mux(tok.bank, banks[-1], banks[0]), lanes)),
            pe.group.eq(grp),
            pe.valid.eq(tok.valid),
            pe.slot.eq(tok.slot),
            pe.first.eq(tok.first),
            pe.accumulate.eq(~self.ws),
            pe.interleave.eq(self.interleave),
            pe.psum_in.eq(self.psum_in),
            pe.shift.eq(self.shift),
            pe.chain_in.eq(self.chain_in),
            self.psum_out.eq(pe.psum_out),
            self.chain_out.eq(pe.chain_out),
        ]
        # The beat's valid/last flags ride beside its operands through the PE's pipeline, so they leave
        # with the beat's accumulation result (WS: psum_out; OS: the accumulator write).
        flags = Signal(FLAG_LAYOUT)
        m.d.comb += [flags.valid.eq(tok.valid), flags.last.eq(tok.last)]
        # `flag_pre` is the same pair one cycle earlier (the controller acts on it a cycle ahead, since its
        # control reaches the cells through a register stage: SparseArray).
        stages = [flags, *_line_stages(m, flags, FLAG_LAYOUT, pe_latency(cfg), "flag")]
        m.d.comb += [self.flag_out.eq(stages[-1]), self.flag_pre.eq(stages[-2])]
        if self.enable_port:
            return EnableInserter({"sync": self.en})(m)
        return m


def cell_instance(module_name: str, cfg: ArrayConfig, cell, en) -> Instance:
    """A black-box instance of the exported cell module, wired to the ports of `cell` (an interface created
    from `cell_signature`)."""
    ports: dict = {"i_clk": ClockSignal("sync"), "i_rst": ResetSignal("sync"), "i_en": en}
    for name, member in cell_signature(cfg).members.items():
        ports[f"{'i' if member.flow == In else 'o'}_{name}"] = Value.cast(getattr(cell, name))
    return Instance(module_name, **ports)


class PEArray(wiring.Component):
    """R x C cells, the edge skew lines and the systolic wiring for both dataflows, under the enable `en`.

    WS: row r's beat (token + its group) enters after a skew of r*L_add cycles and hops right; partial sums
    hop down (row 0 adds to +0); the bottom row's `psum_out` are the column results. OS: row r's token and
    weight lanes enter after r cycles and hop right; column c's group enters after c cycles and hops down;
    the drain chain runs down each column to `chain`.

    `cell_module`: instantiate the cells as that (separately exported) Verilog module instead of elaborating
    R*C copies: one module definition keeps the Verilog small and Verilator's C++ shared between cells.

    Towards the controller: `bank_busy[b]` (two register stages) says that a weight load into bank b
    decided this cycle, whose row r is written r+1 cycles later, would overwrite some row's bank before
    the last WS beat using it has been read there (a write in the cycle of the last read is safe, the read
    sees the old value), found by looking at the WS tokens at the array's input, in each row's skew line
    and in the cell registers; `flag` is the (valid, last) pair of the beat whose accumulation result
    leaves PE(R-1, C-1) this cycle, the last PE every beat reaches in both dataflows, and `flag_pre` the
    pair that leaves it next cycle."""

    def __init__(self, cfg: ArrayConfig, *, cell_module: str | None = None):
        self.cfg = cfg
        self.cell_module = cell_module
        super().__init__(
            {
                "en": In(1),
                "ws": In(1),
                "interleave": In(1),
                "shift": In(1),
                "inj": In(token_layout(cfg)),  # the beat's token (all rows)
                "inj_groups": In(cfg.acts_layout),  # WS: entry r = row r; OS: entry c = column c
                "inj_lanes": In(data.ArrayLayout(cfg.cell_weights_layout, cfg.rows)),  # OS A step
                "wr_rows": In(cfg.rows),  # one-hot: the weight row written this cycle
                "wr_bank": In(1),
                "wr_data": In(data.ArrayLayout(cfg.cell_weights_layout, cfg.cols)),
                "psum": Out(data.ArrayLayout(cfg.sum_bits, cfg.cols)),
                "chain": Out(data.ArrayLayout(cfg.sum_bits, cfg.cols)),
                "bank_busy": Out(cfg.weight_banks),
                "flag": Out(FLAG_LAYOUT),
                "flag_pre": Out(FLAG_LAYOUT),
            }
        )

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        R, C, la = cfg.rows, cfg.cols, int(cfg.add_latency)  # type: ignore[arg-type]
        # SLR column groups (ArrayConfig.slr_columns): column c sits `group[c]` boundaries away from the
        # controller's SLR; everything between the two crosses `delay[c]` registers each way.
        group = [cfg.column_group(c) for c in range(C)]
        delay = [g * cfg.registers_per_crossing for g in group]
        d_max = max(delay)

        def cross(value, shape, slrs, name: str, *, reset: bool = False, init: int = 0):
            """`value` through the crossing registers into each SLR of `slrs` in turn (placed in the receiving
            SLR, named CROSSING_NAME<s>_<name> for its pblock: rtl/latency.py, the floorplan's pblock_xdc)."""
            cur = value
            for s in slrs:
                for i in range(cfg.registers_per_crossing):
                    suffix = f"_{i}" if cfg.registers_per_crossing > 1 else ""
                    kw = {"init": init} if init else {}
                    reg = Signal(shape, name=f"{CROSSING_NAME}{s}_{name}{suffix}", reset_less=not reset, **kw)
                    m.d.sync += reg.eq(cur)
                    cur = reg
            return cur

        if self.cell_module:
            cells = [[cell_signature(cfg).create(path=(f"pe_{r}_{c}",)) for c in range(C)] for r in range(R)]
        else:
            cells = [[PECell(cfg) for _ in range(C)] for _ in range(R)]
        for r in range(R):
            for c in range(C):
                if self.cell_module:
                    m.submodules[f"pe_{r}_{c}"] = cell_instance(self.cell_module, cfg, cells[r][c], self.en)
                else:
                    m.submodules[f"pe_{r}_{c}"] = cells[r][c]
        tok_l = token_layout(cfg)
        # A beat's token enters only the edge line of its own dataflow (valid cleared in the other). The WS
        # line of row r is r*L_add deep, which can outlast an OS tile's tail (its last beat's flags out of
        # the last PE, then an R-cycle drain without interleave): an OS token still in it when the next WS
        # tile switches the cells to that line would reach them as a valid beat, and its `last` would end
        # the WS tile at once. Row 0 takes the beat from `inj` itself, before the registered mode follows.
        ws_inj, os_inj = Signal(tok_l), Signal(tok_l)
        m.d.comb += [ws_inj.eq(self.inj), os_inj.eq(self.inj)]
        m.d.comb += [ws_inj.valid.eq(self.inj.valid & self.inj.ws),
                     os_inj.valid.eq(self.inj.valid & ~self.inj.ws)]
        ws_skew = []  # per row: the WS skew line's token registers
        for r in range(R):
            # Left edge: WS line (token + group, r*L_add deep) and OS line (token + lanes, r deep).
            ws_stages = _line_stages(m, ws_inj, tok_l, r * la, f"ws_tok{r}")
            ws_tok = ws_stages[-1] if ws_stages else self.inj
            ws_skew.append(list(ws_stages))
            ws_grp = _line(m, self.inj_groups[r], cfg.group_layout, r * la, f"ws_grp{r}")
            os_tok = _line_stages(m, os_inj, tok_l, r, f"os_tok{r}")[-1] if r else self.inj
            os_lanes = _line(m, self.inj_lanes[r], cfg.cell_weights_layout, r, f"os_lanes{r}")
            cell = cells[r][0]
            m.d.comb += [
                cell.tok_in.eq(Mux(self.ws, ws_tok, os_tok)),
                cell.grp_left.eq(ws_grp),
                cell.lanes_in.eq(os_lanes),
            ]
        # The controller's broadcast (mode, drain shift, weight-row write) as each column group sees it.
        ctl = [{"ws": self.ws, "interleave": self.interleave, "shift": self.shift, "wr_rows": self.wr_rows,
                "wr_bank": self.wr_bank}]
        for g in range(1, max(group) + 1):
            prev = ctl[-1]
            ctl.append({
                "ws": cross(prev["ws"], 1, [g], "ws", reset=True, init=1),
                "interleave": cross(prev["interleave"], 1, [g], "interleave", reset=True),
                "shift": cross(prev["shift"], 1, [g], "shift", reset=True),
                "wr_rows": cross(prev["wr_rows"], R, [g], "wr_rows", reset=True),
                "wr_bank": cross(prev["wr_bank"], 1, [g], "wr_bank"),
            })  # fmt: skip
        for c in range(C):
            slrs = list(range(1, group[c] + 1))
            # Top edge: OS group line, c deep, then the crossings.
            top = _line(m, self.inj_groups[c], cfg.group_layout, c, f"os_grp{c}")
            top = cross(top, cfg.group_layout, slrs, f"os_grp{c}")
            wr_data = cross(self.wr_data[c], cfg.cell_weights_layout, slrs, f"wr_data{c}")
            m.d.comb += cells[0][c].grp_top.eq(top)
            m.d.comb += [cells[0][c].psum_in.eq(0), cells[0][c].chain_in.eq(0)]
            k = ctl[group[c]]
            for r in range(R):
                m.d.comb += [
                    cells[r][c].ws.eq(k["ws"]),
                    cells[r][c].interleave.eq(k["interleave"]),
                    cells[r][c].shift.eq(k["shift"]),
                    cells[r][c].wr_en.eq(k["wr_rows"][r]),
                    cells[r][c].wr_bank.eq(k["wr_bank"]),
                    cells[r][c].wr_data.eq(wr_data),
                ]
        xtok = {}  # (r, c): the crossing register in front of cell (r, c), on an SLR boundary
        for r in range(R):
            for c in range(C):
                cell = cells[r][c]
                if c + 1 < C:
                    right = cells[r][c + 1]
                    tok, lanes, grp = cell.tok_out, cell.lanes_out, cell.grp_out
                    if group[c + 1] != group[c]:  # a column boundary on an SLR boundary: the row link crosses
                        slrs = [group[c + 1]]
                        tok = xtok[r, c + 1] = cross(tok, tok_l, slrs, f"tok{r}", reset=True)
                        lanes = cross(lanes, cfg.cell_weights_layout, slrs, f"lanes{r}")
                        grp = cross(grp, cfg.group_layout, slrs, f"grp{r}")
                    m.d.comb += [right.tok_in.eq(tok), right.lanes_in.eq(lanes), right.grp_left.eq(grp)]
                if r + 1 < R:
                    below = cells[r + 1][c]
                    m.d.comb += [
                        below.grp_top.eq(cell.grp_out),
                        below.psum_in.eq(cell.psum_out),
                        below.chain_in.eq(cell.chain_out),
                    ]
        # per row: the WS token registers in the order a beat passes them (skew line, crossing registers,
        # cells), each with its SLR group
        ws_paths = []
        for r in range(R):
            path = [(t, 0) for t in ws_skew[r]]
            for c in range(C):
                if (r, c) in xtok:
                    path.append((xtok[r, c], group[c]))
                path.append((cells[r][c].tok_out, group[c]))
            ws_paths.append(path)
        # Column results back to the controller's SLR, then the nearer columns delayed to the farthest's
        # round trip, so a result beat leaves every column in the same cycle as without the crossings.
        for c in range(C):
            bottom = cells[R - 1][c]
            back = list(range(group[c] - 1, -1, -1))
            pad = 2 * (d_max - delay[c])
            psum = cross(bottom.psum_out, cfg.sum_bits, back, f"psum{c}")
            chain = cross(bottom.chain_out, cfg.sum_bits, back, f"chain{c}")
            m.d.comb += [
                self.psum[c].eq(_line(m, psum, cfg.sum_bits, pad, f"pad_psum{c}")),
                self.chain[c].eq(_line(m, chain, cfg.sum_bits, pad, f"pad_chain{c}")),
            ]
        last_pe = cells[R - 1][C - 1]
        back_last = list(range(group[C - 1] - 1, -1, -1))
        m.d.comb += self.flag.eq(cross(last_pe.flag_out, FLAG_LAYOUT, back_last, "flag", reset=True))
        m.d.comb += self.flag_pre.eq(
            self._flag_ahead(m, cells, ws_paths[R - 1][len(ws_skew[R - 1]):], group, delay, cross)
        )

        # Bank scan, registered. The controller decides a load in cycle t; its row r is written in cycle
        # t+1+r (the control stage in between, SparseArray), in a column beyond SLR crossings `delay[c]`
        # cycles later, when a beat also reaches it `delay[c]` cycles later than without them. A token at
        # position x of row r's path (-1 = the array's input `inj`, 0 = the first skew register; crossing
        # registers are positions too) at cycle t is read at column c for the last time r*L_add + c +
        # delay[c] - x cycles later, so it blocks the load if x < r*L_add + C - 2 - r, the last column
        # deciding (a write in the cycle of the last read is safe: the read sees the old value). The
        # register is computed a cycle ahead, when that token sat one position earlier: it flags positions
        # x < r*L_add + C - 3 - r, the input included. It shares the array's enable, so in a stall it holds
        # while the tokens hold. The token in the control stage itself (position -1 at cycle t) is the
        # controller's to know: it put it there.
        # Positions beyond an SLR boundary are not read across it: the path is a shift register, so the
        # tokens there are the ones that left the controller's SLR's last column in the previous cycles, and
        # a copy of their scan bits (`scan_far`) runs beside them in the controller's SLR.
        reach = [r * la + C - 3 - r for r in range(R)]
        # Two register stages (docs/fpga.md, "Logic depth"): each row's OR over its positions [0, reach) is
        # taken a cycle earlier still, one position earlier again ([-1, reach - 1)), into a register; the
        # second stage ORs those with the input's token (position -1 a cycle ahead) into `bank_busy`. The
        # path is a shift register under the array's enable, so in a stall both stages hold with it.
        for b in range(cfg.weight_banks):

            def match(tok, b=b):
                return tok.valid & tok.ws & ((tok.bank == b) if cfg.weight_banks > 1 else 1)

            rows_or = [match(self.inj)] if any(n > -1 for n in reach) else []
            for r, path in enumerate(ws_paths):
                n = reach[r] - 1
                terms = [match(self.inj)] if n > -1 else []
                span = max(0, n)
                near = next((i for i, (_, g) in enumerate(path) if g > 0), len(path))
                terms.extend(match(tok) for tok, _ in path[: min(span, near)])
                if span > near:
                    far = match(path[near - 1][0])
                    terms.extend(_line_stages(m, far, 1, span - near, f"scan_far{r}_b{b}"))
                if terms:
                    row = Signal(name=f"scan_row{r}_b{b}")
                    m.d.sync += row.eq(Cat(*terms).any())
                    rows_or.append(row)
            m.d.sync += self.bank_busy[b].eq(Cat(*rows_or).any() if rows_or else 0)
        return EnableInserter({"sync": self.en})(m)

    def _flag_ahead(self, m: Module, cells, bottom_path: list, group: list[int], delay: list[int], cross):
        """The (valid, last) flags the controller needs one cycle before they leave the last PE, as it sees
        them: the drain's first shift it then sends reaches the last column `delay[C-1]` cycles later, so it
        must see them `delay[C-1] + 1` cycles ahead, after their own way back. Taken where they are early
        enough: the cell's `flag_pre` (1 cycle ahead), its token register (the PE's latency ahead) or a
        position earlier on the bottom row's path from column 0 on (`bottom_path`: (token, SLR group), one
        cycle more each), then delayed to the exact lead."""
        cfg = self.cfg
        C = cfg.cols
        need = delay[C - 1] + 1
        last = cells[cfg.rows - 1][C - 1]
        lat = pe_latency(cfg)

        def flags(tok):
            f = Signal(FLAG_LAYOUT)
            m.d.comb += [f.valid.eq(tok.valid), f.last.eq(tok.last)]
            return f

        # candidates: (lead in cycles, SLR group it sits in, flags or token there)
        cands = [(1, group[C - 1], last.flag_pre, True)]
        for k in range(len(bottom_path)):  # k = 0: the last cell's token register
            tok, g = bottom_path[len(bottom_path) - 1 - k]
            cands.append((lat + k, g, tok, False))
        for lead, g, src, is_flags in cands:
            back = g * cfg.registers_per_crossing
            if lead - back >= need:
                src = src if is_flags else flags(src)
                ret = cross(src, FLAG_LAYOUT, list(range(g - 1, -1, -1)), "flag_ahead", reset=True)
                pad = lead - back - need
                return _line_stages(m, ret, FLAG_LAYOUT, pad, "flag_ahead_pad")[-1] if pad else ret
        raise ValueError(
            f"slr_columns {cfg.slr_columns}: the bottom row's path is too short to see the last PE's flags "
            f"{need} cycles ahead across the crossings"
        )


def _line_stages(m: Module, value, layout, depth: int, name: str) -> list:
    """The `depth` registers of a skew line fed by `value`, first stage first. Token lines (they hold the
    valid flags the controller scans) reset; data lines do not (`_line`)."""
    stages, cur = [], value
    for i in range(depth):
        r = Signal(layout, name=f"{name}_d{i}")
        m.d.sync += r.eq(cur)
        stages.append(r)
        cur = r
    return stages


def _line(m: Module, value, layout, depth: int, name: str):
    """`value` delayed by `depth` registers (a skew line)."""
    cur = value
    for i in range(depth):
        r = Signal(layout, name=f"{name}_d{i}", reset_less=True)
        m.d.sync += r.eq(cur)
        cur = r
    return cur


class Deskew(wiring.Component):
    """Delays column c of the WS results by C-1-c cycles, so row j of C leaves as one beat."""

    def __init__(self, cols: int):
        self.cols = cols
        super().__init__({"i": In(data.ArrayLayout(32, cols)), "o": Out(data.ArrayLayout(32, cols))})

    def elaborate(self, platform):
        m = Module()
        for c in range(self.cols):
            m.d.comb += self.o[c].eq(_line(m, self.i[c], 32, self.cols - 1 - c, f"col{c}"))
        return m


class EdgeRounding(wiring.Component):
    """Exact accumulation (ArrayConfig.accumulator = "exact"): each column's result word, the WS column sum
    (`psum`) or the OS drain word (`chain`, when `os`), is rounded to FP32 (`ExactToFP32`, one per column,
    `round_latency` cycles); `res_in` (the controller's result flags) comes out beside it as `res_out`, and
    `busy` says a result is on its way through."""

    def __init__(self, cfg: ArrayConfig):
        self.cfg = cfg
        words = data.ArrayLayout(cfg.sum_bits, cfg.cols)
        super().__init__(
            {
                "os": In(1),
                "psum": In(words),
                "chain": In(words),
                "f": Out(data.ArrayLayout(32, cfg.cols)),
                "res_in": In(3),
                "res_out": Out(3),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        from .arith import ExactToFP32

        cfg = self.cfg
        m = Module()
        for c in range(cfg.cols):
            m.submodules[f"round{c}"] = cvt = ExactToFP32(cfg.k_bits, cfg.round_latency)
            m.d.comb += [cvt.x.eq(Mux(self.os, self.chain[c], self.psum[c])), self.f[c].eq(cvt.f)]
        stages = _line_stages(m, self.res_in, 3, cfg.round_latency, "round_res")
        m.d.comb += [self.res_out.eq(stages[-1]), self.busy.eq(Cat(*[s[0] for s in stages]).any())]
        return m


class TileController(wiring.Component):
    """The array's control for both dataflows, deciding from the datapath's own flags (no cycle counts).

    WS: a tile's load starts when its command and first weight row are there, the loader is free (one row per
    cycle) and its bank is free: no beat of the tile that used it is still to be streamed and the array's
    bank scan (`bank_busy`) finds none of its beats where the load would overtake it; its stream starts when
    the previous stream has ended, at the earliest in its load cycle. A result beat leaves when the beat's
    flags come out of the last PE (`flag`); the tile's last one carries `last`. OS: beats every cycle
    (interleave, I = L_add slots) or every L_add cycles (I = 1: the accumulator's adder must be through);
    the drain starts when the last beat's flags come out of the last PE (its sums are final) and shifts the
    R*I accumulators of each column out; the next OS tile's first beat may enter in the drain's last cycle.
    A tile in a different mode starts only once the array is empty.

    Its outputs reach the cells through the control stage (SparseArray), a cycle later; it reads the array
    a cycle ahead where it reacts to it (`bank_busy`, `flag_pre`), so the array's cycles are those of a
    controller without the stage, except at a mode switch.
    """

    def __init__(self, cfg: ArrayConfig):
        self.cfg = cfg
        super().__init__(
            {
                "cmd": In(stream.Signature(cfg.cmd_layout)),
                "w_valid": In(1),
                "w_ready": Out(1),
                "a_valid": In(1),
                "a_ready": Out(1),
                "en": In(1),  # the global enable (no stall this cycle)
                "bank_busy": In(cfg.weight_banks),  # from the array's bank scan
                "flag": In(FLAG_LAYOUT),  # (valid, last) of the beat leaving the last PE
                "flag_pre": In(FLAG_LAYOUT),  # the same, one cycle earlier
                "edge_busy": In(1),  # results are in the array's edge rounding
                "stage_busy": In(1),  # the control stage holds a beat, a weight row or a drain shift
                "need_w": Out(1),  # a tile in progress needs a weights beat this cycle (else: stall)
                "need_a": Out(1),  # ... an activations beat
                # datapath control
                "ws": Out(1),
                "interleave": Out(1),
                "shift": Out(1),
                "dense": Out(1),
                "live": Out(cfg.multipliers),
                "wr_en": Out(1),
                "wr_row": Out(range(max(2, cfg.rows))),
                "wr_bank": Out(1),
                "inj": Out(token_layout(cfg)),
                "drain_last": Out(1),  # OS: the drain's last shift
                # events
                "ev_load": Out(1),
                "ev_first": Out(1),  # a tile's first beat is taken this cycle (at PE(0,0) the next)
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        R, C, P = cfg.rows, cfg.cols, cfg.multipliers
        la = int(cfg.add_latency)  # type: ignore[arg-type]
        slots = cfg.slots
        banks = cfg.weight_banks
        # The next command, registered (taken from the command buffer as soon as the previous one has
        # started), with its comparison against the mode it will follow worked out on the way in: a tile's
        # start then depends on registers only a few LUTs deep (docs/fpga.md, "Logic depth").
        cmd_in = self.cmd.payload
        cmd = Signal(cfg.cmd_layout)
        cmd_valid, same_mode = Signal(), Signal()

        # ---------------------------------------------------------------- the sequence's mode
        cur_os, cur_sparse, cur_il = Signal(), Signal(), Signal()
        cur_n = Signal.like(cmd.n)
        cur_log2m = Signal.like(cmd.log2m)

        def same(c, os, sparse, n, log2m, il):
            return (
                (c.os == os) & (c.sparse == sparse)
                & (~c.sparse | ((c.n == n) & (c.log2m == log2m)))
                & (~c.os | (c.interleave == il))
            )

        idle = Signal()
        # A tile in another mode starts on a registered `idle` (the array was empty last cycle and nothing
        # started then, so it is empty now): the start does not wait for the AND over every busy flag in
        # the same cycle (docs/fpga.md, "Logic depth"). A mode switch costs that cycle.
        was_idle = Signal(init=1)
        may_start = was_idle | same_mode

        def elements(sparse, log2m):
            return Mux(sparse, Const(1, 16) << log2m, P)

        def live_bits(base, k, sparse, n):
            bits = []
            for lane in range(P):
                pos = base + Mux(sparse, 0, lane)
                bits.append((pos < k) & (~sparse | (lane < n)))
            return Cat(*bits)

        # ---------------------------------------------------------------- WS state
        ld_busy = Signal()
        ld_row = Signal(range(max(2, R)))
        ld_bank = Signal()
        ld_k = Signal.like(cmd.k)
        ld_base = Signal(cfg.k_bits + 1 + log2(max(cfg.max_m, P)) + 1)
        next_bank = Signal()
        bank_used = Signal(banks)  # loaded, and beats of its tile still to be streamed (& ~used_clear)
        used_clear = Signal(banks)  # the last beat of the bank's stream was sent last cycle
        # A WS beat the controller issued last cycle sits in the control stage, where the array's bank scan
        # does not see it; it blocks a load into its bank if some row's path is long enough for the load to
        # overtake it (PEArray: position -1 blocks if len-2-r > -1).
        stage_blocks = any((r * la + C) - 2 - r > -1 for r in range(R))
        staged_bank = Signal(banks)
        bank_free = Cat(*[
            ~(bank_used[b] & ~used_clear[b]) & ~self.bank_busy[b] & (~staged_bank[b] if stage_blocks else 1)
            for b in range(banks)
        ])
        # WS tiles whose stream has ended and whose last result has not left yet (each stream is at least one
        # beat, so never more than the depth of the array: skew, row, PE).
        # (and the SLR crossings' round trip)
        depth = (R - 1) * la + C + pe_latency(cfg) + cfg.round_latency
        depth += 2 * cfg.slr_crossings * cfg.registers_per_crossing
        ws_flight = Signal(range(depth + 2))
        ws_flight_zero = Signal(init=1)  # ws_flight == 0, kept beside the counter (one LUT for idle, not two)
        stream_end_q = Signal()  # a WS stream's last beat was sent last cycle
        q_len = [Signal.like(cmd.length, name=f"q_len{i}") for i in range(2)]
        q_bank = [Signal(name=f"q_bank{i}") for i in range(2)]
        q_count = Signal(range(3))
        st_busy = Signal()
        st_rem = Signal.like(cmd.length)
        st_bank = Signal()

        # ---------------------------------------------------------------- OS state
        os_stream = Signal()
        os_slot = Signal(range(max(2, slots)))
        os_base = Signal(cfg.k_bits + 1)
        os_k = Signal.like(cmd.k)
        os_gap = Signal(range(max(2, la)))
        os_wait = Signal()  # the last beat is in the array, its flags have not come out of the last PE yet
        os_drain = Signal()
        os_d = Signal(range(R * slots + 1))
        drain_last = Signal()
        m.d.comb += drain_last.eq(os_drain & (os_d == Mux(cur_il, R * slots, R) - 1))

        m.d.comb += idle.eq(
            ~ld_busy & (q_count == 0) & ~st_busy & ws_flight_zero & ~stream_end_q & ~os_stream & ~os_wait
            & ~os_drain
            & ~self.edge_busy & ~self.stage_busy
        )
        m.d.comb += self.idle.eq(idle)

        # ---------------------------------------------------------------- WS: loader
        ws_cmd = cmd_valid & ~cmd.os & may_start
        load_go = Signal()
        m.d.comb += load_go.eq(ws_cmd & ~ld_busy & bank_free.bit_select(next_bank if banks > 1 else 0, 1)
                               & self.w_valid)
        e_cmd = elements(cmd.sparse, cmd.log2m)
        e_cur = elements(cur_sparse, cur_log2m)

        # ---------------------------------------------------------------- WS: streamer
        head_len = Mux(q_count == 0, cmd.length, q_len[0])
        head_bank = Mux(q_count == 0, next_bank, q_bank[0])
        have_tile = (q_count != 0) | load_go
        st_start = Signal()
        m.d.comb += st_start.eq(~st_busy & have_tile & self.a_valid)
        st_beat = st_start | st_busy
        st_last = Mux(st_busy, st_rem == 1, head_len <= 1)
        beat_bank = Mux(st_busy, st_bank, head_bank)

        # ---------------------------------------------------------------- OS: beats
        os_cmd = cmd_valid & cmd.os & may_start
        os_free = ~os_stream & ~os_wait & (~os_drain | drain_last)
        os_start = Signal()
        m.d.comb += os_start.eq(os_cmd & os_free & self.w_valid & self.a_valid)
        os_due = os_stream & (os_gap == 0)
        os_beat = os_start | os_due
        il = Mux(os_start, cmd.interleave, cur_il)
        b_slot = Mux(os_start, 0, os_slot)
        # the start's values (from the command) and the running tile's (registers) side by side, chosen last
        step_end_start = Const(slots == 1) | ~cmd.interleave
        step_end_run = os_slot == Mux(cur_il, slots, 1) - 1
        step_end = Mux(os_start, step_end_start, step_end_run)
        os_last = Mux(os_start, step_end_start & (e_cmd >= cmd.k),
                      step_end_run & (os_base + e_cur >= os_k))

        # ---------------------------------------------------------------- outputs: handshakes, control
        starting = load_go | os_start
        m.d.sync += was_idle.eq(idle & ~starting)
        m.d.comb += [
            self.cmd.ready.eq(self.en & (~cmd_valid | starting)),
            self.need_w.eq(ld_busy | os_due),
            self.need_a.eq(st_busy | os_due),
            self.w_ready.eq(self.en & (load_go | ld_busy | (os_beat & step_end))),
            self.a_ready.eq(self.en & (st_beat | os_beat)),
            # Registered: a new mode reaches the cells the cycle after its first transfer, which is early
            # enough (row 0 / column 0 take that beat from edge lines that are the same in both dataflows).
            self.ws.eq(~cur_os),
            self.interleave.eq(cur_il),
            self.dense.eq(~Mux(starting, cmd.sparse, cur_sparse)),
            self.ev_load.eq(self.en & load_go),
            self.ev_first.eq(self.en & (st_start | os_start)),
        ]
        # weight rows (WS) / A steps (OS): live lanes
        live_start = live_bits(0, cmd.k, cmd.sparse, cmd.n)
        with m.If(os_start):
            m.d.comb += self.live.eq(live_start)
        with m.Elif(os_due):
            m.d.comb += self.live.eq(live_bits(os_base, os_k, cur_sparse, cur_n))
        with m.Elif(ld_busy):
            m.d.comb += self.live.eq(live_bits(ld_base, ld_k, cur_sparse, cur_n))
        with m.Else():
            m.d.comb += self.live.eq(live_start)
        m.d.comb += [
            self.wr_en.eq(load_go | ld_busy),
            self.wr_row.eq(Mux(ld_busy, ld_row, 0)),
            self.wr_bank.eq(Mux(ld_busy, ld_bank, next_bank)),
            self.inj.valid.eq(st_beat | os_beat),
            self.inj.bank.eq(beat_bank),
            self.inj.slot.eq(b_slot),
            self.inj.first.eq(os_start | (os_base == 0)),
            self.inj.last.eq(Mux(os_beat, os_last, st_last)),
            self.inj.ws.eq(st_beat),
            self.shift.eq(os_drain),
            self.drain_last.eq(drain_last),
        ]
        for b in range(banks):
            m.d.sync += staged_bank[b].eq(st_beat & ((beat_bank == b) if banks > 1 else 1))
        ws_res = ~cur_os & self.flag.valid

        # ---------------------------------------------------------------- state updates (enabled cycles)
        with m.If(self.cmd.valid & (~cmd_valid | starting)):
            m.d.sync += [
                cmd.eq(cmd_in), cmd_valid.eq(1),
                # taken while one is held: that one starts now and becomes the mode to follow; else the
                # current mode is (nothing starts without a held command)
                same_mode.eq(Mux(cmd_valid,
                                 same(cmd_in, cmd.os, cmd.sparse, cmd.n, cmd.log2m, cmd.interleave),
                                 same(cmd_in, cur_os, cur_sparse, cur_n, cur_log2m, cur_il))),
            ]
        with m.Elif(starting):
            m.d.sync += cmd_valid.eq(0)
        with m.If(load_go | os_start):
            m.d.sync += [
                cur_os.eq(cmd.os), cur_sparse.eq(cmd.sparse), cur_n.eq(cmd.n),
                cur_log2m.eq(cmd.log2m), cur_il.eq(cmd.interleave),
            ]
        # loader
        with m.If(load_go):
            m.d.sync += [
                ld_busy.eq(R > 1), ld_row.eq(1), ld_bank.eq(next_bank), ld_k.eq(cmd.k),
                ld_base.eq(e_cmd), next_bank.eq(~next_bank if banks > 1 else 0),
            ]
        with m.Elif(ld_busy):
            m.d.sync += [ld_row.eq(ld_row + 1), ld_base.eq(ld_base + e_cur)]
            with m.If(ld_row == R - 1):
                m.d.sync += ld_busy.eq(0)
        # banks: used from their load until the last beat of their stream (then the bank scan takes over). The
        # end of use is applied a cycle later from a register (`used_clear`, masking `bank_used` meanwhile),
        # so the register's input does not wait for the streamer's decision.
        for b in range(banks):
            m.d.sync += [
                used_clear[b].eq(st_beat & st_last & (beat_bank == b)),
                bank_used[b].eq((bank_used[b] & ~used_clear[b]) | (load_go & (next_bank == b))),
            ]
        # the queue of loaded tiles waiting for the streamer
        push = load_go & ~(st_start & (q_count == 0))
        pop = st_start & (q_count != 0)
        with m.If(push & ~pop):
            with m.If(q_count == 0):
                m.d.sync += [q_len[0].eq(cmd.length), q_bank[0].eq(next_bank)]
            with m.Else():
                m.d.sync += [q_len[1].eq(cmd.length), q_bank[1].eq(next_bank)]
            m.d.sync += q_count.eq(q_count + 1)
        with m.Elif(pop & ~push):
            m.d.sync += [q_len[0].eq(q_len[1]), q_bank[0].eq(q_bank[1]), q_count.eq(q_count - 1)]
        with m.Elif(pop & push):
            with m.If(q_count == 1):
                m.d.sync += [q_len[0].eq(cmd.length), q_bank[0].eq(next_bank)]
            with m.Else():
                m.d.sync += [q_len[0].eq(q_len[1]), q_bank[0].eq(q_bank[1]),
                             q_len[1].eq(cmd.length), q_bank[1].eq(next_bank)]
        # streamer
        with m.If(st_start):
            m.d.sync += [st_busy.eq(head_len > 1), st_rem.eq(head_len - 1), st_bank.eq(head_bank)]
        with m.Elif(st_busy):
            m.d.sync += st_rem.eq(st_rem - 1)
            with m.If(st_rem == 1):
                m.d.sync += st_busy.eq(0)
        # A stream's end is counted a cycle later, from a register (the count's adder does not follow the
        # streamer's decision in the same cycle); `idle` waits for it.
        stream_end = stream_end_q
        m.d.sync += stream_end_q.eq(st_beat & st_last)
        result_end = ws_res & self.flag.last
        with m.If(stream_end & ~result_end):
            m.d.sync += [ws_flight.eq(ws_flight + 1), ws_flight_zero.eq(0)]
        with m.Elif(result_end & ~stream_end):
            m.d.sync += [ws_flight.eq(ws_flight - 1), ws_flight_zero.eq(ws_flight == 1)]

        # OS beats
        with m.If(os_beat):
            with m.If(os_last):
                m.d.sync += [os_stream.eq(0), os_wait.eq(1)]
            with m.Else():
                m.d.sync += [
                    os_stream.eq(1),
                    os_slot.eq(Mux(step_end, 0, b_slot + 1)),
                    os_base.eq(Mux(os_start, Mux(step_end_start, e_cmd, 0),
                                   Mux(step_end_run, os_base + e_cur, os_base))),
                    os_gap.eq(Mux(il, 0, la - 1)),
                ]
            with m.If(os_start):
                m.d.sync += os_k.eq(cmd.k)
        with m.Elif(os_stream):
            m.d.sync += os_gap.eq(os_gap - 1)
        # The last beat's flags one cycle before they leave the last PE: the drain's first shift, through the
        # control stage, then comes in the cycle after its sums are final.
        with m.If(os_wait & self.flag_pre.valid & self.flag_pre.last):
            m.d.sync += [os_wait.eq(0), os_drain.eq(1), os_d.eq(0)]
        with m.If(os_drain):
            m.d.sync += os_d.eq(os_d + 1)
            with m.If(drain_last):
                m.d.sync += os_drain.eq(0)
        return m


class StreamBuffer(wiring.Component):
    """A two-entry FIFO between a stream port and the array: `i.ready` and `o.valid` are registers, so no
    combinational path runs from the chip's stream inputs into the array (or back). Full throughput.

    The entries stay where they were written and a read pointer chooses the one shown, so a pop (the
    array's decision, late in its cycle) only toggles that pointer and the count: it does not select what
    every payload bit's register loads (docs/fpga.md, "Logic depth")."""

    def __init__(self, shape):
        self.shape = shape
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        entries = [Signal(self.shape, name=f"entry{e}") for e in range(2)]
        rd, wr = Signal(), Signal()
        # the fill level as two flags (one entry or more; two), so `o.valid` is a flip-flop itself
        nonempty, full = Signal(), Signal()
        push = self.i.valid & self.i.ready
        pop = self.o.valid & self.o.ready
        m.d.comb += [
            self.i.ready.eq(~full),
            self.o.valid.eq(nonempty),
            self.o.payload.eq(Mux(rd, entries[1], entries[0])),
        ]
        with m.If(push):
            m.d.sync += wr.eq(~wr)
            for e in range(2):
                with m.If(wr == e):
                    m.d.sync += entries[e].eq(self.i.payload)
        with m.If(pop):
            m.d.sync += rd.eq(~rd)
        m.d.sync += [
            nonempty.eq(push | full | (nonempty & ~pop)),
            full.eq((full & ~pop) | (nonempty & push & ~pop)),
        ]
        return m


class SparseArray(wiring.Component):
    """The PE array top level (docs/pe_array.md, RTL interface).

    Streams (valid/ready), each through a two-entry `StreamBuffer`: `cmd` (one per tile), `weights` (WS: R
    rows of a tile's weights; OS: one A step), `acts` (WS: one activation vector for all rows; OS: one beat
    of B groups for all columns), `results` (WS: one row of C per beat, deskewed; OS: the drain, bottom row
    first; `last` marks a tile's last beat). `cycle` counts every clock cycle since reset. Events, each high
    for one cycle: `ev_load` in the cycle a WS tile's first weight row is written, `ev_start` in the cycle a
    tile's first beat is at PE(0, 0), `ev_done` in the cycle a tile's last result leaves the array (into the
    result buffer).
    """

    def __init__(self, cfg: ArrayConfig, *, cell_module: str | None = None):
        self.cfg = cfg
        self.cell_module = cell_module
        super().__init__(
            {
                "cmd": In(stream.Signature(cfg.cmd_layout)),
                "weights": In(stream.Signature(cfg.weights_layout)),
                "acts": In(stream.Signature(cfg.acts_layout)),
                "results": Out(stream.Signature(cfg.result_layout)),
                "cycle": Out(cfg.cycle_bits),
                "ev_load": Out(1),
                "ev_start": Out(1),
                "ev_done": Out(1),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        en = Signal()
        m.submodules.cmd_buf = cbuf = StreamBuffer(cfg.cmd_layout)
        m.submodules.weights_buf = wbuf = StreamBuffer(cfg.weights_layout)
        m.submodules.acts_buf = abuf = StreamBuffer(cfg.acts_layout)
        m.submodules.results_buf = rbuf = StreamBuffer(cfg.result_layout)
        wiring.connect(m, wiring.flipped(self.cmd), cbuf.i)
        wiring.connect(m, wiring.flipped(self.weights), wbuf.i)
        wiring.connect(m, wiring.flipped(self.acts), abuf.i)
        wiring.connect(m, rbuf.o, wiring.flipped(self.results))

        ctrl = TileController(cfg)
        arr = PEArray(cfg, cell_module=self.cell_module)
        desk = Deskew(cfg.cols)
        m.submodules.ctrl = EnableInserter({"sync": en})(ctrl)
        m.submodules.array = arr
        m.submodules.deskew = EnableInserter({"sync": en})(desk)

        # A tile in progress stalls (the whole array holds) when a beat it needs now is missing or its result
        # cannot be buffered; starting a tile merely waits for its streams. Every term is a register.
        en_in = ~(ctrl.need_w & ~wbuf.o.valid) & ~(ctrl.need_a & ~abuf.o.valid)
        res_valid = Signal()  # a result beat at the array's output this cycle (assigned below)
        m.d.comb += [
            en.eq(en_in & (~res_valid | rbuf.i.ready)),
            ctrl.en.eq(en),
            ctrl.cmd.valid.eq(cbuf.o.valid),
            ctrl.cmd.payload.eq(cbuf.o.payload),
            cbuf.o.ready.eq(ctrl.cmd.ready),
            ctrl.w_valid.eq(wbuf.o.valid),
            ctrl.a_valid.eq(abuf.o.valid),
            wbuf.o.ready.eq(ctrl.w_ready),
            abuf.o.ready.eq(ctrl.a_ready),
        ]

        def cell_weights(entry, live):
            """A streamed entry of P lanes as a PE stores it: dense lanes read their own position."""
            out = Signal(cfg.cell_weights_layout)
            for lane in range(cfg.multipliers):
                m.d.comb += [
                    out.value[lane].eq(entry[lane].value),
                    out.idx[lane].eq(Mux(ctrl.dense, lane, entry[lane].idx)),
                ]
            m.d.comb += out.live.eq(live)
            return out

        # The control stage: every signal the controller broadcasts to the cells (mode, weight-row write,
        # the beat's token, groups and lanes) is registered once on its way, under the same enable, so no
        # path runs from the controller's decisions into the R x C cells in one cycle (docs/fpga.md, "Logic
        # depth"). The array runs one cycle behind its controller; the controller reads the array a cycle
        # ahead where it must (the registered bank scan, `flag_pre`) and results are taken at the array.
        stage = Module()
        tok_l = token_layout(cfg)
        ws_q, il_q, shift_q, dl_q = Signal(init=1), Signal(), Signal(), Signal()
        wr_rows_q, wr_bank_q = Signal(cfg.rows), Signal()
        inj_q = Signal(tok_l)
        load_q, first_q = Signal(), Signal()
        staged_any = Signal()  # the stage holds a beat, a weight-row write or a drain shift
        wr_data_q = Signal(data.ArrayLayout(cfg.cell_weights_layout, cfg.cols), reset_less=True)
        lanes_q = Signal(data.ArrayLayout(cfg.cell_weights_layout, cfg.rows), reset_less=True)
        groups_q = Signal(cfg.acts_layout, reset_less=True)
        stage.d.sync += [
            ws_q.eq(ctrl.ws), il_q.eq(ctrl.interleave), shift_q.eq(ctrl.shift), dl_q.eq(ctrl.drain_last),
            wr_rows_q.eq(Mux(ctrl.wr_en, Const(1, cfg.rows) << ctrl.wr_row, 0)), wr_bank_q.eq(ctrl.wr_bank),
            inj_q.eq(ctrl.inj), load_q.eq(ctrl.ev_load), first_q.eq(ctrl.ev_first),
            staged_any.eq(ctrl.inj.valid | ctrl.wr_en | ctrl.shift),
            groups_q.eq(abuf.o.payload),
        ]
        for c in range(cfg.cols):
            stage.d.sync += wr_data_q[c].eq(cell_weights(wbuf.o.payload[c], ctrl.live))
        for r in range(cfg.rows):
            stage.d.sync += lanes_q[r].eq(cell_weights(wbuf.o.payload[r], ctrl.live))
        m.submodules.stage = EnableInserter({"sync": en})(stage)

        m.d.comb += [
            arr.en.eq(en),
            arr.ws.eq(ws_q),
            arr.interleave.eq(il_q),
            arr.shift.eq(shift_q),
            arr.inj.eq(inj_q),
            arr.inj_groups.eq(groups_q),
            arr.inj_lanes.eq(lanes_q),
            arr.wr_rows.eq(wr_rows_q),
            arr.wr_bank.eq(wr_bank_q),
            arr.wr_data.eq(wr_data_q),
            ctrl.bank_busy.eq(arr.bank_busy),
            ctrl.flag.eq(arr.flag),
            ctrl.flag_pre.eq(arr.flag_pre),
            ctrl.stage_busy.eq(staged_any),
        ]

        # Results, at the array: WS a beat's result as its flags leave the last PE (deskew: column C-1 is not
        # delayed); OS the drain. With exact accumulation both are rounded to FP32 first (EdgeRounding) and
        # the result signals follow them through its delay.
        ws_res = ws_q & arr.flag.valid
        # OS: a drain shift's words come back from the columns 2 x (crossing registers) cycles after it left
        # the stage (PEArray aligns every column to the farthest); until then the array is not idle.
        round_trip = 2 * cfg.slr_crossings * cfg.registers_per_crossing
        flight = Module()
        shift_line = _line_stages(flight, Cat(shift_q, dl_q), 2, round_trip, "os_res")
        m.submodules.os_flight = EnableInserter({"sync": en})(flight)
        shift_res, dl_res = (shift_q, dl_q) if not round_trip else (shift_line[-1][0], shift_line[-1][1])
        flight_busy = Cat(*[s[0] for s in shift_line]).any() if round_trip else Const(0)
        res_in = {"valid": ws_res | shift_res, "last": Mux(shift_res, dl_res, ws_res & arr.flag.last),
                  "os": ~ws_q}
        res = res_in
        if cfg.exact:
            m.submodules.rounding = rnd = EnableInserter({"sync": en})(EdgeRounding(cfg))
            m.d.comb += rnd.os.eq(res_in["os"])
            m.d.comb += rnd.res_in.eq(Cat(res_in["valid"], res_in["last"], res_in["os"]))
            for c in range(cfg.cols):
                m.d.comb += [rnd.psum[c].eq(arr.psum[c]), rnd.chain[c].eq(arr.chain[c])]
            m.d.comb += [desk.i.eq(rnd.f), ctrl.edge_busy.eq(rnd.busy | flight_busy)]
            res = {"valid": rnd.res_out[0], "last": rnd.res_out[1], "os": rnd.res_out[2]}
            chain = rnd.f
        else:
            m.d.comb += [desk.i.eq(arr.psum), ctrl.edge_busy.eq(flight_busy)]
            chain = arr.chain
        for c in range(cfg.cols):
            m.d.comb += rbuf.i.payload.data[c].eq(Mux(res["os"], chain[c], desk.o[c]))
        m.d.comb += [
            rbuf.i.payload.last.eq(res["last"]),
            rbuf.i.valid.eq(res["valid"] & en),
            res_valid.eq(res["valid"]),
        ]

        # Events: the weight row 0 write and the first beat's entry into PE(0, 0) happen as the stage's
        # contents are taken (an enabled cycle).
        m.d.sync += [self.cycle.eq(self.cycle + 1), self.ev_start.eq(en & first_q)]
        m.d.comb += [
            self.ev_load.eq(en & load_q),
            self.ev_done.eq(res["valid"] & res["last"] & en),
            self.busy.eq(~ctrl.idle),
        ]
        return m
