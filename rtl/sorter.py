"""The sparse-weight generator lane (SAT's SORE lane; docs/pe_array.md): top-N by magnitude over a group of M
values streamed one per cycle, so a group takes M cycles; the N kept values and their indices (position in the
group) come out in ascending index order, the NMTensor slot order (sparsesim.sparsity.formats).

Tie rule (sparsesim.sparsity.nm): the larger |w| wins; among equal |w| the LOWER index wins; -0 and +0 are
equal. The lane holds the best N so far in index order. A new value (always the highest index so far) joins
while fewer than N are held; otherwise it replaces the weakest held entry (smallest |w|, the highest index
among equals) only if its |w| is strictly larger, and the entries after the weakest move up one slot.
Magnitude: FP formats compare the bit pattern without its sign (NaN ranks above inf; the software rejects
NaN/inf weights before pruning), INT8 compares |w| with |-128| = 128.
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import log2

FORMAT_BITS = {"fp16": 16, "fp32": 32, "int8": 8}


class TopNSorter(wiring.Component):
    """Streaming top-N of M. `n` (1..n_max) and `log2m` (M = 2**log2m <= max_m) are run-time inputs that must
    stay constant while a group streams."""

    def __init__(self, *, n_max: int = 2, max_m: int = 8, fmt: str = "fp16"):
        if fmt not in FORMAT_BITS:
            raise ValueError(f"fmt must be one of {sorted(FORMAT_BITS)}, got {fmt!r}")
        if max_m & (max_m - 1) or not 1 <= n_max <= max_m:
            raise ValueError("max_m must be a power of two and 1 <= n_max <= max_m")
        self.n_max, self.max_m, self.fmt = n_max, max_m, fmt
        self.width = FORMAT_BITS[fmt]
        self.idx_bits = max(1, log2(max_m))
        super().__init__(
            {
                "n": In(range(n_max + 1)),
                "log2m": In(range(log2(max_m) + 1)),
                "din": In(stream.Signature(self.width)),
                "dout": Out(stream.Signature(self.out_layout)),
            }
        )

    @property
    def out_layout(self) -> data.StructLayout:
        return data.StructLayout(
            {
                "values": data.ArrayLayout(self.width, self.n_max),
                "indices": data.ArrayLayout(self.idx_bits, self.n_max),
            }
        )

    def magnitude(self, v):
        if self.fmt == "int8":
            s = v.as_signed()
            return Mux(s < 0, -s, s)[0:8]
        return v[0 : self.width - 1]

    def elaborate(self, platform):
        m = Module()
        nm, w, ib = self.n_max, self.width, self.idx_bits
        mag_bits = 8 if self.fmt == "int8" else w - 1
        pos = Signal(ib + 1)  # position of the next input within its group
        held = Signal(range(nm + 1))  # entries held so far
        vals = [Signal(w, name=f"val{i}") for i in range(nm)]
        mags = [Signal(mag_bits, name=f"mag{i}") for i in range(nm)]
        idxs = [Signal(ib, name=f"idx{i}") for i in range(nm)]

        new_mag = Signal(mag_bits)
        m.d.comb += new_mag.eq(self.magnitude(self.din.payload))
        # The weakest held entry among the first n: smallest magnitude, the later slot on ties.
        weakest = Signal(range(max(2, nm)))
        wmag = Signal(mag_bits)
        cand, cand_mag = Const(0, weakest.shape()), mags[0]
        for j in range(1, nm):
            take = (j < self.n) & (mags[j] <= cand_mag)
            cand, cand_mag = Mux(take, j, cand), Mux(take, mags[j], cand_mag)
        m.d.comb += [weakest.eq(cand), wmag.eq(cand_mag)]
        full = held == self.n
        replace = full & (new_mag > wmag)

        # The held set after this input (index order kept).
        nxt_vals = [Signal(w, name=f"nval{i}") for i in range(nm)]
        nxt_mags = [Signal(mag_bits, name=f"nmag{i}") for i in range(nm)]
        nxt_idxs = [Signal(ib, name=f"nidx{i}") for i in range(nm)]
        new_idx = pos[0:ib]
        for s in range(nm):
            keep = (vals[s], mags[s], idxs[s])
            up = (vals[s + 1], mags[s + 1], idxs[s + 1]) if s + 1 < nm else keep
            new = (self.din.payload, new_mag, new_idx)
            sel_new = Mux(full, replace & (s == self.n - 1), s == held)
            sel_up = replace & (s >= weakest) & (s < self.n - 1)
            for dst, k, u, nw in zip((nxt_vals[s], nxt_mags[s], nxt_idxs[s]), keep, up, new):
                m.d.comb += dst.eq(Mux(sel_new, nw, Mux(sel_up, u, k)))

        last = pos == (Const(1, ib + 1) << self.log2m) - 1
        m.d.comb += self.din.ready.eq(~(last & self.dout.valid & ~self.dout.ready))
        with m.If(self.dout.valid & self.dout.ready):
            m.d.sync += self.dout.valid.eq(0)
        with m.If(self.din.valid & self.din.ready):
            with m.If(last):
                m.d.sync += [pos.eq(0), held.eq(0), self.dout.valid.eq(1)]
                for s in range(nm):
                    live = s < self.n
                    m.d.sync += [
                        self.dout.payload.values[s].eq(Mux(live, nxt_vals[s], 0)),
                        self.dout.payload.indices[s].eq(Mux(live, nxt_idxs[s], 0)),
                    ]
            with m.Else():
                m.d.sync += [pos.eq(pos + 1), held.eq(Mux(full, held, held + 1))]
                for s in range(nm):
                    m.d.sync += [vals[s].eq(nxt_vals[s]), mags[s].eq(nxt_mags[s]), idxs[s].eq(nxt_idxs[s])]
        return m
