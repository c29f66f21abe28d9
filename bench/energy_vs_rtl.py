"""Dynamic energy of small GEMMs on the RTL PE vs the analytical energy model (docs/energy_model.md).

For each case, one PE of rtl/pe.py (`SparsePE`) computes C[1 x I] = A[1 x k] . B[k x I] in accumulator (OS)
mode with I = L_add interleaved outputs, as the array runs an OS tile row: per reduction step, one weights
beat (N:M: the kept values and their indices; dense: P values) is presented I times, once per output
column, with that column's activation group. Amaranth's simulator records every signal (VCD); the bench
counts bit toggles at the inputs of each multiplier and each adder (the P-input tree and the accumulation
adder), and turns them into energy with the same per-action coefficients as the model: an operation's
energy from the table assumes random operands (half of the input bits toggle), so a unit's measured energy
is E_action x toggles / (0.5 x input bits), summed over cycles.

The analytical side is the energy model itself: `sparsesim.energy.actions` counts the GEMM's multiplies and
additions from its mapping, times the same coefficients. The two differ where real switching is not the
model's average: operands held across interleaved beats (OS reuses a weights beat I times), FP16 values of
similar magnitude (exponent bits rarely toggle), zeros in dense runs, pipeline fill and drain. Results are
checked against numpy before they are compared.

    .venv/bin/python bench/energy_vs_rtl.py            # prints one row per case
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from amaranth.sim import Simulator
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.pe import SparsePE

from sparsesim.energy.actions import sat_op_counts
from sparsesim.energy.model import sat_table_for
from sparsesim.graph.lower import GemmOp
from sparsesim.sat.arch import resolve
from sparsesim.sat.schedule import map_gemm, plan_gemm
from sparsesim.spec import AcceleratorSpec

CASES = [  # (precision, N:M or None, k)
    ("fp16", None, 64),
    ("fp16", (2, 4), 64),
    ("fp16", (2, 8), 128),
    ("fp16", (1, 8), 128),
    ("int8", None, 64),
    ("int8", (2, 8), 128),
]


def operands(precision: str, nm, k: int, cols: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if precision == "fp16":
        a = rng.standard_normal(k).astype(np.float16)
        b = rng.standard_normal((k, cols)).astype(np.float16)
    else:
        a = rng.integers(-128, 128, k).astype(np.int8)
        b = rng.integers(-128, 128, (k, cols)).astype(np.int8)
    if nm is not None:  # keep the N largest |a| of every M, as the N:M mask does
        n, m = nm
        g = np.abs(a.astype(np.float64)).reshape(-1, m)
        keep = np.argsort(-g, axis=1, kind="stable")[:, :n]
        mask = np.zeros_like(g, dtype=bool)
        np.put_along_axis(mask, keep, True, axis=1)
        a = np.where(mask.reshape(-1), a, 0).astype(a.dtype)
    return a, b


def bits(x, precision: str) -> int:
    if precision == "fp16":
        return int(np.asarray(x, dtype=np.float16).view(np.uint16))
    return int(np.asarray(x, dtype=np.int8).view(np.uint8))


def beats(cfg: ArrayConfig, nm, a: np.ndarray, b: np.ndarray):
    """Per beat: (values, idx, live, group, slot, first)."""
    p, slots = cfg.multipliers, cfg.slots
    e = nm[1] if nm else p
    for s in range(len(a) // e):
        seg = a[s * e : (s + 1) * e]
        if nm:
            kept = [i for i in range(e) if seg[i] != 0][: nm[0]]
            kept += [i for i in range(e) if i not in kept][: nm[0] - len(kept)]  # zeros kept if needed
        else:
            kept = list(range(e))
        vals = [bits(seg[i], cfg.precision) for i in kept] + [0] * (p - len(kept))
        idx = kept + [0] * (p - len(kept))
        live = (1 << len(kept)) - 1
        for j in range(slots):
            group = [bits(v, cfg.precision) for v in b[s * e : (s + 1) * e, j]]
            group += [0] * (cfg.max_m - len(group))
            yield vals, idx, live, group, j, s == 0


def simulate(cfg: ArrayConfig, nm, a, b, vcd_path: Path) -> None:
    pe = SparsePE(cfg)

    async def bench(ctx):
        ctx.set(pe.accumulate, 1)
        for vals, idx, live, group, slot, first in beats(cfg, nm, a, b):
            ctx.set(pe.valid, 1)
            ctx.set(pe.slot, slot)
            ctx.set(pe.first, first)
            for lane in range(cfg.multipliers):
                ctx.set(pe.weights.value[lane], vals[lane])
                ctx.set(pe.weights.idx[lane], idx[lane])
            ctx.set(pe.weights.live, live)
            for i, g in enumerate(group):
                ctx.set(pe.group[i], g)
            await ctx.tick()
        ctx.set(pe.valid, 0)
        for _ in range(int(cfg.mul_latency) + 3 * int(cfg.add_latency) + 4):  # drain the pipelines
            await ctx.tick()

    sim = Simulator(pe)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    with sim.write_vcd(str(vcd_path)):
        sim.run()


def toggles(vcd_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Per full signal name (scope.scope.name): bit toggles over the run and the final value. A small
    reader of the VCD subset Amaranth writes (scopes, vars, scalar and vector changes)."""
    names: dict[str, list[str]] = {}
    scope: list[str] = []
    last: dict[str, int] = {}
    count: dict[str, int] = {}
    header = True
    for line in vcd_path.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        if header:
            if parts[0] == "$scope":
                scope.append(parts[2])
            elif parts[0] == "$upscope":
                scope.pop()
            elif parts[0] == "$var":
                names.setdefault(parts[3], []).append(".".join([*scope, parts[4].lstrip("\\")]))
            elif parts[0] == "$enddefinitions":
                header = False
            continue
        if parts[0][0] in "#$":
            continue
        if parts[0][0] in "bB":
            code, v = parts[1], int(parts[0][1:].replace("x", "0").replace("z", "0") or "0", 2)
        else:
            code, v = parts[0][1:], int(parts[0][0].replace("x", "0").replace("z", "0"))
        if code in last:
            count[code] = count.get(code, 0) + bin(last[code] ^ v).count("1")
        last[code] = v
    out_t, out_v = {}, {}
    for code, ns in names.items():
        for n in ns:
            out_t[n], out_v[n] = count.get(code, 0), last.get(code, 0)
    return out_t, out_v


def fp32(bits_: int) -> float:
    return float(np.array([bits_], dtype=np.uint32).view(np.float32)[0])


def run_case(precision: str, nm, k: int, seed: int = 0) -> dict:
    # The energy table's pe_add is an FP32 add: the bench measures the FP32-adder PE design (the preset's
    # exact design sums in wide integer adders, which the table does not describe yet).
    cfg = ArrayConfig(rows=1, cols=1, precision=precision,  # type: ignore[arg-type]
                      accumulator="fp32" if precision == "fp16" else None)
    rng = np.random.default_rng(seed)
    a, b = operands(precision, nm, k, cfg.slots, rng)
    with tempfile.TemporaryDirectory() as tmp:
        vcd = Path(tmp) / "pe.vcd"
        simulate(cfg, nm, a, b, vcd)
        tog, final = toggles(vcd)
    # the PE's sums, against numpy
    got = [final[f"bench.top.acc{j}"] for j in range(cfg.slots)]
    want = a.astype(np.float64) @ b.astype(np.float64)
    if precision == "fp16":
        got_f = np.array([fp32(g) for g in got])
        assert np.allclose(got_f, want, rtol=1e-2, atol=1e-2), (got_f, want)
    else:
        got_i = np.array([g - (1 << 32) if g >> 31 else g for g in got])
        assert np.array_equal(got_i, want.astype(np.int64)), (got_i, want)
    # analytical: the energy model's counts for this GEMM (m = 1, n = I outputs, k) on an OS mapping
    lat = {"mul_latency_cycles": int(cfg.mul_latency), "add_latency_cycles": int(cfg.add_latency)}
    arch = resolve(AcceleratorSpec(precision=precision, dataflow="os", **lat))
    table = sat_table_for(arch, None)
    op = GemmOp(
        name="bench:FF", layer="bench", pass_="FF", role="fwd", m=1, n=cfg.slots, k=k, repeat=1,
        a_kind="weight", b_kind="act", c_kind="act", pattern="nm" if nm else "dense",
        density=float(np.count_nonzero(a)) / k if nm else 1.0, nm=nm, mask="ff" if nm else None,
    )  # fmt: skip
    counts = sat_op_counts(op, plan_gemm(op, arch, map_gemm(op, arch)), arch)
    e_mul, e_add = table.energy("pe_multiply"), table.energy("pe_add")
    analytic = counts["pe_multiply"] * e_mul + counts["pe_add"] * e_add
    # measured: toggles at the units' inputs, at the coefficients' random-operand activity
    ob = cfg.operand_bits
    acc_bits = 32
    mul_t = sum(tog[f"bench.top.mul{lane}.{x}"] for lane in range(cfg.multipliers) for x in ("a", "b"))
    add_units = [n.rsplit(".", 1)[0] for n in tog if n.endswith(".a") and ".tree." in n and "add_l" in n]
    add_units = sorted(set(add_units)) + ["bench.top.acc_add"]
    add_t = sum(tog[f"{u}.{x}"] for u in add_units for x in ("a", "b"))
    rtl = mul_t / (0.5 * 2 * ob) * e_mul + add_t / (0.5 * 2 * acc_bits) * e_add
    return {
        "case": f"{precision} {f'{nm[0]}:{nm[1]}' if nm else 'dense'} k={k} I={cfg.slots}",
        "multiplies": counts["pe_multiply"],
        "mul_ops_rtl": mul_t / (0.5 * 2 * ob),
        "adds": counts["pe_add"],
        "add_ops_rtl": add_t / (0.5 * 2 * acc_bits),
        "analytic_pj": analytic / 1e-12,
        "rtl_pj": rtl / 1e-12,
        "ratio": rtl / analytic,
    }


def main() -> int:
    cols = ("mults", "rtl eq.", "adds", "rtl eq.", "model pJ", "RTL pJ", "RTL/model")
    head = f"{'case':28s} " + " ".join(f"{c:>9s}" for c in cols)
    print(head)
    for precision, nm, k in CASES:
        r = run_case(precision, nm, k)
        print(
            f"{r['case']:28s} {r['multiplies']:9.0f} {r['mul_ops_rtl']:9.1f} {r['adds']:9.0f} "
            f"{r['add_ops_rtl']:9.1f} {r['analytic_pj']:9.2f} {r['rtl_pj']:9.2f} {r['ratio']:9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
