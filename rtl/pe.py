"""The sparse PE (docs/pe_array.md, The PE): P lanes of (weight, index, live), an activation group of MMAX
values, P MMAX:1 multiplexers, P multipliers, a pairwise adder tree and the accumulation adder.

A beat presented in cycle t has its tree sum at t + L_p (L_p = L_mul + log2(P) * L_add) and its accumulation
result at t + L_p + L_add on `psum_out`. In chain mode (`accumulate` = 0, WS) the second operand of the
accumulation adder is `psum_in` (the partial sum from the PE above, or +0); in accumulator mode (OS) it is the
beat's accumulator slot (+0 for a tile's first step), forwarded from the adder output when the slot's previous
sum leaves the adder in the very cycle it is needed. `shift` moves the accumulators one place down the drain
chain: slot i <- slot i+1, the last used slot <- `chain_in`, and slot 0 is `chain_out`.
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from . import arith
from .arith import ExactAdder, FP16ExactProduct, make_adder, make_multiplier, pipe
from .config import ArrayConfig, log2


class LaneSelect(wiring.Component):
    """The P M:1 activation multiplexers; a lane that is not live gives the operands (+0, +0)."""

    def __init__(self, cfg: ArrayConfig):
        self.cfg = cfg
        super().__init__(
            {
                "weights": In(cfg.cell_weights_layout),
                "group": In(cfg.group_layout),
                "w": Out(data.ArrayLayout(cfg.operand_bits, cfg.multipliers)),
                "a": Out(data.ArrayLayout(cfg.operand_bits, cfg.multipliers)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        for lane in range(self.cfg.multipliers):
            live = self.weights.live[lane]
            m.d.comb += [
                self.w[lane].eq(Mux(live, self.weights.value[lane], 0)),
                self.a[lane].eq(Mux(live, self.group[self.weights.idx[lane]], 0)),
            ]
        return m


def pe_multiplier(cfg: ArrayConfig) -> wiring.Component:
    if cfg.exact:
        return FP16ExactProduct(cfg.k_bits, int(cfg.mul_latency), arith.EXACT_ALIGN)  # type: ignore[arg-type]
    return make_multiplier(cfg.precision, int(cfg.mul_latency))  # type: ignore[arg-type]


def pe_adder(cfg: ArrayConfig) -> wiring.Component:
    if cfg.exact:
        return ExactAdder(cfg.k_bits, int(cfg.add_latency))  # type: ignore[arg-type]
    return make_adder(cfg.precision, int(cfg.add_latency))  # type: ignore[arg-type]


class AdderTree(wiring.Component):
    """Pairwise sum ((x0 + x1) + (x2 + x3)) + ... of P values; log2(P) adder levels (`pe_adder`)."""

    def __init__(self, cfg: ArrayConfig):
        self.cfg, self.width = cfg, cfg.multipliers
        super().__init__({"x": In(data.ArrayLayout(cfg.sum_bits, self.width)), "s": Out(cfg.sum_bits)})

    def elaborate(self, platform):
        m = Module()
        level = [self.x[i] for i in range(self.width)]
        depth = 0
        while len(level) > 1:
            nxt = []
            for j in range(0, len(level), 2):
                add = pe_adder(self.cfg)
                m.submodules[f"add_l{depth}_{j // 2}"] = add
                m.d.comb += [add.a.eq(level[j]), add.b.eq(level[j + 1])]
                nxt.append(add.s)
            level = nxt
            depth += 1
        m.d.comb += self.s.eq(level[0])
        return m


class SparsePE(wiring.Component):
    """One PE's datapath and accumulators (module docstring). Ports are unregistered: the array cell and the
    bench present a beat in the cycle it is at the PE."""

    def __init__(self, cfg: ArrayConfig):
        self.cfg = cfg
        super().__init__(
            {
                "weights": In(cfg.cell_weights_layout),
                "group": In(cfg.group_layout),
                "valid": In(1),  # a beat (OS accumulator writes only; WS ignores it)
                "slot": In(range(max(2, cfg.slots))),
                "first": In(1),  # the beat is its slot's first step: accumulate onto +0
                "accumulate": In(1),  # 1: accumulator mode (OS); 0: chain mode (WS)
                "interleave": In(1),  # drain chain through all L_add slots (1) or slot 0 only (0)
                "psum_in": In(cfg.sum_bits),
                "psum_out": Out(cfg.sum_bits),
                "shift": In(1),
                "chain_in": In(cfg.sum_bits),
                "chain_out": Out(cfg.sum_bits),
            }
        )

    @property
    def tree_latency(self) -> int:
        return log2(self.cfg.multipliers) * int(self.cfg.add_latency)  # type: ignore[arg-type]

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        p, lm, la = cfg.multipliers, int(cfg.mul_latency), int(cfg.add_latency)  # type: ignore[arg-type]
        m.submodules.select = sel = LaneSelect(cfg)
        m.d.comb += [sel.weights.eq(self.weights), sel.group.eq(self.group)]
        products = []
        for lane in range(p):
            mul = pe_multiplier(cfg)
            m.submodules[f"mul{lane}"] = mul
            m.d.comb += [mul.a.eq(sel.w[lane]), mul.b.eq(sel.a[lane])]
            products.append(mul.p)
        m.submodules.tree = tree = AdderTree(cfg)
        for lane in range(p):
            m.d.comb += tree.x[lane].eq(products[lane])

        # The beat's control follows its operands down the multiplier and tree pipelines...
        lp = lm + self.tree_latency
        ctl = pipe(m, {"valid": self.valid, "slot": self.slot, "first": self.first}, lp, "ctl_p")
        # ...and down the accumulation adder.
        ctl_out = pipe(m, {"valid": ctl["valid"], "slot": ctl["slot"]}, la, "ctl_a")

        slots = cfg.slots
        width = cfg.sum_bits
        acc = [Signal(width, name=f"acc{i}", reset_less=True) for i in range(slots)]
        m.submodules.acc_add = add = pe_adder(cfg)
        held = Signal(width)
        m.d.comb += held.eq(acc[0])
        for i in range(1, slots):
            with m.If(ctl["slot"] == i):
                m.d.comb += held.eq(acc[i])
        forward = ctl_out["valid"] & (ctl_out["slot"] == ctl["slot"])
        base = Mux(ctl["first"], Const(0, width), Mux(forward, add.s, held))
        m.d.comb += [
            add.a.eq(Mux(self.accumulate, base, self.psum_in)),
            add.b.eq(tree.s),
            self.psum_out.eq(add.s),
            self.chain_out.eq(acc[0]),
        ]
        with m.If(self.accumulate & ctl_out["valid"]):
            for i in range(slots):
                with m.If(ctl_out["slot"] == i):
                    m.d.sync += acc[i].eq(add.s)
        with m.Elif(self.shift):
            for i in range(slots - 1):
                m.d.sync += acc[i].eq(Mux(self.interleave, acc[i + 1], self.chain_in if i == 0 else acc[i]))
            if slots == 1:
                m.d.sync += acc[0].eq(self.chain_in)
            else:
                m.d.sync += acc[slots - 1].eq(Mux(self.interleave, self.chain_in, acc[slots - 1]))
        return m
