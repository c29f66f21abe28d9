"""Pipelined arithmetic units of the PE: FP16 x FP16 -> FP32 multiplier, FP32 adder, INT8 multiplier, INT32
adder. Each is a `wiring.Component` whose pipeline depth is an elaboration parameter: the combinational work
is written as a few phases and `latency` registers are spread over the phase boundaries, so an operand
presented in cycle t gives its result in cycle t + latency, a new operand every cycle.

Numeric policy (docs/pe_array.md, Numerics; reference functions in sparsesim.sat.numerics):
- FP16Multiplier: the exact product of two FP16 values as FP32 (11-bit significands give a 22-bit product
  and the exponent range fits, subnormal FP16 inputs included). NaN operand or inf x 0 -> canonical qNaN
  0x7FC00000.
- FP32Adder: round to nearest even; subnormal inputs read as zero of their sign; a result below the normal
  range after rounding (unbounded exponent) flushes to zero of its sign; overflow -> +-inf; x + -x = +0,
  -0 + -0 = -0; NaN in, inf - inf -> canonical qNaN.
"""


from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .latency import add_latency, mul_latency, out_buffer_add_latency, round_latency

CANONICAL_NAN = 0x7FC00000


def register_plan(phases: int, latency: int) -> list[int]:
    """Registers after each of `phases` combinational phases, `latency` in total (extra ones at the end)."""
    if latency < 1:
        raise ValueError("latency must be >= 1")
    regs = [0] * phases
    if latency >= phases:
        regs = [1] * phases
        regs[-1] += latency - phases
    else:
        for j in range(latency):
            regs[round((j + 1) * phases / latency) - 1] += 1
    return regs


def pipe(m: Module, values: dict[str, Value], count: int, tag: str) -> dict[str, Value]:
    """`count` register stages on every value of `values` (0: pass through)."""
    for i in range(count):
        nxt = {}
        for name, v in values.items():
            # Datapath registers need no reset (it would put the chip's reset into every register's input).
            r = Signal(Value.cast(v).shape(), name=f"{tag}_{name}_r{i}", reset_less=True)
            m.d.sync += r.eq(v)
            nxt[name] = r
        values = nxt
    return values


def msb_index(m: Module, v: Value, name: str) -> Signal:
    """Position of the most significant set bit of `v` (0 if v == 0)."""
    width = len(v)
    out = Signal(range(max(2, width)), name=name)
    expr: Value = Const(0, out.shape())
    for i in range(width):
        expr = Mux(v[i], i, expr)
    m.d.comb += out.eq(expr)
    return out


def msb_index_tree(m: Module, v: Value, name: str) -> Signal:
    """As `msb_index`, built as a binary tree of halves (log depth; no deep Mux chain for wide vectors)."""

    def find(bits: Value) -> tuple[Value, Value]:  # (any bit set, index of the highest within `bits`)
        if len(bits) == 1:
            return bits[0], Const(0, 1)
        half = 1 << ((len(bits) - 1).bit_length() - 1)
        lo_any, lo_idx = find(bits[:half])
        hi_any, hi_idx = find(bits[half:])
        width = (len(bits) - 1).bit_length()
        top = half.bit_length() - 1  # hi_idx < half: adding `half` sets bit `top`
        hi = Cat(hi_idx[:top], Const(0, top - min(top, len(hi_idx))), Const(1, 1))
        return lo_any | hi_any, Mux(hi_any, hi, lo_idx)[:width]

    out = Signal(range(max(2, len(v))), name=name)
    m.d.comb += out.eq(find(Value.cast(v))[1])
    return out


def clz_tree(m: Module, v: Value, name: str) -> Signal:
    """Leading zeros of `v` above its highest set bit (len(v) - 1 - msb_index; any value when v == 0), as a
    binary tree of halves like `msb_index_tree`: no subtraction after the tree."""
    v = Value.cast(v)
    size = 1 << max(0, (len(v) - 1).bit_length())
    padded = Cat(Const(0, size - len(v)), v)  # zeros below: the count from the top is unchanged

    def find(bits: Value) -> tuple[Value, Value]:  # (any bit set, leading zeros within `bits`)
        if len(bits) == 1:
            return bits[0], Const(0, 1)
        half = len(bits) // 2
        lo_any, lo_clz = find(bits[:half])
        hi_any, hi_clz = find(bits[half:])
        width = half.bit_length()  # log2(len(bits))
        lo = Cat(lo_clz[: width - 1], Const(1, 1))  # half + lo_clz (lo_clz < half)
        return lo_any | hi_any, Mux(hi_any, hi_clz[: width - 1], lo)[:width]

    out = Signal(range(max(2, size)), name=name)
    m.d.comb += out.eq(find(padded)[1])
    return out


GROUP_BITS = 16  # the two-level leading-one search's group width (our choice: a 16-bit tree is 2-3 LUTs)


def _groups(width: int, from_top: bool) -> list[tuple[int, int]]:
    """(lo, hi) bit ranges of GROUP_BITS-wide groups of a `width`-bit vector, aligned at bit 0 or at the top
    (the last group may be shorter), lowest group first."""
    if from_top:
        tops = list(range(width, 0, -GROUP_BITS))
        return [(max(0, t - GROUP_BITS), t) for t in reversed(tops)]
    return [(lo, min(width, lo + GROUP_BITS)) for lo in range(0, width, GROUP_BITS)]


def group_any(v: Value, from_top: bool) -> Value:
    """One bit per group of `v` (`_groups`): any bit set in it. Computed a pipeline stage ahead of
    `pick_highest`, which then only chooses among the groups' own indices (`msb_groups`, `clz_groups`)."""
    v = Value.cast(v)
    return Cat(*[v[lo:hi].any() for lo, hi in _groups(len(v), from_top)])


def group_any_abs(s: Value, neg: Value, width: int, from_top: bool) -> Value:
    """`group_any` of `Mux(neg, -s, s)[:width]` without the negation before the groups' ORs: the bits of
    -s are those of s up to its lowest one and inverted above it, so a group of -s holds a one iff some bit
    below the group is set and the group's own bits are not all ones, or none below is set and the group has
    a one (the same bits; the ORs below each group run beside the groups' instead of behind a carry chain)."""
    s = Value.cast(s)
    out = []
    for lo, hi in _groups(width, from_top):
        g = s[lo:hi]
        below = s[:lo].any() if lo else Const(0, 1)
        out.append(Mux(neg & below, g != (1 << (hi - lo)) - 1, g.any()))
    return Cat(*out)


def _pick_highest(m: Module, anys: list, values: list, width: int):
    """The value of the highest group whose `any` is set (a tree of 2:1 choices)."""
    pairs = list(zip(anys, values))
    while len(pairs) > 1:
        nxt = []
        for i in range(0, len(pairs) - 1, 2):
            (lo_any, lo_v), (hi_any, hi_v) = pairs[i], pairs[i + 1]
            nxt.append((lo_any | hi_any, Mux(hi_any, hi_v, lo_v)[:width]))
        if len(pairs) % 2:
            nxt.append(pairs[-1])
        pairs = nxt
    return pairs[0][1]


def _join(low: Value, high: int, width: int) -> Value:
    """low + high * GROUP_BITS for low < GROUP_BITS: a concatenation, no adder."""
    lb = GROUP_BITS.bit_length() - 1
    return Cat(low[:lb], Const(0, lb - min(lb, len(low))), Const(high, max(1, width - lb)))[:width]


def msb_groups(m: Module, v: Value, name: str) -> list[Value]:
    """Each GROUP_BITS-wide group's own most significant one (`_groups(len(v), from_top=False)`, lowest
    group first), as an index into `v` (the group's offset joined above it, no adder). `pick_highest` with
    `group_any(v, from_top=False)` chooses among them: `msb_index_tree` of `v` in two levels that may sit
    in different pipeline phases."""
    v = Value.cast(v)
    width = max(1, (len(v) - 1).bit_length())
    return [_join(msb_index_tree(m, v[lo:hi], f"{name}_g{j}"), lo // GROUP_BITS, width)
            for j, (lo, hi) in enumerate(_groups(len(v), False))]


def clz_groups(m: Module, v: Value, name: str) -> list[Value]:
    """As `msb_groups` for `clz_tree`: each group's leading zeros (`_groups(len(v), from_top=True)`) plus the
    whole groups above it."""
    v = Value.cast(v)
    width = max(1, len(v).bit_length())
    return [_join(clz_tree(m, v[lo:hi], f"{name}_g{j}"), (len(v) - hi) // GROUP_BITS, width)
            for j, (lo, hi) in enumerate(_groups(len(v), True))]


def pick_highest(m: Module, anys: Value, values: list[Value], width: int, name: str) -> Signal:
    """The value of the highest group whose bit in `anys` is set (the second level of the two-level
    search; 0 if none)."""
    out = Signal(range(max(2, 1 << width)), name=name)
    m.d.comb += out.eq(_pick_highest(m, list(anys), values, out.shape().width))
    return out


def _fp16_fields(x):
    """(exponent, fraction, sign) of an IEEE binary16 value."""
    return x[10:15], x[0:10], x[15]


def _fp16_product_specials(a, b):
    """The special cases of a binary16 product a x b: (nan, a_inf, b_inf, a_zero, b_zero); nan includes
    inf x 0."""
    (ea, fa, _), (eb, fb, _) = _fp16_fields(a), _fp16_fields(b)
    a_nan, b_nan = (ea == 31) & (fa != 0), (eb == 31) & (fb != 0)
    a_inf, b_inf = (ea == 31) & (fa == 0), (eb == 31) & (fb == 0)
    a_zero, b_zero = (ea == 0) & (fa == 0), (eb == 0) & (fb == 0)
    return a_nan | b_nan | (a_inf & b_zero) | (b_inf & a_zero), a_inf, b_inf, a_zero, b_zero

class FP16Multiplier(wiring.Component):
    """a, b: FP16 bit patterns -> p: their exact product as FP32 bits, `latency` cycles later."""

    a: In(16)
    b: In(16)
    p: Out(32)

    def __init__(self, latency: int = mul_latency("fp32")):
        self.latency = latency
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        plan = register_plan(2, self.latency)
        a, b = self.a, self.b
        (ea, fa, sa), (eb, fb, sb) = _fp16_fields(a), _fp16_fields(b)
        nan, a_inf, b_inf, a_zero, b_zero = _fp16_product_specials(a, b)
        # Phase 1: the integer product of the 11-bit significands (hidden bit 0 for subnormals, whose
        # effective exponent is 1), exponent sum and the special cases.
        ma = Cat(fa, ea != 0)
        mb = Cat(fb, eb != 0)
        prod = Signal(22)
        m.d.comb += prod.eq(ma * mb)
        esum = Signal(6)  # ea' + eb', 2..60
        m.d.comb += esum.eq(Mux(ea == 0, 1, ea) + Mux(eb == 0, 1, eb))
        s1 = pipe(
            m,
            {
                "prod": prod, "esum": esum, "sign": sa ^ sb, "nan": nan,
                "inf": ~nan & (a_inf | b_inf), "zero": ~nan & ~a_inf & ~b_inf & (a_zero | b_zero),
            },
            plan[0],
            "mul_s1",
        )
        # Phase 2: normalise (the product of two nonzero finite FP16 values is a normal FP32: exponent field
        # = msb + esum + 77 in [79, 158]) and pack.
        msb = msb_index(m, s1["prod"], "mul_msb")
        shift = Signal(5)
        m.d.comb += shift.eq(23 - msb)
        norm = Signal(24)
        m.d.comb += norm.eq(s1["prod"] << shift)
        exp = Signal(8)
        m.d.comb += exp.eq(msb + s1["esum"] + 77)
        result = Signal(32)
        with m.If(s1["nan"]):
            m.d.comb += result.eq(CANONICAL_NAN)
        with m.Elif(s1["inf"]):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s1["sign"]))
        with m.Elif(s1["zero"]):
            m.d.comb += result.eq(Cat(Const(0, 31), s1["sign"]))
        with m.Else():
            m.d.comb += result.eq(Cat(norm[0:23], exp, s1["sign"]))
        out = pipe(m, {"p": result}, plan[1], "mul_s2")
        m.d.comb += self.p.eq(out["p"])
        return m


ALIGN_STYLES = ("fabric", "dsp")


def _fp32_add_order(m: Module, a: Value, b: Value) -> dict[str, Value]:
    """The FP32 adders' first phase: unpack, flush subnormal inputs, special cases, order the operands by
    magnitude; the values the next phase takes (the exponent difference `diff` included)."""
    ea, eb = a[23:31], b[23:31]
    fa, fb = a[0:23], b[0:23]
    sa, sb = a[31], b[31]
    a_nan, b_nan = (ea == 0xFF) & (fa != 0), (eb == 0xFF) & (fb != 0)
    a_inf, b_inf = (ea == 0xFF) & (fa == 0), (eb == 0xFF) & (fb == 0)
    a_z, b_z = ea == 0, eb == 0
    nan = a_nan | b_nan | (a_inf & b_inf & (sa != sb))
    inf = ~nan & (a_inf | b_inf)
    inf_sign = Mux(a_inf, sa, sb)
    # kb > ka, with the flushes applied beside the compare of the raw bits (not before it): a flushed b is
    # never larger, a flushed a is smaller than any b that is not
    swap = Signal()
    m.d.comb += swap.eq(~b_z & (a_z | (b[0:31] > a[0:31])))
    big_e, small_e = Signal(8), Signal(8)
    big_m, small_m = Signal(24), Signal(24)
    big_s, small_s = Signal(), Signal()
    m.d.comb += [
        big_e.eq(Mux(swap, eb, ea)),
        small_e.eq(Mux(swap, Mux(a_z, 0, ea), Mux(b_z, 0, eb))),
        big_m.eq(Mux(swap, Mux(b_z, 0, Cat(fb, 1)), Mux(a_z, 0, Cat(fa, 1)))),
        small_m.eq(Mux(swap, Mux(a_z, 0, Cat(fa, 1)), Mux(b_z, 0, Cat(fb, 1)))),
        big_s.eq(Mux(swap, sb, sa)),
        small_s.eq(Mux(swap, sa, sb)),
    ]
    # big_e - small_e (a flushed exponent is 0 already), both differences computed beside the compare
    diff = Signal(8)
    m.d.comb += diff.eq(Mux(swap, eb - ea, ea - eb))
    return {
        "nan": nan, "inf": inf, "inf_sign": inf_sign, "big_e": big_e, "big_m": big_m,
        "small_m": small_m, "big_s": big_s, "small_s": small_s, "diff": diff,
    }  # fmt: skip


class FP32Adder(wiring.Component):
    """a, b: FP32 bit patterns -> s = a + b (policy in the module docstring), `latency` cycles later.

    `align`: how the smaller significand is shifted right by the exponent difference d (with its sticky bit):
    "fabric", a barrel shifter in LUTs; "dsp", a multiplication by the one-hot 2^(27 - d) that synthesis maps
    onto two DSP48E2 (24 x 28 bits; Xilinx UG579, UltraScale Architecture DSP Slice User Guide, on using
    the multiplier as a shifter), the shifted value and the sticky bit being the product's upper and lower
    bits. Both give the same bits.
    """

    a: In(32)
    b: In(32)
    s: Out(32)

    def __init__(self, latency: int = add_latency("fp32"), align: str = "fabric"):
        if align not in ALIGN_STYLES:
            raise ValueError(f"align must be one of {ALIGN_STYLES}, got {align!r}")
        self.latency = latency
        self.align = align
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        plan = register_plan(4, self.latency)
        a, b = self.a, self.b
        # Phase 1: unpack, flush subnormal inputs, special cases, order the operands by magnitude.
        s1 = pipe(m, _fp32_add_order(m, a, b), plan[0], "add_s1")
        # Phase 2: align the smaller significand, keeping guard, round and sticky bits.
        dc = Signal(5)
        m.d.comb += dc.eq(Mux(s1["diff"] >= 27, 27, s1["diff"]))
        small_ext = Signal(27)
        m.d.comb += small_ext.eq(Cat(Const(0, 3), s1["small_m"]))
        shifted = Signal(27)
        aligned = Signal(27)
        if self.align == "dsp":
            # small_m * 2^(27 - dc) = (small_ext >> dc) * 2^24 + (the bits shifted out) * 2^(24 - dc)
            up = Signal(5)  # 27 - dc, in 0..27
            m.d.comb += up.eq(27 - dc)
            onehot = Signal(28)
            m.d.comb += onehot.eq(Const(1, 28) << up)
            prod = Signal(52)
            m.d.comb += prod.eq(s1["small_m"] * onehot)
            m.d.comb += [shifted.eq(prod[24:51]), aligned.eq(shifted | (prod[0:24] != 0))]
        else:
            m.d.comb += shifted.eq(small_ext >> dc)
            back = Signal(27)
            m.d.comb += back.eq(shifted << dc)
            m.d.comb += aligned.eq(shifted | (back != small_ext))
        s2 = pipe(
            m,
            {
                "nan": s1["nan"], "inf": s1["inf"], "inf_sign": s1["inf_sign"], "big_e": s1["big_e"],
                "big_m": s1["big_m"], "aligned": aligned, "big_s": s1["big_s"], "small_s": s1["small_s"],
            },
            plan[1],
            "add_s2",
        )
        # Phase 3: add or subtract (|big| >= |small|, so the difference is never negative); find the msb.
        big_ext = Cat(Const(0, 3), s2["big_m"])
        total = Signal(28)
        sub = s2["big_s"] ^ s2["small_s"]
        m.d.comb += total.eq(Mux(sub, big_ext - s2["aligned"], big_ext + s2["aligned"]))
        msb = msb_index(m, total, "add_msb")
        s3 = pipe(
            m,
            {
                "nan": s2["nan"], "inf": s2["inf"], "inf_sign": s2["inf_sign"], "big_e": s2["big_e"],
                "total": total, "msb": msb, "big_s": s2["big_s"], "small_s": s2["small_s"],
            },
            plan[2],
            "add_s3",
        )
        # Phase 4: normalise (leading one to bit 27, no bit is lost), round to nearest even, pack.
        shift = Signal(5)
        m.d.comb += shift.eq(27 - s3["msb"])
        norm = Signal(28)
        m.d.comb += norm.eq(s3["total"] << shift)
        lsb, guard, rest = norm[4], norm[3], norm[0:3] != 0
        up = guard & (rest | lsb)
        mant = Signal(25)
        m.d.comb += mant.eq(norm[4:28] + up)
        # Exponent field + 26 (kept unsigned): big_e + msb - 26 + carry of the rounding.
        exp26 = Signal(10)
        m.d.comb += exp26.eq(s3["big_e"] + s3["msb"] + mant[24])
        exp = Signal(8)
        m.d.comb += exp.eq(exp26 - 26)
        frac = Mux(mant[24], mant[1:24], mant[0:23])
        result = Signal(32)
        with m.If(s3["nan"]):
            m.d.comb += result.eq(CANONICAL_NAN)
        with m.Elif(s3["inf"]):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s3["inf_sign"]))
        with m.Elif(s3["total"] == 0):
            # Exact zero: -0 only when both operands are -0 (x + -x = +0 under round to nearest).
            m.d.comb += result.eq(Cat(Const(0, 31), s3["big_s"] & s3["small_s"]))
        with m.Elif(exp26 >= 255 + 26):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s3["big_s"]))
        with m.Elif(exp26 <= 26):
            m.d.comb += result.eq(Cat(Const(0, 31), s3["big_s"]))
        with m.Else():
            m.d.comb += result.eq(Cat(frac, exp, s3["big_s"]))
        out = pipe(m, {"s": result}, plan[3], "add_s4")
        m.d.comb += self.s.eq(out["s"])
        return m


class FP32AdderDeep(wiring.Component):
    """The FP32 adder of FP32Adder's policy (same bits) in seven phases, for a clock where FP32Adder's four
    are too deep (the op engine's out buffer at 200 MHz, docs/fpga.md "Logic depth"): unpack and order;
    the alignment shift by the exponent difference's multiple of 8, then by its rest (each with its sticky
    bit, from a mask, not a shift back); add or subtract; the leading one; normalise (and the exponent's
    range for both carries of the rounding); round to nearest even and pack. `latency` registers are spread
    over the phases (`register_plan`): the default, 6 (rtl/latency.py, out_buffer_add_latency), puts one
    after each but the alignment's second shift, which shares the add's stage."""

    a: In(32)
    b: In(32)
    s: Out(32)

    PHASES = 7

    def __init__(self, latency: int = out_buffer_add_latency("fp32")):
        self.latency = latency
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        plan = register_plan(self.PHASES, self.latency)
        carried = ("nan", "inf", "inf_sign", "big_e", "big_s", "small_s")

        def keep(v: dict[str, Value], *names: str) -> dict[str, Value]:
            return {k: v[k] for k in carried + names}

        s1 = pipe(m, _fp32_add_order(m, self.a, self.b), plan[0], "dadd_s1")
        # Phase 2: shift right by 8 x (d // 8) (d = min(diff, 27)); sticky: the bits shifted out
        dc = Signal(5)
        m.d.comb += dc.eq(Mux(s1["diff"] >= 27, 27, s1["diff"]))
        small_ext = Signal(27)
        m.d.comb += small_ext.eq(Cat(Const(0, 3), s1["small_m"]))
        coarse = Signal(27)
        m.d.comb += coarse.eq(small_ext >> Cat(Const(0, 3), dc[3:5]))
        sticky_c = Signal()
        m.d.comb += sticky_c.eq(
            Mux(dc[3:5] == 0, 0, Mux(dc[3:5] == 1, small_ext[0:8] != 0,
                                     Mux(dc[3:5] == 2, small_ext[0:16] != 0, small_ext[0:24] != 0)))
        )  # fmt: skip
        s2 = pipe(m, keep(s1, "big_m") | {"coarse": coarse, "sticky": sticky_c, "fine": dc[0:3]},
                  plan[1], "dadd_s2")  # fmt: skip
        # Phase 3: shift right by d % 8; the sticky bit ORed into the lsb
        fine = s2["fine"]
        shifted = Signal(27)
        m.d.comb += shifted.eq(s2["coarse"] >> fine)
        mask = Signal(7)
        m.d.comb += mask.eq((Const(1, 8) << fine) - 1)
        aligned = Signal(27)
        m.d.comb += aligned.eq(shifted | (s2["sticky"] | ((s2["coarse"][0:7] & mask) != 0)))
        s3 = pipe(m, keep(s2, "big_m") | {"aligned": aligned}, plan[2], "dadd_s3")
        # Phase 4: add or subtract (|big| >= |small|, so the difference is never negative)
        big_ext = Cat(Const(0, 3), s3["big_m"])
        total = Signal(28)
        sub = s3["big_s"] ^ s3["small_s"]
        m.d.comb += total.eq(Mux(sub, big_ext - s3["aligned"], big_ext + s3["aligned"]))
        s4 = pipe(m, keep(s3) | {"total": total}, plan[3], "dadd_s4")
        # Phase 5: the leading one; whether the sum is zero
        msb = msb_index(m, s4["total"], "dadd_msb")
        s5 = pipe(m, keep(s4, "total") | {"msb": msb, "zero": s4["total"] == 0}, plan[4], "dadd_s5")
        # Phase 6: normalise (leading one to bit 27); the exponent field + 26 before the rounding's carry
        # (big_e + msb) and its range for a carry of 0 and of 1
        shift = Signal(5)
        m.d.comb += shift.eq(27 - s5["msb"])
        norm = Signal(28)
        m.d.comb += norm.eq(s5["total"] << shift)
        e26 = Signal(10)
        m.d.comb += e26.eq(s5["big_e"] + s5["msb"])
        s6 = pipe(
            m,
            keep(s5, "zero") | {
                "norm": norm, "exp0": (e26 - 26)[0:8], "exp1": (e26 - 25)[0:8],
                "ovf0": e26 >= 255 + 26, "ovf1": e26 >= 255 + 25, "udf0": e26 <= 26, "udf1": e26 <= 25,
            },
            plan[5],
            "dadd_s6",
        )  # fmt: skip
        # Phase 7: round to nearest even, pack, special cases
        norm = s6["norm"]
        lsb, guard, rest = norm[4], norm[3], norm[0:3] != 0
        up = guard & (rest | lsb)
        mant = Signal(25)
        m.d.comb += mant.eq(norm[4:28] + up)
        carry = mant[24]
        frac = Mux(carry, mant[1:24], mant[0:23])
        result = Signal(32)
        with m.If(s6["nan"]):
            m.d.comb += result.eq(CANONICAL_NAN)
        with m.Elif(s6["inf"]):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s6["inf_sign"]))
        with m.Elif(s6["zero"]):
            m.d.comb += result.eq(Cat(Const(0, 31), s6["big_s"] & s6["small_s"]))
        with m.Elif(Mux(carry, s6["ovf1"], s6["ovf0"])):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s6["big_s"]))
        with m.Elif(Mux(carry, s6["udf1"], s6["udf0"])):
            m.d.comb += result.eq(Cat(Const(0, 31), s6["big_s"]))
        with m.Else():
            m.d.comb += result.eq(Cat(frac, Mux(carry, s6["exp1"], s6["exp0"]), s6["big_s"]))
        out = pipe(m, {"s": result}, plan[6], "dadd_s7")
        m.d.comb += self.s.eq(out["s"])
        return m


class IntMultiplier(wiring.Component):
    """a, b: INT8 -> p: INT16 product sign-extended to 32 bits, `latency` cycles later."""

    a: In(signed(8))
    b: In(signed(8))
    p: Out(32)

    def __init__(self, latency: int = mul_latency("int32")):
        self.latency = latency
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        prod = Signal(signed(32))
        m.d.comb += prod.eq(self.a * self.b)
        out = pipe(m, {"p": prod}, self.latency, "imul")
        m.d.comb += self.p.eq(out["p"])
        return m


class IntAdder(wiring.Component):
    """a, b: INT32 -> s = a + b with two's-complement wrap-around, `latency` cycles later."""

    a: In(32)
    b: In(32)
    s: Out(32)

    def __init__(self, latency: int = add_latency("int32")):
        self.latency = latency
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        total = Signal(32)
        m.d.comb += total.eq(self.a + self.b)
        out = pipe(m, {"s": total}, self.latency, "iadd")
        m.d.comb += self.s.eq(out["s"])
        return m


def make_multiplier(precision: str, latency: int) -> wiring.Component:
    return FP16Multiplier(latency) if precision == "fp16" else IntMultiplier(latency)


# The PE's FP32 adders' alignment (FP32Adder): the design chosen in docs/fpga.md, "PE designs compared".
FP_ADDER_ALIGN = "fabric"


# The exact design's product alignment (FP16ExactProduct): "dsp" measured smaller (docs/fpga.md).
EXACT_ALIGN = "dsp"


def make_adder(precision: str, latency: int, align: str | None = None) -> wiring.Component:
    """The PE's adder; `align` None: FP_ADDER_ALIGN (read at call time, so a measurement can switch it)."""
    if precision != "fp16":
        return IntAdder(latency)
    return FP32Adder(latency, FP_ADDER_ALIGN if align is None else align)


# ------------------------------------------------------------------ exact (Kulisch-style) accumulation units
# The word format (S, +inf flag, -inf flag) and the reference functions are sparsesim.sat.numerics'
# (exact_product, exact_add, exact_to_fp32); docs/fpga.md, "PE designs compared", design (b).


class FP16ExactProduct(wiring.Component):
    """a, b: FP16 bits -> p: the exact product as an exact word (`numerics.exact_product`), `latency`
    cycles later.

    Phase 1: the significand product (a DSP48E2 multiplier), the shift e' + e' - 2 (0..58) and the special
    cases. Phase 2: the signed product shifted to its place in the 81-bit product window. `align`:
    "fabric" shifts in LUTs; "dsp" multiplies the signed product by the one-hot 2^(shift mod 16) in a second
    DSP48E2 (Xilinx UG579, UltraScale Architecture DSP Slice User Guide: the multiplier used as a shifter)
    and places the result at one of four 16-bit offsets with a 4:1 multiplexer.
    """

    def __init__(self, k_bits: int = 16, latency: int = mul_latency("exact"), align: str = "dsp"):
        from sparsesim.sat.numerics import exact_sum_bits

        if align not in ALIGN_STYLES:
            raise ValueError(f"align must be one of {ALIGN_STYLES}, got {align!r}")
        self.k_bits, self.latency, self.align = k_bits, latency, align
        self.sum_bits = exact_sum_bits(k_bits)
        super().__init__({"a": In(16), "b": In(16), "p": Out(self.sum_bits + 2)})

    def elaborate(self, platform):
        from sparsesim.sat.numerics import EXACT_PRODUCT_BITS

        m = Module()
        plan = register_plan(2, self.latency)
        a, b = self.a, self.b
        (ea, fa, sa), (eb, fb, sb) = _fp16_fields(a), _fp16_fields(b)
        nan, a_inf, b_inf, a_zero, b_zero = _fp16_product_specials(a, b)
        inf = ~nan & (a_inf | b_inf)
        neg = sa ^ sb
        prod = Signal(22)
        m.d.comb += prod.eq(Cat(fa, ea != 0) * Cat(fb, eb != 0))
        shift = Signal(6)  # e'a + e'b - 2, 0..58
        m.d.comb += shift.eq(Mux(ea == 0, 1, ea) + Mux(eb == 0, 1, eb) - 2)
        s1 = pipe(
            m,
            {"prod": prod, "shift": shift, "neg": neg, "special": nan | inf,
             "pinf": nan | (inf & ~neg), "ninf": nan | (inf & neg)},
            plan[0],
            "xp_s1",
        )
        # Phase 2: sign first (a 23-bit negation), then the shift of the signed value into the window.
        signed_prod = Signal(signed(23))
        m.d.comb += signed_prod.eq(Mux(s1["special"], 0, Mux(s1["neg"], -s1["prod"], s1["prod"])))
        window = Signal(signed(EXACT_PRODUCT_BITS + 1))
        if self.align == "dsp":
            fine = Signal(signed(40))  # 23-bit value x one-hot 2^0..2^15
            onehot = Signal(17)  # unsigned in an 18-bit signed multiplier port
            m.d.comb += onehot.eq(Const(1, 17) << s1["shift"][0:4])
            m.d.comb += fine.eq(signed_prod * onehot)
            with m.Switch(s1["shift"][4:6]):
                for q in range(4):
                    with m.Case(q):
                        m.d.comb += window.eq(fine << (16 * q))
        else:
            m.d.comb += window.eq(signed_prod << s1["shift"])
        word = Signal(self.sum_bits + 2)
        m.d.comb += word.eq(Cat(_sext(window, self.sum_bits), s1["pinf"], s1["ninf"]))
        out = pipe(m, {"p": word}, plan[1], "xp_s2")
        m.d.comb += self.p.eq(out["p"])
        return m


def _sext(v: Value, width: int) -> Value:
    """`v` (signed) sign-extended to `width` bits, as a plain bit vector."""
    v = Value.cast(v)
    return Cat(v, v[-1].replicate(width - len(v))) if width > len(v) else v[:width]


class ExactAdder(wiring.Component):
    """a, b: exact words -> s = a + b (`numerics.exact_add`: S modulo 2^W, flags OR), `latency` cycles later.
    A plain carry-chain adder (CARRY8 in UltraScale+ fabric)."""

    def __init__(self, k_bits: int = 16, latency: int = add_latency("exact")):
        from sparsesim.sat.numerics import exact_sum_bits

        self.k_bits, self.latency = k_bits, latency
        self.sum_bits = exact_sum_bits(k_bits)
        width = self.sum_bits + 2
        super().__init__({"a": In(width), "b": In(width), "s": Out(width)})

    def elaborate(self, platform):
        m = Module()
        w = self.sum_bits
        total = Signal(w + 2)
        m.d.comb += total.eq(Cat((self.a[:w] + self.b[:w])[:w], self.a[w:] | self.b[w:]))
        out = pipe(m, {"s": total}, self.latency, "xadd")
        m.d.comb += self.s.eq(out["s"])
        return m


class ExactToFP32(wiring.Component):
    """x: an exact word -> f: FP32 bits (`numerics.exact_to_fp32`: round to nearest even once), `latency`
    cycles later. Phases: magnitude; each 16-bit group's leading one; the highest group's; normalise; round
    and pack."""

    def __init__(self, k_bits: int = 16, latency: int = round_latency("exact")):
        from sparsesim.sat.numerics import exact_sum_bits

        self.k_bits, self.latency = k_bits, latency
        self.sum_bits = exact_sum_bits(k_bits)
        super().__init__({"x": In(self.sum_bits + 2), "f": Out(32)})

    def elaborate(self, platform):
        from sparsesim.sat.numerics import EXACT_LSB_EXP

        m = Module()
        plan = register_plan(5, self.latency)
        w = self.sum_bits
        x = self.x
        s = x[:w]
        neg = s[w - 1]
        mag = Signal(w - 1)  # |S| < 2^(W-1)
        m.d.comb += mag.eq(Mux(neg, -s, s)[: w - 1])
        # The leading one is searched in two levels, each in its own phase: which 16-bit groups hold a one
        # (found here, registered with the magnitude) and each group's own top one (the next phase), then
        # the choice of the highest group's; the shift to the top, w - 2 - msb, is counted the same way
        # beside it (no subtraction after a 96-bit tree: docs/fpga.md, "Logic depth").
        s1 = pipe(m, {"mag": mag, "neg": neg, "pinf": x[w], "ninf": x[w + 1],
                      "any_lo": group_any_abs(s, neg, w - 1, from_top=False),
                      "any_hi": group_any_abs(s, neg, w - 1, from_top=True)},
                  plan[0], "x2f_s1")  # fmt: skip
        msb_g = msb_groups(m, s1["mag"], "x2f_msb")
        lead_g = clz_groups(m, s1["mag"], "x2f_clz")
        s2g = pipe(
            m,
            {"mag": s1["mag"], "any_lo": s1["any_lo"], "any_hi": s1["any_hi"], "neg": s1["neg"],
             "pinf": s1["pinf"], "ninf": s1["ninf"],
             **{f"msb{j}": v for j, v in enumerate(msb_g)}, **{f"lead{j}": v for j, v in enumerate(lead_g)}},
            plan[1],
            "x2f_s2g",
        )  # fmt: skip
        msb = pick_highest(m, s2g["any_lo"], [s2g[f"msb{j}"] for j in range(len(msb_g))],
                           max(1, (w - 2).bit_length()), "x2f_msb")
        lead = pick_highest(m, s2g["any_hi"], [s2g[f"lead{j}"] for j in range(len(lead_g))],
                            max(1, (w - 1).bit_length()), "x2f_clz")
        s2 = pipe(
            m,
            {"mag": s2g["mag"], "msb": msb, "lead": lead, "zero": ~s2g["any_lo"].any(), "neg": s2g["neg"],
             "pinf": s2g["pinf"], "ninf": s2g["ninf"]},
            plan[2],
            "x2f_s2",
        )
        # Leading one to the top bit (w - 2): the 24 kept bits and the guard bit. The sticky bit (any bit
        # below the guard, positions < msb - 24) is found beside the shift, from the unshifted magnitude.
        norm = Signal(w - 1)
        m.d.comb += norm.eq(s2["mag"] << s2["lead"])
        # Its OR over ~70 positions is split across the phase boundary: here the OR of each 8 positions
        # (registered), the OR of those parts in the last phase beside the rounding's increment.
        below = [s2["mag"][i] & (s2["msb"] > i + 24) for i in range(w - 1 - 25)]
        sticky_parts = Cat(*[Cat(*below[i : i + 8]).any() for i in range(0, len(below), 8)])
        s3 = pipe(
            m,
            {"sig": norm[w - 25 : w - 1], "guard": norm[w - 26], "sticky": sticky_parts,
             "msb": s2["msb"], "zero": s2["zero"], "neg": s2["neg"], "pinf": s2["pinf"],
             "ninf": s2["ninf"]},
            plan[3],
            "x2f_s3",
        )
        up = s3["guard"] & (s3["sticky"].any() | s3["sig"][0])
        mant = Signal(25)
        m.d.comb += mant.eq(s3["sig"] + up)
        exp = Signal(8)  # msb + EXACT_LSB_EXP + 127 (+1 if the rounding carried), 79..175
        m.d.comb += exp.eq(s3["msb"] + (EXACT_LSB_EXP + 127) + mant[24])
        frac = Mux(mant[24], mant[1:24], mant[0:23])
        result = Signal(32)
        with m.If(s3["pinf"] & s3["ninf"]):
            m.d.comb += result.eq(CANONICAL_NAN)
        with m.Elif(s3["pinf"] | s3["ninf"]):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s3["ninf"]))
        with m.Elif(s3["zero"]):
            m.d.comb += result.eq(0)
        with m.Else():
            m.d.comb += result.eq(Cat(frac, exp, s3["neg"]))
        out = pipe(m, {"f": result}, plan[4], "x2f_s4")
        m.d.comb += self.f.eq(out["f"])
        return m
